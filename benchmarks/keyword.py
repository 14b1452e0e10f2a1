"""Keyword index benchmark: build speed, size and query latency at 5 k, 50 k and 200 k passages.

    pip install tantivy==0.27.0        # optional: the reference engine, installed only for this benchmark
    python benchmarks/keyword.py [--sizes 5000,50000,200000] [--queries 240]

Passages are the shared corpus (../shared/corpus, segmented as study_hub stores them), replicated with
new passage and document ids up to each size. For each size it builds a generation the way
`study-hub index build` does (whoosh with 2 writer processes from 4,000 passages, the title table, the
exact-wording FTS5 table) and runs 240 queries drawn from the corpus with a fixed seed: 1-, 2- and
3-word ranked queries (all words required), quoted exact wording, and word queries with a level filter,
each asking for the top 10 with facet counts, as the search page does. With tantivy installed the same
records (pre-segmented by the same analyzer) and the same queries run against tantivy in the same run.
Prints build time, passages/s, index size, peak memory and p50/p95/p99 per query kind, then a profile of
where query time goes at the largest size.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import os
import platform
import pstats
import random
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from study_hub.config import Settings
from study_hub.index import keyword
from study_hub.index.exact import ExactIndex
from study_hub.index.keyword import KeywordQuery, SearchFilters, WhooshKeywordIndex
from study_hub.pipeline import ingest_paths
from study_hub.search.query import parse_query
from study_hub.search.service import analyze
from study_hub.search.synonyms import default_synonyms
from study_hub.segment.tokens import default_analyzer
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[1]


def load_records(corpus: Path):
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        store = open_store(settings)
        report = ingest_paths([corpus], store, settings)
        assert report.ok, report.failures
        records = list(store.iter_index_records())
        store.engine.dispose()
    return records


def replicate(records, size):
    out = []
    for i in range(size):
        base = records[i % len(records)]
        copy = i // len(records)
        out.append(base if copy == 0 else dataclasses.replace(
            base, passage_id=f"{base.passage_id}~{copy}", doc_id=f"{base.doc_id}~{copy}"))
    return out


def make_queries(records, count, seed=7):
    rng = random.Random(seed)
    analyzer = default_analyzer()
    words_of = {}

    def words(record):
        if record.passage_id not in words_of:
            words_of[record.passage_id] = [w for w in analyzer.query_words(record.text)
                                           if len(w) >= 2 and not w.isascii()]
        return words_of[record.passage_id]

    queries = []
    plan = [("1 word", 0.25), ("2 words", 0.25), ("3 words", 0.17), ("exact", 0.21), ("filtered", 0.12)]
    for kind, share in plan:
        made = 0
        while made < round(count * share):
            record = rng.choice(records)
            found = words(record)
            if kind == "exact":
                if len(record.text) < 30:
                    continue
                start = rng.randrange(0, len(record.text) - 12)
                phrase = record.text[start:start + rng.randint(4, 10)].strip()
                # any quote mark inside would end the exact wording early (the parser takes “”「」『』 too)
                if "\n" in phrase or any(mark in phrase for mark in '"“”「」『』') or not phrase:
                    continue
                queries.append((kind, f'"{phrase}"', SearchFilters()))
            else:
                n = {"1 word": 1, "2 words": 2, "3 words": 3, "filtered": rng.randint(1, 2)}[kind]
                if len(set(found)) < n:
                    continue
                picked = rng.sample(sorted(set(found)), n)
                filtered = kind == "filtered" and record.level
                filters = SearchFilters(levels=(record.level,)) if filtered else SearchFilters()
                queries.append((kind, " ".join(picked), filters))
            made += 1
    return queries


def peak_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def percentiles(values):
    values = sorted(values)
    def pick(p):
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]
    return pick(50), pick(95), pick(99)


def build_whoosh_generation(records, folder: Path):
    started = time.perf_counter()
    procs = 2 if len(records) >= 4000 else 1
    keyword.build_whoosh(folder, records, procs=procs)
    whoosh_seconds = time.perf_counter() - started
    keyword.write_titles(folder, {r.doc_id: r.title for r in records})
    exact_started = time.perf_counter()
    exact = ExactIndex(folder, writable=True)
    exact.add(records)
    exact.optimize()
    exact.close()
    return whoosh_seconds, time.perf_counter() - exact_started, time.perf_counter() - started


def run_whoosh(index: WhooshKeywordIndex, analyzed_queries):
    timings = {}
    for kind, query, filters in analyzed_queries:
        started = time.perf_counter()
        index.search(query, filters, limit=10, facets=True)
        timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    return timings


class Tantivy:
    """The same pre-segmented tokens in tantivy (reference only)."""

    def __init__(self, records):
        import tantivy

        self.tantivy = tantivy
        analyzer = default_analyzer()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
        builder.add_text_field("heading", stored=False, tokenizer_name="whitespace")
        builder.add_text_field("pid", stored=True, tokenizer_name="raw")
        builder.add_text_field("level", stored=False, tokenizer_name="raw")
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        started = time.perf_counter()
        tokens = [(r, " ".join(t.text for t in analyzer.index_tokens(r.text)),
                   " ".join(t.text for t in analyzer.index_tokens(r.heading))) for r in records]
        self.segment_seconds = time.perf_counter() - started
        started = time.perf_counter()
        writer = self.index.writer(heap_size=300_000_000, num_threads=2)
        for record, body, heading in tokens:
            writer.add_document(tantivy.Document(body=body, heading=heading, pid=record.passage_id,
                                                 level=record.level or ""))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.write_seconds = time.perf_counter() - started
        self.searcher = self.index.searcher()

    def query(self, query: KeywordQuery, filters: SearchFilters):
        from tantivy import Occur, Query

        def token(t):
            return Query.boolean_query([(Occur.Should, Query.term_query(self.schema, "body", t)),
                                        (Occur.Should, Query.term_query(self.schema, "heading", t))])

        must = []
        for group in query.required:
            alternatives = [Query.boolean_query([(Occur.Must, token(t)) for t in alt]) for alt in group.alternatives]
            must.append(Query.boolean_query([(Occur.Should, a) for a in alternatives]))
        for phrase_tokens in [query.scoring_tokens] if query.phrases and len(query.scoring_tokens) > 1 else []:
            must.append(Query.phrase_query(self.schema, "body", list(phrase_tokens)))
        if query.phrases and len(query.scoring_tokens) == 1:
            must.append(token(query.scoring_tokens[0]))
        for level in filters.levels:
            must.append(Query.term_query(self.schema, "level", level))
        return Query.boolean_query([(Occur.Must, q) for q in must]) if must else Query.all_query()

    def run(self, analyzed_queries):
        timings = {}
        for kind, query, filters in analyzed_queries:
            started = time.perf_counter()
            result = self.searcher.search(self.query(query, filters), 10)
            [self.searcher.doc(address)["pid"] for _, address in result.hits]
            timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "docs")
    parser.add_argument("--sizes", default="5000,50000,200000")
    parser.add_argument("--queries", type=int, default=240)
    parser.add_argument("--no-tantivy", action="store_true")
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"analyzer {default_analyzer().version}; engine {keyword.__name__} on whoosh-reloaded")
    base = load_records(args.corpus)
    print(f"corpus: {args.corpus}: {len(base)} passages, {sum(len(r.text) for r in base):,} characters")
    try:
        import tantivy  # noqa: F401
        with_tantivy = not args.no_tantivy
    except ImportError:
        with_tantivy = False
        print("tantivy is not installed: no reference engine in this run (pip install tantivy==0.27.0)")
    queries = make_queries(base, args.queries)
    analyzer, synonyms = default_analyzer(), default_synonyms()
    analyzed = [(kind, analyze(parse_query(q), analyzer, synonyms).query, f) for kind, q, f in queries]
    kinds = Counter(kind for kind, _, _ in queries)
    print(f"queries: {len(queries)} ({', '.join(f'{k} {n}' for k, n in kinds.items())}), top 10 with facets")

    profile_text = ""
    for size in [int(s) for s in args.sizes.split(",")]:
        records = replicate(base, size)
        folder = Path(tempfile.mkdtemp(prefix=f"kwbench-{size}-"))
        whoosh_s, exact_s, total_s = build_whoosh_generation(records, folder)
        index = WhooshKeywordIndex(folder)
        run_whoosh(index, analyzed[:20])  # warm the searcher and OS cache
        whoosh_times = run_whoosh(index, analyzed)
        print(f"\n== {size:,} passages ==")
        print(f"whoosh build: {total_s:.1f} s ({size / total_s:.0f} passages/s; whoosh {whoosh_s:.1f} s = "
              f"{size / whoosh_s:.0f}/s, exact table {exact_s:.1f} s), index {folder_mb(folder):.0f} MB, "
              f"peak memory so far {peak_mb():.0f} MB")
        reference = None
        if with_tantivy:
            engine = Tantivy(records)
            reference = engine.run(analyzed)
            print(f"tantivy build: segmentation {engine.segment_seconds:.1f} s + write {engine.write_seconds:.1f} s "
                  f"({size / (engine.segment_seconds + engine.write_seconds):.0f} passages/s)")
        print(f"{'query kind':<10} {'n':>4} {'whoosh p50':>11} {'p95':>8} {'p99':>8}" +
              (f" {'tantivy p50':>12} {'p95':>7} {'p99':>7} {'p95 ratio':>10}" if reference else ""))
        for kind, times in whoosh_times.items():
            p50, p95, p99 = percentiles(times)
            line = f"{kind:<10} {len(times):>4} {p50:>9.1f}ms {p95:>6.1f}ms {p99:>6.1f}ms"
            if reference:
                r50, r95, r99 = percentiles(reference[kind])
                line += f" {r50:>10.2f}ms {r95:>5.2f}ms {r99:>5.2f}ms {p95 / max(r95, 1e-3):>9.0f}x"
            print(line)
        if size == max(int(s) for s in args.sizes.split(",")):
            profiler = cProfile.Profile()
            profiler.enable()
            run_whoosh(index, analyzed)
            profiler.disable()
            buffer = io.StringIO()
            pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(12)
            profile_text = buffer.getvalue()
        index.close()
        shutil.rmtree(folder, ignore_errors=True)
    print("\nwhere query time goes at the largest size (cProfile, top functions by own time):")
    print("\n".join(line for line in profile_text.splitlines() if line.strip())[:4000])


if __name__ == "__main__":
    main()
