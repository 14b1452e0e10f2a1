"""Keyword search on the shipped corpus: exact wording, filters, facets, highlights, generations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support import database_env

from study_hub.config import Settings
from study_hub.index.builder import IndexMismatchError, build_indexes, update_indexes
from study_hub.index.generations import MANIFEST, current_generation, read_manifest
from study_hub.pipeline import ingest_paths
from study_hub.search.query import QueryError
from study_hub.search.service import SearchRequest, SearchService
from study_hub.search.synonyms import Synonyms
from study_hub.segment.tokens import fold_exact
from study_hub.store import DocumentStore, open_store
from study_hub.store.models import Document, PassageRow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory) -> Settings:
    """The shipped corpus ingested and indexed once for this module."""
    settings = Settings(home=tmp_path_factory.mktemp("search-home"))
    store = open_store(settings)
    assert ingest_paths([REPO / "corpus"], store, settings).ok
    build_indexes(store, settings.indexes_dir)
    return settings


@pytest.fixture(scope="module")
def service(corpus_home: Settings) -> SearchService:
    return SearchService(open_store(corpus_home), corpus_home.indexes_dir)


@pytest.fixture(scope="module")
def all_passages(service: SearchService) -> list[tuple[str, str, str, str | None, str | None]]:
    with service.store.sessions() as session:
        return list(session.execute(select(PassageRow.id, PassageRow.text, Document.id, Document.level,
                                           Document.date).join(Document)))


def _all_ids(service: SearchService, query: str, **filters) -> list[str]:
    # Every document, whatever its validity: these are compared with a scan of the whole store (by default search
    # leaves out the amended Party constitution of 2017, as the shipped catalog rates it)
    filters.setdefault("history", True)
    first = service.search(SearchRequest(query, limit=100, facets=False, **filters))
    ids = [hit.passage_id for hit in first.results]
    page = 2
    while len(ids) < first.total:
        ids += [h.passage_id for h in service.search(SearchRequest(query, limit=100, page=page, facets=False,
                                                                   **filters)).results]
        page += 1
    return ids


@pytest.mark.parametrize("phrase", ["小事不出村、大事不出镇", "基层治理", "党建引领", "居民委员会", "物业服务合同",
                                    "治", "总则第一条", "for the people", "接诉即办",
                                    "公共数据质量管理遵循“谁提供，谁负责”的原则"])
def test_exact_wording_returns_exactly_the_passages_that_contain_it(service, all_passages, phrase) -> None:
    expected = {pid for pid, text, *_ in all_passages if fold_exact(phrase) in fold_exact(text)}
    found = _all_ids(service, f'"{phrase}"')
    assert len(found) == len(set(found))
    assert set(found) == expected
    for hit in service.search(SearchRequest(f'"{phrase}"', limit=5)).results:
        assert all(fold_exact(hit.text[s:e]) == fold_exact(phrase) for s, e in hit.highlights)
        assert hit.highlights


@pytest.mark.parametrize("quoted", ["“公共数据质量管理遵循「谁提供，谁负责」的原则”".replace("「", "“").replace("」", "”"),
                                    "「公共数据质量管理遵循“谁提供，谁负责”的原则」"])
def test_original_wording_that_itself_quotes_is_found_in_any_outer_quotes(service, quoted) -> None:
    response = service.search(SearchRequest(quoted, limit=5))
    assert [hit.doc_id for hit in response.results] == ["municipal-reg-hangzhou-city-brain-2020"]
    assert "“谁提供，谁负责”" in response.results[0].text


def test_words_must_all_match_and_exclusions_hold(service, all_passages) -> None:
    response = service.search(SearchRequest("街乡吹哨 部门报到", limit=20))
    full = response.results[:response.partial_from]  # partial matches, if any, come after the full ones
    assert len(full) >= 4
    for hit in full:
        assert "街乡吹哨" in hit.text and "部门报到" in hit.text
    partial = service.search(SearchRequest("街乡吹哨 宪法修正案", limit=10))
    assert partial.partial_from == 0 and partial.results  # no passage has both: some-word matches fill in
    excluded = _all_ids(service, "街乡吹哨 -接诉即办")
    texts = {pid: text for pid, text, *_ in all_passages}
    assert excluded and all("接诉即办" not in texts[pid] for pid in excluded)


def test_filters_agree_with_the_store(service, all_passages) -> None:
    provincial = {pid for pid, _, _, level, _ in all_passages if level == "provincial"}
    assert set(_all_ids(service, "level:provincial")) == provincial
    in_years = {pid for pid, _, _, _, date in all_passages if date and 2019 <= int(date[:4]) <= 2021}
    assert set(_all_ids(service, "", year="2019..2021")) == in_years
    one_doc = {pid for pid, _, doc, _, _ in all_passages if doc == "central-law-urban-residents-committee-2018"}
    assert set(_all_ids(service, "doc:central-law-urban-residents-committee-2018")) == one_doc
    for hit in service.search(SearchRequest("物业 issuer:青岛", limit=50)).results:
        assert "青岛" in hit.issuer


def test_validity_narrows_in_the_index_as_the_shipped_catalog_rates_the_documents(service) -> None:
    """The shipped catalog rates the 2017 Party constitution (both languages) amended: search leaves it out unless
    asked (status:, 效力:, the status parameter or history), and totals and facets count what is shown."""
    with service.store.sessions() as session:
        status_of = dict(session.execute(select(PassageRow.id, Document.status).join(Document)).all())
    amended = {pid for pid, status in status_of.items() if status == "amended"}
    assert amended and {d.split(".")[0] for d in amended} == {"central-reg-cpc-constitution-2017-zh",
                                                              "central-reg-cpc-constitution-2017-en"}
    shown = set(_all_ids(service, "kind:regulation", history=False))
    assert shown and not shown & amended
    assert set(_all_ids(service, "kind:regulation")) == shown | amended
    for asked in ({"q": "status:amended"}, {"q": "效力:已修订"}, {"q": "", "status": "amended"}):
        assert set(_all_ids(service, asked.pop("q"), history=False, **asked)) == amended
    by_default = service.search(SearchRequest("党员 纪律处分", mode="keyword"))
    assert by_default.total and "amended" not in by_default.facets["status"]
    everything = service.search(SearchRequest("党员 纪律处分", mode="keyword", history=True))
    assert everything.facets["status"]["amended"] == everything.total - by_default.total > 0
    assert any(hit.status == "amended" and hit.status_date == "2022-10" for hit in service.search(
        SearchRequest("党员 纪律处分 status:all", mode="keyword")).results)


def test_facets_count_the_whole_result_set(service, all_passages) -> None:
    response = service.search(SearchRequest("kind:regulation", limit=1, history=True))
    levels: dict[str, int] = {}
    with service.store.sessions() as session:
        for level, in session.execute(select(Document.level).join(PassageRow).where(Document.kind == "regulation")):
            levels[level] = levels.get(level, 0) + 1
    assert response.facets["level"] == dict(sorted(levels.items(), key=lambda kv: -kv[1]))
    assert sum(response.facets["kind"].values()) == response.total


def test_highlights_mark_every_repetition(service) -> None:
    hit = service.search(SearchRequest("党建引领 doc:provincial-reg-beijing-street-office-2019", limit=1)).results[0]
    marked = [hit.text[s:e] for s, e in hit.highlights]
    assert marked and set(marked) == {"党建引领"}
    assert len(marked) == hit.text.count("党建引领")
    assert "<mark>党建引领</mark>" in hit.snippet


def test_sort_by_date_and_pagination(service) -> None:
    by_date = service.search(SearchRequest("社区", sort="date", limit=20)).results
    dates = [hit.date or "" for hit in by_date]
    assert dates == sorted(dates, reverse=True)
    page1 = [h.passage_id for h in service.search(SearchRequest("社区", limit=10)).results]
    page2 = [h.passage_id for h in service.search(SearchRequest("社区", limit=10, page=2)).results]
    top20 = [h.passage_id for h in service.search(SearchRequest("社区", limit=20)).results]
    assert page1 + page2 == top20 and not set(page1) & set(page2)


def test_synonyms_and_dictionary_terms(service, corpus_home: Settings, tmp_path: Path) -> None:
    """物管会 is in no document: only the lexicon's line 物管会 | 物业管理委员会 leads to the passages that say
    物业管理委员会, and with an empty lexicon the same searches do not find them."""
    empty = tmp_path / "no-synonyms.txt"
    empty.write_text("", encoding="utf-8")
    without = SearchService(service.store, corpus_home.indexes_dir, synonyms=Synonyms(service.analyzer, empty))

    found = service.search(SearchRequest("物管会", limit=5, mode="keyword")).results
    assert any("负责组建物业管理委员会" in hit.text for hit in found)  # 北京市物业管理条例 第五十二条
    assert all("物业管理委员会" in hit.text and "物管会" not in hit.text for hit in found)
    assert without.search(SearchRequest("物管会", limit=5, mode="keyword")).total == 0

    # With another word: 居委会 is the everyday word for the law's 居民委员会 (Article 8 says who elects it).
    [eighth] = [hit for hit in service.search(SearchRequest("居委会 选举", limit=5)).results
                if hit.doc_id == "central-law-urban-residents-committee-2018" and hit.text.startswith("第八条")]
    assert "居委会" not in eighth.text and "居民委员会" in eighth.text
    assert eighth.passage_id not in [hit.passage_id for hit in without.search(SearchRequest("居委会 选举", limit=10)).results]

    assert any("接诉即办" in h.text for h in service.search(SearchRequest("接诉即办", limit=5)).results)


def test_title_words_match_every_passage_of_the_document(service) -> None:
    hits = service.search(SearchRequest("城市居民委员会组织法 选举", limit=5)).results
    assert hits[0].doc_id == "central-law-urban-residents-committee-2018"


def test_a_long_question_falls_back_to_partial_matches(service) -> None:
    response = service.search(SearchRequest("前期物业服务合同的期限最长是几年", limit=10))
    assert response.results and response.partial_from is not None


@pytest.mark.parametrize("request_", [SearchRequest('"未闭合'), SearchRequest("物业", limit=0),
                                      SearchRequest("物业", sort="random"), SearchRequest("物业", level="galaxy"),
                                      SearchRequest("物业", year="recent"), SearchRequest("")])
def test_bad_requests_raise_query_errors(service, request_) -> None:
    with pytest.raises(QueryError):
        service.search(request_)


def test_cli_json_and_batch_run_format(corpus_home: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "STUDY_HUB_HOME": str(corpus_home.home), "STUDY_HUB_SEMANTIC": "false",
           **database_env(corpus_home.home)}  # the command runs in another process, on the same home and database
    command = [sys.executable, "-c", "from study_hub.cli import run; run()", "search"]
    result = subprocess.run([*command, "街乡吹哨", "--json", "--limit", "3", "--mode", "keyword"],
                            capture_output=True, text=True, env=env, timeout=120)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(lines) == 3
    assert {"passage_id", "doc_id", "title", "heading_path", "text", "score"} <= set(lines[0])
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"id": "q1", "query": "物业管理", "filters": {"level": "municipal"}},
                                  ensure_ascii=False) + "\n" + json.dumps({"id": "q2", "query": '"接诉即办"',
                                                                           "filters": {"doc_kind": "regulation"}})
                       + "\n" + json.dumps({"id": "q3", "query": ""}) + "\n", encoding="utf-8")
    batch = subprocess.run([*command, "--queries", str(queries), "--mode", "keyword"], capture_output=True,
                           text=True, env=env, timeout=120)
    runs = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [r["id"] for r in runs] == ["q1", "q2", "q3"]
    assert runs[2]["results"] == [] and "type some words" in runs[2]["error"]  # one bad line, the batch goes on
    assert runs[0]["results"] and all(r["level"] == "municipal" for r in runs[0]["results"])
    assert all(r["kind"] == "regulation" for r in runs[1]["results"])
    bad = subprocess.run([*command, '"未闭合'], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "not closed" in bad.stderr and "Traceback" not in bad.stderr


# --- generations: incremental updates, mismatches, interrupted builds ----------------------------

@pytest.fixture
def small_home(tmp_path: Path) -> tuple[Settings, DocumentStore]:
    settings = Settings(home=tmp_path / "home")
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("central-law-urban-residents-committee-2018", "central-law-villagers-committee-2018"):
        (docs / f"{name}.txt").write_bytes((REPO / "corpus" / "docs" / f"{name}.txt").read_bytes())
    assert ingest_paths([docs], store, settings).ok
    build_indexes(store, settings.indexes_dir)
    return settings, store


def test_incremental_update_reindexes_only_what_changed(small_home, tmp_path: Path) -> None:
    settings, store = small_home
    service = SearchService(store, settings.indexes_dir)
    first = current_generation(settings.indexes_dir)
    assert service.search(SearchRequest('"居民委员会的任务"')).total == 1

    edited = tmp_path / "docs" / "central-law-urban-residents-committee-2018.txt"
    edited.write_text(edited.read_text(encoding="utf-8").replace("居民委员会的任务", "居民委员会的主要任务"),
                      encoding="utf-8")
    added = tmp_path / "docs" / "people-mediation.txt"
    added.write_bytes((REPO / "corpus" / "docs" / "central-law-people-mediation-2010.txt").read_bytes())
    assert ingest_paths([tmp_path / "docs"], store, settings).ok

    report = update_indexes(store, settings.indexes_dir)
    assert report.mode == "incremental" and report.changed_documents == 2
    second = current_generation(settings.indexes_dir)
    assert second != first and first.is_dir()  # the previous generation stays for readers still on it
    assert service.search(SearchRequest('"居民委员会的任务"')).total == 0  # the service follows `current`
    assert service.search(SearchRequest('"居民委员会的主要任务"')).total == 1
    assert service.search(SearchRequest("人民调解委员会")).total > 0
    assert read_manifest(second)["counts"]["passages"] == store.counts()[1]
    assert update_indexes(store, settings.indexes_dir).mode == "unchanged"


def test_an_index_from_another_analyzer_is_refused_then_rebuilt(small_home) -> None:
    settings, store = small_home
    folder = current_generation(settings.indexes_dir)
    manifest = read_manifest(folder)
    manifest["analyzer_version"] = "jieba-0.39+old-dictionary"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="study-hub index build"):
        SearchService(store, settings.indexes_dir).search(SearchRequest("居民"))
    assert update_indexes(store, settings.indexes_dir).mode == "full"
    assert SearchService(store, settings.indexes_dir).search(SearchRequest("居民")).total > 0


@pytest.mark.sqlite_only  # copies the home, SQLite file included, for another process
def test_killed_build_leaves_the_previous_generation_serving(corpus_home: Settings, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "copy"
    shutil.copytree(corpus_home.home, home, symlinks=True)
    settings = Settings(home=home)
    before = current_generation(settings.indexes_dir)
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false"}
    for _ in range(2):
        builder = subprocess.Popen([sys.executable, "-c", "from study_hub.cli import run; run()", "index", "build"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        deadline = time.monotonic() + 60
        while not list(settings.indexes_dir.glob("gen-*.tmp/*/*")) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # the keyword engine's folder exists: passages are being tokenised and indexed
        os.killpg(builder.pid, signal.SIGKILL)  # the builder and its writer processes
        builder.wait()
        assert current_generation(settings.indexes_dir) == before
        service = SearchService(open_store(settings), settings.indexes_dir)
        assert service.search(SearchRequest("街乡吹哨")).total > 0
    report = build_indexes(open_store(settings), settings.indexes_dir)
    assert current_generation(settings.indexes_dir).name == report.generation
    assert not list(settings.indexes_dir.glob("gen-*.tmp"))  # crashed builds were swept


def test_search_over_a_postgresql_store(store: DocumentStore, backend_settings: Settings) -> None:
    docs = REPO / "corpus" / "docs" / "provincial-reg-beijing-street-office-2019.txt"
    assert ingest_paths([docs], store, backend_settings).ok
    build_indexes(store, backend_settings.indexes_dir)
    hits = SearchService(store, backend_settings.indexes_dir).search(SearchRequest("街乡吹哨 部门报到")).results
    assert hits and hits[0].title == "北京市街道办事处条例"
