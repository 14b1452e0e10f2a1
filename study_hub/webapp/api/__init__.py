"""The JSON API under /api, documented at /docs (OpenAPI): one router per subject."""

from study_hub.webapp.api import citations, documents, lists, notes, replies, search, sessions, versions

# replies before notes: /api/notes/unread is matched before /api/notes/{note_id}
ROUTERS = (search.router, documents.router, versions.router, citations.router, replies.router, notes.router,
           lists.router, sessions.router, sessions.stats_router, sessions.units_router)
