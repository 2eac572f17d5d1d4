"""RFC 9457 problem details, raised from anywhere and rendered by the web layer."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://ghgwatch.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error that becomes a ``application/problem+json`` answer."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ if type_.startswith(("about:", "http")) else PROBLEM_BASE + type_
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if instance:
            out["instance"] = instance
        if self.errors is not None:
            out["errors"] = self.errors
        out.update(self.extra)
        return out


def not_found(entity: str, key: object) -> Problem:
    return Problem(404, "Not found", f"{entity} {key} does not exist", type_="not-found")


def conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, type_="conflict")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, type_="forbidden")


def unauthorized(detail: str = "missing or invalid credentials") -> Problem:
    return Problem(401, "Unauthorized", detail, type_="unauthorized", headers={"WWW-Authenticate": "Bearer"})
