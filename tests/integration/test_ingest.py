"""The ingest pipeline end to end, on SQLite and on the PostgreSQL server, with real documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.pipeline import ingest_paths
from study_hub.store import DocumentStore
from study_hub.store.models import Document, PassageRow

SAMPLE = [
    "central-doc-2021-grassroots-governance-opinions",
    "central-law-urban-residents-committee-2018",
    "provincial-reg-beijing-street-office-2019",
    "district-news-yingze-special-action-scheduling-meeting",
]


@pytest.fixture
def sample_corpus(tmp_path: Path) -> Path:
    """A few shipped documents with their catalog, copied so tests may edit them."""
    folder = tmp_path / "corpus"
    (folder / "docs").mkdir(parents=True)
    catalog = (Path(__file__).resolve().parents[2] / "corpus" / "catalog.jsonl").read_text(encoding="utf-8")
    lines = [line for line in catalog.splitlines() if any(f'"id": "{doc}"' in line for doc in SAMPLE)]
    (folder / "catalog.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for doc in SAMPLE:
        shutil.copy(Path(__file__).resolve().parents[2] / "corpus" / "docs" / f"{doc}.txt", folder / "docs")
    return folder


def test_ingest_uses_the_catalog_and_stores_exact_passages(store: DocumentStore, backend_settings: Settings,
                                                           sample_corpus: Path) -> None:
    report = ingest_paths([sample_corpus], store, backend_settings)
    assert report.ok, report.failures
    assert report.outcomes["added"] == 4
    document = store.get_document("central-doc-2021-grassroots-governance-opinions")
    assert document.title == "中共中央 国务院关于加强基层治理体系和治理能力现代化建设的意见"
    assert (document.level, document.kind, document.date) == ("central", "document", "2021-04-28")
    assert document.extra["source"]["repo"]  # catalog fields beyond the core ones are kept
    assert document.encoding == "utf-8"
    for passage in document.passages:
        assert document.text[passage.char_start:passage.char_end] == passage.text
    paths = [p.heading_path.split(" > ") for p in document.passages if p.heading_path]
    assert (len({path[0] for path in paths}), len({tuple(path) for path in paths})) == (7, 27)
    assert store.get_document("district-news-yingze-special-action-scheduling-meeting").language == "en"


def test_reingest_is_idempotent_and_keeps_ids(store: DocumentStore, backend_settings: Settings,
                                              sample_corpus: Path) -> None:
    ingest_paths([sample_corpus], store, backend_settings)
    before = {p.id: p.ordinal for p in store.get_document(SAMPLE[0]).passages}
    again = ingest_paths([sample_corpus], store, backend_settings)
    assert again.outcomes["unchanged"] == 4 and again.outcomes["added"] == again.outcomes["updated"] == 0

    path = sample_corpus / "docs" / f"{SAMPLE[0]}.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("每年组织开展综合应急演练。", "每年至少组织开展两次综合应急演练。"), encoding="utf-8")
    changed = ingest_paths([sample_corpus], store, backend_settings)
    assert changed.outcomes["updated"] == 1 and changed.outcomes["unchanged"] == 3
    after = {p.id: p for p in store.get_document(SAMPLE[0]).passages}
    assert len(set(before) - set(after)) == 1  # only the edited passage got a new id
    assert set(after) - set(before) == {next(i for i, p in after.items() if "两次综合应急演练" in p.text)}
    assert store.counts()[1] == sum(len(store.get_document(d).passages) for d in SAMPLE)


def test_metadata_only_change(store: DocumentStore, backend_settings: Settings, sample_corpus: Path) -> None:
    ingest_paths([sample_corpus], store, backend_settings)
    report = ingest_paths([sample_corpus / "docs" / f"{SAMPLE[1]}.txt"], store, backend_settings,
                          DocumentMeta(issuer="全国人大常委会"))
    assert report.outcomes["metadata"] == 1
    assert store.get_document(SAMPLE[1]).issuer == "全国人大常委会"


def test_failures_are_reported_and_the_rest_ingests(store: DocumentStore, backend_settings: Settings,
                                                    sample_corpus: Path) -> None:
    (sample_corpus / "docs" / "empty.txt").write_bytes(b"")
    (sample_corpus / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 not a pdf at all")
    (sample_corpus / "docs" / "broken.docx").write_bytes(b"not a zip")
    report = ingest_paths([sample_corpus], store, backend_settings)
    assert report.documents == 4
    reasons = {Path(path).name: reason for path, reason in report.failures}
    assert reasons.keys() == {"empty.txt", "broken.pdf", "broken.docx"}
    assert reasons["empty.txt"] == "file is empty"
    assert "corrupt docx" in reasons["broken.docx"]
    with store.sessions() as session:  # nothing half-written: every document has all its passages
        for document in session.scalars(select(Document)):
            count = session.scalar(select(func.count()).where(PassageRow.document_id == document.id))
            assert count == document.passage_count > 0


def test_files_without_catalog_get_parsed_metadata_and_readable_ids(
    store: DocumentStore, backend_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "迎泽区 实施方案 (2023).txt").write_bytes("\n".join([
        "中共太原市迎泽区委关于推进党建引领基层治理的实施方案",
        "迎发〔2023〕8号",
        "一、总体要求",
        "（一）指导思想。坚持党建引领，推进网格化管理，完善接诉即办机制，提升基层治理能力。",
        "中共太原市迎泽区委",
        "2023年5月20日",
    ]).encode("gb18030"))
    report = ingest_paths([folder], store, backend_settings, DocumentMeta(kind="document"))
    assert report.ok, report.failures
    document = store.get_document("迎泽区-实施方案-2023")
    assert (document.doc_number, document.date, document.level, document.encoding) == (
        "迎发〔2023〕8号", "2023-05-20", "district", "gb18030")


def test_same_file_name_in_two_folders_gets_two_ids(store: DocumentStore, backend_settings: Settings,
                                                    tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notice.txt").write_text(f"通知{name}\n这是一份来自{name}单位的通知，请各单位认真学习贯彻落实。",
                                                   encoding="utf-8")
    report = ingest_paths([tmp_path / "a", tmp_path / "b"], store, backend_settings)
    assert report.ok and report.outcomes["added"] == 2
    ids = [d.id for d in store.list_documents()]
    assert "notice" in ids and len(ids) == 2


def test_invalid_override_is_a_failure_not_a_crash(store: DocumentStore, backend_settings: Settings,
                                                   sample_corpus: Path) -> None:
    report = ingest_paths([sample_corpus / "docs" / f"{SAMPLE[1]}.txt"], store, backend_settings,
                          DocumentMeta(date="28 April 2021"))
    assert not report.ok and "is not YYYY" in report.failures[0][1]
    assert store.counts() == (0, 0)


def test_a_document_without_a_title_line_is_named_by_its_opening_words(
    store: DocumentStore, backend_settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "untitled"
    folder.mkdir()
    (folder / "catalog.jsonl").write_text('{"id": "untitled-1", "title": ""}\n', encoding="utf-8")
    opening = "郭麐字群伯，号频伽，因右眉全白，又号白眉生，江苏吴江人。清代诗论家、诗人。" * 3
    (folder / "untitled-1.txt").write_text(opening, encoding="utf-8")
    report = ingest_paths([folder], store, backend_settings)
    assert report.ok, report.failures
    document = store.get_document("untitled-1")
    assert document.title == opening[:30] + "…"
    assert document.passages[0].text.startswith("郭麐字群伯")  # the opening line stays text, not a title
