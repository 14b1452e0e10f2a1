"""``SearchFilters``: what narrows a search (level, kind, language, years, validity, documents), for every index.

Its own module because both kinds of index take it: the keyword engines (``keyword``) and the vectors
(``semantic``, ``approximate``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchFilters:
    levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    doc_ids: frozenset[str] | None = None  # None: any document; empty: no document
    statuses: tuple[str, ...] = ()  # validity (domain.STATUSES): any of these; empty: any

    @property
    def empty(self) -> bool:
        return self == SearchFilters()
