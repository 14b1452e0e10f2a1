"""How long a revision comparison (修订对照) takes: both versions cut into passages, aligned, and every changed
passage diffed by character — what `/documents/{id}/compare` does before rendering.

    python benchmarks/compare_versions.py [--repeat 5]

Texts: the 14th Five-Year Plan outline and the English Civil Code's Book One from ../shared/corpus/docs. Each
newer version is made from the real text, deterministically (seed 7): a light revision (5 % of lines edited, ten
removed), a rewrite of nearly every line, and for the English text "the" replaced throughout. Prints the median
of ``--repeat`` runs and the rows by kind.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from study_hub.segment import SegmentBounds, segment_text
from study_hub.study.versions import align

DOCS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "docs"
CASES = (("central-doc-2021-14th-five-year-plan-outline", "zh"), ("central-law-civil-code-book1-en", "en"))


def _edit(line: str, rng: random.Random) -> str:
    """A reworded phrase in the middle of the line, as a revision changes a clause."""
    if len(line) < 8:
        return line + "（修订）"
    start = rng.randrange(0, len(line) - 4)
    return line[:start] + "按照新的规定" + line[start + 4:]


def revisions(text: str, language: str, rng: random.Random) -> dict[str, str]:
    lines = text.split("\n")
    light = list(lines)
    for index in rng.sample(range(1, len(lines)), max(1, len(lines) // 20)):
        light[index] = _edit(light[index], rng)
    for index in sorted(rng.sample(range(1, len(light)), 10), reverse=True):
        del light[index]
    rewrite = [lines[0]] + [_edit(line, rng) if line.strip() else line for line in lines[1:]]
    made = {"light revision": "\n".join(light), "rewrite of every line": "\n".join(rewrite)}
    if language == "en":
        made["'the' replaced throughout"] = text.replace(" the ", " this ")
    return made


def compare(doc_id: str, old: str, new: str, language: str):
    bounds = SegmentBounds.for_language(language)
    title = old.split("\n", 1)[0]
    return align(segment_text(doc_id, old, title=title, bounds=bounds),
                 segment_text(doc_id, new, title=title, bounds=bounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; median of {args.repeat} runs")
    print(f"{'text':<48} {'revision':<26} {'chars':>7} {'ms':>8}  rows")
    for doc_id, language in CASES:
        text = (DOCS / f"{doc_id}.txt").read_text(encoding="utf-8")
        for name, newer in revisions(text, language, random.Random(7)).items():
            times, rows = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                rows = compare(doc_id, text, newer, language)
                times.append((time.perf_counter() - started) * 1000)
            kinds = Counter(row.kind for row in rows)
            print(f"{doc_id:<48} {name:<26} {len(text):>7} {statistics.median(times):>8.1f}  "
                  + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())))


if __name__ == "__main__":
    main()
