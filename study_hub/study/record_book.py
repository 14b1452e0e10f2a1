"""The record book printed: a session's record (会议记录) and a unit's ledger (台账) as DOCX (python-docx) and PDF
(reportlab, its built-in Adobe CID font STSong-Light, as the study packs: no font ships or downloads).

Both formats lay out the same blocks (``_record_blocks``): a table of the short fields (name, type, time, place,
host unit, 主持人, 记录人, the attendance figures), then the lists of names, the agenda, what was studied (with
文号 and a link into the reader), the minutes, the make-up study, and lines for the signatures. Anything whose
length people decide (the names of 300 members, minutes, reflections) is a paragraph, never a table cell: a
reportlab table row cannot run over a page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from study_hub.study.records import Ledger, Person, SessionRecord
from study_hub.study.sessions import SESSION_KINDS

FONT = "STSong-Light"


@dataclass
class Block:
    kind: str  # heading | fields | para | link | small
    text: str = ""
    rows: list[tuple[str, str]] | None = None  # fields
    url: str = ""  # link


def _names(people: list[Person], with_notes: bool = True) -> str:
    if not people:
        return "无"
    return "、".join(f"{p.name}（{p.note}）" if with_notes and p.note else p.name for p in people)


def figures(record: SessionRecord) -> str:
    text = (f"应到 {len(record.expected)} 人，实到 {len(record.present)} 人，迟到 {len(record.late)} 人，"
            f"请假 {len(record.excused)} 人，缺席 {len(record.absent)} 人")
    return text + (f"，未记录 {len(record.pending)} 人" if record.pending else "")


def _record_blocks(record: SessionRecord) -> list[Block]:
    place = record.place + (f"（线上：{record.online_link}）" if record.online_link else "")
    blocks = [Block("fields", rows=[
        ("会议名称", record.title), ("会议类型", record.kind_name), ("时间", record.when), ("地点", place or "—"),
        ("主办组织", record.host_unit or "—"), ("主持人", record.presider or "—"),
        ("记录人", record.recorder or "—"),
        ("出席情况", "（会议尚未召开）" if record.upcoming else figures(record)),
    ])]
    blocks += [Block("heading", f"实到（{len(record.present)}人）"), Block("para", _names(record.present, False)),
               Block("heading", f"迟到（{len(record.late)}人）"), Block("para", _names(record.late)),
               Block("heading", f"请假（{len(record.excused)}人）"), Block("para", _names(record.excused)),
               Block("heading", f"缺席（{len(record.absent)}人）"), Block("para", _names(record.absent))]
    if record.pending:
        blocks += [Block("heading", f"尚未记录（{len(record.pending)}人，会议未结束）"),
                   Block("para", _names(record.pending))]
    blocks += [Block("heading", "议程"), *[Block("para", line) for line in _lines(record.agenda)]]
    blocks.append(Block("heading", "学习内容"))
    if record.items:
        blocks.append(Block("small", f"学习清单：{record.reading_list}"))
        for number, item in enumerate(record.items, 1):
            source = "，".join(v for v in (item.doc_number, item.date) if v)
            text = f"{number}. 《{item.title}》{item.part}" + (f"（{source}）" if source else "") + \
                (f"——{item.note}" if item.note else "")
            blocks += [Block("para", text), Block("link", item.url, url=item.url)]
    else:
        blocks.append(Block("para", "（未关联学习清单）"))
    blocks += [Block("heading", "会议记录"), *[Block("para", line) for line in _lines(record.minutes)]]
    blocks.append(Block("heading", f"补学情况（{len(record.makeups)}人，已确认 {record.made_up} 人）"))
    if not record.makeups:
        blocks.append(Block("para", "无"))
    for number, makeup in enumerate(record.makeups, 1):
        blocks.append(Block("para", f"{number}. {makeup.name}（{makeup.status}）　提交：{makeup.submitted}　"
                                    f"确认：{makeup.confirmed or '待确认'}"))
        blocks += [Block("small", f"学习体会：{line}") for line in _lines(makeup.reflection, "")]
    blocks.append(Block("para", "主持人（签字）：＿＿＿＿＿＿　　记录人（签字）：＿＿＿＿＿＿"))
    return blocks


def _lines(text: str, empty: str = "（未填写）") -> list[str]:
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    return lines or ([empty] if empty else [])


def ledger_summary(ledger: Ledger) -> tuple[list[str], list[list[str]]]:
    header = ["序号", "日期", "类型", "会议名称", "主持人", "应到", "实到", "迟到", "请假", "缺席", "补学"]
    rows = [[str(n), r.day, r.kind_name, r.title + ("（待召开）" if r.upcoming else ""),
             r.presider or "—", str(len(r.expected)), str(len(r.present)), str(len(r.late)), str(len(r.excused)),
             str(len(r.absent)), str(r.made_up)] for n, r in enumerate(ledger.sessions, 1)]
    return header, rows


def ledger_counts(ledger: Ledger) -> tuple[list[str], list[list[str]]]:
    header = ["类型", "规定次数", "已召开", "已安排", "差额", "结论"]
    rows = []
    for count in ledger.counts:
        if count.required is None:
            verdict, required, short = "（不计入三会一课）", "—", "—"
        else:
            required, short = str(count.required), str(count.shortfall)
            verdict = f"未达标：缺 {count.shortfall} 次" if count.shortfall else "达标"
        rows.append([count.name, required, str(count.held), str(count.scheduled), short, verdict])
    return header, rows


def norms_line(ledger: Ledger) -> str:
    rule = "，".join(f"{SESSION_KINDS[k]}{n}次" for k, n in ledger.per_quarter.items())
    return f"规定次数依据{ledger.norms_source}：每季度{rule}；全年按四个季度计。"


# --- Word -------------------------------------------------------------------------------------------------------

def _docx():
    from docx import Document as Docx
    from docx.oxml.ns import qn

    out = Docx()
    normal = out.styles["Normal"]
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")  # Chinese in a print face
    return out


def _hyperlink(paragraph, url: str, text: str) -> None:
    """A clickable link (python-docx has no call for one): a w:hyperlink to an external relationship."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True))
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    for name, value in (("w:color", "0563C1"), ("w:u", "single"), ("w:sz", "18")):
        element = OxmlElement(name)
        element.set(qn("w:val"), value)
        props.append(element)
    run.append(props)
    words = OxmlElement("w:t")
    words.text = text
    run.append(words)
    link.append(run)
    paragraph._p.append(link)


def _docx_table(out, header: list[str], rows: list[list[str]], marked_column: int | None = None):
    from docx.shared import RGBColor

    table = out.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        cells = table.add_row().cells
        for index, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = text
            if index == marked_column and text.startswith("未达标"):  # a shortfall stands out in print
                run = cell.paragraphs[0].runs[0]
                run.bold = True
                run.font.color.rgb = RGBColor(0xB7, 0x1C, 0x1C)
    return table


def _docx_record(out, record: SessionRecord, level: int) -> None:
    from docx.shared import Pt

    out.add_heading(f"{record.title}", level=level)
    for block in _record_blocks(record):
        if block.kind == "fields":
            table = out.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            for label, value in block.rows or []:
                cells = table.add_row().cells
                cells[0].text, cells[1].text = label, value
                cells[0].paragraphs[0].runs[0].bold = True
        elif block.kind == "heading":
            out.add_heading(block.text, level=level + 1)
        elif block.kind == "link":
            _hyperlink(out.add_paragraph(), block.url, block.text)
        elif block.kind == "small":
            out.add_paragraph().add_run(block.text).font.size = Pt(9)
        else:
            out.add_paragraph(block.text)


def _saved(out) -> bytes:
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def record_docx(record: SessionRecord) -> bytes:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    out = _docx()
    out.add_heading("会议记录", level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_record(out, record, 1)
    return _saved(out)


def ledger_docx(ledger: Ledger) -> bytes:
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Pt

    out = _docx()
    for _ in range(6):
        out.add_paragraph()
    cover = out.add_paragraph()
    cover.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = cover.add_run("“三会一课”记录台账")
    run.font.size, run.bold = Pt(28), True
    for line in (ledger.unit, f"{ledger.period_name}（{ledger.since:%Y-%m-%d} 至 {ledger.until:%Y-%m-%d}）",
                 f"生成时间：{ledger.made_at}　生成人：{ledger.made_by}"):
        out.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    out.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out.add_heading("一、会议一览", level=1)
    if ledger.sessions:
        _docx_table(out, *ledger_summary(ledger))
    else:
        out.add_paragraph("本期无会议记录。")
    out.add_heading("二、按类型统计", level=1)
    _docx_table(out, *ledger_counts(ledger), marked_column=5)
    out.add_paragraph(norms_line(ledger)).runs[0].font.size = Pt(9)
    for number, record in enumerate(ledger.sessions):
        out.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        if not number:  # the part's heading on the page of its first record
            out.add_heading("三、会议记录", level=1)
        _docx_record(out, record, 2)
    return _saved(out)


# --- PDF -------------------------------------------------------------------------------------------------------

class _Pdf:
    """The styles and flowables of one PDF."""

    def __init__(self):
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        if FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK")
        self.cell = ParagraphStyle("cell", parent=self.body, fontSize=9, leading=13)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=9, leading=13, textColor="#444444")
        self.link_style = ParagraphStyle("link", parent=self.small, textColor="#0b57d0", wordWrap=None,
                                   splitLongWords=True)
        self.h1 = ParagraphStyle("h1", fontName=FONT, fontSize=15, leading=24, spaceBefore=8, spaceAfter=6)
        self.h2 = ParagraphStyle("h2", fontName=FONT, fontSize=13, leading=20, spaceBefore=6, spaceAfter=4)
        self.h3 = ParagraphStyle("h3", fontName=FONT, fontSize=11, leading=18, spaceBefore=6, textColor="#8b1a1a")
        self.cover = ParagraphStyle("cover", fontName=FONT, fontSize=26, leading=40, alignment=1)
        self.centre = ParagraphStyle("centre", parent=self.body, fontSize=12, leading=22, alignment=1)

    @staticmethod
    def para(text: str, style):
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    def link(self, url: str):
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        return Paragraph(f'<a href="{escape(url, {chr(34): "&quot;"})}">{escape(url)}</a>', self.link_style)

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], marked: int | None = None):
        from reportlab.platypus import Table, TableStyle

        red = "#b71c1c"
        body = [[self.para(text, self.cell) for text in header]]
        style = [("GRID", (0, 0), (-1, -1), 0.5, "#777777"), ("BACKGROUND", (0, 0), (-1, 0), "#eeeeee"),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        for number, row in enumerate(rows, 1):
            body.append([self.para(text, self.cell) for text in row])
            if marked is not None and row[marked].startswith("未达标"):  # a shortfall stands out in print
                body[-1][marked] = self.para(row[marked], type(self.cell)("red", parent=self.cell, textColor=red))
                style.append(("BACKGROUND", (marked, number), (marked, number), "#fdecea"))
        return Table(body, colWidths=widths, repeatRows=1, style=TableStyle(style))

    def record(self, record: SessionRecord, heading) -> list:
        from reportlab.lib.units import mm
        from reportlab.platypus import Spacer, Table, TableStyle

        story = [self.para(record.title, heading)]
        for block in _record_blocks(record):
            if block.kind == "fields":
                rows = [[self.para(label, self.cell), self.para(value, self.cell)] for label, value in block.rows or []]
                story += [Table(rows, colWidths=[28 * mm, 138 * mm], style=TableStyle([
                    ("GRID", (0, 0), (-1, -1), 0.5, "#777777"), ("BACKGROUND", (0, 0), (0, -1), "#f3f3f3"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP")])), Spacer(1, 3 * mm)]
            elif block.kind == "heading":
                story.append(self.para(block.text, self.h3))
            elif block.kind == "link":
                story.append(self.link(block.url))
            elif block.kind == "small":
                story.append(self.para(block.text, self.small))
            else:
                story.append(self.para(block.text, self.body))
        return story

    @staticmethod
    def build(story: list, title: str) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate

        def page_number(canvas, document) -> None:
            canvas.saveState()
            canvas.setFont(FONT, 9)
            canvas.drawCentredString(A4[0] / 2, 10 * mm, f"第 {document.page} 页")
            canvas.restoreState()

        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=22 * mm, rightMargin=22 * mm,
                          topMargin=20 * mm, bottomMargin=20 * mm).build(
            story, onFirstPage=page_number, onLaterPages=page_number)
        return buffer.getvalue()


def record_pdf(record: SessionRecord) -> bytes:
    pdf = _Pdf()
    return pdf.build([pdf.para("会议记录", pdf.h1), *pdf.record(record, pdf.h2)], f"会议记录：{record.title}")


def ledger_pdf(ledger: Ledger) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Spacer

    pdf = _Pdf()
    story = [Spacer(1, 60 * mm), pdf.para("“三会一课”记录台账", pdf.cover), Spacer(1, 14 * mm),
             pdf.para(ledger.unit, pdf.centre),
             pdf.para(f"{ledger.period_name}（{ledger.since:%Y-%m-%d} 至 {ledger.until:%Y-%m-%d}）", pdf.centre),
             Spacer(1, 30 * mm), pdf.para(f"生成时间：{ledger.made_at}　生成人：{ledger.made_by}", pdf.centre),
             PageBreak(), pdf.para("一、会议一览", pdf.h1)]
    if ledger.sessions:
        story.append(pdf.table(*ledger_summary(ledger), widths=[
            w * mm for w in (10, 20, 18, 36, 16, 11, 11, 11, 11, 11, 11)]))
    else:
        story.append(pdf.para("本期无会议记录。", pdf.body))
    story += [pdf.para("二、按类型统计", pdf.h1),
              pdf.table(*ledger_counts(ledger), widths=[w * mm for w in (30, 20, 20, 20, 16, 60)], marked=5),
              Spacer(1, 2 * mm), pdf.para(norms_line(ledger), pdf.small)]
    for number, record in enumerate(ledger.sessions):  # the part's heading on the page of its first record
        story += [PageBreak(), *([] if number else [pdf.para("三、会议记录", pdf.h1)]), *pdf.record(record, pdf.h2)]
    return pdf.build(story, f"“三会一课”记录台账：{ledger.unit} {ledger.period_name}")
