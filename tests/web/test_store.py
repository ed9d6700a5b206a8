"""PictureStore: deltas per nation, history and scrubbing, display records, alerts and areas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from airpicture.errors import DataError
from airpicture.geo import enu_rotation, geodetic2ecef
from airpicture.tables import AlertRows, ImpactRows, TrackRows, cov_pos_from_matrix
from airpicture.web import Alert, Impact, PictureStore, display_records

from ._synthetic import flights

AREAS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "niigata", "name": "Niigata"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[138, 37], [140, 37], [140, 38.5], [138, 38.5], [138, 37]]],
            },
        },
    ],
}


def test_display_record_matches_the_state() -> None:
    # A track at 38 N 135 E, 10 km up, flying 250 m/s on course 045, climbing 5 m/s, with a
    # horizontal covariance of 400 m along 030 and 100 m across (1 sigma).
    lat, lon, alt = math.radians(38.0), math.radians(135.0), 10_000.0
    x, y, z = geodetic2ecef(lat, lon, alt)
    R = enu_rotation(lat, lon)
    v_enu = np.array([250 * math.sin(math.radians(45)), 250 * math.cos(math.radians(45)), 5.0])
    b = math.radians(30.0)
    major, minor = (
        np.array([math.sin(b), math.cos(b), 0.0]),
        np.array([math.cos(b), -math.sin(b), 0.0]),
    )
    P_enu = (
        400.0**2 * np.outer(major, major)
        + 100.0**2 * np.outer(minor, minor)
        + np.diag([0, 0, 50.0**2])
    )
    P = R.T @ P_enu @ R
    rows = TrackRows(
        np.array([100.0]),
        np.array(["T1"]),
        np.array([[x, y, z, *(R.T @ v_enu)]]),
        cov_pos_from_matrix(P[None]),
        np.array(["aircraft"]),
        np.array(["confirmed"]),
        np.array(["JPN"]),
    )
    (rec,) = display_records(rows)
    assert rec["lat"] == pytest.approx(38.0, abs=1e-5)
    assert rec["lon"] == pytest.approx(135.0, abs=1e-5)
    assert rec["alt"] == pytest.approx(10_000.0, abs=1.0)
    assert rec["crs"] == pytest.approx(45.0, abs=0.1)
    assert rec["spd"] == pytest.approx(250.0, abs=0.1)
    assert rec["vz"] == pytest.approx(5.0, abs=0.1)
    assert rec["sa"] == pytest.approx(400.0, abs=1.0)
    assert rec["sb"] == pytest.approx(100.0, abs=1.0)
    assert rec["ori"] == pytest.approx(30.0, abs=0.1)
    assert rec["sz"] == pytest.approx(50.0, abs=1.0)


def test_records_carry_sources_quality_and_local_id_live_past_and_in_history() -> None:
    def network_rows(t_s: float) -> TrackRows:
        # JPN2-1342 is held by the node's tracker and a partner's track; USA1-7 only by a
        # partner's track (no local id).
        return flights(
            t_s,
            [38.0, 39.0],
            [135.0, 136.0],
            ids=["JPN2-1342", "USA1-7"],
            sources=["JPN:plots;USA:plots;AUS:track", "USA:track"],
            quality=[12, 9],
            local_id=["T000123", ""],
        )

    expected = {
        "JPN2-1342": ("JPN:plots;USA:plots;AUS:track", 12, "T000123"),
        "USA1-7": ("USA:track", 9, ""),
    }

    def keys(records: list[dict]) -> dict[str, tuple]:
        return {r["id"]: (r["src"], r["tq"], r["lid"]) for r in records}

    assert keys(display_records(network_rows(1.0))) == expected
    store = PictureStore(nations=["JPN"])
    for t in range(5):
        store.apply("JPN", network_rows(float(t)))
    live = store.snapshot("JPN")
    assert keys(live["tracks"]) == expected
    assert keys(store.snapshot("JPN", t_s=2.5)["tracks"]) == expected
    history = store.track_history("JPN", "JPN2-1342")["rows"]
    assert {(r["src"], r["tq"], r["lid"]) for r in history} == {expected["JPN2-1342"]}
    json.dumps(live, allow_nan=False)
    # Rows without the network picture's columns (a local tracker's output).
    (plain,) = display_records(flights(1.0, [38.0], [135.0]))
    assert (plain["src"], plain["tq"], plain["lid"]) == ("", None, "")
    store.apply("JPN", flights(5.0, [38.0], [135.0], ids=["T1"]))
    assert keys(store.snapshot("JPN", t_s=5.0)["tracks"])["T1"] == ("", None, "")


def test_views_are_separate_and_deltas_carry_only_changes() -> None:
    store = PictureStore(nations=["JPN", "USA"])
    seen = []
    store.subscribe(seen.append)
    store.apply("JPN", flights(10.0, [37, 38, 39], [134, 135, 136]))
    store.apply("USA", flights(10.0, [40], [140], ids=["U1"]))
    assert {r["id"] for r in store.snapshot("JPN")["tracks"]} == {"T000000", "T000001", "T000002"}
    assert [r["id"] for r in store.snapshot("USA")["tracks"]] == ["U1"]
    gone = flights(11.0, [37], [134], ids=["T000001"], status="deleted")
    delta = store.apply("JPN", gone)
    assert delta is not None and delta["deleted"] == ["T000001"] and delta["tracks"] == []
    assert {r["id"] for r in store.snapshot("JPN")["tracks"]} == {"T000000", "T000002"}
    assert [m["nation"] for m in seen] == ["JPN", "USA", "JPN"]


def test_last_row_of_a_track_in_a_batch_wins() -> None:
    store = PictureStore(nations=["JPN"])
    both = TrackRows.concat([flights(5.0, [38], [135]), flights(6.0, [38], [135])])
    delta = store.apply("JPN", both)
    assert delta is not None and len(delta["tracks"]) == 1 and delta["tracks"][0]["t"] == 6.0


def test_snapshot_at_a_past_time_and_trails() -> None:
    store = PictureStore(nations=["JPN"], trail_s=60.0, trail_step_s=5.0)
    for t in range(61):
        store.apply("JPN", flights(float(t), [38.0, 39.0], [135.0, 136.0]))
    store.apply("JPN", flights(61.0, [39.0], [136.0], ids=["T000001"], status="deleted"))
    live = store.snapshot("JPN")
    assert live["live"] and [r["id"] for r in live["tracks"]] == ["T000000"]
    past = store.snapshot("JPN", t_s=30.5)
    assert not past["live"] and past["t_s"] == 30.5
    assert {r["id"]: r["t"] for r in past["tracks"]} == {"T000000": 30.0, "T000001": 30.0}
    # Flying east at 200 m/s: the longitude at t = 30 s is the one the history stored then.
    expected = 135.0 + math.degrees(200.0 * 30.0 / (6.371e6 * math.cos(math.radians(38.0))))
    lon = {r["id"]: r["lon"] for r in past["tracks"]}["T000000"]
    assert lon == pytest.approx(expected, abs=1e-4)
    trail = past["trails"]["T000000"]
    lons = trail[0::2]
    assert len(lons) == 7 and lons == sorted(lons)  # buckets of 5 s over t = 0 ... 30 s
    assert lons[-1] <= lon + 1e-9
    assert store.snapshot("JPN", t_s=-5.0)["tracks"] == []


def test_track_history_and_unknown_track() -> None:
    store = PictureStore(nations=["JPN"])
    for t in range(5):
        store.apply("JPN", flights(float(t), [38.0], [135.0]))
    store.apply("JPN", flights(5.0, [38.0], [135.0], status="deleted"))
    rows = store.track_history("JPN", "T000000")["rows"]
    assert [r["t"] for r in rows] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert rows[-1]["st"] == "deleted"
    with pytest.raises(KeyError):
        store.track_history("JPN", "T999")


def test_history_is_bounded() -> None:
    store = PictureStore(nations=["JPN"], history_s=10.0, max_history_rows=1000)
    for t in range(100):
        store.apply("JPN", flights(float(t), np.full(20, 38.0), np.linspace(130, 140, 20)))
    t_min, t_max = store.time_range("JPN")
    assert t_max == 99.0 and t_min is not None and t_min >= 89.0
    assert store.health()["JPN"]["rows_retained"] <= 1000


def test_alerts_impacts_and_their_past_state() -> None:
    store = PictureStore(nations=["JPN", "USA"])
    store.set_areas(AREAS)
    store.apply("JPN", flights(10.0, [38.0], [133.0], ids=["B1"], kind="ballistic"))
    store.set_impact(
        "JPN",
        Impact(
            "B1",
            10.0,
            37.6,
            139.1,
            300.0,
            30e3,
            12e3,
            40.0,
            launch_lat_deg=40.0,
            launch_lon_deg=128.0,
        ),
    )
    store.set_alert("JPN", Alert("A1", "niigata", "B1", "active", 12.0, impact_t_s=300.0))
    store.apply("JPN", flights(20.0, [38.0], [133.0], ids=["B1"], kind="ballistic"))
    store.set_alert("JPN", Alert("A1", "niigata", "B1", "cancelled", 25.0))
    assert store.alerts("JPN", state="active") == []
    assert [a["state"] for a in store.alerts("JPN")] == ["cancelled"]
    assert store.alerts("USA") == []
    then = store.snapshot("JPN", t_s=15.0)
    assert [a["alert_id"] for a in then["alerts"]] == ["A1"]
    assert [i["track_id"] for i in then["impacts"]] == ["B1"]
    assert store.snapshot("JPN", t_s=11.0)["alerts"] == []
    # The impact goes when its track is dropped.
    store.apply("JPN", flights(30.0, [38.0], [133.0], ids=["B1"], status="deleted"))
    assert store.impacts("JPN") == []



def test_an_impact_goes_when_its_track_is_no_longer_ballistic() -> None:
    store = PictureStore(nations=["JPN"])
    store.apply("JPN", flights(10.0, [38.0], [133.0], ids=["B1"], kind="ballistic"))
    store.set_impact("JPN", Impact("B1", 10.0, 37.7, 139.0, 300.0, 40e3, 15e3, 45.0))
    message = store.apply("JPN", flights(12.0, [38.0], [133.1], ids=["B1"], kind="ballistic"))
    assert message is not None and "impacts_removed" not in message
    assert [i["track_id"] for i in store.impacts("JPN")] == ["B1"]
    message = store.apply("JPN", flights(14.0, [38.0], [133.2], ids=["B1"], kind="aircraft"))
    assert message is not None and message["impacts_removed"] == ["B1"]
    assert store.impacts("JPN") == []
    assert store.snapshot("JPN", t_s=15.0)["impacts"] == []
    assert [i["track_id"] for i in store.snapshot("JPN", t_s=11.0)["impacts"]] == ["B1"]


@pytest.mark.parametrize(
    ("alert", "message"),
    [
        (
            Alert("A1", "niigata", "B1", "raised", 1.0),
            "alert 'A1' row 1, column state: expected one of 'active', 'cancelled', got 'raised'",
        ),
        (
            Alert("A1", "tokyo", "B1", "active", 1.0),
            "alert 'A1', column area_id: expected the id of a loaded warning area (niigata),"
            " got 'tokyo'",
        ),
        (
            Alert("", "niigata", "B1", "active", 1.0),
            "alert '' row 1, column alert_id: expected a non-empty string without line breaks,"
            " got empty",
        ),
        (
            Alert("A1", "niigata", "B1", "active", math.nan),
            "alert 'A1' row 1, column t_s: expected a finite float in [-1e+11, 1e+11], got nan",
        ),
    ],
)
def test_bad_alerts_say_what_is_wrong(alert: Alert, message: str) -> None:
    store = PictureStore(nations=["JPN"])
    store.set_areas(AREAS)
    with pytest.raises(DataError) as info:
        store.set_alert("JPN", alert)
    assert str(info.value) == message


def test_bad_impact_and_unknown_nation() -> None:
    store = PictureStore(nations=["JPN"])
    with pytest.raises(
        DataError,
        match=r"impact of track 'B1' row 1, column semi_minor_m: expected at most semi_major_m",
    ):
        store.set_impact("JPN", Impact("B1", 0.0, 37.0, 139.0, 10.0, 100.0, 200.0, 0.0))
    # the impacts table's rules: an orientation of 180 degrees is written as 0
    with pytest.raises(
        DataError, match=r"column orientation_deg: expected a finite float in \[0, 180\)"
    ):
        store.set_impact("JPN", Impact("B1", 0.0, 37.0, 139.0, 10.0, 200.0, 100.0, 180.0))
    with pytest.raises(DataError, match=r"column confidence: expected a finite float in \(0, 1\)"):
        store.set_impact("JPN", Impact("B1", 0.0, 37.0, 139.0, 10.0, 200.0, 100.0, 0.0, 1.0))
    with pytest.raises(DataError, match="nation: expected one of JPN, got 'XXX'"):
        store.apply("XXX", flights(0.0, [38.0], [135.0]))


@pytest.mark.parametrize(
    ("areas", "message"),
    [
        ({"type": "Feature"}, "warning areas: expected a GeoJSON FeatureCollection, got 'Feature'"),
        (
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": None}],
            },
            "warning areas feature 0, column properties.id: expected a non-empty string id,"
            " got None",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "a"},
                        "geometry": {"type": "Point", "coordinates": [1, 2]},
                    }
                ],
            },
            "warning areas feature 0, column geometry: expected a Polygon or MultiPolygon"
            " with coordinates, got 'Point'",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": "a"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[1, 2], [3, 4], [5, 95], [1, 2]]],
                        },
                    }
                ],
            },
            "warning areas feature 0 ring 0 position 2: expected a finite latitude"
            " in [-90, 90] deg, got 95",
        ),
    ],
)
def test_bad_areas_say_where(areas: dict, message: str) -> None:
    store = PictureStore(nations=["JPN"])
    with pytest.raises(DataError) as info:
        store.set_areas(areas)
    assert str(info.value) == message
    assert store.areas()["features"] == []


def test_a_failing_listener_is_dropped_and_the_picture_goes_on() -> None:
    store = PictureStore(nations=["JPN"])
    calls = []

    def broken(message: dict) -> None:
        calls.append(message)
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.apply("JPN", flights(0.0, [38.0], [135.0]))
    store.apply("JPN", flights(1.0, [38.0], [135.0]))
    assert len(calls) == 1 and len(store.snapshot("JPN")["tracks"]) == 1


def _impact_rows(t_s: list[float], track_ids: list[str], **columns: list[float]) -> ImpactRows:
    n = len(t_s)
    values = {
        "impact_t_s": [300.0] * n,
        "impact_lat_rad": [math.radians(37.6)] * n,
        "impact_lon_rad": [math.radians(139.1)] * n,
        "semi_major_m": [30e3] * n,
        "semi_minor_m": [12e3] * n,
        "orientation_rad": [math.radians(40.0)] * n,
        "confidence": [0.95] * n,
        "launch_t_s": [math.nan] * n,
        "launch_lat_rad": [math.radians(40.0)] * n,
        "launch_lon_rad": [math.radians(128.0)] * n,
    }
    values.update(columns)
    return ImpactRows(
        t_s=np.array(t_s),
        track_id=np.array(track_ids),
        **{k: np.array(v, dtype=float) for k, v in values.items()},
    )


def _alert_rows(*rows: tuple) -> AlertRows:
    cols = list(zip(*rows, strict=True))
    return AlertRows(
        t_s=np.array(cols[0], dtype=float),
        alert_id=np.array(cols[1]),
        area_id=np.array(cols[2]),
        track_id=np.array(cols[3]),
        state=np.array(cols[4]),
        event=np.array(cols[5]),
        reason=np.array(cols[6]),
        impact_t_s=np.array(cols[7], dtype=float),
    )


def test_assessment_tables_apply_in_degrees_and_bad_rows_are_counted() -> None:
    store = PictureStore(nations=["JPN"])
    store.set_areas(AREAS)
    sent: list[dict] = []
    store.subscribe(sent.append)
    bad_ellipse = _impact_rows([10.0, 10.0], ["B1", "B2"], semi_minor_m=[12e3, 40e3])
    message = store.apply_impacts("JPN", bad_ellipse)
    assert message is not None and [r["track_id"] for r in message["impacts"]] == ["B1"]
    (impact,) = store.impacts("JPN")
    assert impact["impact_lat"] == pytest.approx(37.6) and impact["impact_lon"] == pytest.approx(
        139.1
    )
    assert impact["orientation_deg"] == pytest.approx(40.0) and impact["launch_t_s"] is None
    alerts = _alert_rows(
        (12.0, "B1:niigata:1", "niigata", "B1", "active", "issued", "", 300.0),
        (12.0, "B1:tokyo:1", "tokyo", "B1", "active", "issued", "", 300.0),
        (13.0, "B1:niigata:1", "niigata", "B1", "raised", "issued", "", 300.0),
        (20.0, "B1:niigata:1", "niigata", "B1", "cancelled", "cancelled", "down", 300.0),
    )
    message = store.apply_alerts("JPN", alerts)
    assert message is not None and [a["state"] for a in message["alerts"]] == [
        "active",
        "cancelled",
    ]
    assert store.alerts("JPN")[0]["reason"] == "down"
    assert store.health()["JPN"]["rejected"] == {
        "impact semi_minor_m": 1,
        "alert area_id": 1,
        "alert state": 1,
    }
    assert store.apply_impacts("JPN", _impact_rows([], [])) is None
    assert [m.get("impacts", m.get("alerts")) is not None for m in sent] == [True, True]
    with pytest.raises(DataError, match="nation: expected one of JPN, got 'XXX'"):
        store.apply_alerts("XXX", alerts)
    # the issue time stays the first active state's, through the cancellation
    assert store.alerts("JPN")[0]["issued_t_s"] == 12.0
    store.set_alert("JPN", Alert("B1:niigata:1", "niigata", "B1", "active", 22.0))
    store.set_alert("JPN", Alert("B1:niigata:1", "niigata", "B1", "active", 23.0))
    # raised again after a cancellation, an alert is issued anew
    assert store.alerts("JPN", state="active")[0]["issued_t_s"] == 22.0


def test_impacts_and_alerts_are_bounded() -> None:
    store = PictureStore(nations=["JPN"], history_s=100.0)
    store.set_areas(AREAS)
    for k in range(50):
        t = 10.0 * k
        store.apply("JPN", flights(t, [38.0], [133.0], ids=[f"B{k}"], kind="ballistic"))
        store.apply_impacts("JPN", _impact_rows([t], [f"B{k}"]))
        store.apply_alerts(
            "JPN",
            _alert_rows(
                (t, f"B{k}:niigata:1", "niigata", f"B{k}", "active", "issued", "", t + 50),
                (
                    t + 5,
                    f"B{k}:niigata:1",
                    "niigata",
                    f"B{k}",
                    "cancelled",
                    "cancelled",
                    "clear",
                    t + 50,
                ),
            ),
        )
    # neither the tracks nor their alerts and predictions older than the history span stay
    assert len(store.alerts("JPN")) <= 11 and len(store.impacts("JPN")) <= 11
    view = store._views["JPN"]
    assert len(view.alert_events) <= 22 and len(view.impact_events) <= 11
