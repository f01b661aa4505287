"""A deterministic, realistic store of operation extents for the strategic benchmarks.

The region is 2,000 km x 2,000 km, laid out in an azimuthal equidistant plane centred on
47N 10E (central Europe). Traffic is a mix of:

* where:  70 % of operations around 60 hubs (towns, airfields; Gaussian spread of
  20-150 km, hub weights ~ 1/rank), 30 % uniform over the region;
* what:   55 % polygons of 4-12 vertices, 1-50 km across; 45 % geodesic circles of
  0.5-25 km radius; sizes log-uniform, so small ones are most common;
* when:   starts over 7 days (75 % between 06:00 and 20:00 UTC), durations log-uniform
  15 min - 6 h, to the minute;
* height: 0-150 m (40 %), 0-500 m (15 %), 0-1,500 m (20 %), FL50-FL150 (10 %),
  FL100-FL195 (10 %), FL195-FL660 (5 %);
* who:    20 parties, all bound by one agreement (1,852 m, 152.4 m, 300 s);
* shape:  each operation has 1-3 extents (60/30/10 %): consecutive legs that follow each
  other in time and move on in a fixed direction, at one altitude band.

Everything comes from one `numpy.random.Generator(seed)`, so a seed is a store.
Arrays are in SI units; outlines are built lazily in chunks by `volumes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from deconflict.domain import geodesy
from deconflict.domain.agreements import Agreement, AgreementState, Buffers, LatePolicy
from deconflict.domain.rules import AgreementBook
from deconflict.domain.volumes import (
    LatLng,
    Limits,
    TimeWindow,
    Volume4D,
    altitude_band,
    circle_outlines,
    polygon_outlines,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CENTRE = LatLng(47.0, 10.0)
HALF_SIDE_M = 1_000_000.0
EPOCH = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 7
PARTIES = 20
BUFFERS = Buffers(lateral_m=1_852.0, vertical_m=152.4, time_s=300.0)
MAX_CIRCLE_RADIUS_M = 25_000.0
MAX_VERTICES = 12

_FT = 0.3048
_FL = 100 * _FT
#: (lower_m, upper_m, share)
ALTITUDE_BANDS: tuple[tuple[float, float, float], ...] = (
    (0.0, 150.0, 0.40),
    (0.0, 500.0, 0.15),
    (0.0, 1_500.0, 0.20),
    (50 * _FL, 150 * _FL, 0.10),
    (100 * _FL, 195 * _FL, 0.10),
    (195 * _FL, 660 * _FL, 0.05),
)
_HUBS = 60
_HUB_SHARE = 0.70
_POLYGON_SHARE = 0.55
_LEGS_P = (0.6, 0.3, 0.1)
_DAYTIME_SHARE = 0.75


@dataclass(frozen=True)
class Scenario:
    """N extents as columns; extent i belongs to operation `op[i]` as its leg `leg[i]`."""

    seed: int
    op: IntArray
    leg: IntArray
    party: IntArray
    is_circle: npt.NDArray[np.bool_]
    lat: FloatArray  # centre
    lng: FloatArray
    radius_m: FloatArray  # circles: radius; polygons: half the nominal width
    n_vertices: IntArray  # polygons only
    vertex_az_deg: FloatArray  # (N, MAX_VERTICES), polygons only
    vertex_frac: FloatArray  # (N, MAX_VERTICES): vertex distance / radius_m
    t0_s: IntArray  # seconds since EPOCH
    t1_s: IntArray
    alt_lo_m: FloatArray
    alt_hi_m: FloatArray

    def __len__(self) -> int:
        return len(self.op)

    def operations(self) -> list[tuple[int, int]]:
        """(first extent, extent count) of each operation, in order."""
        starts = np.flatnonzero(self.leg == 0)
        ends = np.append(starts[1:], len(self))
        return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def agreement_book() -> AgreementBook:
    """One active agreement binding all parties, everywhere, with the default buffers."""
    return AgreementBook(
        [
            Agreement(
                id="bench",
                name="benchmark agreement",
                party_ids=frozenset(party_id(p) for p in range(PARTIES)),
                area=None,
                min_notice_s=0.0,
                buffers=BUFFERS,
                late_policy=LatePolicy.REJECT,
                state=AgreementState.ACTIVE,
            )
        ]
    )


def party_id(p: int) -> str:
    return f"party-{p:02d}"


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> FloatArray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def generate(n: int, seed: int) -> Scenario:
    """A store of exactly `n` extents (the last operation may be cut short)."""
    rng = np.random.default_rng(seed)
    n_ops = n  # at least one extent each: enough operations, then truncate
    legs = rng.choice(np.arange(1, 4), size=n_ops, p=_LEGS_P)
    n_ops = int(np.searchsorted(np.cumsum(legs), n)) + 1
    legs = legs[:n_ops]
    legs[-1] -= int(legs.sum()) - n

    # Per operation: hub or uniform position in the plane, party, band, bearing of travel.
    hub_xy = rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, (_HUBS, 2))
    hub_sigma = _log_uniform(rng, 20_000.0, 150_000.0, _HUBS)
    hub_w = 1.0 / np.arange(1, _HUBS + 1)
    hub = rng.choice(_HUBS, size=n_ops, p=hub_w / hub_w.sum())
    near_hub = rng.random(n_ops) < _HUB_SHARE
    xy = np.where(
        near_hub[:, None],
        hub_xy[hub] + rng.normal(size=(n_ops, 2)) * hub_sigma[hub, None],
        rng.uniform(-HALF_SIDE_M, HALF_SIDE_M, (n_ops, 2)),
    )
    xy = np.clip(xy, -HALF_SIDE_M, HALF_SIDE_M)
    op_lat, op_lng = geodesy.aeqd_inverse(CENTRE.lat, CENTRE.lng, xy[:, 0], xy[:, 1])
    op_party = rng.integers(0, PARTIES, n_ops)
    shares = np.array([b[2] for b in ALTITUDE_BANDS])
    op_band = rng.choice(len(ALTITUDE_BANDS), size=n_ops, p=shares / shares.sum())
    op_bearing = rng.uniform(0.0, 360.0, n_ops)
    day = rng.integers(0, DAYS, n_ops)
    daytime = rng.random(n_ops) < _DAYTIME_SHARE
    minute_of_day = np.where(daytime, rng.integers(6 * 60, 20 * 60, n_ops), rng.integers(0, 24 * 60, n_ops))
    op_t0 = (day * 86_400 + minute_of_day * 60).astype(np.int64)

    # Per extent.
    op = np.repeat(np.arange(n_ops), legs)
    first = np.cumsum(legs) - legs
    leg = np.arange(n) - np.repeat(first, legs)
    is_circle = rng.random(n) >= _POLYGON_SHARE
    radius = np.where(
        is_circle, _log_uniform(rng, 500.0, MAX_CIRCLE_RADIUS_M, n), _log_uniform(rng, 1_000.0, 50_000.0, n) / 2
    )
    n_vertices = rng.integers(4, MAX_VERTICES + 1, n)
    slot = np.arange(MAX_VERTICES)[None, :]
    spacing = 360.0 / n_vertices[:, None]
    jitter = rng.uniform(-0.35, 0.35, (n, MAX_VERTICES))
    az = rng.uniform(0.0, 360.0, n)[:, None] + (slot + jitter) * spacing
    vertex_az = np.where(slot < n_vertices[:, None], az % 360.0, np.nan)
    vertex_frac = rng.uniform(0.55, 1.0, (n, MAX_VERTICES))
    duration_s = np.round(_log_uniform(rng, 15 * 60.0, 6 * 3600.0, n) / 60.0).astype(np.int64) * 60

    # Legs follow each other: leg k starts where leg k-1 ends and sits one step further on.
    lat = op_lat[op].copy()
    lng = op_lng[op].copy()
    t0 = op_t0[op].copy()
    for k in range(1, 3):
        cur = np.flatnonzero(leg == k)
        prev = cur - 1
        step = (radius[prev] + radius[cur]) * rng.uniform(0.5, 1.0, len(cur))
        lng_k, lat_k, _ = geodesy.GEOD.fwd(lng[prev], lat[prev], op_bearing[op[cur]], step)
        lat[cur], lng[cur] = lat_k, lng_k
        t0[cur] = t0[prev] + duration_s[prev]
    band = np.array([(b[0], b[1]) for b in ALTITUDE_BANDS])[op_band[op]]
    return Scenario(
        seed=seed,
        op=op,
        leg=leg,
        party=op_party[op],
        is_circle=is_circle,
        lat=np.asarray(lat, dtype=np.float64),
        lng=np.asarray(lng, dtype=np.float64),
        radius_m=radius,
        n_vertices=n_vertices,
        vertex_az_deg=vertex_az,
        vertex_frac=vertex_frac,
        t0_s=t0,
        t1_s=t0 + duration_s,
        alt_lo_m=band[:, 0],
        alt_hi_m=band[:, 1],
    )


def volumes(sc: Scenario, lo: int = 0, hi: int | None = None, chunk: int = 20_000) -> Iterator[Volume4D]:
    """The validated domain volumes of extents lo..hi, built through the public constructors."""
    hi = len(sc) if hi is None else hi
    limits = Limits()
    for c0 in range(lo, hi, chunk):
        c1 = min(hi, c0 + chunk)
        # Polygon vertices for the whole chunk in one vectorised geodesic call.
        az = sc.vertex_az_deg[c0:c1]
        ok = ~np.isnan(az)
        rows = np.nonzero(ok)[0]
        v_lng, v_lat, _ = geodesy.GEOD.fwd(
            sc.lng[c0:c1][rows], sc.lat[c0:c1][rows], az[ok], (sc.vertex_frac[c0:c1] * sc.radius_m[c0:c1, None])[ok]
        )
        v_lat, v_lng = np.asarray(v_lat), np.asarray(v_lng)
        offsets = np.concatenate([[0], np.cumsum(ok.sum(axis=1))])
        # The chunk's polygons and circles each prepared in one batch (as a server loading its store does).
        circles = sc.is_circle[c0:c1]
        polygons = polygon_outlines(
            [
                [LatLng(float(y), float(x)) for y, x in zip(v_lat[a:b], v_lng[a:b], strict=True)]
                for a, b in zip(offsets[:-1][~circles].tolist(), offsets[1:][~circles].tolist(), strict=True)
            ],
            limits,
        )
        discs = circle_outlines(
            [
                (LatLng(float(sc.lat[i]), float(sc.lng[i])), float(sc.radius_m[i]))
                for i in range(c0, c1)
                if sc.is_circle[i]
            ],
            limits,
        )
        made = iter(polygons), iter(discs)
        for i in range(c0, c1):
            outline = next(made[1] if sc.is_circle[i] else made[0])
            yield Volume4D(
                outline=outline,
                altitude=altitude_band(float(sc.alt_lo_m[i]), float(sc.alt_hi_m[i])),
                time=TimeWindow(EPOCH + timedelta(seconds=int(sc.t0_s[i])), EPOCH + timedelta(seconds=int(sc.t1_s[i]))),
            )


@dataclass(frozen=True)
class Query:
    """One operation to check: its party and its 1-3 extents.

    `stored_as` is set for an operation taken from the store itself (`bench.engine.held_out`): the
    check leaves its own extents out, as an update of that operation would.
    """

    party: int
    volumes: tuple[Volume4D, ...]
    stored_as: str | None = None


def queries(count: int, seed: int) -> list[Query]:
    """`count` new operations drawn from the same distribution as the store (another seed)."""
    sc = generate(3 * count + 3, seed)
    vols = list(volumes(sc))
    ops = sc.operations()[:count]
    return [Query(int(sc.party[s]), tuple(vols[s : s + k])) for s, k in ops]
