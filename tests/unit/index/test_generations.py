"""Generations: published atomically, and never removed while a process still has one open."""

from __future__ import annotations

import json
from pathlib import Path

from study_hub.index.generations import current_generation, hold, new_generation, read_manifest


def _publish(root: Path, number: int) -> Path:
    with new_generation(root) as build:
        (build.folder / "data.json").write_text(json.dumps({"number": number}), encoding="utf-8")
        return build.publish({"number": number})


def test_the_sweep_keeps_a_generation_someone_holds_and_removes_it_once_released(tmp_path) -> None:
    root = tmp_path / "indexes"
    first = _publish(root, 1)
    held = hold(first)
    assert held is not None
    for number in range(2, 6):
        _publish(root, number)
    assert first.is_dir() and read_manifest(first)["number"] == 1  # still readable by its holder
    survivors = sorted(p.name for p in root.glob("gen-*"))
    assert len(survivors) == 4  # the held one; the two the sweep before the last build kept; the last
    held.release()
    _publish(root, 6)
    assert not first.exists()
    assert read_manifest(current_generation(root))["number"] == 6
    assert not list(root.glob("*.removing")) and not list(root.glob("*.tmp"))


def test_a_generation_being_removed_cannot_be_held(tmp_path) -> None:
    root = tmp_path / "indexes"
    first = _publish(root, 1)
    _publish(root, 2)
    _publish(root, 3)
    _publish(root, 4)  # the sweep before this build removed the first (nobody held it)
    assert not first.exists() and hold(first) is None
    newest = current_generation(root)
    kept = hold(newest)
    assert kept is not None
    kept.release()
