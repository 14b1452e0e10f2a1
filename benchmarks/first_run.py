"""What a new user waits for: `make run` after its install step, on a fresh home with no converted model.

    python benchmarks/first_run.py [--runtimes onnx-int8,onnx,torch] [--workers 2] [--corpus corpus]

For each embedding runtime, in a new temporary home and models folder (so the built-in model is converted,
and exported, as on a fresh machine): `study-hub ingest corpus --no-wait`, then `study-hub serve --workers 2`
with its job worker, as `make run` does. Reports, from the start of the ingest: seconds until the site gives
the first keyword answer (`/api/search?mode=keyword` with results), seconds until a hybrid request is ranked by
meaning (the model loaded in the web worker and some vectors in), and until search by meaning is complete
(every passage encoded: `/api/health`).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from study_hub.cli import run; run()"]
QUESTION = "小区没有物业公司怎么管"


def run_once(runtime: str, workers: int, corpus: Path) -> dict[str, float | None]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "STUDY_HUB_HOME": f"{folder}/home", "STUDY_HUB_MODELS_DIR": f"{folder}/models",
               "STUDY_HUB_EMBEDDING_RUNTIME": runtime, "STUDY_HUB_SEMANTIC": "true"}
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        subprocess.run([*CLI, "ingest", str(corpus), "--no-wait"], env=env, check=True, capture_output=True)
        ingested = time.perf_counter() - started
        server = subprocess.Popen([*CLI, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        found: dict[str, float | None] = {"ingest": ingested, "keyword": None, "hybrid": None, "complete": None}
        try:
            while time.perf_counter() - started < 3600 and found["complete"] is None:
                time.sleep(0.5)
                try:
                    if found["keyword"] is None:
                        answer = httpx.get(f"{url}/api/search", params={"q": QUESTION, "mode": "keyword"}, timeout=5)
                        if answer.status_code == 200 and answer.json()["total"]:
                            found["keyword"] = time.perf_counter() - started
                        continue
                    if found["hybrid"] is None:
                        answer = httpx.get(f"{url}/api/search", params={"q": QUESTION}, timeout=30).json()
                        if answer["mode"] == "hybrid":
                            found["hybrid"] = time.perf_counter() - started
                    health = httpx.get(f"{url}/api/health", timeout=30).json()
                    if (health.get("meaning") or {}).get("complete"):
                        found["complete"] = time.perf_counter() - started
                except httpx.HTTPError:
                    continue
        finally:
            os.killpg(server.pid, 15)
            server.wait(60)
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtimes", default="onnx-int8,onnx,torch")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; corpus "
          f"{args.corpus}; serve --workers {args.workers} with its job worker")
    print(f"\n{'runtime':<11}{'ingest s':>9}{'first keyword answer s':>24}{'first hybrid s':>16}"
          f"{'meaning complete':>18}")
    for runtime in args.runtimes.split(","):
        found = run_once(runtime, args.workers, args.corpus)

        def shown(value, minutes=False):
            if value is None:
                return "-"
            return f"{value / 60:.1f} min" if minutes else f"{value:.0f}"

        print(f"{runtime:<11}{found['ingest']:>9.0f}{shown(found['keyword']):>24}{shown(found['hybrid']):>16}"
              f"{shown(found['complete'], True):>18}", flush=True)


if __name__ == "__main__":
    main()
