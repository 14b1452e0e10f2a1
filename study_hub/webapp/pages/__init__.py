"""The HTML pages, server-rendered from ``web/templates`` over the same services and presenters as the API."""

from study_hub.webapp.pages import account, library, lists, notes, search, sessions, versions

ROUTERS = (account.router, library.router, lists.router, sessions.router, notes.router, search.router,
           versions.router)
