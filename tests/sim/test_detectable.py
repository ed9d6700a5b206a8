"""The ``detectable`` column the simulator writes: the rule, and a run over the radio horizon."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.geo import ecef2geodetic
from airpicture.io import read_truth
from airpicture.sim import (
    MIN_DETECTIONS,
    WINDOW_SCANS,
    DetectableMarker,
    build_objects,
    line_of_sight,
    object_rng,
    parse_scenario,
    simulate,
    stream_detections,
    truth_times,
)

T0 = 1736910000.0  # 2025-01-15T03:00:00Z


def brute_force(
    times: np.ndarray,
    n_objects: int,
    periods: np.ndarray,
    hits: list[tuple[int, int, float]],
) -> np.ndarray:
    """The rule literally: at each time, per radar, count the detections in (t - 3 T, t]."""
    out = np.zeros((n_objects, times.size), dtype=bool)
    for o in range(n_objects):
        for j, t in enumerate(times):
            for s, period in enumerate(periods):
                if not math.isfinite(period):
                    continue
                n = sum(
                    1
                    for hs, ho, ht in hits
                    if hs == s and ho == o and t - WINDOW_SCANS * period < ht <= t
                )
                out[o, j] |= n >= MIN_DETECTIONS
    return out


def feed(marker: DetectableMarker, hits: list[tuple[int, int, float]]) -> None:
    """One scan per hit, in time order per sensor."""
    for s, o, t in sorted(hits, key=lambda h: (h[0], h[2])):
        marker.add_scan(s, np.array([o]), np.array([t]))


# ------------------------------------------------------------------------------------------
# the rule
# ------------------------------------------------------------------------------------------


def test_rule_constants():
    assert (MIN_DETECTIONS, WINDOW_SCANS) == (2, 3)


def test_two_detections_in_three_scans_make_an_object_detectable_until_the_window_passes():
    times = np.arange(0.0, 80.0, 1.0)
    marker = DetectableMarker(times, 1, np.array([10.0]))
    feed(marker, [(0, 0, 5.0), (0, 0, 25.0)])  # two looks, one missed between them
    flags = marker.marked[0]
    # detectable from the second detection until 3 T after the first: t in [25, 35)
    assert np.flatnonzero(flags).tolist() == list(range(25, 35))


def test_detections_further_apart_than_the_window_do_not_count():
    marker = DetectableMarker(np.arange(0.0, 100.0, 1.0), 1, np.array([10.0]))
    feed(marker, [(0, 0, 5.0), (0, 0, 35.0), (0, 0, 65.0)])  # exactly 3 T apart: (t - 30, t]
    assert not marker.marked.any()


def test_one_detection_each_by_two_radars_is_not_enough():
    marker = DetectableMarker(np.arange(0.0, 60.0, 1.0), 1, np.array([10.0, 10.0]))
    feed(marker, [(0, 0, 5.0), (1, 0, 6.0)])
    assert not marker.marked.any()


def test_ir_sensors_do_not_count_and_objects_are_kept_apart():
    marker = DetectableMarker(np.arange(0.0, 60.0, 1.0), 2, np.array([math.nan, 4.0]))
    feed(marker, [(0, 0, 1.0), (0, 0, 2.0), (0, 0, 3.0), (1, 1, 10.0), (1, 1, 14.0)])
    assert not marker.marked[0].any()
    assert np.flatnonzero(marker.marked[1]).tolist() == list(range(14, 22))


def test_one_detection_rule_and_bad_arguments():
    marker = DetectableMarker(np.arange(0.0, 10.0), 1, np.array([2.0]), min_detections=1)
    marker.add_scan(0, np.array([0]), np.array([3.5]))
    assert np.flatnonzero(marker.marked[0]).tolist() == [4, 5, 6, 7, 8, 9]  # [3.5, 9.5)
    with pytest.raises(ValueError, match="min_detections >= 1"):
        DetectableMarker(np.arange(3.0), 1, np.array([1.0]), min_detections=0)
    with pytest.raises(ValueError, match="window_scans > 0"):
        DetectableMarker(np.arange(3.0), 1, np.array([1.0]), window_scans=0.0)
    with pytest.raises(ValueError, match="increasing truth times"):
        DetectableMarker(np.array([0.0, 0.0]), 1, np.array([1.0]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_the_rule_counted_literally(seed):
    rng = np.random.default_rng(seed)
    periods = np.array([4.0, 10.0, math.nan, 7.5])
    times = np.arange(0.0, 120.0, rng.choice([0.5, 1.0, 3.0]))
    hits = []
    for s, period in enumerate(periods):
        looks = np.arange(rng.uniform(0, 4), 120.0, 4.0 if math.isnan(period) else period)
        for o in range(5):
            seen = rng.random(looks.size) < rng.uniform(0.2, 0.9)
            jitter = rng.uniform(0.0, 0.5, looks.size)  # rotating radars: time within the scan
            hits += [(s, o, float(t)) for t in (looks + jitter)[seen]]
    marker = DetectableMarker(times, 5, periods)
    feed(marker, hits)
    np.testing.assert_array_equal(marker.marked, brute_force(times, 5, periods, hits))


# ------------------------------------------------------------------------------------------
# the simulator: a radar, one object near it, one beyond its horizon, one coming over it
# ------------------------------------------------------------------------------------------

SCENARIO = {
    "name": "horizon",
    "description": "one radar, objects inside and beyond its radio horizon",
    "start_utc": "2025-01-15T03:00:00Z",
    "duration_s": 300.0,
    "seed": 11,
    "nations": [{"code": "JPN", "name": "Japan", "colour": "#c8102e"}],
    "sensors": [
        {
            "id": "R1",
            "nation": "JPN",
            "kind": "radar",
            "platform": "ground",
            "position": [38.0, 138.4, 100.0],
            "max_range_m": 1000e3,  # range never limits: the horizon does
            "min_elevation_deg": -10.0,
            "max_elevation_deg": 80.0,
            "scan_period_s": 10.0,
            "sigma_range_m": 50.0,
            "sigma_azimuth_deg": 0.2,
            "sigma_elevation_deg": 0.3,
            "p_detect": 1.0,
        }
    ],
    "objects": [
        {  # 55 km north, 10 km up
            "type": "aircraft",
            "id": "NEAR",
            "speed_mps": 200.0,
            "waypoints": [[38.5, 138.4, 10000.0], [38.9, 138.9, 10000.0]],
        },
        {  # 740 km west, 3 km up: far below the radio horizon (about 270 km)
            "type": "aircraft",
            "id": "FAR",
            "speed_mps": 200.0,
            "waypoints": [[38.0, 130.0, 3000.0], [38.3, 130.3, 3000.0]],
        },
        {  # 250 km west, 2 km up, flying east: comes over the horizon during the run
            "type": "aircraft",
            "id": "INBOUND",
            "speed_mps": 250.0,
            "waypoints": [[38.0, 135.55, 2000.0], [38.0, 137.5, 2000.0]],
        },
    ],
}


@pytest.fixture(scope="module")
def horizon_run(tmp_path_factory):
    scenario = parse_scenario(SCENARIO, source="horizon test")
    out = tmp_path_factory.mktemp("horizon")
    summary = simulate(scenario, out)
    return scenario, summary, read_truth(out / "truth.csv")


def in_line_of_sight(scenario, truth) -> np.ndarray:
    site = scenario.sensors[0].path.geodetic_at(np.array([scenario.t0_s]))
    lat, lon, alt = ecef2geodetic(truth.x[:, 0], truth.x[:, 1], truth.x[:, 2])
    return line_of_sight(*(float(c[0]) for c in site), lat, lon, alt, k=4.0 / 3.0)


def test_truth_file_carries_the_column(horizon_run):
    _, summary, truth = horizon_run
    assert truth.detectable is not None and truth.detectable.dtype == bool
    assert summary.n_truth_rows_detectable == int(truth.detectable.sum()) > 0


def test_object_beyond_the_horizon_is_never_detectable(horizon_run):
    scenario, _, truth = horizon_run
    far = truth.object_id == "FAR"
    assert far.sum() > 100
    assert not in_line_of_sight(scenario, truth)[far].any()
    assert not truth.detectable[far].any()


def test_object_near_the_radar_is_detectable_from_its_second_look(horizon_run):
    _, _, truth = horizon_run
    near = truth.object_id == "NEAR"
    t = truth.t_s[near] - T0
    flags = truth.detectable[near]
    assert not flags[0]  # no look yet
    assert flags[t >= 30.0].all()  # two looks within 3 scans, every scan (p_detect = 1)
    first = t[np.argmax(flags)]
    assert 10.0 <= first < 30.0


def test_object_becomes_detectable_after_it_rises_over_the_horizon(horizon_run):
    scenario, _, truth = horizon_run
    inbound = truth.object_id == "INBOUND"
    visible = in_line_of_sight(scenario, truth)[inbound]
    flags = truth.detectable[inbound]
    t = truth.t_s[inbound]
    assert not visible[0] and visible[-1]  # the geometry the test is about
    rise = t[np.argmax(visible)]
    assert not flags[t < rise].any()
    assert flags[-1]
    assert t[np.argmax(flags)] - rise < 2 * 10.0 + 1.0  # the second look after the rise


def test_column_matches_the_rule_on_the_run_detections(horizon_run):
    scenario, _, truth = horizon_run
    objects = build_objects(
        [dict(item) for item in scenario.objects],
        source=scenario.source,
        t0_s=scenario.t0_s,
        duration_s=scenario.duration_s,
        rng=object_rng(scenario.seed),
    )
    hits: list[tuple[int, int, float]] = []

    def collect(sensor_index, reports):
        real = reports.object_index >= 0
        hits.extend(
            (sensor_index, int(o), float(t))
            for o, t in zip(reports.object_index[real], reports.t_s[real], strict=True)
        )

    for _ in stream_detections(scenario, scenario.sensors, objects, on_scan=collect):
        pass
    times = truth_times(scenario)
    expected = brute_force(times, len(objects), np.array([10.0]), hits)
    index = {name: i for i, name in enumerate(objects.object_id.tolist())}
    rows = np.array([index[o] for o in truth.object_id.tolist()])
    np.testing.assert_array_equal(
        truth.detectable, expected[rows, np.searchsorted(times, truth.t_s)]
    )
