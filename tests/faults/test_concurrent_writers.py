"""SQLite under several writing processes: nobody sees "database is locked"."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store

pytestmark = pytest.mark.sqlite_only  # about SQLite itself: its locking with several writing processes on one file
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "docs"
WRITER = """
import sys
from pathlib import Path
from study_hub.accounts import AccountService
from study_hub.config import Settings
from study_hub.store import open_store
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService

store = open_store(Settings(home=Path(sys.argv[1]), semantic=False))
accounts = AccountService(store)
who = accounts.principal(accounts.get_user(sys.argv[2]))
notes, lists = NoteService(store, accounts), ReadingListService(store, accounts)
passages = [p.id for p in store.get_document("central-reg-property-management-2018").passages]
items = lists.get(who, int(sys.argv[3])).items
for round in range(40):
    # read-then-write transactions, the kind that collide: a note, then a studied mark
    notes.create(who, passages[round % len(passages)], 0, 2, body=f"{sys.argv[2]} {round}", tags=["并发"])
    lists.mark(who, items[round % len(items)].id, studied=round % 2 == 0)
print("done")
"""


def test_several_processes_write_at_once(tmp_path) -> None:
    settings = Settings(home=tmp_path / "home", semantic=False)
    store = open_store(settings)
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(CORPUS / "central-reg-property-management-2018.txt", docs)
    assert ingest_paths([docs], store, settings).ok
    accounts = AccountService(store)
    accounts.add_unit("并发测试", "branch")
    accounts.add_user("org", "组织员", "a-long-password", "organiser", ["并发测试"])
    organiser = accounts.principal(accounts.get_user("org"))
    from study_hub.study.reading_lists import ReadingListService

    lists = ReadingListService(store, accounts)
    reading = lists.create(organiser, "并发清单")
    for number in range(3):
        lists.add_item(organiser, reading.id, "search", query=f"物业 {number}")
    logins = [f"w{n}" for n in range(4)]
    for login in logins:
        accounts.add_user(login, login, "a-long-password", "member", ["并发测试"])
    lists.assign(organiser, reading.id, [organiser.units[0][0]])

    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(settings.home), login, str(reading.id)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for login in logins]
    results = [w.communicate(timeout=300) for w in writers]
    for (out, err), writer in zip(results, writers, strict=True):
        assert writer.returncode == 0 and out.strip() == "done", err[-2000:]
        assert "locked" not in err
    from study_hub.study.notes import NoteService

    notes = NoteService(store, accounts)
    for login in logins:
        who = accounts.principal(accounts.get_user(login))
        assert len(notes.list(who, mine_only=True, limit=1000)) == 40
