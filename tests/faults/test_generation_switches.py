"""Generation switches that cannot break a request: 8 threads search in every mode while another process
publishes 30 generations in a loop; no errors, every answer whole, no file handle left behind."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from study_hub.config import Settings
from study_hub.search.service import SearchRequest, SearchService

PUBLISHER = """
import sys, time
from pathlib import Path
from study_hub.index.generations import current_generation, new_generation, read_manifest
root = Path(sys.argv[1])
for number in range(30):
    current = current_generation(root)
    manifest = read_manifest(current)
    with new_generation(root, copy_from=current) as build:
        build.publish({k: v for k, v in manifest.items() if k not in ("generation", "created_at")})
    time.sleep(0.05)
print("published 30")
"""

REQUESTS = [
    SearchRequest("物业服务企业", mode="keyword"),
    SearchRequest("小区没有物业公司怎么管", mode="semantic"),
    SearchRequest("业主大会如何成立", mode="hybrid"),
    SearchRequest('"业主委员会"', mode="hybrid"),
    SearchRequest("", level="municipal", mode="keyword"),
]


def _open_files(root: Path) -> list[str]:
    """This process's open files under ``root`` (the database connections a pool opens as threads come are
    not the generations' business)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(root)):
            found.append(target)
    return found


def test_eight_threads_search_while_thirty_generations_are_published(semantic_home, embedder, tmp_path) -> None:
    source, store = semantic_home  # its store (read only, on the run's backend); the publisher needs no database
    home = tmp_path / "home"
    shutil.copytree(source.home, home, symlinks=True)  # for the generations the publisher adds
    settings = Settings(home=home)
    service = SearchService(store, settings.indexes_dir, encoder=embedder)  # no answer cache: every search runs
    expected = {request: [hit.passage_id for hit in service.search(request).results] for request in REQUESTS}
    assert all(expected.values())
    gc.collect()
    files_before = _open_files(settings.indexes_dir)
    assert files_before  # the generation served: its whoosh files, exact-wording table, readers lock, vectors

    errors: list[str] = []
    answered = [0] * 8
    generations: set[str] = set()
    done = threading.Event()

    def search(worker: int) -> None:
        number = 0
        while not done.is_set():
            request = REQUESTS[(worker + number) % len(REQUESTS)]
            number += 1
            try:
                response = service.search(request)
            except Exception as exc:
                errors.append(f"{request.q!r} {request.mode}: {type(exc).__name__}: {exc}")
                continue
            got = [hit.passage_id for hit in response.results]
            if got != expected[request]:
                errors.append(f"{request.q!r} {request.mode}: {len(got)} results, not the {len(expected[request])} "
                              f"expected, from {response.generation}")
            generations.add(response.generation)
            answered[worker] += 1

    threads = [threading.Thread(target=search, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    publisher = subprocess.run([sys.executable, "-c", PUBLISHER, str(settings.indexes_dir)], capture_output=True,
                               text=True, timeout=600)
    done.set()
    for thread in threads:
        thread.join()

    assert publisher.returncode == 0 and "published 30" in publisher.stdout, publisher.stderr
    assert not errors, errors[:5]
    assert min(answered) > 0 and len(generations) >= 5, (answered, len(generations))
    service.search(REQUESTS[0])  # the newest generation: every older one is released and closed
    gc.collect()
    files_after = _open_files(settings.indexes_dir)
    # One generation open, as before: the same number of its files, all of the newest generation.
    assert len(files_after) <= len(files_before), (files_before, files_after)
    newest = os.readlink(settings.indexes_dir / "current")
    assert all(f"/{newest}/" in target for target in files_after), files_after
    # The sweeps removed what no process held; what was held then goes at the next build, now that it is not.
    assert len(list(Path(settings.indexes_dir).glob("gen-*"))) < 31
    subprocess.run([sys.executable, "-c", PUBLISHER.replace("range(30)", "range(1)").replace("30", "1"),
                    str(settings.indexes_dir)], check=True, capture_output=True, timeout=120)
    remaining = [p.name for p in Path(settings.indexes_dir).glob("gen-*")]
    assert len(remaining) <= 3, remaining
