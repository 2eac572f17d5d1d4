"""Exception handlers that render every error as RFC 9457 problem details."""

from __future__ import annotations

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


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
