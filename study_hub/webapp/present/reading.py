"""Reading a document: its outline from the passages' heading paths.

The segmenter gives every passage the path of headings it sits under ("第一章 总则 > 第一条"); the outline
is those paths merged into a tree whose nodes point at the first passage under each heading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from study_hub.domain import heading_parts


@dataclass
class OutlineNode:
    heading: str
    passage_id: str  # the first passage under this heading: where the table of contents links to
    children: list[OutlineNode] = field(default_factory=list)


def outline(passages) -> list[OutlineNode]:
    """The heading tree of a document's passages (in reading order)."""
    roots: list[OutlineNode] = []
    open_path: list[OutlineNode] = []  # the nodes of the previous passage's path
    for passage in passages:
        parts = heading_parts(passage.heading_path)
        depth = 0
        while depth < min(len(parts), len(open_path)) and open_path[depth].heading == parts[depth]:
            depth += 1
        del open_path[depth:]
        for part in parts[depth:]:
            node = OutlineNode(part, passage.id)
            (open_path[-1].children if open_path else roots).append(node)
            open_path.append(node)
    return roots
