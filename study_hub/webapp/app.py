"""``create_app(settings)``: the FastAPI app, its services, error handling, static files and templates."""

from __future__ import annotations

import gc
import importlib.util
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import threadpoolctl
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from study_hub import __version__
from study_hub.accounts import AccountService, LoginThrottled
from study_hub.config import Settings
from study_hub.errors import NotFoundError, NotSignedIn, PasswordChangeRequired, PermissionDenied, StudyHubError
from study_hub.index.builder import IndexMismatchError
from study_hub.jobs.queue import JobQueue
from study_hub.jobs.worker import index_service
from study_hub.library_admin import LibraryAdmin
from study_hub.search.query import QueryError
from study_hub.search.service import IndexNotBuiltError, SearchService
from study_hub.store import open_store
from study_hub.study.notes import NoteService
from study_hub.study.reading_lists import ReadingListService
from study_hub.study.records import RecordService
from study_hub.study.replies import ReplyService
from study_hub.study.sessions import SessionService
from study_hub.study.versions import VersionService
from study_hub.webapp import api, pages
from study_hub.webapp.context import AppContext
from study_hub.webapp.deps import PASSWORD_PAGE, SESSION_COOKIE, error_page_of
from study_hub.webapp.middleware import BodyLimit, SecurityHeaders
from study_hub.webapp.schemas import problem_response
from study_hub.webapp.templating import WEB_DIR, build_templates

log = logging.getLogger(__name__)
_FROM_SETTINGS: Any = object()

# error class -> (HTTP status, short code); the message is the error's own, written for a person
_ERRORS: list[tuple[type[Exception], int, str]] = [
    (NotSignedIn, 401, "not_signed_in"),
    (PasswordChangeRequired, 403, "password_change_required"),
    (PermissionDenied, 403, "forbidden"),
    (LoginThrottled, 429, "too_many_attempts"),
    (QueryError, 400, "bad_request"),
    (NotFoundError, 404, "not_found"),
    (IndexNotBuiltError, 503, "index_not_built"),
    (IndexMismatchError, 503, "index_not_built"),
    (StudyHubError, 400, "bad_request"),
]


def load_encoder(settings: Settings):
    """The embedding model loading in the background when search by meaning is on (None when it is off):
    keyword search answers from the first request; hybrid joins in once the model is loaded."""
    if not settings.semantic:
        return None
    from study_hub.embedding.encoder import EncoderLoader, load_embedder

    return EncoderLoader(lambda: load_embedder(settings, for_queries=True))


def create_app(settings: Settings | None = None, *, encoder: Any = _FROM_SETTINGS) -> FastAPI:
    """The app on ``settings`` (the environment's by default).

    ``encoder``: an ``Embedder`` to share (tests pass theirs), or None for keyword search only; by default it
    is loaded from the settings, in the background. The search service follows ``indexes/current``, so a newly
    built index generation is served without a restart. Index work (uploads, removals) is queued for the job
    worker (``study-hub worker``), never done in a web worker.
    """
    settings = settings or Settings()
    settings.check_for_production()
    store = open_store(settings)
    if encoder is _FROM_SETTINGS:
        encoder = load_encoder(settings)
    accounts = AccountService(store, settings.session_hours)
    search = SearchService(store, settings.indexes_dir, encoder=encoder, cache_size=settings.search_cache)
    index = index_service(settings, store, JobQueue(settings))
    study_sessions = SessionService(store, accounts, zone=settings.zone)
    notes = NoteService(store, accounts, zone=settings.zone)
    context = AppContext(settings=settings, store=store, search=search, accounts=accounts, index=index, notes=notes,
                         replies=ReplyService(store, accounts),
                         reading_lists=ReadingListService(store, accounts, search),
                         study_sessions=study_sessions,
                         records=RecordService(store, accounts, study_sessions, settings.session_norms,
                                               zone=settings.zone),
                         library=LibraryAdmin(settings, store, accounts, index), templates=build_templates(),
                         versions=VersionService(store, notes))

    app = FastAPI(title="study_hub", version=__version__, docs_url=None, redoc_url=None,
                  description="Search and read the original texts of policy documents.")
    app.state.context = context
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    _install_offline_docs(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes, max_file_bytes=settings.max_file_bytes,
                       signed_in=lambda token: context.accounts.session_of(token) is not None,
                       session_cookie=SESSION_COOKIE)
    for router in (*api.ROUTERS, *pages.ROUTERS):
        app.include_router(router)
    _install_error_handlers(app)
    return app


def serving_app(settings: Settings | None = None, *, encoder: Any = _FROM_SETTINGS) -> FastAPI:
    """The app as ``study-hub serve`` runs it in each process: ``create_app``, then ready to answer.

    The current index generation is opened now rather than by the first search (at 100 k passages that is a
    second of someone's wait). Then what was loaded is frozen out of the garbage collector: the model,
    tokenizer, dictionaries and libraries are ~575 k objects that live as long as the process, and every full
    collection walked them all — a 330–400 ms pause in whichever request triggered it (benchmarks/web.py:
    the reader's p95 was 378 ms; 2–8 ms per collection once frozen).

    numpy's BLAS is held to one thread per product (float32 vectors of older index generations): OpenBLAS's
    idle threads spin after every product, and in a server that spinning takes the core the other requests
    need (benchmarks/load.py, 2 cores: the server busy 1.84 cores for 0.93 of work at concurrency 1).
    """
    threadpoolctl.threadpool_limits(1, user_api="blas")
    app = create_app(settings, encoder=encoder)
    try:
        app.state.context.search.generation()
    except StudyHubError as exc:  # no index yet, or one to rebuild: searches say so, the rest works
        log.warning("search is not ready: %s", exc)
    gc.collect()
    gc.freeze()
    return app


def _install_offline_docs(app: FastAPI) -> None:
    """/docs with Swagger UI's files from the swagger-ui-py package: FastAPI's default loads them from a CDN,
    which a machine without internet cannot reach."""
    swagger_files = Path(importlib.util.find_spec("swagger_ui").submodule_search_locations[0]) / "static"
    app.mount("/docs-static", StaticFiles(directory=swagger_files), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path in ("/openapi.json", "/docs")


def _install_error_handlers(app: FastAPI) -> None:
    async def study_hub_error(request: Request, exc: Exception) -> Response:
        status, code = next((s, c) for cls, s, c in _ERRORS if isinstance(exc, cls))
        if isinstance(exc, IndexNotBuiltError):  # a fresh home: the worker is at it, say how far it got
            from starlette.concurrency import run_in_threadpool

            building = await run_in_threadpool(request.app.state.context.building_note)
            if building:
                exc = IndexNotBuiltError(building)
        if _wants_json(request):
            return problem_response(status, code, str(exc))
        if status == 401:  # a page that needs a signed-in user: sign in, then come back
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
        if isinstance(exc, PasswordChangeRequired):  # a one-time password: replace it, then come back
            return RedirectResponse(f"{PASSWORD_PAGE}?{urlencode({'next': request.url.path})}", status_code=303)
        return error_page_of(request).error(status, str(exc))

    for cls, _, _ in _ERRORS:
        app.add_exception_handler(cls, study_hub_error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [{"where": ".".join(str(p) for p in error.get("loc", ())), "problem": error.get("msg", "")}
                   for error in exc.errors()]
        message = "; ".join(f"{d['where']}: {d['problem']}" for d in details) or "invalid request"
        if _wants_json(request):
            return problem_response(422, "validation", message, details)
        return error_page_of(request).error(400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if _wants_json(request):
            return problem_response(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", message)
        return error_page_of(request).error(exc.status_code, message)

    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: DBAPIError) -> Response:
        if not exc.connection_invalidated and not isinstance(exc, (OperationalError, InterfaceError)):
            return await unexpected(request, exc)
        # The database restarting or unreachable: say so and let the next request reconnect (pool_pre_ping).
        log.warning("database unavailable on %s: %s", request.url.path, exc.orig)
        message = "the database is not reachable at the moment; try again shortly"
        if _wants_json(request):
            return problem_response(503, "database_unavailable", message)
        return error_page_of(request).error(503, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        if _wants_json(request):
            return problem_response(500, "internal", "something went wrong on the server; it has been logged")
        return error_page_of(request).error(500, "")
