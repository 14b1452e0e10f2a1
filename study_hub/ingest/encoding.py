"""Decode the bytes of a plain-text file, and say which encoding they were in.

Order of trust: a byte-order mark; strict UTF-8 (almost never decodes text written in another encoding);
then the Chinese legacy encodings. GB18030 (a superset of GBK and GB2312, used by most mainland
government files) and Big5 both accept many byte strings, so when both decode strictly,
charset-normalizer decides between them; short or ambiguous text falls back to GB18030.
"""

from __future__ import annotations

import codecs

import charset_normalizer

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_CHINESE = ("gb18030", "big5")


class UndecodableError(ValueError):
    pass


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _looks_like_text(text: str) -> bool:
    """Reject decodings full of control characters or private-use code points (a wrong guess)."""
    if not text:
        return True
    bad = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f") or 0xE000 <= ord(ch) <= 0xF8FF)
    return bad / len(text) < 0.01


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)``; raise ``UndecodableError`` when no encoding gives readable text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data, encoding)
            if text is not None:
                return text.lstrip("\ufeff"), encoding
    text = _strict(data, "utf-8")
    if text is not None and _looks_like_text(text):
        return text, "utf-8"

    candidates = {enc: t for enc in _CHINESE if (t := _strict(data, enc)) is not None and _looks_like_text(t)}
    if len(candidates) == 1:
        return next(iter(candidates.items()))[::-1]
    if len(candidates) == 2:
        best = charset_normalizer.from_bytes(data, cp_isolation=list(_CHINESE)).best()
        chosen = "big5" if best is not None and best.encoding == "big5" else "gb18030"
        return candidates[chosen], chosen

    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        text = str(best)
        if _looks_like_text(text):
            return text, best.encoding
    raise UndecodableError(
        "cannot tell the text encoding (tried UTF-8, GB18030/GBK, Big5 and automatic detection); "
        "save the file as UTF-8 and ingest it again"
    )
