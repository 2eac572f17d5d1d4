"""HTTPS for the API: uvicorn's TLS options from ``api.tls_certfile`` and ``api.tls_keyfile``."""

from __future__ import annotations

import ssl
from typing import Any

from ghgwatch.settings import ConfigurationError, Settings


def uvicorn_tls(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``: none without a certificate, else the files (checked to load, so
    that a wrong path or a key that does not match fails at start with a clear message)."""
    cert, key = settings.api.tls_certfile, settings.api.tls_keyfile
    if cert is None or key is None:
        return {}
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot load the TLS certificate {cert} with key {key}: {exc}") from exc
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def scheme(settings: Settings) -> str:
    return "https" if settings.api.tls_certfile is not None else "http"
