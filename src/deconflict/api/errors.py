"""The one place where errors become HTTP responses (RFC 9457 `application/problem+json`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from deconflict.domain import errors as e

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

STATUS: dict[type[e.DomainError], int] = {
    e.InvalidInput: 422,
    e.NotFound: 404,
    e.Forbidden: 403,
    e.VersionMismatch: 409,
    e.InvalidTransition: 409,
    e.ConflictDetected: 409,
    e.StateConflict: 409,
    e.ActivationBlocked: 409,
    e.NoticeTooLate: 422,
}


class Unauthorized(e.DomainError):
    title = "Unauthorized"


def problem(status: int, title: str, detail: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        body["field"] = field
    body.update(extra)
    headers = {"WWW-Authenticate": 'Bearer realm="deconflict"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(e.DomainError)
    async def domain_error(_request: Request, exc: e.DomainError) -> JSONResponse:
        status = 401 if isinstance(exc, Unauthorized) else STATUS.get(type(exc), 400)
        return problem(status, exc.title, exc.detail, exc.field, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(tuple(err.get("loc", ()))), "message": str(err.get("msg", "invalid"))}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem(422, "Invalid input", f"{first['field']}: {first['message']}", first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, "Request failed", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", "the server failed to handle this request; nothing was stored")
