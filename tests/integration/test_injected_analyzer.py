"""An injected analyzer, end to end: the index is built with it (its tokenising processes included), searched with
it, and a service with another analyzer refuses the generation instead of mismatching silently."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from study_hub.config import Settings
from study_hub.index import keyword_engines as keyword
from study_hub.index.builder import IndexMismatchError, build_indexes, update_indexes
from study_hub.index.filters import SearchFilters
from study_hub.index.generations import current_generation, read_manifest
from study_hub.index.keyword import KeywordQuery, TermGroup
from study_hub.index.keyword_engines import open_keyword_index
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.segment.tokens import DICTIONARY_PATH, Analyzer, default_analyzer
from study_hub.store import DocumentStore, open_store

WORD = "新名词测试"  # the shipped dictionary cuts it into 新名词 + 测试; the site's dictionary keeps it whole
NOTICE = f"""关于社区议事工作的通知

一、总体要求
{WORD}是社区治理的一项新工作，各街道要认真组织{WORD}。

二、工作安排
居民委员会组织居民参加议事协商，听取居民意见。
"""


@pytest.fixture(scope="module")
def site_analyzer(tmp_path_factory) -> Analyzer:
    """The shipped dictionary plus one word of the site's own."""
    dictionary = tmp_path_factory.mktemp("dictionary") / "site.dict.txt"
    dictionary.write_text(DICTIONARY_PATH.read_text(encoding="utf-8") + f"{WORD} 3000\n", encoding="utf-8")
    analyzer = Analyzer(dictionary)
    assert analyzer.query_words(WORD) == [WORD] and default_analyzer().query_words(WORD) != [WORD]
    return analyzer


@pytest.fixture
def home(tmp_path: Path) -> tuple[Settings, DocumentStore]:
    settings = Settings(home=tmp_path / "home")
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text(NOTICE, encoding="utf-8")
    assert ingest_paths([docs], store, settings).ok
    return settings, store


def _with_the_word_as_one_token(root: Path) -> int:
    """Passages the generation indexed ``WORD`` in as one token."""
    folder = current_generation(root)
    index = open_keyword_index(folder, read_manifest(folder))
    try:
        return index.search(KeywordQuery(required=(TermGroup(((WORD,),)),)), SearchFilters(), facets=False).total
    finally:
        index.close()


@pytest.mark.parametrize("engine", keyword.ENGINES)
def test_an_index_built_with_an_injected_analyzer_is_searched_with_it(home, site_analyzer, engine, tmp_path) -> None:
    settings, store = home
    # Two processes: the tokenising workers (tantivy) and whoosh's writer processes rebuild the analyzer.
    build_indexes(store, settings.indexes_dir, procs=2, engine=engine, analyzer=site_analyzer)
    assert read_manifest(current_generation(settings.indexes_dir))["analyzer_version"] == site_analyzer.version
    assert _with_the_word_as_one_token(settings.indexes_dir) == 1

    response = SearchService(store, settings.indexes_dir, analyzer=site_analyzer).search(
        SearchRequest(WORD, mode="keyword"))
    assert response.total == 1
    hit = response.results[0]
    assert [hit.text[start:end] for start, end in hit.highlights] == [WORD, WORD]

    # An update tokenises the changed document with the same analyzer.
    (tmp_path / "docs" / "notice.txt").write_text(NOTICE.replace("听取居民意见", f"听取居民对{WORD}的意见"),
                                                  encoding="utf-8")
    assert ingest_paths([tmp_path / "docs"], store, settings).ok
    report = update_indexes(store, settings.indexes_dir, engine=engine, analyzer=site_analyzer)
    assert report.mode == "incremental"
    assert _with_the_word_as_one_token(settings.indexes_dir) == 2

    # The shipped analyzer never makes the word one token: the analyzer above is what the index used.
    build_indexes(store, settings.indexes_dir, engine=engine)
    assert _with_the_word_as_one_token(settings.indexes_dir) == 0


def test_a_service_with_another_analyzer_refuses_the_generation(home, site_analyzer) -> None:
    settings, store = home
    build_indexes(store, settings.indexes_dir)  # the shipped analyzer
    with pytest.raises(IndexMismatchError, match=rf"analyzer in use is {re.escape(site_analyzer.version)}.*study-hub index build"):
        SearchService(store, settings.indexes_dir, analyzer=site_analyzer).search(SearchRequest("居民"))
    assert SearchService(store, settings.indexes_dir).search(SearchRequest("居民", mode="keyword")).total > 0

    # And the other way round; an update with the generation's own analyzer is incremental, with another, whole.
    assert update_indexes(store, settings.indexes_dir, analyzer=site_analyzer).mode == "full"
    with pytest.raises(IndexMismatchError, match=f"analyzer in use is {re.escape(default_analyzer().version)}"):
        SearchService(store, settings.indexes_dir).search(SearchRequest("居民"))
    assert SearchService(store, settings.indexes_dir, analyzer=site_analyzer).search(
        SearchRequest(WORD, mode="keyword")).total == 1
