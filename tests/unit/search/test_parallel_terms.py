"""Terms mined from the corpus's parallel documents (State and Party Constitutions, Chinese and English)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from study_hub.search import parallel_terms
from study_hub.search.crosslingual import MINED_PATH


@pytest.mark.parametrize("text, number", [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("一百二十三", 123),
                                          ("一百零五", 105), ("一百四十三", 143)])
def test_chinese_article_numbers(text: str, number: int) -> None:
    assert parallel_terms.chinese_number(text) == number


def test_articles_are_aligned_by_number(tmp_path: Path) -> None:
    zh = tmp_path / "zh.txt"
    en = tmp_path / "en.txt"
    zh.write_text("宪法\n序言\n第一条 国务院是最高国家行政机关。\n第二条 公民有选举权。\n第二款\n", encoding="utf-8")
    en.write_text("Constitution\nArticle 1 The State Council is the highest organ.\nArticle 2 Citizens vote.\nMore\n",
                  encoding="utf-8")
    zh_articles = parallel_terms.articles(zh, parallel_terms._ZH_ARTICLE, parallel_terms.chinese_number)
    en_articles = parallel_terms.articles(en, parallel_terms._EN_ARTICLE, int)
    assert sorted(zh_articles) == sorted(en_articles) == [1, 2]
    assert zh_articles[2].endswith("第二款") and en_articles[2].endswith("More")


def test_phrases_that_share_their_articles_are_paired() -> None:
    subjects = [("教育", "education"), ("卫生", "health"), ("体育", "sports"), ("财政", "finance"),
                ("民政", "civil affairs"), ("外交", "foreign affairs")]
    pairs = [(f"第{i}条 国务院负责{topic}。", f"Article {i} The State Council is in charge of {english}.")
             for i, (topic, english) in enumerate(subjects[:4], 1)]
    pairs += [(f"第{i}条 地方政府负责{topic}。", f"Article {i} Local governments are in charge of {english}.")
              for i, (topic, english) in enumerate(subjects[2:], 5)]
    mined = {(english, chinese) for english, chinese, _, _ in parallel_terms.mine(pairs)}
    assert ("state council", "国务院") in mined
    assert not any(chinese == "国务院" and english != "state council" for english, chinese in mined)


def test_the_shipped_mined_glossary_is_what_the_miner_makes_of_the_shared_corpus(shared_corpus: Path) -> None:
    docs = shared_corpus / "docs"
    files = [docs / name for name in ("central-law-constitution-2018.txt", "central-law-constitution-en.txt",
                                      "central-reg-cpc-constitution-2017-zh.txt", "central-reg-cpc-constitution-2017-en.txt")]
    made = subprocess.run([sys.executable, "-m", "study_hub.search.parallel_terms", *map(str, files),
                           "--metadata", str(shared_corpus / "metadata.jsonl")],
                          capture_output=True, text=True, check=True, encoding="utf-8")
    assert made.stdout == MINED_PATH.read_text(encoding="utf-8")
    assert "national people's congress = 全国人民代表大会" in made.stdout
    assert "qingdao = 青岛市  # place" in made.stdout
