"""The pre-gate only saves work: every pair it drops would have failed the exact gate."""

import numpy as np
from tests.net.synthetic import synthetic_scenario

from airpicture.tracker import Tracker, TrackerConfig
from airpicture.tracker._scan import _track_times


def _run(scenario, monkeypatch=None, counts=None):
    tracker = Tracker(scenario.sensors, TrackerConfig())
    if monkeypatch is not None:
        kept = tracker._candidates

        def every_pair(track_idx, group, det_idx, det_pos, det_cov, gate):
            ti, _ = kept(track_idx, group, det_idx, det_pos, det_cov, gate)
            counts["pre-gated"] += len(ti) if det_pos is None else 0
            counts["all"] += len(track_idx) * len(det_idx) if det_pos is None else 0
            if det_pos is None:
                return np.repeat(track_idx, len(det_idx)), np.tile(det_idx, len(track_idx))
            return kept(track_idx, group, det_idx, det_pos, det_cov, gate)

        monkeypatch.setattr(tracker, "_candidates", every_pair)
    return tracker.run([scenario.detections])


def test_bearing_pre_gate_changes_nothing_but_the_work(monkeypatch):
    scenario = synthetic_scenario(n_targets=12, duration_s=60.0, seed=4)
    assert any(s.kind == "ir" for s in scenario.sensors)
    pre_gated = _run(scenario)
    counts = {"pre-gated": 0, "all": 0}
    every = _run(scenario, monkeypatch, counts)
    assert len(pre_gated) == len(every) > 0
    for name in ("t_s", "track_id", "status", "x", "cov_pos"):
        assert np.array_equal(getattr(pre_gated, name), getattr(every, name)), name
    # The bearings were gated by the tracker's own pre-gate in the first run, and it dropped most
    # pairs (12 targets, one bearing each per scan).
    assert counts["all"] > 0
    assert counts["pre-gated"] < 0.3 * counts["all"]


def test_pairs_share_one_prediction_per_track_and_time() -> None:
    ti = np.array([0, 0, 0, 2, 2, 5])
    t = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0])
    first, which = _track_times(ti, t)
    assert len(first) == 4
    assert np.array_equal(ti[first][which], ti)
    assert np.array_equal(t[first][which], t)
