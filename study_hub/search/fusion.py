"""Fusing ranked lists: weighted reciprocal-rank fusion (pure functions over ids)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RankedList:
    name: str  # which ranker produced it: keyword, semantic, ...
    ids: Sequence[str]  # best first
    weight: float = 1.0


def weighted_rrf(lists: Sequence[RankedList], k: float = 60.0) -> list[tuple[str, float, tuple[str, ...]]]:
    """(id, fused score, rankers that found it), best first: score = Σ weight / (k + rank)."""
    scores: dict[str, float] = {}
    found_by: dict[str, list[str]] = {}
    for ranked in lists:
        for rank, item in enumerate(ranked.ids, 1):
            scores[item] = scores.get(item, 0.0) + ranked.weight / (k + rank)
            found_by.setdefault(item, []).append(ranked.name)
    order = sorted(scores, key=lambda i: (-scores[i], i))
    return [(item, scores[item], tuple(dict.fromkeys(found_by[item]))) for item in order]


def interleave(lists: Sequence[Sequence[str]], shares: Sequence[int] | None = None) -> list[str]:
    """Round-robin merge without duplicates, taking ``shares[i]`` items of list i per round (1 each by default)."""
    shares = shares or [1] * len(lists)
    cursors = [0] * len(lists)
    out: list[str] = []
    seen: set[str] = set()
    while any(cursor < len(lst) for cursor, lst in zip(cursors, lists, strict=True)):
        for index, lst in enumerate(lists):
            taken = 0
            while taken < shares[index] and cursors[index] < len(lst):
                item = lst[cursors[index]]
                cursors[index] += 1
                if item not in seen:
                    seen.add(item)
                    out.append(item)
                    taken += 1
    return out
