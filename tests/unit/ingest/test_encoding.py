import codecs

import pytest

from study_hub.ingest.encoding import UndecodableError, decode_bytes

SIMPLIFIED = "中共中央 国务院关于加强基层治理体系和治理能力现代化建设的意见\n一、总体要求\n（一）指导思想。坚持和加强党的全面领导。"
TRADITIONAL = "中共中央國務院關於加強基層治理體系和治理能力現代化建設的意見\n一、總體要求\n（一）指導思想。堅持和加強黨的全面領導。"


@pytest.mark.parametrize(
    ("data", "expected_encoding", "expected_text"),
    [
        (SIMPLIFIED.encode("utf-8"), "utf-8", SIMPLIFIED),
        (codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8-sig", SIMPLIFIED),
        (SIMPLIFIED.encode("gb18030"), "gb18030", SIMPLIFIED),
        (SIMPLIFIED.encode("gbk"), "gb18030", SIMPLIFIED),  # GB18030 decodes GBK and GB2312 exactly
        (TRADITIONAL.encode("big5"), "big5", TRADITIONAL),
        (SIMPLIFIED.encode("utf-16"), "utf-16", SIMPLIFIED),
        ("基层治理".encode("gb18030"), "gb18030", "基层治理"),  # too short for statistics
        (b"Plain ASCII text.", "utf-8", "Plain ASCII text."),
    ],
)
def test_decodes_and_names_the_encoding(data: bytes, expected_encoding: str, expected_text: str) -> None:
    assert decode_bytes(data) == (expected_text, expected_encoding)


def test_binary_noise_is_refused_with_advice() -> None:
    noise = bytes(range(256)) * 8
    with pytest.raises(UndecodableError, match="save the file as UTF-8"):
        decode_bytes(noise)
