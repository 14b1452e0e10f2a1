"""What a search is asked and what it answers: the request, the response and its hydrated hits."""

from __future__ import annotations

from dataclasses import dataclass, field

from study_hub.domain import passage_url
from study_hub.search.meaning import MeaningState

RankedHit = tuple[str, float, tuple[str, ...]]  # (passage id, score, the rankers that found it), in rank order


@dataclass(frozen=True)
class SearchRequest:
    q: str
    level: str | None = None
    kind: str | None = None
    issuer: str | None = None
    year: str | None = None  # 2021, 2019..2023
    doc: str | None = None
    doc_number: str | None = None
    language: str | None = None
    status: str | None = None  # a validity status (or several, comma-separated): 现行有效, amended, …
    history: bool = False  # also amended and repealed documents (by default only those in force or unrated)
    sort: str = "relevance"
    mode: str = "hybrid"
    page: int = 1
    limit: int = 10
    facets: bool = True


@dataclass
class SearchHit:
    passage_id: str
    doc_id: str
    title: str
    doc_number: str | None
    level: str | None
    kind: str | None
    issuer: str | None
    date: str | None
    heading_path: str
    text: str
    snippet: str  # HTML: escaped text with <mark> around matches
    highlights: list[tuple[int, int]]  # matches as offsets into text
    score: float
    rankers: tuple[str, ...] = ("keyword",)
    speaker: str | None = None  # who spoke, for a speech (the issuer is then the body they spoke for)
    status: str = "unknown"  # the document's validity (domain.STATUSES) and since when
    status_date: str | None = None

    @property
    def url(self) -> str:
        return passage_url(self.doc_id, self.passage_id)


@dataclass
class SearchResponse:
    query: str
    total: int
    page: int
    limit: int
    results: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    partial_from: int | None = None  # rank (0-based, overall) where partial matches begin, if any
    generation: str | None = None
    mode: str = "keyword"  # the mode that ranked these results (hybrid falls back to keyword for exact wording)
    took_ms: float = 0.0
    meaning: MeaningState | None = None  # for a hybrid or semantic request: whether meaning could rank it
    # Passages matching the words in amended or repealed documents, which the default (current) search leaves
    # out: so a person looking for the 2017 Party constitution learns it is there, as history. None: not counted.
    in_history: int | None = None
