"""The app's ASGI middleware: security headers on every response, and request bodies bounded before anything
parses them.

- ``BodyLimit`` refuses a declared or streamed body over ``STUDY_HUB_MAX_BODY_BYTES`` (1 MiB), or on the
  upload routes over ``STUDY_HUB_MAX_FILE_BYTES`` plus room for the form fields, with 413 at once, so an
  oversized upload never lands on disk, not even in a temporary file; an upload without a signed-in session
  is answered 401 before its body is read.
- Plain ASGI classes: ``@app.middleware("http")`` (Starlette's BaseHTTPMiddleware) costs each request an extra
  task and stream, measurable under load (benchmarks/load.py).
"""

from __future__ import annotations

from study_hub.webapp import schemas

UPLOAD_PATHS = ("/api/documents", "/documents/upload")
FORM_ROOM = 64 * 1024  # the multipart framing and the metadata fields around the file

# Pages load only their own files; the Swagger UI page starts itself with an inline script.
_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                     (b"x-frame-options", b"DENY"))
_SECURITY_HEADERS_WITH_CSP = (*_SECURITY_HEADERS, (b"content-security-policy", _CSP.encode()))


class SecurityHeaders:
    """Adds the security headers to every response the route did not set itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = _SECURITY_HEADERS if scope["path"] == "/docs" else _SECURITY_HEADERS_WITH_CSP

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((n, v) for n, v in extra if n not in present)]}
            await send(message)

        return await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over their limit (413) as they arrive, before anything parses or stores them.

    Every request body is counted, declared (Content-Length) or chunked: ``max_body_bytes`` in general,
    ``max_file_bytes`` (plus the form around the file) on the upload routes. An upload from a browser that is
    not signed in is refused (401) before its body is read at all: anonymous clients cannot make the server
    receive 50 MiB to answer "sign in first".
    """

    def __init__(self, app, max_body_bytes: int, max_file_bytes: int, signed_in=None,
                 session_cookie: str = "study_hub_session"):
        self.app = app
        self.session_cookie = session_cookie
        self.max_body_bytes = max_body_bytes
        self.max_file_bytes = max_file_bytes
        self.signed_in = signed_in  # (cookie token) -> bool, checked in a worker thread

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["method"] == "POST" and scope["path"] in UPLOAD_PATHS
        limit = self.max_file_bytes + FORM_ROOM if upload else self.max_body_bytes
        if upload and self.signed_in is not None and not await _signed_in(scope, self.session_cookie, self.signed_in):
            response = schemas.problem_response(401, "not_signed_in", "sign in first (/login)",
                                                headers={"connection": "close"})
            return await response(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self._refuse(scope, receive, send, upload)
        received = 0
        overflowed = refused = False

        async def counted_receive():
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            nonlocal refused
            if not overflowed:
                await send(message)
            elif message["type"] == "http.response.start" and not refused:  # the parser's own 400 becomes 413
                refused = True
                await self._refuse(scope, receive, send, upload)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _TooLarge:
            if not refused:
                await self._refuse(scope, receive, send, upload)

    async def _refuse(self, scope, receive, send, upload: bool) -> None:
        message = f"the upload is larger than the limit of {self.max_file_bytes:,} bytes (STUDY_HUB_MAX_FILE_BYTES)" \
            if upload else f"the request body is larger than the limit of {self.max_body_bytes:,} bytes"
        response = schemas.problem_response(413, "too_large", message, headers={"connection": "close"})
        await response(scope, receive, send)


async def _signed_in(scope, session_cookie: str, check) -> bool:
    from http.cookies import SimpleCookie

    from starlette.concurrency import run_in_threadpool

    cookies = SimpleCookie()
    for name, value in scope["headers"]:
        if name == b"cookie":
            cookies.load(value.decode("latin-1"))
    token = cookies.get(session_cookie)
    if token is None:
        return False
    try:
        return await run_in_threadpool(check, token.value)
    except Exception:  # the database is unreachable: the route answers that itself (503), not this check
        return True
