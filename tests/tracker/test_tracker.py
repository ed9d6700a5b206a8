"""Tracker behaviour on generated single- and two-radar scenarios."""

import math
from dataclasses import fields, replace

import numpy as np
import pytest

from airpicture.errors import ConfigError
from airpicture.geo import ecef2aer, geodetic2ecef
from airpicture.sim import single_radar_scenario
from airpicture.tables import Detections, Sensor, SensorTable, TrackRows
from airpicture.tracker import Tracker, TrackerConfig
from airpicture.tracker._table import TrackTable


@pytest.fixture(scope="module")
def scenario():
    return single_radar_scenario(20, seed=7, n_scans=60)


def confirmed(rows):
    return rows.take(np.isin(rows.status, ["confirmed", "coasting"]))


def match_tracks(rows, truth, max_m=3000.0):
    """track_id -> object_id of the nearest truth at the track's row times (majority)."""
    votes = {}
    truth_times = np.unique(truth.t_s)
    for t in np.unique(rows.t_s):
        r = rows.take(rows.t_s == t)
        t0 = truth_times[np.searchsorted(truth_times, t, side="right") - 1]
        g = truth.take(truth.t_s == t0)
        p = g.x[:, :3] + g.x[:, 3:] * (t - t0)  # truth is straight-line flight
        d = np.linalg.norm(r.x[:, None, :3] - p[None], axis=2)
        for tid, j, dm in zip(r.track_id, d.argmin(1), d.min(1), strict=True):
            votes.setdefault(str(tid), []).append(str(g.object_id[j]) if dm < max_m else None)
    return {k: max(set(v), key=v.count) for k, v in votes.items()}


def assert_same_rows(a, b):
    assert len(a) == len(b)
    for name in ("t_s", "track_id", "status", "nations", "kind"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.cov_pos, b.cov_pos)


def test_every_target_one_track_no_false_tracks(scenario):
    tracker = Tracker(scenario.sensors)
    rows = tracker.run([scenario.detections])
    conf = confirmed(rows)
    owners = match_tracks(conf, scenario.truth)
    assert None not in owners.values(), "a confirmed track follows no target"
    objects = list(owners.values())
    assert len(set(objects)) == 20, "every target is tracked"
    assert len(objects) == 20, "one track per target, no track breaks"
    assert tracker.stats.processed == len(scenario.detections)
    # Position error after the transient: well inside the cross-range measurement error.
    late = conf.take(conf.t_s > conf.t_s.min() + 20)
    truth = scenario.truth
    errs = []
    for t in np.unique(late.t_s):
        r = late.take(late.t_s == t)
        g = truth.take(truth.t_s == t)
        errs.append(np.linalg.norm(r.x[:, None, :3] - g.x[None, :, :3], axis=2).min(1))
    assert np.sqrt(np.mean(np.concatenate(errs) ** 2)) < 500.0


def test_same_input_same_output_whatever_the_chunks(scenario):
    a = Tracker(scenario.sensors).run([scenario.detections])
    rng = np.random.default_rng(0)
    n = len(scenario.detections)
    cuts = np.sort(rng.choice(np.arange(1, n), 25, replace=False))
    chunks = [
        scenario.detections.take(slice(a_, b_))
        for a_, b_ in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True)
    ]
    b = Tracker(scenario.sensors).run(chunks)
    assert_same_rows(a, b)
    # one table is one chunk
    assert_same_rows(a, Tracker(scenario.sensors).run(scenario.detections))


def test_reordering_within_the_window_is_undone(scenario):
    dets = scenario.detections
    a = Tracker(scenario.sensors).run([dets])
    rng = np.random.default_rng(1)
    arrival = dets.t_s + rng.uniform(0.0, 1.5, len(dets))  # up to 1.5 s of delay
    shuffled = dets.take(np.argsort(arrival, kind="stable"))
    chunks = [shuffled.take(slice(i, i + 50)) for i in range(0, len(shuffled), 50)]
    tracker = Tracker(scenario.sensors, TrackerConfig(latency_window_s=2.0))
    b = tracker.run(chunks)
    assert tracker.stats.late == 0
    assert_same_rows(a, b)


def test_reports_later_than_the_window_are_counted_and_used(scenario):
    dets = scenario.detections
    rng = np.random.default_rng(2)
    delay = np.where(rng.random(len(dets)) < 0.1, 6.0, 0.0)  # a tenth arrive 6 s late
    arrival = dets.t_s + delay
    shuffled = dets.take(np.argsort(arrival, kind="stable"))
    chunks = [shuffled.take(slice(i, i + 40)) for i in range(0, len(shuffled), 40)]
    tracker = Tracker(scenario.sensors, TrackerConfig(latency_window_s=1.0))
    rows = tracker.run(chunks)
    s = tracker.stats
    assert s.late > 0
    assert s.late_used + s.late_unused == s.late, "no late report silently lost"
    assert (
        s.late_used > 0.5 * s.late * 0.9
    )  # most late target reports still help (10 % are clutter)
    assert s.processed == s.received
    owners = match_tracks(confirmed(rows), scenario.truth)
    assert len(set(owners.values()) - {None}) == 20


def test_too_old_reports_are_reported_not_lost(scenario):
    dets = scenario.detections
    first = dets.take(dets.t_s < dets.t_s.min() + 30)
    ancient = dets.take(dets.t_s < dets.t_s.min() + 2)
    tracker = Tracker(scenario.sensors, TrackerConfig(latency_window_s=1.0, oosm_horizon_s=5.0))
    tracker.run([first, ancient])
    assert tracker.stats.late == len(ancient)
    assert tracker.stats.late_unused == len(ancient)
    assert tracker.stats.late_examples and "horizon" in tracker.stats.late_examples[0]


def second_radar_view(scenario, site_deg, nation, sensor_id, seed, bias=(0.0, 0.0, 0.0)):
    """Detections of the scenario's truth by a second radar (no clutter, Pd 1).

    ``bias``: its registration offsets (range m, azimuth and elevation deg).
    """
    rng = np.random.default_rng(seed)
    lat, lon, alt = np.radians(site_deg[0]), np.radians(site_deg[1]), site_deg[2]
    truth = scenario.truth
    t = truth.t_s + 0.5  # its scans fall between the first radar's
    p = truth.x[:, :3] + 0.5 * truth.x[:, 3:]
    az, el, r = ecef2aer(p[:, 0], p[:, 1], p[:, 2], lat, lon, alt)
    sig_r, sig_a = 80.0, np.radians(0.3)
    n = len(t)
    sensor = Sensor(
        sensor_id,
        nation,
        "radar",
        lat,
        lon,
        alt,
        sig_r,
        sig_a,
        sig_a,
        float("nan"),
        4e5,
        1.0,
        1.0,
        0.0,
    )
    dets = Detections(
        t_s=t,
        sensor_index=np.zeros(n, np.int32),
        range_m=r + bias[0] + rng.normal(0, sig_r, n),
        azimuth_rad=np.mod(az + np.radians(bias[1]) + rng.normal(0, sig_a, n), 2 * np.pi),
        elevation_rad=el + np.radians(bias[2]) + rng.normal(0, sig_a, n),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, lat),
        sensor_lon_rad=np.full(n, lon),
        sensor_alt_m=np.full(n, alt),
        row=np.arange(n),
    )
    return sensor, dets


def two_radars(scenario, bias=(0.0, 0.0, 0.0)):
    """The scenario's radar R1 and a second radar U1 with registration offsets ``bias``."""
    s2, d2 = second_radar_view(scenario, (37.0, 136.5, 50.0), "USA", "U1", 3, bias)
    sensors = SensorTable((scenario.sensors[0], s2))
    d1 = scenario.detections
    i1, i2 = sensors.index_of("R1"), sensors.index_of("U1")
    d1 = Detections(**{**d1.__dict__, "sensor_index": np.full(len(d1), i1, np.int32)})
    d2 = Detections(
        **{**d2.__dict__, "sensor_index": np.full(len(d2), i2, np.int32), "row": d2.row + len(d1)}
    )
    both = Detections.concat([d1, d2])
    return sensors, both.take(np.argsort(both.t_s, kind="stable"))


def test_two_nations_fuse_into_one_track_per_target(scenario):
    sensors, both = two_radars(scenario)
    rows = Tracker(sensors).run([both])
    conf = confirmed(rows)
    owners = match_tracks(conf, scenario.truth)
    assert sorted(owners.values()) == sorted(set(scenario.truth.object_id))
    final = conf.take(conf.t_s > conf.t_s.max() - 3)
    assert set(final.nations) == {"JPN;USA"}


def test_config_errors_name_key_expected_and_got():
    with pytest.raises(
        ConfigError, match=r"key frame_s: expected a number in \[0.01, 60\], got -1"
    ):
        TrackerConfig.from_mapping({"frame_s": -1})
    with pytest.raises(ConfigError, match="key framerate: expected one of"):
        TrackerConfig.from_mapping({"framerate": 1})
    expected = r"key lost_object_probability: expected a number in \[1e-12, 0.5\], got 0.7"
    with pytest.raises(ConfigError, match=expected):
        TrackerConfig.from_mapping({"lost_object_probability": 0.7})


def test_empty_input_gives_empty_picture(scenario):
    rows = Tracker(scenario.sensors).run([])
    assert len(rows) == 0


def _target_on_scans(keep):
    """One target seen by one radar (Pd 1, no clutter) only on the scans listed in ``keep``, and
    a second one on every scan (track T000002), so that every scan is a frame.

    The first target's reports come first within each scan: its first track is T000001.
    """
    target = single_radar_scenario(1, seed=3, n_scans=12, clutter_per_scan=0.0, p_detect=1.0)
    other = single_radar_scenario(1, seed=4, n_scans=12, clutter_per_scan=0.0, p_detect=1.0)
    scans = np.unique(target.detections.t_s)
    seen = target.detections.take(np.isin(target.detections.t_s, scans[list(keep)]))
    dets = Detections.concat([seen, other.detections])
    dets = type(dets)(**{**dets.__dict__, "row": np.arange(len(dets))})
    return target.sensors, dets, scans


def _declared(sensors, **values):
    """The sensors table with some declared values changed (the reports stay as they are)."""
    return SensorTable(tuple(replace(s, **values) for s in sensors))


def test_a_track_needs_more_reports_where_the_sensor_declares_more_false_alarms():
    """The same reports of one target: a radar with no false alarms to speak of confirms its
    track at the second report (two reports in a sharp gate cannot be chance); one declaring a
    thousand false alarms a scan, at the third."""
    sensors, dets, scans = _target_on_scans(range(8))
    for clutter, confirmed_at in ((0.0, scans[1]), (1000.0, scans[2])):
        rows = Tracker(_declared(sensors, clutter_per_scan=clutter)).run([dets])
        mine = rows.take(rows.track_id == "T000001")
        assert mine.t_s[mine.status == "confirmed"].min() == confirmed_at


def test_a_tentative_track_is_dropped_at_a_miss_its_detection_probability_makes_unlikely():
    """Reports on scans 0, 2, 3, ...: a radar declaring Pd 1 drops the first track at the missed
    scan 1 (a miss cannot happen to an object it always sees) and scan 2 starts another,
    confirmed at scan 3; a radar declaring Pd 0.5 keeps the first through the miss and confirms
    it at scan 2."""
    sensors, dets, scans = _target_on_scans([0, 2, 3, 4, 5, 6, 7])
    tracker = Tracker(sensors)
    rows = tracker.run([dets])
    first = rows.take(rows.track_id == "T000001")
    assert list(first.status) == ["tentative", "deleted"]
    assert first.t_s[-1] == scans[1] + 1.0  # at the end of the frame of the miss
    again = rows.take(rows.track_id == "T000003")
    assert again.t_s[again.status == "confirmed"].min() == scans[3]
    assert tracker.stats.implausible == 0
    rows = Tracker(_declared(sensors, p_detect=0.5)).run([dets])
    first = rows.take(rows.track_id == "T000001")
    assert "deleted" not in set(first.status[first.t_s < scans[-1]])
    assert first.t_s[first.status == "confirmed"].min() == scans[2]


def _straight_line_detections(sensors, speed_mps, n_scans=12):
    """Detections (no noise) of a body at 100 km height, 400 km north of the radar, flying east."""
    s = sensors[0]
    lat, lon = s.lat_rad + 400e3 / 6.371e6, s.lon_rad
    p0 = np.array(geodetic2ecef(lat, lon, 100e3))
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    t = np.arange(n_scans, dtype=float)
    p = p0 + speed_mps * t[:, None] * east
    return _noise_free_detections(sensors, p, t)


@pytest.mark.parametrize(("speed_mps", "dropped"), [(7000.0, False), (9000.0, True)])
def test_a_firm_track_faster_than_orbital_speed_is_dropped_and_counted(speed_mps, dropped):
    """Tentative tracks may be as fast as ``ballistic_max_speed_mps`` (here raised to 20 km/s);
    a confirmed track beyond orbital speed, which no object in scope reaches, is dropped."""
    sensors = SensorTable(
        (Sensor("R1", "JPN", "radar", np.radians(38.0), np.radians(135.0), 20.0, 30.0,
                np.radians(0.05), np.radians(0.05), float("nan"), 2e6, 1.0, 1.0, 0.0),)
    )  # fmt: skip
    dets = _straight_line_detections(sensors, speed_mps)
    tracker = Tracker(sensors, TrackerConfig(ballistic_max_speed_mps=20_000.0))
    rows = tracker.run([dets])
    first = rows.take(rows.track_id == "T000001")
    assert "confirmed" in set(first.status)
    assert ("deleted" in set(first.status[first.t_s < dets.t_s[-1]])) is dropped
    assert (tracker.stats.implausible > 0) is dropped


def test_bearings_update_firm_tracks_only():
    """An infrared report between a radar's scans does not count towards confirming a track: the
    track is confirmed on its second radar report, and bearings update it from then on."""
    site = (np.radians(38.0), np.radians(135.0), 20.0)
    sensors = SensorTable(
        (
            Sensor("R1", "JPN", "radar", *site, 30.0, np.radians(0.05), np.radians(0.05),
                   float("nan"), 2e6, 1.0, 1.0, 0.0),
            Sensor("S1", "USA", "ir", *site, float("nan"), np.radians(0.01), np.radians(0.01),
                   float("nan"), 2e6, 1.0, 1.0, 0.0),
        )
    )  # fmt: skip
    radar = _straight_line_detections(sensors, 2000.0)
    # at half the speed, the k-th report is where the body is at k/2 s
    half = _straight_line_detections(sensors, 1000.0, n_scans=24)
    between = half.take(np.arange(1, 24, 2))  # half a second after each radar report
    ir = Detections(
        t_s=np.arange(12) + 0.5, sensor_index=np.ones(12, np.int32),
        range_m=np.full(12, np.nan), azimuth_rad=between.azimuth_rad,
        elevation_rad=between.elevation_rad, range_rate_mps=np.full(12, np.nan),
        sensor_lat_rad=between.sensor_lat_rad, sensor_lon_rad=between.sensor_lon_rad,
        sensor_alt_m=between.sensor_alt_m, row=np.arange(12, 24),
    )  # fmt: skip
    tracker = Tracker(sensors)
    rows = tracker.run([Detections.concat([radar, ir])])
    track = rows.take(rows.track_id == "T000001")
    assert track.t_s[track.status == "confirmed"].min() == 1.0  # its second radar report
    # the reports at 0.5 and 1.5 s came while it was tentative; the other ten update it
    assert tracker.stats.unassociated_angle_only == 2
    assert tracker.tracks.hits[tracker.track_index(np.array([1]))[0]] == 12 + 10


def _radar(sigma_angle_deg):
    sigma = np.radians(sigma_angle_deg)
    return SensorTable(
        (Sensor("R1", "JPN", "radar", np.radians(38.0), np.radians(135.0), 20.0, 30.0,
                sigma, sigma, float("nan"), 2e6, 1.0, 1.0, 0.0),)
    )  # fmt: skip


def _noise_free_detections(sensors, positions, t_s):
    """Noise-free reports of ECEF ``positions`` (n, 3) at times ``t_s`` (n,), in time order."""
    s = sensors[0]
    order = np.argsort(t_s, kind="stable")
    p, t = positions[order], t_s[order]
    az, el, r = ecef2aer(p[:, 0], p[:, 1], p[:, 2], s.lat_rad, s.lon_rad, s.alt_m)
    n = len(t)
    return Detections(
        t_s=t, sensor_index=np.zeros(n, np.int32), range_m=r, azimuth_rad=az, elevation_rad=el,
        range_rate_mps=np.full(n, np.nan), sensor_lat_rad=np.full(n, s.lat_rad),
        sensor_lon_rad=np.full(n, s.lon_rad), sensor_alt_m=np.full(n, s.alt_m),
        row=np.arange(n),
    )  # fmt: skip


def _airliner(sensors, n_scans, ahead_m=0.0):
    """Positions of an airliner at 10 km height, 100 km north of the radar, flying east at
    250 m/s (``ahead_m`` east of the start), one per 1-s scan, and their times."""
    s = sensors[0]
    lat, lon = s.lat_rad + 100e3 / 6.371e6, s.lon_rad
    p0 = np.array(geodetic2ecef(lat, lon, 10e3))
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    t = np.arange(n_scans, dtype=float)
    return p0 + (ahead_m + 250.0 * t[:, None]) * east, t


@pytest.mark.parametrize("exclusion", [False, True])
def test_a_report_just_outside_a_firm_tracks_gate_starts_no_second_track(exclusion):
    """One report of a confirmed track's aircraft falls 170 m off in range (a biased sensor):
    outside the association gate, it starts a duplicate track unless the initiation exclusion
    gate (on by default) holds it; the aircraft then keeps one track."""
    sensors = _radar(0.05)
    p, t = _airliner(sensors, 12)
    site = np.array(geodetic2ecef(sensors[0].lat_rad, sensors[0].lon_rad, sensors[0].alt_m))
    los = (p[8] - site) / np.linalg.norm(p[8] - site)
    p[8] += 170.0 * los
    gate = TrackerConfig().gate_probability
    config = TrackerConfig() if exclusion else TrackerConfig(initiation_exclusion_probability=gate)
    tracker = Tracker(sensors, config)
    rows = tracker.run([_noise_free_detections(sensors, p, t)])
    assert (set(rows.track_id) == {"T000001"}) is exclusion
    assert tracker.stats.initiation_excluded == int(exclusion)
    assert "deleted" not in set(rows.status[rows.track_id == "T000001"][:-1])


def test_two_aircraft_2_km_apart_keep_their_own_tracks():
    """A second aircraft joins a tracked one 2 km ahead of it, across the radar's line of sight
    and inside the tracked one's gates (a coarse radar: 1.7 km cross-range noise at 100 km):
    the first track takes its own aircraft's report each scan, so the other report starts a
    track of its own, and each aircraft keeps its track."""
    sensors = _radar(1.0)
    pa, ta = _airliner(sensors, 20)
    pb, tb = _airliner(sensors, 20, ahead_m=2000.0)
    joined = tb >= 6
    p = np.concatenate([pa, pb[joined]])
    t = np.concatenate([ta, tb[joined]])
    tracker = Tracker(sensors)
    rows = tracker.run([_noise_free_detections(sensors, p, t)])
    last = rows.take((rows.t_s == t.max()) & (rows.status == "confirmed"))
    assert sorted(last.track_id) == ["T000001", "T000002"]
    d_a = np.linalg.norm(last.x[:, :3] - pa[-1], axis=1)
    d_b = np.linalg.norm(last.x[:, :3] - pb[-1], axis=1)
    assert d_a[last.track_id == "T000001"] < d_b[last.track_id == "T000001"]
    assert d_b[last.track_id == "T000002"] < d_a[last.track_id == "T000002"]
    assert tracker.stats.initiation_excluded == 0
    assert tracker.stats.branched == 0  # below the aircraft ceiling, one hypothesis a track


def test_the_initiation_exclusion_gate_is_no_narrower_than_the_association_gate():
    expected = r"key initiation_exclusion_probability: expected at least gate_probability"
    with pytest.raises(ConfigError, match=expected):
        TrackerConfig(gate_probability=0.999, initiation_exclusion_probability=0.99)


def _rmse_at_truth_times(rows, truth):
    conf = confirmed(rows)
    conf = conf.take((conf.t_s > conf.t_s.max() - 50) & np.isin(conf.t_s, truth.t_s))
    errs = []
    for t in np.unique(conf.t_s):
        r, g = conf.take(conf.t_s == t), truth.take(truth.t_s == t)
        errs.append(np.linalg.norm(r.x[:, None, :3] - g.x[None, :, :3], axis=2).min(1))
    return float(np.sqrt(np.mean(np.concatenate(errs) ** 2)))


def test_registration_finds_a_radars_offsets_and_aligns_the_picture():
    scenario = single_radar_scenario(20, seed=7, n_scans=100)
    bias = (150.0, 0.4, 0.3)  # about 2 sigma in range, 1.3 and 1 sigma in the angles
    sensors, both = two_radars(scenario, bias)
    tracker = Tracker(sensors)
    registered = tracker.run([both])
    e = tracker.registration
    u1, r1 = sensors.index_of("U1"), sensors.index_of("R1")
    to_m_deg = np.array([1.0, 180.0 / np.pi, 180.0 / np.pi])
    found, other = e.bias[u1] * to_m_deg, e.bias[r1] * to_m_deg
    assert np.all(np.abs(found - bias) <= [40.0, 0.05, 0.05]), found
    assert np.all(np.abs(other) <= [25.0, 0.05, 0.05]), other
    assert e.pairs[u1] > 1000
    unregistered = Tracker(sensors, TrackerConfig(registration_memory_s=0.0)).run([both])
    truth = scenario.truth
    assert _rmse_at_truth_times(registered, truth) < 0.4 * _rmse_at_truth_times(unregistered, truth)


def _radar_5s():
    """One radar at 38 N 135 E, 0.05 deg angles, 30 m range, 5-s revisit, no clutter."""
    sigma = np.radians(0.05)
    return SensorTable(
        (Sensor("R1", "JPN", "radar", np.radians(38.0), np.radians(135.0), 20.0, 30.0,
                sigma, sigma, float("nan"), 2e6, 5.0, 1.0, 0.0),)
    )  # fmt: skip


def test_a_salvo_above_the_ceiling_keeps_one_track_per_missile_from_its_first_report():
    """Two missiles 6 km apart at 80 km height, 2 km/s each, one radar with a 5-s revisit: each
    first report's nearest next report is the *other* missile's (8 and 4 km against 10 and
    10 km), so one nearest-neighbour choice would swap them. Every pairing is kept until the
    third report settles it: each missile is held, from its first report, by one track under
    the number it was first shown with, and the mixed pairings are dropped."""
    sensors = _radar_5s()
    lat, lon = np.radians(40.7), np.radians(135.0)  # 300 km north
    a0 = np.array(geodetic2ecef(lat, lon, 80e3))
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    t = np.arange(0.0, 45.0, 5.0)
    pa = a0 + 2000.0 * t[:, None] * east
    pb = a0 + 6000.0 * east + 2000.0 * t[:, None] * (-0.6 * east + 0.8 * north)
    tracker = Tracker(sensors)
    rows = tracker.run(
        [_noise_free_detections(sensors, np.concatenate([pa, pb]), np.concatenate([t, t]))]
    )
    firm = rows.take(rows.status == "confirmed")
    assert sorted(set(firm.track_id)) == ["T000001", "T000002"]
    for tid, truth in (("T000001", pa), ("T000002", pb)):
        track = firm.take(firm.track_id == tid)
        assert track.t_s.min() == 10.0  # confirmed at its third report
        err = np.linalg.norm(track.x[:, :3] - truth[np.searchsorted(t, track.t_s)], axis=1)
        assert err.max() < 1000.0  # the missiles are at least 4 km apart
    assert tracker.stats.branched == 4 and tracker.stats.pruned > 0


def test_a_report_only_boost_explains_adds_less_to_the_score():
    """A body above the ceiling at 2 km/s seen every 5 s, coasting or accelerating at 60 m/s^2
    (a rocket under thrust): from the third report on, each report of the accelerating one adds
    less to its track's score (boost's process noise spreads its prediction, so three false
    alarms it explains are weaker evidence than three a quiet model fits)."""
    sensors = _radar_5s()
    lat, lon = np.radians(40.0), np.radians(135.0)
    p0 = np.array(geodetic2ecef(lat, lon, 60e3))
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    t = np.arange(0.0, 40.0, 5.0)
    gains = {}
    for accel_mps2 in (0.0, 60.0):
        p = p0 + (2000.0 * t + 0.5 * accel_mps2 * t**2)[:, None] * east
        tracker = Tracker(sensors)
        scores = []
        tracker.run(
            [_noise_free_detections(sensors, p, t)],
            on_frame=lambda rows, t_s, tr=tracker, out=scores: out.append(tr.tracks.score[0]),
        )
        gains[accel_mps2] = np.diff(scores)[1:]  # the third report's and later ones'
    assert np.all(gains[0.0] - gains[60.0] > 3.0)


def test_a_firm_track_whose_prediction_is_under_the_ground_is_dropped_as_down():
    """A body diving at 300 m/s down and 300 m/s east from 10 km is last seen at 2.5 km: its
    track is dropped, counted as down, once its prediction is under the ground beyond 3 sigma and
    the 1-km margin (about 14 s later), not once its misses make it unlikely. A sea-skimmer at
    30 m that is missed for four revisits keeps its track through the gap."""
    sensors = _radar_5s()
    lat, lon = np.radians(39.0), np.radians(135.0)
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    ground = np.array(geodetic2ecef(lat, lon, 0.0))
    up = np.array(geodetic2ecef(lat, lon, 1.0)) - ground
    t = np.arange(0.0, 30.0, 5.0)
    dive = ground + (10e3 - 300.0 * t)[:, None] * up + (300.0 * t)[:, None] * east
    t_sea = np.r_[np.arange(0.0, 25.0, 5.0), np.arange(45.0, 60.0, 5.0)]
    sea = np.array(geodetic2ecef(np.radians(38.5), lon, 30.0)) + (250.0 * t_sea)[:, None] * east
    p_air, t_air = _airliner(sensors, 90)
    tracker = Tracker(sensors)
    rows = tracker.run(
        [_noise_free_detections(sensors, np.r_[dive, sea, p_air], np.r_[t, t_sea, t_air])]
    )
    gone = rows.take(rows.status == "deleted")
    assert list(gone.track_id) == ["T000001"]
    assert 25.0 + 10.0 <= gone.t_s[0] <= 25.0 + 20.0  # the dive, down
    sea = rows.take(rows.track_id == "T000002")  # the sea-skimmer, through its gap
    assert sea.t_s[sea.status == "confirmed"].max() == 55.0
    assert tracker.stats.down == 1
    sea_rows = rows.take(rows.track_id == "T000002")
    assert sea_rows.t_s[sea_rows.status == "confirmed"].max() == 55.0


def test_the_innovations_match_their_covariances_on_the_reentry_benchmark():
    """NIS per measured component is 1 in expectation for a filter whose model matches the
    data. The re-entry benchmark (one unbiased radar, a body in free flight) is such data: over
    four seeds, 84 updates of 3 components, the mean of chi-square(252)/252 has a standard
    deviation of sqrt(2/252) = 0.089; the band is 3 of them either side."""
    from airpicture.sim import load_scenario, simulate_detections

    nis, dof = 0.0, 0
    for seed in (1, 2, 3, 4):
        sensors, dets = simulate_detections(load_scenario("reentry").with_overrides(seed=seed))
        tracker = Tracker(sensors)
        tracker.run(dets)
        assert tracker.stats.nis_updates > 15
        nis, dof = nis + tracker.stats.nis_sum, dof + tracker.stats.nis_dof
    assert dof == 252
    assert abs(nis / dof - 1.0) < 3 * math.sqrt(2 / dof)


def _table_rows(start: int, m: int) -> TrackTable:
    """m rows numbered from ``start``, each with its number as its first state element."""
    rows = TrackTable.empty(2, 3).take(np.zeros(0, dtype=np.int64))
    for f in fields(rows):
        column = getattr(rows, f.name)
        setattr(rows, f.name, np.zeros((m,) + column.shape[1:], column.dtype))
    rows.number = np.arange(start, start + m, dtype=np.int64)
    rows.x[:, 0] = rows.number
    return rows


def test_track_table_grows_in_place_and_keeps_rows_in_order() -> None:
    table = TrackTable.empty(2, 3)
    for start in range(0, 200, 10):
        table.extend(_table_rows(start, 10))
    assert np.array_equal(table.number, np.arange(200))
    table.keep(table.number % 3 != 0)
    assert np.array_equal(table.number, np.arange(200)[np.arange(200) % 3 != 0])
    table.extend(_table_rows(500, 5))
    assert np.array_equal(table.number[-6:], [199, 500, 501, 502, 503, 504])
    assert table.x.shape == (len(table), 7)
    assert np.array_equal(table.x[:, 0], table.number)
    table.keep(np.argsort(-table.number))
    assert table.number[0] == 504 and np.all(np.diff(table.number) < 0)
    assert np.array_equal(table.x[:, 0], table.number)


def test_a_body_pushed_about_in_free_flight_is_followed_by_the_agile_model():
    """``reentry-perturbed`` is ``reentry`` with random accelerations of 200 m^2/s^3 and another
    atmosphere: over the same four noise seeds, the body's track ends with the agile free-flight
    model far likelier than on the clean body, where the quiet model takes over."""
    from airpicture.sim import load_scenario, simulate_detections

    def agile(name: str, seed: int) -> float:
        sensors, dets = simulate_detections(load_scenario(name).with_overrides(seed=seed))
        tracker = Tracker(sensors)
        j = tracker.model_labels.index("ballistic-agile")
        last: list[float] = []

        def on_frame(rows: TrackRows, t_s: float) -> None:
            table = tracker.tracks
            if len(table):
                last.append(float(table.mu[int(np.argmax(table.hits)), j]))

        tracker.run(dets, on_frame=on_frame)
        return last[-1]

    for seed in (1, 2, 3, 4):
        clean, pushed = agile("reentry", seed), agile("reentry-perturbed", seed)
        assert clean < 0.2 < 0.5 < pushed, (seed, clean, pushed)
