"""Restricted zones ("red lines"): 4D volumes a party declares, possibly open-ended in time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from deconflict.domain.volumes import Volume4D


class ZoneKind(StrEnum):
    NO_FLY = "no-fly"  # nobody else may fly there
    NOTIFY = "notify"  # others may fly there but must be aware


@dataclass(frozen=True)
class Zone:
    id: str
    party_id: str
    name: str
    kind: ZoneKind
    volume: Volume4D
    version: str
    created_at: datetime
