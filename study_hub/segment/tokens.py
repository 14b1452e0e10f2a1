"""The analyzer: the ONE place jieba is used. Indexing and queries both go through it.

- ``fold`` maps full-width ASCII to half-width and lower-cases, one character for one character, so
  offsets into the folded text are offsets into the original.
- ``index_tokens`` is jieba search mode over folded text: every word of the precise segmentation gets
  the next ordinal as its position; the sub-words search mode adds inside a long word (共和国 inside
  中华人民共和国), plus longer dictionary words inside it (基层治理 inside 基层治理体系), share their
  parent's position. Offsets are the tokenizer's own character offsets.
- ``query_words`` is the precise segmentation, for building queries.
- Punctuation and whitespace are dropped, as are a few function words; English words and numbers stay.

jieba here is ``rjieba`` (jieba-rs): the same algorithm and dictionary format as jieba, about ten times
faster, and its dictionary belongs to an instance instead of the process. The shipped domain dictionary
(``data/governance.dict.txt``) keeps terms like 基层治理, 接诉即办, 三会一课 whole; its checksum is part of
``ANALYZER_VERSION`` so an index built with another dictionary is detected.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

DICTIONARY_PATH = Path(__file__).resolve().parent / "data" / "governance.dict.txt"
_ANALYZER_REVISION = "1"  # bump when the tokenization rules below change

# Full-width ASCII (！ to ～) -> half-width, the ideographic space -> space; ASCII upper -> lower.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20
_FOLD = {k: (chr(v).lower() if chr(v).isalpha() else chr(v)) for k, v in _FOLD.items()}
_FOLD.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_FOLD_TABLE = str.maketrans(_FOLD)

STOP_WORDS = frozenset((
    "的", "了", "和", "与", "及", "等", "在", "是", "对", "为", "把", "被", "将", "以", "于", "之", "或", "而",
    "并", "其", "也", "着", "所", "就", "都", "由", "从", "向",
    "a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "by", "with", "as", "at", "is", "are", "be",
    "that", "this", "which",
))


def fold(text: str) -> str:
    """Width- and case-fold, keeping the length (offsets stay valid)."""
    folded = text.translate(_FOLD_TABLE)
    if folded.isascii():
        return folded
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # A few characters lower-case into two (İ -> i̇): keep those as they are so offsets stay valid.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


_CJK_SPACE = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")
_SPACES = re.compile(r"\s+")


def fold_exact(text: str) -> str:
    """``fold`` plus whitespace folding, for exact-wording matches.

    Whitespace next to a non-ASCII character goes (Chinese has none between words: 总　　则 == 总则);
    other runs become one space (English words stay apart).
    """
    return _SPACES.sub(" ", _CJK_SPACE.sub("", fold(text))).strip()


def exact_pattern(phrase: str) -> re.Pattern[str] | None:
    """A regex that finds ``phrase`` in ``fold(text)`` the way ``fold_exact`` compares them.

    Used to highlight exact-wording hits: the spans it finds are offsets into the original text.
    """
    folded = fold_exact(phrase)
    if not folded:
        return None
    parts = []
    for i, char in enumerate(folded):
        if char == " ":
            parts.append(r"\s+")
            continue
        parts.append(re.escape(char))
        following = folded[i + 1] if i + 1 < len(folded) else ""
        if following and following != " " and not (char.isascii() and following.isascii()):
            parts.append(r"\s*")  # whitespace the folding removed may stand here in the original
    return re.compile("".join(parts))


class Token(NamedTuple):
    text: str
    position: int
    start: int
    end: int


@lru_cache(maxsize=200_000)
def _is_word(token: str) -> bool:
    return any(c.isalnum() for c in token) and token not in STOP_WORDS


@dataclass(frozen=True)
class DictionaryInfo:
    path: str
    entries: int
    sha256: str


@dataclass(frozen=True)
class AnalyzerRecipe:
    """What rebuilds an analyzer in another process (a tokenising worker, a whoosh writer): its dictionary
    (None: the shipped one, wherever this installation keeps it) and the version it must come out as."""

    dictionary: str | None
    version: str

    def build(self) -> Analyzer:
        analyzer = default_analyzer() if self.dictionary is None else _analyzer_with(self.dictionary)
        if analyzer.version != self.version:
            raise ValueError(f"the dictionary {self.dictionary or DICTIONARY_PATH} gives analyzer "
                             f"{analyzer.version}, not {self.version}: it changed while an index was being built")
        return analyzer


class Analyzer:
    """Tokenizer with the domain dictionary loaded. Build it once (``default_analyzer``) and share it.

    ``dictionary``: the shipped one by default; another (the shipped entries plus a site's own words, say) gives
    another ``version``, and indexes must be built and searched with the same one.
    """

    def __init__(self, dictionary: Path = DICTIONARY_PATH):
        import rjieba

        self._jieba = rjieba.Jieba()
        self._lock = threading.Lock()  # one jieba instance; cheap calls, serialised for safety
        data = dictionary.read_bytes()
        entries = 0
        for line in data.decode("utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, *rest = line.split()
            freq = int(rest[0]) if rest else None
            self._jieba.add_word(fold(word), freq, rest[1] if len(rest) > 1 else None)
            entries += 1
        self.dictionary = DictionaryInfo(str(dictionary), entries, hashlib.sha256(data).hexdigest())
        self.version = f"rjieba-search/{_ANALYZER_REVISION}+dict-{self.dictionary.sha256[:12]}"
        shipped = dictionary.resolve() == DICTIONARY_PATH
        self.recipe = AnalyzerRecipe(None if shipped else str(dictionary.resolve()), self.version)

    def __reduce__(self):
        """Pickled as its ``recipe``: a process pool's worker rebuilds the same analyzer, once per process."""
        return _rebuilt, (self.recipe,)

    def index_tokens(self, text: str) -> list[Token]:
        """Search-mode tokens of ``text`` with ordinal positions and exact offsets into ``text``."""
        with self._lock:
            raw = self._jieba.tokenize(fold(text), mode="search")
        raw.extend(self._long_sub_words(raw))
        raw.sort(key=lambda t: (t[1], -t[2]))
        tokens: list[Token] = []
        position = -1
        parent_end = -1
        for word, start, end in raw:
            if start >= parent_end:  # a word of the precise segmentation
                parent_end = end
                if not _is_word(word):
                    continue
                position += 1
            elif not _is_word(word):
                continue
            tokens.append(Token(word, max(position, 0), start, end))
        return tokens

    def index_terms(self, text: str) -> list[str]:
        """The texts of ``index_tokens(text)``, in no particular order: what a field scored by term counts alone
        needs (no sort, no Token objects: a third of the tokenising time)."""
        with self._lock:
            raw = self._jieba.tokenize(fold(text), mode="search")
        raw.extend(self._long_sub_words(raw))
        return [word for word, _, _ in raw if _is_word(word)]

    def term_spans(self, text: str, terms: set[str]) -> list[tuple[int, int]]:
        """Offsets of the index tokens of ``text`` that are among ``terms`` (for highlighting).

        The same tokens as ``index_tokens`` gives, without positions: no sort, no Token objects; and a text
        that holds none of the terms even as a substring is not tokenised at all (most passages of a
        document, when the reader marks a search's words), so marking a whole document stays fast.
        """
        folded = fold(text)
        present = {term for term in terms if term in folded}
        if not present:
            return []
        with self._lock:
            raw = self._jieba.tokenize(folded, mode="search")
        raw.extend(self._long_sub_words(raw))
        return [(start, end) for word, start, end in raw if word in present]

    def _long_sub_words(self, raw: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Dictionary words of 4+ characters inside a longer word (基层治理 inside 基层治理体系).

        jieba's search mode only adds the 2- and 3-character words it finds inside a long word, so a query
        for a 4-character term would miss the passages where it is part of a longer dictionary word.
        """
        extra = []
        for word, start, end in raw:
            length = end - start
            if length <= 4:
                continue
            for size in range(4, length):
                for offset in range(length - size + 1):
                    inner = word[offset:offset + size]
                    if self._jieba.has_word(inner):
                        extra.append((inner, start + offset, start + offset + size))
        return extra

    def query_words(self, text: str) -> list[str]:
        """Precise-mode words of a query string, folded, without punctuation and stop words."""
        with self._lock:
            words = self._jieba.cut(fold(text))
        return [w for w in (w.strip() for w in words) if w and _is_word(w)]

    def cover(self, word: str) -> tuple[str, ...]:
        """Shorter dictionary words that together spell ``word`` (治理能力现代化 -> 治理, 能力, 现代化).

        Empty when there are none. Used by queries: in running text jieba may have cut the passage's
        copy of a long word differently, and the parts still find it.
        """
        folded = fold(word)
        with self._lock:
            raw = self._jieba.tokenize(folded, mode="search")
            raw.extend(self._long_sub_words(raw))
        inner = [(s, e, w) for w, s, e in raw if (s, e) != (0, len(folded)) and _is_word(w)]
        parts, position = [], 0
        while position < len(folded):
            candidates = [(e, w) for s, e, w in inner if s == position]
            if not candidates:
                return ()
            end, part = max(candidates)
            parts.append(part)
            position = end
        return tuple(parts) if len(parts) > 1 else ()


@cache
def default_analyzer() -> Analyzer:
    return Analyzer()


@lru_cache(maxsize=8)
def _analyzer_with(dictionary: str) -> Analyzer:
    return Analyzer(Path(dictionary))


def _rebuilt(recipe: AnalyzerRecipe) -> Analyzer:
    return recipe.build()
