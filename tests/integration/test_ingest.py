"""The ingest pipeline end to end, on SQLite and on the PostgreSQL server, with real documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from study_hub.config import Settings
from study_hub.domain import DocumentMeta
from study_hub.pipeline import ingest_paths
from study_hub.store import DocumentFilter, DocumentStore
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


def test_issuing_body_and_speaker_are_two_fields_and_the_issuer_filter_finds_either(
    store: DocumentStore, backend_settings: Settings, sample_corpus: Path, tmp_path: Path
) -> None:
    # An older catalog folds the speaker into the issuer; the new one has the two fields; a bracket that names no
    # person stays in the issuer; front matter and the command line give a speaker of their own.
    docs = sample_corpus / "docs"
    records = [
        {"id": SAMPLE[0], "file": f"docs/{SAMPLE[0]}.txt", "issuer": "国务院（总理李强）", "title": "报告一"},
        {"id": SAMPLE[1], "file": f"docs/{SAMPLE[1]}.txt", "issuer": "国务院", "speaker": "总理李克强", "title": "报告二"},
        {"id": SAMPLE[2], "file": f"docs/{SAMPLE[2]}.txt", "issuer": "全国人民代表大会（批准）", "title": "纲要"},
        {"id": SAMPLE[3], "file": f"docs/{SAMPLE[3]}.txt", "issuer": "国务院", "title": "条例"},
    ]
    (sample_corpus / "catalog.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n",
                                                 encoding="utf-8")
    (docs / "speech.md").write_text("---\nid: speech\nissuer: 中共中央\nspeaker: 习近平\nkind: speech\n---\n"
                                    "# 在庆祝大会上的讲话\n\n同志们，朋友们：今天，我们在这里隆重集会，共同庆祝。\n", encoding="utf-8")
    report = ingest_paths([sample_corpus], store, backend_settings)
    assert report.ok, report.failures
    stored = {d.id: (d.issuer, d.speaker) for d in store.list_documents()}
    assert stored == {SAMPLE[0]: ("国务院", "总理李强"), SAMPLE[1]: ("国务院", "总理李克强"),
                      SAMPLE[2]: ("全国人民代表大会（批准）", None), SAMPLE[3]: ("国务院", None),
                      "speech": ("中共中央", "习近平")}
    assert ingest_paths([sample_corpus], store, backend_settings).outcomes["unchanged"] == 5  # the split is stable

    def listed(issuer: str) -> set[str]:
        return {d.id for d in store.list_documents(DocumentFilter(issuer=issuer))}

    assert listed("国务院") == store.document_ids_where(issuer="国务院") == {SAMPLE[0], SAMPLE[1], SAMPLE[3]}
    assert listed("李强") == store.document_ids_where(issuer="李强") == {SAMPLE[0]}  # 讲话人:李强
    assert listed("总理") == {SAMPLE[0], SAMPLE[1]}
    assert listed("习近平") == {"speech"}
    assert listed("国务院（总理李强）") == store.document_ids_where(issuer="国务院(总理李强)") == {SAMPLE[0]}  # old links
    assert listed("国务院（总理李克强）") == {SAMPLE[1]}
    assert listed("批准") == {SAMPLE[2]}
    assert store.document_ids_where(issuer="100%") == set()  # % and _ are text in both columns

    outcome = ingest_paths([docs / f"{SAMPLE[3]}.txt"], store, backend_settings, DocumentMeta(speaker="总理温家宝"))
    assert outcome.outcomes["metadata"] == 1
    assert (store.get_document(SAMPLE[3]).issuer, store.get_document(SAMPLE[3]).speaker) == ("国务院", "总理温家宝")
