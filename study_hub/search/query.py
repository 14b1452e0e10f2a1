"""The search box's query language, parsed into a ``ParsedQuery`` (no analysis, no engine).

    基层治理 网格化              all words must match (ranked by BM25)
    "小事不出村、大事不出镇"      exact wording: the passage contains exactly this (also “…” and 「…」)
    物业 -前期                   a word after - must not occur;  -"…" excludes exact wording
    接诉即办 OR 街乡吹哨          either side (| works too); binds the words next to it
    level:provincial kind:regulation issuer:国务院 year:2021 year:2019..2023 doc:ID 文号:中发〔2021〕16号
    status:amended status:current,repealed status:all     validity (without one: what is in force or unrated)
    级别:省级 类型:条例 发文机关:国务院 年份:2021 效力:已废止   the same filters in Chinese

Mistakes raise ``QueryError`` with a message that says what to change.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from study_hub.domain import KINDS, LANGUAGES, LEVELS, STATUS_ALIASES, STATUSES
from study_hub.errors import StudyHubError


class QueryError(StudyHubError, ValueError):
    """A query that cannot be understood; the message tells the user how to fix it."""


@dataclass(frozen=True)
class Clause:
    text: str
    exact: bool = False  # quoted: exact wording


@dataclass(frozen=True)
class ParsedQuery:
    groups: tuple[tuple[Clause, ...], ...] = ()  # all groups must match; any clause of a group
    excluded: tuple[Clause, ...] = ()
    levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    doc_numbers: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    statuses: tuple[str, ...] = ()  # validity; empty: not asked (search then applies its default)

    @property
    def has_terms(self) -> bool:
        return bool(self.groups)

    @property
    def has_filters(self) -> bool:
        return bool(self.levels or self.kinds or self.languages or self.issuers or self.doc_ids or self.statuses
                    or self.doc_numbers or self.year_from is not None or self.year_to is not None)


_FIELD_ALIASES = {
    "level": "level", "级别": "level", "层级": "level",
    "kind": "kind", "type": "kind", "doc_kind": "kind", "类型": "kind", "文种": "kind",
    "issuer": "issuer", "speaker": "issuer", "发文机关": "issuer", "机关": "issuer", "讲话人": "issuer",
    "year": "year", "年份": "year", "年": "year",
    "doc": "doc", "id": "doc", "文件": "doc",
    "文号": "doc_number", "docnum": "doc_number", "doc_number": "doc_number", "number": "doc_number",
    "lang": "language", "language": "language", "语言": "language",
    "status": "status", "validity": "status", "效力": "status", "时效性": "status", "时效": "status",
}
LEVEL_ALIASES = {
    "central": "central", "中央": "central", "国家": "central",
    "provincial": "provincial", "省": "provincial", "省级": "provincial",
    "municipal": "municipal", "市": "municipal", "市级": "municipal",
    "district": "district", "区": "district", "县": "district", "区级": "district", "区县": "district",
    "县级": "district",
}
KIND_ALIASES = {
    "document": "document", "文件": "document", "文件通知": "document",
    "regulation": "regulation", "法规": "regulation", "条例": "regulation", "法律": "regulation",
    "report": "report", "报告": "report",
    "speech": "speech", "讲话": "speech",
    "news": "news", "新闻": "news", "报道": "news",
}
LANGUAGE_ALIASES = {"zh": "zh", "中文": "zh", "chinese": "zh", "en": "en", "英文": "en", "english": "en"}
_EVERY_STATUS = ("all", "any", "全部", "所有")
_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "”": "”"}
# Closers accepted for each opener: people mix Chinese and ASCII quotes (“…" or "…”) without noticing.
_CLOSERS = {'"': '"”', "“": '”"', "”": '”"', "「": "」", "『": "』"}
# Quotes that may open inside a quoted phrase, and what closes each there.
_INNER_CLOSER = {"“": "”", "「": "」", "『": "』", "‘": "’", '"': '"'}
_SPACE = " \t\r\n\u3000"
_YEAR_RANGE = re.compile(r"^(\d{4})?\s*(?:\.\.|-|~|～|至|到)\s*(\d{4})?$")
_MAX_QUERY_CHARS = 1000


@dataclass
class _Item:
    text: str
    exact: bool = False
    negated: bool = False
    is_or: bool = False
    field_name: str | None = None


def _lex(query: str) -> list[_Item]:
    items: list[_Item] = []
    i, n = 0, len(query)
    while i < n:
        if query[i] in _SPACE:
            i += 1
            continue
        negated = False
        if query[i] in "-－" and i + 1 < n and query[i + 1] not in _SPACE:
            negated, i = True, i + 1
        if query[i] in _QUOTES:
            end = _closing_quote(query, i)
            if end < 0:
                raise QueryError(f"the quote opened at position {i + 1} is not closed: add a closing quote "
                                 f"{_QUOTES[query[i]]} after the exact wording you want")
            items.append(_Item(query[i + 1:end], exact=True, negated=negated))
            i = end + 1
            continue
        j = i
        while j < n and query[j] not in _SPACE and query[j] not in _QUOTES:
            j += 1
        word = query[i:j]
        key, sep, value = re.split(r"([:：])", word, maxsplit=1) if re.search(r"[:：]", word) else (word, "", "")
        if sep and key.lower() in _FIELD_ALIASES:
            if not value and j < n and query[j] in _QUOTES:  # issuer:"中共中央 国务院"
                close = _QUOTES[query[j]]
                end = query.find(close, j + 1)
                if end < 0:
                    raise QueryError(f"the quoted value of {key}: is not closed: add {close}")
                value, j = query[j + 1:end], end + 1
            if not value.strip():
                raise QueryError(f"{key}: needs a value, e.g. {_example(_FIELD_ALIASES[key.lower()])}")
            items.append(_Item(value.strip(), negated=negated, field_name=_FIELD_ALIASES[key.lower()]))
        elif sep and value and (close := difflib.get_close_matches(key.lower(), _FIELD_ALIASES, n=1, cutoff=0.75)):
            known = ", ".join(sorted({k for k in _FIELD_ALIASES if k.isascii()}))
            raise QueryError(f"unknown filter {key}: — did you mean {close[0]}:? The filters are {known} "
                             f"(or 级别: 类型: 发文机关: 年份: 文号: 效力:)")
        elif word in ("OR", "|", "或"):
            items.append(_Item(word, is_or=True))
        else:
            items.append(_Item(word, negated=negated))
        i = j
    return items


def _closing_quote(query: str, start: int) -> int:
    """Where the quote opened at ``start`` closes (-1: nowhere).

    Quotes of another kind inside are part of the wording: an original sentence that itself quotes
    (遵循“谁提供，谁负责”的原则) can be copied whole into "…" or 「…」. If the quote only closes by
    mixing kinds (“…" or "…”, typed without noticing), the first closer that fits is taken.
    """
    opener = query[start]
    inner: list[str] = []  # quotes opened inside, innermost last
    for j in range(start + 1, len(query)):
        char = query[j]
        if inner and char == _INNER_CLOSER[inner[-1]]:
            inner.pop()
        elif not inner and (char == _QUOTES[opener] or (opener == '"' and char == "”")):
            return j
        elif char in _INNER_CLOSER:
            inner.append(char)
    ends = [e for e in (query.find(c, start + 1) for c in _CLOSERS[opener]) if e >= 0]
    if not ends and opener in "“”":
        ends = [e for e in (query.find("“", start + 1),) if e >= 0]  # some keyboards type “ twice
    return min(ends) if ends else -1


def _example(name: str) -> str:
    return {"level": "level:provincial", "kind": "kind:regulation", "issuer": "issuer:国务院",
            "year": "year:2021 or year:2019..2023", "doc": "doc:central-law-constitution-2018",
            "doc_number": "文号:中发〔2021〕16号", "language": "lang:zh",
            "status": "status:amended or 效力:现行有效"}[name]


def _one_of(value: str, aliases: dict[str, str], allowed: tuple[str, ...], name: str) -> str:
    found = aliases.get(value.lower()) or aliases.get(value)
    if found is None:
        raise QueryError(f"{name}:{value} is not known — use one of {', '.join(allowed)}")
    return found


def parse_statuses(value: str) -> tuple[str, ...]:
    """Validity statuses from ``current``, ``已修订,已废止`` or ``all`` (every status, history included)."""
    found: list[str] = []
    for part in re.split(r"[,，、|]", value):
        part = part.strip()
        if not part:
            continue
        if part.lower() in _EVERY_STATUS:
            found.extend(STATUSES)
            continue
        status = STATUS_ALIASES.get(part.lower().replace("-", "_")) or STATUS_ALIASES.get(part)
        if status is None:
            raise QueryError(f"status:{part} is not known — use one of {', '.join(STATUSES)}, all "
                             "(or 现行有效, 已修订, 已废止, 尚未生效)")
        found.append(status)
    if not found:
        raise QueryError(f"status: needs a value, e.g. {_example('status')}")
    return tuple(dict.fromkeys(found))


def parse_year(value: str) -> tuple[int | None, int | None]:
    value = value.strip().removesuffix("年")
    if re.fullmatch(r"\d{4}", value):
        return int(value), int(value)
    match = _YEAR_RANGE.match(value)
    if match and (match.group(1) or match.group(2)):
        low = int(match.group(1)) if match.group(1) else None
        high = int(match.group(2)) if match.group(2) else None
        if low is not None and high is not None and low > high:
            raise QueryError(f"year:{value} runs backwards — write the earlier year first, e.g. year:{high}..{low}")
        return low, high
    raise QueryError(f"year:{value} is not a year — write year:2021, year:2019..2023, year:2019.. or year:..2023")


def parse_query(query: str) -> ParsedQuery:
    if len(query) > _MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(query)} characters long; keep it under {_MAX_QUERY_CHARS}")
    query = "".join(c for c in query if c.isprintable() or c in _SPACE)
    items = _lex(query)
    groups: list[list[Clause]] = []
    excluded: list[Clause] = []
    filters: dict[str, list[str]] = {}
    years: list[tuple[int | None, int | None]] = []
    pending_or = False
    for index, item in enumerate(items):
        if item.is_or:
            if not groups or pending_or or index == len(items) - 1 or items[index + 1].negated \
                    or items[index + 1].field_name or items[index + 1].is_or:
                raise QueryError(f"{item.text} must stand between two words, e.g. 接诉即办 {item.text} 街乡吹哨")
            pending_or = True
            continue
        if item.field_name:
            if item.negated:
                raise QueryError(f"-{item.field_name}: is not supported — choose the values you want instead")
            if item.field_name == "year":
                years.append(parse_year(item.text))
            else:
                filters.setdefault(item.field_name, []).append(item.text)
            continue
        if not item.text.strip():
            raise QueryError("the quotes are empty — put the exact wording between them")
        clause = Clause(item.text.strip(), exact=item.exact)
        if item.negated:
            excluded.append(clause)
        elif pending_or:
            groups[-1].append(clause)
            pending_or = False
        else:
            groups.append([clause])
    if excluded and not groups and not filters and not years:
        raise QueryError("a query cannot only exclude: add a word to search for before -" + excluded[0].text)
    if not groups and not filters and not years:
        raise QueryError("type some words to search for, or a filter such as level:provincial")

    year_from = max((low for low, _ in years if low is not None), default=None)
    year_to = min((high for _, high in years if high is not None), default=None)
    return ParsedQuery(
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        levels=tuple(dict.fromkeys(_one_of(v, LEVEL_ALIASES, LEVELS, "level") for v in filters.get("level", []))),
        kinds=tuple(dict.fromkeys(_one_of(v, KIND_ALIASES, KINDS, "kind") for v in filters.get("kind", []))),
        languages=tuple(dict.fromkeys(
            _one_of(v, LANGUAGE_ALIASES, LANGUAGES, "lang") for v in filters.get("language", []))),
        issuers=tuple(filters.get("issuer", [])),
        doc_ids=tuple(filters.get("doc", [])),
        doc_numbers=tuple(filters.get("doc_number", [])),
        year_from=year_from,
        year_to=year_to,
        statuses=_all_of(filters.get("status", [])),
    )


def _all_of(values: list[str]) -> tuple[str, ...]:
    """The statuses of every status: filter, like several level: filters: any of them."""
    return tuple(dict.fromkeys(status for value in values for status in parse_statuses(value)))


def parse_filters(*, level: str | None = None, kind: str | None = None, issuer: str | None = None,
                  year: str | None = None, doc: str | None = None, doc_number: str | None = None,
                  language: str | None = None, status: str | None = None) -> ParsedQuery:
    """Filters given as separate parameters (web form, API, CLI options), validated like query filters."""
    year_from, year_to = parse_year(year) if year else (None, None)
    return ParsedQuery(
        levels=(_one_of(level, LEVEL_ALIASES, LEVELS, "level"),) if level else (),
        kinds=(_one_of(kind, KIND_ALIASES, KINDS, "kind"),) if kind else (),
        languages=(_one_of(language, LANGUAGE_ALIASES, LANGUAGES, "lang"),) if language else (),
        issuers=(issuer,) if issuer else (),
        doc_ids=(doc,) if doc else (),
        doc_numbers=(doc_number,) if doc_number else (),
        year_from=year_from,
        year_to=year_to,
        statuses=parse_statuses(status) if status else (),
    )
