"""The compiled short-line AEQD against pyproj (Karney's algorithms), an independent implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconflict.domain import geodesy, short_lines
from deconflict.domain.geodesy import GEOD, FloatArray

#: Vincenty's series are good to a fraction of a millimetre; over these lengths they agree to micrometres.
AGREE_M = 2e-5


def _karney_forward(
    lat0: FloatArray, lng0: FloatArray, lat: FloatArray, lng: FloatArray
) -> tuple[FloatArray, FloatArray]:
    az, _, dist = GEOD.inv(lng0, lat0, lng, lat)
    az_rad = np.radians(az)
    return dist * np.sin(az_rad), dist * np.cos(az_rad)


def _sample(
    rng: np.random.Generator, n: int, lat0: FloatArray, lng0: FloatArray, max_m: float
) -> tuple[FloatArray, FloatArray]:
    """Points at random azimuths and log-uniform distances (1 mm to max_m) from each centre, by pyproj."""
    lng, lat, _ = GEOD.fwd(lng0, lat0, rng.uniform(-180, 180, n), 10 ** rng.uniform(-3, np.log10(max_m), n))
    return np.asarray(lat), np.asarray(lng)


@pytest.mark.parametrize(
    ("lat0", "lng0"),
    [
        (47.0, 10.0),  # the benchmark's region
        (0.0, 180.0),  # on the equator and the antimeridian
        (-33.9, -179.99),
        (89.99, 45.0),  # a kilometre from the pole
        (-89.998, -170.0),
        (0.0, 0.0),
    ],
)
def test_forward_and_inverse_agree_with_pyproj(lat0: float, lng0: float) -> None:
    rng = np.random.default_rng(int(abs(lat0 * 1000 + lng0)))
    n = 20_000
    c_lat, c_lng = np.full(n, lat0), np.full(n, lng0)
    lat, lng = _sample(rng, n, c_lat, c_lng, short_lines.MAX_LINE_M)
    x_ref, y_ref = _karney_forward(c_lat, c_lng, lat, lng)

    x, y, answered = short_lines.forward(c_lat, c_lng, lat, lng)
    assert answered.all()
    assert np.max(np.hypot(x - x_ref, y - y_ref)) < AGREE_M

    back_lat, back_lng, answered = short_lines.inverse(c_lat, c_lng, x_ref, y_ref)
    assert answered.all()
    assert np.max(geodesy.distances_between_m(back_lat, back_lng, lat, lng)) < AGREE_M


def test_whole_globe_with_a_centre_per_point() -> None:
    rng = np.random.default_rng(11)
    n = 100_000
    c_lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform over the sphere, poles included
    c_lng = rng.uniform(-180, 180, n)
    lat, lng = _sample(rng, n, c_lat, c_lng, 900_000.0)
    x_ref, y_ref = _karney_forward(c_lat, c_lng, lat, lng)
    x, y, answered = short_lines.forward(c_lat, c_lng, lat, lng)
    near_pole = np.abs(c_lat) >= 90.0 - 1e-3
    assert np.array_equal(answered, ~near_pole)
    assert np.max(np.hypot(x - x_ref, y - y_ref)[answered]) < AGREE_M
    back_lat, back_lng, answered = short_lines.inverse(c_lat, c_lng, x_ref, y_ref)
    assert np.array_equal(answered, ~near_pole)
    assert np.max(geodesy.distances_between_m(back_lat, back_lng, lat, lng)[answered]) < AGREE_M


@settings(max_examples=300, deadline=None)
@given(
    lat0=st.floats(-89.99, 89.99),
    lng0=st.floats(-180.0, 180.0),
    azimuth=st.floats(-180.0, 180.0),
    length_m=st.floats(0.0, 0.999 * short_lines.MAX_LINE_M),  # clear of the limit, where float noise decides
)
def test_one_line_agrees_with_pyproj(lat0: float, lng0: float, azimuth: float, length_m: float) -> None:
    lng, lat, _ = GEOD.fwd(lng0, lat0, azimuth, length_m)
    centre = (np.array([lat0]), np.array([lng0]))
    x_ref, y_ref = _karney_forward(*centre, np.array([lat]), np.array([lng]))
    x, y, answered = short_lines.forward(*centre, np.array([lat]), np.array([lng]))
    assert answered[0]
    assert np.hypot(x[0] - x_ref[0], y[0] - y_ref[0]) < AGREE_M
    back_lat, back_lng, answered = short_lines.inverse(*centre, x_ref, y_ref)
    assert answered[0]
    assert geodesy.distance_m(back_lat[0], back_lng[0], lat, lng) < AGREE_M


def test_the_centre_itself() -> None:
    centre = (np.array([12.5]), np.array([-170.25]))
    x, y, answered = short_lines.forward(*centre, *centre)
    assert answered[0]
    assert (x[0], y[0]) == (0.0, 0.0)
    lat, lng, answered = short_lines.inverse(*centre, np.zeros(1), np.zeros(1))
    assert answered[0]
    assert (lat[0], lng[0]) == (12.5, -170.25)


def test_due_east_and_west_along_the_equator() -> None:
    """From a centre on the equator, a point due east or west (y exactly 0) lies on the equator: the line is
    the equator itself, where the formulas' auxiliary arc is 0 over 0 (a disc's first vertex is such a point)."""
    x = np.array([1.0, 5_000.0, -5_000.0, 250_000.0, -900_000.0])
    c_lat, c_lng = np.zeros(len(x)), np.full(len(x), 10.0)
    lat, lng, answered = short_lines.inverse(c_lat, c_lng, x, np.zeros(len(x)))
    assert answered.all()
    ref_lng, ref_lat, _ = GEOD.fwd(c_lng, c_lat, np.where(x > 0, 90.0, -90.0), np.abs(x))
    assert np.max(geodesy.distances_between_m(lat, lng, np.asarray(ref_lat), np.asarray(ref_lng))) < AGREE_M
    x_back, y_back, answered = short_lines.forward(c_lat, c_lng, lat, lng)
    assert answered.all()
    assert np.max(np.hypot(x_back - x, y_back)) < AGREE_M


def test_long_lines_and_pole_centres_are_left_to_pyproj() -> None:
    """What `short_lines` does not answer, `geodesy` projects with pyproj: the same numbers as pyproj's."""
    c_lat = np.array([10.0, 10.0, 90.0, -90.0])
    c_lng = np.array([20.0, 20.0, 0.0, 30.0])
    lat, lng = np.array([10.0, -40.0, 88.0, -85.0]), np.array([35.0, 100.0, 120.0, -60.0])
    _, _, answered = short_lines.forward(c_lat, c_lng, lat, lng)
    assert answered.tolist() == [False, False, False, False]  # 1,600 km, 8,000 km, two pole centres
    x, y = geodesy.aeqd_forward_each(c_lat, c_lng, lat, lng)
    x_ref, y_ref = _karney_forward(c_lat, c_lng, lat, lng)
    assert np.array_equal(x, x_ref)
    assert np.array_equal(y, y_ref)
    back_lat, back_lng = geodesy.aeqd_inverse_each(c_lat, c_lng, x, y)
    assert np.max(geodesy.distances_between_m(back_lat, back_lng, lat, lng)) < 1e-6


@given(
    limit=st.floats(-3.0, 3.0),
    start_gap=st.floats(1e-9, 1e-2),
    rate=st.floats(-1 / 290, 1 / 290).filter(lambda q: abs(q) > 1e-6),
)
def test_extrapolation_finds_the_limit_of_a_steady_contraction(limit: float, start_gap: float, rate: float) -> None:
    """Iterates closing on their limit by a steady factor (the kernels' fixed points contract by under 1/290):
    Aitken's extrapolation of the third lands on the limit, where the next plain iterate is still a factor
    away; the limit is computed here, not by the extrapolation."""
    iterates = [limit + start_gap * rate**k for k in range(3)]
    extrapolated = short_lines._accelerated(*iterates)
    assert abs(extrapolated - limit) <= 1e-15 * max(1.0, abs(limit)) * 8
    assert abs(extrapolated - limit) < abs(iterates[2] - limit) or abs(iterates[2] - limit) < 1e-15


def test_steps_at_rounding_noise_are_not_extrapolated() -> None:
    """Three iterates a hair apart (a line of millimetres) are taken as they are: their differences are noise."""
    assert short_lines._accelerated(0.1, 0.1 + 1e-17, 0.1 + 3e-17) == 0.1 + 3e-17
