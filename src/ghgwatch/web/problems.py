"""Exception handlers that render every error as RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghgwatch.kit.problems import MEDIA_TYPE, Problem


def _response(problem: Problem, request: Request) -> JSONResponse:
    return JSONResponse(problem.body(str(request.url.path)), status_code=problem.status,
                        media_type=MEDIA_TYPE, headers=problem.headers)


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
