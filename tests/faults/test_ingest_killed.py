"""kill -9 an ingest inside one document's write: the store keeps whole documents and the next run completes.

The ingest stops at a known point through the pipeline's test hook (``STUDY_HUB_TEST_PAUSE_IN_WRITE``): inside
the transaction that saves one chosen document, after its rows are written and before the commit. On both
backends: the subprocess gets the test run's database (``database_env``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text
from support import database_env

from study_hub.config import Settings
from study_hub.pipeline import PAUSE_IN_WRITE
from study_hub.store import open_store
from study_hub.store.models import Document, PassageRow

COMMAND = [sys.executable, "-c", "from study_hub.cli import run; run()", "ingest"]


def _stored(home: Path) -> dict[str, tuple[int, int]]:
    """document id -> (its passage_count, the passage rows it has), after checking the database file is sound."""
    store = open_store(Settings(home=home))
    try:
        with store.sessions() as session:
            if store.engine.dialect.name == "sqlite":
                assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            counts = dict(session.execute(select(PassageRow.document_id, func.count()).group_by(
                PassageRow.document_id)).all())
            return {doc_id: (expected, counts.get(doc_id, 0)) for doc_id, expected in session.execute(
                select(Document.id, Document.passage_count))}
    finally:
        store.engine.dispose()


def _kill_inside_the_write(command: list[str], env: dict[str, str], doc_id: str, signal_file: Path) -> int:
    """Run ``command`` paused inside ``doc_id``'s write, SIGKILL it there; the passage rows it had written."""
    log = signal_file.with_name(signal_file.name + ".stderr")
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, env={**env, PAUSE_IN_WRITE: f"{doc_id}:{signal_file}"},
                                   stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + 120
    # a real process getting there (start-up, the documents before it): polled, not guessed
    while not signal_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    paused = signal_file.exists()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    errors = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    assert paused, f"the ingest did not reach the pause (exit {process.returncode}): {errors}"
    assert process.returncode == -signal.SIGKILL  # killed at the pause, not ended by itself
    return int(signal_file.read_text(encoding="utf-8"))


def test_killed_ingest_leaves_whole_documents_and_the_next_run_completes(tmp_path, shared_corpus,
                                                                         shared_catalog) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home)}
    files = sorted((shared_corpus / "docs").iterdir())
    victim = files[len(files) // 2].stem  # the documents before it are saved first (files go in name order)
    assert victim in shared_catalog

    written = _kill_inside_the_write([*COMMAND, str(shared_corpus / "docs")], env, victim, tmp_path / "paused")
    assert written > 0  # killed with the document's passages written, not yet committed
    stored = _stored(home)
    assert victim not in stored  # nothing of it: no document row, no partial passages
    assert {doc_id for doc_id, (expected, found) in stored.items() if expected != found} == set()
    assert set(stored) == {f.stem for f in files[:len(files) // 2]}  # the ones before it, whole

    finished = subprocess.run([*COMMAND, str(shared_corpus / "docs"), "--no-index"], env=env, capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    stored = _stored(home)
    assert set(stored) == {f.stem for f in files}
    assert all(expected == found > 0 for expected, found in stored.values())


def test_killed_update_keeps_the_previous_version(tmp_path) -> None:
    """A document whose text changed, killed inside its replacement: the old text and passages stay."""
    home = tmp_path / "home"
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home)}
    source = tmp_path / "in" / "study-rules.md"
    source.parent.mkdir()
    before = "# 学习制度\n\n## 一、总则\n\n第一条 支部每月组织一次集中学习。\n\n第二条 缺席者应当在一周内补学。\n"
    source.write_text(before, encoding="utf-8")
    first = subprocess.run([*COMMAND, str(source), "--no-index"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    old = _stored(home)
    assert old["study-rules"][1] > 0
    store = open_store(Settings(home=home))
    try:
        old_text = store.get_document("study-rules").text
    finally:
        store.engine.dispose()

    source.write_text(before.replace("第二条 缺席者应当在一周内补学。", "第二条 由支部书记领学原文。\n\n第三条 会后撰写心得体会。"),
                      encoding="utf-8")
    written = _kill_inside_the_write([*COMMAND, str(source), "--no-index"], env, "study-rules", tmp_path / "paused")
    assert written > 0
    store = open_store(Settings(home=home))
    try:
        assert store.get_document("study-rules").text == old_text  # the previous version, whole
    finally:
        store.engine.dispose()
    assert _stored(home) == old

    again = subprocess.run([*COMMAND, str(source), "--no-index"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    store = open_store(Settings(home=home))
    try:
        assert "会后撰写心得体会" in store.get_document("study-rules").text  # the new version, now whole
    finally:
        store.engine.dispose()
    expected, found = _stored(home)["study-rules"]
    assert expected == found > 0
