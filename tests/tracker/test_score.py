"""The track score's pieces against closed forms."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.tables import Sensor
from airpicture.tracker._score import (
    LEAST_FALSE_ALARMS_PER_SCAN,
    PD_PRIOR_LOOKS,
    detection_probability,
    false_alarms_per_scan,
    log_false_alarm_density,
    measurement_volume,
    miss_log_probability,
)

RADAR = Sensor(
    "R1", "JPN", "radar", 0.6, 2.3, 20.0, 50.0, 0.002, 0.002, math.nan, 400e3, 10.0, 0.9, 8.0,
    min_elevation_rad=0.0, max_elevation_rad=math.radians(30.0),
)  # fmt: skip


def test_a_radars_volume_is_range_times_sector_times_elevation_span():
    """All round: 400 km x 2 pi x 30 degrees; a sector across north (350 to 10 degrees) is 20
    degrees wide; range rate in +-600 m/s multiplies by 1200 m/s."""
    all_round = 400e3 * 2.0 * math.pi * math.radians(30.0)
    assert measurement_volume(RADAR, with_range_rate=False, max_range_rate_mps=600.0) == (
        pytest.approx(all_round, rel=1e-12)
    )
    sector = replace(RADAR, sector_start_rad=math.radians(350.0), sector_end_rad=math.radians(10.0))
    assert measurement_volume(sector, with_range_rate=False, max_range_rate_mps=600.0) == (
        pytest.approx(400e3 * math.radians(20.0) * math.radians(30.0), rel=1e-12)
    )
    assert measurement_volume(RADAR, with_range_rate=True, max_range_rate_mps=600.0) == (
        pytest.approx(all_round * 1200.0, rel=1e-12)
    )
    unknown = replace(RADAR, min_elevation_rad=math.nan, max_elevation_rad=math.nan)
    assert measurement_volume(unknown, with_range_rate=False, max_range_rate_mps=600.0) == (
        pytest.approx(400e3 * 2.0 * math.pi * math.pi, rel=1e-12)
    )


def test_false_alarm_density_is_the_count_over_the_volume_with_a_floor():
    volume = 400e3 * 2.0 * math.pi * math.radians(30.0)
    got = log_false_alarm_density(
        RADAR, with_range_rate=False, default_clutter_per_scan=1.0, max_range_rate_mps=600.0
    )
    assert got == pytest.approx(math.log(8.0 / volume), rel=1e-12)
    assert false_alarms_per_scan(replace(RADAR, clutter_per_scan=math.nan), 3.0) == 3.0
    quiet = replace(RADAR, clutter_per_scan=0.0)
    assert false_alarms_per_scan(quiet, 3.0) == LEAST_FALSE_ALARMS_PER_SCAN


@given(
    hits=st.integers(1, 200),
    extra=st.integers(0, 200),
    prior=st.floats(0.05, 0.95),
    missed=st.integers(0, 30),
)
def test_a_run_of_misses_costs_the_beta_predictive_probability(hits, extra, prior, missed):
    """ln P(m misses in a row) = sum over i < m of ln((b + i) / (a + b + i)), the product form
    of B(a, b + m) / B(a, b); and the probability of a report after them is a / (a + b + m)."""
    looks = hits + extra
    a = hits + PD_PRIOR_LOOKS * prior
    b = looks - hits + PD_PRIOR_LOOKS * (1.0 - prior)
    expected = sum(math.log((b + i) / (a + b + i)) for i in range(missed))
    args = (np.array([hits]), np.array([float(looks)]), np.array([prior]), np.array([missed]))
    assert miss_log_probability(*args)[0] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert detection_probability(*args)[0] == pytest.approx(a / (a + b + missed), rel=1e-12)


def test_misses_of_a_faint_object_cost_less_than_of_a_bright_one():
    """Nine misses after 20 reports in 40 revisits against 20 in 20: the faint object's track
    keeps well inside the default deletion threshold (ln 1e-5), the bright one's falls past it."""
    faint = miss_log_probability(np.array([20]), np.array([40.0]), np.array([0.8]), np.array([9]))
    bright = miss_log_probability(np.array([20]), np.array([20.0]), np.array([0.8]), np.array([9]))
    assert faint[0] > -8.0 > math.log(1e-5) > bright[0]
