"""The analyzer: offsets, positions, folding and the domain dictionary."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from study_hub.segment.tokens import DICTIONARY_PATH, default_analyzer, exact_pattern, fold, fold_exact


def _dictionary_terms() -> list[str]:
    lines = DICTIONARY_PATH.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def test_offsets_point_into_the_original_and_positions_are_ordinals() -> None:
    text = "中华人民共和国基层治理和网格化管理，接诉即办 ＰＭ２．５ 马克思主义"
    tokens = default_analyzer().index_tokens(text)
    for token in tokens:
        assert fold(text[token.start:token.end]) == token.text
    precise = [t for t in tokens if not any(o.start <= t.start and t.end <= o.end and o != t
                                            and (o.end - o.start) > (t.end - t.start) for o in tokens)]
    assert [t.position for t in precise] == list(range(len(precise)))  # one ordinal per word, no gaps
    by_text = {t.text: t for t in tokens}
    assert by_text["共和国"].position == by_text["中华人民共和国"].position  # sub-words share the position
    assert by_text["马克"].position == by_text["马克思主义"].position
    assert "pm2.5" in by_text  # full-width folded, lower-cased, kept as one English/number token
    assert "和" not in by_text and "，" not in by_text  # stop words and punctuation are not tokens


def test_longer_dictionary_words_inside_long_words_are_indexed() -> None:
    texts = {t.text for t in default_analyzer().index_tokens("加强基层治理体系和治理能力现代化建设")}
    assert {"基层治理体系", "基层治理", "治理能力现代化", "治理能力", "现代化"} <= texts


def test_every_dictionary_term_stays_one_token() -> None:
    analyzer = default_analyzer()
    for term in _dictionary_terms():
        assert analyzer.query_words(term) == [fold(term)], term
        assert fold(term) in analyzer.query_words(f"我们要推进{term}工作"), term


def test_dictionary_terms_stay_whole_in_the_real_corpus(shared_corpus) -> None:
    """Where a dictionary term occurs in the documents, the index holds it as a token there."""
    analyzer = default_analyzer()
    texts = [p.read_text(encoding="utf-8") for p in sorted((shared_corpus / "docs").glob("*.txt"))]
    misses, total = [], 0
    for term in _dictionary_terms():
        for text in texts:
            for match in re.finditer(re.escape(term), text):
                total += 1
                window_start = max(0, match.start() - 30)
                window = text[window_start:match.end() + 30]
                spans = {(t.start + window_start, t.end + window_start) for t in analyzer.index_tokens(window)
                         if t.text == fold(term)}
                if (match.start(), match.end()) not in spans:
                    misses.append(term)
    assert total > 1000
    assert len(misses) / total < 0.03, sorted(set(misses))[:20]


def test_index_terms_are_the_index_tokens_texts(shared_corpus) -> None:
    """The fast path tantivy's body field uses gives the very tokens the positioned path gives."""
    from collections import Counter

    analyzer = default_analyzer()
    for path in sorted((shared_corpus / "docs").glob("*.txt"))[:12]:
        for paragraph in path.read_text(encoding="utf-8").split("\n"):
            assert Counter(analyzer.index_terms(paragraph)) == Counter(t.text for t in analyzer.index_tokens(paragraph))


def test_version_changes_with_the_dictionary(tmp_path) -> None:
    from study_hub.segment.tokens import Analyzer

    other = tmp_path / "other.dict.txt"
    other.write_text(DICTIONARY_PATH.read_text(encoding="utf-8") + "新名词测试 3000\n", encoding="utf-8")
    assert Analyzer(other).version != default_analyzer().version
    assert Analyzer(other).query_words("新名词测试") == ["新名词测试"]
    assert default_analyzer().query_words("新名词测试") != ["新名词测试"]  # instances do not share a dictionary


def test_an_analyzer_pickles_as_its_recipe(tmp_path) -> None:
    """A process pool's worker gets the same analyzer: the shipped one by name, another by its dictionary."""
    import pickle
    from dataclasses import replace

    import pytest

    from study_hub.segment.tokens import Analyzer

    assert pickle.loads(pickle.dumps(default_analyzer())) is default_analyzer()
    assert pickle.loads(pickle.dumps(Analyzer())) is default_analyzer()  # wherever this installation keeps it
    other = tmp_path / "other.dict.txt"
    other.write_text(DICTIONARY_PATH.read_text(encoding="utf-8") + "新名词测试 3000\n", encoding="utf-8")
    analyzer = Analyzer(other)
    rebuilt = pickle.loads(pickle.dumps(analyzer))
    assert rebuilt is not analyzer and rebuilt.version == analyzer.version
    assert rebuilt.query_words("新名词测试") == ["新名词测试"]
    assert pickle.loads(pickle.dumps(analyzer)) is rebuilt  # once per process
    with pytest.raises(ValueError, match="changed"):  # a dictionary edited since: not the analyzer asked for
        replace(analyzer.recipe, version="rjieba-search/1+dict-000000000000").build()


def test_cover_spells_a_long_word_with_shorter_ones() -> None:
    assert default_analyzer().cover("治理能力现代化") == ("治理能力", "现代化")
    assert default_analyzer().cover("物业") == ()


def test_exact_folding() -> None:
    assert fold_exact("第一章　总　　则\n第一条  Social   Governance") == "第一章总则第一条social governance"
    pattern = exact_pattern("总则 第一条")
    original = "第一章　总　　则\n第一条"
    start, end = pattern.search(fold(original)).span()
    assert original[start:end] == "总　　则\n第一条"


@given(st.text(max_size=300))
def test_fold_keeps_length_and_tokens_round_trip(text: str) -> None:
    assert len(fold(text)) == len(text)
    for token in default_analyzer().index_tokens(text):
        assert fold(text[token.start:token.end]) == token.text


def test_term_spans_are_the_index_tokens_among_the_terms(shared_corpus) -> None:
    """The highlighter's fast path finds exactly what filtering index_tokens would."""
    analyzer = default_analyzer()
    text = (shared_corpus / "docs" / "central-doc-2021-grassroots-governance-opinions.txt").read_text(
        encoding="utf-8")[:6000]
    tokens = analyzer.index_tokens(text)
    vocabulary = sorted({t.text for t in tokens})
    for terms in ({"基层治理"}, set(vocabulary[::7]), set(vocabulary[3::11]) | {"不存在的词"}):
        expected = sorted((t.start, t.end) for t in tokens if t.text in terms)
        assert sorted(analyzer.term_spans(text, terms)) == expected
