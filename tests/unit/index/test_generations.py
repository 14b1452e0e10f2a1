"""Generations: published atomically, and never removed while a process still has one open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from study_hub.index.generations import (
    CURRENT,
    MANIFEST,
    BuildLockedError,
    current_generation,
    hold,
    new_generation,
    read_manifest,
)


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


def test_publishing_switches_current_and_a_failed_build_leaves_it_serving(tmp_path) -> None:
    root = tmp_path / "indexes"
    assert current_generation(root) is None
    first = _publish(root, 1)
    assert current_generation(root) == first
    try:
        with new_generation(root) as build:
            (build.folder / "data.json").write_text("half", encoding="utf-8")
            raise RuntimeError("the encoder died")
    except RuntimeError:
        pass
    assert current_generation(root) == first and read_manifest(first)["number"] == 1
    assert not list(root.glob("*.tmp"))  # the half-built folder is gone
    with new_generation(root):
        pass  # a build that never publishes (nothing changed): no trace, current unchanged
    assert current_generation(root) == first and not list(root.glob("*.tmp"))


def test_one_builder_at_a_time(tmp_path) -> None:
    root = tmp_path / "indexes"
    with new_generation(root), pytest.raises(BuildLockedError), new_generation(root):
        pass
    _publish(root, 1)  # the lock went with the first build


def test_an_update_starts_from_a_copy_without_the_manifest(tmp_path) -> None:
    root = tmp_path / "indexes"
    first = _publish(root, 1)
    with new_generation(root, copy_from=first) as build:
        assert (build.folder / "data.json").is_file() and not (build.folder / MANIFEST).exists()
        second = build.publish({"number": 2})
    assert current_generation(root) == second and read_manifest(first)["number"] == 1  # the old one untouched


def test_the_next_build_sweeps_crashed_builds_and_cut_short_removals(tmp_path) -> None:
    root = tmp_path / "indexes"
    _publish(root, 1)
    (root / "gen-20000101T000000000000-dead.tmp").mkdir()  # a build killed before it published
    (root / "gen-20000101T000000000000-gone.removing").mkdir()  # a removal killed half-way
    _publish(root, 2)
    assert not list(root.glob("gen-*.tmp")) and not list(root.glob("gen-*.removing"))


def test_the_current_generation_is_never_swept_however_old(tmp_path) -> None:
    """``current`` may point at an older generation (a rollback by hand): the sweep keeps it."""
    root = tmp_path / "indexes"
    first = _publish(root, 1)
    for number in range(2, 5):
        _publish(root, number)
    assert not first.exists()  # older than the one kept besides current, held by nobody
    oldest = sorted(p for p in root.glob("gen-*") if p.is_dir())[0]
    (root / CURRENT).unlink()
    (root / CURRENT).symlink_to(oldest.name)
    with new_generation(root):  # the sweep runs as a build starts: the oldest would go, but it is current
        assert oldest.is_dir() and current_generation(root) == oldest


def test_a_link_to_a_folder_without_a_manifest_is_no_generation(tmp_path) -> None:
    root = tmp_path / "indexes"
    root.mkdir()
    (root / "gen-x").mkdir()
    (root / CURRENT).symlink_to("gen-x")
    assert current_generation(root) is None
