"""Ballistic missiles in the tracker: one track from launch to impact, consistent covariances."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import chi2

from airpicture.geo import ecef2aer
from airpicture.sim import MissilePlan, fly_missiles
from airpicture.tables import Detections, Sensor, SensorTable
from airpicture.tracker import Tracker, TrackerConfig

SITE = (np.radians(38.6), np.radians(128.4), 100.0)  # radar 100 km east of the launch point
SOUTH = (np.radians(36.5), np.radians(130.0), 100.0)  # radar 300 km south of the free flight
T0_S = 1_800_000_000.0


def radar(period_s: float = 2.0, site: tuple[float, float, float] = SITE) -> SensorTable:
    lat, lon, alt = site
    return SensorTable(
        (
            Sensor(
                sensor_id="R1",
                nation="JPN",
                kind="radar",
                lat_rad=lat,
                lon_rad=lon,
                alt_m=alt,
                sigma_range_m=30.0,
                sigma_azimuth_rad=np.radians(0.05),
                sigma_elevation_rad=np.radians(0.05),
                sigma_range_rate_mps=np.nan,
                max_range_m=2e6,
                scan_period_s=period_s,
                p_detect=1.0,
                clutter_per_scan=0.0,
            ),
        )
    )


@pytest.fixture(scope="module")
def flight():
    plan = MissilePlan(
        launch_lat_rad=np.radians([38.5]),
        launch_lon_rad=np.radians([127.3]),
        launch_alt_m=np.array([50.0]),
        launch_t_s=np.array([T0_S]),
        azimuth_rad=np.radians([80.0]),
        vertical_rise_s=np.array([8.0]),
        burn_time_s=np.array([85.0]),
        burnout_pitch_rad=np.radians([30.0]),
        thrust_accel_mps2=np.array([40.0]),
        beta_kgpm2=np.array([5000.0]),
    )
    return fly_missiles(plan)


def measure(traj, sensors: SensorTable, times: np.ndarray, seed: int) -> Detections:
    """Radar detections of one object at ``times`` (above the radar's horizon), Gaussian noise."""
    rng = np.random.default_rng(seed)
    states = np.stack([traj.states_at(np.array([t]))[0] for t in times])
    s = sensors[0]
    lat, lon, alt = s.lat_rad, s.lon_rad, s.alt_m
    az, el, rng_m = ecef2aer(states[:, 0], states[:, 1], states[:, 2], lat, lon, alt)
    seen = np.isfinite(states[:, 0]) & (el > np.radians(0.5))
    n = int(seen.sum())
    return Detections(
        t_s=times[seen],
        sensor_index=np.zeros(n, np.int32),
        range_m=rng_m[seen] + rng.normal(0, s.sigma_range_m, n),
        azimuth_rad=np.mod(az[seen] + rng.normal(0, s.sigma_azimuth_rad, n), 2 * np.pi),
        elevation_rad=el[seen] + rng.normal(0, s.sigma_elevation_rad, n),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, lat),
        sensor_lon_rad=np.full(n, lon),
        sensor_alt_m=np.full(n, alt),
        row=np.arange(n, dtype=np.int64),
    )


def test_a_missile_keeps_one_track_through_boost_and_free_flight(flight) -> None:  # type: ignore[no-untyped-def]
    sensors = radar()
    traj = flight.trajectories
    times = T0_S + 2.0 + np.arange(0.0, float(flight.impact_t_s[0] - T0_S) - 2.0, 2.0)
    dets = measure(traj, sensors, times, seed=1)
    assert dets.t_s[0] < flight.burnout_t_s[0] - 60.0, "the radar sees most of the boost"
    tracker = Tracker(sensors, TrackerConfig())
    rows = tracker.run([dets])
    firm = rows.take(np.isin(rows.status, ["confirmed", "coasting"]))
    assert set(firm.track_id) == {firm.track_id[0]}, "one track, no break and no second track"
    assert firm.t_s.min() <= dets.t_s[0] + 10.0  # confirmed within a few scans of the first report
    assert firm.t_s.max() >= dets.t_s[-1] - 0.01  # and held to the last one
    # it followed the missile all the way (errors well inside the radar's cross-range noise)
    truth = np.stack([traj.states_at(np.array([t]))[0] for t in firm.t_s])
    err = np.linalg.norm(firm.x[:, :3] - truth[:, :3], axis=1)
    assert np.median(err) < 300.0 and err.max() < 3_000.0
    # the IMM moved from powered flight to free flight
    boost, ballistic = tracker.model_labels.index("boost"), tracker.model_labels.index("ballistic")
    assert tracker.tracks.mu[0, ballistic] > 0.9 > tracker.tracks.mu[0, boost]


def test_ballistic_filter_nees_is_in_the_95_percent_band(flight) -> None:  # type: ignore[no-untyped-def]
    # Monte Carlo on the free flight (after burnout): the ballistic filter's covariance matches
    # its errors. 30 runs of 45 updates; the band is two-sided 95 % for the mean of 30 chi2(6).
    # The truth flies without process noise, so the filter is given almost none either (in
    # both free-flight models): with the tracker's defaults it is conservative, NEES < 6.
    sensors = radar(period_s=4.0, site=SOUTH)
    traj = flight.trajectories
    times = flight.burnout_t_s[0] + 20.0 + np.arange(0.0, 180.0, 4.0)
    runs = 30
    nees = np.zeros((runs, len(times)))
    count = np.zeros(len(times))
    for seed in range(runs):
        dets = measure(traj, sensors, times, seed=100 + seed)
        tracker = Tracker(
            sensors,
            TrackerConfig(
                motion_models="ballistic",
                ballistic_process_noise_q=1e-6,
                agile_process_noise_q=1e-6,
            ),
        )
        k = iter(range(len(times)))

        def on_frame(rows, t_s, tracker=tracker, k=k, seed=seed):  # type: ignore[no-untyped-def]
            i = next(k)
            T = tracker.tracks
            e = T.x[0, :6] - traj.states_at(np.array([T.t_s[0]]))[0]
            nees[seed, i] = e @ np.linalg.solve(T.P[0, :6, :6], e)
            count[i] += 1

        tracker.run([dets], on_frame=on_frame)
        # the first track holds the body to the end (a 0.999 gate may still let one report go)
        assert tracker.tracks.number[0] == 1
    lo, hi = chi2.ppf([0.025, 0.975], 6 * runs) / runs
    mean = nees[:, 1:].mean(axis=0)  # from the second report on (the first is the prior)
    inside = np.mean((mean >= lo) & (mean <= hi))
    assert inside >= 0.85, f"mean NEES {np.round(mean, 2)} vs band [{lo:.2f}, {hi:.2f}]"


def test_a_missile_in_free_flight_keeps_its_track_through_a_fade(flight) -> None:  # type: ignore[no-untyped-def]
    # Nine missed revisits in free flight (an 18 s fade at long range). A missile the radar has
    # seen on one revisit in two before the fade keeps its track through it: nine misses at a
    # detection probability near 0.5 are not unlikely. One it has seen on every revisit loses its
    # track: nine misses in a row cannot happen to an object seen that reliably.
    sensors = radar()
    traj = flight.trajectories
    times = T0_S + 2.0 + np.arange(0.0, float(flight.impact_t_s[0] - T0_S) - 2.0, 2.0)
    fade = (times > flight.burnout_t_s[0] + 60.0) & (times <= flight.burnout_t_s[0] + 78.0)
    every = measure(traj, sensors, times[~fade], seed=2)
    seen_half = ~fade & ((times > flight.burnout_t_s[0] + 60.0) | (np.arange(len(times)) % 2 == 0))
    half = measure(traj, sensors, times[seen_half], seed=2)
    # A hovering object 150 km away keeps the radar reporting (and the frames going) in the fade.
    n = len(times)
    s = sensors[0]
    hover = Detections(
        t_s=times + 0.5,
        sensor_index=np.zeros(n, np.int32),
        range_m=np.full(n, 150e3),
        azimuth_rad=np.full(n, np.radians(200.0)),
        elevation_rad=np.full(n, np.radians(1.0)),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.full(n, s.lat_rad),
        sensor_lon_rad=np.full(n, s.lon_rad),
        sensor_alt_m=np.full(n, s.alt_m),
        row=np.zeros(n, np.int64),
    )
    tracks = {}
    for name, missile in (("every", every), ("half", half)):
        dets = Detections.concat([missile, hover])
        dets = dets.take(np.argsort(dets.t_s, kind="stable"))
        dets = replace(dets, row=np.arange(len(dets), dtype=np.int64))
        rows = Tracker(sensors).run([dets])
        firm = rows.take(np.isin(rows.status, ["confirmed", "coasting"]))
        on_missile = firm.take(np.linalg.norm(firm.x[:, 3:], axis=1) > 100.0)
        tracks[name] = set(on_missile.track_id[on_missile.t_s > missile.t_s[0] + 10.0])
    assert len(tracks["half"]) == 1
    assert len(tracks["every"]) == 2
