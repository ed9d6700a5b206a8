"""The assessor over a simulated re-entry: kinds, impacts, alerts; determinism and chunking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.assess import AssessConfig, Assessor, WarningAreas
from airpicture.assess._impact import ellipse_scale
from airpicture.errors import ConfigError
from airpicture.geo import ecef2enu, ecef2geodetic
from airpicture.sim import build_objects, load_scenario, object_rng, stream_detections
from airpicture.tables import AlertRows, Detections, ImpactRows, SensorTable, TrackRows
from airpicture.tracker import Tracker, TrackerConfig


@pytest.fixture(scope="module")
def reentry():
    """The library's re-entry scenario, simulated in memory: sensors, detections, the body."""
    sc = load_scenario("reentry")
    objects = build_objects(
        [dict(o) for o in sc.objects],
        source=sc.source,
        t0_s=sc.t0_s,
        duration_s=sc.duration_s,
        rng=object_rng(sc.seed),
    )
    sensors_cfg = tuple(sorted(sc.sensors, key=lambda s: s.sensor_id))
    start = np.array([sc.t0_s])
    sensors = SensorTable(
        tuple(s.table_row(*(c[0] for c in s.path.geodetic_at(start))) for s in sensors_cfg)
    )
    parts, n = [], 0
    for index, rep in stream_detections(sc, sensors_cfg, objects):
        m = len(rep)
        parts.append(
            Detections(
                rep.t_s,
                index.astype(np.int32),
                rep.range_m,
                rep.azimuth_rad,
                rep.elevation_rad,
                rep.range_rate_mps,
                rep.sensor_lat_rad,
                rep.sensor_lon_rad,
                rep.sensor_alt_m,
                np.arange(n, n + m),
            )
        )
        n += m
    end = objects.states_at(objects.t_end_s)[0]
    lat, lon, _ = ecef2geodetic(end[0], end[1], end[2])
    return sensors, Detections.concat(parts), float(objects.t_end_s[0]), float(lat), float(lon)


def areas_around(lat_rad: float, lon_rad: float) -> WarningAreas:
    """A 20 km box on the true impact point, and one 100 km east of it."""

    def box(id_: str, dlon_deg: float) -> dict:
        lat, lon = math.degrees(lat_rad), math.degrees(lon_rad) + dlon_deg
        h = 0.1
        ring = [
            [lon - h, lat - h],
            [lon + h, lat - h],
            [lon + h, lat + h],
            [lon - h, lat + h],
            [lon - h, lat - h],
        ]
        return {
            "type": "Feature",
            "properties": {"id": id_},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }

    return WarningAreas.from_geojson(
        {"type": "FeatureCollection", "features": [box("target", 0.0), box("east", 1.2)]}
    )


def assess(sensors, dets, areas, chunks: int = 1):  # type: ignore[no-untyped-def]
    tracker = Tracker(sensors, TrackerConfig())
    assessor = Assessor(AssessConfig(alert_min_hits=5), areas=areas)
    out: list[tuple[TrackRows, ImpactRows, AlertRows]] = []

    def on_frame(rows: TrackRows, t_s: float) -> None:
        a = assessor.update(tracker, rows, t_s)
        out.append((a.rows, a.impacts, a.alerts))

    cuts = np.linspace(0, len(dets), chunks + 1).astype(int)
    tracker.run(
        [dets.take(slice(a, b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)],
        on_frame=on_frame,
    )
    # the input ends before the body is down: let the time pass to the scenario's end
    out.append((TrackRows.empty(), ImpactRows.empty(), assessor.tick(float(dets.t_s.max()) + 10.0)))

    def cat(i: int, cls):  # type: ignore[no-untyped-def]
        parts = [o[i] for o in out if len(o[i])]
        return cls.concat(parts) if parts else cls.empty()

    return cat(0, TrackRows), cat(1, ImpactRows), cat(2, AlertRows)


def test_reentry_is_ballistic_predicted_and_warned(reentry) -> None:  # type: ignore[no-untyped-def]
    sensors, dets, t_impact, lat, lon = reentry
    rows, impacts, alerts = assess(sensors, dets, areas_around(lat, lon))
    firm = rows.take(rows.status == "confirmed")
    assert set(firm.kind) == {"ballistic"} and len(set(firm.track_id)) == 1
    assert len(impacts) >= 15 and set(impacts.track_id) == set(firm.track_id)
    # the last predictions: within a few hundred metres and a second of the truth, held by
    # their 95 % ellipse (which are small then)
    last = impacts.take(slice(len(impacts) - 5, len(impacts)))
    e, n, _ = ecef2enu(*_ecef(lat, lon), last.impact_lat_rad, last.impact_lon_rad, 0.0)
    assert np.hypot(e, n).max() < 500.0
    assert np.abs(last.impact_t_s - t_impact).max() < 1.0
    assert (last.semi_major_m >= last.semi_minor_m).all() and (last.confidence == 0.95).all()
    o = last.orientation_rad
    inside = ((e * np.sin(o) + n * np.cos(o)) / last.semi_major_m) ** 2 + (
        (e * np.cos(o) - n * np.sin(o)) / last.semi_minor_m
    ) ** 2 <= 1.0
    assert inside.mean() >= 0.8
    # one alert, for the area the body comes down in, issued well before impact and cancelled
    # once the object is down
    issued = alerts.take(alerts.event == "issued")
    assert list(issued.area_id) == ["target"]
    assert t_impact - issued.t_s[0] > 10.0
    last_row = alerts.take(alerts.alert_id == issued.alert_id[0])
    assert last_row.state[-1] == "cancelled" and last_row.reason[-1] == "down"
    assert last_row.t_s[-1] >= t_impact


def _ecef(lat: float, lon: float) -> tuple[float, float, float]:
    from airpicture.geo import geodetic2ecef

    return tuple(float(c) for c in geodetic2ecef(lat, lon, 0.0))  # type: ignore[return-value]


def test_same_input_same_assessment_whatever_the_chunks(reentry) -> None:  # type: ignore[no-untyped-def]
    sensors, dets, _, lat, lon = reentry
    areas = areas_around(lat, lon)
    a = assess(sensors, dets, areas)
    b = assess(sensors, dets, areas, chunks=7)
    for x, y in zip(a, b, strict=True):
        assert type(x) is type(y) and len(x) == len(y)
        for name in x.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)


def test_without_areas_there_are_no_alerts(reentry) -> None:  # type: ignore[no-untyped-def]
    sensors, dets, *_ = reentry
    _, impacts, alerts = assess(sensors, dets, None)
    assert len(impacts) > 0 and len(alerts) == 0


def test_config_checks_and_mapping() -> None:
    with pytest.raises(ConfigError, match="key cancel_confidence: expected at least confidence"):
        AssessConfig(confidence=0.99, cancel_confidence=0.95)
    cfg = AssessConfig.from_mapping(
        {"confidence": 0.9, "cancel_confidence": 0.99, "classifier": {"min_confidence": 0.7}}
    )
    assert cfg.confidence == 0.9 and cfg.classifier.min_confidence == 0.7
    with pytest.raises(ConfigError, match="f.toml, key classifier.prior_uav: expected one of"):
        AssessConfig.from_mapping({"classifier": {"prior_uav": 0.1}}, source="f.toml")
    with pytest.raises(
        ConfigError, match="f.toml, key confidence: expected a number in \\(0, 1\\), got 1.5"
    ):
        AssessConfig.from_mapping({"confidence": 1.5}, source="f.toml")
    assert ellipse_scale(cfg.confidence) < ellipse_scale(cfg.cancel_confidence)


def test_finish_closes_what_is_still_in_force(reentry) -> None:  # type: ignore[no-untyped-def]
    sensors, dets, t_impact, lat, lon = reentry
    tracker = Tracker(sensors, TrackerConfig())
    assessor = Assessor(AssessConfig(alert_min_hits=5), areas=areas_around(lat, lon))
    tracker.run([dets], on_frame=lambda rows, t_s: assessor.update(tracker, rows, t_s))
    assert len(assessor.alert_book) == 1  # the input ends before the body is down
    t_end = float(dets.t_s.max())
    closed = assessor.finish(t_end)
    assert list(closed.reason) == ["end-of-input"] and list(closed.state) == ["cancelled"]
    assert closed.t_s[0] == t_end and len(assessor.alert_book) == 0
    assert len(assessor.finish(t_end)) == 0
    # an object already down is closed as down
    again = Assessor(AssessConfig(alert_min_hits=5), areas=areas_around(lat, lon))
    tracker = Tracker(sensors, TrackerConfig())
    tracker.run([dets], on_frame=lambda rows, t_s: again.update(tracker, rows, t_s))
    assert list(again.finish(t_impact + 60.0).reason) == ["down"]
    assert len(Assessor().finish(t_end)) == 0


def test_the_alerts_table_of_a_batch_run_is_complete(reentry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from airpicture.batch import track_scenario
    from airpicture.io import read_alerts, write_detections, write_sensors

    sensors, dets, _, lat, lon = reentry
    write_sensors(tmp_path / "sensors.csv", sensors)
    write_detections(tmp_path / "detections.csv", dets, sensors)
    result = track_scenario(
        tmp_path,
        tmp_path / "out.csv",
        assess=AssessConfig(alert_min_hits=5),
        areas=areas_around(lat, lon),
    )
    alerts = read_alerts(tmp_path / "alerts.csv")
    assert result.n_alerts == len(alerts) >= 2
    assert list(alerts.event[[0, -1]]) == ["issued", "cancelled"]
    assert alerts.reason[-1] == "end-of-input" and alerts.t_s[-1] >= alerts.t_s.max()
    # every alert ends cancelled
    for alert_id in set(alerts.alert_id):
        assert alerts.state[alerts.alert_id == alert_id][-1] == "cancelled"


def test_a_track_that_was_an_aircraft_raises_no_alert(reentry, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """Alerts wait alert_after_air_s after a track's last air-breathing label. Here every label
    of the re-entry body counts as one (the rule's kinds patched to hold ``ballistic``): its
    impact predictions are written, and the alert the test above sees is withheld and logged."""
    import airpicture.assess._assessor as assessor_module

    sensors, dets, _, lat, lon = reentry
    monkeypatch.setattr(assessor_module, "_AIR_KINDS", ("ballistic",))
    with caplog.at_level("WARNING", logger="airpicture.assess._assessor"):
        _, impacts, alerts = assess(sensors, dets, areas_around(lat, lon))
    assert len(impacts) >= 15 and len(alerts) == 0
    assert "alert withheld" in caplog.text and "air-breathing kind" in caplog.text
