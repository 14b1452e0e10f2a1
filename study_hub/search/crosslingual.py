"""English questions over Chinese documents: translate the governance terms a question names.

The embedding model crosses languages only weakly (on the development set the Chinese passage that
answers an English question ranks 7th to 140th among Chinese passages). So the Chinese words for the
terms an English question names come from a shipped glossary (``data/en_zh_glossary.txt``), and a keyword
search with those words over the Chinese passages joins the fusion.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

GLOSSARY_PATH = Path(__file__).resolve().parent / "data" / "en_zh_glossary.txt"
# Terms mined from the corpus's parallel documents (``parallel_terms``); the hand-written glossary wins.
MINED_PATH = Path(__file__).resolve().parent / "data" / "en_zh_mined.txt"


def read_glossary(path: Path) -> dict[str, list[str]]:
    """english -> Chinese words, from "english = 中文 | 中文  # comment" lines."""
    entries: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        if not line.strip() or "=" not in line:
            continue
        english, chinese = line.split("=", 1)
        entries.setdefault(english.strip().lower(), []).extend(w.strip() for w in chinese.split("|") if w.strip())
    return entries


class Glossary:
    def __init__(self, path: Path = GLOSSARY_PATH, mined: Path | None = MINED_PATH):
        entries = read_glossary(path)
        for english, words in (read_glossary(mined) if mined else {}).items():
            entries.setdefault(english, words)
        # Longest phrases first, so "villagers' committee" wins over "committee".
        self._patterns = [
            (re.compile(r"(?<![\w'-])" + re.escape(english).replace(r"\ ", r"\s+") + r"(?:s|es)?(?![\w'-])"), words)
            for english, words in sorted(entries.items(), key=lambda kv: -len(kv[0]))
        ]

    def translate(self, question: str) -> list[list[str]]:
        """Groups of Chinese alternatives for the terms found in ``question``, in order of appearance."""
        text = question.lower().replace("’", "'")
        found: list[tuple[int, list[str]]] = []
        for pattern, words in self._patterns:
            for match in pattern.finditer(text):
                found.append((match.start(), words))
                text = text[:match.start()] + " " * (match.end() - match.start()) + text[match.end():]
        return [words for _, words in sorted(found, key=lambda item: item[0])]


@cache
def default_glossary() -> Glossary:
    return Glossary()
