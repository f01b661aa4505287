"""Parties (organisations sharing airspace) and the roles of their credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    OBSERVER = "observer"  # read only
    OPERATOR = "operator"  # files and changes its own party's operations
    SUPERVISOR = "supervisor"  # operator rights, plus zones, agreement acceptance, escalations
    ADMIN = "admin"  # manages parties and agreements; belongs to no party


_RANK = {Role.OBSERVER: 0, Role.OPERATOR: 1, Role.SUPERVISOR: 2}


@dataclass(frozen=True)
class Party:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who is asking: the token's party (None for admin), the token id and its role."""

    token_id: str
    party_id: str | None
    party_name: str | None
    role: Role

    def at_least(self, role: Role) -> bool:
        if self.role is Role.ADMIN or role is Role.ADMIN:
            return self.role is role
        return _RANK[self.role] >= _RANK[role]
