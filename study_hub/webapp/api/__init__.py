"""The JSON API under /api, documented at /docs (OpenAPI): one router per subject."""

from study_hub.webapp.api import documents, lists, notes, search, sessions, versions

ROUTERS = (search.router, documents.router, versions.router, notes.router, lists.router, sessions.router,
           sessions.stats_router)
