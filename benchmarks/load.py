"""Load: the real server on loopback, many members at once, a realistic mix; then a check-in burst.

    python benchmarks/load.py [--seconds 15] [--levels 1,8,32,64] [--workers 1] [--burst 300] [--semantic]
                              [--upload-every 30]

Builds a home in a temporary folder (the shipped corpus, its keyword index and, with --semantic, its passage
vectors, from a vector cache kept in ~/.cache/study_hub/load-vectors), creates members in a unit
and an open study session, starts `study-hub serve --workers N` as a separate process, signs everyone in
over HTTP, then for each concurrency level drives for --seconds:

    70 % searches: keyword 35 %, hybrid 20 %, filtered 15 %   20 % reads: documents 10 %, passages 10 %
    10 % writes by signed-in members: notes 10 %

and prints throughput, p50/p95/p99 per endpoint and the errors. With --upload-every N an administrator uploads a
new document every N seconds meanwhile: each queues an index job that the job worker (started by `serve`, on
the same cores) runs, keyword phase then embedding phase; the jobs it finished are reported.
Finally --burst members check in to the open session within 60 s: for each one the organiser's screen asks
for a fresh single-use code, then the member checks in with it; every check-in must succeed exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "load-test-password"
VECTOR_CACHE = Path.home() / ".cache" / "study_hub" / "load-vectors"


def prepare(home: Path, members: int, semantic: bool) -> dict:
    from study_hub.accounts import AccountService
    from study_hub.config import Settings
    from study_hub.index.builder import update_indexes
    from study_hub.pipeline import ingest_paths
    from study_hub.store import open_store
    from study_hub.study.sessions import SessionService

    settings = Settings(home=home, semantic=False)
    store = open_store(settings)
    ingest_paths([REPO / "corpus" / "docs"], store, settings)
    records = list(store.iter_index_records())
    if semantic:
        # Real vectors, encoded once into a vector cache kept between runs (a few seconds after the first,
        # which encodes the shipped corpus: ~6 minutes on 2 cores), so that the index jobs the uploads queue
        # carry them forward and encode only the new documents, as in a real deployment.
        from study_hub.jobs.worker import index_service

        VECTOR_CACHE.mkdir(parents=True, exist_ok=True)
        (home / "vectors").symlink_to(VECTOR_CACHE)
        semantic_settings = Settings(home=home)
        job = index_service(semantic_settings, store).request_and_run("update", "load.py")
        assert job.state == "done", job.message
    else:
        update_indexes(store, settings.indexes_dir)
    accounts = AccountService(store)
    accounts.add_unit("压力测试党委", "community")
    accounts.add_user("organiser", "组织员", PASSWORD, "organiser", ["压力测试党委"])
    accounts.add_user("admin", "管理员", PASSWORD, "admin")
    for number in range(members):
        accounts.add_user(f"m{number:03d}", f"党员{number:03d}", PASSWORD, "member", ["压力测试党委"])
    organiser = accounts.principal(accounts.get_user("organiser"))
    now = datetime.now(UTC)
    session = SessionService(store, accounts).create(
        organiser, title="压力测试学习会", kind="thematic", starts_at=now + timedelta(minutes=20),
        ends_at=now + timedelta(hours=3), host_unit_id=organiser.units[0][0], unit_ids=[organiser.units[0][0]])
    documents = [d.id for d in store.list_documents()]
    passages = [r.passage_id for r in records]
    return {"session": session.id, "documents": documents, "passages": passages}


def start_server(home: Path, workers: int, semantic: bool, cache: bool = True) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "STUDY_HUB_HOME": str(home), "STUDY_HUB_SEMANTIC": "true" if semantic else "false",
           "STUDY_HUB_SEARCH_CACHE": "1024" if cache else "0"}
    server = subprocess.Popen([sys.executable, "-c", "from study_hub.cli import run; run()", "serve", "--port",
                               str(port), "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


async def sign_in(client: httpx.AsyncClient, login: str) -> str:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    await client.post("/login", data={"login": login, "password": PASSWORD, "csrf_token": token})
    return (await client.get("/api/me")).json()["csrf_token"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its direct children (uvicorn's workers), from /proc."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    # /proc/<pid>/stat after the command's closing parenthesis: state ppid ... utime (11) stime (12)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], share: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


async def upload_every(admin: tuple[httpx.AsyncClient, str], seconds: float, deadline: float,
                       outcomes: list[int]) -> None:
    """An administrator adding a new document every ``seconds`` (each one queues an index job)."""
    client, csrf = admin
    number = 0
    while time.perf_counter() + seconds < deadline:
        await asyncio.sleep(seconds)
        number += 1
        text = (f"关于开展第{number}批社区议事协商试点工作的通知\n一、工作目标\n"
                f"推动议事协商常态化，第{number}批试点社区每季度至少召开一次居民议事会。\n") * 20
        response = await client.post("/api/documents", headers={"X-CSRF-Token": csrf},
                                     files={"file": (f"load-notice-{number}-{time.time_ns()}.txt", text.encode())})
        outcomes.append(response.status_code)


async def drive(url: str, data: dict, members: list[tuple[httpx.AsyncClient, str]], concurrency: int,
                seconds: float, queries: list[str], admin=None, every: float = 0.0,
                ) -> tuple[dict[str, list[float]], dict[str, int], int]:
    # aiohttp drives the load: the generator shares the server's two cores, and per request it costs about a
    # tenth of httpx's CPU (measured: 0.08 cores at 416 requests/s; httpx 0.59 cores at 320 requests/s).
    times: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    deadline = time.perf_counter() + seconds
    anonymous = aiohttp.ClientSession(base_url=url, connector=aiohttp.TCPConnector(limit=0))
    signed_in = [(aiohttp.ClientSession(base_url=url, cookies=dict(client.cookies.items())), csrf)
                 for client, csrf in members[:concurrency]]

    async def one(worker: int) -> None:
        rng = random.Random(worker)
        member, csrf = signed_in[worker % len(signed_in)]
        while time.perf_counter() < deadline:
            roll = rng.random()
            if roll < 0.35:
                kind, call = "search keyword", anonymous.get("/api/search", params={
                    "q": rng.choice(queries), "mode": "keyword"})
            elif roll < 0.55:
                kind, call = "search hybrid", anonymous.get("/api/search", params={"q": rng.choice(queries)})
            elif roll < 0.70:
                kind, call = "search filtered", anonymous.get("/api/search", params={
                    "q": rng.choice(queries), "mode": "keyword", "level": rng.choice(["central", "provincial",
                                                                                    "municipal"])})
            elif roll < 0.80:
                kind, call = "document", anonymous.get(f"/api/documents/{rng.choice(data['documents'])}")
            elif roll < 0.90:
                kind, call = "passage", anonymous.get(f"/api/passages/{rng.choice(data['passages'])}")
            else:
                kind, call = "note (write)", member.post("/api/notes", headers={"X-CSRF-Token": csrf}, json={
                    "passage_id": rng.choice(data["passages"]), "start": 0, "end": 2, "body": "压力测试"})
            started = time.perf_counter()
            try:
                async with call as response:
                    body = await response.read()
                ok = response.status < 400 or (kind.startswith("search") and response.status == 400)
                problem = f"{response.status} {body[:200].decode(errors='replace')}"
            except aiohttp.ClientError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            times[kind].append((time.perf_counter() - started) * 1000)
            if not ok:
                errors[kind] += 1
                if sum(errors.values()) <= 5:
                    print(f"  error ({kind}): {problem}")

    started = time.perf_counter()
    uploads: list[int] = []
    extra = [upload_every(admin, every, deadline, uploads)] if admin is not None and every else []
    await asyncio.gather(*(one(i) for i in range(concurrency)), *extra)
    elapsed = time.perf_counter() - started
    for session in (anonymous, *(member for member, _ in signed_in)):
        await session.close()
    if extra:
        times["upload (admin)"] = []
        errors["upload (admin)"] = sum(1 for status in uploads if status != 201)
        print(f"  uploads: {len(uploads)} ({', '.join(map(str, uploads))})")
    return times, errors, round(sum(len(v) for v in times.values()) / elapsed, 1)


async def burst(url: str, session_id: int, members: list[tuple[httpx.AsyncClient, str]], organiser,
                concurrency: int = 16) -> tuple[int, int, float, list[float]]:
    """Every member checks in with a fresh single-use code from the organiser's screen."""
    screen, screen_csrf = organiser
    queue: asyncio.Queue = asyncio.Queue()
    for member in members:
        queue.put_nowait(member)
    successes, failures, latencies = 0, 0, []

    async def worker() -> None:
        nonlocal successes, failures
        while not queue.empty():
            client, csrf = queue.get_nowait()
            code = (await screen.post(f"/api/sessions/{session_id}/checkin-code",
                                      headers={"X-CSRF-Token": screen_csrf})).json()["code"]
            started = time.perf_counter()
            response = await client.post(f"/api/sessions/{session_id}/checkin", headers={"X-CSRF-Token": csrf},
                                         json={"code": code})
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 200:
                successes += 1
            else:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return successes, failures, time.perf_counter() - started, latencies


async def main_async(args) -> None:
    levels = [int(x) for x in args.levels.split(",")]
    queries = [json.loads(line)["query"] for line in
               (REPO.parent / "shared" / "eval" / "policy" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip() and not json.loads(line)["query"].startswith('"')]
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        started = time.perf_counter()
        data = prepare(home, max(args.burst, max(levels)), args.semantic)
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; shipped "
              f"corpus {len(data['documents'])} documents, {len(data['passages'])} passages; "
              f"{max(args.burst, max(levels))} members; prepared in {time.perf_counter() - started:.0f} s; "
              f"search by meaning {'on (real vectors)' if args.semantic else 'off'}")
        for workers in [int(w) for w in args.workers.split(",")]:
            server, url = start_server(home, workers, args.semantic, cache=not args.no_cache)
            try:
                members = []
                for number in range(max(levels)):
                    client = httpx.AsyncClient(base_url=url, timeout=60)
                    members.append((client, await sign_in(client, f"m{number:03d}")))
                print(f"\n== server: study-hub serve --workers {workers} ({url}), search answer cache "
                      f"{'off' if args.no_cache else 'on (1,024 per process)'} ==")
                admin = None
                if args.upload_every:
                    client = httpx.AsyncClient(base_url=url, timeout=120)
                    admin = (client, await sign_in(client, "admin"))
                for level in levels:
                    server_cpu, client_cpu, wall = cpu_seconds(server.pid), time.process_time(), time.perf_counter()
                    times, errors, throughput = await drive(url, data, members, level, args.seconds, queries,
                                                            admin, args.upload_every)
                    wall = time.perf_counter() - wall
                    server_cpu = (cpu_seconds(server.pid) - server_cpu) / wall
                    client_cpu = (time.process_time() - client_cpu) / wall
                    total_errors = sum(errors.values())
                    print(f"\nconcurrency {level}: {throughput} requests/s, {total_errors} errors; CPU cores busy: "
                          f"server {server_cpu:.2f}, load generator {client_cpu:.2f}")
                    print(f"  {'endpoint':<18} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
                    for kind in sorted(times):
                        values = times[kind]
                        print(f"  {kind:<18} {len(values):>8} {percentile(values, .5):>7.0f} "
                              f"{percentile(values, .95):>7.0f} {percentile(values, .99):>7.0f} {errors[kind]:>6}")
                if admin is not None:
                    jobs = (await admin[0].get("/api/jobs", params={"limit": 50})).json()
                    finished = [j for j in jobs if j["state"] in ("done", "failed")]
                    print(f"\nindex jobs: {len(finished)} finished ({sum(j['state'] == 'failed' for j in finished)} "
                          f"failed), {len(jobs) - len(finished)} running or queued; last: "
                          f"{finished[0]['message'] if finished else '-'}")
                    await admin[0].aclose()
                for client, _ in members:
                    await client.aclose()
            finally:
                server.terminate()
                server.wait(30)
        if args.burst:
            server, url = start_server(home, int(args.workers.split(",")[-1]), args.semantic)
            try:
                organiser = httpx.AsyncClient(base_url=url, timeout=60)
                organiser_csrf = await sign_in(organiser, "organiser")
                members = []
                for number in range(args.burst):
                    client = httpx.AsyncClient(base_url=url, timeout=60)
                    members.append((client, await sign_in(client, f"m{number:03d}")))
                ok, failed, seconds, latencies = await burst(url, data["session"], members,
                                                             (organiser, organiser_csrf))
                again = await members[0][0].post(f"/api/sessions/{data['session']}/checkin",
                                                 headers={"X-CSRF-Token": members[0][1]}, json={"code": "000000"})
                records = (await organiser.get(f"/api/sessions/{data['session']}")).json()["attendance"]
                present = sum(1 for r in records if r["status"] in ("present", "late"))
                print(f"\ncheck-in burst: {args.burst} members, {ok} succeeded, {failed} failed in {seconds:.1f} s "
                      f"(check-in p50 {percentile(latencies, .5):.0f} ms, p95 {percentile(latencies, .95):.0f} "
                      f"ms); recorded present: {present}; a second check-in answered {again.status_code} "
                      f"({'idempotent' if again.status_code == 200 else 'refused'})")
                for client, _ in members:
                    await client.aclose()
                await organiser.aclose()
            finally:
                server.terminate()
                server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--levels", default="1,8,32,64")
    parser.add_argument("--workers", default="1", help="comma-separated: e.g. 1,2 compares one and two processes")
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--semantic", action="store_true")
    parser.add_argument("--no-cache", action="store_true", help="STUDY_HUB_SEARCH_CACHE=0: every search computed")
    parser.add_argument("--upload-every", type=float, default=0.0,
                        help="seconds between document uploads by an administrator (each queues an index job)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
