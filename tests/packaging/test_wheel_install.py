"""The package as a user installs it: a wheel, in a fresh virtual environment, run outside the checkout.

The wheel is built from this checkout (templates and static files as package data), installed without its
dependencies into a new virtual environment that borrows this one's installed libraries (a ``.pth`` line:
the libraries come from the registry either way, the test is about *our* package), then ``study-hub
ingest`` takes two files and ``study-hub serve`` answers the search page, a search and a reader page, from a
folder that holds no ``web/``, no ``pyproject.toml`` and no ``study_hub/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
# One wheel install per run, on SQLite: the PostgreSQL pass is about the database, not about packaging.
pytestmark = pytest.mark.sqlite_only


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``study-hub`` command of a fresh environment with the wheel installed."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(where / "dist"), str(REPO)], check=True, cwd=where)
    wheel = next((where / "dist").glob("study_hub-*.whl"))
    environment = where / "env"
    venv.EnvBuilder(with_pip=False).create(environment)
    site = Path(subprocess.run([str(environment / "bin" / "python"), "-c", "import sysconfig; "
                                "print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True,
                               text=True).stdout.strip())
    # This environment's libraries, but not its editable study_hub: a path line adds the folder without running
    # the .pth files in it (the editable install's finder is one of those).
    (site / "borrowed-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(environment / "bin" / "python"), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)], check=True, cwd=where)
    return environment / "bin" / "study-hub"


def test_an_installed_wheel_ingests_and_serves_its_pages(installed: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "community.md").write_text("---\ntitle: 社区议事规则\nissuer: 某街道党工委\nlevel: district\n"
                                       "kind: regulation\ndate: 2024-03-01\n---\n\n一、总则\n\n"
                                       "社区议事会每季度召开一次，讨论物业管理和停车难题。\n", encoding="utf-8")
    (site / "branch.txt").write_text("支部学习制度\n\n第一条 支部每月开展一次主题党日活动。\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDY_HUB_")}
    env.update({"STUDY_HUB_HOME": str(site), "STUDY_HUB_SEMANTIC": "false", "PYTHONNOUSERSITE": "1"})
    ingest = subprocess.run([str(installed), "ingest", "community.md", "branch.txt"], cwd=site, env=env,
                            capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    which = subprocess.run([str(installed.parent / "python"), "-c", "import study_hub; print(study_hub.__file__)"],
                           cwd=site, env=env, capture_output=True, text=True, check=True).stdout
    assert str(REPO) not in which and "site-packages" in which, which

    port = _free_port()
    server = subprocess.Popen([str(installed), "serve", "--port", str(port), "--workers", "1"], cwd=site, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        home = httpx.get(f"{base}/", timeout=10)
        assert home.status_code == 200 and "<form" in home.text and "检索" in home.text
        found = httpx.get(f"{base}/search", params={"q": "物业管理"}, timeout=10)
        assert found.status_code == 200 and "社区议事规则" in found.text and "<mark>" in found.text
        reader = httpx.get(f"{base}/documents/community", timeout=10)
        assert reader.status_code == 200 and "每季度召开一次" in reader.text and "一、总则" in reader.text
        style = httpx.get(f"{base}/static/style.css", timeout=10)
        assert style.status_code == 200 and "body" in style.text
    finally:
        server.terminate()
        server.wait(timeout=30)
