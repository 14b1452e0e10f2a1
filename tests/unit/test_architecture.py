"""The import graph has no circle: every module can be read knowing only what it imports.

The layer contracts (``[tool.importlinter]`` in pyproject.toml, run by ``lint-imports`` in ``make test``) say
which way packages may import; this test says that no two modules anywhere, even within one layer, import each
other directly or around a loop (lazy imports inside functions count: they are circles all the same).
"""

from __future__ import annotations

import grimp


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules, recursion would do too): the groups of
    modules that reach each other, those of more than one module only."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_finder_finds_a_circle() -> None:
    """The check itself can fail: a loop of three and a pair, beside a chain that is no loop."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "f"}, "f": set(), "g": {"a"}}
    assert sorted(strongly_connected(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_module_of_study_hub_imports_itself_around_a_circle() -> None:
    graph = grimp.build_graph("study_hub", cache_dir=None)
    modules = set(graph.modules)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) & modules for module in modules}
    assert strongly_connected(edges) == []
