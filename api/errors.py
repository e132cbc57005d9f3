"""Domain errors of the API and their mapping to RFC 9457 problem details.

Hierarchy::

    ApiError
    ├── BadRequestError      400
    ├── UnauthorizedError    401
    ├── ForbiddenError       403 (the role may not do this; never for another unit's data)
    ├── NotFoundError        404 (also for another unit's case: existence must not leak)
    ├── ConflictError        409 (an illegal state transition, a duplicate)
    ├── TooManyRequestsError 429 (login throttled; ``Retry-After`` says when to retry)
    └── UnavailableError     503 (a service the request needs, e.g. the MQTT broker, is down)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a client can act on; ``detail`` is shown to the client."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra


class NotFoundError(ApiError):
    status = 404
    title = "Not found"


class UnauthorizedError(ApiError):
    status = 401
    title = "Not authenticated"


class BadRequestError(ApiError):
    status = 400
    title = "Bad request"


class ForbiddenError(ApiError):
    status = 403
    title = "Forbidden"


class ConflictError(ApiError):
    status = 409
    title = "Conflict"


class TooManyRequestsError(ApiError):
    status = 429
    title = "Too many requests"


class UnavailableError(ApiError):
    status = 503
    title = "Service unavailable"


#: OpenAPI ``responses`` of a route.
Responses = dict[int | str, dict[str, Any]]

#: OpenAPI description of the problem responses every authenticated route may give.
PROBLEM_RESPONSES: Responses = {
    code: {"description": title, "content": {PROBLEM_JSON: {}}}
    for code, title in (
        (400, "Bad request"),
        (401, "Not authenticated"),
        (403, "The role may not do this"),
        (404, "Not found, or outside the caller's scope"),
        (422, "Invalid request"),
    )
}


def problem(
    status: int,
    title: str,
    detail: str,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 ``application/problem+json`` response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update(extra)
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


def install_handlers(app: FastAPI) -> None:
    """Map domain, HTTP and validation errors to problem details, in one place."""

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return problem(
            exc.status, exc.title, exc.detail, request.url.path, headers=exc.headers, **exc.extra
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(
            exc.status_code, str(exc.detail), str(exc.detail), request.url.path, headers=exc.headers
        )

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, "Invalid request", summary, request.url.path, errors=errors)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "Internal error", "an unexpected error occurred", request.url.path)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
