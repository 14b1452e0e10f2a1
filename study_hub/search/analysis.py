"""Query analysis: parsed clauses -> the engine-neutral ``KeywordQuery`` plus what to highlight.

Each word becomes a group of alternatives: its tokens, their synonyms (``synonyms``) and the shorter dictionary
words that spell it (``Analyzer.cover``). An English question's keyword side is the Chinese words of the
governance terms it names (``translated``, from the ``crosslingual`` glossary).
"""

from __future__ import annotations

from dataclasses import dataclass

from study_hub.index.keyword import KeywordQuery, TermGroup
from study_hub.search.crosslingual import default_glossary
from study_hub.search.query import ParsedQuery
from study_hub.search.synonyms import Synonyms
from study_hub.segment.tokens import Analyzer


@dataclass
class Analyzed:
    query: KeywordQuery
    terms: set[str]  # tokens to highlight
    phrases: list[str]


def analyze(parsed: ParsedQuery, analyzer: Analyzer, synonyms: Synonyms) -> Analyzed:
    """Turn parsed clauses into token groups: each word's tokens, their sub-word covers and synonyms."""
    required: list[TermGroup] = []
    phrases: list[str] = []
    scoring: list[str] = []

    def alternatives_of(token: str) -> list[tuple[str, ...]]:
        found = [(token,), *synonyms.expand(token)]
        cover = analyzer.cover(token)
        if cover:
            found.append(cover)
        return list(dict.fromkeys(found))

    unindexed: list[str] = []  # words with nothing to index: stop words (the, 的) and punctuation
    for group in parsed.groups:
        if len(group) == 1:
            clause = group[0]
            tokens = analyzer.query_words(clause.text)
            if clause.exact:
                phrases.append(clause.text)
                scoring.extend(tokens)
            elif not tokens:
                unindexed.append(clause.text)
            else:
                required.extend(TermGroup(tuple(alternatives_of(t))) for t in tokens)
        else:
            alternatives: list[tuple[str, ...]] = []
            for clause in group:
                tokens = tuple(analyzer.query_words(clause.text))
                if len(tokens) == 1:
                    alternatives.extend(alternatives_of(tokens[0]))
                elif tokens:
                    alternatives.append(tokens)
            if alternatives:
                required.append(TermGroup(tuple(dict.fromkeys(alternatives))))

    if unindexed and not required and not phrases:  # only such words (a query for 的): match them exactly
        phrases.extend(unindexed)
    excluded = []
    excluded_phrases = []
    for clause in parsed.excluded:
        tokens = tuple(analyzer.query_words(clause.text))
        if clause.exact or not tokens:
            excluded_phrases.append(clause.text)
        else:
            excluded.append(TermGroup((tokens,)))
    terms = {t for g in required for t in g.tokens}  # phrase-only queries highlight the phrase, not its words
    query = KeywordQuery(required=tuple(required), excluded=tuple(excluded), phrases=tuple(phrases),
                         excluded_phrases=tuple(excluded_phrases), scoring_tokens=tuple(dict.fromkeys(scoring)))
    return Analyzed(query, terms, phrases)


def translated(text: str, analyzer: Analyzer) -> Analyzed:
    """The Chinese words of the terms an English question names, as the keyword side's word groups."""
    groups = []
    for words in default_glossary().translate(text):
        tokenized = (tuple(analyzer.query_words(word)) for word in words)
        alternatives = tuple(dict.fromkeys(tokens for tokens in tokenized if tokens))
        if alternatives:
            groups.append(TermGroup(alternatives))
    query = KeywordQuery(required=tuple(groups))
    return Analyzed(query, {t for g in groups for t in g.tokens}, [])
