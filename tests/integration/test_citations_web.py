"""Citations in the JSON API and the pages, on SQLite and PostgreSQL: what a document or passage cites and what cites
it, the reader's links (nested correctly with search marks and notes, every text escaped)."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.webapp import create_app
from study_hub.webapp.present.citations import CiteSpan
from study_hub.webapp.present.library import _marked

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "corpus"
SANCTIONS = "central-law-public-official-sanctions-2020"  # cites 《中华人民共和国监察法》第十五条
SUPERVISION = "central-law-supervision-2024"
STREET = "provincial-reg-beijing-street-office-2019"  # cites the organic law, which is not ingested here
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>管理条例'
HOSTILE_CITING = (f"关于学习《{HOSTILE_TITLE}》的通知\n各单位：\n请学习《{HOSTILE_TITLE}》第一条和"
                  "《<script>alert('x')</script>办法》，并结合实际贯彻落实。")


@pytest.fixture
def site(backend_settings: Settings, tmp_path: Path):
    settings = Settings(home=backend_settings.home, database_url=backend_settings.database_url, semantic=False)
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = {json.loads(line)["id"]: line for line in
             (SHIPPED / "catalog.jsonl").read_text(encoding="utf-8").splitlines()}
    for doc_id in (SANCTIONS, SUPERVISION, STREET):
        shutil.copy(SHIPPED / "docs" / f"{doc_id}.txt", docs)
    (docs / "catalog.jsonl").write_text("\n".join(lines[d] for d in (SANCTIONS, SUPERVISION, STREET)) + "\n",
                                        encoding="utf-8")
    (docs / "hostile-regulation.txt").write_text(f"{HOSTILE_TITLE}\n第一条 为了测试转义，制定本条例。", encoding="utf-8")
    (docs / "hostile-notice.txt").write_text(HOSTILE_CITING, encoding="utf-8")
    from study_hub.store import open_store

    store = open_store(settings)
    assert ingest_paths([docs], store, settings).ok
    store.engine.dispose()
    app = create_app(settings, encoder=None)
    with TestClient(app) as client:
        yield client


def _passage_of(client: TestClient, doc_id: str, heading_end: str) -> dict:
    passages = client.get(f"/api/documents/{doc_id}").json()["passages"]
    return next(p for p in passages if p["heading_path"].endswith(heading_end))


def test_what_a_document_cites(site: TestClient) -> None:
    body = site.get(f"/api/documents/{SANCTIONS}/citations").json()
    assert body["doc_id"] == SANCTIONS and body["passage_id"] is None
    assert body["total"] == len(body["citations"]) == sum(body["by_kind"].values())
    assert body["by_resolution"]["article_in_cited"] == 3 and body["by_resolution"]["unresolved"] >= 3
    texts = {p["passage_id"]: p["text"] for p in site.get(f"/api/documents/{SANCTIONS}").json()["passages"]}
    for citation in body["citations"]:
        assert texts[citation["passage_id"]][citation["start"]:citation["end"]] == citation["surface"]
        assert citation["url"] == f"/documents/{SANCTIONS}#p-{citation['passage_id']}"
    article_15 = _passage_of(site, SUPERVISION, "第十五条")
    cited = [c for c in body["citations"] if c["resolution"] == "article_in_cited"]
    assert {c["to"]["url"] for c in cited} == {f"/documents/{SUPERVISION}#p-{article_15['passage_id']}"}
    assert {c["to"]["heading_path"] for c in cited} == {article_15["heading_path"]}
    unresolved = [c for c in body["citations"] if c["resolution"] == "unresolved"]
    assert all(c["to"] is None for c in unresolved)
    assert "《中华人民共和国公务员法》" in {c["surface"] for c in unresolved}

    one = cited[0]["passage_id"]
    passage = site.get(f"/api/passages/{one}/citations").json()
    assert passage["passage_id"] == one and passage["doc_id"] == SANCTIONS
    assert {c["passage_id"] for c in passage["citations"]} == {one} and passage["total"] >= 2


def test_what_cites_a_document_and_an_article(site: TestClient) -> None:
    body = site.get(f"/api/documents/{SUPERVISION}/cited-by").json()
    assert list(body["by_level"]) == ["central"] and body["documents"] == 1
    assert {c["doc_id"] for c in body["by_level"]["central"]} == {SANCTIONS}
    assert body["total"] == 7  # 4 titles, 3 articles; its own references to itself are not "cited by"

    article_15 = _passage_of(site, SUPERVISION, "第十五条")["passage_id"]
    body = site.get(f"/api/passages/{article_15}/cited-by").json()
    assert list(body["by_level"]) == ["same_document", "central"]  # its own 本法第十五条 first
    assert {c["surface"] for c in body["by_level"]["central"]} == {"第十五条", "第十五条第二项", "第十五条第六项"}
    assert all(c["to_passage_id"] == article_15 for group in body["by_level"].values() for c in group)
    assert body["by_level"]["same_document"][0]["doc_id"] == SUPERVISION

    nobody = site.get(f"/api/documents/{SANCTIONS}/cited-by").json()
    assert nobody["total"] == 0 and nobody["by_level"] == {}


@pytest.mark.parametrize("path", ["/api/documents/nope/citations", "/api/documents/nope/cited-by",
                                  "/api/passages/nope/citations", "/api/passages/nope/cited-by"])
def test_unknown_ids_are_404_problems(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found" and "nope" in response.json()["message"]
    assert site.get(path.replace("nope", "x" * 300)).status_code == 422


def test_the_openapi_document_describes_the_routes(site: TestClient) -> None:
    paths = site.get("/openapi.json").json()["paths"]
    for path in ("/api/documents/{doc_id}/citations", "/api/documents/{doc_id}/cited-by",
                 "/api/passages/{passage_id}/citations", "/api/passages/{passage_id}/cited-by"):
        assert {"200", "404", "422"} <= set(paths[path]["get"]["responses"])


_VOID = frozenset({"meta", "link", "input", "br", "img", "hr"})


class _Balanced(HTMLParser):
    """Checks that the reader's HTML nests: every element closes in order, and no link inside a link."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _VOID:
            return
        assert not (tag == "a" and "a" in self.open), "a link inside a link"
        self.open.append(tag)

    def handle_endtag(self, tag) -> None:
        if tag in _VOID:
            return
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()


def test_the_reader_links_references_and_marks_the_unresolved(site: TestClient) -> None:
    page = site.get(f"/documents/{SANCTIONS}").text
    article_15 = _passage_of(site, SUPERVISION, "第十五条")
    link = re.search(r'<a class="cite cite-article" href="([^"]+)" title="([^"]+)">第十五条第二项</a>', page)
    assert link and link.group(1) == f"/documents/{SUPERVISION}#p-{article_15['passage_id']}"
    assert "中华人民共和国监察法 · " in link.group(2) and "第十五条" in link.group(2)
    assert (f'<a class="cite cite-title" href="/documents/{SUPERVISION}" title="中华人民共和国监察法">'
            "《中华人民共和国监察法》</a>") in page
    assert '<span class="cite unresolved" title="库中暂无该文件">《中华人民共和国公务员法》</span>' in page
    english = site.get(f"/documents/{SANCTIONS}?lang=en").text
    assert '<span class="cite unresolved" title="Not in the library">《中华人民共和国公务员法》</span>' in english
    _Balanced().feed(page)


def test_the_reader_shows_what_cites_the_document_and_each_article(site: TestClient) -> None:
    page = site.get(f"/documents/{SUPERVISION}").text
    assert '<details class="cited-by document-cited-by" open><summary>被 1 份文件引用</summary>' in page
    header = page[page.index("document-cited-by"):page.index("</details>", page.index("document-cited-by"))]
    assert "中央" in header and "中华人民共和国公职人员政务处分法" in header and "7 处" in header
    article_15 = _passage_of(site, SUPERVISION, "第十五条")["passage_id"]
    section = page[page.index(f'id="p-{article_15}"'):]
    section = section[:section.index("</section>")]
    assert '<details class="cited-by"><summary>被引用 (4)</summary>' in section
    assert "本文件内" in section and "中华人民共和国公职人员政务处分法" in section
    _Balanced().feed(page)


def test_search_marks_nest_inside_reference_links(site: TestClient) -> None:
    page = site.get(f"/documents/{SANCTIONS}", params={"q": '"监察法"'})  # exact wording: marks just these words
    assert re.search(r'<a class="cite cite-title" href="[^"]+" title="[^"]+">《中华人民共和国<mark>监察法</mark>》</a>',
                     page.text)
    _Balanced().feed(page.text)


def test_the_passage_page_lists_what_it_cites_and_what_cites_it(site: TestClient) -> None:
    article_15 = _passage_of(site, SUPERVISION, "第十五条")["passage_id"]
    page = site.get(f"/passages/{article_15}").text
    assert "被引用 (4)" in page and "<q>第十五条第二项</q>" in page and "本文件内" in page
    citing = site.get(f"/api/documents/{SANCTIONS}/citations").json()["citations"]
    one = next(c for c in citing if c["resolution"] == "article_in_cited")["passage_id"]
    page = site.get(f"/passages/{one}").text
    assert "本段引用" in page and f'href="/documents/{SUPERVISION}#p-{article_15}"' in page


def test_hostile_text_in_references_stays_text(site: TestClient) -> None:
    body = site.get("/api/documents/hostile-notice/citations").json()
    resolved = [c for c in body["citations"] if c["to"]]
    assert {(c["surface"], c["resolution"]) for c in resolved} >= {(f"《{HOSTILE_TITLE}》", "exact_title")}
    assert any(c["resolution"] == "article_in_cited" for c in resolved)
    page = site.get("/documents/hostile-notice").text
    assert "<script>alert(" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;管理条例"' in page  # an attribute, escaped
    _Balanced().feed(page)
    regulation = site.get("/documents/hostile-regulation").text
    assert "<img src=x" not in regulation and "被 1 份文件引用" in regulation
    _Balanced().feed(regulation)


def test_marks_notes_and_references_nest() -> None:
    """One piece of text, three kinds of span over it: the reference is the outer element, links never nest."""
    text = "依照《国务院关于修改〈物业管理条例〉的决定》<b>办理"
    outer = CiteSpan(2, 22, None, "库中暂无该文件", "title")
    inner = CiteSpan(10, 18, "/documents/reg", 'x" onmouseover="alert(1)', "title")
    html = _marked(text, hits=[(11, 15)], notes=[(0, 12, 7)], cites=[outer, inner])
    assert html == (
        '<mark class="note" data-note="7">依照</mark>'
        '<span class="cite unresolved" title="库中暂无该文件"><mark class="note" data-note="7">《国务院关于修改</mark></span>'
        '<a class="cite cite-title" href="/documents/reg" title="x&quot; onmouseover=&quot;alert(1)">'
        '<mark class="note" data-note="7">〈</mark><mark class="note hit" data-note="7">物</mark><mark>业管理</mark>条例〉</a>'
        '<span class="cite unresolved" title="库中暂无该文件">的决定》</span>&lt;b&gt;办理')
    _Balanced().feed(f"<p>{html}</p>")
    assert _marked("<i>", [], [], []) == "&lt;i&gt;"
