"""A document's versions and their comparison (修订对照), passage by passage, marked to the character.

Two versions' texts are cut into passages by the same pure segmenter (``segment_text``, with the heading levels
each version was ingested with), so both sides are cut by today's rules, whatever they were when the older text
came. Alignment (``align``) keeps reading order:

1. passages with the same id are the same text (an id is the document id and a hash of the text): the longest
   common run of ids is **unchanged** (difflib's ``SequenceMatcher`` over the id sequences);
2. between two unchanged runs, the remaining passages are paired in order by how much text they share
   (character bigrams, Dice coefficient ≥ ``PAIR_AT_LEAST``), maximising the shared text over the whole gap
   (a small dynamic programme): a pair is **changed**; what stays unpaired is **removed** (old side) or
   **added** (new side).

A changed pair carries character-level operations (``char_ops``: difflib over characters, then single
characters of agreement between two edits folded into the edit, so 条例规定 → 办法要求 reads as one
replacement, not four) as offsets into each passage's text; callers escape the text and mark the spans.

Notes: the notes a person may see that were written before the newer version came are shown where they are
anchored now when that passage is in the newer version, else listed apart (orphaned by the change, or anchored
in a passage this version does not have).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from study_hub.accounts import Principal
from study_hub.domain import Passage, heading_parts
from study_hub.errors import StudyHubError
from study_hub.segment import SegmentBounds, segment_text
from study_hub.store import DocumentStore, VersionInfo
from study_hub.store.models import DocumentVersion, aware
from study_hub.study.notes import NoteService, NoteView

PAIR_AT_LEAST = 0.3  # Dice similarity of character bigrams for two passages to count as one passage changed
MAX_PAIRING = 250_000  # old × new passages in one gap above which pairing is by position (a rewrite, not an edit)
NOISE = 2  # characters of agreement between two edits that are folded into them


class VersionError(StudyHubError):
    """A comparison that cannot be made as asked (the same version twice, backwards)."""


@dataclass(frozen=True)
class DiffOp:
    """One stretch of a changed passage: ``old[old_start:old_end]`` became ``new[new_start:new_end]``."""
    op: str  # equal | insert | delete | replace
    old_start: int
    old_end: int
    new_start: int
    new_end: int


@dataclass
class AlignedRow:
    kind: str  # unchanged | changed | added | removed
    old: Passage | None
    new: Passage | None
    ops: list[DiffOp] = field(default_factory=list)  # changed rows only
    notes: list[NoteView] = field(default_factory=list)  # shown with the new side


@dataclass
class Comparison:
    doc_id: str
    title: str
    old: VersionInfo
    new: VersionInfo
    rows: list[AlignedRow]
    metadata_changes: list[tuple[str, object, object]]  # (field, old value, new value)
    unplaced_notes: list[NoteView]  # made on an older text, not anchored in a passage of the newer version

    @property
    def counts(self) -> dict[str, int]:
        found = {kind: 0 for kind in ("unchanged", "changed", "added", "removed")}
        for row in self.rows:
            found[row.kind] += 1
        return found


# --- the pure part --------------------------------------------------------------------------------------

def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) if len(text) > 1 else frozenset(text)


def similarity(a: str, b: str) -> float:
    """How much text two passages share: the Dice coefficient of their character bigrams (0..1)."""
    first, second = _bigrams(a), _bigrams(b)
    if not first and not second:
        return 1.0
    return 2 * len(first & second) / (len(first) + len(second))


def char_ops(old: str, new: str) -> list[DiffOp]:
    """Character-level operations turning ``old`` into ``new`` (every character of both covered, in order)."""
    raw = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    ops = [DiffOp(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in raw]
    merged: list[DiffOp] = []
    for index, op in enumerate(ops):
        previous = merged[-1] if merged else None
        following = ops[index + 1] if index + 1 < len(ops) else None
        if (op.op == "equal" and previous is not None and previous.op != "equal" and following is not None
                and following.op != "equal" and op.old_end - op.old_start <= NOISE):
            merged[-1] = DiffOp("replace", previous.old_start, op.old_end, previous.new_start, op.new_end)
            continue
        if previous is not None and previous.op != "equal" and op.op != "equal":
            merged[-1] = DiffOp("replace", previous.old_start, op.old_end, previous.new_start, op.new_end)
            continue
        merged.append(op)
    return [_named(op) for op in merged]


def _named(op: DiffOp) -> DiffOp:
    """A merged stretch named by what it holds: only new text is an insert, only old text a delete."""
    if op.op == "equal":
        return op
    kind = "insert" if op.old_start == op.old_end else "delete" if op.new_start == op.new_end else "replace"
    return DiffOp(kind, op.old_start, op.old_end, op.new_start, op.new_end)


def _pair(olds: list[Passage], news: list[Passage]) -> list[AlignedRow]:
    """Rows for a gap between unchanged runs: pairs in order that share the most text, the rest unpaired."""
    if not olds or not news:
        return [AlignedRow("removed", p, None) for p in olds] + [AlignedRow("added", None, p) for p in news]
    if len(olds) * len(news) > MAX_PAIRING:
        return _by_position(olds, news)
    grams_old = [_bigrams(p.text) for p in olds]
    grams_new = [_bigrams(p.text) for p in news]

    def dice(i: int, j: int) -> float:
        a, b = grams_old[i], grams_new[j]
        return 2 * len(a & b) / (len(a) + len(b)) if a or b else 1.0

    n, m = len(olds), len(news)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    paired = [[False] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            skip = max(best[i - 1][j], best[i][j - 1])
            score = dice(i - 1, j - 1)
            if score >= PAIR_AT_LEAST and best[i - 1][j - 1] + score > skip:
                best[i][j], paired[i][j] = best[i - 1][j - 1] + score, True
            else:
                best[i][j] = skip
    rows: list[AlignedRow] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and paired[i][j]:
            rows.append(_changed(olds[i - 1], news[j - 1]))
            i, j = i - 1, j - 1
        elif j > 0 and (i == 0 or best[i][j - 1] >= best[i - 1][j]):
            rows.append(AlignedRow("added", None, news[j - 1]))  # built backwards: removals come out first
            j -= 1
        else:
            rows.append(AlignedRow("removed", olds[i - 1], None))
            i -= 1
    rows.reverse()
    return rows


def _by_position(olds: list[Passage], news: list[Passage]) -> list[AlignedRow]:
    rows = []
    for index in range(max(len(olds), len(news))):
        old = olds[index] if index < len(olds) else None
        new = news[index] if index < len(news) else None
        if old is not None and new is not None and similarity(old.text, new.text) >= PAIR_AT_LEAST:
            rows.append(_changed(old, new))
        else:
            rows.extend(r for r in (AlignedRow("removed", old, None) if old else None,
                                    AlignedRow("added", None, new) if new else None) if r)
    return rows


def _changed(old: Passage, new: Passage) -> AlignedRow:
    return AlignedRow("changed", old, new, char_ops(old.text, new.text))


def align(old: list[Passage], new: list[Passage]) -> list[AlignedRow]:
    """Two versions' passages (reading order) aligned: unchanged, changed, added and removed, in reading order."""
    matcher = SequenceMatcher(None, [p.id for p in old], [p.id for p in new], autojunk=False)
    rows: list[AlignedRow] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(AlignedRow("unchanged", old[i], new[j]) for i, j in zip(range(i1, i2), range(j1, j2),
                                                                                strict=True))
        else:
            rows.extend(_pair(old[i1:i2], new[j1:j2]))
    return rows


def passages_of(doc_id: str, version: DocumentVersion) -> list[Passage]:
    """A version's text cut into passages as the pipeline cuts a document (its title line is not a passage)."""
    meta = version.meta or {}
    levels = {int(line): int(level) for line, level in (version.heading_levels or {}).items()}
    return segment_text(doc_id, version.text, title=meta.get("title"), heading_levels=levels,
                        bounds=SegmentBounds.for_language(meta.get("language")))


# --- the service --------------------------------------------------------------------------------------------

COMPARED_META = ("title", "doc_number", "issuer", "speaker", "date", "level", "kind", "status", "status_date")


class VersionService:
    def __init__(self, store: DocumentStore, notes: NoteService):
        self.store = store
        self.notes = notes

    def versions(self, doc_id: str) -> list[VersionInfo]:
        return self.store.versions(doc_id)

    def version(self, doc_id: str, number: int) -> DocumentVersion:
        return self.store.version(doc_id, number)

    def default_pair(self, doc_id: str) -> tuple[int, int]:
        """The versions to compare when none are named: the one before the newest, and the newest."""
        numbers = [v.number for v in self.versions(doc_id)]
        if len(numbers) < 2:
            raise VersionError(f"document {doc_id!r} has only one version: nothing to compare yet")
        return numbers[-2], numbers[-1]

    def compare(self, who: Principal | None, doc_id: str, old_number: int, new_number: int) -> Comparison:
        """Versions ``old_number`` and ``new_number`` aligned, with the notes ``who`` may see that were written
        before the newer one came (anonymous: none)."""
        if old_number == new_number:
            raise VersionError(f"choose two different versions to compare (both are {old_number})")
        if old_number > new_number:
            raise VersionError(f"from={old_number} is newer than to={new_number}: put the earlier version first")
        infos = {v.number: v for v in self.versions(doc_id)}
        older, newer = self.version(doc_id, old_number), self.version(doc_id, new_number)
        document = self.store.get_document(doc_id)
        old_passages = passages_of(doc_id, older)
        # The document's own passages when the newer version is its text now: exactly what notes are anchored to
        new_passages = ([Passage(p.id, doc_id, p.ordinal, tuple(heading_parts(p.heading_path)),
                                 p.char_start, p.char_end, p.text) for p in document.passages]
                        if newer.text == document.text else passages_of(doc_id, newer))
        rows = align(old_passages, new_passages)
        changes = [(name, (older.meta or {}).get(name), (newer.meta or {}).get(name)) for name in COMPARED_META
                   if (older.meta or {}).get(name) != (newer.meta or {}).get(name)]
        unplaced = self._place_notes(who, doc_id, rows, infos[new_number])
        return Comparison(doc_id, document.title, infos[old_number], infos[new_number], rows, changes, unplaced)

    def _place_notes(self, who: Principal | None, doc_id: str, rows: list[AlignedRow],
                     newer: VersionInfo) -> list[NoteView]:
        if who is None:
            return []
        earlier = [n for n in self.notes.list(who, document=doc_id, limit=1000)
                   if aware(n.created_at) < newer.ingested_at]
        row_of = {row.new.id: row for row in rows if row.new is not None}
        unplaced = []
        for note in sorted(earlier, key=lambda n: (n.start, n.id)):
            row = row_of.get(note.passage_id or "") if not note.orphaned else None
            if row is None:
                unplaced.append(note)
            else:
                row.notes.append(note)
        return unplaced
