"""Which agreements apply between two parties at a place, and what buffers and notice they impose."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from deconflict.domain.agreements import Agreement, Buffers, LatePolicy
from deconflict.domain.separation import DISTANCE_TOLERANCE_M, separation
from deconflict.domain.volumes import Outline


def touches_area(agreement: Agreement, outline: Outline) -> bool:
    """True when the outline meets the agreement's area of interest (everywhere when it has none)."""
    if agreement.area is None:
        return True
    return separation(agreement.area, outline, 0.0).distance_m <= DISTANCE_TOLERANCE_M


def _everywhere(agreement: Agreement) -> bool:
    if agreement.area is not None:
        raise ValueError(f"agreement {agreement.id} has an area of interest: which outlines does it apply to?")
    return True


@dataclass(frozen=True)
class Applicable:
    agreement_ids: tuple[str, ...]
    buffers: Buffers


class AgreementBook:
    """The active agreements, looked up by party; immutable snapshot."""

    def __init__(self, agreements: Iterable[Agreement]) -> None:
        self.agreements = tuple(a for a in agreements if a.active)
        self._by_party: dict[str, list[Agreement]] = {}
        for a in self.agreements:
            for p in a.party_ids:
                self._by_party.setdefault(p, []).append(a)
        # Filled as asked; shared by the service's threads (a race at worst computes one answer twice).
        self._between_parties: dict[tuple[str, str], Applicable | None] = {}

    def of_party(self, party_id: str) -> list[Agreement]:
        return self._by_party.get(party_id, [])

    def counterparts(self, party_id: str) -> set[str]:
        return {p for a in self.of_party(party_id) for p in a.party_ids if p != party_id}

    def widest_buffers(self, party_id: str) -> Buffers | None:
        """The largest buffers any of the party's agreements asks for; None without agreements."""
        widest: Buffers | None = None
        for a in self.of_party(party_id):
            widest = a.buffers if widest is None else widest.widest(a.buffers)
        return widest

    def between(self, party_a: str, party_b: str, outline_a: Outline, outline_b: Outline) -> Applicable | None:
        """Agreements binding both parties whose area both outlines touch; the widest buffers among them."""
        return self._applicable(party_a, party_b, lambda a: touches_area(a, outline_a) and touches_area(a, outline_b))

    def _applicable(self, party_a: str, party_b: str, applies: Callable[[Agreement], bool]) -> Applicable | None:
        if party_a == party_b:
            return None
        ids: list[str] = []
        buffers: Buffers | None = None
        for a in self.of_party(party_a):
            if party_b in a.party_ids and applies(a):
                ids.append(a.id)
                buffers = a.buffers if buffers is None else buffers.widest(a.buffers)
        if buffers is None:
            return None
        return Applicable(tuple(sorted(ids)), buffers)

    def between_parties(self, party_a: str, party_b: str) -> Applicable | None:
        """`between` where no agreement of `party_a` has an area of interest, so the answer is the same for any
        outlines: looked up once per pair of parties for the life of this snapshot."""
        key = (party_a, party_b)
        if key not in self._between_parties:
            self._between_parties[key] = self._applicable(party_a, party_b, _everywhere)
        return self._between_parties[key]

    def notice_rules(self, party_id: str, outline: Outline) -> list[tuple[Agreement, float, LatePolicy]]:
        """(agreement, minimum notice, late policy) for each agreement whose area the outline touches."""
        return [(a, a.min_notice_s, a.late_policy) for a in self.of_party(party_id) if touches_area(a, outline)]

    def shared(self, a: str, b: str) -> list[Agreement]:
        """The active agreements binding both parties."""
        return [x for x in self.of_party(a) if b in x.party_ids]

    def shares_area(self, viewer: str, owner: str, outlines: Iterable[Outline]) -> bool:
        """Whether `viewer` may see `owner`'s activity with these outlines (minimal disclosure)."""
        shared = self.shared(viewer, owner)
        if not shared:
            return False
        outlines = list(outlines)
        return any(touches_area(a, o) for a in shared for o in outlines)

    def touching(self, owner: str, outlines: Iterable[Outline]) -> dict[str, list[Agreement]]:
        """Counterpart -> the owner's agreements with it whose area any of the outlines touches: who
        may see the owner's activity there, and under which rules."""
        outlines = list(outlines)
        groups: dict[str, list[Agreement]] = {}
        for a in self.of_party(owner):
            if any(touches_area(a, o) for o in outlines):
                for p in a.party_ids - {owner}:
                    groups.setdefault(p, []).append(a)
        return groups

    def audience(self, owner: str, outlines: Iterable[Outline]) -> set[str]:
        """The owner and every counterpart that may see activity with these outlines."""
        return {owner, *self.touching(owner, outlines)}
