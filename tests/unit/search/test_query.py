import pytest
from hypothesis import given
from hypothesis import strategies as st

from study_hub.search.query import Clause, QueryError, parse_filters, parse_query


def test_words_phrases_exclusions_or_and_filters() -> None:
    parsed = parse_query('接诉即办 OR 街乡吹哨 “小事不出村” -前期 -"物业服务" level:省级 kind:regulation '
                         'issuer:"中共中央 国务院" year:2019..2023 文号:中发〔2021〕16号 doc:abc')
    assert parsed.groups == ((Clause("接诉即办"), Clause("街乡吹哨")), (Clause("小事不出村", exact=True),))
    assert parsed.excluded == (Clause("前期"), Clause("物业服务", exact=True))
    assert parsed.levels == ("provincial",) and parsed.kinds == ("regulation",)
    assert parsed.issuers == ("中共中央 国务院",) and parsed.doc_numbers == ("中发〔2021〕16号",)
    assert (parsed.year_from, parsed.year_to, parsed.doc_ids) == (2019, 2023, ("abc",))


def test_filters_only_is_a_browse_query() -> None:
    parsed = parse_query("级别:市级 年份:2021")
    assert not parsed.has_terms and parsed.has_filters and parsed.levels == ("municipal",)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"基层治理', "not closed"),
        ("基层 OR", "must stand between two words"),
        ("OR 基层", "must stand between two words"),
        ("-物业", "cannot only exclude"),
        ("   ", "type some words"),
        ("level:galaxy 物业", "level:galaxy is not known"),
        ("year:abc 物业", "is not a year"),
        ("year:2023..2019 物业", "runs backwards"),
        ("levle:provincial 物业", "did you mean level:"),
        ('物业 ""', "quotes are empty"),
        ("kind: 物业", "needs a value"),
        ("物" * 1001, "keep it under"),
    ],
)
def test_malformed_queries_explain_themselves(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)


def test_colons_in_ordinary_text_are_words() -> None:
    assert parse_query("Question: what is 12345?").groups[0] == (Clause("Question:"),)
    assert parse_query("http://www.gov.cn").groups == ((Clause("http://www.gov.cn"),),)


def test_parameter_filters_use_the_same_rules() -> None:
    assert parse_filters(level="省级", year="2021").levels == ("provincial",)
    with pytest.raises(QueryError):
        parse_filters(kind="poem")


@given(st.text(max_size=200))
def test_any_text_parses_or_explains(query: str) -> None:
    try:
        parse_query(query)
    except QueryError as error:
        assert str(error)


def test_mixed_chinese_and_ascii_quotes_close_each_other() -> None:
    assert parse_query('“吾为国家守尔，后当献于上。"这句话').groups[0] == (Clause("吾为国家守尔，后当献于上。", exact=True),)
    assert parse_query('"小事不出村”').groups == ((Clause("小事不出村", exact=True),),)


@pytest.mark.parametrize(
    "query, wording",
    [
        ('"公共数据质量管理遵循“谁提供，谁负责”的原则"', "公共数据质量管理遵循“谁提供，谁负责”的原则"),
        ("“公共数据质量管理遵循「谁提供，谁负责」的原则”", "公共数据质量管理遵循「谁提供，谁负责」的原则"),
        ('“坚持党建引领"街乡吹哨、部门报到"工作机制”', '坚持党建引领"街乡吹哨、部门报到"工作机制'),
        ("「实行“小事不出村、大事不出镇”」", "实行“小事不出村、大事不出镇”"),
        ("『坚持『两个确立』』", "坚持『两个确立』"),
        ("“坚持“两个维护””", "坚持“两个维护”"),
    ],
)
def test_quotes_of_another_kind_inside_exact_wording_are_part_of_it(query: str, wording: str) -> None:
    assert parse_query(query).groups == ((Clause(wording, exact=True),),)


def test_two_quoted_phrases_with_mixed_quotes_stay_two() -> None:
    assert parse_query('"小事不出村” "大事不出镇"').groups == (
        (Clause("小事不出村", exact=True),), (Clause("大事不出镇", exact=True),))


def test_validity_filters_in_the_query_and_as_a_parameter() -> None:
    assert parse_query("物业 status:amended").statuses == ("amended",)
    assert parse_query("物业 效力:已废止,现行有效").statuses == ("repealed", "current")
    assert parse_query("物业 时效性:尚未生效 status:repealed").statuses == ("not_yet_effective", "repealed")
    assert parse_query("物业 status:all").statuses == ("current", "amended", "repealed", "not_yet_effective",
                                                       "unknown")
    assert parse_query("物业").statuses == ()  # not asked: search applies its default
    browse = parse_query("效力:已修订")
    assert not browse.has_terms and browse.has_filters
    assert parse_filters(status="现行有效，尚未生效").statuses == ("current", "not_yet_effective")
    with pytest.raises(QueryError, match="status:valid-ish is not known"):
        parse_query("物业 status:valid-ish")
    with pytest.raises(QueryError, match="did you mean status:"):
        parse_query("物业 statsu:amended")
    with pytest.raises(QueryError, match="needs a value"):
        parse_filters(status=",")
