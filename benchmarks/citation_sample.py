"""Draw the sample of citations that a person checks by hand (tests/data/citation_sample.jsonl).

    python benchmarks/citation_sample.py [CORPUS_FOLDER] [--size 50] [--seed 19] > sample.jsonl

Ingests the corpus (default ../shared/corpus/docs) into a temporary home and draws ``size`` references by a fixed
seed: the same share of each kind as the corpus holds, and within a kind spread over the documents (round by round,
one reference per document and round, in the seeded order), so a document with a hundred references cannot fill the
sample. Each line carries what the code resolved and the passage texts a person needs to judge it; ``label`` and
``reason`` are left for that person (correct / incorrect and why). tests/integration/test_citation_sample.py
recomputes the resolutions and checks them against the labels.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from study_hub.config import Settings
from study_hub.pipeline import ingest_paths
from study_hub.store import open_store
from study_hub.store.models import Citation, PassageRow

REPO = Path(__file__).resolve().parents[1]


def spread(references: list, size: int, rng: random.Random) -> list:
    """``size`` of ``references`` in seeded order, one per document per round."""
    order = references[:]
    rng.shuffle(order)
    by_document: dict[str, list] = defaultdict(list)
    for reference in order:
        by_document[reference.document_id].append(reference)
    chosen: list = []
    while len(chosen) < size and any(by_document.values()):
        for reference in order:  # a round: the first remaining of each document, in the seeded order
            queue = by_document[reference.document_id]
            if queue and queue[0] is reference:
                chosen.append(queue.pop(0))
                if len(chosen) == size:
                    break
    return chosen


def draw(store, size: int, seed: int) -> list[dict]:
    with store.sessions() as session:
        citations = list(session.scalars(select(Citation).order_by(Citation.document_id, Citation.passage_id,
                                                                   Citation.start)))
        texts = dict(session.execute(select(PassageRow.id, PassageRow.text)).all())
        headings = dict(session.execute(select(PassageRow.id, PassageRow.heading_path)).all())
        session.expunge_all()
    rng = random.Random(seed)
    by_kind: dict[str, list] = defaultdict(list)
    for citation in citations:
        by_kind[citation.kind].append(citation)
    quotas = {kind: round(size * len(found) / len(citations)) for kind, found in sorted(by_kind.items())}
    quotas[max(quotas, key=quotas.get)] += size - sum(quotas.values())
    sample = [c for kind, found in sorted(by_kind.items()) for c in spread(found, quotas[kind], rng)]
    return [{"passage_id": c.passage_id, "start": c.start, "end": c.end, "surface": c.surface, "kind": c.kind,
             "resolution": c.resolution, "to_document_id": c.to_document_id, "to_passage_id": c.to_passage_id,
             "context": texts[c.passage_id][max(0, c.start - 30):c.end + 30],
             "cited_heading": headings.get(c.to_passage_id) if c.to_passage_id else None,
             "cited_text": texts[c.to_passage_id][:80] if c.to_passage_id else None,
             "label": "", "reason": ""} for c in sample]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=REPO.parent / "shared" / "corpus" / "docs")
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        store = open_store(settings)
        assert ingest_paths([args.corpus], store, settings).ok
        for line in draw(store, args.size, args.seed):
            print(json.dumps(line, ensure_ascii=False))
        store.engine.dispose()


if __name__ == "__main__":
    main()
