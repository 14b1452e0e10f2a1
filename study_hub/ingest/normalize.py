"""The normalised text that passages point into: one paragraph per line, nothing else changed.

Only layout is normalised (line ends, blank lines, surrounding spaces including the full-width indent
U+3000, invisible marks). Characters themselves are kept as written, full-width punctuation included:
people quote the original, and offsets must point into what they read.
"""

from __future__ import annotations

import re

# BOM, zero-width space/joiners, word joiner, soft hyphen: invisible in the original, noise in a quote.
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]")
_LINE_BREAKS = re.compile(r"\r\n|\r|[\u2028\u2029\x0b\x0c\x85]")
_EDGE_SPACE = " \t\u3000\u00a0\u2002\u2003\u2009\u202f"


def normalize_lines(lines: list[str]) -> list[str]:
    """Strip each paragraph, drop the empty ones."""
    out = []
    for line in lines:
        line = _INVISIBLE.sub("", line).strip(_EDGE_SPACE).replace("\t", " ")
        if line:
            out.append(line)
    return out


def normalize_text(raw: str) -> str:
    return "\n".join(normalize_lines(_LINE_BREAKS.sub("\n", raw).split("\n")))
