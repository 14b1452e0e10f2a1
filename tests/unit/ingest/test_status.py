"""A document's validity (时效性): the names people write, where it is read from, and how layers combine."""

from __future__ import annotations

from pathlib import Path

import pytest

from study_hub.domain import CURRENT_STATUSES, STATUSES, DocumentMeta, status_of
from study_hub.ingest.catalog import record_to_meta
from study_hub.ingest.readers import read_file

LIMITS = {"max_bytes": 2**20, "max_unpacked_bytes": 2**22}


@pytest.mark.parametrize(("written", "status"), [
    ("现行有效", "current"), ("current", "current"), ("Current", "current"), ("已修订", "amended"),
    ("已修正", "amended"), ("amended", "amended"), ("已废止", "repealed"), ("失效", "repealed"),
    ("尚未生效", "not_yet_effective"), ("not-yet-effective", "not_yet_effective"),
    ("Not yet effective", "not_yet_effective"), ("unknown", "unknown"), (" 已废止 ", "repealed"),
])
def test_the_names_people_write_for_a_status(written: str, status: str) -> None:
    assert status_of(written) == status
    assert DocumentMeta(status=written).status == status


def test_an_empty_status_says_nothing_and_a_wrong_one_is_named() -> None:
    assert status_of("") is None and status_of(None) is None and DocumentMeta(status="  ").status is None
    problems = DocumentMeta(status="作废了吧", status_date="2021-13").problems()
    assert any("status '作废了吧' is not one of" in p for p in problems)
    assert DocumentMeta(status="current", status_date="2021年").problems() == [
        "status_date '2021年' is not YYYY, YYYY-MM or YYYY-MM-DD"]
    assert DocumentMeta(status_date="2021-01-01").problems() == [
        "status_date needs a status: say which status the document took on that date"]
    assert set(CURRENT_STATUSES) < set(STATUSES) and "amended" not in CURRENT_STATUSES


def test_a_status_and_its_date_travel_together_when_layers_merge() -> None:
    catalog = DocumentMeta(status="amended", status_date="2022-10")
    assert catalog.merged(DocumentMeta(title="x")).status_date == "2022-10"  # a layer silent on status keeps both
    newer = catalog.merged(DocumentMeta(status="current"))
    assert (newer.status, newer.status_date) == ("current", None)  # a new status never keeps the old date


def test_catalog_records_and_front_matter_carry_the_status(tmp_path: Path) -> None:
    meta = record_to_meta({"id": "x", "status": "已废止", "status_date": "2021-01-01", "status_basis": "text"})
    assert (meta.status, meta.status_date, meta.extra) == ("repealed", "2021-01-01", {"status_basis": "text"})
    page = tmp_path / "规定.md"
    page.write_text("---\n时效性: 已修订\nstatus_date: 2021-01-01\n---\n# 某某规定\n\n第一条 正文。\n", encoding="utf-8")
    raw = read_file(page, **LIMITS)
    assert (raw.meta.status, raw.meta.status_date) == ("amended", "2021-01-01")  # a YAML date read as written


def test_dates_must_name_a_real_month_and_day() -> None:
    """Fails before: 2024-13-45 and 2023-02-29 were taken (the form only was checked)."""
    for wrong in ("2024-13-45", "2023-02-29", "2024-00", "2024-06-31"):
        assert DocumentMeta(status="current", status_date=wrong).problems() == [
            f"status_date '{wrong}' is not YYYY, YYYY-MM or YYYY-MM-DD"], wrong
        assert DocumentMeta(date=wrong).problems(), wrong
    for right in ("2024", "2024-12", "2024-02-29", "1949-10-01"):
        assert DocumentMeta(status="current", status_date=right, date=right).problems() == [], right
