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


def interleave(lists: Sequence[Sequence[str]]) -> list[str]:
    """Round-robin merge without duplicates: the first of each list, then the second of each…"""
    out: list[str] = []
    seen: set[str] = set()
    for position in range(max((len(lst) for lst in lists), default=0)):
        for lst in lists:
            if position < len(lst) and lst[position] not in seen:
                seen.add(lst[position])
                out.append(lst[position])
    return out
