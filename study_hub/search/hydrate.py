"""Ranked passage ids -> ``SearchHit``s: the store's rows in rank order, with highlights and a snippet."""

from __future__ import annotations

from study_hub.search.analysis import Analyzed
from study_hub.search.highlight import match_spans, render_snippet
from study_hub.search.types import RankedHit, SearchHit
from study_hub.segment.tokens import Analyzer
from study_hub.store import DocumentStore


def hydrate(store: DocumentStore, analyzer: Analyzer, hits: list[RankedHit], analyzed: Analyzed) -> list[SearchHit]:
    """The hits the store still holds, marked where ``analyzed``'s words and phrases occur."""
    rows = store.passages_by_id(pid for pid, _, _ in hits)
    results = []
    for passage_id, score, rankers in hits:
        if passage_id not in rows:
            continue  # removed from the store since the index was built; the next update drops it
        passage, document = rows[passage_id]
        spans = match_spans(passage.text, analyzed.terms, analyzed.phrases, analyzer)
        results.append(SearchHit(
            passage_id=passage.id, doc_id=document.id, title=document.title, doc_number=document.doc_number,
            level=document.level, kind=document.kind, issuer=document.issuer, date=document.date,
            heading_path=passage.heading_path, text=passage.text, snippet=render_snippet(passage.text, spans),
            highlights=spans, score=round(score, 4), rankers=rankers, speaker=document.speaker,
            status=document.status or "unknown", status_date=document.status_date,
        ))
    return results
