"""Mine English -> Chinese terms from parallel documents of the corpus, for the glossary of English questions.

    python -m study_hub.search.parallel_terms ZH EN [ZH EN ...] [--metadata FILE] > data/en_zh_mined.txt

The State Constitution and the Party Constitution are in the corpus in both languages, article by article
(第N条 / Article N). Over the aligned articles, an English phrase (one to four words) and a Chinese word that
occur in the same articles, and each is the other's best partner (Dice coefficient over articles), are taken
as translations of each other: national people's congress = 全国人民代表大会, procuratorates = 人民检察院.
With ``--metadata`` (the corpus's metadata.jsonl) the place names in the ids of local documents are paired
with the Chinese place in their titles (qingdao = 青岛市). The output is reviewed and committed;
``crosslingual.Glossary`` reads it beside the hand-written glossary.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from study_hub.segment.tokens import STOP_WORDS, default_analyzer

_NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_ARTICLE = re.compile(r"^第([零一二两三四五六七八九十百]+)条")
_EN_ARTICLE = re.compile(r"^Article\s+(\d+)\b")
_EN_WORD = re.compile(r"[a-z][a-z'’-]*")
_EN_STOP = STOP_WORDS | {"shall", "may", "its", "their", "all", "any", "such", "other", "it", "not", "has", "have",
                         "from", "into", "who", "whose", "they", "them", "these", "those", "must", "will", "been",
                         "was", "were", "than", "also", "upon", "under", "accordance", "there", "no", "if", "when",
                         "where", "own", "each", "every", "his", "her", "he", "she", "we", "our", "can", "should"}
_JOINING = {"of", "for", "and"}  # the stop words a term may hold: people's republic of china
MIN_ARTICLES = 4  # a pair must share at least this many articles
MIN_DICE = 0.75


def chinese_number(text: str) -> int:
    """一百二十三 -> 123 (the numbers of articles)."""
    total, current = 0, 0
    for char in text:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _NUMERALS[char]
    return total + current


def articles(path: Path, pattern: re.Pattern[str], number) -> dict[int, str]:
    """Article number -> its text (the heading line and the lines up to the next article)."""
    found: dict[int, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = pattern.match(line.strip())
        if match:
            current = number(match.group(1))
            found.setdefault(current, [])
        if current is not None:
            found[current].append(line.strip())
    return {n: "\n".join(lines) for n, lines in found.items()}


def english_phrases(text: str, longest: int = 4) -> set[str]:
    """Phrases of one to ``longest`` words that neither start nor end with a stop word."""
    phrases = set()
    text = _EN_ARTICLE.sub("", text)
    for sentence in re.split(r"[.;:,()\n]", text.lower().replace("’", "'")):
        words = _EN_WORD.findall(sentence)
        for size in range(1, longest + 1):
            for start in range(len(words) - size + 1):
                part = words[start:start + size]
                if part[0] in _EN_STOP or part[-1] in _EN_STOP or any(len(w) < 3 for w in (part[0], part[-1])):
                    continue
                if any(w in _EN_STOP and w not in _JOINING for w in part[1:-1]):  # "council is in charge"
                    continue
                phrases.add(" ".join(w.strip("'-") for w in part))
    return phrases


def chinese_words(text: str) -> set[str]:
    """The words of the precise segmentation (not search mode's overlapping parts: 会主 of 社会主义)."""
    text = _ZH_ARTICLE.sub("", text)
    return {w for w in default_analyzer().query_words(text) if len(w) >= 2 and not w.isascii()}


def mine(pairs: list[tuple[str, str]]) -> list[tuple[str, str, float, int]]:
    """(english, chinese, dice, shared articles) for mutually best partners over aligned (zh, en) texts."""
    english_sets = [english_phrases(en) for _, en in pairs]
    chinese_sets = [chinese_words(zh) for zh, _ in pairs]
    english_count = Counter(p for s in english_sets for p in s)
    chinese_count = Counter(w for s in chinese_sets for w in s)
    together: Counter[tuple[str, str]] = Counter()
    for english, chinese in zip(english_sets, chinese_sets, strict=True):
        wanted = [p for p in english if english_count[p] >= MIN_ARTICLES]
        words = [w for w in chinese if chinese_count[w] >= MIN_ARTICLES]
        together.update((p, w) for p in wanted for w in words)

    def dice(pair: tuple[str, str]) -> float:
        return 2 * together[pair] / (english_count[pair[0]] + chinese_count[pair[1]])

    # Best partners by Dice, then by shared articles; among phrases inside one fixed expression that share the
    # same articles (people's congress, national people's congress) the longest, the whole expression, wins.
    # Sorted keys throughout: the same corpus always gives the same file.
    best_for_english: dict[str, tuple] = {}
    best_for_chinese: dict[str, tuple] = {}
    for pair in sorted(together):
        count = together[pair]
        if count < MIN_ARTICLES:
            continue
        english, chinese = pair
        score = round(dice(pair), 6)
        best_for_english[english] = max(best_for_english.get(english, ()), (score, count, len(chinese), chinese))
        best_for_chinese[chinese] = max(best_for_chinese.get(chinese, ()),
                                        (score, count, len(english.split()), english))
    mined = []
    for english, (score, count, _, chinese) in best_for_english.items():
        if score >= MIN_DICE and best_for_chinese[chinese][-1] == english:
            mined.append((english, chinese, score, count))
    return sorted(mined, key=lambda m: (-m[2], m[0]))


def places(metadata: Path) -> list[tuple[str, str]]:
    """(pinyin, Chinese place) from local documents: municipal-reg-qingdao-property-2021 issued by 青岛市…."""
    found = {}
    for line in metadata.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else None
        if not record or record.get("level") not in ("provincial", "municipal", "district"):
            continue
        place = re.match(r"^(.{2,3}?(?:省|市|区|县))", record.get("issuer") or "")
        slug = [part for part in record["id"].split("-")[2:] if part.isalpha() and part not in _NOT_PLACES]
        if place and slug:
            found.setdefault(slug[0], place.group(1))
    return sorted(found.items())


_NOT_PLACES = {"reg", "report", "gwr", "news", "doc", "law"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="pairs of files: Chinese, then its English")
    parser.add_argument("--metadata", type=Path, help="the corpus's metadata.jsonl, for place names")
    args = parser.parse_args(argv)
    if len(args.files) % 2:
        parser.error("give the files in pairs: Chinese, English")
    aligned = []
    for zh_path, en_path in zip(args.files[::2], args.files[1::2], strict=True):
        zh = articles(zh_path, _ZH_ARTICLE, chinese_number)
        en = articles(en_path, _EN_ARTICLE, int)
        aligned.extend((zh[n], en[n]) for n in sorted(set(zh) & set(en)))
        print(f"# {zh_path.name} / {en_path.name}: {len(set(zh) & set(en))} aligned articles", file=sys.stderr)
    out = sys.stdout
    out.write("# Mined by `python -m study_hub.search.parallel_terms` (see its docstring): English phrases and\n"
              "# Chinese"
              " words that are each other's best partner over the aligned articles of the State and Party\n"
              "# Constitutions; place names from the ids and titles of local documents. Regenerate, do not edit.\n")
    for english, chinese, score, shared in mine(aligned):
        out.write(f"{english} = {chinese}  # dice {score:.2f}, {shared} articles\n")
    if args.metadata:
        for slug, place in places(args.metadata):
            out.write(f"{slug} = {place}  # place\n")


if __name__ == "__main__":
    main()
