"""Cross-check against Stone Soup (optional: needs the ``bench`` extra).

These tests check the conversions of ``benchmarks/vs_stonesoup.py`` (our scans to Stone Soup's
elevation-bearing-range detections in the radar's ENU frame, and its tracks back to an ECEF tracks
table), not speed:

* one target without clutter: airpicture restricted to the same model as the Stone Soup set-up
  (constant velocity, the same velocity prior) gives the same states to rounding, since both run
  the same extended Kalman filter in frames related by an exact rotation;
* five targets with clutter over 20 scans: both pictures, scored by the same evaluator, are
  complete, free of false tracks and within a few hundred metres of the truth once initiated.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stonesoup")

from airpicture.evaluate._metrics import evaluate_picture  # noqa: E402
from airpicture.sim._single_radar import single_radar_scenario  # noqa: E402
from airpicture.tracker import Tracker  # noqa: E402

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "vs_stonesoup.py"


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("_vs_stonesoup", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _stonesoup_picture(bench, scenario, scans, shared, own, *, causal=False):  # type: ignore[no-untyped-def]
    mm = bench.stonesoup_measurement_model(scenario)
    run = bench.run_stonesoup(bench.stonesoup_scans(scans, mm), mm, shared, own)
    return bench.stonesoup_rows(run, scenario.site, causal=causal)


def test_bearing_is_counter_clockwise_from_east(bench) -> None:  # type: ignore[no-untyped-def]
    """A detection due east (azimuth 90 deg) has Stone Soup bearing 0; due north, +90 deg."""
    scenario = single_radar_scenario(1, seed=0, n_scans=1, clutter_per_scan=0.0, p_detect=1.0)
    scan = bench.split_scans(scenario.detections)[0]
    mm = bench.stonesoup_measurement_model(scenario)
    for az_deg, bearing_deg in ((90.0, 0.0), (0.0, 90.0), (180.0, -90.0), (300.0, 150.0)):
        one = scan.take(np.array([0]))
        one = type(one)(**{**one.__dict__, "azimuth_rad": np.radians([az_deg])})
        ((_, dets),) = bench.stonesoup_scans([one], mm)
        (det,) = dets
        assert math.degrees(float(det.state_vector[1, 0])) == pytest.approx(bearing_deg, abs=1e-9)
        # Stone Soup's own inverse model puts the detection where our geometry does (ENU, m).
        enu = mm.inverse_function(det)[list(bench._SS_POS), 0].astype(float)
        az_back = math.degrees(math.atan2(enu[0], enu[1])) % 360.0
        assert az_back == pytest.approx(az_deg, abs=1e-9)


def test_same_filter_gives_same_states(bench) -> None:  # type: ignore[no-untyped-def]
    """One target, no clutter, Pd 1: airpicture (CV model only) and Stone Soup agree to 1 cm.

    Observed agreement is about 5e-5 m over 60 scans (rounding in the frame rotations); 1 cm
    still catches any sign, axis or frame error, which moves states by metres.
    """
    scenario = single_radar_scenario(1, seed=3, n_scans=60, clutter_per_scan=0.0, p_detect=1.0)
    scans = bench.split_scans(scenario.detections)
    shared = bench.SharedSettings()
    max_speed_mps = 1200.0
    # airpicture's velocity prior under the cv model is max_speed^2 / 4 per horizontal axis and
    # max_climb^2 / 3 vertically: isotropic, like Stone Soup's, with this climb bound.
    config = bench.airpicture_config(
        shared,
        motion_models="cv",
        max_speed_mps=max_speed_mps,
        max_climb_mps=max_speed_mps * math.sqrt(3.0) / 2.0,
    )
    own = bench.StoneSoupSettings(prior_speed_sigma_mps=max_speed_mps / 2.0)
    ap = Tracker(scenario.sensors, config).run(scans)
    ss = _stonesoup_picture(bench, scenario, scans, shared, own)
    assert len(np.unique(ap.track_id)) == 1
    assert len(np.unique(ss.track_id)) == 1
    for t in np.unique(scenario.truth.t_s):
        a = ap.x[(ap.t_s == t) & (ap.status != "deleted")]
        s = ss.x[(ss.t_s == t) & (ss.status != "deleted")]
        assert a.shape == s.shape == (1, 6)
        np.testing.assert_allclose(a[0, :3], s[0, :3], rtol=0.0, atol=1e-2)
        np.testing.assert_allclose(a[0, 3:], s[0, 3:], rtol=0.0, atol=1e-2)


def test_both_pictures_are_sane_on_five_targets(bench) -> None:  # type: ignore[no-untyped-def]
    """Five targets, clutter, Pd 0.9, 20 scans: after initiation both pictures track every target.

    From the sixth scan on (every target has had time for 3 hits), with GOSPA c = 10 km: no
    missed objects and no false tracks, position RMSE below 600 m (the cross-range noise of a
    single plot at 250 km is about 870 m per axis, and filtering only lowers it), no track-number
    changes, and the two trackers' localisation within a factor of two of each other.
    """
    scenario = single_radar_scenario(5, seed=7, n_scans=20)
    scans = bench.split_scans(scenario.detections)
    shared = bench.SharedSettings()
    ap = Tracker(scenario.sensors, bench.airpicture_config(shared)).run(scans)
    ss = _stonesoup_picture(bench, scenario, scans, shared, bench.StoneSoupSettings(), causal=True)
    settled = scenario.truth.take(scenario.truth.t_s >= scenario.truth.t_s.min() + 5.0)
    summaries = {}
    for name, rows in (("airpicture", ap), ("Stone Soup", ss)):
        s = evaluate_picture(settled, rows, c_m=10_000.0).summary()
        summaries[name] = s
        assert s["missed_per_time"] == 0.0, name
        assert s["false_per_time"] == 0.0, name
        assert s["pos_rmse_m"] < 600.0, name
        assert s["id_changes_per_object"] == 0.0, name
    ratio = summaries["airpicture"]["gospa_m"] / summaries["Stone Soup"]["gospa_m"]
    assert 0.5 < ratio < 2.0
