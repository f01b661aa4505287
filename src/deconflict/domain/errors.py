"""Typed domain errors; the API maps each to one HTTP status in a single place.

DomainError
 ├── InvalidInput          (422)  a value is malformed or out of range; names the field
 ├── NotFound              (404)  unknown, or not visible to the caller
 ├── Forbidden             (403)  the caller's role does not allow the action
 ├── VersionMismatch       (409)  an update presented a stale version
 ├── InvalidTransition     (409)  the operation's state does not allow the action
 ├── ConflictDetected      (409)  reject_on_conflict was set and conflicts exist
 ├── StateConflict         (409)  the object's current state does not allow it (answered twice, ...)
 │    └── ActivationBlocked (409) counterparts objected or have not acknowledged yet
 └── NoticeTooLate         (422)  the start is closer than the agreed minimum notice
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the service reports to a client."""

    title = "Request failed"

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class InvalidInput(DomainError):
    title = "Invalid input"


class NotFound(DomainError):
    title = "Not found"


class Forbidden(DomainError):
    title = "Forbidden"


class VersionMismatch(DomainError):
    title = "Version mismatch"


class InvalidTransition(DomainError):
    title = "Invalid state transition"


class ConflictDetected(DomainError):
    title = "Conflicts detected"


class StateConflict(DomainError):
    title = "Conflict with the current state"


class ActivationBlocked(StateConflict):
    title = "Activation blocked by the hotline"


class NoticeTooLate(DomainError):
    title = "Notice too late"
