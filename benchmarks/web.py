"""Server time of the pages and the API on the shipped corpus (the issue's bar: no page over 300 ms).

    python benchmarks/web.py [--repeat 3]

Ingests `corpus/` into a temporary home, builds the keyword index and synthetic passage vectors (the vector
search costs the same whatever the values; the query embedding is real, on this machine's CPU), builds the
app with `create_app` and requests each kind of page in process (FastAPI's TestClient: routing, services,
templates; no network). Prints p50 / p95 / max per page kind, then what the default search's extra count of
passages in amended or repealed documents (``in_history``, "另有 N 段…") costs: the same keyword searches with and
without it, interleaved query by query, as times and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient

from study_hub.config import Settings
from study_hub.embedding.encoder import Embedder
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import open_store
from study_hub.webapp.app import serving_app

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from semantic import build_generation  # noqa: E402 - the same synthetic-vector generation as semantic.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    defaults = Settings()
    embedder = Embedder(defaults.embedding_model, defaults.models_dir)
    queries = [json.loads(line)["query"] for line in
               (REPO.parent / "shared" / "eval" / "policy" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), search_cache=0)  # every request searched: server time, not a cache
        store = open_store(settings)
        ingest_paths([REPO / "corpus" / "docs"], store, settings)
        records = list(store.iter_index_records())
        build_generation(settings.indexes_dir, records, embedder)
        documents = store.list_documents()
        largest = max(documents, key=lambda d: d.passage_count)
        passages = [r.passage_id for r in records[:: max(1, len(records) // 30)]]
        client = TestClient(serving_app(settings, encoder=embedder))  # as `study-hub serve` builds it
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"shipped corpus: {len(documents)} documents, {len(records)} passages; largest document "
              f"{largest.passage_count} passages, {largest.char_count:,} characters")
        kinds = {
            "search page, hybrid": [f"/search?q={quote(q)}" for q in queries],
            "search page, keyword": [f"/search?q={quote(q)}&mode=keyword" for q in queries],
            "API search, hybrid": [f"/api/search?q={quote(q)}" for q in queries],
            "reader, largest document, words marked": [f"/documents/{largest.id}?q={quote(q)}" for q in queries[:10]],
            "reader, every document": [f"/documents/{d.id}" for d in documents],
            "passage page (related at 3 levels)": [f"/passages/{quote(p)}" for p in passages],
            "library": ["/documents", "/documents?level=central", "/documents?kind=speech"],
            "home": ["/"],
        }
        for urls in kinds.values():  # warm-up: templates compiled, searcher opened
            client.get(urls[0])
        print(f"\n{'page':<42} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
        for kind, urls in kinds.items():
            times = []
            for _ in range(args.repeat):
                for url in urls:
                    started = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (url, response.status_code, response.text[:200])
            times.sort()
            print(f"{kind:<42} {len(times):>8} {times[len(times) // 2]:>7.0f} "
                  f"{times[min(len(times) - 1, int(len(times) * 0.95))]:>7.0f} {times[-1]:>7.0f}")
        history_count_cost(SearchService(store, settings.indexes_dir), queries, args.repeat)


def history_count_cost(service: SearchService, queries: list[str], repeat: int) -> None:
    """Keyword search as the default runs it (current documents, then one count over amended and repealed ones)
    beside the same search with history included (no second count), query by query so noise hits both alike."""
    timed: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for query in queries:
            for history in (False, True):
                started = time.perf_counter()
                response = service.search(SearchRequest(query, mode="keyword", history=history, facets=False))
                timed[history].append((time.perf_counter() - started) * 1000)
                assert (response.in_history is None) == history
    default, included = (sorted(timed[flag]) for flag in (False, True))
    p50 = {name: times[len(times) // 2] for name, times in (("default", default), ("history", included))}
    print(f"\nin_history count, keyword search ({len(default)} searches each, service only, no cache)")
    print(f"{'search':<42} {'p50 ms':>7} {'p95 ms':>7}")
    for name, times in (("default (+ count of amended/repealed)", default), ("history=1 (no count)", included)):
        print(f"{name:<42} {times[len(times) // 2]:>7.1f} {times[int(len(times) * 0.95)]:>7.1f}")
    print(f"ratio of p50s: {p50['default'] / p50['history']:.2f}")


if __name__ == "__main__":
    main()
