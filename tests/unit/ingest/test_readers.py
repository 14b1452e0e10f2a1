"""Each reader on a file made here with the format's own tools (python-docx, reportlab, pypdf)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from study_hub.errors import IngestError
from study_hub.ingest.readers import read_file

LIMITS = {"max_bytes": 5 * 2**20, "max_unpacked_bytes": 20 * 2**20}
TITLE = "关于加强基层治理的实施意见"
ITEM = "（一）指导思想。坚持党建引领，推进网格化管理，完善接诉即办机制，提升基层治理能力。"


def _read(path: Path, **limits):
    return read_file(path, **{**LIMITS, **limits})


def test_txt_in_gb18030_records_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "意见.txt"
    path.write_bytes(f"{TITLE}\r\n\r\n　　一、总体要求\r\n　　{ITEM}\r\n".encode("gb18030"))
    raw = _read(path)
    assert raw.encoding == "gb18030"
    assert raw.text == f"{TITLE}\n一、总体要求\n{ITEM}"  # CRLF, blank lines and 　 indents normalised
    assert raw.source_format == "txt" and len(raw.source_hash) == 64


def test_markdown_front_matter_and_headings(tmp_path: Path) -> None:
    path = tmp_path / "plan.md"
    path.write_text(
        f"---\ntitle: {TITLE}\nissuer: 迎泽区委\nlevel: district\n文号: 迎发〔2023〕8号\nauthor_note: kept\n---\n"
        f"# {TITLE}\n\n## 一、总体要求\n\n{ITEM}\n",
        encoding="utf-8",
    )
    raw = _read(path)
    assert (raw.meta.title, raw.meta.issuer, raw.meta.level, raw.meta.doc_number) == (
        TITLE, "迎泽区委", "district", "迎发〔2023〕8号")
    assert raw.meta.extra == {"author_note": "kept"}
    assert raw.text == f"{TITLE}\n一、总体要求\n{ITEM}"
    assert raw.heading_levels == {0: 1, 1: 2}


def test_broken_front_matter_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\n正文内容。\n", encoding="utf-8")
    with pytest.raises(IngestError, match="front matter"):
        _read(path)


def test_html_with_declared_gbk_charset(tmp_path: Path) -> None:
    page = (
        f'<html><head><meta charset="gbk"><title>网站名称</title><meta name="ArticleTitle" content="{TITLE}">'
        f'<meta name="PubDate" content="2023-05-20"><script>var x = "不要";</script></head>'
        f"<body><nav>首页 | 政策</nav><h1>{TITLE}</h1><h2>一、总体要求</h2><p>{ITEM}</p>"
        "<p>第二段<br>换行</p><table><tr><td>单元格甲</td><td>单元格乙</td></tr></table></body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode("gbk"))
    raw = _read(path)
    assert raw.encoding == "gb18030"
    assert raw.meta.title == TITLE and raw.meta.date == "2023-05-20"
    assert raw.text.split("\n") == [TITLE, "一、总体要求", ITEM, "第二段", "换行", "单元格甲", "单元格乙"]
    assert raw.heading_levels == {0: 1, 1: 2}
    assert "不要" not in raw.text and "首页" not in raw.text


def _make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = TITLE
    document.add_heading(TITLE, level=0)
    document.add_heading("一、总体要求", level=1)
    document.add_paragraph(ITEM)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "责任单位"
    table.rows[0].cells[1].text = "区委组织部"
    document.save(str(path))


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "意见.docx"
    _make_docx(path)
    raw = _read(path)
    assert raw.meta.title == TITLE
    assert raw.text.split("\n") == [TITLE, "一、总体要求", ITEM, "责任单位\u3000区委组织部"]
    assert raw.heading_levels == {0: 1, 1: 1}


def test_corrupt_docx(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    with pytest.raises(IngestError, match="corrupt docx"):
        _read(path)


def test_docx_zip_without_word_parts(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(IngestError, match="corrupt docx"):
        _read(path)


def test_docx_that_unpacks_too_large_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * (3 * 2**20))  # compresses to a few KB
    assert path.stat().st_size < 100_000
    with pytest.raises(IngestError, match="unpack to 3 MiB, over the limit of 1 MiB"):
        _read(path, max_unpacked_bytes=2**20)


def _make_pdf(path: Path, lines: list[str], encrypt: str | None = None) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    pdf.setTitle(TITLE)
    pdf.setFont("STSong-Light", 11)
    y = 800
    for line in lines:
        pdf.drawString(60, y, line)
        y -= 18
    pdf.drawString(290, 40, "- 1 -")  # a page number, which is not text of the document
    pdf.save()


def test_pdf_text_layer_rejoins_wrapped_lines(tmp_path: Path) -> None:
    path = tmp_path / "意见.pdf"
    _make_pdf(path, [TITLE, "一、总体要求", "（一）指导思想。坚持党建引领，推进网格化管理，完善接诉即",
                     "办机制，提升基层治理能力，让群众少跑腿、数据多跑路，把服务送到",
                     "家门口。", "（二）工作原则。坚持以人民为中心。"])
    raw = _read(path)
    assert raw.meta.title == TITLE
    assert raw.text.split("\n") == [
        TITLE, "一、总体要求",
        "（一）指导思想。坚持党建引领，推进网格化管理，完善接诉即办机制，提升基层治理能力，让群众少跑腿、数据多跑路，把服务送到家门口。",
        "（二）工作原则。坚持以人民为中心。",
    ]


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(50, 50, 400, 600, fill=1)  # a page that is only a picture
    pdf.save()
    with pytest.raises(IngestError, match="no text layer"):
        _read(path)


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    _make_pdf(path, [TITLE, ITEM], encrypt="secret")
    with pytest.raises(IngestError, match="encrypted"):
        _read(path)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_pdf(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "broken.pdf"
    if damage == "garbage":
        path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage garbage\n%%EOF")
    else:
        _make_pdf(path, [TITLE, ITEM])
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(IngestError, match="corrupt pdf"):
        _read(path)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b" \n\r\n\t\n", "file is empty"),
        ("old.doc", b"\xd0\xcf\x11\xe0", r"unsupported file type \.doc \(save it as \.docx\)"),
        ("noise.txt", bytes(range(256)) * 8, "cannot tell the text encoding"),
    ],
)
def test_bad_files_get_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason):
        _read(path)


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes("很长的文件。".encode() * 200_000)
    with pytest.raises(IngestError, match=r"over the limit of 1 MiB \(raise STUDY_HUB_MAX_FILE_BYTES"):
        _read(path, max_bytes=2**20)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        _read(tmp_path / "nope")
