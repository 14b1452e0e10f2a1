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
@click.option("--issuer", help="Issuing organ or speaker.")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--date", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--doc-number", help="文号, e.g. 中发〔2021〕16号.")
@click.option("--language", type=click.Choice(LANGUAGES))
@click.pass_obj
def ingest(settings: Settings, paths: tuple[Path, ...], doc_id: str | None, **fields: str | None) -> None:
    """Ingest files and folders (txt, md, html, docx, pdf) into the store.

    Metadata comes from a catalog.jsonl/metadata.jsonl beside the files, front matter, the file itself or
    the text; the options here override all of those.
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
    for path, reason in report.failures:
        click.echo(f"FAILED {path}: {reason}", err=True)
    total_docs, total_passages = store.counts()
    click.echo(f"store: {total_docs} documents, {total_passages} passages ({_safe_url(settings)})")
    if not report.ok:
        sys.exit(1)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


@main.group()
def docs() -> None:
    """Look at what was ingested."""


@docs.command("list")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--issuer", help="Issuer contains this text.")
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
                         ("level", document.level), ("kind", document.kind), ("date", document.date),
                         ("dates", document.dates or None), ("文号", document.doc_number),
                         ("language", document.language), ("source", document.source_path),
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


def run() -> None:
    """Entry point that turns expected errors into a message and exit code 2 instead of a traceback."""
    try:
        main(standalone_mode=True)
    except StudyHubError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
