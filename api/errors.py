"""Errors as answers: JSON ``{"error", "status"}`` under /api and /feeds, an HTML page elsewhere.

404  an unknown story, document, version, source or URL
422  bad parameters (validation, a bad cursor, since after until, a search with no word,
     a diff of a first version)
401  a write without the right bearer token;  403  writes are disabled (no token configured)
503  full-text search is not set up in this database
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import AppState, BadParameterError, UnauthorizedError, WriteForbiddenError
from scraper.core.urls import InvalidURL
from storage.documents import NotFoundError
from storage.reading import ReadingError
from storage.search import InvalidQueryError, SearchUnavailableError
from storage.timeline import InvalidWindowError

log = logging.getLogger(__name__)
JSON_PREFIXES = ("/api/", "/feeds/", "/openapi.json", "/healthz", "/metrics")

STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (WriteForbiddenError, 403),
    (UnauthorizedError, 401),
    (ReadingError, 422),
    (BadParameterError, 422),
    (InvalidWindowError, 422),
    (InvalidQueryError, 422),
    (InvalidURL, 422),
    (SearchUnavailableError, 503),
)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": message, "status": status}
        if details is not None:
            body["details"] = details
        return JSONResponse(body, status_code=status, headers=headers)
    state: AppState = request.app.state.storytrail
    page = state.templates.get_template("error.html").render(status=status, message=message, path="")
    return HTMLResponse(page, status_code=status, headers=headers)


def validation_message(errors: list[dict[str, Any]]) -> str:
    """One sentence for the first invalid parameter: ``query parameter 'limit': ...``."""
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    where = {
        "query": "query parameter",
        "path": "path parameter",
        "body": "request body",
        "header": "header",
    }.get(loc[0] if loc else "", "parameter")
    name = ".".join(loc[1:])
    label = f"{where} {name!r}" if name else where
    return f"{label}: {first.get('msg', 'is invalid')}"


def _details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


async def on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return error_response(request, 422, validation_message(errors), details=_details(errors))


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail) if exc.detail else "error"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such page: {request.url.path}"
    return error_response(request, exc.status_code, message, headers=dict(exc.headers or {}))


async def on_known(request: Request, exc: Exception) -> Response:
    status = next(code for kind, code in STATUS_OF if isinstance(exc, kind))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(request, status, str(exc), headers=headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("request failed", extra={"path": request.url.path})
    return error_response(
        request, 500, f"internal error ({type(exc).__name__}); the server log has the details"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for kind, _ in STATUS_OF:
        app.add_exception_handler(kind, on_known)
    app.add_exception_handler(Exception, on_unexpected)
