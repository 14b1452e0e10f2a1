"""A reading list as a print-ready study pack (学习材料汇编): DOCX (python-docx) and PDF (reportlab).

Cover (title, host unit, date, description), contents, then each item: its title, the organiser's guiding
note (学习提示) and due date, the original text passage by passage with its source (title, issuer, 文号,
date, heading path), and optionally the reader's own notes on it. The PDF uses reportlab's built-in Adobe
CID font for Chinese (STSong-Light), so no font file has to ship or be downloaded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC

from study_hub.domain import citation
from study_hub.store.models import utcnow


@dataclass
class PackItem:
    number: int
    title: str
    guide: str
    due: str | None
    source: str  # citation of the document (or "检索：…" for a saved search)
    passages: list[tuple[str, str]]  # (heading path, text)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (quote, note) of the reader's own notes


@dataclass
class Pack:
    title: str
    unit: str | None
    description: str
    items: list[PackItem]
    reader: str | None = None  # whose notes are included
    made_on: str = ""  # the day it was made, in the site's time zone (年月日)


def build_pack(service, who, list_id: int, with_notes: bool = False, notes_service=None, zone=UTC) -> Pack:
    """Gather a list's items and their text (and ``who``'s own notes) for export."""
    reading_list = service.get(who, list_id)
    unit = None
    if reading_list.unit_id:
        unit = next((path for u, path in service.accounts.list_units() if u.id == reading_list.unit_id), None)
    mine = notes_service.list(who, mine_only=True, limit=10_000) if with_notes and notes_service else []
    items = []
    for number, item in enumerate(reading_list.items, 1):
        rows = service.item_passages(item)
        if item.kind == "search":
            source = f"检索：{item.query}"
        elif item.orphaned:
            source = f"{item.document_id}（文件已修订，这一段在新版本中未能找到）"
            rows = []
        elif rows:
            source = citation(rows[0][1])
        else:
            source = f"{item.document_id}（原文已不在文库中）"
        passage_ids = {p.id for p, _ in rows}
        passages = [(p.heading_path, p.text) for p, _ in rows]
        if item.kind == "search":
            passages = [(citation(d, p.heading_path), p.text) for p, d in rows]
        notes = [(n.quote, n.body) for n in mine if n.passage_id in passage_ids]
        items.append(PackItem(number, item.title, item.guide, item.due, source, passages, notes))
    return Pack(reading_list.title, unit, reading_list.description, items, who.display_name if with_notes else None,
                f"{utcnow().astimezone(zone):%Y年%m月%d日}")


def to_docx(pack: Pack) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Pt

    out = Docx()
    cover = out.add_paragraph()
    cover.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = cover.add_run("学习材料汇编")
    run.font.size = Pt(28)
    run.bold = True
    out.add_heading(pack.title, level=0).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in (pack.unit, pack.made_on, pack.description,
                 f"附：{pack.reader}的学习笔记" if pack.reader else None):
        if line:
            out.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    out.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    out.add_heading("目录", level=1)
    for item in pack.items:
        out.add_paragraph(f"{item.number}. {item.title}" + (f"（{item.due} 前完成）" if item.due else ""))
    for item in pack.items:
        out.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        out.add_heading(f"{item.number}. {item.title}", level=1)
        out.add_paragraph(item.source).runs[0].italic = True
        if item.guide:
            out.add_paragraph(f"学习提示：{item.guide}", style="Intense Quote")
        heading = None
        for path, text in item.passages:
            if path and path != heading:
                out.add_heading(path, level=3)
                heading = path
            for line in text.split("\n"):
                out.add_paragraph(line)
        if item.notes:
            out.add_heading("我的笔记", level=2)
            for quote, body in item.notes:
                out.add_paragraph(quote, style="Quote")
                if body:
                    out.add_paragraph(body)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def to_pdf(pack: Pack) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    font = "STSong-Light"
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, firstLineIndent=22, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=9, leading=13, firstLineIndent=0, textColor="#555555")
    guide = ParagraphStyle("guide", parent=body, firstLineIndent=0, backColor="#f3f3f3", borderPadding=4)
    cover = ParagraphStyle("cover", fontName=font, fontSize=28, leading=40, alignment=1)
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=28, alignment=1)
    h1 = ParagraphStyle("h1", fontName=font, fontSize=15, leading=24, spaceBefore=6, spaceAfter=6)
    h3 = ParagraphStyle("h3", fontName=font, fontSize=11.5, leading=18, spaceBefore=6, textColor="#8b1a1a")

    def para(text: str, style) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story = [Spacer(1, 60 * mm), para("学习材料汇编", cover), Spacer(1, 10 * mm), para(pack.title, title)]
    for line in (pack.unit, pack.made_on, pack.description,
                 f"附：{pack.reader}的学习笔记" if pack.reader else None):
        if line:
            story += [Spacer(1, 4 * mm), para(line, ParagraphStyle("c", parent=small, alignment=1, fontSize=11))]
    story += [PageBreak(), para("目录", h1)]
    story += [para(f"{i.number}. {i.title}" + (f"（{i.due} 前完成）" if i.due else ""), small) for i in pack.items]
    for item in pack.items:
        story += [PageBreak(), para(f"{item.number}. {item.title}", h1), para(item.source, small)]
        if item.guide:
            story += [Spacer(1, 3 * mm), para(f"学习提示：{item.guide}", guide), Spacer(1, 3 * mm)]
        heading = None
        for path, text in item.passages:
            if path and path != heading:
                story.append(para(path, h3))
                heading = path
            story += [para(line, body) for line in text.split("\n") if line.strip()]
        if item.notes:
            story.append(para("我的笔记", h3))
            for quote, note in item.notes:
                story += [para(f"「{quote}」", small), para(note, body)] if note else [para(f"「{quote}」", small)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=pack.title, leftMargin=22 * mm, rightMargin=22 * mm,
                      topMargin=20 * mm, bottomMargin=20 * mm).build(story)
    return buffer.getvalue()
