"""Minimal disclosure: the single function deciding what a party may see of another's activity.

Every endpoint that returns an operation or a conflict passes it through `operation_view`.
A counterpart sees geometry, time, state, owner and version; never the private details.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from deconflict.domain.agreements import Agreement
from deconflict.domain.geodesy import FloatArray
from deconflict.domain.operations import LateNotice, Operation, OperationState, PrivateDetails
from deconflict.domain.rules import AgreementBook
from deconflict.domain.separation import contains_points
from deconflict.domain.volumes import Volume4D


@dataclass(frozen=True)
class OperationView:
    id: str
    party_id: str
    state: OperationState
    version: str
    extents: tuple[Volume4D, ...]
    late_notice: tuple[LateNotice, ...]
    #: Present only when the viewer owns the operation.
    private: PrivateDetails | None


def operation_view(viewer_party_id: str, op: Operation, book: AgreementBook | None) -> OperationView | None:
    """What `viewer_party_id` may see of `op`, or None if it may not see it at all.

    `book` may be None only when the viewer is the owner.
    """
    own = viewer_party_id == op.party_id
    if not own and (
        book is None or not book.shares_area(viewer_party_id, op.party_id, (e.outline for e in op.extents))
    ):
        return None
    late = op.late_notice
    if not own:  # only the late notices under agreements the viewer is party to
        assert book is not None
        shared = {a.id for a in book.of_party(viewer_party_id) if op.party_id in a.party_ids}
        late = tuple(x for x in late if x.agreement_id in shared)
    return OperationView(
        id=op.id,
        party_id=op.party_id,
        state=op.state,
        version=op.version,
        extents=op.extents,
        late_notice=late,
        private=op.private if own else None,
    )


# -- live tracks ---------------------------------------------------------------------------------


def track_alias(key: bytes, party_id: str, aircraft_id: str) -> str:
    """A counterpart's name for a track: stable, but revealing nothing of the aircraft.

    Keyed (HMAC-SHA256 with a per-deployment secret), because an ICAO address has only 24 bits: an
    unkeyed hash of it could be reversed by trying them all.
    """
    mac = hmac.new(key, f"{party_id}\x1f{aircraft_id}".encode(), hashlib.sha256).hexdigest()
    return f"t-{mac[:16]}"


@dataclass(frozen=True)
class TrackIdentity:
    """How a track is shown to one viewer. Always by its alias. Its position only to its own party
    or inside an agreement area the viewer shares with the owner (`located`); its aircraft id and
    callsign only to its own party, or inside the area of a shared agreement that shares track
    identities."""

    party_id: str
    alias: str
    aircraft_id: str | None
    callsign: str | None
    located: bool = True


class TrackDisclosure:
    """What one viewer may see of tracks, with the agreements it holds looked up once."""

    def __init__(self, viewer_party_id: str, book: AgreementBook, alias_key: bytes) -> None:
        self.viewer = viewer_party_id
        self.book = book
        self.alias_key = alias_key
        self._shared: dict[str, list[Agreement]] = {}

    def _agreements_with(self, owner: str) -> list[Agreement]:
        if owner not in self._shared:
            self._shared[owner] = self.book.shared(self.viewer, owner)
        return self._shared[owner]

    def _held(self, agreements: list[Agreement], lat_deg: FloatArray, lng_deg: FloatArray) -> npt.NDArray[np.bool_]:
        held = np.zeros(len(lat_deg), dtype=bool)
        for a in agreements:
            if a.area is None:
                return np.ones(len(lat_deg), dtype=bool)
            held |= contains_points(a.area, lat_deg, lng_deg)
        return held

    def visible(self, owner: str, lat_deg: FloatArray, lng_deg: FloatArray) -> npt.NDArray[np.bool_]:
        """Which of `owner`'s track positions the viewer may see: inside a shared agreement's area."""
        if owner == self.viewer:
            return np.ones(len(lat_deg), dtype=bool)
        return self._held(self._agreements_with(owner), lat_deg, lng_deg)

    def named(self, owner: str, lat_deg: FloatArray, lng_deg: FloatArray) -> npt.NDArray[np.bool_]:
        """Where the viewer may also see aircraft ids and callsigns: inside an identity-sharing area."""
        if owner == self.viewer:
            return np.ones(len(lat_deg), dtype=bool)
        sharing = [a for a in self._agreements_with(owner) if a.live.share_track_identity]
        return self._held(sharing, lat_deg, lng_deg)

    def identity(self, owner: str, aircraft_id: str, callsign: str | None, located: bool, named: bool) -> TrackIdentity:
        """A track's identity from the masks above (computed for many tracks at once)."""
        alias = track_alias(self.alias_key, owner, aircraft_id)
        if named:
            return TrackIdentity(owner, alias, aircraft_id, callsign, located)
        return TrackIdentity(owner, alias, None, None, located)

    def describe(
        self, owner: str, aircraft_id: str, callsign: str | None, lat_deg: float, lng_deg: float
    ) -> TrackIdentity:
        """One track's identity as the viewer may see it, at that position."""
        lat, lng = np.array([lat_deg]), np.array([lng_deg])
        located = bool(self.visible(owner, lat, lng)[0])
        return self.identity(owner, aircraft_id, callsign, located, located and bool(self.named(owner, lat, lng)[0]))
