"""Missile scoring on a hand-made picture: track ownership, ellipse containment, alert timing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.assess import WarningAreas
from airpicture.evaluate import TrueImpacts, impact_points_from_truth, score_missiles
from airpicture.geo import geodetic2ecef
from airpicture.tables import AlertRows, ImpactRows, TrackRows, Truth

T0 = 1_000.0
LAT, LON = math.radians(40.0), math.radians(135.0)


def body_truth() -> Truth:
    """A body falling straight down at 1 km/s from 100 km, rows every second to impact at 100 s."""
    t = T0 + np.arange(0.0, 100.0, 1.0)
    h = 100e3 - 1000.0 * (t - T0)
    p = np.stack(geodetic2ecef(LAT, LON, h), axis=-1)
    up = p[0] / np.linalg.norm(p[0])
    x = np.hstack([p, np.tile(-1000.0 * up, (len(t), 1))])
    return Truth(t, np.full(len(t), "BM1"), np.full(len(t), "ballistic"), x)


def tracks_of(truth: Truth, breaks_at: float | None) -> TrackRows:
    t = truth.t_s[5::2]
    x = truth.x[5::2] + 50.0
    ids = np.where((t >= breaks_at) if breaks_at else np.zeros(len(t), bool), "T2", "T1")
    kind = np.where(t < T0 + 15.0, "unknown", "ballistic")
    n = len(t)
    return TrackRows(t, ids, x, np.zeros((n, 6)), kind, np.full(n, "confirmed"), np.full(n, "JPN"))


def area() -> WarningAreas:
    lat, lon = math.degrees(LAT), math.degrees(LON)
    ring = [
        [lon - 0.1, lat - 0.1],
        [lon + 0.1, lat - 0.1],
        [lon + 0.1, lat + 0.1],
        [lon - 0.1, lat + 0.1],
        [lon - 0.1, lat - 0.1],
    ]
    return WarningAreas.from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"id": "box"},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            ],
        }
    )


def test_scores_of_a_held_warned_missile() -> None:
    truth = body_truth()
    true = TrueImpacts(np.array(["BM1"]), np.array([T0 + 100.0]), np.array([LAT]), np.array([LON]))
    tracks = tracks_of(truth, None)
    dlat = 3000.0 / 6_371_000.0  # predictions 3 km north of the truth
    imp = ImpactRows(
        t_s=np.array([T0 + 20.0, T0 + 30.0]),
        track_id=np.array(["T1", "T1"]),
        impact_t_s=np.array([T0 + 99.0, T0 + 100.2]),
        impact_lat_rad=np.array([LAT + dlat, LAT + dlat]),
        impact_lon_rad=np.array([LON, LON]),
        semi_major_m=np.array([5000.0, 2000.0]),
        semi_minor_m=np.array([1000.0, 1000.0]),
        orientation_rad=np.array([0.0, 0.0]),
        confidence=np.full(2, 0.95),
        launch_t_s=np.full(2, np.nan),
        launch_lat_rad=np.full(2, np.nan),
        launch_lon_rad=np.full(2, np.nan),
    )
    al = AlertRows(
        t_s=np.array([T0 + 30.0, T0 + 105.0]),
        alert_id=np.array(["T1:box:1"] * 2),
        area_id=np.array(["box"] * 2),
        track_id=np.array(["T1"] * 2),
        state=np.array(["active", "cancelled"]),
        event=np.array(["issued", "cancelled"]),
        reason=np.array(["", "down"]),
        impact_t_s=np.array([T0 + 100.2, T0 + 100.2]),
    )
    (s,) = score_missiles(truth, tracks, imp, al, true, areas=area())
    assert s.held_one_track and s.track_ids == ("T1",)
    assert s.first_firm_t_s == T0 + 5.0 and s.time_to_classify_s == pytest.approx(10.0)
    np.testing.assert_allclose(s.time_to_go_s, [80.0, 70.0])
    np.testing.assert_allclose(
        s.error_m, [3000.0, 3000.0], rtol=3e-3
    )  # 3 km on a 6371 km sphere vs WGS-84
    assert list(s.inside) == [True, False]  # 3 km along a 5 km major axis; beyond a 2 km one
    assert s.true_areas == ("box",) and s.areas_at_impact == ("box",) and s.alerts_exact
    assert s.lead_time_s == {"box": pytest.approx(70.0)}


def test_a_broken_track_is_two_tracks() -> None:
    truth = body_truth()
    true = impact_points_from_truth(truth)
    assert true.t_s[0] == pytest.approx(T0 + 100.0, abs=1e-6)
    assert true.lat_rad[0] == pytest.approx(LAT, abs=1e-9)
    (s,) = score_missiles(
        truth, tracks_of(truth, T0 + 50.0), ImpactRows.empty(), AlertRows.empty(), true
    )
    assert s.track_ids == ("T1", "T2") and not s.held_one_track
    assert s.areas_at_impact == () and s.lead_time_s == {} and len(s.inside) == 0


def test_a_body_still_in_flight_when_the_truth_ends_has_no_impact() -> None:
    """Cut the fall at 50 km or two rows before the ground (the scenario ended first), or turn
    it into a climb: no impact. Its last row one interval above the ground: the line through
    the last two rows finds it."""
    truth = body_truth()
    assert len(impact_points_from_truth(truth.take(truth.t_s < T0 + 50.0)).object_id) == 0
    climbing = truth.take(truth.t_s < T0 + 50.0)
    climbing = Truth(climbing.t_s[::-1].copy(), climbing.object_id, climbing.kind, climbing.x)
    assert len(impact_points_from_truth(climbing).object_id) == 0
    assert len(impact_points_from_truth(truth.take(truth.t_s < T0 + 99.0)).object_id) == 0
    assert impact_points_from_truth(truth).t_s[0] == pytest.approx(T0 + 100.0, abs=1e-6)
