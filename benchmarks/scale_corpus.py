"""Generate a large corpus for the scale benchmark by recombining a real corpus's sentences (seeded).

    python benchmarks/scale_corpus.py --source HOME --passages 1000000 --out DIR [--seed 7]

HOME is a study_hub home whose current generation has vectors (``benchmarks/eval_retrieval.py`` leaves one
for the shared corpus in ~/.cache/study_hub/eval/policy). Each new document takes the metadata of a real one
(level, kind, issuer, language) under a new id, title and date; each of its passages strings together one to
four consecutive sentences of a real passage, sometimes running on into the next passage of the same
document, with that passage's heading path. Passage lengths therefore follow the real corpus's.

Vectors are made, not encoded (encoding a million passages takes hours on two cores): a new passage's vector
is the length-weighted mean of the vectors of the real passages its sentences come from, plus a little noise,
normalised; a window's (``passage_windows``) likewise over the sentences it holds. So the new vectors keep
the real corpus's clusters and neighbourhoods, which is what approximate search is sensitive to, and a real
question's embedding finds the passages made of the sentences that answer it.

Writes DIR/records.jsonl (one IndexRecord per line, in document order) and the generation vector files
``vectors.npy`` (float16) and ``vectors.json`` exactly as ``study_hub.index.semantic.write_vectors`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import time
from pathlib import Path

import numpy as np

from study_hub.config import Settings
from study_hub.domain import IndexRecord
from study_hub.index.generations import current_generation
from study_hub.index.semantic import ROWS, VECTORS, passage_windows, write_vectors
from study_hub.store import open_store

SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]*")
NOISE = 0.01  # per dimension: a made vector's cosine to its noiseless mean is about 0.98
PASSAGES_PER_DOCUMENT = (20, 160)


@dataclasses.dataclass
class Source:
    records: list[IndexRecord]  # real passages with a vector, in store order
    vectors: np.ndarray  # float32 [passages, dimension], each record's own vector
    sentences: list[list[str]]  # per record


def load_source(home: Path) -> Source:
    settings = Settings(home=home)
    folder = current_generation(settings.indexes_dir)
    if folder is None or not (folder / VECTORS).is_file():
        raise SystemExit(f"{home} has no generation with vectors: run benchmarks/eval_retrieval.py first")
    rows = json.loads((folder / ROWS).read_text(encoding="utf-8"))
    row_of = {pid: row for row, pid in enumerate(rows["passage_id"])}
    matrix = np.load(folder / VECTORS)
    records, kept = [], []
    for record in open_store(settings).iter_index_records():
        row = row_of.get(record.passage_id)
        if row is not None and record.text.strip():
            records.append(record)
            kept.append(row)
    vectors = matrix[np.array(kept)].astype(np.float32)
    return Source(records, vectors, [SENTENCE.findall(r.text) or [r.text] for r in records])


def generate(source: Source, passages: int, seed: int) -> tuple[list[IndexRecord], list[list[tuple[int, int]]]]:
    """New records and, per record, the (source passage, characters) its text is made of, in order."""
    chance = random.Random(seed)
    by_document: dict[str, list[int]] = {}
    for index, record in enumerate(source.records):
        by_document.setdefault(record.doc_id, []).append(index)
    documents = list(by_document)
    records: list[IndexRecord] = []
    makeup: list[list[tuple[int, int]]] = []
    number = 0
    while len(records) < passages:
        model = source.records[by_document[chance.choice(documents)][0]]
        number += 1
        year = chance.randint(1990, 2026)
        date = f"{year}-{chance.randint(1, 12):02d}-{chance.randint(1, 28):02d}"
        doc_id = f"scale-{number:07d}"
        title = f"{model.title}（{year}年第{chance.randint(1, 40)}次修订）"
        members = by_document[chance.choice(documents)]  # the passages a document's text is drawn from
        for _ in range(min(chance.randint(*PASSAGES_PER_DOCUMENT), passages - len(records))):
            at = chance.randrange(len(members))
            seed_index = members[at]
            sentences = source.sentences[seed_index]
            start = chance.randrange(len(sentences))
            parts = [(seed_index, s) for s in sentences[start:start + chance.randint(1, 4)]]
            if chance.random() < 0.3 and at + 1 < len(members):  # runs on into the next passage
                following = members[at + 1]
                parts += [(following, s) for s in source.sentences[following][:chance.randint(1, 2)]]
            text = "".join(s for _, s in parts)
            heading = source.records[seed_index].heading
            records.append(IndexRecord(
                passage_id=f"{doc_id}:{len(records):08d}", doc_id=doc_id, title=title, heading=heading, text=text,
                level=model.level, kind=model.kind, issuer=model.issuer, date=date,
                doc_number=None, language=model.language))
            makeup.append([(index, len(s)) for index, s in parts])
    return records, makeup


def _made(source: Source, parts: list[tuple[int, int]], chance: np.random.Generator) -> np.ndarray:
    vector = sum(source.vectors[index] * length for index, length in parts)
    vector = vector / np.linalg.norm(vector) + chance.normal(0, NOISE, source.vectors.shape[1])
    return vector / np.linalg.norm(vector)


def make_vectors(source: Source, records: list[IndexRecord], makeup: list[list[tuple[int, int]]],
                 seed: int) -> tuple[np.ndarray, list[int]]:
    """Passage rows then window rows, as ``build_vectors`` lays them out, and each window's passage row."""
    chance = np.random.default_rng(seed)
    own = np.zeros((len(records), source.vectors.shape[1]), dtype=np.float16)
    windows: list[np.ndarray] = []
    window_of: list[int] = []
    for row, (record, parts) in enumerate(zip(records, makeup, strict=True)):
        own[row] = _made(source, parts, chance)
        cursor = 0
        bounds = []  # (start, end, source) per sentence of the text
        for index, length in parts:
            bounds.append((cursor, cursor + length, index))
            cursor += length
        offset = 0
        for window in passage_windows(record.text):
            start = record.text.find(window, offset)
            end = start + len(window)
            offset = end
            inside = [(index, min(end, e) - max(start, s)) for s, e, index in bounds if s < end and e > start]
            windows.append(_made(source, inside or parts, chance).astype(np.float16))
            window_of.append(row)
    matrix = np.concatenate([own, np.array(windows, dtype=np.float16).reshape(-1, own.shape[1])])
    return matrix, window_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=Path.home() / ".cache" / "study_hub" / "eval" / "policy")
    parser.add_argument("--passages", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    source = load_source(args.source)
    records, makeup = generate(source, args.passages, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "records.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(dataclasses.asdict(record), ensure_ascii=False) + "\n")
    matrix, window_of = make_vectors(source, records, makeup, args.seed)
    write_vectors(args.out, records, window_of, matrix, approximate_from=None)  # scale.py builds and times it
    print(f"{len(records):,} passages in {len({r.doc_id for r in records}):,} documents from "
          f"{len(source.records):,} real passages; {len(window_of):,} window rows; "
          f"{time.perf_counter() - started:.0f} s -> {args.out}")


def read_records(folder: Path, limit: int | None = None) -> list[IndexRecord]:
    records = []
    with (folder / "records.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            records.append(IndexRecord(**json.loads(line)))
            if limit is not None and len(records) >= limit:
                break
    return records


if __name__ == "__main__":
    main()
