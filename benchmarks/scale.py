"""Scale benchmark: keyword engines side by side, and hybrid search with exact and approximate vectors.

    python benchmarks/scale_corpus.py --passages 200000 --out /tmp/scale-200k     # once per size
    python benchmarks/scale.py --corpus /tmp/scale-200k --engines tantivy,whoosh [--hybrid]

For each engine, in one run: build a generation's keyword index from the corpus's records (the rate includes
tokenising with the project's analyzer; reading records.jsonl is not counted), its size on disk, then, in a
fresh serving process (so the resident memory is what a web worker would hold), the latency of uncached
queries drawn from the corpus with a fixed seed, each kind 150 times, asked of the ``KeywordIndex`` exactly as
the search service asks (analysed by ``analyze``, top 10):

  one word, three words (all required), filtered (one word, a level and a year range), exact wording of 2
  characters and of 4–8 characters, faceted (one word with the facet counts the search page shows), date-sorted.

With ``--hybrid`` the generation also carries the corpus's vectors (and its approximate index, which
``scale_corpus.py`` built when the rows reach ``APPROXIMATE_FROM``) and the serving process answers the 72 policy
development questions in hybrid mode through ``SearchService`` (query embedding by the web workers' runtime,
both rankers, the fitted ranking; hydration from the store is left out: the store here is empty), once through
the approximate index and once searching every vector exactly; plus recall@100 of approximate against exact
search by meaning (the same questions, unfiltered and with a level filter).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scale_corpus import read_records

from study_hub.index import approximate
from study_hub.index import keyword_engines as keyword
from study_hub.index.builder import analyzer_manifest
from study_hub.index.filters import SearchFilters
from study_hub.index.generations import current_generation, new_generation, read_manifest
from study_hub.index.keyword import KeywordQuery
from study_hub.index.keyword_engines import open_keyword_index
from study_hub.index.semantic import ROWS, VECTORS

REPETITIONS = 150
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "policy"
KINDS = ("one word", "three words", "filtered", "exact 2 chars", "exact 4-8 chars", "faceted", "date-sorted")


def build(corpus: Path, engine: str, hybrid: bool) -> dict:
    records = read_records(corpus)
    titles = {r.doc_id: r.title for r in records}
    root = corpus / f"bench-{engine}"
    shutil.rmtree(root, ignore_errors=True)
    with new_generation(root) as generation:
        started = time.perf_counter()
        count = keyword.build_keyword(engine, generation.folder, lambda: records, titles, procs=2)
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in generation.folder.rglob("*") if p.is_file())
        semantic = None
        if hybrid:
            from study_hub.config import Settings
            from study_hub.embedding.encoder import load_embedder

            for name in (VECTORS, ROWS):
                os.link(corpus / name, generation.folder / name)
            started = time.perf_counter()
            matrix = np.load(corpus / VECTORS, mmap_mode="r")
            ann = approximate.build(generation.folder, matrix)  # whatever the threshold: both are measured
            ann_s = time.perf_counter() - started
            encoder = load_embedder(Settings(), for_queries=True)
            rows = json.loads((corpus / ROWS).read_text(encoding="utf-8"))
            semantic = {**encoder.info, "fingerprint": encoder.fingerprint, "passages": len(rows["passage_id"]),
                        "windows": len(rows["window_of"]), "pending": 0, "approximate": ann}
        generation.publish({**analyzer_manifest(engine), "counts": {"documents": len(titles), "passages": count},
                            "semantic": semantic, "documents": {}})
    return {"engine": engine, "passages": count, "build_s": seconds, "rate": count / seconds,
            "index_mb": size / 1e6, **({"ann": ann, "ann_s": ann_s} if hybrid else {})}


def _words(text: str, analyzer) -> list[str]:
    return [w for w in analyzer.query_words(text) if len(w) >= 2]


def make_queries(corpus: Path, seed: int = 11) -> dict[str, list[tuple[str, dict]]]:
    """(query text, options) per kind, drawn from the corpus's passages."""
    from study_hub.segment.tokens import default_analyzer

    analyzer = default_analyzer()
    records = read_records(corpus, limit=50_000)
    chance = random.Random(seed)
    made: dict[str, list[tuple[str, dict]]] = {kind: [] for kind in KINDS}
    levels = sorted({r.level for r in records if r.level})
    asked: set[str] = set()  # every query text once: none is answered from what an earlier one read
    while any(len(v) < REPETITIONS for v in made.values()):
        for kind in KINDS:  # each kind its own passage
            record = chance.choice(records)
            words = [w for w in _words(record.text, analyzer) if w not in asked]
            han = [i for i, c in enumerate(record.text) if "\u4e00" <= c <= "\u9fff"]
            if len(words) < 3 or len(han) < 10 or len(made[kind]) >= REPETITIONS:
                continue
            one = chance.choice(words)
            start = chance.choice(han[:-8])
            size = 2 if kind == "exact 2 chars" else chance.randint(4, 8)
            phrase = record.text[start:start + size]
            if kind.startswith("exact") and (phrase in asked or not all("\u4e00" <= c <= "\u9fff" for c in phrase)):
                continue  # exact wording of Chinese characters only (no quotes, no spaces)
            text, options = {
                "one word": (one, {}),
                "three words": (" ".join(chance.sample(words, 3)), {}),
                "filtered": (one, {"levels": (chance.choice(levels),), "year_from": 2010, "year_to": 2022}),
                "exact 2 chars": (f'"{phrase}"', {}),
                "exact 4-8 chars": (f'"{phrase}"', {}),
                "faceted": (one, {"facets": True}),
                "date-sorted": (one, {"sort": "date"}),
            }[kind]
            asked.update(text.strip('"').split())
            made[kind].append((text, options))
    return made


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95)]


def serve(corpus: Path, engine: str, hybrid: bool) -> dict:
    """In this (fresh) process: open the generation, time the queries, report the resident memory."""
    from study_hub.search.query import parse_query
    from study_hub.search.service import analyze
    from study_hub.search.synonyms import default_synonyms
    from study_hub.segment.tokens import default_analyzer

    analyzer, synonyms = default_analyzer(), default_synonyms()
    queries = make_queries(corpus)
    before = resident_mb()
    folder = current_generation(corpus / f"bench-{engine}")
    index = open_keyword_index(folder, read_manifest(folder))
    index.search(KeywordQuery(), SearchFilters(), limit=10)  # opened: columns and tables read
    report: dict = {"opened_mb": resident_mb() - before, "kinds": {}}
    for kind, items in queries.items():
        latencies, totals = [], []
        for text, options in items:
            analysed = analyze(parse_query(text), analyzer, synonyms).query
            filters = SearchFilters(**{k: v for k, v in options.items() if k in ("levels", "year_from", "year_to")})
            started = time.perf_counter()
            found = index.search(analysed, filters, limit=10, sort=options.get("sort", "relevance"),
                                 facets=options.get("facets", False))
            latencies.append((time.perf_counter() - started) * 1000)
            totals.append(found.total)
        report["kinds"][kind] = (*_percentiles(latencies), float(np.median(totals)))
    index.close()
    if hybrid:
        report["hybrid"] = hybrid_search(corpus, engine)
    report["resident_mb"] = resident_mb()
    return report


def hybrid_search(corpus: Path, engine: str) -> dict:
    from study_hub.config import Settings
    from study_hub.embedding.encoder import load_embedder
    from study_hub.index.semantic import SemanticIndex
    from study_hub.search.service import SearchRequest, SearchService
    from study_hub.store import open_store

    questions = [json.loads(line) for name in ("dev.jsonl", "dev2.jsonl")
                 for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    encoder = load_embedder(Settings(), for_queries=True)
    store = open_store(Settings(home=corpus / "bench-store"))
    root = corpus / f"bench-{engine}"
    folder = current_generation(root)
    results = {}
    ann = folder / approximate.FILE
    aside = corpus / "vectors.ivf.aside"
    for label in ("approximate", "exact"):
        if label == "exact" and ann.exists():
            ann.rename(aside)
        elif label == "approximate" and not ann.exists():
            continue
        try:
            service = SearchService(store, root, encoder=encoder)
            service.search(SearchRequest("社区治理", mode="hybrid"))
            latencies = []
            for item in questions:
                started = time.perf_counter()
                service.search(SearchRequest(item["query"], mode="hybrid", facets=True))
                latencies.append((time.perf_counter() - started) * 1000)
            results[label] = _percentiles(latencies)
            with service.using() as generation:
                results[f"{label}_resident_mb"] = resident_mb()
                results[f"{label}_kind"] = "approximate" if generation.semantic.approximate else "exact"
        finally:
            if aside.exists():
                aside.rename(ann)
    if "approximate" in results:
        results["recall"] = recall(folder, encoder, [q["query"] for q in questions], SemanticIndex)
    return results


def recall(folder: Path, encoder, texts: list[str], semantic_index) -> dict:
    """Recall@100 (passages) of search by meaning through the approximate index against exact search."""
    approximate_index = semantic_index(folder)
    exact_index = semantic_index(folder)
    exact_index.approximate = None
    vectors = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
    found = {}
    for label, filters in (("unfiltered", SearchFilters()), ("level filter", SearchFilters(levels=("municipal",)))):
        values = []
        for vector in vectors:
            wanted = {h.passage_id for h in exact_index.search(vector, filters, limit=100)}
            got = {h.passage_id for h in approximate_index.search(vector, filters, limit=100)}
            values.append(len(wanted & got) / max(1, len(wanted)))
        found[label] = (float(np.mean(values)), float(np.min(values)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--engines", default="tantivy,whoosh")
    parser.add_argument("--hybrid", action="store_true")
    parser.add_argument("--serve", metavar="ENGINE", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.corpus, args.serve, args.hybrid)))
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"corpus {args.corpus}")
    rows = []
    for engine in args.engines.split(","):
        built = build(args.corpus, engine, args.hybrid)
        child = subprocess.run([sys.executable, __file__, "--corpus", str(args.corpus), "--serve", engine,
                                *(["--hybrid"] if args.hybrid else [])], capture_output=True, text=True, check=True)
        built.update(json.loads(child.stdout.strip().splitlines()[-1]))
        rows.append(built)
        print(f"\n## {engine}: {built['passages']:,} passages; build {built['build_s']:.0f} s = "
              f"{built['rate']:,.0f} passages/s (tokenising included); index {built['index_mb']:,.0f} MB; "
              f"serving process {built['resident_mb']:,.0f} MB resident (index opened: +{built['opened_mb']:,.0f} MB)")
        print("| query | p50 ms | p95 ms | median matches |\n| --- | --- | --- | --- |")
        for kind, (p50, p95, total) in built["kinds"].items():
            print(f"| {kind} | {p50:.2f} | {p95:.2f} | {total:,.0f} |")
        if "ann" in built:
            print(f"approximate index ({built['ann']['kind']}, {built['ann']['cells']} cells over "
                  f"{built['ann']['rows']:,} rows): built in {built['ann_s']:.0f} s")
        for label in ("approximate", "exact"):
            if label in built.get("hybrid", {}):
                p50, p95 = built["hybrid"][label]
                print(f"hybrid ({built['hybrid'][f'{label}_kind']} vectors), 72 questions: p50 {p50:.0f} ms, "
                      f"p95 {p95:.0f} ms, resident {built['hybrid'][f'{label}_resident_mb']:,.0f} MB")
        if "recall" in built.get("hybrid", {}):
            for label, (mean, worst) in built["hybrid"]["recall"].items():
                print(f"recall@100 approximate vs exact ({label}): mean {mean:.3f}, worst {worst:.2f}")
    if len(rows) == 2:
        a, b = rows
        print(f"\n{a['engine']} / {b['engine']}: build rate {a['rate'] / b['rate']:.1f}x; p95 ratio per kind: " +
              ", ".join(f"{kind} {b['kinds'][kind][1] / max(a['kinds'][kind][1], 1e-3):.1f}x faster"
                        for kind in KINDS))


if __name__ == "__main__":
    main()
