"""The issuing body and the speaker are two fields; an issuer that folds a speaker in is split."""

from __future__ import annotations

from pathlib import Path

import pytest

from study_hub.domain import DocumentMeta, fold_issuer, split_issuer
from study_hub.ingest.catalog import record_to_meta
from study_hub.ingest.readers import read_file

LIMITS = {"max_bytes": 2**20, "max_unpacked_bytes": 2**22}


@pytest.mark.parametrize(("issuer", "body", "speaker"), [
    ("国务院（总理李强）", "国务院", "总理李强"),
    ("国务院(总理李克强)", "国务院", "总理李克强"),
    ("国务院 （国务院总理李强）", "国务院", "国务院总理李强"),
    ("中共中央（习近平）", "中共中央", "习近平"),
    ("中共中央（习近平同志）", "中共中央", "习近平同志"),
    ("中共中央（胡锦涛代表第16届中央委员会）", "中共中央", "胡锦涛代表第16届中央委员会"),
    ("State Council (Premier Li Qiang)", "State Council", "Premier Li Qiang"),
])
def test_a_bracketed_person_is_the_speaker(issuer: str, body: str, speaker: str) -> None:
    assert split_issuer(issuer) == (body, speaker)
    assert split_issuer(fold_issuer(body, speaker)) == (body, speaker)


@pytest.mark.parametrize("issuer", [
    "国务院", "中共中央 国务院", "中共中央办公厅 国务院办公厅",
    "全国人民代表大会（批准）",  # how it acted
    "中共中央办公厅（2021年）", "中共中央（二〇二一年）",  # a year
    "某某委员会（筹）", "某市人民政府（试行）", "条例（草案）",  # the text's or the organ's state
    "国家发展改革委（原国家计委）", "民政部（国务院）",  # another organ
    "国务院（副主任）",  # a title without a name
    "National People's Congress (NPC)", "Yingze District Committee (2021)",
    "（总理李强）",  # no body before the bracket
    "国务院（总理李强）办公室",  # the bracket is not at the end
])
def test_other_brackets_stay_in_the_issuer(issuer: str) -> None:
    assert split_issuer(issuer) == (issuer, None)


def test_document_meta_splits_a_folded_issuer_and_an_explicit_speaker_wins() -> None:
    assert (DocumentMeta(issuer="国务院（总理李强）").issuer, DocumentMeta(issuer="国务院（总理李强）").speaker) == (
        "国务院", "总理李强")
    explicit = DocumentMeta(issuer="国务院（总理李强）", speaker="李强")
    assert (explicit.issuer, explicit.speaker) == ("国务院", "李强")
    layered = DocumentMeta(issuer="国务院", speaker="总理李克强").merged(DocumentMeta(issuer="国务院（总理李强）"))
    assert (layered.issuer, layered.speaker) == ("国务院", "总理李强")
    kept = DocumentMeta(issuer="中共中央", speaker="习近平").merged(DocumentMeta(issuer="中共中央"))
    assert kept.speaker == "习近平"  # a later layer without a speaker keeps the earlier one


def test_catalog_records_old_and_new() -> None:
    old = record_to_meta({"id": "gwr-2024", "issuer": "国务院（总理李强）", "notes": None})
    new = record_to_meta({"id": "gwr-2024", "issuer": "国务院", "speaker": "总理李强", "notes": None})
    assert (old.issuer, old.speaker) == (new.issuer, new.speaker) == ("国务院", "总理李强")
    assert "speaker" not in new.extra
    note = record_to_meta({"id": "outline", "issuer": "全国人民代表大会（批准）"})
    assert (note.issuer, note.speaker) == ("全国人民代表大会（批准）", None)


@pytest.mark.parametrize(("front_matter", "issuer", "speaker"), [
    ("issuer: 国务院\nspeaker: 总理李强", "国务院", "总理李强"),
    ("发文机关: 中共中央\n讲话人: 习近平", "中共中央", "习近平"),
    ("speaker: 习近平", None, "习近平"),  # no longer an alias of issuer
    ("issuer: 国务院（总理李强）", "国务院", "总理李强"),
    ("issuer: 国务院", "国务院", None),
])
def test_front_matter_speaker(tmp_path: Path, front_matter: str, issuer: str | None, speaker: str | None) -> None:
    path = tmp_path / "report.md"
    path.write_text(f"---\n{front_matter}\n---\n# 政府工作报告\n\n各位代表：现在，我代表国务院，向大会报告政府工作。\n",
                    encoding="utf-8")
    meta = read_file(path, **LIMITS).meta
    assert (meta.issuer, meta.speaker) == (issuer, speaker)
