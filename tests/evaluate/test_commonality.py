"""Commonality of nations' pictures on hand-made pictures with known answers."""

from __future__ import annotations

import numpy as np

from airpicture.evaluate import picture_commonality, tracks_at
from airpicture.tables import TrackRows, Truth


def _truth(times, n_obj):
    t = np.repeat(times, n_obj)
    obj = np.tile([f"O{i}" for i in range(n_obj)], len(times))
    x = np.zeros((len(t), 6))
    x[:, 0] = 7e6
    x[:, 1] = np.tile(np.arange(n_obj) * 100e3, len(times))
    x[:, 3] = 200.0
    x[:, 0] += 200.0 * (t - times[0])
    return Truth(t, obj, np.full(len(t), "aircraft"), x)


def _picture(truth, ids, offset_m=0.0, status="confirmed"):
    x = truth.x.copy()
    x[:, 2] += offset_m
    n = len(x)
    return TrackRows(
        t_s=truth.t_s.copy(),
        track_id=np.array([ids[o] for o in truth.object_id]),
        x=x,
        cov_pos=np.zeros((n, 6)),
        kind=np.full(n, "aircraft"),
        status=np.full(n, status),
        nations=np.full(n, "JPN"),
    )


def test_same_numbers_everywhere_score_one_and_the_spread_is_the_offset():
    truth = _truth(np.arange(10.0), 3)
    ids = {"O0": "JPN1-1", "O1": "JPN1-2", "O2": "USA1-9"}
    c = picture_commonality(
        truth, {"JPN": _picture(truth, ids), "USA": _picture(truth, ids, offset_m=250.0)}
    )
    assert c.number_commonality == 1.0
    assert c.shared.tolist() == [3] * 10
    np.testing.assert_allclose(c.spread_m, 250.0)
    assert c.reach_delays(["O0"]) == {"O0": 0.0}


def test_one_object_under_two_numbers_and_one_held_by_a_single_nation():
    truth = _truth(np.arange(10.0), 3)
    a = {"O0": "JPN1-1", "O1": "JPN1-2", "O2": "JPN1-3"}
    b = {"O0": "JPN1-1", "O1": "USA1-7", "O2": "JPN1-3"}
    pb = _picture(truth, b)
    pb = pb.take(pb.track_id != "JPN1-3")  # O2 only in JPN's picture
    c = picture_commonality(truth, {"JPN": _picture(truth, a), "USA": pb})
    assert c.shared.tolist() == [2] * 10
    assert c.same_number.tolist() == [1] * 10
    assert c.number_commonality == 0.5
    assert c.reach_delays(["O2"]) == {"O2": float("inf")}


def test_tentative_and_deleted_tracks_are_not_held():
    truth = _truth(np.arange(3.0), 1)
    p = _picture(truth, {"O0": "X"}, status="tentative")
    assert len(tracks_at(p, 2.0)[0]) == 0
    d = _picture(truth, {"O0": "X"})
    d = TrackRows.concat(
        [
            d,
            TrackRows(
                np.array([1.0]),
                np.array(["X"]),
                d.x[:1],
                d.cov_pos[:1],
                d.kind[:1],
                np.array(["deleted"]),
                d.nations[:1],
            ),
        ]
    )
    assert len(tracks_at(d, 0.5)[0]) == 1 and len(tracks_at(d, 1.5)[0]) == 0


def test_objects_no_radar_could_see_are_held_by_nobody():
    truth = _truth(np.arange(4.0), 2)
    ids = {"O0": "JPN1-1", "O1": "JPN1-2"}
    a, b = _picture(truth, ids), _picture(truth, {"O0": "JPN1-1", "O1": "USA1-5"})
    seen = Truth(truth.t_s, truth.object_id, truth.kind, truth.x, truth.object_id == "O0")
    c = picture_commonality(seen, {"JPN": a, "USA": b})
    assert c.number_commonality == 1.0 and set(c.first_held_s) == {"O0"}
    every = picture_commonality(seen, {"JPN": a, "USA": b}, detectable_only=False)
    assert every.number_commonality == 0.5
