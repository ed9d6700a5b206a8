"""Tests of airpicture.evaluate._metrics: GOSPA, evaluate_picture, reporting.

References used here, independent of the code under test:

* ``gospa_by_permutations``: Definition 1 of Rahmathullah et al. (2017) evaluated literally, a
  minimum over all injections of the smaller set into the larger (tiny sets only);
* ``gospa_augmented``: the alpha = 2 form solved as one square assignment problem with a dummy
  "missed" column per truth object and a dummy "false" row per track;
* ``evaluate_slow``: the data-contract evaluation written as plain loops over times and tracks.

Tolerances: distances are metres; GOSPA values agree to 1e-9 relative (float rounding of sums of
at most a few hundred terms), nothing physical is approximated.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from airpicture.errors import ConfigError, DataError
from airpicture.evaluate import (
    Evaluation,
    evaluate_picture,
    format_summary,
    gospa,
    to_json_dict,
)
from airpicture.tables import TrackRows, Truth

REL = 1e-9


# ------------------------------------------------------------------------------------------
# references
# ------------------------------------------------------------------------------------------


def gospa_by_permutations(X: np.ndarray, Y: np.ndarray, c: float, p: float, alpha: float) -> float:
    """Definition 1, literally: min over injections of the smaller set, c^p/alpha per surplus."""
    if X.shape[0] > Y.shape[0]:
        X, Y = Y, X
    m, k = X.shape[0], Y.shape[0]
    best = math.inf
    for perm in itertools.permutations(range(k), m):
        cost = sum(min(float(np.linalg.norm(X[i] - Y[j])), c) ** p for i, j in enumerate(perm))
        best = min(best, cost)
    if m == 0:
        best = 0.0
    return (best + c**p / alpha * (k - m)) ** (1.0 / p)


def gospa_augmented(X: np.ndarray, Y: np.ndarray, c: float, p: float) -> float:
    """alpha = 2 as a square (m + k) assignment with dummies, at cost c^p / 2 each."""
    m, k = X.shape[0], Y.shape[0]
    if m + k == 0:
        return 0.0
    big = 1e300
    cost = np.zeros((m + k, k + m))
    if m and k:
        cost[:m, :k] = np.minimum(cdist(X, Y), c) ** p
    cost[:m, k:] = np.where(np.eye(m, dtype=bool), c**p / 2.0, big)  # truth i missed
    cost[m:, :k] = np.where(np.eye(k, dtype=bool), c**p / 2.0, big)  # track j false
    r, col = linear_sum_assignment(cost)
    return float(cost[r, col].sum()) ** (1.0 / p)


def make_truth(rows: list[tuple[float, str, list[float]]]) -> Truth:
    """Truth from (t_s, object_id, [x, y, z, vx, vy, vz]) rows."""
    return Truth(
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows]),
        np.array(["aircraft"] * len(rows)),
        np.array([r[2] for r in rows], dtype=float).reshape(-1, 6),
    )


def make_tracks(rows: list[tuple[float, str, list[float], str]]) -> TrackRows:
    """Track rows from (t_s, track_id, [x, y, z, vx, vy, vz], status) rows."""
    n = len(rows)
    if n == 0:
        return TrackRows.empty()
    return TrackRows(
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows], dtype=float),
        np.zeros((n, 6)),
        np.array(["aircraft"] * n),
        np.array([r[3] for r in rows]),
        np.array(["JPN"] * n),
    )


def at(x: float, y: float = 0.0, z: float = 0.0, vx: float = 0.0, vy: float = 0.0) -> list[float]:
    return [x, y, z, vx, vy, 0.0]


def evaluate_slow(truth: Truth, tracks: TrackRows, c: float, gate: float) -> dict[str, list]:
    """The data-contract evaluation, with loops: per time GOSPA and SIAP counts."""
    out: dict[str, list] = {"gospa": [], "n_tracks": [], "n_tracked": [], "n_assoc": []}
    for t in sorted(set(truth.t_s.tolist())):
        sel = truth.t_s == t
        X = truth.x[sel, :3]
        picture = []
        for tid in sorted(set(tracks.track_id.tolist())):
            rows = [
                i for i in range(len(tracks)) if tracks.track_id[i] == tid and tracks.t_s[i] <= t
            ]
            if not rows:
                continue
            # latest row; at equal times a deleted row wins
            last = max(rows, key=lambda i: (tracks.t_s[i], tracks.status[i] == "deleted", i))
            if tracks.status[last] in ("tentative", "deleted"):
                continue
            x = tracks.x[last]
            picture.append(x[:3] + x[3:] * (t - tracks.t_s[last]))
        Y = np.array(picture).reshape(-1, 3)
        out["gospa"].append(gospa_augmented(X, Y, c, 2.0))
        out["n_tracks"].append(Y.shape[0])
        tracked = set()
        n_assoc = 0
        for y in Y:
            d = np.linalg.norm(X - y, axis=1)
            if d.size and d.min() < gate:
                tracked.add(int(np.argmin(d)))
                n_assoc += 1
        out["n_tracked"].append(len(tracked))
        out["n_assoc"].append(n_assoc)
    return out


# ------------------------------------------------------------------------------------------
# gospa: hand-computed cases
# ------------------------------------------------------------------------------------------

E3 = np.empty((0, 3))


def test_both_empty_is_zero():
    r = gospa(E3, E3, c_m=10.0)
    assert (r.total, r.localisation, r.missed, r.false) == (0.0, 0.0, 0.0, 0.0)
    assert (r.n_assigned, r.n_missed, r.n_false) == (0, 0, 0)
    assert r.truth_idx.shape == (0,) and r.track_idx.shape == (0,)


def test_all_missed():
    # 3 missed, c = 10, p = 2: total^2 = 3 * 10^2 / 2 = 150
    r = gospa(np.zeros((3, 3)) + [[0, 0, 0], [100, 0, 0], [200, 0, 0]], E3, c_m=10.0)
    assert r.total == pytest.approx(math.sqrt(150.0), rel=REL)
    assert (r.missed, r.false, r.localisation) == (150.0, 0.0, 0.0)
    assert (r.n_missed, r.n_false, r.n_assigned) == (3, 0, 0)


def test_all_false():
    # 2 false, c = 10, p = 2: total^2 = 2 * 50 = 100
    r = gospa(E3, np.array([[0.0, 0, 0], [50.0, 0, 0]]), c_m=10.0)
    assert r.total == pytest.approx(10.0, rel=REL)
    assert (r.missed, r.false) == (0.0, 100.0)
    assert (r.n_missed, r.n_false) == (0, 2)


def test_single_pair_closer_than_c_is_its_distance():
    r = gospa(np.array([[0.0, 0, 0]]), np.array([[3.0, 4.0, 0]]), c_m=10.0)
    assert r.total == pytest.approx(5.0, rel=REL)
    assert r.localisation == pytest.approx(25.0, rel=REL)
    assert (r.n_assigned, r.n_missed, r.n_false) == (1, 0, 0)
    assert r.truth_idx.tolist() == [0] and r.track_idx.tolist() == [0]
    assert r.distance_m == pytest.approx([5.0])


def test_single_pair_beyond_c_is_one_missed_and_one_false():
    # d = 12 > c = 10: not assigned; total^2 = 50 + 50
    r = gospa(np.array([[0.0, 0, 0]]), np.array([[12.0, 0, 0]]), c_m=10.0)
    assert r.total == pytest.approx(10.0, rel=REL)
    assert (r.localisation, r.missed, r.false) == (0.0, 50.0, 50.0)
    assert (r.n_assigned, r.n_missed, r.n_false) == (0, 1, 1)


def test_p1_pair_plus_false_track():
    # p = 1: 5 + c / 2 = 10
    r = gospa(np.array([[0.0, 0, 0]]), np.array([[3.0, 4.0, 0], [500.0, 0, 0]]), c_m=10.0, p=1)
    assert r.total == pytest.approx(10.0, rel=REL)
    assert (r.localisation, r.missed, r.false) == (5.0, 0.0, 5.0)


def test_optimal_not_greedy():
    # 1-D: truths A = 0, B = 2; tracks a = 0.9, b = -1.5. Greedy takes A-a (0.9) and leaves
    # B-b (3.5): 0.81 + 12.25. Optimal: A-b (1.5), B-a (1.1): 2.25 + 1.21 = 3.46.
    X = np.array([[0.0, 0, 0], [2.0, 0, 0]])
    Y = np.array([[0.9, 0, 0], [-1.5, 0, 0]])
    r = gospa(X, Y, c_m=100.0)
    assert r.total == pytest.approx(math.sqrt(3.46), rel=REL)
    assert r.truth_idx.tolist() == [0, 1] and r.track_idx.tolist() == [1, 0]


def test_one_truth_several_tracks_takes_nearest():
    X = np.array([[0.0, 0, 0]])
    Y = np.array([[6.0, 0, 0], [0.0, 2.0, 0], [0.0, 0, 9.0]])
    r = gospa(X, Y, c_m=10.0)
    assert r.track_idx.tolist() == [1]
    assert r.total == pytest.approx(math.sqrt(4.0 + 2 * 50.0), rel=REL)


def test_alpha_below_two_follows_definition_1():
    # alpha = 1, p = 1, c = 10: pair at 3 plus one surplus track at c / alpha = 10
    r = gospa(
        np.array([[0.0, 0, 0]]), np.array([[3.0, 0, 0], [100.0, 0, 0]]), c_m=10.0, p=1, alpha=1.0
    )
    assert r.total == pytest.approx(13.0, rel=REL)
    assert (r.localisation, r.missed, r.false) == (3.0, 0.0, 10.0)
    # a forced pair beyond c costs c, split evenly between missed and false
    r = gospa(np.array([[0.0, 0, 0]]), np.array([[20.0, 0, 0]]), c_m=10.0, p=1, alpha=1.0)
    assert r.total == pytest.approx(10.0, rel=REL)
    assert (r.missed, r.false) == (5.0, 5.0)


def test_parts_add_up_to_total_power():
    rng = np.random.default_rng(7)
    X = rng.uniform(0, 50, (12, 3))
    Y = rng.uniform(0, 50, (9, 3))
    for p in (1.0, 2.0, 3.0):
        r = gospa(X, Y, c_m=15.0, p=p)
        assert r.total**p == pytest.approx(r.localisation + r.missed + r.false, rel=REL)
        assert r.missed == pytest.approx(15.0**p / 2 * r.n_missed, rel=REL)
        assert r.false == pytest.approx(15.0**p / 2 * r.n_false, rel=REL)
        assert np.all(r.distance_m < 15.0)


def test_large_clustered_sets_match_augmented_reference():
    # Dense clusters make connected groups with many objects, solved by linear_sum_assignment.
    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 200e3, (6, 3))
    X = (centres[:, None, :] + rng.normal(0, 4e3, (6, 25, 3))).reshape(-1, 3)
    Y = np.vstack(
        [
            X[rng.permutation(150)[:120]] + rng.normal(0, 2e3, (120, 3)),
            rng.uniform(0, 200e3, (30, 3)),
        ]
    )
    for p in (1.0, 2.0):
        r = gospa(X, Y, c_m=10_000.0, p=p)
        assert r.total == pytest.approx(gospa_augmented(X, Y, 10_000.0, p), rel=REL)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"c_m": 0.0}, "c_m"),
        ({"c_m": float("nan")}, "c_m"),
        ({"p": 0.5}, "p"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 2.5}, "alpha"),
    ],
)
def test_bad_parameters_are_config_errors(kwargs, key):
    with pytest.raises(ConfigError) as info:
        gospa(E3, E3, **kwargs)
    assert info.value.key == key
    assert str(info.value).startswith(f"gospa, key {key}: expected ")


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match=r"track_pos: expected an array of shape \(n, 3\)"):
        gospa(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="truth_pos: expected finite coordinates"):
        gospa(np.array([[np.nan, 0, 0]]), E3)


# ------------------------------------------------------------------------------------------
# gospa: properties
# ------------------------------------------------------------------------------------------

# Points on a 1 km grid in a 40 km box, c = 10 km: sets overlap, pairs straddle the cut-off.
coord = st.integers(-20, 20).map(lambda v: 1000.0 * v)
point = st.tuples(coord, coord, coord)
point_set = st.lists(point, min_size=0, max_size=6).map(lambda v: np.array(v, float).reshape(-1, 3))
C = 10_000.0


@settings(max_examples=150, deadline=None)
@given(point_set, point_set, st.sampled_from([1.0, 2.0, 3.0]), st.sampled_from([0.5, 1.0, 2.0]))
def test_matches_definition_1_by_permutations(X, Y, p, alpha):
    X, Y = X[:5], Y[:5]
    expected = gospa_by_permutations(X, Y, C, p, alpha)
    assert gospa(X, Y, c_m=C, p=p, alpha=alpha).total == pytest.approx(expected, rel=REL, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(point_set, point_set, st.sampled_from([1.0, 2.0]))
def test_symmetric(X, Y, p):
    assert gospa(X, Y, c_m=C, p=p).total == pytest.approx(gospa(Y, X, c_m=C, p=p).total, rel=REL)


@settings(max_examples=150, deadline=None)
@given(point_set, point_set)
def test_zero_iff_sets_equal(X, Y):
    same = sorted(map(tuple, X.tolist())) == sorted(map(tuple, Y.tolist()))
    assert (gospa(X, Y, c_m=C).total == 0.0) == same
    assert gospa(X, X, c_m=C).total == 0.0


@settings(max_examples=150, deadline=None)
@given(point_set, point_set, point_set, st.sampled_from([1.0, 2.0, 3.0]))
def test_triangle_inequality(X, Y, Z, p):
    d_xz = gospa(X, Z, c_m=C, p=p).total
    d_xy = gospa(X, Y, c_m=C, p=p).total
    d_yz = gospa(Y, Z, c_m=C, p=p).total
    assert d_xz <= d_xy + d_yz + 1e-6  # 1 um slack for rounding


@settings(max_examples=100, deadline=None)
@given(point_set, point_set, st.randoms(use_true_random=False))
def test_invariant_to_permutation(X, Y, rnd):
    px = list(range(X.shape[0]))
    py = list(range(Y.shape[0]))
    rnd.shuffle(px)
    rnd.shuffle(py)
    a = gospa(X, Y, c_m=C)
    b = gospa(X[px], Y[py], c_m=C)
    assert b.total == pytest.approx(a.total, rel=REL)
    assert (b.n_assigned, b.n_missed, b.n_false) == (a.n_assigned, a.n_missed, a.n_false)


# ------------------------------------------------------------------------------------------
# evaluate_picture: hand-computed cases
# ------------------------------------------------------------------------------------------


def test_track_is_predicted_to_truth_time_with_its_velocity():
    truth = make_truth([(10.0, "a", at(1000.0, vx=100.0))])
    tracks = make_tracks([(0.0, "T1", at(0.0, vx=100.0), "confirmed")])
    ev = evaluate_picture(truth, tracks)
    assert ev.gospa.tolist() == [0.0]
    assert ev.n_assigned.tolist() == [1]
    assert ev.summary()["pos_rmse_m"] == 0.0
    assert ev.summary()["vel_rmse_mps"] == 0.0


def test_position_nees_is_the_error_weighed_by_the_rows_covariance():
    """Closed form: e = (30, 40, 0) m against a diagonal covariance (100^2, 50^2, 10^2) m^2
    gives 0.09 + 0.64 = 0.73; a pair whose row is older than ``nees_max_age_s`` and a track
    without covariance are left out; hand-made rows with zero covariance give no NEES."""
    truth = make_truth([(10.0, "a", at(0.0)), (10.0, "b", at(5e5)), (10.0, "c", at(-5e5))])
    tracks = make_tracks(
        [
            (10.0, "T1", at(30.0, 40.0), "confirmed"),
            (5.0, "T2", at(5e5 + 10.0), "confirmed"),  # 5 s old
            (10.0, "T3", at(-5e5 + 10.0), "confirmed"),  # no covariance
        ]
    )
    cov = np.zeros((3, 6))
    cov[:2] = [100.0**2, 0.0, 0.0, 50.0**2, 0.0, 10.0**2]  # xx xy xz yy yz zz
    tracks = dataclasses.replace(tracks, cov_pos=cov)
    summary = evaluate_picture(truth, tracks).summary()
    assert summary["pos_nees"] == pytest.approx(0.73, rel=REL)
    assert summary["pos_nees_pairs"] == 1
    wide = evaluate_picture(truth, tracks, nees_max_age_s=5.0).summary()
    assert wide["pos_nees_pairs"] == 2
    assert wide["pos_nees"] == pytest.approx((0.73 + 0.01) / 2, rel=REL)
    assert math.isnan(evaluate_picture(truth, make_tracks([])).summary()["pos_nees"])


def test_identification_completeness_and_correctness():
    """Three assigned pairs: one track without a kind, one of the object's kind (a helicopter
    object is a ``helicopter/uav`` track), one of another kind."""
    truth = dataclasses.replace(
        make_truth([(0.0, "a", at(0.0)), (0.0, "b", at(5e5)), (0.0, "c", at(-5e5))]),
        kind=np.array(["aircraft", "helicopter", "ballistic"]),
    )
    tracks = dataclasses.replace(
        make_tracks(
            [
                (0.0, "T1", at(0.0), "confirmed"),
                (0.0, "T2", at(5e5), "confirmed"),
                (0.0, "T3", at(-5e5), "confirmed"),
            ]
        ),
        kind=np.array(["unknown", "helicopter/uav", "aircraft"]),
    )
    summary = evaluate_picture(truth, tracks).summary()
    assert summary["id_completeness"] == pytest.approx(2 / 3, rel=REL)
    assert summary["id_correctness"] == pytest.approx(1 / 2, rel=REL)


def test_latest_row_at_or_before_truth_time_is_used():
    truth = make_truth([(10.0, "a", at(0.0)), (20.0, "a", at(0.0))])
    tracks = make_tracks(
        [
            (5.0, "T1", at(300.0), "confirmed"),
            (10.0, "T1", at(30.0), "confirmed"),  # at the truth time: used at t = 10
            (15.0, "T1", at(40.0), "confirmed"),  # used at t = 20
            (25.0, "T1", at(9e9), "confirmed"),  # after the last truth time: never used
        ]
    )
    ev = evaluate_picture(truth, tracks)
    assert ev.gospa == pytest.approx([30.0, 40.0], rel=REL)
    assert ev.pos_rmse_m == pytest.approx([30.0, 40.0], rel=REL)


def test_velocity_rmse():
    truth = make_truth([(0.0, "a", at(0.0, vx=200.0)), (0.0, "b", at(5e5, vy=100.0))])
    tracks = make_tracks(
        [
            (0.0, "T1", at(0.0, vx=203.0, vy=4.0), "confirmed"),
            (0.0, "T2", at(5e5, vy=100.0), "coasting"),
        ]
    )
    ev = evaluate_picture(truth, tracks)
    assert ev.summary()["vel_rmse_mps"] == pytest.approx(math.sqrt(25.0 / 2), rel=REL)


def test_tentative_rows_are_not_in_the_picture():
    truth = make_truth([(0.0, "a", at(0.0)), (10.0, "a", at(0.0))])
    tracks = make_tracks([(0.0, "T1", at(0.0), "tentative"), (10.0, "T1", at(0.0), "confirmed")])
    ev = evaluate_picture(truth, tracks, c_m=10.0)
    assert ev.n_tracks.tolist() == [0, 1]
    assert ev.n_missed.tolist() == [1, 0]
    assert ev.gospa == pytest.approx([math.sqrt(50.0), 0.0], rel=REL)
    assert ev.track_ids.tolist() == ["T1"]


def test_track_no_longer_counts_from_its_deleted_row_on():
    truth = make_truth([(t, "a", at(0.0)) for t in (10.0, 20.0, 30.0)])
    tracks = make_tracks(
        [
            (0.0, "T1", at(0.0), "confirmed"),
            (20.0, "T1", at(0.0), "confirmed"),  # same time as the deleted row: deleted wins
            (20.0, "T1", at(0.0), "deleted"),
        ]
    )
    ev = evaluate_picture(truth, tracks, c_m=10.0)
    assert ev.n_tracks.tolist() == [1, 0, 0]
    assert ev.n_missed.tolist() == [0, 1, 1]


def test_empty_tracks_table_means_all_missed():
    truth = make_truth([(0.0, "a", at(0.0)), (0.0, "b", at(1e6))])
    ev = evaluate_picture(truth, make_tracks([]), c_m=10.0)
    assert ev.gospa == pytest.approx([10.0], rel=REL)
    s = ev.summary()
    assert s["completeness"] == 0.0
    assert math.isnan(s["ambiguity"]) and math.isnan(s["spuriousness"])
    assert math.isnan(s["pos_rmse_m"])
    assert s["n_tracks"] == 0.0


def test_swap_of_track_ids_counts_two_changes():
    truth, rows = [], []
    for t in (0.0, 10.0, 20.0, 30.0):
        truth += [(t, "a", at(0.0)), (t, "b", at(1e6))]
        swapped = t >= 20.0
        rows += [
            (t, "B" if swapped else "A", at(10.0), "confirmed"),
            (t, "A" if swapped else "B", at(1e6 + 10.0), "confirmed"),
        ]
    ev = evaluate_picture(make_truth(truth), make_tracks(rows))
    assert ev.object_id_changes.tolist() == [1, 1]
    assert ev.id_changes.tolist() == [0, 0, 2, 0]
    s = ev.summary()
    assert s["id_changes_total"] == 2.0
    assert s["id_changes_per_object"] == 1.0


def test_gap_in_tracking_with_same_track_is_no_change():
    truth = make_truth([(t, "a", at(0.0)) for t in (0.0, 10.0, 20.0)])
    tracks = make_tracks(
        [
            (0.0, "A", at(0.0), "confirmed"),
            (10.0, "A", at(5e4), "coasting"),  # 50 km off: not assigned at t = 10
            (20.0, "A", at(0.0), "confirmed"),
            (20.0, "Z", at(9e5), "confirmed"),
        ]
    )
    ev = evaluate_picture(truth, tracks)
    assert ev.n_assigned.tolist() == [1, 0, 1]
    assert ev.object_id_changes.tolist() == [0]


def test_siap_completeness_ambiguity_spuriousness():
    # a has two tracks within the gate, b none, and one track is far from everything.
    truth = make_truth([(0.0, "a", at(0.0)), (0.0, "b", at(1e6))])
    tracks = make_tracks(
        [
            (0.0, "T1", at(100.0), "confirmed"),
            (0.0, "T2", at(-200.0), "confirmed"),
            (0.0, "T3", at(5e5), "confirmed"),
        ]
    )
    ev = evaluate_picture(truth, tracks)
    s = ev.summary()
    assert s["completeness"] == 0.5
    assert s["ambiguity"] == 2.0
    assert s["spuriousness"] == pytest.approx(1.0 / 3.0)
    # GOSPA is one-to-one: T1 to a, T2 and T3 false, b missed
    assert (ev.n_assigned[0], ev.n_missed[0], ev.n_false[0]) == (1, 1, 2)
    assert ev.gospa[0] == pytest.approx(math.sqrt(100.0**2 + 3 * 1e4**2 / 2), rel=REL)


def test_association_distance_is_separate_from_cut_off():
    truth = make_truth([(0.0, "a", at(0.0))])
    tracks = make_tracks([(0.0, "T1", at(5000.0), "confirmed")])
    ev = evaluate_picture(truth, tracks, association_distance_m=1000.0)
    assert ev.n_assigned.tolist() == [1]  # GOSPA: 5 km < c = 10 km
    assert ev.summary()["spuriousness"] == 1.0  # SIAP: beyond the 1 km gate
    assert ev.summary()["completeness"] == 0.0
    assert ev.association_distance_m == 1000.0


def test_summary_gospa_parts_add_up():
    truth = make_truth([(0.0, "a", at(0.0)), (0.0, "b", at(1e6)), (5.0, "a", at(0.0))])
    tracks = make_tracks([(0.0, "T1", at(3000.0), "confirmed"), (0.0, "T9", at(3e6), "confirmed")])
    ev = evaluate_picture(truth, tracks)
    s = ev.summary()
    parts = s["gospa_localisation_m"] + s["gospa_missed_m"] + s["gospa_false_m"]
    assert parts == pytest.approx(s["gospa_m"], rel=REL)
    loc, missed, false = ev.gospa_parts_m
    assert loc + missed + false == pytest.approx(ev.gospa, rel=REL)
    assert ev.gospa**2 == pytest.approx(ev.loc + ev.missed + ev.false, rel=REL)


def test_empty_truth_is_a_data_error():
    with pytest.raises(DataError, match="truth: expected at least one row"):
        evaluate_picture(make_truth([]), make_tracks([]))


def test_bad_gate_is_a_config_error():
    truth = make_truth([(0.0, "a", at(0.0))])
    with pytest.raises(ConfigError, match="key association_distance_m: expected a finite number"):
        evaluate_picture(truth, make_tracks([]), association_distance_m=-1.0)


# ------------------------------------------------------------------------------------------
# evaluate_picture against the slow loop, on a random picture
# ------------------------------------------------------------------------------------------


def random_scenario(seed: int, n_obj: int, n_times: int) -> tuple[Truth, TrackRows]:
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(-60e3, 60e3, (n_obj, 3))
    v = rng.normal(0, 150, (n_obj, 3))
    times = np.arange(n_times) * 10.0
    truth_rows = [
        (t, f"o{i}", list(np.r_[p0[i] + v[i] * t, v[i]])) for t in times for i in range(n_obj)
    ]
    statuses = np.array(["tentative", "confirmed", "coasting", "deleted"])
    track_rows = []
    for i in range(n_obj):
        tid = f"t{i}"
        for t in np.sort(rng.choice(np.arange(-5.0, times[-1] + 5.0, 2.5), size=8, replace=False)):
            x = np.r_[p0[i] + v[i] * t + rng.normal(0, 2e3, 3), v[i] + rng.normal(0, 10, 3)]
            track_rows.append(
                (float(t), tid, list(x), str(rng.choice(statuses, p=[0.2, 0.5, 0.2, 0.1])))
            )
            if rng.random() < 0.1:  # a new track takes over the object
                tid = f"t{i}-{t}"
    for j in range(n_obj // 3):  # false tracks
        x = np.r_[rng.uniform(-60e3, 60e3, 3), rng.normal(0, 100, 3)]
        track_rows.append((float(rng.uniform(0, times[-1])), f"f{j}", list(x), "confirmed"))
    return make_truth(truth_rows), make_tracks(track_rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_slow_loop_evaluation(seed):
    truth, tracks = random_scenario(seed, n_obj=25, n_times=12)
    ev = evaluate_picture(truth, tracks, c_m=10_000.0, association_distance_m=6_000.0)
    slow = evaluate_slow(truth, tracks, c=10_000.0, gate=6_000.0)
    assert ev.gospa == pytest.approx(slow["gospa"], rel=REL)
    assert ev.n_tracks.tolist() == slow["n_tracks"]
    assert ev.n_tracked.tolist() == slow["n_tracked"]
    assert ev.n_associated.tolist() == slow["n_assoc"]


def test_id_changes_match_a_loop_over_objects():
    truth, tracks = random_scenario(5, n_obj=20, n_times=15)
    ev = evaluate_picture(truth, tracks)
    # redo the assignment time by time with gospa() and count per object with a dict
    assigned: dict[str, list[str]] = {}
    for t in ev.t_s:
        sel = truth.t_s == t
        ids = truth.object_id[sel]
        picture_ids, picture_pos = [], []
        for tid in sorted(set(tracks.track_id.tolist())):
            rows = [
                i for i in range(len(tracks)) if tracks.track_id[i] == tid and tracks.t_s[i] <= t
            ]
            if not rows:
                continue
            last = max(rows, key=lambda i: (tracks.t_s[i], tracks.status[i] == "deleted", i))
            if tracks.status[last] in ("tentative", "deleted"):
                continue
            x = tracks.x[last]
            picture_ids.append(tid)
            picture_pos.append(x[:3] + x[3:] * (t - tracks.t_s[last]))
        r = gospa(truth.x[sel, :3], np.array(picture_pos).reshape(-1, 3))
        for i, j in zip(r.truth_idx, r.track_idx, strict=True):
            assigned.setdefault(str(ids[i]), []).append(picture_ids[j])
    changes = {o: sum(a != b for a, b in itertools.pairwise(seq)) for o, seq in assigned.items()}
    got = dict(zip(ev.object_ids.tolist(), ev.object_id_changes.tolist(), strict=True))
    assert {o: got[o] for o in changes} == changes
    assert sum(got.values()) == sum(changes.values())


def test_many_objects_and_times():
    # 100 times x 1000 objects: the loop over times must stay cheap (no timing assertion here;
    # this runs in well under a second).
    rng = np.random.default_rng(0)
    n_obj, n_times = 1000, 100
    p0 = rng.uniform(-2e6, 2e6, (n_obj, 3)) + [-3.9e6, 3.4e6, 3.7e6]
    v = rng.normal(0, 200, (n_obj, 3))
    t = np.repeat(np.arange(n_times) * 10.0, n_obj)
    o = np.tile(np.arange(n_obj), n_times)
    truth = Truth(
        t,
        np.char.add("o", o.astype(str)),
        np.full(t.size, "aircraft"),
        np.hstack([p0[o] + v[o] * t[:, None], v[o]]),
    )
    tt = t - 1.0
    x = np.hstack([p0[o] + v[o] * tt[:, None] + rng.normal(0, 100, (t.size, 3)), v[o]])
    tracks = TrackRows(
        tt,
        np.char.add("t", o.astype(str)),
        x,
        np.zeros((t.size, 6)),
        np.full(t.size, "aircraft"),
        np.full(t.size, "confirmed"),
        np.full(t.size, "JPN"),
    )
    ev = evaluate_picture(truth, tracks)
    s = ev.summary()
    assert s["completeness"] == 1.0 and s["id_changes_total"] == 0.0
    assert s["n_objects"] == 1000.0 and s["n_times"] == 100.0
    # 100 m per axis: RMSE ~ 100 * sqrt(3) m
    assert s["pos_rmse_m"] == pytest.approx(100.0 * math.sqrt(3.0), rel=0.02)


# ------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------


def small_evaluation() -> Evaluation:
    truth = make_truth([(0.0, "a", at(0.0)), (0.0, "b", at(1e6)), (10.0, "a", at(0.0))])
    tracks = make_tracks([(0.0, "T1", at(300.0), "confirmed")])
    return evaluate_picture(truth, tracks)


def test_summary_keys():
    assert set(small_evaluation().summary()) == {
        "gospa_m",
        "gospa_localisation_m",
        "gospa_missed_m",
        "gospa_false_m",
        "missed_per_time",
        "false_per_time",
        "completeness",
        "ambiguity",
        "spuriousness",
        "id_changes_per_object",
        "id_changes_total",
        "pos_rmse_m",
        "vel_rmse_mps",
        "n_objects",
        "n_objects_all",
        "n_truth_rows",
        "n_truth_rows_all",
        "set_aside_per_time",
        "n_tracks",
        "n_times",
        "pos_nees",
        "pos_nees_pairs",
        "id_completeness",
        "id_correctness",
    }


def test_format_summary_is_an_aligned_table():
    text = format_summary(small_evaluation())
    lines = text.splitlines()
    assert lines[0].startswith("picture vs truth: GOSPA c = 10000 m, p = 2, alpha = 2")
    assert any(line.startswith("position RMSE") and line.endswith(" m") for line in lines)
    body = lines[2:]
    value_ends = {
        len(line.rstrip().rsplit(" ", 1)[0].rstrip()) for line in body if line.endswith(" m")
    }
    assert len(value_ends) == 1  # values right-aligned in one column


def test_json_dict_has_no_nan_and_round_trips():
    ev = evaluate_picture(make_truth([(0.0, "a", at(0.0))]), make_tracks([]))
    d = to_json_dict(ev, per_time=True)
    assert d["summary"]["pos_rmse_m"] is None
    assert d["parameters"]["c_m"] == 10_000.0
    assert d["per_time"]["n_missed"] == [1.0]
    assert json.loads(json.dumps(d, allow_nan=False)) == d


# ------------------------------------------------------------------------------------------
# optional cross-check against Stone Soup
# ------------------------------------------------------------------------------------------


def test_matches_stone_soup_gospa():
    pytest.importorskip("stonesoup")
    import datetime

    from stonesoup.metricgenerator.ospametric import GOSPAMetric
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import State

    rng = np.random.default_rng(3)
    when = datetime.datetime(2024, 1, 1)
    for _ in range(20):
        X = rng.uniform(0, 40e3, (int(rng.integers(0, 8)), 3))
        Y = rng.uniform(0, 40e3, (int(rng.integers(0, 8)), 3))
        ours = gospa(X, Y, c_m=10_000.0, p=2.0)
        theirs, _ = GOSPAMetric(c=10_000.0, p=2.0).compute_gospa_metric(
            [State(StateVector(y), timestamp=when) for y in Y],
            [State(StateVector(x), timestamp=when) for x in X],
        )
        value = theirs.value
        assert ours.total == pytest.approx(value["distance"], rel=1e-9)
        assert ours.localisation == pytest.approx(value["localisation"], rel=1e-9, abs=1e-6)
        assert ours.missed == pytest.approx(value["missed"], rel=1e-9)
        assert ours.false == pytest.approx(value["false"], rel=1e-9)
