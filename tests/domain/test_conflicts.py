"""Strategic conflict detection (`deconflict.domain.conflicts`) under the agreements between parties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from deconflict.domain.agreements import Agreement, AgreementState, Buffers, LatePolicy
from deconflict.domain.conflicts import Conflict, detect
from deconflict.domain.index import Entry, SpaceTimeIndex
from deconflict.domain.rules import AgreementBook
from deconflict.domain.separation import DISTANCE_TOLERANCE_M
from deconflict.domain.volumes import (
    AltitudeBand,
    LatLng,
    Limits,
    Outline,
    TimeWindow,
    Volume4D,
    circle_outline,
    polygon_outline,
)
from tests.domain import reference

GEOD = Geod(ellps="WGS84")
T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits()
BUFFERS = Buffers(lateral_m=1_852.0, vertical_m=152.4, time_s=300.0)
NO_BUFFERS = Buffers(0.0, 0.0, 0.0)

#: The subject: a ~1.5 x 2.2 km square whose east edge runs along the meridian 8.02 E (a geodesic).
SUBJECT = polygon_outline([LatLng(47.0, 8.0), LatLng(47.0, 8.02), LatLng(47.02, 8.02), LatLng(47.02, 8.0)], LIMITS)
EAST_EDGE_MIDDLE = (47.01, 8.02)


def east_of_subject(distance_m: float) -> Outline:
    """A triangle whose tip is `distance_m` due east of the middle of the subject's east edge.

    Leaving a meridian at azimuth 90 is perpendicular to it, and the triangle opens away from
    the subject, so the tip and the edge's middle are the closest pair: the gap is `distance_m`.
    """
    tip = reference.offset(*EAST_EDGE_MIDDLE, 90.0, distance_m)
    corners = [reference.offset(*tip, az, 2_000.0) for az in (60.0, 120.0)]
    return polygon_outline([LatLng(*tip), *(LatLng(*c) for c in corners)], LIMITS)


def window(start_s: float, end_s: float) -> TimeWindow:
    return TimeWindow(T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s))


def volume(
    outline: Outline = SUBJECT, band: tuple[float, float] = (0.0, 100.0), time: TimeWindow | None = None
) -> Volume4D:
    return Volume4D(outline, AltitudeBand(*band), time or window(0.0, 3_600.0))


def agreement(
    agreement_id: str,
    *parties: str,
    buffers: Buffers = BUFFERS,
    area: Outline | None = None,
    state: AgreementState = AgreementState.ACTIVE,
) -> Agreement:
    return Agreement(
        id=agreement_id,
        name=agreement_id,
        party_ids=frozenset(parties),
        area=area,
        min_notice_s=1_800.0,
        buffers=buffers,
        late_policy=LatePolicy.FLAG,
        state=state,
    )


def index_of(*entries: Entry) -> SpaceTimeIndex:
    index = SpaceTimeIndex()
    for e in entries:
        index.add(e)
    return index


def op(owner_id: str, party: str, vol: Volume4D, extent: int = 0) -> Entry:
    return Entry("operation", owner_id, party, extent, vol)


def detect_against(other: Volume4D, book: AgreementBook, subject: Volume4D | None = None) -> list[Conflict]:
    """Conflicts of party A's single extent with party B's single extent."""
    return detect("A", [subject or volume()], index_of(op("op-b", "B", other)), book)


AB = AgreementBook([agreement("ab", "A", "B")])


def test_the_east_of_subject_construction_is_exact() -> None:
    for distance_m in (10.0, 1_852.0):
        gap = reference.separation_m(reference.of_outline(SUBJECT), reference.of_outline(east_of_subject(distance_m)))
        assert gap == pytest.approx(distance_m, abs=1e-3)


# --- who can conflict with whom -----------------------------------------------------------------------


def test_same_party_extents_never_conflict() -> None:
    index = index_of(op("own", "A", volume()), op("theirs", "B", volume()))
    found = detect("A", [volume()], index, AB)
    assert [c.other_id for c in found] == ["theirs"]


def test_parties_without_an_active_agreement_never_conflict() -> None:
    book = AgreementBook([agreement("ab", "A", "B"), agreement("ad", "A", "D", state=AgreementState.PENDING)])
    index = index_of(op("c", "C", volume()), op("d", "D", volume()), op("b", "B", volume()))
    assert [c.other_id for c in detect("A", [volume()], index, book)] == ["b"]
    assert detect("C", [volume()], index, book) == []  # C has no agreements at all


def test_an_agreement_between_others_does_not_bind_the_subject() -> None:
    book = AgreementBook([agreement("bc", "B", "C")])
    assert detect("A", [volume()], index_of(op("b", "B", volume())), book) == []


# --- buffers widen exactly ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta_m", "conflicts"),
    [(-0.5, True), (0.0, True), (0.05, False), (0.5, False)],
    ids=["inside", "at", "just-outside", "outside"],
)
def test_lateral_buffer(delta_m: float, conflicts: bool) -> None:
    other = volume(east_of_subject(BUFFERS.lateral_m + delta_m))
    found = detect_against(other, AB)
    assert bool(found) is conflicts
    if found:
        assert found[0].horizontal_distance_m == pytest.approx(BUFFERS.lateral_m + delta_m, abs=1e-3)


@pytest.mark.parametrize(
    ("delta_m", "conflicts"), [(-0.5, True), (0.0, True), (0.5, False)], ids=["inside", "at", "outside"]
)
@pytest.mark.parametrize("side", ["above", "below"])
def test_vertical_buffer(delta_m: float, conflicts: bool, side: str) -> None:
    gap = BUFFERS.vertical_m + delta_m
    subject = volume(band=(1_000.0, 1_100.0))
    band = (1_100.0 + gap, 1_300.0 + gap) if side == "above" else (800.0 - gap, 1_000.0 - gap)
    found = detect_against(volume(band=band), AB, subject)
    assert bool(found) is conflicts
    if found:
        assert found[0].vertical_gap_m == pytest.approx(gap, abs=1e-9)


@pytest.mark.parametrize(
    ("delta_s", "conflicts"), [(-1.0, True), (0.0, True), (1.0, False)], ids=["inside", "at", "outside"]
)
@pytest.mark.parametrize("side", ["after", "before"])
def test_time_buffer(delta_s: float, conflicts: bool, side: str) -> None:
    gap = BUFFERS.time_s + delta_s
    other = window(3_600.0 + gap, 7_200.0 + gap) if side == "after" else window(-3_600.0 - gap, -gap)
    found = detect_against(volume(time=other), AB)
    assert bool(found) is conflicts
    if found:
        assert found[0].time_gap_s == pytest.approx(gap, abs=1e-6)
        assert found[0].time_start is None
        assert found[0].time_end is None


@pytest.mark.parametrize("other", ["shared-edge", "shared-vertex"])
def test_touching_counts_even_without_buffers(other: str) -> None:
    book = AgreementBook([agreement("ab", "A", "B", buffers=NO_BUFFERS)])
    touching = (
        polygon_outline([LatLng(47.0, 8.02), LatLng(47.0, 8.04), LatLng(47.02, 8.04), LatLng(47.02, 8.02)], LIMITS)
        if other == "shared-edge"
        else polygon_outline([LatLng(47.02, 8.02), LatLng(47.03, 8.03), LatLng(47.04, 8.02)], LIMITS)
    )
    found = detect_against(volume(touching, band=(100.0, 200.0), time=window(3_600.0, 7_200.0)), book)
    assert len(found) == 1
    conflict = found[0]
    assert conflict.horizontal_distance_m <= DISTANCE_TOLERANCE_M
    assert conflict.vertical_gap_m == 0.0
    assert conflict.time_gap_s == 0.0
    assert conflict.time_start == conflict.time_end == T0 + timedelta(hours=1)
    assert conflict.altitude_lower_m == conflict.altitude_upper_m == 100.0
    assert conflict.overlap is not None
    assert conflict.overlap["type"] in {"Point", "LineString", "MultiLineString"}
    assert shapely.geometry.shape(conflict.overlap).is_valid


def test_a_hair_apart_without_buffers_is_no_conflict() -> None:
    book = AgreementBook([agreement("ab", "A", "B", buffers=NO_BUFFERS)])
    assert detect_against(volume(east_of_subject(0.05)), book) == []
    assert detect_against(volume(band=(100.05, 200.0)), book) == []
    assert detect_against(volume(time=window(3_601.0, 7_200.0)), book) == []


def test_each_pair_uses_its_own_agreements_buffers() -> None:
    narrow = Buffers(100.0, 10.0, 10.0)
    book = AgreementBook([agreement("ab", "A", "B", buffers=narrow), agreement("ad", "A", "D", buffers=BUFFERS)])
    near = volume(east_of_subject(1_000.0))
    index = index_of(op("b", "B", near), op("d", "D", near))
    found = detect("A", [volume()], index, book)
    assert [(c.other_id, c.agreement_ids, c.lateral_buffer_m) for c in found] == [("d", ("ad",), BUFFERS.lateral_m)]


def test_several_agreements_between_a_pair_apply_the_widest_buffers() -> None:
    book = AgreementBook(
        [
            agreement("ab-2", "A", "B", buffers=Buffers(100.0, 500.0, 10.0)),
            agreement("ab-1", "A", "B", buffers=Buffers(2_000.0, 10.0, 900.0)),
        ]
    )
    found = detect_against(volume(east_of_subject(1_900.0), band=(400.0, 500.0), time=window(4_200.0, 5_000.0)), book)
    assert len(found) == 1
    conflict = found[0]
    assert conflict.agreement_ids == ("ab-1", "ab-2")
    assert (conflict.lateral_buffer_m, conflict.vertical_buffer_m, conflict.time_buffer_s) == (2_000.0, 500.0, 900.0)


# --- the agreement's area of interest -----------------------------------------------------------------


def _area_around(lat: float, lng: float, radius_m: float) -> Outline:
    return circle_outline(LatLng(lat, lng), radius_m, LIMITS)


@pytest.mark.parametrize(
    ("area", "conflicts"),
    [
        (None, True),
        (_area_around(47.01, 8.03, 3_000.0), True),  # covers both
        (_area_around(47.01, 8.003, 500.0), False),  # inside the subject only, away from the other
        (_area_around(46.5, 8.5, 3_000.0), False),  # elsewhere
    ],
    ids=["everywhere", "covers-both", "subject-only", "elsewhere"],
)
def test_agreement_area_limits_conflicts(area: Outline | None, conflicts: bool) -> None:
    # The other overlaps only the subject's eastern part.
    other = polygon_outline(
        [LatLng(47.005, 8.015), LatLng(47.005, 8.03), LatLng(47.015, 8.03), LatLng(47.015, 8.015)], LIMITS
    )
    assert reference.separation_m(reference.of_outline(other), reference.Circle(47.01, 8.003, 500.0)) > 0
    book = AgreementBook([agreement("ab", "A", "B", area=area)])
    assert bool(detect_against(volume(other), book)) is conflicts


@pytest.mark.parametrize(("lat", "fraction"), [(10.0, 0.5), (30.0, 0.73), (47.0, 0.17), (75.0, 0.5)])
def test_outline_with_a_vertex_on_the_area_edge_is_in_the_area(lat: float, fraction: float) -> None:
    # The area's south edge is a ~10 km geodesic; the outline hangs below it from one point on it.
    area = polygon_outline(
        [LatLng(lat, 0.0), LatLng(lat, 0.1), LatLng(lat + 0.05, 0.1), LatLng(lat + 0.05, 0.0)], LIMITS
    )
    heading, _, length_m = GEOD.inv(0.0, lat, 0.1, lat)
    tip_lng, tip_lat, _ = GEOD.fwd(0.0, lat, heading, length_m * fraction)
    hanging = polygon_outline(
        [LatLng(tip_lat, tip_lng), LatLng(tip_lat - 0.02, tip_lng + 0.01), LatLng(tip_lat - 0.02, tip_lng - 0.01)],
        LIMITS,
    )
    assert reference.distance_to_m(tip_lat, tip_lng, reference.of_outline(area)) <= 1e-6
    book = AgreementBook([agreement("ab", "A", "B", area=area)])
    assert len(detect_against(volume(hanging), book, volume(hanging))) == 1


def test_agreement_area_touching_an_outline_counts() -> None:
    area = polygon_outline([LatLng(47.0, 8.02), LatLng(47.0, 8.04), LatLng(47.02, 8.04), LatLng(47.02, 8.02)], LIMITS)
    book = AgreementBook([agreement("ab", "A", "B", area=area)])
    assert len(detect_against(volume(east_of_subject(100.0)), book)) == 1


# --- the report ---------------------------------------------------------------------------------------


def test_report_of_an_overlap() -> None:
    other = polygon_outline(
        [LatLng(47.01, 8.01), LatLng(47.01, 8.03), LatLng(47.03, 8.03), LatLng(47.03, 8.01)], LIMITS
    )
    subject = volume(band=(0.0, 300.0), time=window(0.0, 7_200.0))
    found = detect_against(volume(other, band=(200.0, 500.0), time=window(3_600.0, 10_800.0)), AB, subject)
    assert len(found) == 1
    c = found[0]
    assert (c.subject_extent, c.other_kind, c.other_id, c.other_party_id, c.other_extent) == (
        0,
        "operation",
        "op-b",
        "B",
        0,
    )
    assert c.agreement_ids == ("ab",)
    assert (c.time_start, c.time_end, c.time_gap_s) == (T0 + timedelta(hours=1), T0 + timedelta(hours=2), 0.0)
    assert (c.altitude_lower_m, c.altitude_upper_m, c.vertical_gap_m) == (200.0, 300.0, 0.0)
    assert c.horizontal_distance_m == 0.0
    assert (c.lateral_buffer_m, c.vertical_buffer_m, c.time_buffer_s) == (
        BUFFERS.lateral_m,
        BUFFERS.vertical_m,
        BUFFERS.time_s,
    )
    # Overlap: the two outlines widened by half the lateral buffer each, where they meet.
    assert c.overlap is not None
    assert c.overlap["type"] == "Polygon"
    shape = shapely.geometry.shape(c.overlap)
    assert shape.is_valid
    for lng, lat in shapely.get_coordinates(shape)[::3]:
        for outline in (SUBJECT, other):
            assert reference.distance_to_m(lat, lng, reference.of_outline(outline)) <= BUFFERS.lateral_m / 2 + 1.0
    assert shape.contains(shapely.Point(8.015, 47.015))  # a point inside both outlines


def test_report_of_a_conflict_through_the_buffers_only() -> None:
    subject = volume(band=(0.0, 100.0), time=window(0.0, 3_600.0))
    other = volume(east_of_subject(1_000.0), band=(200.0, 300.0), time=window(3_700.0, 7_200.0))
    [c] = detect_against(other, AB, subject)
    assert c.time_start is None
    assert c.time_end is None
    assert c.time_gap_s == pytest.approx(100.0)
    assert c.vertical_gap_m == pytest.approx(100.0)
    assert c.altitude_lower_m > c.altitude_upper_m  # an empty band: the gap says how far apart
    assert c.horizontal_distance_m == pytest.approx(1_000.0, abs=1e-3)
    assert c.overlap is not None
    assert c.overlap["type"] == "Polygon"
    assert shapely.geometry.shape(c.overlap).is_valid


def test_zone_with_an_open_window() -> None:
    zone = Entry("zone", "z1", "B", 0, Volume4D(SUBJECT, AltitudeBand(0.0, 50.0), TimeWindow(None, None)))
    [c] = detect("A", [volume()], index_of(zone), AB)
    assert (c.other_kind, c.other_id) == ("zone", "z1")
    assert (c.time_start, c.time_end) == (T0, T0 + timedelta(hours=1))
    assert (c.altitude_lower_m, c.altitude_upper_m) == (0.0, 50.0)


@pytest.mark.parametrize(
    ("subject_window", "other_window"),
    [
        ((0.0, 7_200.0), (3_600.000001, 10_799.999999)),  # the other's start, the subject's end
        ((1_800.5, 3_600.25), (0.0, 7_200.0)),  # the subject's own window, inside the other's
        ((0.0, 7_200.0), (0.0, 7_200.0)),  # equal
        ((None, None), (-86_400.123456, 123_456.654321)),  # an open subject: the other's moments
        ((-60.0, 7_200.0), (None, 3_600.0)),  # an open start on the other side
    ],
)
def test_the_overlapping_window_is_the_later_start_and_the_earlier_end_to_the_microsecond(
    subject_window: tuple[float | None, float | None], other_window: tuple[float | None, float | None]
) -> None:
    def moments(w: tuple[float | None, float | None]) -> TimeWindow:
        return TimeWindow(*(None if s is None else T0 + timedelta(seconds=s) for s in w))

    subject, other = moments(subject_window), moments(other_window)
    [c] = detect_against(volume(SUBJECT, time=other), AB, volume(time=subject))
    starts = [t for t in (subject.start, other.start) if t is not None]
    ends = [t for t in (subject.end, other.end) if t is not None]
    assert c.time_start == (max(starts) if starts else None)
    assert c.time_end == (min(ends) if ends else None)
    for moment in (c.time_start, c.time_end):
        assert moment is None or moment.utcoffset() == timedelta(0)


def test_several_extents_are_reported_in_order_and_exclude_skips_an_owner() -> None:
    east = volume(east_of_subject(500.0))
    index = index_of(
        op("op-c", "B", east, extent=1),
        op("op-b", "B", volume(), extent=0),
        op("op-b", "B", east, extent=1),
        Entry("zone", "z", "B", 0, volume()),
    )
    far_extent = volume(circle_outline(LatLng(48.0, 9.0), 1_000.0, LIMITS))
    found = detect("A", [far_extent, volume(), east], index, AB)
    keys = [(c.subject_extent, c.other_kind, c.other_id, c.other_extent) for c in found]
    assert keys == sorted(keys)
    assert {k[0] for k in keys} == {1, 2}
    assert ("operation", "op-c") in {(k[1], k[2]) for k in keys}
    excluded = detect("A", [volume()], index, AB, exclude=("operation", "op-c"))
    assert "op-c" not in {c.other_id for c in excluded}
    assert {c.other_id for c in excluded} == {"op-b", "z"}


@pytest.mark.parametrize(
    ("subject", "other"),
    [
        (
            polygon_outline(
                [LatLng(-17.0, 179.98), LatLng(-17.0, -179.99), LatLng(-16.98, -179.99), LatLng(-16.98, 179.98)], LIMITS
            ),
            circle_outline(LatLng(*reference.offset(-16.99, -179.99, 90.0, 1_800.0)), 500.0, LIMITS),
        ),
        (
            polygon_outline([LatLng(89.9, lng) for lng in (0.0, 120.0, -120.0)], LIMITS),
            circle_outline(LatLng(*reference.offset(89.95, 180.0, 180.0, 1_500.0)), 200.0, LIMITS),
        ),
        (  # a disc's first vertex lies due east of its centre: here, on the equator
            circle_outline(LatLng(0.0, 10.0), 5_000.0, LIMITS),
            polygon_outline(
                [LatLng(lat, lng) for lat, lng in ((-0.01, 10.058), (-0.01, 10.1), (0.01, 10.1), (0.01, 10.058))],
                LIMITS,
            ),
        ),
    ],
    ids=["antimeridian", "pole", "equator"],
)
def test_conflicts_at_awkward_places_match_the_reference(subject: Outline, other: Outline) -> None:
    gap = reference.separation_m(reference.of_outline(subject), reference.of_outline(other))
    assert 0.0 < gap < BUFFERS.lateral_m
    [c] = detect_against(volume(other), AB, volume(subject))
    assert c.horizontal_distance_m == pytest.approx(gap, abs=1.0)
    assert c.overlap is not None
    assert shapely.geometry.shape(c.overlap).is_valid


#: Found by fuzzing at exact special coordinates. A star around the north pole against a square on the
#: far side of it, 10 km buffer: the overlap winds round the pole and doubles back in longitude where a
#: ring laid out from its first vertex would start.
_STAR_AT_THE_POLE = [
    (89.98996021476528, -174.89753649880328),
    (89.98945219948152, -177.09664392266095),
    (89.98940424780251, -180.0),
    (89.98950311464796, 177.34822813706126),
    (89.98998049081268, 176.4239424957843),
    (89.99052429831329, 176.7350085946703),
    (89.99081308762287, -180.0),
    (89.99038643179254, -177.64798069210445),
]
_SQUARE_BEYOND_THE_POLE = [
    (89.95985827716305, 1.0819311946841366),
    (89.9592763023652, 0.0),
    (89.95985875039291, -1.0455532819610438),
    (89.96044715554603, 0.0),
]
#: A small square round the pole and a star reaching to within 8 km of it, 10 km buffer: the lens's edges near
#: the pole sweep tens of degrees of longitude, and drawn straight in longitude and latitude they crossed.
_SQUARE_ROUND_THE_POLE = [
    (89.9908953034033, -179.99999),
    (89.98996000158488, -174.88391983525804),
    (89.98910469659664, -179.99999),
    (89.98996000158488, 174.88393983525805),
]
_STAR_NEAR_THE_POLE = [
    (89.71723733865672, 40.5916465655082),
    (89.67305556896825, 27.648215792206877),
    (89.61642439218127, 18.1440220066062),
    (89.6420181645565, 7.18277148569395),
    (89.65286586316488, -4.945783550639647),
    (89.6808809726039, -13.844378676161579),
    (89.6998753965215, -24.15094070702351),
    (89.74782278777381, -37.639476994526134),
    (89.7762585305837, -55.87233683954264),
    (89.85598199176538, -49.98452882403736),
    (89.93061895836021, -30.666933416086774),
    (89.92462971461002, 33.496161479902966),
    (89.86427767258009, 60.889623163308954),
    (89.79362451840882, 47.1416367157952),
]
#: A 25 km square across the antimeridian and a circle touching it within a 10 m buffer: the overlap is a
#: few centimetre-short lines, which rounding positions to 1 cm once collapsed into invalid ones.
_SQUARE_ACROSS_THE_ANTIMERIDIAN = [
    (0.7260921064139617, -179.99999),
    (0.4999961331309212, -179.7754026847053),
    (0.2739077372340667, -179.99999),
    (0.4434746345001986, 179.83157068253314),
]


@pytest.mark.parametrize(
    ("subject", "other", "buffer_m"),
    [
        (_STAR_AT_THE_POLE, _SQUARE_BEYOND_THE_POLE, 10_000.0),
        (_SQUARE_ROUND_THE_POLE, _STAR_NEAR_THE_POLE, 10_000.0),
        (_SQUARE_ACROSS_THE_ANTIMERIDIAN, (0.4999944317116852, -179.73048522169262, 5_000.0), 10.0),
    ],
    ids=["around-the-pole", "long-edges-near-the-pole", "touching-across-the-antimeridian"],
)
def test_overlaps_near_the_pole_and_the_antimeridian_are_valid_geojson(
    subject: list[tuple[float, float]], other: Any, buffer_m: float
) -> None:
    def outline(shape: Any) -> Outline:
        if isinstance(shape, tuple):
            return circle_outline(LatLng(shape[0], shape[1]), shape[2], LIMITS)
        return polygon_outline([LatLng(lat, lng) for lat, lng in shape], LIMITS)

    book = AgreementBook([agreement("ab", "A", "B", buffers=Buffers(buffer_m, 0.0, 0.0))])
    a, b = outline(subject), outline(other)
    [c] = detect_against(volume(b), book, volume(a))
    gap = reference.separation_m(reference.of_outline(a), reference.of_outline(b))
    assert c.horizontal_distance_m == pytest.approx(gap, abs=1.0)
    assert c.overlap is not None
    assert shapely.geometry.shape(c.overlap).is_valid


# --- property: exact special coordinates --------------------------------------------------------------

#: Centres where formulas meet 0/0 or wrap: the equator (and -0.0), near both poles, the antimeridian both ways.
_SPECIAL_LATS = [0.0, -0.0, 0.5, 45.0, 89.99, -89.99]
_SPECIAL_LNGS = [0.0, 180.0, -180.0, 179.99999, -179.99999, 90.0]


@st.composite
def _special_pair(draw: st.DrawFn) -> tuple[Outline, Outline, float]:
    lat, lng = draw(st.sampled_from(_SPECIAL_LATS)), draw(st.sampled_from(_SPECIAL_LNGS))
    size_m, other_m = draw(st.sampled_from([1.0, 100.0, 5_000.0])), draw(st.sampled_from([1.0, 100.0, 5_000.0]))
    buffer_m = draw(st.sampled_from([0.0, 10.0, 1_852.0]))
    azimuth = draw(st.sampled_from([0.0, 90.0, 180.0, 270.0, 33.3]))
    gap_m = draw(st.sampled_from([-size_m, 0.0, buffer_m, buffer_m + 2.0]))

    def shape(lat: float, lng: float, size: float, circle: bool) -> Outline:
        if circle:
            return circle_outline(LatLng(lat, lng), size, LIMITS)
        corners = [reference.offset(lat, lng, az, size) for az in (0.0, 90.0, 180.0, 270.0)]
        return polygon_outline([LatLng(*c) for c in corners], LIMITS)

    other_centre = reference.offset(lat, lng, azimuth, max(size_m + other_m + gap_m, 0.0))
    return (
        shape(lat, lng, size_m, draw(st.booleans())),
        shape(*other_centre, other_m, draw(st.booleans())),
        buffer_m,
    )


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(_special_pair())
def test_at_exact_special_coordinates_conflicts_agree_with_the_reference(pair: tuple[Outline, Outline, float]) -> None:
    subject, other, buffer_m = pair
    book = AgreementBook([agreement("ab", "A", "B", buffers=Buffers(buffer_m, 0.0, 0.0))])
    found = detect_against(volume(other), book, volume(subject))
    gap = reference.separation_m(reference.of_outline(subject), reference.of_outline(other))
    if gap > buffer_m + 1.0:
        assert found == []
    elif gap < buffer_m - 1.0:
        [c] = found
        assert c.horizontal_distance_m == pytest.approx(gap, abs=1.0)
        assert c.overlap is not None
        assert shapely.geometry.shape(c.overlap).is_valid
