"""The `study-hub` command. Heavy imports happen inside the commands that need them."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from study_hub.config import Settings
from study_hub.domain import KINDS, LANGUAGES, LEVELS, DocumentMeta
from study_hub.errors import StudyHubError


@click.group()
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the database and indexes (default: STUDY_HUB_HOME or the repository).")
@click.pass_context
def main(ctx: click.Context, home: Path | None) -> None:
    """study_hub: ingest, index and search the original texts of policy documents."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = Settings(home=home) if home else Settings()


def _store(settings: Settings):
    from study_hub.store import open_store

    return open_store(settings)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--id", "doc_id", help="Document id (only when ingesting one file).")
@click.option("--title", help="Title, instead of the first line.")
@click.option("--issuer", help="Issuing body, e.g. 国务院 (国务院（总理李强） is split into body and speaker).")
@click.option("--speaker", help="Who spoke or delivered it, e.g. 总理李强 (speeches, reports).")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--date", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--doc-number", help="文号, e.g. 中发〔2021〕16号.")
@click.option("--language", type=click.Choice(LANGUAGES))
@click.option("--status", help="Validity: current, amended, repealed, not_yet_effective, unknown (or 现行有效, 已修订, "
                               "已废止, 尚未生效). Without it a stored status is kept.")
@click.option("--status-date", help="When it took that status: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--no-index", is_flag=True, help="Do not update the search index afterwards.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Update the index here before returning, or queue the update for the job worker "
                   "(`study-hub serve` starts one) and return at once.")
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], doc_id: str | None, no_index: bool, wait: bool,
           **fields: str | None) -> None:
    """Ingest files and folders (txt, md, html, docx, pdf) into the store.

    Metadata comes from a catalog.jsonl/metadata.jsonl beside the files, front matter, the file itself or
    the text; the options here override all of those. A file whose text changed becomes the document's next
    version (the earlier texts are kept; `study-hub docs versions ID`); an unchanged file makes none.
    """
    from tqdm import tqdm

    from study_hub.pipeline import collect_files, ingest_paths

    if doc_id and len(collect_files(paths)) != 1:
        raise click.UsageError("--id names one document: give exactly one file with it")
    overrides = DocumentMeta(id=doc_id, **fields)
    problems = overrides.problems()
    if problems:
        raise click.UsageError("; ".join(problems))
    store = _store(settings)
    with tqdm(total=len(collect_files(paths)), unit="file", desc="ingest", disable=None) as bar:
        def progress(done: int, total: int, path: Path) -> None:
            bar.set_postfix_str(path.name[-40:], refresh=False)
            bar.update(1)

        report = ingest_paths(paths, store, settings, overrides, progress=progress)
    outcomes = ", ".join(f"{count} {name}" for name, count in report.outcomes.items() if count)
    mb = report.bytes_read / 1e6
    click.echo(f"{report.documents} documents ({outcomes or 'none'}), {report.passages} passages, "
               f"{report.characters:,} characters, {mb:.2f} MB in {report.seconds:.1f} s; "
               f"{len(report.failures)} failed")
    if report.outcomes.get("updated"):
        click.echo(f"{report.outcomes['updated']} documents have a new version (their earlier texts are kept)")
    for path, reason in report.failures:
        click.echo(f"FAILED {path}: {reason}", err=True)
    if report.notes_moved or report.notes_orphaned:
        click.echo(f"study notes in changed documents: {report.notes_moved} re-anchored, "
                   f"{report.notes_orphaned} orphaned (their quote is gone; shown with it in the reader)")
    total_docs, total_passages = store.counts()
    click.echo(f"store: {total_docs} documents, {total_passages} passages ({_safe_url(settings)})")
    if not no_index:
        _index_job(settings, store, "update", f"ingest of {len(collect_files(paths))} files", wait)
    if not report.ok:
        sys.exit(1)


def _encoder(settings: Settings):
    """The embedding model, or None when semantic search is switched off (STUDY_HUB_SEMANTIC=false)."""
    if not settings.semantic:
        return None
    from study_hub.embedding.encoder import load_embedder

    return load_embedder(settings)


def _index_job(settings: Settings, store, kind: str, reason: str, wait: bool = True) -> None:
    """Index work through the orchestrator: here with progress bars (``wait``), or queued for the worker."""
    from tqdm import tqdm

    from study_hub.jobs.queue import JobQueue
    from study_hub.jobs.worker import index_service

    if not wait:
        service = index_service(settings, store, JobQueue(settings))
        job_id = service.request(kind, "cli", reason)
        click.echo(f"index job {job_id} queued: the job worker (`study-hub serve` starts one, or `study-hub worker`) "
                   "builds the keyword index first, then encodes the passages; `study-hub index status` shows how "
                   "far it got")
        return
    service = index_service(settings, store)
    bars: dict[str, tqdm] = {}
    labels = {"keyword": ("index", "passage"), "model": ("model", "step"), "embedding": ("embed", "text")}

    def progress(phase: str, done: int, total: int) -> None:
        bar = bars.get(phase)
        if bar is None:
            for other in bars.values():
                other.close()
            desc, unit = labels.get(phase, (phase, "item"))
            bar = bars[phase] = tqdm(unit=unit, desc=desc, disable=None)
        bar.total = total or None
        bar.n = done
        bar.refresh()

    try:
        job = service.request_and_run(kind, "cli", reason, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    if job is None or job.state != "done":
        raise StudyHubError(f"index job {job.id if job else '?'} {job.state if job else 'vanished'}: "
                            f"{job.message if job else ''}")
    click.echo(f"index job {job.id} done: {job.message}")


@main.group()
def index() -> None:
    """Search indexes (built from the store, published as generations under indexes/)."""


@index.command("build")
@click.pass_obj
@click.option("--wait/--no-wait", default=True, show_default=True, help="Build here, or queue it for the worker.")
def index_build(settings: Settings, wait: bool) -> None:
    """Build a new generation of every index from the store."""
    _index_job(settings, _store(settings), "rebuild", "study-hub index build", wait)


@index.command("update")
@click.pass_obj
@click.option("--wait/--no-wait", default=True, show_default=True, help="Update here, or queue it for the worker.")
def index_update(settings: Settings, wait: bool) -> None:
    """Re-index only the documents that changed since the current generation (or build one)."""
    _index_job(settings, _store(settings), "update", "study-hub index update", wait)


def _describe_semantic(semantic: dict | None) -> str:
    if not semantic:
        return "none (STUDY_HUB_SEMANTIC=false when built)"
    return (f"{semantic['model']} (converter {semantic.get('converter_version')}, {semantic['dimension']} dimensions, "
            f"{semantic['passages']} passages)")


@index.command("status")
@click.pass_obj
def index_status(settings: Settings) -> None:
    """Show the current generation, whether it is up to date with the store, and the index jobs."""
    from study_hub.index.builder import analyzer_manifest, vector_coverage
    from study_hub.index.generations import current_generation, read_manifest
    from study_hub.jobs.ledger import JobLedger

    store = _store(settings)
    jobs = JobLedger(store)
    folder = current_generation(settings.indexes_dir)
    if folder is None:
        click.echo(f"no index in {settings.indexes_dir}: run `study-hub index build`")
    else:
        manifest = read_manifest(folder)
        fingerprints = store.document_fingerprints()
        stale = sum(1 for d, fp in fingerprints.items() if manifest["documents"].get(d) != fp)
        stale += len(set(manifest["documents"]) - set(fingerprints))
        compatible = manifest["analyzer_version"] == analyzer_manifest()["analyzer_version"]
        with_vectors, passages = vector_coverage(manifest)
        share = f" ({with_vectors}/{passages} passages, {100 * with_vectors // max(1, passages)}%)" \
            if manifest.get("semantic") else ""
        click.echo(f"generation: {manifest['generation']} ({manifest['created_at']})\n"
                   f"documents: {manifest['counts']['documents']}, passages: {manifest['counts']['passages']}\n"
                   f"analyzer: {manifest['analyzer_version']}{'' if compatible else ' (OUTDATED: rebuild)'}\n"
                   f"keyword engine: {manifest['keyword_engine']}\n"
                   f"embeddings: {_describe_semantic(manifest.get('semantic'))}{share}\n"
                   f"documents changed since: {stale}{' (run `study-hub index update`)' if stale else ''}")
    shown = jobs.active() or jobs.recent(1)
    for job in shown:
        click.echo(_describe_job(job))
    if folder is None:
        sys.exit(1)


def _describe_job(job) -> str:
    line = f"job {job.id} ({job.kind}, by {job.requested_by or '?'}): {job.state}"
    if job.state == "running":
        line += f", {job.phase} {job.done}/{job.total}"
        if job.percent is not None:
            line += f" ({job.percent}%"
            if job.rate:
                line += f", {job.rate:.1f}/s"
            if job.seconds_left is not None:
                line += f", about {_duration(job.seconds_left)} left"
            line += ")"
        line += f" on {job.worker}"
    elif job.message:
        line += f": {job.message}"
    return line


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


@main.command()
@click.pass_obj
def worker(settings: Settings) -> None:
    """Run index jobs as they are queued (`study-hub serve` starts one; run more on other nodes with
    STUDY_HUB_QUEUE_URL=redis://…). Ctrl-C stops it after the job at hand; SIGTERM at once (the job it was
    running is queued again when a worker next starts, and what it had encoded is kept)."""
    from study_hub.jobs.worker import run_worker

    logging.getLogger("study_hub").setLevel(logging.INFO)
    logging.getLogger("huey").setLevel(logging.WARNING)
    run_worker(settings)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


@main.group()
def docs() -> None:
    """Look at what was ingested."""


@docs.command("list")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--issuer", help="Issuing body or speaker contains this text.")
@click.option("--year", type=int)
@click.pass_obj
def docs_list(settings: Settings, level: str | None, kind: str | None, issuer: str | None,
              year: int | None) -> None:
    """List documents: id, level, kind, date, passages, title."""
    from study_hub.store import DocumentFilter

    documents = _store(settings).list_documents(DocumentFilter(level=level, kind=kind, issuer=issuer, year=year))
    for d in documents:
        click.echo(f"{d.id:55} {d.level or '-':10} {d.kind or '-':10} {d.date or '-':10} "
                   f"{d.passage_count:5}  {d.title}")
    click.echo(f"{len(documents)} documents")


@docs.command("show")
@click.argument("doc_id")
@click.option("--full", is_flag=True, help="Print each passage's whole text.")
@click.pass_obj
def docs_show(settings: Settings, doc_id: str, full: bool) -> None:
    """Show a document's metadata and its passage tree."""
    document = _store(settings).get_document(doc_id)
    for label, value in [("id", document.id), ("title", document.title), ("issuer", document.issuer),
                         ("speaker", document.speaker), ("level", document.level), ("kind", document.kind),
                         ("date", document.date), ("dates", document.dates or None), ("文号", document.doc_number),
                         ("language", document.language),
                         ("validity", f"{document.status}" + (f" since {document.status_date}"
                                                              if document.status_date else "")),
                         ("source", document.source_path),
                         ("format", document.source_format), ("encoding", document.encoding),
                         ("characters", document.char_count), ("passages", document.passage_count)]:
        if value is not None:
            click.echo(f"{label:>10}: {value}")
    click.echo("")
    shown: list[str] = []
    for passage in document.passages:
        path = passage.heading_path.split(" > ") if passage.heading_path else []
        common = 0
        while common < min(len(path), len(shown)) and path[common] == shown[common]:
            common += 1
        for depth in range(common, len(path)):
            click.echo("  " * depth + click.style(path[depth], bold=True))
        shown = path
        indent = "  " * len(path)
        body = passage.text if full else passage.text.replace("\n", " ⏎ ")[:60] + (
            "…" if len(passage.text) > 60 else "")
        click.echo(f"{indent}[{passage.ordinal}] {passage.id} ({passage.char_start}-{passage.char_end}) {body}")


@docs.command("versions")
@click.argument("doc_id")
@click.pass_obj
def docs_versions(settings: Settings, doc_id: str) -> None:
    """List a document's versions: number, when ingested, characters, source hash, title."""
    versions = _store(settings).versions(doc_id)
    for version in versions:
        click.echo(f"{version.number:>3}  {version.ingested_at:%Y-%m-%d %H:%M} UTC  {version.char_count:>8,} chars  "
                   f"{version.source_hash[:12]}  {version.meta.get('title') or ''}"
                   + ("  (current)" if version.current else ""))
    click.echo(f"{len(versions)} versions; the comparison page: /documents/{doc_id}/compare?from=N&to=M")


@docs.command("set-status")
@click.argument("doc_id")
@click.argument("status")
@click.option("--date", "status_date", help="When it took that status: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--no-index", is_flag=True, help="Do not update the search index afterwards.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Update the index here, or queue the update for the worker.")
@click.pass_obj
def docs_set_status(settings: Settings, doc_id: str, status: str, status_date: str | None, no_index: bool,
                    wait: bool) -> None:
    """Set a document's validity (时效性): current, amended, repealed, not_yet_effective or unknown (or 现行有效,
    已修订, 已废止, 尚未生效). Search then shows an amended or repealed document only when asked for history."""
    store = _store(settings)
    from study_hub.errors import MetadataError

    try:
        changed = store.set_status(doc_id, status, status_date)
    except MetadataError as exc:  # a status or date that is not one: say which (an unknown id is a plain error)
        raise click.UsageError(str(exc)) from exc
    document = store.get_document(doc_id)
    click.echo(f"{doc_id}: {document.status}" + (f" since {document.status_date}" if document.status_date else "")
               + ("" if changed else " (unchanged)"))
    if changed and not no_index:
        _index_job(settings, store, "update", f"status of {doc_id}", wait)


@docs.command("remove")
@click.argument("doc_id")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Update the index here, or queue the update for the worker.")
@click.pass_obj
def docs_remove(settings: Settings, doc_id: str, wait: bool) -> None:
    """Remove a document: its passages leave the store and the index; notes on it are kept, orphaned."""
    from study_hub.jobs.queue import JobQueue
    from study_hub.jobs.worker import index_service

    store = _store(settings)
    service = index_service(settings, store, None if wait else JobQueue(settings))
    removed = service.remove_document(doc_id, "cli")
    click.echo(f"removed {doc_id}: {removed.notes_orphaned} notes and {removed.items_orphaned} reading-list items "
               "kept as orphaned")
    if wait:
        job = service.run(removed.job_id)
        click.echo(f"index job {removed.job_id} {job.state if job else '?'}: {job.message if job else ''}")


@main.command()
@click.option("--unresolved", "show_unresolved", type=int, default=20, show_default=True, metavar="N",
              help="List the N most frequent references the library cannot resolve (0: none).")
@click.option("--rebuild", is_flag=True, help="Find and resolve every document's citations anew first.")
@click.pass_obj
def citations(settings: Settings, show_unresolved: int, rebuild: bool) -> None:
    """Citations between documents (法条联想): references found by kind and how they resolved."""
    store = _store(settings)
    if rebuild:
        click.echo(f"rebuilt: {store.citations.rebuild():,} references")
    for line in store.citations.counts(unresolved_limit=show_unresolved).lines(unresolved=show_unresolved > 0):
        click.echo(line)


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Bring the schema to the newest revision."""
    from study_hub.store.db import current_revision, make_engine, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    click.echo(f"schema at revision {current_revision(engine)} ({_safe_url(settings)})")


def _accounts(settings: Settings):
    from study_hub.accounts import AccountService

    return AccountService(_store(settings), settings.session_hours)


@main.group()
def unit() -> None:
    """Organisation units: 区委 → 街道党工委 → 社区党委 → 党支部 → 党小组, and ad-hoc groups."""


@unit.command("add")
@click.argument("name")
@click.option("--parent", help='The unit above, as a path: "迎泽区委/桥东街道党工委".')
@click.option("--kind", default="other", show_default=True,
              help="district_committee, street_committee, township_committee, community, village, branch, "
                   "group, office, working_group, steering_group, other")
@click.pass_obj
def unit_add(settings: Settings, name: str, parent: str | None, kind: str) -> None:
    """Add a unit."""
    created = _accounts(settings).add_unit(name, kind, parent)
    click.echo(f"unit {created.id}: {parent + '/' if parent else ''}{name} ({kind})")


@unit.command("list")
@click.pass_obj
def unit_list(settings: Settings) -> None:
    """The unit tree, one path per line."""
    for row, path in _accounts(settings).list_units():
        click.echo(f"{row.id:>5}  {'  ' * (row.path.count('/') - 2)}{path}  ({row.kind})")


@main.group()
def user() -> None:
    """Users and roles (admin, organiser, member). The first admin is created here, never by default."""


@user.command("add")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="The real name, as on the sign-in sheet.")
@click.option("--role", type=click.Choice(["admin", "organiser", "member"]), default="member", show_default=True)
@click.option("--unit", "units", multiple=True, help='A unit path ("迎泽区委/桥东街道党工委"); repeatable.')
@click.password_option(help="Asked for (twice) when not given; at least 10 characters.")
@click.pass_obj
def user_add(settings: Settings, login: str, display_name: str, role: str, units: tuple[str, ...],
             password: str) -> None:
    """Add a user."""
    _accounts(settings).add_user(login, display_name, password, role, list(units))
    click.echo(f"user {login} ({display_name}, {role}) added")


@user.command("set-role")
@click.argument("login")
@click.argument("role", type=click.Choice(["admin", "organiser", "member"]))
@click.pass_obj
def user_set_role(settings: Settings, login: str, role: str) -> None:
    """Change a user's role (recorded in the audit log)."""
    _accounts(settings).set_role(login, role)
    click.echo(f"{login} is now {role}")


@user.command("set-password")
@click.argument("login")
@click.password_option(help="Asked for (twice) when not given; at least 10 characters.")
@click.option("--one-time", is_flag=True, help="The user must replace it with their own at the next sign-in.")
@click.pass_obj
def user_set_password(settings: Settings, login: str, password: str, one_time: bool) -> None:
    """Set a new password (a forgotten one); signs the user out everywhere, recorded in the audit log."""
    _accounts(settings).set_password(login, password, one_time=one_time)
    click.echo(f"{login} has a new {'one-time ' if one_time else ''}password")


@user.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def user_import(settings: Settings, path: Path) -> None:
    """Import members from a .csv or .xlsx file with columns name, login, unit, role[, password].

    Rows without a password get a one-time password, printed here once. Bad rows are listed and skipped.
    """
    from study_hub.accounts.importer import import_members, read_rows

    report = import_members(_accounts(settings), read_rows(path))
    for login, password in report.added:
        click.echo(f"added {login}" + (f"  one-time password: {password}" if password else ""))
    for number, reason in report.rejected:
        click.echo(f"row {number}: rejected: {reason}", err=True)
    click.echo(f"{len(report.added)} added, {len(report.rejected)} rejected")
    if report.rejected:
        sys.exit(1)


@user.command("list")
@click.pass_obj
def user_list(settings: Settings) -> None:
    """Users with their roles and units."""
    from sqlalchemy import select

    from study_hub.store.models import User

    accounts = _accounts(settings)
    with accounts.sessions() as session:
        users = list(session.scalars(select(User).order_by(User.login)))
    for row in users:
        who = accounts.principal(row)
        click.echo(f"{row.login:<20} {row.display_name:<10} {row.role:<10} {', '.join(n for _, n, _ in who.units)}")


@main.command()
@click.option("--force", is_flag=True,
              help="Run even though the database has users: the demo's units and accounts are added beside theirs "
                   "(units of the same path are reused; demo accounts that exist get new one-time passwords).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the site is served (for the addresses "
                                                                      "printed).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.pass_obj
def demo(settings: Settings, force: bool, host: str, port: int) -> None:
    """The district programme ready to show: the shipped corpus (if the store is empty), the special action's
    organisation, a dozen accounts with one-time passwords (printed once), a reading list drafted from a topic,
    a past session with attendance, minutes and make-up study, and an upcoming one. Refuses a database that has
    users unless --force."""
    from tqdm import tqdm

    from study_hub.demo import describe, run_demo

    bar: dict[str, tqdm] = {}

    def progress(done: int, total: int, path: Path) -> None:
        if "ingest" not in bar:
            bar["ingest"] = tqdm(total=total, unit="file", desc="ingest", disable=None)
        bar["ingest"].update(1)

    try:
        report = run_demo(settings, _store(settings), force, echo=click.echo, progress=progress)
    finally:
        for shown in bar.values():
            shown.close()
    click.echo("\n".join(describe(report, f"http://{host}:{port}", settings.zone)))


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup(settings: Settings, path: Path) -> None:
    """Write the user data (accounts, units, notes, lists, sessions, attendance, audit log) to PATH."""
    from study_hub.store.backup import backup as write_backup

    counts = write_backup(_store(settings), path)
    click.echo(f"backup written to {path}: " + ", ".join(f"{n} {name}" for name, n in counts.items() if n))


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def restore(settings: Settings, path: Path) -> None:
    """Load a backup into an empty database (ingest the documents too: notes point at their passages)."""
    from study_hub.store.backup import restore as read_backup

    counts = read_backup(_store(settings), path)
    click.echo(f"restored into {_safe_url(settings)}: " + ", ".join(f"{n} {name}" for name, n in counts.items() if n))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes serving requests (each loads the app and the embedding model).")
@click.option("--job-worker/--no-job-worker", default=True, show_default=True,
              help="Start the index job worker beside the web workers (off: run `study-hub worker` elsewhere).")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, job_worker: bool) -> None:
    """Serve the site and the JSON API (pages at /, API at /api, its documentation at /docs)."""
    import os

    import uvicorn

    from study_hub.webapp.app import serving_app

    settings.check_for_production()  # a wrong setting stops here, not in every worker
    store = _store(settings)  # the schema is brought up to date once, before any worker starts
    # The processes started from here build their settings from the environment (the home chosen here included).
    os.environ["STUDY_HUB_HOME"] = str(settings.home)
    os.environ["STUDY_HUB_DATABASE_URL"] = settings.database_url
    # The job worker first: it converts the model on a fresh machine while the web workers already answer.
    worker_process = _start_job_worker() if job_worker else None
    # One process builds its app here; several build theirs in each worker. Each loads the embedding model in
    # the background (keyword search answers meanwhile).
    app = serving_app(settings) if workers == 1 else None
    documents, passages = store.counts()
    click.echo(f"serving {documents} documents, {passages} passages on http://{host}:{port}/ with {workers} "
               f"worker(s) (search by meaning {'on' if settings.semantic else 'off'})")
    # Keep idle connections longer than clients and proxies do (nginx: 60 s), so the client side closes
    # first: a server closing a connection as a client reuses it loses that request (seen under load).
    keep_alive = 65
    try:
        if app is not None:
            uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=keep_alive)
        else:
            uvicorn.run("study_hub.webapp.app:serving_app", factory=True, host=host, port=port, workers=workers,
                        log_level="info", timeout_keep_alive=keep_alive)
    finally:
        if worker_process is not None:
            worker_process.terminate()  # SIGTERM: huey's consumer stops; a job cut short runs again next time
            try:
                worker_process.wait(30)
            except Exception:
                worker_process.kill()


def _start_job_worker():
    """`study-hub worker` as a child process that dies with this one (Linux: PR_SET_PDEATHSIG), so a server
    killed outright leaves no worker behind; its job runs again when the next worker starts."""
    import signal
    import subprocess

    def die_with_parent() -> None:
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass

    process = subprocess.Popen([sys.executable, "-c", "from study_hub.cli import run; run()", "worker"],
                               preexec_fn=die_with_parent)  # no threads in this process yet: safe
    click.echo(f"index job worker started (pid {process.pid})")
    return process


def run() -> None:
    """Entry point that turns expected errors into a message and exit code 2 instead of a traceback."""
    try:
        main(standalone_mode=True)
    except StudyHubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


_EVAL_FILTERS = {"level": "level", "kind": "kind", "doc_kind": "kind", "issuer": "issuer", "year": "year",
                 "doc": "doc", "language": "language"}


@main.command()
@click.argument("query", required=False)
@click.option("--level", help="central, provincial, municipal, district (or 中央 省级 市级 区级)")
@click.option("--kind", help="document, regulation, report, speech, news")
@click.option("--issuer", help="Issuing body or speaker contains this text.")
@click.option("--year", help="2021 or 2019..2023")
@click.option("--doc", "doc", help="Only this document id.")
@click.option("--status", help="Validity: current, amended, repealed, not_yet_effective, unknown or all "
                               "(comma-separated; default: what is in force or unrated)")
@click.option("--history", is_flag=True, help="Also amended and repealed documents.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("--mode", type=click.Choice(["keyword", "semantic", "hybrid"]), default="hybrid",
              help="keyword (BM25), semantic (by meaning), hybrid (both, fused; the default)")
@click.option("--page", type=int, default=1)
@click.option("--limit", type=int, default=10)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result.")
@click.option("--queries", type=click.File("r", encoding="utf-8"),
              help="A JSON-lines file of {id, query, filters}; prints one run line per query.")
@click.pass_obj
def search(settings: Settings, query: str | None, as_json: bool, queries, **options) -> None:
    """Search the passages. Query syntax: words, "exact wording", -excluded, OR, level:… kind:… year:…"""
    import json

    from study_hub.search.query import QueryError
    from study_hub.search.service import SearchRequest, SearchService

    service = SearchService(_store(settings), settings.indexes_dir,
                            encoder=_encoder(settings) if options["mode"] != "keyword" else None)
    if queries is not None:
        for number, line in enumerate(queries, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                filters = {_EVAL_FILTERS[k]: str(v) for k, v in (item.get("filters") or {}).items()}
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                raise click.UsageError(f"{queries.name}:{number}: not a query line ({exc})") from exc
            try:
                response = service.search(SearchRequest(item.get("query") or "", limit=options["limit"],
                                                        facets=False, mode=options["mode"], **filters))
            except QueryError as exc:  # one bad query (empty, malformed) must not stop the batch
                click.echo(json.dumps({"id": item.get("id"), "results": [], "error": str(exc)}, ensure_ascii=False))
                continue
            click.echo(json.dumps({"id": item.get("id"), "results": [_hit_json(h) for h in response.results]},
                                  ensure_ascii=False))
        return
    if not query and not any(options[k] for k in ("level", "kind", "issuer", "year", "doc", "status")):
        raise click.UsageError("give a query, a filter option, or --queries FILE")
    response = service.search(SearchRequest(query or "", **options))
    if as_json:
        for hit in response.results:
            click.echo(json.dumps(_hit_json(hit), ensure_ascii=False))
        return
    first = (response.page - 1) * response.limit
    click.echo(f"{response.total} passages ({response.mode}, {response.took_ms:.0f} ms, index {response.generation})")
    for rank, hit in enumerate(response.results, first + 1):
        if response.partial_from is not None and rank - 1 == max(response.partial_from, first):
            click.echo(click.style("— passages below contain only some of the words —", dim=True))
        from study_hub.search.highlight import render_snippet

        snippet = render_snippet(hit.text, hit.highlights, width=120, open_tag="\x1b[1;31m", close_tag="\x1b[0m",
                                 escape=False)
        where = " > ".join(p for p in (hit.heading_path,) if p)
        validity = f"{hit.status}" + (f" since {hit.status_date}" if hit.status_date else "")
        meta = " · ".join(v for v in (hit.doc_number, hit.date, hit.level, hit.kind,
                                      validity if hit.status != "unknown" else None) if v)
        click.echo(f"\n{rank}. 《{hit.title}》 {meta}\n   {where}\n   {snippet}\n   {hit.passage_id}  "
                   f"score {hit.score:.4g} ({'+'.join(hit.rankers)})")
    if response.facets:
        click.echo("")
        for name, counts in response.facets.items():
            shown = ", ".join(f"{value} {count}" for value, count in list(counts.items())[:6])
            click.echo(f"{name}: {shown}")


def _hit_json(hit) -> dict:
    return {"passage_id": hit.passage_id, "doc_id": hit.doc_id, "title": hit.title, "doc_number": hit.doc_number,
            "level": hit.level, "kind": hit.kind, "issuer": hit.issuer, "date": hit.date,
            "heading_path": hit.heading_path, "text": hit.text, "snippet": hit.snippet, "score": hit.score,
            "url": hit.url, "rankers": list(hit.rankers), "status": hit.status, "status_date": hit.status_date}


@main.command()
@click.argument("passage_id")
@click.option("--per-level", type=int, default=3)
@click.pass_obj
def related(settings: Settings, passage_id: str, per_level: int) -> None:
    """Cross-level tracing: passages like this one in documents of the other levels."""
    from study_hub.search.service import SearchService

    service = SearchService(_store(settings), settings.indexes_dir, encoder=_encoder(settings))
    for level, hits in service.related(passage_id, per_level).items():
        click.echo(click.style(level, bold=True))
        for hit in hits:
            click.echo(f"  {hit.score:.3f} 《{hit.title}》 {hit.heading_path}\n        {hit.text[:90]}…\n"
                       f"        {hit.passage_id}")
