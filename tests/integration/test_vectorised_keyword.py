"""The numpy evaluation of keyword queries ranks exactly as whoosh's own BM25F searcher does.

The reference is whoosh itself, searching the same generation: same matches (totals), same top passages in
the same order, same scores. Run on a multi-segment index (built with two processes) and on one with
deleted passages (an incremental update), the two layouts whose postings need care.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import query as wq
from whoosh import scoring

from study_hub.config import Settings
from study_hub.index.builder import build_indexes, update_indexes
from study_hub.index.filters import SearchFilters
from study_hub.index.generations import current_generation
from study_hub.index.keyword import KeywordQuery, TermGroup
from study_hub.index.keyword_whoosh import WhooshKeywordIndex
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store

REPO = Path(__file__).resolve().parents[2]
DOCS = ("central-law-urban-residents-committee-2018", "central-law-villagers-committee-2018",
        "central-law-people-mediation-2010", "central-reg-petitions-2022")
# Words of the bodies, none in these documents' titles (title matches are study_hub's own addition).
QUERIES = [("选举",), ("会议", "召开"), ("纠纷", "当事人"), ("事项", "办理", "期限"), ("代表", "罢免"),
           ("财务", "公开"), ("的",), ("群众", "意见", "建议", "反映")]


def whoosh_reference(index: WhooshKeywordIndex, words: tuple[str, ...], match_any: bool, years: bool):
    searcher = index._ix.searcher(weighting=scoring.BM25F(B=0.75, K1=1.2))
    parts = [wq.Or([wq.Term("body", w), wq.Term("heading", w)]) for w in words]
    main = wq.Or(parts) if match_any else wq.And(parts)
    results = searcher.search(main, limit=25, filter=wq.NumericRange("year", 2015, 2020) if years else None)
    ids = [(hit["passage_id"], hit.score) for hit in results]
    total = len(results)
    searcher.close()
    return total, ids


def compare(index: WhooshKeywordIndex) -> int:
    compared = 0
    for words in QUERIES:
        for match_any in (False, True):
            for years in (False, True):  # the two 2018 laws only
                query = KeywordQuery(required=tuple(TermGroup(((w,),)) for w in words), match_any=match_any)
                filters = SearchFilters(year_from=2015, year_to=2020) if years else SearchFilters()
                ours = index.search(query, filters, limit=25, facets=False)
                total, reference = whoosh_reference(index, words, match_any, years)
                assert ours.total == total, (words, match_any)
                assert [pid for pid, _ in ours.hits] == [pid for pid, _ in reference], (words, match_any)
                assert [round(s, 6) for _, s in ours.hits] == [round(s, 6) for _, s in reference]
                compared += total > 0
    return compared


@pytest.fixture
def home(tmp_path: Path):
    settings = Settings(home=tmp_path / "home")
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in DOCS:
        (docs / f"{name}.txt").write_bytes((REPO / "corpus" / "docs" / f"{name}.txt").read_bytes())
    (docs / "catalog.jsonl").write_bytes((REPO / "corpus" / "catalog.jsonl").read_bytes())  # dates
    assert ingest_paths([docs], store, settings).ok
    return settings, store, docs


def test_rankings_equal_whoosh_on_a_multi_segment_index(home) -> None:
    settings, store, _ = home
    build_indexes(store, settings.indexes_dir, procs=2, engine="whoosh")
    index = WhooshKeywordIndex(current_generation(settings.indexes_dir))
    assert len(index._searcher.leaf_searchers()) > 1  # the layout under test
    assert compare(index) >= 20
    index.close()


def test_rankings_equal_whoosh_after_deletions(home) -> None:
    settings, store, docs = home
    build_indexes(store, settings.indexes_dir, procs=1, engine="whoosh")
    edited = docs / "central-law-villagers-committee-2018.txt"
    edited.write_text(edited.read_text(encoding="utf-8").replace("村民会议", "村民大会"), encoding="utf-8")
    assert ingest_paths([docs], store, settings).ok
    assert update_indexes(store, settings.indexes_dir, engine="whoosh").mode == "incremental"
    index = WhooshKeywordIndex(current_generation(settings.indexes_dir))
    assert index._searcher.reader().has_deletions()
    assert compare(index) >= 20
    index.close()
