"""Query-time synonyms and abbreviations (``data/synonyms.txt``), applied by the query builder only."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from study_hub.segment.tokens import Analyzer, default_analyzer, fold

SYNONYMS_PATH = Path(__file__).resolve().parent / "data" / "synonyms.txt"


class Synonyms:
    def __init__(self, analyzer: Analyzer, path: Path = SYNONYMS_PATH):
        self._alternatives: dict[str, list[tuple[str, ...]]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            members = [m.strip() for m in line.split("|") if m.strip()]
            tokenized = [tuple(t for part in m.split() for t in analyzer.query_words(part)) for m in members]
            for member, tokens in zip(members, tokenized, strict=True):
                if " " in member or len(tokens) != 1:
                    continue  # only a one-word member is looked up; longer ones are what it expands to
                others = [t for t in tokenized if t and t != tokens]
                self._alternatives.setdefault(tokens[0], []).extend(others)

    def annotate(self, text: str, analyzer: Analyzer, most: int = 8) -> str:
        """``text`` followed by the other ways to say its words, in brackets (at most ``most`` of them)."""
        others = [("".join(alternative)) for word in analyzer.query_words(text) for alternative in self.expand(word)]
        others = [o for o in dict.fromkeys(others) if o not in text][:most]
        return f"{text}（{'、'.join(others)}）" if others else text

    def expand(self, token: str) -> list[tuple[str, ...]]:
        """Other ways to say ``token`` (each a tuple of tokens that must all match)."""
        return self._alternatives.get(fold(token), [])


@cache
def default_synonyms() -> Synonyms:
    return Synonyms(default_analyzer())
