"""The JSON API under /api, documented at /docs (OpenAPI): one router per subject."""

from study_hub.webapp.api import citations, documents, lists, notes, search, sessions

ROUTERS = (search.router, documents.router, citations.router, notes.router, lists.router, sessions.router,
           sessions.stats_router)
