"""Citations between documents in the store, on SQLite and PostgreSQL: found at ingest, resolved against the
library, resolved again when the library changes, in the save's own transaction and set-based."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import event, select

import study_hub.store as store_module
import study_hub.store.citations as citations_module
from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.pipeline import ingest_paths
from study_hub.store import DocumentStore
from study_hub.store.db import _alembic_config, current_revision, migrate
from study_hub.store.models import Citation, Document, PassageRow

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "corpus"
SANCTIONS = "central-law-public-official-sanctions-2020"  # cites 《中华人民共和国监察法》第十五条 (three times)
SUPERVISION = "central-law-supervision-2024"  # 中华人民共和国监察法
ORGANIC = "central-law-local-organic-law-2022"
STREET = "provincial-reg-beijing-street-office-2019"  # cites the organic law by its full title
TOWNSHIP = "provincial-reg-shandong-township-gov-2020"


def _folder(tmp_path: Path, *doc_ids: str, name: str = "docs") -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    catalog = {json.loads(line)["id"]: line for line in
               (SHIPPED / "catalog.jsonl").read_text(encoding="utf-8").splitlines()}
    for doc_id in doc_ids:
        shutil.copy(SHIPPED / "docs" / f"{doc_id}.txt", folder)
    (folder / "catalog.jsonl").write_text("\n".join(catalog[d] for d in doc_ids) + "\n", encoding="utf-8")
    return folder


def _ingest(store: DocumentStore, settings: Settings, tmp_path: Path, *doc_ids: str) -> None:
    report = ingest_paths([_folder(tmp_path, *doc_ids, name="-".join(doc_ids)[:80])], store, settings)
    assert report.ok, report.failures


def _rows(store: DocumentStore, doc_id: str | None = None) -> list[Citation]:
    with store.sessions() as session:
        query = select(Citation).order_by(Citation.passage_id, Citation.start)
        if doc_id:
            query = query.where(Citation.document_id == doc_id)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _snapshot(store: DocumentStore) -> set[tuple]:
    return {(c.document_id, c.passage_id, c.start, c.end, c.surface, c.kind, c.target, c.article, c.to_document_id,
             c.to_passage_id, c.resolution) for c in _rows(store)}


def _heading_of(store: DocumentStore, passage_id: str) -> str:
    with store.sessions() as session:
        return session.scalar(select(PassageRow.heading_path).where(PassageRow.id == passage_id))


def test_references_resolve_when_the_cited_document_arrives_and_come_undone_when_it_goes(
        store: DocumentStore, backend_settings: Settings, tmp_path: Path) -> None:
    _ingest(store, backend_settings, tmp_path, SANCTIONS)
    cited = [c for c in _rows(store, SANCTIONS) if c.target == "中华人民共和国监察法"]  # 4 titles, 3 articles
    assert len(cited) == 7 and {(c.to_document_id, c.to_passage_id, c.resolution) for c in cited} == {
        (None, None, "unresolved")}
    own = [c for c in _rows(store, SANCTIONS) if c.resolution == "article_in_same"]
    assert own and all(c.to_document_id == SANCTIONS and c.to_passage_id for c in own)

    _ingest(store, backend_settings, tmp_path, SUPERVISION)  # the law it cites arrives
    cited = [c for c in _rows(store, SANCTIONS) if c.target == "中华人民共和国监察法"]
    titles = [c for c in cited if c.kind == "title"]
    articles = [c for c in cited if c.kind == "article"]
    assert len(titles) == 4 and {(c.to_document_id, c.to_passage_id, c.resolution) for c in titles} == {
        (SUPERVISION, None, "exact_title")}
    assert len(articles) == 3 and {c.resolution for c in articles} == {"article_in_cited"}
    assert {c.surface for c in articles} == {"第十五条", "第十五条第二项", "第十五条第六项"}
    assert {_heading_of(store, c.to_passage_id).split(" > ")[-1] for c in articles} == {"第十五条"}
    assert {c.to_document_id for c in articles} == {SUPERVISION}

    store.delete(SUPERVISION)  # and goes: its citations with it, the references to it unresolved again
    assert _rows(store, SUPERVISION) == []
    cited = [c for c in _rows(store, SANCTIONS) if c.target == "中华人民共和国监察法"]
    assert len(cited) == 7 and {(c.to_document_id, c.to_passage_id, c.resolution) for c in cited} == {
        (None, None, "unresolved")}


def test_the_same_citations_whatever_order_the_documents_come_in(store: DocumentStore, backend_settings: Settings,
                                                                 tmp_path: Path) -> None:
    documents = (SANCTIONS, SUPERVISION, ORGANIC, STREET, TOWNSHIP)
    _ingest(store, backend_settings, tmp_path, *documents)  # one folder, in file-name order
    together = _snapshot(store)
    assert {c[-1] for c in together} >= {"exact_title", "article_in_cited", "article_in_same", "unresolved"}
    for doc_id in documents:
        store.delete(doc_id)
    assert _rows(store) == []
    for doc_id in reversed(documents):  # one at a time, the cited ones first
        _ingest(store, backend_settings, tmp_path, doc_id)
    assert _snapshot(store) == together


def test_a_changed_document_replaces_its_citations_and_what_cites_it_follows(
        store: DocumentStore, backend_settings: Settings, tmp_path: Path) -> None:
    _ingest(store, backend_settings, tmp_path, SANCTIONS, SUPERVISION)
    before = _rows(store, SANCTIONS)
    article_15 = {c.to_passage_id for c in before if c.resolution == "article_in_cited"}
    assert len(article_15) == 1

    # A new version of the law whose 第十五条 reads differently: the passage gets a new id, the references follow.
    folder = _folder(tmp_path, SUPERVISION, name="supervision-v2")
    path = folder / f"{SUPERVISION}.txt"
    text = path.read_text(encoding="utf-8")
    assert "第十五条 监察机关对下列公职人员和有关人员进行监察：" in text
    path.write_text(text.replace("第十五条 监察机关对下列公职人员和有关人员进行监察：",
                                 "第十五条 监察机关依法对下列公职人员和有关人员进行监察："), encoding="utf-8")
    assert ingest_paths([folder], store, backend_settings).outcomes["updated"] == 1
    moved = {c.to_passage_id for c in _rows(store, SANCTIONS) if c.resolution == "article_in_cited"}
    assert len(moved) == 1 and moved != article_15 and _heading_of(store, next(iter(moved))).endswith("第十五条")

    # The citing law changes too: its own citations are replaced, not added to.
    folder = _folder(tmp_path, SANCTIONS, name="sanctions-v2")
    path = folder / f"{SANCTIONS}.txt"
    text = path.read_text(encoding="utf-8")
    assert text.count("《中华人民共和国监察法》第十五条第二项") == 1
    path.write_text(text.replace("《中华人民共和国监察法》第十五条第二项", "监察对象"), encoding="utf-8")
    assert ingest_paths([folder], store, backend_settings).outcomes["updated"] == 1
    after = _rows(store, SANCTIONS)
    assert len(after) == len(before) - 2
    assert len({(c.passage_id, c.start, c.end) for c in after}) == len(after)


def _notice(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_document_numbers_title_variants_and_new_metadata(store: DocumentStore, backend_settings: Settings,
                                                           tmp_path: Path) -> None:
    folder = tmp_path / "notices"
    citing = _notice(folder, "转发通知.txt", "迎泽区委办公室关于做好专项行动学习的通知\n"
                     "各街道党工委：\n根据迎组发[2024]3号和《中华人民共和国监察法》（2018年修正）的有关规定，"
                     "依照《监察法》第十五条，现将有关事项通知如下。\n请认真学习《关于开展党建引领基层治理专项行动的通知》。")
    _ingest(store, backend_settings, tmp_path, SUPERVISION)
    assert ingest_paths([citing], store, backend_settings).ok
    doc_id = "转发通知"
    rows = {c.surface: c for c in _rows(store, doc_id)}
    assert rows["迎组发[2024]3号"].resolution == "unresolved" and rows["迎组发[2024]3号"].target == "迎组发〔2024〕3号"
    assert (rows["《监察法》"].to_document_id, rows["《监察法》"].resolution) == (SUPERVISION, "title_variant")
    assert rows["第十五条"].resolution == "article_in_cited"
    assert rows["《关于开展党建引领基层治理专项行动的通知》"].resolution == "unresolved"

    # The notice it cites arrives, with its 文号 as the command line gives it: both references resolve.
    cited = _notice(folder, "专项行动通知.txt", "关于开展党建引领基层治理专项行动的通知\n各社区党委：\n"
                    "为推动党建引领基层治理，区委组织部决定开展专项行动。现将有关事项通知如下。")
    overrides = DocumentMeta(doc_number="迎组发〔2024〕3号", issuer="中共太原市迎泽区委组织部", level="district")
    assert ingest_paths([cited], store, backend_settings, overrides).ok
    rows = {c.surface: c for c in _rows(store, doc_id)}
    assert (rows["迎组发[2024]3号"].to_document_id, rows["迎组发[2024]3号"].resolution) == ("专项行动通知", "doc_number")
    assert (rows["《关于开展党建引领基层治理专项行动的通知》"].to_document_id,
            rows["《关于开展党建引领基层治理专项行动的通知》"].resolution) == ("专项行动通知", "exact_title")

    # Its metadata changes (another 文号): the number no longer answers, the title still does.
    overrides = DocumentMeta(doc_number="迎组发〔2024〕4号", issuer="中共太原市迎泽区委组织部", level="district")
    assert ingest_paths([cited], store, backend_settings, overrides).outcomes["metadata"] == 1
    rows = {c.surface: c for c in _rows(store, doc_id)}
    assert (rows["迎组发[2024]3号"].to_document_id, rows["迎组发[2024]3号"].resolution) == (None, "unresolved")
    assert rows["《关于开展党建引领基层治理专项行动的通知》"].resolution == "exact_title"


def test_resolution_is_set_based(store: DocumentStore, backend_settings: Settings, tmp_path: Path) -> None:
    """The statements a save runs do not grow with the references it holds."""
    _ingest(store, backend_settings, tmp_path, SUPERVISION)
    folder = tmp_path / "many"

    def statements_to_save(name: str, references: int) -> int:
        lines = [f"第{n}条 依照《中华人民共和国监察法》第{n}条和本法第1条、《某市{n}号条例》的规定处理。"
                 for n in range(1, references + 1)]
        path = _notice(folder, f"{name}.txt", f"关于{name}的规定\n" + "\n".join(lines))
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731 (before_cursor_execute: the statement)
        event.listen(store.engine, "before_cursor_execute", listener)
        try:
            assert ingest_paths([path], store, backend_settings).ok
        finally:
            event.remove(store.engine, "before_cursor_execute", listener)
        assert len(_rows(store, name)) == 4 * references
        return len(seen)

    few, many = statements_to_save("少量引用", 2), statements_to_save("大量引用", 150)
    assert many == few, (few, many)
    assert {c.resolution for c in _rows(store, "大量引用")} == {
        "exact_title", "article_in_cited", "article_in_same", "unresolved"}


def test_a_save_that_fails_leaves_no_citations_behind(store: DocumentStore, backend_settings: Settings,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ingest(store, backend_settings, tmp_path, SANCTIONS)
    waiting = _snapshot(store)
    real = citations_module.refresh

    def refresh_then_fail(session, doc_id, passages):
        real(session, doc_id, passages)  # the references elsewhere are resolved, then the save fails
        raise RuntimeError("killed inside the save")

    monkeypatch.setattr(citations_module, "refresh", refresh_then_fail)
    report = ingest_paths([_folder(tmp_path, SUPERVISION, name="failing")], store, backend_settings)
    assert report.failures and "killed inside the save" in report.failures[0][1]
    monkeypatch.undo()
    with store.sessions() as session:
        assert session.get(Document, SUPERVISION) is None
    assert _snapshot(store) == waiting  # still unresolved: nothing of the failed save stayed


def test_counts_for_the_command_line(store: DocumentStore, backend_settings: Settings, tmp_path: Path) -> None:
    _ingest(store, backend_settings, tmp_path, SANCTIONS, SUPERVISION)
    counts = store.citations.counts()
    assert counts.total == len(_rows(store)) and counts.by_kind["article"] > 0
    assert counts.by_kind_and_resolution[("article", "article_in_cited")] == 3
    assert ("title", "《中华人民共和国公务员法》", 4) in counts.unresolved  # 3 in the sanctions law, 1 in 监察法
    assert counts.lines()[0].startswith(f"references found: {counts.total}")
    before = _snapshot(store)
    assert store.citations.rebuild() == counts.total and _snapshot(store) == before  # the same, from scratch


def test_migration_0010_finds_the_citations_of_stored_documents(tmp_path: Path) -> None:
    """An upgraded library has its citations at once (re-ingesting unchanged files would be a no-op)."""
    engine = store_module.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, "0009")
    documents = sa.table("documents", *(sa.column(name) for name in (
        "id", "title", "level", "language", "dates", "extra", "source_path", "source_format", "source_hash", "text",
        "char_count", "passage_count", "created_at", "updated_at")))
    passages = sa.table("passages", *(sa.column(name) for name in (
        "id", "document_id", "ordinal", "heading_path", "char_start", "char_end", "text")))
    law = "第十五条 监察机关对下列公职人员和有关人员进行监察："
    citing = "本法所称公职人员，是指《中华人民共和国监察法》第十五条规定的人员。"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(documents.insert(), [
            {"id": doc_id, "title": title, "level": "central", "language": "zh", "dates": "{}", "extra": "{}",
             "source_path": f"{doc_id}.txt", "source_format": "txt", "source_hash": "0" * 64, "text": body,
             "char_count": len(body), "passage_count": 1, "created_at": now, "updated_at": now}
            for doc_id, title, body in (("law", "中华人民共和国监察法", law), ("sanctions", "公职人员政务处分法", citing))])
        connection.execute(passages.insert(), [
            {"id": "law.1", "document_id": "law", "ordinal": 0, "heading_path": "第三章 监察范围和管辖 > 第十五条",
             "char_start": 0, "char_end": len(law), "text": law},
            {"id": "sanctions.1", "document_id": "sanctions", "ordinal": 0, "heading_path": "第一章 总则 > 第二条",
             "char_start": 0, "char_end": len(citing), "text": citing}])

    migrate(engine, "0010")
    assert current_revision(engine) == "0010"
    store = DocumentStore(engine)
    found = {(c.surface, c.to_document_id, c.to_passage_id, c.resolution) for c in _rows(store)}
    assert found == {("《中华人民共和国监察法》", "law", None, "exact_title"),
                     ("第十五条", "law", "law.1", "article_in_cited")}

    command.downgrade(_alembic_config(engine), "0009")
    with engine.connect() as connection:
        assert not {"citations", "citation_keys"} & set(sa.inspect(connection).get_table_names())
        assert connection.execute(sa.select(sa.func.count()).select_from(passages)).scalar() == 2
    migrate(engine)
    assert len(_rows(store)) == 2
    engine.dispose()


def test_the_citations_command(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from support import database_env

    home = tmp_path / "home"
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false", **database_env(home)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from study_hub.cli import run; run()", *args],
                              capture_output=True, text=True, timeout=300, env=env)

    folder = _folder(tmp_path, SANCTIONS, SUPERVISION)
    assert cli("ingest", "--no-index", str(folder)).returncode == 0
    shown = cli("citations", "--unresolved", "3")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("references found: ") and "resolved" in lines[0]
    assert any(line.startswith("article") and line.split()[-1].isdigit() for line in lines)
    assert "《中华人民共和国公务员法》" in shown.stdout and len([line for line in lines if "  title  " in line]) == 3
    rebuilt = cli("citations", "--rebuild", "--unresolved", "0")
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("rebuilt: ")
    assert rebuilt.stdout.splitlines()[1] == lines[0] and "most frequent" not in rebuilt.stdout
