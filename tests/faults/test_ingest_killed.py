"""kill -9 an ingest at random moments: the store stays consistent and the next run completes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.sqlite_only  # the ingest runs in another process, on the home's SQLite file


def test_killed_ingest_leaves_whole_documents_and_the_next_run_completes(tmp_path, shared_corpus) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "false"}
    command = [sys.executable, "-c", "from study_hub.cli import run; run()", "ingest", str(shared_corpus / "docs")]
    rng = random.Random(7)
    for _ in range(3):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(rng.uniform(1.0, 4.0))  # python start-up takes ~1 s; ingest of everything ~2 s more
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        if (home / "study_hub.sqlite3").exists():
            database = sqlite3.connect(home / "study_hub.sqlite3")
            assert database.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            torn = database.execute(
                "SELECT d.id FROM documents d LEFT JOIN passages p ON p.document_id = d.id "
                "GROUP BY d.id HAVING COUNT(p.id) != d.passage_count").fetchall()
            database.close()
            assert torn == []  # every stored document has exactly its passages
    finished = subprocess.run([*command, "--no-index"], env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    database = sqlite3.connect(home / "study_hub.sqlite3")
    documents = database.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    database.close()
    assert documents == len(list((shared_corpus / "docs").iterdir()))
