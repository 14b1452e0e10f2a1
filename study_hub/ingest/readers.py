"""Readers: a file on disk -> ``RawDocument`` (normalised text, structure hints, declared metadata).

One function per format, chosen by file extension. Each raises ``IngestError`` with a reason a person
can act on; nothing here touches the store.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from statistics import median
from typing import Any

from study_hub.domain import DocumentMeta, RawDocument
from study_hub.errors import IngestError
from study_hub.ingest.encoding import UndecodableError, decode_bytes
from study_hub.ingest.normalize import normalize_lines, normalize_text
from study_hub.segment.grammar import starts_numbered_heading

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf")
Block = tuple[str, int | None]  # a paragraph and its heading level (None for body text)


def read_file(path: Path, *, max_bytes: int, max_unpacked_bytes: int) -> RawDocument:
    """Read one file. Raises ``IngestError`` for anything that cannot become a document."""
    if not path.exists():
        raise IngestError(path, "no such file or folder")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = " (save it as .docx)" if suffix == ".doc" else ""
        raise IngestError(path, f"unsupported file type {suffix or '(none)'}{hint}; "
                                f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(path, f"file is {size / 2**20:.1f} MiB, over the limit of "
                                    f"{max_bytes / 2**20:.0f} MiB (raise STUDY_HUB_MAX_FILE_BYTES to allow it)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise IngestError(path, "file is empty")

    source_hash = hashlib.sha256(data).hexdigest()
    fmt = {".markdown": "md", ".htm": "html"}.get(suffix, suffix[1:])
    reader: Callable[..., tuple[list[Block], DocumentMeta, str | None]] = _READERS[fmt]
    try:
        blocks, meta, encoding = reader(path, data, max_unpacked_bytes=max_unpacked_bytes)
    except IngestError:
        raise
    except UndecodableError as exc:
        raise IngestError(path, str(exc)) from exc
    text, heading_levels = _assemble(blocks)
    if not text:
        raise IngestError(path, "no text found in the file")
    return RawDocument(
        source_path=str(path), source_format=fmt, text=text, source_hash=source_hash,
        encoding=encoding, meta=meta, heading_levels=heading_levels,
    )


def _assemble(blocks: Iterable[Block]) -> tuple[str, dict[int, int]]:
    """Normalise blocks into text lines, remembering which lines are headings."""
    lines: list[str] = []
    levels: dict[int, int] = {}
    for block, level in blocks:
        for i, line in enumerate(normalize_lines(normalize_text(block).split("\n"))):
            if level is not None and i == 0:
                levels[len(lines)] = level
            lines.append(line)
    return "\n".join(lines), levels


# --- plain text and Markdown -------------------------------------------------------------------------

def _read_txt(path: Path, data: bytes, **_: Any) -> tuple[list[Block], DocumentMeta, str]:
    text, encoding = decode_bytes(data)
    return [(text, None)], DocumentMeta(), encoding


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FRONT_MATTER_KEYS = {
    "id": "id", "title": "title", "issuer": "issuer", "发文机关": "issuer", "speaker": "speaker", "讲话人": "speaker",
    "level": "level", "kind": "kind", "date": "date", "doc_number": "doc_number", "文号": "doc_number",
    "language": "language", "lang": "language",
    "status": "status", "时效性": "status", "效力": "status", "status_date": "status_date", "效力日期": "status_date",
}


def _read_md(path: Path, data: bytes, **_: Any) -> tuple[list[Block], DocumentMeta, str]:
    import frontmatter  # a small, maintained front-matter parser (YAML between --- lines)

    text, encoding = decode_bytes(data)
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # yaml raises a family of errors; all mean the same to the user
        raise IngestError(path, f"the front matter (between the --- lines) is not valid YAML: {exc}") from exc
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in post.metadata.items():
        target = _FRONT_MATTER_KEYS.get(str(key).lower())
        if target:
            fields[target] = None if value is None else str(value)
        else:
            extra[str(key)] = value
    blocks: list[Block] = []
    for line in post.content.split("\n"):
        match = _MD_HEADING.match(line.strip())
        blocks.append((match.group(2), len(match.group(1))) if match else (line, None))
    return blocks, DocumentMeta(**fields, extra=extra), encoding


# --- HTML --------------------------------------------------------------------------------------------

_HTML_BLOCKS = ["p", "div", "li", "tr", "td", "th", "pre", "blockquote", "section", "article",
                "h1", "h2", "h3", "h4", "h5", "h6", "title", "dt", "dd", "table", "ul", "ol"]
_HEADING_MARK = "\x1ehead"  # record separator: cannot occur in a decoded page's visible text
_META_FIELDS = {"articletitle": "title", "pubdate": "date", "contentsource": "issuer", "author": "issuer"}


def _read_html(path: Path, data: bytes, **_: Any) -> tuple[list[Block], DocumentMeta, str]:
    from bs4 import BeautifulSoup

    declared = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([\w-]+)", data[:4096], re.IGNORECASE)
    text = encoding = None
    if declared:
        candidate = declared.group(1).decode("ascii").lower()
        candidate = "gb18030" if candidate in ("gb2312", "gbk", "gb18030") else candidate
        try:
            text, encoding = data.decode(candidate), candidate
        except (LookupError, UnicodeDecodeError):
            text = None
    if text is None:
        text, encoding = decode_bytes(data)

    soup = BeautifulSoup(text, "lxml")
    meta_fields: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = (tag.get("name") or "").lower()
        if name in _META_FIELDS and tag.get("content"):
            meta_fields.setdefault(_META_FIELDS[name], tag["content"].strip())
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head", "nav", "footer"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        if tag.name[0] == "h" and tag.name[1:].isdigit():
            tag.insert(0, f"\n{_HEADING_MARK}{tag.name[1]}|")
        tag.insert_before("\n")
        tag.insert_after("\n")
    blocks: list[Block] = []
    for line in soup.get_text().split("\n"):
        if line.startswith(_HEADING_MARK):
            level, _, heading = line[len(_HEADING_MARK):].partition("|")
            blocks.append((heading, int(level)))
        else:
            blocks.append((line, None))
    first_h1 = next((b for b, level in blocks if level == 1 and b.strip()), None)
    title = meta_fields.pop("title", None) or (first_h1.strip() if first_h1 else None) or page_title
    return blocks, DocumentMeta(title=title, **meta_fields), encoding


# --- Word (.docx) ------------------------------------------------------------------------------------

_DOCX_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _check_zip(path: Path, max_unpacked_bytes: int, kind: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(path, f"corrupt {kind}: not a valid Office Open XML (zip) file ({exc})") from exc
    if unpacked > max_unpacked_bytes:
        raise IngestError(path, f"{kind} would unpack to {unpacked / 2**20:.0f} MiB, over the limit of "
                                f"{max_unpacked_bytes / 2**20:.0f} MiB (a compressed bomb or an oversized file)")


def _read_docx(path: Path, data: bytes, *, max_unpacked_bytes: int) -> tuple[list[Block], DocumentMeta, None]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip(path, max_unpacked_bytes, "docx")
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... for broken packages
        raise IngestError(path, f"corrupt docx: Word could not have written this package ({exc!r})") from exc

    blocks: list[Block] = []
    title = None
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            style = item.style.name if item.style is not None else ""
            match = _DOCX_HEADING_STYLE.match(style)
            if style.lower() == "title" and title is None:
                title = item.text.strip() or None
                blocks.append((item.text, 1))
            else:
                blocks.append((item.text, int(match.group(1)) if match else None))
        elif isinstance(item, Table):
            for row in item.rows:
                cells = []
                for cell in row.cells:  # merged cells repeat; keep each text once per row
                    if cell.text.strip() and cell.text not in cells:
                        cells.append(cell.text)
                blocks.append(("\u3000".join(cells), None))
    props = document.core_properties
    return blocks, DocumentMeta(title=(props.title or "").strip() or title,
                                issuer=(props.author or "").strip() or None), None


# --- PDF (text layer) --------------------------------------------------------------------------------

_SENTENCE_END = tuple("。！？；：…”」』）!?;:.")
_PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第?\s*\d+\s*页?(?:\s*/\s*\d+)?|\d+)[-—–\s]*$")


def _join_pdf_lines(lines: list[str]) -> list[str]:
    """PDF text comes in layout lines; rejoin the lines of a paragraph.

    A line ends its paragraph when it ends a sentence, is clearly shorter than the page's usual line
    (a heading or the last line of a paragraph), or when the next line starts a numbered heading.
    """
    lines = [line.strip() for line in lines if line.strip() and not _PAGE_NUMBER.match(line.strip())]
    if not lines:
        return []
    typical = median(len(line) for line in lines)
    paragraphs: list[str] = []
    current = ""
    for i, line in enumerate(lines):
        if not current:
            current = line
        elif current.endswith("-") and current[-2:-1].isalpha() and line[0].isascii() and line[0].isalpha():
            current = current[:-1] + line  # a word hyphenated across the line end
        elif current[-1].isascii() and line[0].isascii():
            current += " " + line  # Latin text: the line end was a space
        else:
            current += line  # Chinese text: line ends carry no space
        next_line = lines[i + 1] if i + 1 < len(lines) else ""
        if (not next_line or line.endswith(_SENTENCE_END) or len(line) < 0.75 * typical
                or starts_numbered_heading(next_line)):
            paragraphs.append(current)
            current = ""
    return paragraphs


def _read_pdf(path: Path, data: bytes, **_: Any) -> tuple[list[Block], DocumentMeta, None]:
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(path, "the pdf is encrypted with a password; save an unprotected copy and "
                                    "ingest that")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(path, f"corrupt pdf: {exc}") from exc
    if not any(page.strip() for page in pages):
        raise IngestError(path, "the pdf has no text layer (scanned pages?); run OCR on it and ingest the "
                                "result")
    lines = [line for page in pages for line in page.split("\n")]
    title = (info.title or "").strip() if info else ""
    issuer = (info.author or "").strip() if info else ""
    return [(p, None) for p in _join_pdf_lines(lines)], DocumentMeta(title=title or None,
                                                                      issuer=issuer or None), None


_READERS: dict[str, Callable[..., Any]] = {
    "txt": _read_txt, "md": _read_md, "html": _read_html, "docx": _read_docx, "pdf": _read_pdf,
}
