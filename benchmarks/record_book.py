"""How long the record book takes for a large branch: one session's record and a quarter's ledger, gathered and
printed to DOCX and PDF.

    python benchmarks/record_book.py [--members 300] [--sessions 8] [--repeat 3] [--database-url URL]

Builds a temporary home (SQLite by default) with two shipped documents, a branch of ``--members`` members, a
reading list, and ``--sessions`` closed sessions in 2026Q4 (the 三会一课 of a quarter), each with every member's
attendance: present, late, excused with a reason, absent (some marked by hand, with the reason in the audit
log), and confirmed make-up study. The rows are written directly (the setup is not what is measured; one
password hash for all). Prints the median of ``--repeat`` runs per step, and the output sizes.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.models import Attendance, AuditEntry, Membership, SessionInvitee, StudySession, User
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.record_book import ledger_docx, ledger_pdf, record_docx, record_pdf
from study_hub.study.records import RecordService
from study_hub.study.sessions import SessionService

REPO = Path(__file__).resolve().parents[1]
DOCS = ("central-reg-property-management-2018", "municipal-reg-qingdao-property-2021")
KINDS = ("branch_meeting", "committee", "committee", "committee", "group_meeting", "group_meeting",
         "group_meeting", "party_lecture")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国红梅志强丽华海燕文军秀英明辉晓东春燕国庆玉兰永刚桂芳"


def build(home: Path, database_url: str, members: int, sessions: int):
    settings = Settings(home=home, database_url=database_url, semantic=False)
    store = open_store(settings)
    docs = home / "docs"
    docs.mkdir(parents=True)
    for name in DOCS:
        shutil.copy(REPO / "corpus" / "docs" / f"{name}.txt", docs)
    shutil.copy(REPO / "corpus" / "catalog.jsonl", home / "catalog.jsonl")
    assert ingest_paths([docs], store, settings).ok
    accounts = AccountService(store)
    accounts.add_unit("迎泽区委", "district_committee")
    branch = accounts.add_unit("第一党支部", "branch", "迎泽区委")
    accounts.add_user("shuji", "王书记", "benchmark-password", "organiser", ["迎泽区委/第一党支部"])
    who = accounts.principal(accounts.get_user("shuji"))
    password_hash = accounts.get_user("shuji").password_hash
    with store.sessions.begin() as session:
        users = [User(login=f"m{n:04d}", display_name=SURNAMES[n % 20] + GIVEN[2 * (n % 17):2 * (n % 17) + 2],
                      password_hash=password_hash, role="member") for n in range(members - 1)]
        session.add_all(users)
        session.flush()
        session.add_all([Membership(user_id=u.id, unit_id=branch.id) for u in users])
        member_ids = [who.id, *(u.id for u in users)]
    lists = ReadingListService(store, accounts)
    reading = lists.create(who, "物业管理专题学习", unit_id=branch.id)
    for name in DOCS:
        lists.add_item(who, reading.id, "document", document_id=name)
    start = datetime(2026, 10, 9, 6, 0, tzinfo=UTC)
    with store.sessions.begin() as session:
        for number in range(sessions):
            begins = start + timedelta(days=10 * number)
            study = StudySession(title=f"第{number + 1}次会议", kind=KINDS[number % len(KINDS)], starts_at=begins,
                                 ends_at=begins + timedelta(hours=2), place="党群服务中心", host_unit_id=branch.id,
                                 reading_list_id=reading.id, agenda="1. 原文领学\n2. 交流发言",
                                 minutes="会议记录。" * 200, created_by=who.id, presider_id=who.id,
                                 recorder_id=member_ids[1], closed_at=begins + timedelta(hours=3))
            session.add(study)
            session.flush()
            session.add(SessionInvitee(session_id=study.id, unit_id=branch.id))
            for index, user_id in enumerate(member_ids):
                status = ("present", "present", "present", "present", "late", "excused", "absent")[index % 7]
                row = Attendance(session_id=study.id, user_id=user_id, status=status, method="code",
                                 checked_in_at=begins + timedelta(minutes=12 if status == "late" else -5)
                                 if status in ("present", "late") else None,
                                 leave_reason="外出培训" if status == "excused" else "")
                if status in ("excused", "absent") and index % 2:
                    row.makeup_reflection, row.makeup_submitted_at = "补学心得。" * 30, begins + timedelta(days=2)
                    row.makeup_confirmed_by, row.makeup_confirmed_at = who.id, begins + timedelta(days=3)
                session.add(row)
                if status == "absent":
                    session.add(AuditEntry(action="attendance_marked", actor_id=who.id,
                                           subject=f"session:{study.id}", at=begins,
                                           detail={"user": f"m{index - 1:04d}", "status": "absent",
                                                   "reason": "联系未到"}))
    sessions_service = SessionService(store, accounts, clock=lambda: datetime(2026, 12, 31, tzinfo=UTC))
    return RecordService(store, accounts, sessions_service, settings.session_norms), who, branch.id, store


def timed(step, repeat: int) -> tuple[float, object]:
    seconds = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = step()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of the temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        records, who, unit_id, store = build(Path(folder) / "home", args.database_url, args.members, args.sessions)
        print(f"python {platform.python_version()}, {platform.machine()}, {store.engine.dialect.name}; "
              f"setup {time.perf_counter() - began:.1f} s: {args.members} members, {args.sessions} sessions")
        first = records.ledger(who, unit_id, "2026Q4").sessions[0].id
        steps = [
            ("session record: gather", lambda: records.session_record(who, first, "http://127.0.0.1:8000")),
        ]
        seconds, record = timed(steps[0][1], args.repeat)
        print(f"{steps[0][0]:<32} {seconds * 1000:8.0f} ms")
        for name, render in (("session record: docx", record_docx), ("session record: pdf", record_pdf)):
            seconds, data = timed(lambda render=render: render(record), args.repeat)
            print(f"{name:<32} {seconds * 1000:8.0f} ms  {len(data) / 1024:7.0f} KiB")
        seconds, ledger = timed(lambda: records.ledger(who, unit_id, "2026Q4", "http://127.0.0.1:8000"), args.repeat)
        print(f"{'ledger 2026Q4: gather':<32} {seconds * 1000:8.0f} ms")
        for name, render in (("ledger 2026Q4: docx", ledger_docx), ("ledger 2026Q4: pdf", ledger_pdf)):
            seconds, data = timed(lambda render=render: render(ledger), args.repeat)
            print(f"{name:<32} {seconds * 1000:8.0f} ms  {len(data) / 1024:7.0f} KiB")
        store.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
