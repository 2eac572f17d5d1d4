"""The HTTP application (FastAPI): built by :func:`create_app` from settings, never at import time."""

from ghgwatch.web.app import create_app

__all__ = ["create_app"]
