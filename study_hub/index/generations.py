"""Index generations: build in a temporary folder, write the manifest last, publish atomically.

    indexes/
      current -> gen-20261126T051500-3f9a      a symlink, replaced atomically (rename over it)
      gen-20261126T051500-3f9a/                a published generation: never modified again
        manifest.json  tantivy/ keyword-keys.json (or whoosh/ titles.json exact.sqlite3)
        vectors.npy vectors.json (vectors.ivf)
      gen-….tmp/                               a build in progress (or a crashed one, removed later)
      .lock                                    one builder at a time (flock)

A crash at any point leaves ``current`` pointing at the previous, complete generation.

Every process that serves a generation holds a shared flock on its ``.readers`` file (``hold``) for as long as
it has anything of it open; the sweep removes an old generation only when it gets that lock exclusively, so a
generation still open in any process (a web worker, the job worker, a node sharing the folder over NFSv4, where
flock is emulated with POSIX locks) is never removed under it. A removal renames the folder first
(``gen-….removing``), so a process that opens the generation in between finds it gone instead of half-deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from study_hub.errors import StudyHubError

MANIFEST = "manifest.json"
CURRENT = "current"
READERS = ".readers"  # shared-locked by every process with the generation open
KEEP_PREVIOUS = 1  # generations kept besides the current one (a server may still be reading it)


class BuildLockedError(StudyHubError):
    pass


def current_generation(root: Path) -> Path | None:
    link = root / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    folder = root / target
    return folder if (folder / MANIFEST).is_file() else None


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildLockedError(f"another index build is running in {root}; wait for it to finish") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ReaderHold:
    """A shared lock on a generation's ``.readers`` file: while held, no sweep removes the generation."""

    def __init__(self, handle):
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases its lock
            self._handle = None


def hold(folder: Path) -> ReaderHold | None:
    """Hold ``folder`` open against the sweep; None when it is being removed (open ``current`` again)."""
    try:  # read-only: web nodes may mount the indexes folder read-only (flock needs no write access)
        handle = open(folder / READERS)  # noqa: SIM115 (held until ``release``)
    except FileNotFoundError:
        # A generation published before readers files existed (kept only until the next sweep), or one gone.
        return ReaderHold(None) if (folder / MANIFEST).is_file() else None
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # the sweep holds it: the generation is on its way out
        handle.close()
        return None
    if not (folder / MANIFEST).is_file():  # removed between the open and the lock
        handle.close()
        return None
    return ReaderHold(handle)


def _remove_if_unused(path: Path) -> bool:
    """Remove a published generation unless a process holds it (``hold``); True when removed."""
    try:
        handle = open(path / READERS)  # noqa: SIM115
    except FileNotFoundError:
        shutil.rmtree(path, ignore_errors=True)
        return True
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        removing = path.with_name(path.name + ".removing")
        os.rename(path, removing)  # out of sight first: a reader opening it now finds it gone, not half-gone
        shutil.rmtree(removing, ignore_errors=True)
    return True


def _sweep(root: Path, keep: set[str]) -> None:
    """Remove crashed builds and the generations older than the ones kept that no process holds open."""
    generations = sorted((p for p in root.glob("gen-*") if p.is_dir()), key=lambda p: p.name)
    published = [p for p in generations if not p.name.endswith((".tmp", ".removing"))]
    for path in generations:
        if path.name.endswith((".tmp", ".removing")):  # a crashed build, or a removal cut short
            shutil.rmtree(path, ignore_errors=True)
    for path in published[: max(0, len(published) - KEEP_PREVIOUS - 1)]:
        if path.name not in keep:
            _remove_if_unused(path)


class GenerationBuild:
    """A generation being built. ``folder`` is the temporary folder to write into."""

    def __init__(self, root: Path):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")  # sortable: the sweep keeps the newest by name
        self.name = f"gen-{stamp}-{secrets.token_hex(3)}"
        self.root = root
        self.folder = root / f"{self.name}.tmp"

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, rename the folder into place, then switch ``current`` to it."""
        manifest = {"generation": self.name, "created_at": datetime.now(UTC).isoformat(), **manifest}
        (self.folder / READERS).touch()
        manifest_tmp = self.folder / (MANIFEST + ".tmp")
        manifest_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(manifest_tmp, self.folder / MANIFEST)
        final = self.root / self.name
        os.rename(self.folder, final)
        _fsync_dir(self.root)
        link_tmp = self.root / f".{CURRENT}.{secrets.token_hex(4)}"
        os.symlink(self.name, link_tmp)
        os.replace(link_tmp, self.root / CURRENT)  # atomic: readers see the old or the new, never neither
        _fsync_dir(self.root)
        return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def new_generation(root: Path, *, copy_from: Path | None = None) -> Iterator[GenerationBuild]:
    """Hold the build lock and a fresh temporary folder (optionally a copy of a published generation).

    The caller writes into ``build.folder`` and calls ``build.publish(manifest)``. On any error the
    temporary folder is removed and ``current`` is untouched.
    """
    with build_lock(root):
        current = current_generation(root)
        _sweep(root, keep={current.name} if current else set())
        build = GenerationBuild(root)
        try:
            if copy_from is not None:
                shutil.copytree(copy_from, build.folder)
                (build.folder / MANIFEST).unlink(missing_ok=True)
            else:
                build.folder.mkdir()
            yield build
        except BaseException:
            shutil.rmtree(build.folder, ignore_errors=True)
            raise
        if build.folder.exists():  # never published: the caller gave up
            shutil.rmtree(build.folder, ignore_errors=True)
