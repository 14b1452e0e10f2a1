"""One contract for every keyword engine behind ``KeywordIndex`` (tantivy, the default, and whoosh).

On the shared corpus, indexed once by each engine from the same store: the same totals and facet counts, exact
wording equal to a substring scan of the store on every test phrase, date order, word presence equal to the
engine's own matches, top-10 overlap ≥ 0.9 on the policy development questions, an incremental update equal to
a full build, refusal of another analyzer's index, and generations that record (and are served by) the engine
that built them. Validity: a few documents are rated (``RATED``) before the indexes are built; the status filter
equals a scan of the store, totals and facets agree, and a status change reaches the index by an update.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from study_hub.config import Settings
from study_hub.domain import CURRENT_STATUSES
from study_hub.index import keyword_engines as keyword
from study_hub.index.builder import IndexMismatchError, build_indexes, update_indexes
from study_hub.index.filters import SearchFilters
from study_hub.index.generations import MANIFEST, current_generation, read_manifest
from study_hub.index.keyword import KeywordIndex, KeywordQuery, TermGroup
from study_hub.index.keyword_engines import open_keyword_index
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.segment.tokens import default_analyzer, fold_exact
from study_hub.store import DocumentStore, open_store
from study_hub.store.models import Document, PassageRow

EVAL = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "policy"
ENGINES = keyword.ENGINES
# Ratings for the contract only (the shared corpus says nothing of validity): one of each status
RATED = {"central-law-urban-residents-committee-2018": "amended", "central-reg-property-management-2018": "repealed",
         "central-law-people-mediation-2010": "not_yet_effective", "central-law-villagers-committee-2018": "current"}
QUESTIONS = ["居民委员会", "物业 业主大会", "网格化 服务管理", "村民 选举 罢免", "基层 党组织 领导", "志愿服务",
             "社区 养老", "矛盾纠纷 调解", "公共服务 清单", "城乡社区治理", "的", "党建引领 街道"]


@pytest.fixture(scope="module")
def home(tmp_path_factory, shared_corpus: Path) -> tuple[Settings, DocumentStore]:
    settings = Settings(home=tmp_path_factory.mktemp("engines"), semantic=False)
    store = open_store(settings)
    assert ingest_paths([shared_corpus], store, settings).ok
    for doc_id, status in RATED.items():
        assert store.set_status(doc_id, status, "2021-01-01")
    return settings, store


@pytest.fixture(scope="module")
def roots(home) -> dict[str, Path]:
    """Each engine's generation of the same store."""
    settings, store = home
    built = {}
    for engine in ENGINES:
        root = settings.home / f"indexes-{engine}"
        build_indexes(store, root, engine=engine)
        built[engine] = root
    return built


@pytest.fixture(scope="module")
def indexes(roots) -> dict[str, KeywordIndex]:
    opened = {}
    for engine, root in roots.items():
        folder = current_generation(root)
        opened[engine] = open_keyword_index(folder, read_manifest(folder))
    yield opened
    for index in opened.values():
        index.close()


@pytest.fixture(scope="module")
def passages(home) -> list[tuple[str, str, str]]:
    with home[1].sessions() as session:
        return [tuple(row) for row in session.execute(select(PassageRow.id, PassageRow.text, Document.id)
                                                      .join(Document).order_by(PassageRow.id))]


def _query(text: str) -> KeywordQuery:
    analyzer = default_analyzer()
    return KeywordQuery(required=tuple(TermGroup((tuple(analyzer.query_words(word)),))
                                       for word in text.split() if analyzer.query_words(word)))


def _every_hit(index: KeywordIndex, query: KeywordQuery, filters: SearchFilters | None = None) -> set[str]:
    first = index.search(query, filters or SearchFilters(), limit=100_000, facets=False)
    assert len(first.hits) == first.total
    return {pid for pid, _ in first.hits}


FILTERS = [SearchFilters(), SearchFilters(levels=("central",)), SearchFilters(kinds=("regulation", "law")),
           SearchFilters(year_from=2018, year_to=2021), SearchFilters(languages=("en",)),
           SearchFilters(doc_ids=frozenset({"central-law-urban-residents-committee-2018"})),
           SearchFilters(statuses=CURRENT_STATUSES), SearchFilters(statuses=("amended", "repealed")),
           SearchFilters(levels=("central",), statuses=("current", "not_yet_effective"))]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}" for k, v in vars(f).items() if v) or "none")
def test_engines_agree_on_totals_and_facets(indexes, filters: SearchFilters) -> None:
    for question in QUESTIONS:
        for match_any in (False, True):
            query = _query(question)
            query = KeywordQuery(required=query.required, match_any=match_any)
            found = {engine: index.search(query, filters, limit=10) for engine, index in indexes.items()}
            tantivy, whoosh = found["tantivy"], found["whoosh"]
            assert tantivy.total == whoosh.total, (question, match_any)
            assert tantivy.facets == whoosh.facets, (question, match_any)
            assert len(tantivy.hits) == len(whoosh.hits) == min(10, whoosh.total)


def test_excluded_words_and_empty_queries_agree(indexes) -> None:
    analyzer = default_analyzer()
    excluded = KeywordQuery(required=_query("社区").required,
                            excluded=(TermGroup((tuple(analyzer.query_words("物业")),)),))
    for query in (excluded, KeywordQuery(), KeywordQuery(required=(TermGroup(()),))):
        totals = {engine: index.search(query, SearchFilters(levels=("municipal",))).total
                  for engine, index in indexes.items()}
        assert len(set(totals.values())) == 1, (query, totals)


def _phrases(passages, count: int) -> list[str]:
    """Substrings of real passages (1 to 8 characters, punctuation and spaces included) and a few made-up ones."""
    chance = random.Random(17)
    phrases = ["不存在的说法甲乙丙", "Ｃｏｍｍｕｎｉｔｙ", "community", "（一）", "第三条", "。", "、", "  ", "zz"]
    texts = [text for _, text, _ in passages if len(text) > 10]
    while len(phrases) < count:
        text = chance.choice(texts)
        size = chance.choice((1, 2, 2, 3, 4, 5, 6, 7, 8))
        start = chance.randrange(0, len(text) - size + 1)
        phrases.append(text[start:start + size])
        ending = text.rstrip()[-size:]  # a passage's last characters: its last term is one character alone
        phrases.append(ending)
    return phrases


@pytest.mark.parametrize("engine", ENGINES)
def test_exact_wording_equals_a_substring_scan_of_the_store(indexes, passages, engine: str) -> None:
    index = indexes[engine]
    folded = [(pid, fold_exact(text)) for pid, text, _ in passages]
    for phrase in _phrases(passages, 160):
        wanted = fold_exact(phrase)
        expected = {pid for pid, text in folded if wanted and wanted in text}
        assert _every_hit(index, KeywordQuery(phrases=(phrase,))) == expected, repr(phrase)
    # excluded wording, and wording with words
    words = _query("社区 服务")
    with_phrase = KeywordQuery(required=words.required, phrases=("居民",))
    without = KeywordQuery(required=words.required, excluded_phrases=("居民",))
    both = _every_hit(index, with_phrase) | _every_hit(index, without)
    assert _every_hit(index, with_phrase).isdisjoint(_every_hit(index, without))
    assert both == _every_hit(index, words)


def test_exact_wording_ranks_by_its_words_alike(indexes) -> None:
    query = KeywordQuery(phrases=("人民调解",), scoring_tokens=("人民", "调解", "委员会"))
    found = {engine: index.search(query, SearchFilters(), limit=10) for engine, index in indexes.items()}
    assert found["tantivy"].total == found["whoosh"].total > 10
    overlap = {pid for pid, _ in found["tantivy"].hits} & {pid for pid, _ in found["whoosh"].hits}
    assert len(overlap) >= 8


@pytest.mark.parametrize("engine", ENGINES)
def test_date_order_is_newest_first_then_by_score(indexes, home, passages, engine: str) -> None:
    index = indexes[engine]
    with home[1].sessions() as session:
        dates = {doc_id: date or "" for doc_id, date in session.execute(select(Document.id, Document.date))}
    doc_of = {pid: doc for pid, _, doc in passages}
    query = _query("社区 服务")
    pages = [index.search(query, SearchFilters(), offset=offset, limit=25, sort="date", facets=False)
             for offset in (0, 25, 50)]
    hits = [hit for page in pages for hit in page.hits]
    keys = [(dates[doc_of[pid]], score) for pid, score in hits]
    for (date_a, score_a), (date_b, score_b) in itertools.pairwise(keys):
        assert date_a > date_b or (date_a == date_b and score_a >= score_b - 1e-6), keys
    assert len({pid for pid, _ in hits}) == len(hits) == 75  # pages neither overlap nor skip
    by_relevance = _every_hit(index, query)
    assert {pid for pid, _ in hits} <= by_relevance


@pytest.mark.parametrize("engine", ENGINES)
def test_word_presence_equals_the_engines_own_matches(indexes, engine: str) -> None:
    """The second-stage ranking's presence of each word group in candidates equals what a search matches."""
    index = indexes[engine]
    for question in ("小区 物业 管理", "居委会 公益事业 筹集费用", "宪法 选举 村民委员会"):
        groups = _query(question).required
        relaxed = index.search(KeywordQuery(required=groups, match_any=True), SearchFilters(), limit=60)
        ids = [pid for pid, _ in relaxed.hits] + ["no-such-passage"]
        presence = index.presence(groups, ids)
        for column, group in enumerate(groups):
            matched = _every_hit(index, KeywordQuery(required=(group,)))
            assert presence.held[:, column].tolist() == [pid in matched for pid in ids], (question, group)
        assert not presence.held[-1].any()
        assert (presence.idf >= 1).all()
    facets = index.facets_for(ids[:-1])
    assert sum(facets["level"].values()) == len(ids) - 1


@pytest.mark.parametrize("engine", ENGINES)
def test_presence_of_a_long_question(indexes, engine: str) -> None:
    """More words than one presence query decodes at once (12): every group still reported as matched."""
    index = indexes[engine]
    question = "居民委员会 村民委员会 选举 罢免 会议 召开 财务 公开 调解 纠纷 社区 服务 管理 监督 党组织 群众"
    groups = _query(question).required
    assert sum(len(g.tokens) for g in groups) > 12
    relaxed = index.search(KeywordQuery(required=groups, match_any=True), SearchFilters(), limit=40)
    ids = [pid for pid, _ in relaxed.hits]
    presence = index.presence(groups, ids)
    for column, group in enumerate(groups):
        matched = _every_hit(index, KeywordQuery(required=(group,)))
        assert presence.held[:, column].tolist() == [pid in matched for pid in ids], group


def test_top_ten_overlap_on_the_development_questions(home, roots) -> None:
    store = home[1]
    services = {engine: SearchService(store, root) for engine, root in roots.items()}
    lines = [json.loads(line) for name in ("dev.jsonl", "dev2.jsonl")
             for line in (EVAL / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    overlaps = []
    for item in lines:
        filters = item.get("filters") or {}
        request = SearchRequest(item["query"], mode="keyword", limit=10, facets=False, level=filters.get("level"),
                                kind=filters.get("doc_kind"), year=str(filters["year"]) if "year" in filters else None,
                                history=True)  # every document, as measured before validity (RATED) existed
        tops = [[hit.passage_id for hit in services[engine].search(request).results] for engine in ENGINES]
        largest = max(len(top) for top in tops)
        overlaps.append(len(set(tops[0]) & set(tops[1])) / largest if largest else 1.0)
    assert len(overlaps) == 72
    assert sum(overlaps) / len(overlaps) >= 0.9, sorted(overlaps)[:10]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_status_filter_equals_a_scan_of_the_store(indexes, home, engine: str) -> None:
    index = indexes[engine]
    with home[1].sessions() as session:
        rows = session.execute(select(PassageRow.id, Document.status).join(Document)).all()
    words = _every_hit(index, _query("居民 委员会"))
    for statuses in (("amended",), ("repealed", "not_yet_effective"), ("current",), ("unknown",), CURRENT_STATUSES,
                     ("amended", "repealed"), ("no-such-status",)):
        expected = {pid for pid, status in rows if status in statuses}
        assert _every_hit(index, KeywordQuery(), SearchFilters(statuses=statuses)) == expected, statuses
        assert _every_hit(index, _query("居民 委员会"), SearchFilters(statuses=statuses)) == expected & words
        facets = index.search(KeywordQuery(), SearchFilters(statuses=statuses), limit=1).facets
        assert facets["status"] == ({s: n for s in statuses if (n := sum(st == s for _, st in rows))}
                                    if expected else {}), statuses
    assert sum(index.facets_for([pid for pid, _ in rows])["status"].values()) == len(rows)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_status_change_reaches_the_index_by_an_update(tmp_path: Path, engine: str) -> None:
    corpus = Path(__file__).resolve().parents[2] / "corpus"
    docs = tmp_path / "docs"
    docs.mkdir()
    names = ["central-law-people-mediation-2010.txt", "central-law-urban-residents-committee-2018.txt"]
    for name in names:
        shutil.copy(corpus / "docs" / name, docs / name)
    shutil.copy(corpus / "catalog.jsonl", docs / "catalog.jsonl")  # both rated current by the shipped catalog
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    assert ingest_paths([docs], store, settings).ok
    build_indexes(store, settings.indexes_dir, engine=engine)
    store.set_status("central-law-people-mediation-2010", "repealed", "2026-01-01")
    assert update_indexes(store, settings.indexes_dir, engine=engine).mode == "incremental"
    folder = current_generation(settings.indexes_dir)
    index = open_keyword_index(folder, read_manifest(folder))
    repealed = _every_hit(index, KeywordQuery(), SearchFilters(statuses=("repealed",)))
    assert repealed and {pid.rsplit(".", 1)[0] for pid in repealed} == {"central-law-people-mediation-2010"}
    assert not repealed & _every_hit(index, KeywordQuery(), SearchFilters(statuses=CURRENT_STATUSES))
    index.close()
    # A generation built before validity was indexed (index_format 1) is rebuilt whole by the next update
    manifest = read_manifest(folder)
    manifest.pop("index_format")
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert update_indexes(store, settings.indexes_dir, engine=engine).mode == "full"
    assert read_manifest(current_generation(settings.indexes_dir))["index_format"] == 2


def test_a_tantivy_index_from_before_validity_serves_every_passage_as_unknown(tmp_path: Path) -> None:
    """Until the update that rebuilds it: no passage is hidden by the default, a status asked for finds nothing."""
    corpus = Path(__file__).resolve().parents[2] / "corpus" / "docs"
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    assert ingest_paths([corpus / "central-law-people-mediation-2010.txt"], store, settings).ok
    build_indexes(store, settings.indexes_dir, engine="tantivy")
    folder = current_generation(settings.indexes_dir)
    keys = json.loads((folder / "keyword-keys.json").read_text(encoding="utf-8"))
    keys.pop("status")  # what an index_format 1 generation holds
    (folder / "keyword-keys.json").write_text(json.dumps(keys), encoding="utf-8")
    index = open_keyword_index(folder, read_manifest(folder))
    every = _every_hit(index, KeywordQuery())
    assert _every_hit(index, KeywordQuery(), SearchFilters(statuses=CURRENT_STATUSES)) == every
    assert _every_hit(index, KeywordQuery(), SearchFilters(statuses=("repealed",))) == set()
    assert index.search(KeywordQuery(), SearchFilters(), limit=1).facets["status"] == {"unknown": len(every)}
    index.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_update_equals_a_full_build(tmp_path: Path, engine: str) -> None:
    corpus = Path(__file__).resolve().parents[2] / "corpus"
    docs = tmp_path / "docs"
    docs.mkdir()
    names = sorted(p.name for p in (corpus / "docs").glob("*.txt"))[:8]
    for name in names:
        shutil.copy(corpus / "docs" / name, docs / name)
    shutil.copy(corpus / "catalog.jsonl", docs / "catalog.jsonl")
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    assert ingest_paths([docs], store, settings).ok
    build_indexes(store, settings.indexes_dir, engine=engine)
    edited = docs / names[1]
    edited.write_text(edited.read_text(encoding="utf-8").replace("社区", "社区居民"), encoding="utf-8")
    (docs / names[2]).unlink()
    store.delete(names[2].removesuffix(".txt"))
    shutil.copy(sorted((corpus / "docs").glob("*.txt"))[9], docs)
    assert ingest_paths([docs], store, settings).ok
    assert update_indexes(store, settings.indexes_dir, engine=engine).mode == "incremental"
    fresh = tmp_path / "fresh"
    build_indexes(store, fresh, engine=engine)
    pair = [open_keyword_index(folder, read_manifest(folder))
            for folder in (current_generation(settings.indexes_dir), current_generation(fresh))]
    for question in ("社区 居民", "社区居民", "委员会", "的", "服务 管理 制度"):
        for filters in (SearchFilters(), SearchFilters(levels=("central",))):
            updated, full = (index.search(_query(question), filters, limit=20) for index in pair)
            assert updated.total == full.total and updated.facets == full.facets, question
            assert {pid for pid, _ in updated.hits} == {pid for pid, _ in full.hits}, question
            # BM25's statistics (passage count, average length, document frequencies) still count the passages an
            # update deleted until the engine merges them away (here a quarter of the passages): the scores drift
            # a little, not the matches
            assert updated.hits[0][1] == pytest.approx(full.hits[0][1], rel=0.1)
    phrase = KeywordQuery(phrases=("社区居民",))
    assert _every_hit(pair[0], phrase) == _every_hit(pair[1], phrase)
    for index in pair:
        index.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_another_analyzers_index_is_refused_then_rebuilt(tmp_path: Path, engine: str) -> None:
    corpus = Path(__file__).resolve().parents[2] / "corpus" / "docs"
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    assert ingest_paths([corpus / "central-law-urban-residents-committee-2018.txt"], store, settings).ok
    build_indexes(store, settings.indexes_dir, engine=engine)
    folder = current_generation(settings.indexes_dir)
    manifest = read_manifest(folder)
    assert manifest["keyword_engine"].startswith({"tantivy": "tantivy ", "whoosh": "whoosh-reloaded "}[engine])
    manifest["analyzer_version"] = "jieba-0.39+old-dictionary"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="study-hub index build"):
        SearchService(store, settings.indexes_dir).search(SearchRequest("居民", mode="keyword"))
    assert update_indexes(store, settings.indexes_dir, engine=engine).mode == "full"
    assert SearchService(store, settings.indexes_dir).search(SearchRequest("居民", mode="keyword")).total > 0


def test_a_generation_is_served_by_the_engine_that_built_it(tmp_path: Path) -> None:
    """A whoosh generation keeps serving after the default changes; the next update rebuilds with tantivy."""
    corpus = Path(__file__).resolve().parents[2] / "corpus" / "docs"
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    assert ingest_paths([corpus / "central-law-urban-residents-committee-2018.txt"], store, settings).ok
    build_indexes(store, settings.indexes_dir, engine="whoosh")
    service = SearchService(store, settings.indexes_dir)
    before = service.search(SearchRequest("居民 会议", mode="keyword")).total
    assert type(service.generation().keyword).__name__ == "WhooshKeywordIndex"
    assert update_indexes(store, settings.indexes_dir, engine="tantivy").mode == "full"
    assert type(service.generation().keyword).__name__ == "TantivyKeywordIndex"
    assert service.search(SearchRequest("居民 会议", mode="keyword")).total == before
    assert update_indexes(store, settings.indexes_dir, engine="tantivy").mode == "unchanged"


@pytest.mark.parametrize("engine", ENGINES)
def test_serving_never_writes_into_a_generation(roots, engine: str) -> None:
    """A published generation may sit on a read-only shared folder: opening and searching it creates nothing."""
    folder = current_generation(roots[engine])
    before = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    index = open_keyword_index(folder, read_manifest(folder))
    index.search(_query("社区 服务"), SearchFilters(levels=("central",)), limit=5, sort="date")
    index.search(KeywordQuery(phrases=("社区",)), SearchFilters(), limit=5)
    index.close()
    after = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != ".readers")
    assert after == [name for name in before if not name.endswith(".readers")]
