"""Exception handlers that render every error as RFC 9457 problem details, in the language of the request's
Accept-Language (``Content-Language`` says which): the title, the detail when it is one of the fixed texts or
templates people commonly see (:data:`DETAILS`), and the ``msg`` of each item of a 422's ``errors`` (rebuilt from
pydantic's error ``type`` and ``ctx`` by :mod:`ghgwatch.i18n.validation`). ``type``, ``status`` and each error's
``type`` and ``loc`` stay the same in every language: clients match on them, not on text. A detail the catalog
lacks (one naming values in a sentence of its own) stays English."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghgwatch import i18n
from ghgwatch.i18n import N_, validation
from ghgwatch.kit.problems import MEDIA_TYPE, Problem, Term

TITLES = (
    N_("Not found"), N_("Not Found"), N_("Unprocessable Entity"), N_("Unprocessable Content"),
    N_("Conflict"), N_("Forbidden"), N_("Unauthorized"), N_("Validation failed"),
    N_("Bad Request"), N_("Method Not Allowed"), N_("Not Acceptable"), N_("Unsupported Media Type"),
    N_("Too Many Requests"), N_("Content Too Large"), N_("Request Entity Too Large"), N_("File too large"),
    N_("Internal Server Error"), N_("Service Unavailable"), N_("Invalid reference"), N_("Invalid user"),
    N_("Bus unavailable"), N_("Cannot fill"), N_("Error"), N_("Body too large"), N_("Too many readings"),
    N_("Too many sign-in attempts"), N_("Too many requests"), N_("Bad signature"), N_("Stale signature"),
    N_("Signature required"), N_("Replayed request"), N_("Inputs changed since approval"), N_("Storage is behind"),
    N_("Measured coverage too low"), N_("Invalid inventory input"), N_("Unsupported media type"),
    N_("Unsupported content format"), N_("Not stored"), N_("Invalid body"), N_("Unreadable file"),
    N_("Malformed JSON"), N_("Gateway not configured"), N_("Unavailable"), N_("Internal error"),
    N_("Ingest unavailable"), N_("Invalid CSV header"), N_("Malformed CSV"), N_("Bad lab results file"),
    N_("Invalid password"), N_("Bad flight file"),
)
"""Problem titles people commonly see; translated per the request's Accept-Language (domain ``web``)."""

DETAILS = (
    # the request-validation summary and the database's safety nets (below)
    N_("invalid fields: {fields}"), N_("{where}: out of range (integers up to {limit})"), N_("a number in the request"),
    N_("out of range"),
    N_("the change conflicts with stored data (a referenced row does not exist, or a unique value is taken)"),
    # 401
    N_("missing or invalid credentials"), N_("wrong username or password"), N_("invalid or expired token"),
    N_("invalid token"), N_("user no longer exists"), N_("this account is deactivated"),
    N_("the token's user does not exist"), N_("this token was revoked (the account changed): sign in again"),
    N_("the account no longer exists or is deactivated"),
    N_("a valid token in the Authorization header or ?access_token= is needed"),
    N_("unknown or revoked device token"), N_("a device token is required: Authorization: Bearer <token>"),
    N_("a device token is required: Uri-Query token=<token>"),
    N_("a gateway device token is required: Authorization: Bearer <token>"),
    N_("the gateway's view token is required (Authorization: Bearer, or ?access_token=)"),
    N_("metrics need Authorization: Bearer <observability.metrics_token>"),
    N_("this device must sign its requests (X-Timestamp, X-Signature)"),
    N_("X-Timestamp and X-Signature go together"), N_("X-Timestamp must be Unix seconds"),
    N_("X-Timestamp must be finite Unix seconds"), N_("X-Signature does not match the body"),
    # 403
    N_("role '{role}' may not do this (needs one of: {roles})"), N_("organisation {organization_id} is not yours"),
    N_("the X-CSRF-Token header is missing or does not match the session"),
    N_("only administrators and auditors read the audit log"),
    N_("only a platform administrator may create organisations"),
    N_("only a platform administrator may delete organisations"),
    N_("only a platform administrator may create users without an organisation"),
    N_("only a platform administrator may write public reference rows"),
    N_("only a platform administrator may write a factor set shared by every organisation"),
    N_("only a platform administrator may add rows by GEM mine id"), N_("the current password is wrong"),
    N_("this device is not an edge gateway (create it with --gateway)"), N_("this row belongs to no organisation"),
    # 404 (with the kinds of record below), 405
    N_("{entity} {key} does not exist"), N_("Not Found"), N_("Method Not Allowed"),
    # 409
    N_("user '{username}' exists"), N_("alert {id} is already resolved"), N_("alert {id} is already acknowledged"),
    N_("{entity} {key} still has dependent rows; delete or move them first"),
    N_("you cannot change your own role or deactivate yourself (ask another administrator)"),
    N_("this signature was already used"),
    # 413, 429
    N_("at most {limit} bytes"), N_("{n} readings in one request; at most {limit}"),
    N_("too many sign-in attempts from {what}; retry later"), N_("this address"), N_("this user"),
    N_("device {device_id} sends faster than {rate} requests/s; retry later"),
    # sign-off, work orders and commands, registry and reference rows, inventory runs, reports, analytics
    N_("report {report_id} is {state}: an {state} report is locked and cannot be {doing}; a change of its inputs "
       "makes a new version (POST .../check)"),
    N_("report {report_id} is {state}; it must be {need} to be {doing}"),
    N_("'{username}' prepared this report and may not review it: a report is reviewed by another administrator "
       "or engineer"),
    N_("'{username}' prepared this report and may not approve it: a report is approved by a second person, an "
       "administrator who neither prepared nor reviewed it"),
    N_("'{username}' reviewed this report and may not approve it: a report is approved by an administrator who "
       "neither prepared nor reviewed it"),
    N_("the period ends on {end}, in the future: a report is prepared for a closed period"),
    N_("the inputs of report {report_id} changed since it was prepared (inputs SHA-256 {then}… then, {now}… "
       "now): refresh it (POST .../refresh) and have it reviewed again before approval"),
    N_("report {report_id} was restated by version {version} (report {later_id}): submit that one once it is "
       "approved"),
    N_("the stored documents of report {report_id} do not match their approved checksums ({names}): not submitted"),
    N_("the inputs of report {report_id} changed since it was approved: it was not submitted; restatement "
       "version {version} (report {new_id}) was prepared with the differences, to be reviewed and approved"),
    N_("document {name} of report {report_id} does not exist"),
    N_("document {name} of report {report_id} no longer matches its approved SHA-256"),
    N_("work order {key} is {current}: it cannot move to {status} (it is finished)"),
    N_("work order {key} is {current}: it cannot move to {status} (only to {allowed})"),
    N_("command {id} is {current} ({why}); it cannot become {status}"),
    N_("command {id} is {current}; it cannot become {status}"),
    N_("factor set {name} version {version} exists; give a new version"),
    N_("no stored factor set {ref}"),
    N_("such a {entity} exists already"),
    N_("{name} must be an integer"),
    N_("cannot sort by {sort}"),
    N_("{field} {key} does not exist"),
    N_("{entity}: {error}"),
    N_("{fields}: may not be null"),
    N_("{low} ({lo}) must be below {high} ({hi}) after this change"),
    N_("unknown reference table {path}; choose from {kinds}"),
    N_("{table} record {key} does not exist or is not visible to you"),
    N_("mine_key {key}: no such mine visible to you"),
    N_("mine {mine} year {year} already has record {clash} for this owner; correct that record instead"),
    N_("organization_id {id}: no such organisation"),
    N_("unknown fields: {fields}"),
    N_("facility {id} does not exist"),
    N_("year_from {year_from} is after year_to {year_to}"),
    N_("{n} problem(s) in the inventory input"),
    N_("facility {name} (id {id}): telemetry covers {covered} of {start} to {end}, below the minimum {minimum}; "
       "lower min_coverage, choose measured_policy 'complement', or run without include_measured"),
    N_("history_months: at least {n} months are needed"),
    N_("month must be YYYY-MM (years 1900 to 2099), got {month}"),
    N_("model name {name} belongs to another organisation; choose another name"),
    N_("facility {id} already has a forecast mapping named {name}"),
    N_("flight {flight_id} is already measured emission {existing}"),
    N_("about {backlog} readings are waiting to be stored (limit {limit}); retry later"),
    N_("method must be one of {methods}"), N_("at most {n} points; use a coarser resolution"),
    N_("{media}: send application/json or text/csv"), N_("Content-Format {format}: send application/json (50)"),
    N_("timestamp is {away} s away from now; at most {limit} s"), N_("variable {variable}: choose from {choices}"),
    N_("method {method}: choose from {choices}"),
    N_("the readings could not be made durable, retry: {error}"), N_('expected {{"{field}": [...]}}: {error}'),
    N_("row {number}: needs mine_key, a whole year and a number in {variable} ({error})"),
    N_("cannot read the {format} file: {error}"),
    # fixed details of other statuses (422, 400, 500, 503)
    N_("this edge gateway has not reached the platform yet, so it knows no devices or sensors; retry once its "
       "link is up"),
    N_("end: must be after start"), N_("organization_id: required for a platform administrator"),
    N_("'from' must be before 'to'"), N_("this process has no bus"),
    N_("organization_id of a record cannot change"), N_("the panel has no known value"),
    N_("'to' must be after 'from'"),
    N_("seam_gas_m3_t: seam gas content is kept per seam; use POST /api/v1/reference/seams"),
    N_("the factor set does not follow the factor-set schema"), N_("the header must be sensor,ts,value[,unit]"),
    N_("body is not UTF-8"), N_("device tokens cannot be checked right now; retry"),
    N_("this process does not run the ingest path"), N_("the request could not be handled; retry"),
    N_("a user without an organisation must be an admin"), N_("the new password must differ from the current one"),
    N_("password must have at least 8 characters"), N_("resolution must be 1m or 1h and 'from' before 'to'"),
    N_("command {key}: missing or invalid {signature} / {timestamp} (HMAC of \"<timestamp>.<body>\" with the "
       "response rule's secret, timestamp within {max_age} s)"),
)
"""Details people commonly see, fixed or as templates (``kit.problems``: ``values`` fill them after translation).
``tests/i18n/test_problem_details.py`` finds the literal details and titles of problems in the source and
requires a Russian entry for each; it also keeps f-string details (English in every language) from coming back."""

ENTITIES = (
    N_("activity data"), N_("alert"), N_("alert rule"), N_("notification route"), N_("command"), N_("device"),
    N_("document"), N_("facility"), N_("factor set"), N_("flight"), N_("forecast mapping"),
    N_("forecast of mapping"), N_("forecast of sensor"), N_("inventory run"), N_("job"), N_("lab result"),
    N_("model"), N_("organisation"), N_("organization"), N_("report"), N_("source"), N_("sensor"), N_("user"),
    N_("work order"), N_("response rule"),
)
"""Kinds of record named by ``not_found`` (a :class:`~ghgwatch.kit.problems.Term`, translated too)."""

REPORT_STATES = (N_("draft"), N_("reviewed"), N_("approved"), N_("submitted"), N_("draft or reviewed"))
"""A report's states as ``reports.signoff.rules`` names them (``Term``s; "draft or reviewed" is what a report must
be to be edited, refreshed or rejected)."""

REPORT_ACTIONS = ("edited", "refreshed", "reviewed", "rejected", "approved", "submitted")
"""The actions ``rules.require_state`` names, translated with the context ``rules.ACTION`` ("report action")."""


def _response(problem: Problem, request: Request) -> JSONResponse:
    locale = i18n.negotiate(request.headers.get("accept-language"))
    t = i18n.translator(locale, "web")
    body = problem.body(str(request.url.path))
    body["title"] = t.gettext(problem.title)
    if problem.detail:
        body["detail"] = problem.localised_detail(t)
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
    """422 naming the fields at fault (names as they are); each error's ``msg`` in the request's language."""
    assert isinstance(exc, RequestValidationError)
    locale = i18n.negotiate(request.headers.get("accept-language"))
    errors: list[dict[str, Any]] = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": validation.message(e, locale), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(e["loc"]) for e in errors)
    problem = Problem(422, "Validation failed", "invalid fields: {fields}", type_="validation", errors=errors,
                      values={"fields": fields})
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
    t = i18n.translator(i18n.negotiate(request.headers.get("accept-language")), "web")
    where = ", ".join(names) if names else Term("a number in the request")
    problem = Problem(422, "Validation failed", "{where}: out of range (integers up to {limit})",
                      type_="validation", values={"where": where, "limit": INT32_MAX},
                      errors=[{"loc": n.split("."), "msg": t.gettext("out of range"), "type": "out_of_range"}
                              for n in names])
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
