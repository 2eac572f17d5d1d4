"""RFC 9457 problem details, raised from anywhere and rendered by the web layer.

A detail people commonly see is written as a template with its ``values`` (``"{entity} {key} does not exist"``,
``entity=Term("user")``, ``key=5``), so that the web layer can translate it per Accept-Language (the templates
are ``msgid``s of the ``web`` catalog, listed in ``web/problems.py``); ``detail`` is always the English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Term(str):
    """A value of a detail that is a word to translate as well (the kind of record: "user", "facility"). A
    ``context`` (gettext's ``msgctxt``) tells apart one English word used in two senses: the state "approved"
    and the action ``Term("approved", "report action")`` ("утверждён" / "утвердить")."""

    context: str | None

    def __new__(cls, text: str, context: str | None = None) -> Term:
        term = super().__new__(cls, text)
        term.context = context
        return term


class Translates(Protocol):
    def gettext(self, message: str, /, **values: Any) -> str: ...

    def pgettext(self, context: str, message: str, /, **values: Any) -> str: ...

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
        values: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        self.template = detail
        self.values = dict(values or {})
        detail = detail.format(**self.values) if values else detail
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

    def localised_detail(self, t: Translates) -> str:
        """The detail in ``t``'s language: its template translated and filled (a :class:`Term` value translated
        too), or a fixed detail looked up as it is; a text the catalog lacks stays English."""
        if not self.values:
            return t.gettext(self.detail) if self.detail else ""
        values = {k: _term(t, v) if isinstance(v, Term) else v for k, v in self.values.items()}
        return t.gettext(self.template, **values)


def _term(t: Translates, term: Term) -> str:
    return t.pgettext(term.context, term) if term.context else t.gettext(term)


class InvalidValue(ValueError):
    """A validator's ``ValueError`` written as a template with its values, so that the message of the pydantic
    ``value_error`` it becomes is translated like a problem's detail (``i18n.validation``); ``str()`` is English."""

    def __init__(self, template: str, **values: Any) -> None:
        super().__init__(template.format(**values))
        self.template = template
        self.values = values


def not_found(entity: str, key: object) -> Problem:
    return Problem(404, "Not found", "{entity} {key} does not exist", type_="not-found",
                   values={"entity": Term(entity), "key": key})


def conflict(detail: str, **values: Any) -> Problem:
    """``detail`` is a template when ``values`` are given (``conflict("user '{name}' exists", name=...)``)."""
    return Problem(409, "Conflict", detail, type_="conflict", values=values or None)


def forbidden(detail: str, **values: Any) -> Problem:
    return Problem(403, "Forbidden", detail, type_="forbidden", values=values or None)


def unauthorized(detail: str = "missing or invalid credentials", **values: Any) -> Problem:
    return Problem(401, "Unauthorized", detail, type_="unauthorized", headers={"WWW-Authenticate": "Bearer"},
                   values=values or None)


def too_large(limit: int, title: str = "File too large") -> Problem:
    return Problem(413, title, "at most {limit} bytes", type_="too-large", values={"limit": limit})
