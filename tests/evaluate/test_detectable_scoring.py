"""Scoring only the detectable truth: who is missed, which tracks are false, what is reported.

The rule under test (``evaluate_picture``): at each time, a picture track whose nearest truth
object within the association distance (among all objects) is not detectable is set aside; the
detectable objects are then scored against the tracks left with the usual GOSPA and SIAP.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.evaluate import evaluate_picture, format_summary, gospa, to_json_dict
from airpicture.tables import Detections, TrackRows, Truth

C = 10_000.0
MISSED = C**2 / 2.0  # one missed object or one false track, m^2 (p = 2, alpha = 2)


def truth_of(rows: list[tuple[float, str, list[float], bool]]) -> Truth:
    """Truth from (t_s, object_id, [x, y, z, vx, vy, vz], detectable) rows."""
    return Truth(
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows]),
        np.array(["aircraft"] * len(rows)),
        np.array([r[2] for r in rows], dtype=float).reshape(-1, 6),
        np.array([r[3] for r in rows], dtype=bool),
    )


def tracks_of(rows: list[tuple[float, str, list[float]]]) -> TrackRows:
    """Confirmed track rows from (t_s, track_id, [x, y, z, vx, vy, vz]) rows."""
    n = len(rows)
    if n == 0:
        return TrackRows.empty()
    return TrackRows(
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows], dtype=float),
        np.zeros((n, 6)),
        np.array(["aircraft"] * n),
        np.array(["confirmed"] * n),
        np.array(["JPN"] * n),
    )


def at(x: float, y: float = 0.0) -> list[float]:
    return [x, y, 0.0, 0.0, 0.0, 0.0]


def without_column(truth: Truth) -> Truth:
    return dataclasses.replace(truth, detectable=None)


# ------------------------------------------------------------------------------------------
# the rule, case by case
# ------------------------------------------------------------------------------------------


def test_undetectable_object_without_a_track_is_not_missed():
    truth = truth_of([(0.0, "a", at(0.0), True), (0.0, "far", at(5e6), False)])
    tracks = tracks_of([(0.0, "T1", at(30.0))])
    ev = evaluate_picture(truth, tracks)
    assert ev.detectable_only
    assert (ev.n_truth[0], ev.n_truth_all[0]) == (1, 2)
    assert (ev.n_missed[0], ev.n_false[0], ev.n_set_aside[0]) == (0, 0, 0)
    assert ev.gospa[0] == pytest.approx(30.0)
    assert ev.summary()["completeness"] == 1.0
    # scoring every object: the undetectable one is missed
    every = evaluate_picture(truth, tracks, detectable_only=False)
    assert not every.detectable_only
    assert every.n_missed[0] == 1
    assert every.gospa[0] == pytest.approx(math.sqrt(30.0**2 + MISSED))
    assert every.summary()["completeness"] == 0.5


def test_track_on_an_object_that_left_coverage_is_not_false():
    # "b" is detectable at t = 0 and not at t = 10 (it left the coverage); its track coasts on.
    truth = truth_of(
        [
            (0.0, "a", at(0.0), True),
            (0.0, "b", at(1e6), True),
            (10.0, "a", at(0.0), True),
            (10.0, "b", at(1e6), False),
        ]
    )
    tracks = tracks_of([(0.0, "T1", at(0.0)), (0.0, "T2", at(1e6 + 200.0))])
    ev = evaluate_picture(truth, tracks)
    assert ev.n_tracks.tolist() == [2, 1]
    assert ev.n_set_aside.tolist() == [0, 1]
    assert ev.n_false.tolist() == [0, 0]
    assert ev.n_missed.tolist() == [0, 0]
    assert ev.gospa.tolist() == pytest.approx([200.0, 0.0])
    s = ev.summary()
    assert (s["spuriousness"], s["completeness"], s["ambiguity"]) == (0.0, 1.0, 1.0)
    assert s["pos_rmse_m"] == pytest.approx(200.0 / math.sqrt(3.0))
    assert s["set_aside_per_time"] == 0.5


def test_every_track_on_an_undetectable_object_is_set_aside():
    truth = truth_of([(0.0, "a", at(0.0), True), (0.0, "b", at(1e6), False)])
    tracks = tracks_of([(0.0, "T1", at(1e6 + 100.0)), (0.0, "T2", at(1e6 - 300.0))])
    ev = evaluate_picture(truth, tracks)
    assert (ev.n_set_aside[0], ev.n_tracks[0], ev.n_false[0], ev.n_missed[0]) == (2, 0, 0, 1)
    assert ev.gospa[0] == pytest.approx(math.sqrt(MISSED))
    assert ev.track_ids.tolist() == []  # never in the scored picture


def test_track_far_from_every_object_is_still_false():
    truth = truth_of([(0.0, "a", at(0.0), True), (0.0, "b", at(1e6), False)])
    tracks = tracks_of([(0.0, "T1", at(0.0)), (0.0, "F", at(5e5))])
    ev = evaluate_picture(truth, tracks)
    assert (ev.n_set_aside[0], ev.n_false[0]) == (0, 1)
    assert ev.summary()["spuriousness"] == 0.5
    assert ev.gospa[0] == pytest.approx(math.sqrt(MISSED))


def test_nearest_object_decides_and_the_gate_bounds_it():
    # T1 is 2 km from the undetectable b and 3 km from the detectable a: it is on b.
    truth = truth_of([(0.0, "a", at(0.0), True), (0.0, "b", at(5000.0), False)])
    tracks = tracks_of([(0.0, "T1", at(3000.0))])
    ev = evaluate_picture(truth, tracks)
    assert (ev.n_set_aside[0], ev.n_missed[0], ev.n_false[0]) == (1, 1, 0)
    # with a 1 km association distance it is on no object: GOSPA pairs it with a (3 km < c)
    ev = evaluate_picture(truth, tracks, association_distance_m=1000.0)
    assert (ev.n_set_aside[0], ev.n_assigned[0], ev.n_missed[0]) == (0, 1, 0)
    assert ev.summary()["spuriousness"] == 1.0  # SIAP: beyond the gate of every object


def test_track_number_changes_count_only_scored_times():
    # a is followed by A, leaves the coverage (and B takes over there), comes back to A.
    truth, tracks = [], []
    for t, seen, tid in ((0.0, True, "A"), (10.0, False, "B"), (20.0, True, "A")):
        truth.append((t, "a", at(0.0), seen))
        tracks.append((t, tid, at(50.0)))
        tracks.append((t, "B" if tid == "A" else "A", at(9e6)))  # the other, far away
    ev = evaluate_picture(truth_of(truth), tracks_of(tracks))
    assert ev.object_id_changes.tolist() == [0]
    every = evaluate_picture(truth_of(truth), tracks_of(tracks), detectable_only=False)
    assert every.object_id_changes.tolist() == [2]


def test_objects_never_detectable_are_not_counted_as_scored():
    truth = truth_of(
        [(0.0, "a", at(0.0), True), (0.0, "b", at(1e6), False), (5.0, "b", at(1e6), False)]
    )
    ev = evaluate_picture(truth, tracks_of([]))
    assert ev.object_ids.tolist() == ["a", "b"]
    assert ev.object_scored.tolist() == [True, False]
    s = ev.summary()
    assert (s["n_objects"], s["n_objects_all"]) == (1.0, 2.0)
    assert (s["n_truth_rows"], s["n_truth_rows_all"]) == (1.0, 3.0)
    # a time without any detectable object: nothing missed, completeness undefined there
    assert ev.n_truth.tolist() == [1, 0]
    assert math.isnan(ev.completeness[1])


def test_without_the_column_every_object_is_scored_as_before():
    truth = truth_of([(0.0, "a", at(0.0), True), (0.0, "b", at(1e6), False)])
    tracks = tracks_of([(0.0, "T1", at(100.0)), (0.0, "T2", at(1e6))])
    plain = evaluate_picture(without_column(truth), tracks)
    every = evaluate_picture(truth, tracks, detectable_only=False)
    assert not plain.detectable_only and not every.detectable_only
    for ev in (plain, every):
        assert ev.n_set_aside.tolist() == [0] and ev.n_truth.tolist() == [2]
        assert ev.object_scored.all()
    assert plain.summary() == every.summary()


def test_flags_must_match_the_rows():
    truth = truth_of([(0.0, "a", at(0.0), True)])
    bad = dataclasses.replace(truth, detectable=np.array([True, False]))
    with pytest.raises(ValueError, match="truth.detectable of shape"):
        evaluate_picture(bad, tracks_of([]))


# ------------------------------------------------------------------------------------------
# against the rule written out with gospa() on a random picture
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_rule_written_out(seed):
    rng = np.random.default_rng(seed)
    n_obj, times, gate = 30, np.arange(8) * 10.0, 6_000.0
    p0 = rng.uniform(-80e3, 80e3, (n_obj, 3))
    rows, track_rows = [], []
    for t in times:
        flags = rng.random(n_obj) < 0.6
        for i in range(n_obj):
            rows.append((t, f"o{i}", [*p0[i], 0.0, 0.0, 0.0], bool(flags[i])))
            if rng.random() < 0.8:
                track_rows.append((t, f"t{i}", [*(p0[i] + rng.normal(0, 3e3, 3)), 0, 0, 0]))
            if rng.random() < 0.1:  # a duplicate
                track_rows.append((t, f"d{i}", [*(p0[i] + rng.normal(0, 3e3, 3)), 0, 0, 0]))
        for j in range(3):  # false tracks
            track_rows.append((t, f"f{t}{j}", [*rng.uniform(-80e3, 80e3, 3), 0, 0, 0]))
    truth, tracks = truth_of(rows), tracks_of(track_rows)
    ev = evaluate_picture(truth, tracks, c_m=C, association_distance_m=gate)
    for it, t in enumerate(times):
        sel = truth.t_s == t
        pos, flags = truth.x[sel, :3], truth.detectable[sel]
        picture = []  # each track at its latest row at or before t (they do not move)
        for tid in np.unique(tracks.track_id):
            rows = np.flatnonzero((tracks.track_id == tid) & (tracks.t_s <= t))
            if rows.size:
                picture.append(tracks.x[rows[np.argmax(tracks.t_s[rows])], :3])
        kept = []
        for x in picture:
            d = np.linalg.norm(pos - x, axis=1)
            nearest = int(np.argmin(d))
            if d[nearest] <= gate and not flags[nearest]:
                continue  # on an undetectable object: set aside
            kept.append(x)
        kept_pos = np.array(kept).reshape(-1, 3)
        ref = gospa(pos[flags], kept_pos, c_m=C)
        assert ev.gospa[it] == pytest.approx(ref.total, rel=1e-9)
        assert (ev.n_truth[it], ev.n_tracks[it]) == (flags.sum(), len(kept))
        assert ev.n_set_aside[it] == len(picture) - len(kept)
        assert (ev.n_missed[it], ev.n_false[it]) == (ref.n_missed, ref.n_false)


# ------------------------------------------------------------------------------------------
# reporting and the command line
# ------------------------------------------------------------------------------------------


def test_summary_text_and_json_say_what_was_scored():
    truth = truth_of(
        [(0.0, "a", at(0.0), True), (0.0, "b", at(1e6), False), (5.0, "a", at(0.0), True)]
    )
    ev = evaluate_picture(truth, tracks_of([(0.0, "T1", at(10.0))]))
    lines = format_summary(ev).splitlines()
    assert lines[1] == (
        "scored: 1 of 2 objects, 2 of 3 truth rows (detectable only; tracks on the others set "
        "aside)"
    )
    assert set(lines[2]) == {"-"}
    assert any(line.startswith("truth objects scored") and line.endswith(" 1") for line in lines)
    every = format_summary(evaluate_picture(truth, tracks_of([]), detectable_only=False))
    assert every.splitlines()[1] == "scored: all 2 objects, 3 truth rows"
    data = to_json_dict(ev, per_time=True)
    assert data["parameters"]["detectable_only"] is True
    assert data["summary"]["n_objects_all"] == 2.0
    assert data["per_time"]["n_truth_all"] == [2.0, 1.0]
    assert json.loads(json.dumps(data, allow_nan=False)) == data


@pytest.fixture
def scenario_dir(tmp_path, small_picture):
    io = pytest.importorskip("airpicture.io")
    folder = tmp_path / "scenario"
    folder.mkdir()
    truth = small_picture.truth
    # obj4 is never detectable, obj3 only in the first half
    flags = (truth.object_id != "obj4") & ((truth.object_id != "obj3") | (truth.t_s < 1.7e9 + 300))
    io.write_sensors(folder / "sensors.csv", small_picture.sensors)
    io.write_detections(folder / "detections.csv", Detections.empty(), small_picture.sensors)
    io.write_truth(folder / "truth.csv", dataclasses.replace(truth, detectable=flags))
    tracks = tmp_path / "tracks.csv"
    io.write_tracks(tracks, small_picture.tracks)
    return folder, tracks


def test_cli_scores_detectable_objects_unless_told_otherwise(scenario_dir, capsys):
    folder, tracks = scenario_dir
    assert main(["evaluate", str(folder), str(tracks), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(folder), str(tracks), "--json", "--all-objects"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert default["parameters"]["detectable_only"] is True
    assert every["parameters"]["detectable_only"] is False
    assert (default["summary"]["n_objects"], default["summary"]["n_objects_all"]) == (4.0, 5.0)
    assert every["summary"]["n_objects"] == 5.0
    assert default["summary"]["n_truth_rows"] < every["summary"]["n_truth_rows"]
    assert default["summary"]["set_aside_per_time"] > 0.0
    # obj4's track is set aside instead of assigned: the false tracks stay the same
    assert default["summary"]["false_per_time"] == every["summary"]["false_per_time"]
    assert main(["evaluate", str(folder), str(tracks)]) == 0
    assert "(detectable only; tracks on the others set aside)" in capsys.readouterr().out
