import pytest

from study_hub.ingest.metadata import (
    find_dates,
    find_doc_number,
    guess_language,
    issuer_from_title,
    kind_of_title,
    level_of_issuer,
    parse_metadata,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("中发〔2021〕16号", "中发〔2021〕16号"),
        ("国办发[2019]5号", "国办发〔2019〕5号"),  # written the standard way (GB/T 9704: 〔〕)
        ("晋政发（2020）12号", "晋政发〔2020〕12号"),
        ("并政办发(2022)3 号", "并政办发〔2022〕3号"),  # 并: Taiyuan's code, not the conjunction
        ("中华人民共和国主席令第 五十 号", None),  # Chinese-numeral orders are not 文号 we can verify
        ("国务院令第 752 号", "国务院令第752号"),
        ("中华人民共和国国务院令\n第752号", "国务院令第752号"),  # an order's header on two lines
        ("2003年6月8日 中华人民共和国国务院令第379号公布", "国务院令第379号"),
        ("没有文号的文件", None),
        # Numbers the text cites are another document's, not its own:
        ("根据国发〔2020〕5号文件精神，结合实际", None),
        ("根据国务院令第379号的规定", None),
        ("关于印发方案的通知\n现将《中共中央关于加强基层治理的意见》（中发〔2021〕16号）转发给你们", None),
        # ...and a number on a line of its own is the document's even after one it cites:
        ("关于印发方案的通知\n现将《意见》（中发〔2021〕16号）印发给你们\n迎发〔2023〕8号", "迎发〔2023〕8号"),
    ],
)
def test_doc_numbers(text: str, number: str | None) -> None:
    assert find_doc_number(text) == number


def test_dates_in_every_written_form() -> None:
    text = "2021年4月28日印发；二〇二一年七月十一日；2022-01-05；2023年3月"
    assert [iso for _, iso in find_dates(text)] == ["2021-04-28", "2021-07-11", "2022-01-05", "2023-03"]


def test_parse_metadata_from_an_official_document() -> None:
    text = "\n".join([
        "中共太原市迎泽区委关于推进党建引领基层治理的实施方案",
        "迎发〔2023〕8号",
        "各街道党工委，区直各单位：",
        "现将方案印发给你们，请认真贯彻落实。本方案自2023年6月1日起施行。",
        "中共太原市迎泽区委",
        "2023年5月20日",
    ])
    meta = parse_metadata(text)
    assert meta.title == "中共太原市迎泽区委关于推进党建引领基层治理的实施方案"
    assert meta.issuer == "中共太原市迎泽区委"
    assert meta.doc_number == "迎发〔2023〕8号"
    assert meta.date == "2023-05-20"
    assert meta.dates == {"effective": "2023-06-01", "issued": "2023-05-20"}
    assert (meta.level, meta.kind, meta.language) == ("district", "document", "zh")


def test_regulation_adoption_date() -> None:
    meta = parse_metadata("某市物业管理条例\n（2021年4月28日某市人民代表大会常务委员会通过）\n第一条 为了规范物业管理活动，制定本条例。")
    assert meta.kind == "regulation"
    assert meta.dates["adopted"] == "2021-04-28"
    assert meta.date == "2021-04-28"


@pytest.mark.parametrize(
    ("issuer", "level"),
    [("中共中央 国务院", "central"), ("国务院办公厅", "central"), ("山西省人民政府", "provincial"),
     ("北京市人民代表大会常务委员会", "provincial"), ("中共太原市委", "municipal"),
     ("青岛市人民政府", "municipal"), ("迎泽区委", "district"), ("中共太原市迎泽区委", "district"),
     ("广西壮族自治区人民政府", "provincial"), ("山西省太原市人民政府", "municipal"), ("某某协会", None)],
)
def test_level_of_issuer(issuer: str, level: str | None) -> None:
    assert level_of_issuer(issuer) == level


def test_title_rules() -> None:
    assert issuer_from_title("国务院关于加强数字政府建设的指导意见") == "国务院"
    assert issuer_from_title("关于加强数字政府建设的指导意见") is None
    assert kind_of_title("中华人民共和国行政处罚法") == "regulation"
    assert kind_of_title("政府工作报告") == "report"
    assert kind_of_title("在基层代表座谈会上的讲话") == "speech"
    assert kind_of_title("青岛市物业管理条例（2021年修订）") == "regulation"
    assert guess_language("Article 1 The People's Republic of China") == "en"
