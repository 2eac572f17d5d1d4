"""Exception handlers that render every error as RFC 9457 problem details."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghgwatch import i18n
from ghgwatch.kit.problems import MEDIA_TYPE, Problem


def N_(text: str) -> str:  # gettext's name for "mark for translation"
    return text


TITLES = (
    N_("Not found"), N_("Not Found"), N_("Unprocessable Entity"), N_("Unprocessable Content"),
    N_("Conflict"), N_("Forbidden"), N_("Unauthorized"), N_("Validation failed"),
    N_("Bad Request"), N_("Method Not Allowed"), N_("Not Acceptable"), N_("Unsupported Media Type"),
    N_("Too Many Requests"), N_("Content Too Large"), N_("Request Entity Too Large"), N_("File too large"),
    N_("Internal Server Error"), N_("Service Unavailable"), N_("Invalid reference"), N_("Invalid user"),
    N_("Bus unavailable"), N_("Cannot fill"), N_("Error"),
)
"""Problem titles people commonly see; translated per the request's Accept-Language (domain ``web``).
Details stay in English: they name fields and values, and clients match on ``type``, not on text."""


def _response(problem: Problem, request: Request) -> JSONResponse:
    locale = i18n.negotiate(request.headers.get("accept-language"))
    body = problem.body(str(request.url.path))
    body["title"] = i18n.translator(locale, "web").gettext(problem.title)
    headers = {**(problem.headers or {}), "Content-Language": locale}
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return _response(exc, request)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    problem = Problem(exc.status_code, _title(exc.status_code), str(exc.detail), headers=dict(exc.headers or {}))
    return _response(problem, request)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(e["loc"]) for e in errors)
    problem = Problem(422, "Validation failed", f"invalid fields: {fields}", type_="validation", errors=errors)
    return _response(problem, request)


_OUT_OF_RANGE = re.compile(r"out of (?:\w+ )?range")
"""asyncpg: "value out of int32 range"; PostgreSQL: "integer out of range", "... is out of range for type ..."."""
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1


def _out_of_range(request: Request) -> list[str]:
    """Path and query parameters holding integers no database column can take (named in the answer)."""
    found = []
    for where, params in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in params:
            text = str(value).strip()
            if text.lstrip("+-").isascii() and text.lstrip("+-").isdigit() and abs(int(text)) > INT32_MAX:
                found.append(f"{where}.{name}")
    return found


async def _on_overflow(request: Request, exc: Exception) -> JSONResponse:
    """A number too large for the database (SQLite: OverflowError; PostgreSQL: a DataError): 422, not 500."""
    names = _out_of_range(request)
    where = ", ".join(names) if names else "a number in the request"
    problem = Problem(422, "Validation failed", f"{where}: out of range (integers up to {INT32_MAX})",
                      type_="validation", errors=[{"loc": n.split("."), "msg": "out of range"} for n in names])
    return _response(problem, request)


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    from sqlalchemy.exc import DataError, IntegrityError

    if isinstance(exc, DataError) or isinstance(getattr(exc, "orig", None), OverflowError) \
            or _OUT_OF_RANGE.search(str(getattr(exc, "orig", ""))):
        return await _on_overflow(request, exc)
    if isinstance(exc, IntegrityError):
        problem = Problem(409, "Conflict", "the change conflicts with stored data (a referenced row does not "
                                           "exist, or a unique value is taken)", type_="conflict")
        return _response(problem, request)
    raise exc


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; ``errors`` lists the fields at fault of a 422.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


def _document_problems(app: FastAPI) -> None:
    """Every documented error answer (4xx, 5xx) is ``application/problem+json`` with :data:`PROBLEM_SCHEMA`, as
    the handlers above send it (FastAPI documents its own ``HTTPValidationError`` as ``application/json``)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = build()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas["Problem"] = PROBLEM_SCHEMA
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                for code, answer in operation.get("responses", {}).items():
                    if code.startswith(("4", "5")):
                        answer["content"] = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_problems(app)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    # Safety nets for bad input that reaches the database (issue 12 fuzzing): never a 500.
    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(OverflowError, _on_overflow)
    app.add_exception_handler(DBAPIError, _on_database_error)
