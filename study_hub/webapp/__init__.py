"""The web service: a FastAPI app with a JSON API (``api``) and server-rendered pages (``pages``).

Both call the same services through one ``AppContext`` built by ``create_app(settings)``; nothing is
created at import time.
"""

from study_hub.webapp.app import create_app

__all__ = ["create_app"]
