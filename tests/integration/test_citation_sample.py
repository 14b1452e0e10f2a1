"""The precision of citation resolution on the shared corpus, against 50 references checked by hand.

tests/data/citation_sample.jsonl was drawn by `python benchmarks/citation_sample.py` (seed 19: each kind in its
share of the corpus, spread over the documents) and every line labelled by reading the citing passage and what the
code resolved it to. This test ingests the corpus again and requires (1) that the code still gives each of them
the answer that was checked (else someone must check the new answer and relabel), and (2) precision >= 0.95:
the resolved references labelled correct, over the resolved references.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.models import Citation

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "citation_sample.jsonl"
FLOOR = 0.95


def test_resolution_precision_on_the_hand_checked_sample(shared_corpus: Path, settings: Settings) -> None:
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(sample) == 50 and {row["label"] for row in sample} <= {"correct", "incorrect"}
    assert all(row["reason"] for row in sample), "every label says why"

    store = open_store(settings)
    assert ingest_paths([shared_corpus / "docs"], store, settings).ok
    with store.sessions() as session:
        stored = {(c.passage_id, c.start, c.end): (c.surface, c.kind, c.resolution, c.to_document_id, c.to_passage_id)
                  for c in session.scalars(select(Citation))}
    store.engine.dispose()

    changed = []
    for row in sample:
        checked = (row["surface"], row["kind"], row["resolution"], row["to_document_id"], row["to_passage_id"])
        now = stored.get((row["passage_id"], row["start"], row["end"]))
        if now != checked:
            changed.append(f"{row['passage_id']} [{row['start']}:{row['end']}] {row['surface']}: checked {checked}, "
                           f"now {now}")
    assert not changed, "the code answers these differently from what was checked by hand; check the new answers " \
                        "and relabel tests/data/citation_sample.jsonl:\n" + "\n".join(changed)

    resolved = [row for row in sample if row["resolution"] != "unresolved"]
    correct = [row for row in resolved if row["label"] == "correct"]
    assert len(resolved) >= 20, "too few resolved references in the sample to measure precision"
    precision = len(correct) / len(resolved)
    assert precision >= FLOOR, f"precision {precision:.2f} ({len(correct)}/{len(resolved)}) under {FLOOR}"
