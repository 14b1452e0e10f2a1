"""The JSON API and the pages, in process, on a small real corpus (one document per level)."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from study_hub.config import Settings
from study_hub.index.builder import update_indexes
from study_hub.pipeline import ingest_paths
from study_hub.search.service import SearchRequest, SearchService
from study_hub.store import open_store
from study_hub.webapp import create_app

SHIPPED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
HIT_FIELDS = {"passage_id", "doc_id", "title", "doc_number", "level", "kind", "issuer", "speaker", "date",
              "heading_path", "text", "snippet", "score", "url"}


@pytest.fixture(scope="module")
def client(semantic_home, embedder):
    settings, _ = semantic_home
    with TestClient(create_app(settings, encoder=embedder)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keyword_client(semantic_home):
    settings, _ = semantic_home
    with TestClient(create_app(settings, encoder=None)) as test_client:
        yield test_client


# --- search -----------------------------------------------------------------------------------------

def test_search_keeps_its_contract(client) -> None:
    response = client.get("/api/search", params={"q": "物业服务企业", "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert {"total", "results", "facets"} <= set(body)
    assert body["mode"] == "hybrid" and body["total"] >= 5 and len(body["results"]) == 5
    for hit in body["results"]:
        assert set(hit) >= HIT_FIELDS
        assert hit["url"] == f"/documents/{hit['doc_id']}#p-{hit['passage_id']}"
        assert hit["rankers"] and set(hit["rankers"]) <= {"keyword", "semantic"}
    assert any("<mark>" in hit["snippet"] for hit in body["results"])
    assert set(body["facets"]) == {"level", "kind", "issuer", "year", "status"}


def keyword_engine_calls(service: SearchService, monkeypatch) -> list[tuple]:
    """The calls the generation ``service`` serves now makes to its keyword engine's ``search``, from now on."""
    engine = service.generation().keyword
    calls: list[tuple] = []
    real = engine.search

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "search", counted)
    return calls


def test_repeated_searches_answer_the_same_from_the_answer_cache(client, semantic_home, embedder,
                                                                 monkeypatch) -> None:
    params = {"q": "业主委员会 职责", "limit": 5}
    calls = keyword_engine_calls(client.app.state.context.search, monkeypatch)
    first = client.get("/api/search", params=params).json()
    assert first["mode"] == "hybrid" and first["results"] and calls  # worked out by the engines
    asked = len(calls)
    again = client.get("/api/search", params=params).json()
    assert len(calls) == asked  # from the answer cache: the engine is not asked again
    assert again["results"] == first["results"] and again["total"] == first["total"]
    assert again["generation"] == first["generation"]

    settings, store = semantic_home  # without a cache the same search asks the engine every time
    uncached = SearchService(store, settings.indexes_dir, encoder=embedder, cache_size=0)
    calls = keyword_engine_calls(uncached, monkeypatch)
    request = SearchRequest(params["q"], limit=5)
    assert [h.passage_id for h in uncached.search(request).results] == [h["passage_id"] for h in first["results"]]
    asked = len(calls)
    uncached.search(request)
    assert len(calls) > asked


def test_filters_apply(client) -> None:
    body = client.get("/api/search", params={"q": "物业", "level": "municipal", "mode": "keyword"}).json()
    assert body["total"] > 0 and {hit["level"] for hit in body["results"]} == {"municipal"}
    body = client.get("/api/search", params={"q": "物业", "level": "市", "year": "2021", "mode": "keyword"}).json()
    assert body["total"] > 0 and all(hit["date"].startswith("2021") for hit in body["results"])
    doc = "central-reg-property-management-2018"
    body = client.get("/api/search", params={"q": "业主", "doc": doc, "limit": 50}).json()
    assert body["total"] > 0 and {hit["doc_id"] for hit in body["results"]} == {doc}
    body = client.get("/api/search", params={"level": "central", "sort": "date"}).json()  # browsing by filter
    assert body["total"] > 0 and {hit["level"] for hit in body["results"]} == {"central"}


def test_exact_wording_stays_exact_and_pages_do_not_overlap(client) -> None:
    first = client.get("/api/search", params={"q": '"业主大会"', "limit": 5}).json()
    assert first["mode"] == "keyword" and first["total"] > 5
    assert all("业主大会" in hit["text"] for hit in first["results"])
    second = client.get("/api/search", params={"q": '"业主大会"', "limit": 5, "page": 2}).json()
    assert second["total"] == first["total"]
    assert not {h["passage_id"] for h in first["results"]} & {h["passage_id"] for h in second["results"]}


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"q": "物业", "limit": 0}, 422, "limit"),
    ({"q": "物业", "limit": 101}, 422, "limit"),
    ({"q": "物业", "page": "abc"}, 422, "page"),
    ({"q": "物业", "mode": "fuzzy"}, 422, "mode"),
    ({"q": "物业", "sort": "size"}, 422, "sort"),
    ({"q": "x" * 1001}, 422, "q"),
    ({"q": "level:nowhere 物业"}, 400, "central"),
    ({"q": "物业", "year": "2023..2019"}, 400, "2023"),
    ({"q": "物业", "kind": "poem"}, 400, "kind"),
    ({"q": ""}, 400, "type some words"),
])
def test_bad_requests_get_a_message_not_a_500(client, params, status, words) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] in ("validation", "bad_request") and words in body["message"]


def test_semantic_mode_without_a_model_is_answered_by_keywords_and_says_so(keyword_client) -> None:
    response = keyword_client.get("/api/search", params={"q": "物业 管理", "mode": "semantic"})
    body = response.json()
    assert response.status_code == 200 and body["mode"] == "keyword" and body["total"] > 0
    assert body["meaning"]["ready"] is False and body["meaning"]["reason"] == "off"
    assert "关键词" in body["notice"]
    fallback = keyword_client.get("/api/search", params={"q": "物业"}).json()  # hybrid falls back to keyword
    assert fallback["mode"] == "keyword" and fallback["total"] > 0


def test_search_by_meaning_finds_a_paraphrase(client) -> None:
    """A resident's question and the article that answers it in the regulation's words, with no word in common:
    search by meaning finds it in its first five, keyword search does not."""
    question = "小区里的电梯坏了修理的钱从哪里出"
    answer = "第八十五条 专项维修资金属于业主共有，应当专项用于共用部位、共用设施设备保修期满后的维修、更新和改造"

    body = client.get("/api/search", params={"q": question, "mode": "semantic", "limit": 5}).json()
    assert body["mode"] == "semantic" and all(hit["rankers"] == ["semantic"] for hit in body["results"])
    [found] = [hit for hit in body["results"] if hit["text"].startswith(answer)]
    words = client.app.state.context.search.analyzer.query_words(question)
    assert words and not [word for word in words if word in found["text"]]  # no word of the question in it

    by_keywords = client.get("/api/search", params={"q": question, "mode": "keyword", "limit": 5}).json()
    assert by_keywords["mode"] == "keyword"
    assert found["passage_id"] not in [hit["passage_id"] for hit in by_keywords["results"]]


# --- documents and passages ----------------------------------------------------------------------------

def test_document_list_filters_and_counts(client) -> None:
    everything = client.get("/api/documents").json()
    assert everything["total"] == 4 and everything["facets"]["level"] == {
        "central": 1, "district": 1, "municipal": 1, "provincial": 1}
    municipal = client.get("/api/documents", params={"level": "municipal"}).json()
    assert [d["doc_id"] for d in municipal["documents"]] == ["municipal-reg-qingdao-property-2021"]
    paged = client.get("/api/documents", params={"limit": 3, "page": 2}).json()
    assert paged["total"] == 4 and len(paged["documents"]) == 1
    assert client.get("/api/documents", params={"level": "galactic"}).status_code == 422


def test_document_detail_has_the_passage_tree_and_exact_offsets(client, semantic_home) -> None:
    _, store = semantic_home
    doc_id = "central-reg-property-management-2018"
    body = client.get(f"/api/documents/{doc_id}").json()
    stored = store.get_document(doc_id)
    assert body["doc_number"] and body["passage_count"] == len(body["passages"]) == len(stored.passages)
    for passage in body["passages"]:
        assert stored.text[passage["char_start"]:passage["char_end"]] == passage["text"]
    ids = {p["passage_id"] for p in body["passages"]}
    chapters = body["outline"]
    assert chapters[0]["heading"].startswith("第一章") and chapters[0]["children"][0]["heading"] == "第一条"

    def walk(nodes):
        for node in nodes:
            assert node["passage_id"] in ids
            walk(node["children"])
    walk(chapters)


def test_passage_with_neighbours_and_cross_level_tracing(client, keyword_client, semantic_home) -> None:
    _, store = semantic_home
    central = store.get_document("central-reg-property-management-2018")
    article = next(p for p in central.passages if "专项维修资金" in p.text)
    body = client.get(f"/api/passages/{quote(article.id)}").json()
    assert body["doc_id"] == central.id and body["text"] == article.text
    assert body["previous"]["ordinal"] == article.ordinal - 1 and body["next"]["ordinal"] == article.ordinal + 1
    assert body["citation"].startswith("《物业管理条例》") and "第379号" in body["citation"]
    assert body["related_available"] and set(body["related"]) == {"provincial", "municipal", "district"}
    assert all(hit["doc_id"] != central.id for hits in body["related"].values() for hit in hits)
    plain = keyword_client.get(f"/api/passages/{quote(article.id)}").json()
    assert plain["related"] == {} and plain["related_available"] is False


def test_unknown_things_are_404_with_a_message(client) -> None:
    for path in ("/api/documents/no-such-doc", "/api/passages/no-such-passage", "/api/nothing-here"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["message"], path


def test_health(client, keyword_client) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["documents"] == 4
    assert body["index_generation"].startswith("gen-") and body["index_passages"] == body["passages"]
    assert body["search_by_meaning"] is True and "e5" in body["semantic_model"]
    assert keyword_client.get("/api/health").json()["search_by_meaning"] is False


def test_every_response_carries_the_security_headers(client) -> None:
    for path, status in (("/api/search?q=物业服务企业", 200), ("/", 200), ("/api/nothing-here", 404),
                         ("/api/search", 400), ("/static/no-such-file.css", 404)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "same-origin", path
        assert response.headers["content-security-policy"].startswith("default-src 'self'"), path
        assert len(response.headers.get_list("x-frame-options")) == 1, path
    # Swagger UI starts itself with an inline script: its page alone goes without the policy.
    assert "content-security-policy" not in client.get("/docs").headers


def test_the_served_app_opens_the_index_at_start_and_freezes_what_it_loaded(semantic_home, embedder) -> None:
    import gc

    from study_hub.webapp.app import serving_app

    settings, _ = semantic_home
    try:
        app = serving_app(settings, encoder=embedder)
        assert app.state.context.search.served._current is not None  # opened before any search
        assert gc.get_freeze_count() > 10_000  # the model and libraries: out of every full collection
        with TestClient(app) as served:
            assert served.get("/api/search", params={"q": "物业服务企业"}).json()["total"] > 0
    finally:
        gc.unfreeze()


def test_openapi_documents_the_api(client) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/documents", "/api/documents/{doc_id}", "/api/passages/{passage_id}",
            "/api/health", "/api/me", "/api/notes", "/api/notes/{note_id}", "/api/reading-lists"} <= set(schema["paths"])
    assert all(path.startswith("/api/") for path in schema["paths"])  # pages stay out of the API schema
    assert client.get("/docs").status_code == 200


def test_a_new_index_generation_is_served_without_a_restart(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SHIPPED_CORPUS / "docs" / "central-reg-property-management-2018.txt", docs)
    assert ingest_paths([docs], store, settings).ok
    update_indexes(store, settings.indexes_dir)
    with TestClient(create_app(settings, encoder=None)) as test_client:
        before = test_client.get("/api/health").json()["index_generation"]
        assert test_client.get("/api/search", params={"q": "青岛市"}).json()["total"] == 0
        shutil.copy(SHIPPED_CORPUS / "docs" / "municipal-reg-qingdao-property-2021.txt", docs)
        assert ingest_paths([docs], store, settings).ok
        update_indexes(store, settings.indexes_dir)
        assert test_client.get("/api/search", params={"q": "青岛市"}).json()["total"] > 0
        assert test_client.get("/api/health").json()["index_generation"] != before


# --- pages -------------------------------------------------------------------------------------------------

def test_search_page_shows_highlighted_hits_facets_and_pages(client) -> None:
    page = client.get("/search", params={"q": "业主大会", "mode": "keyword"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<mark>业主大会</mark>" in html and 'class="facets"' in html and 'rel="next"' in html
    assert '?q=%E4%B8%9A%E4%B8%BB%E5%A4%A7%E4%BC%9A#p-' in html  # hits open the reader with the words marked
    assert "关键词" in html and "综合" in html  # Chinese by default


def test_search_page_explains_bad_queries_and_empty_results(client) -> None:
    bad = client.get("/search", params={"q": "level:nowhere"})
    assert bad.status_code == 400 and "central" in bad.text and 'role="alert"' in bad.text
    empty = client.get("/search", params={"q": '"这句话不在任何文件里"', "level": "central"})
    assert empty.status_code == 200 and "没有找到相关段落" in empty.text and "在全部文件中检索" in empty.text


def test_reader_marks_the_search_words_and_addresses_every_passage(client, semantic_home) -> None:
    _, store = semantic_home
    doc = store.get_document("central-reg-property-management-2018")
    html = client.get(f"/documents/{doc.id}", params={"q": "业主大会"}).text
    assert all(f'id="p-{p.id}"' in html for p in doc.passages)
    assert "<mark>业主大会</mark>" in html and 'class="toc"' in html and "第379号" in html
    assert 'data-citation="《物业管理条例》' in html


def test_library_passage_and_error_pages(client, semantic_home) -> None:
    _, store = semantic_home
    library = client.get("/documents", params={"level": "provincial"})
    assert library.status_code == 200 and "北京市物业管理条例" in library.text and "青岛" not in library.text
    passage = store.get_document("municipal-reg-qingdao-property-2021").passages[3]
    page = client.get(f"/passages/{quote(passage.id)}")
    assert page.status_code == 200 and "上下级文件中的相关段落" in page.text
    short = client.get(f"/p/{quote(passage.id)}", follow_redirects=False)
    assert short.status_code == 307 and short.headers["location"].endswith(f"#p-{passage.id}")
    missing = client.get("/documents/no-such-doc")
    assert missing.status_code == 404 and "找不到" in missing.text


def test_english_interface_on_request(client) -> None:
    page = client.get("/search", params={"q": "物业", "lang": "en"})
    assert "Keyword" in page.text and "Hybrid" in page.text and page.cookies.get("lang") == "en"
    assert "Keyword" in client.get("/").text  # remembered by the cookie
    client.get("/", params={"lang": "zh"})


def test_the_issuer_filter_reads_percent_and_underscore_as_text(keyword_client) -> None:
    """Fails before: the issuer went into LIKE unescaped, so "%" matched every document and "_" any one letter."""
    everything = keyword_client.get("/api/documents").json()["total"]
    assert everything > 0
    for wildcard in ("%", "_", "%人民%"):
        assert keyword_client.get("/api/documents", params={"issuer": wildcard}).json()["total"] == 0, wildcard
    assert keyword_client.get("/api/documents", params={"issuer": "人民"}).json()["total"] > 0
