"""Pressure altitude to geometric height: ISA values, the QNH and temperature rules, inverse."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.models import FEET_M, height_to_pressure_altitude, pressure_altitude_to_height
from airpicture.models._pressure_altitude import _pressure_hpa


@pytest.mark.parametrize(
    ("h_m", "p_hpa"),
    # ICAO Standard Atmosphere (Doc 7488/3), geopotential heights: tabulated pressures
    [(0.0, 1013.25), (1000.0, 898.76), (5000.0, 540.20), (11000.0, 226.32), (20000.0, 54.75)],
)
def test_isa_pressures(h_m, p_hpa):
    assert float(_pressure_hpa(np.array(h_m))) == pytest.approx(p_hpa, abs=0.02)


def test_isa_day_height_is_pressure_altitude_made_geometric():
    # in ISA, the only difference is geopotential to geometric: z = r h / (r - h)
    r = 6_356_766.0
    h = 350 * 100 * FEET_M
    assert float(pressure_altitude_to_height(h)) == pytest.approx(r * h / (r - h), abs=1e-6)


def test_qnh_moves_heights_by_about_8_m_per_hpa_near_the_ground():
    low = float(pressure_altitude_to_height(0.0, qnh_hpa=1003.25))
    high = float(pressure_altitude_to_height(0.0, qnh_hpa=1023.25))
    assert (high - low) / 20.0 == pytest.approx(8.3, abs=0.2)


def test_warm_air_raises_the_true_height_by_about_4_percent_per_10_k():
    base = float(pressure_altitude_to_height(3000.0))
    warm = float(pressure_altitude_to_height(3000.0, isa_deviation_k=10.0))
    assert (warm - base) / base == pytest.approx(10 / 288.15, rel=1e-3)


@given(
    st.floats(-300.0, 19_000.0),
    st.floats(950.0, 1050.0),
    st.floats(-30.0, 30.0),
)
def test_inverse_round_trip(h_m, qnh, dt):
    back = pressure_altitude_to_height(
        height_to_pressure_altitude(h_m, qnh_hpa=qnh, isa_deviation_k=dt),
        qnh_hpa=qnh,
        isa_deviation_k=dt,
    )
    assert float(back) == pytest.approx(h_m, abs=1e-6)
