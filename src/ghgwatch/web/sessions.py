"""Browser sessions: the user's access token in an HttpOnly cookie, with a CSRF token bound to it.

The web UI signs in through :func:`open_session` (the same JWT as ``POST /auth/token``, so token checks
stay in one place) and the API accepts that cookie wherever it accepts a bearer token. A request that
authenticates by cookie and changes something (any method but GET, HEAD, OPTIONS) must also carry the
session's CSRF token in the ``X-CSRF-Token`` header (or a ``csrf_token`` form field, read by the UI's own
form handlers): a page from another site can make the browser send the cookie, but cannot read the token.
The cookie is also ``SameSite=Strict``, so this is defence in depth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.requests import HTTPConnection
from starlette.responses import Response

from ghgwatch.kit.problems import forbidden

SESSION_COOKIE = "ghgwatch_session"
LOGIN_CSRF_COOKIE = "ghgwatch_login_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str, key: str) -> str:
    """The CSRF token of a session: an HMAC of the session token, so nothing needs to be stored."""
    digest = hmac.new(key.encode(), b"csrf|" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_matches(given: str | None, session_token: str, key: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given), csrf_token(session_token, key))


def cookie_token(conn: HTTPConnection) -> str | None:
    return conn.cookies.get(SESSION_COOKIE) or None


def session_token(conn: HTTPConnection, key: str) -> str | None:
    """The session cookie's token, if any; for a state-changing request, only with its CSRF header."""
    token = cookie_token(conn)
    if token is None:
        return None
    method = conn.scope.get("method", "GET")
    if method not in SAFE_METHODS and not csrf_matches(conn.headers.get(CSRF_HEADER), token, key):
        raise forbidden("the X-CSRF-Token header is missing or does not match the session")
    return token


def _secure(conn: HTTPConnection) -> bool:
    return conn.url.scheme == "https"


def open_session(response: Response, conn: HTTPConnection, token: str, ttl_s: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl_s, httponly=True, samesite="strict",
                        secure=_secure(conn), path="/")


def close_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_login_csrf(response: Response, conn: HTTPConnection, value: str) -> None:
    """Double-submit token of the sign-in form (there is no session to bind it to yet)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, value, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(conn), path="/")


def login_csrf_matches(conn: HTTPConnection, given: str | None) -> bool:
    expected = conn.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
