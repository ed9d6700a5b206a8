"""Launch estimates against missiles flown by the simulator's own boost (a pitch programme, not
the estimator's family of shapes): the true launch inside the 95 % ellipse, the launch time
within its spread, and far closer than the unpowered flight flown back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.assess import LaunchEstimate, estimate_launches
from airpicture.assess._impact import propagate_to_ground
from airpicture.geo import ecef2enu, ecef2geodetic, geodetic2ecef
from airpicture.sim import MissilePlan, fly_missiles

LAT, LON = math.radians(39.6), math.radians(127.5)


def _flights() -> tuple[MissilePlan, np.ndarray, np.ndarray]:
    """Twelve boosts: thrust 25-60 m/s^2, burnout pitch 20-50 deg, two burnout speeds; the
    states 60 s and 150 s after burnout."""
    grid = [(a, p, v) for a in (25.0, 40.0, 60.0) for p in (20.0, 50.0) for v in (1600.0, 2600.0)]
    a = np.array([g[0] for g in grid])
    n = len(grid)
    plan = MissilePlan(
        launch_lat_rad=np.full(n, LAT), launch_lon_rad=np.full(n, LON), launch_alt_m=np.zeros(n),
        launch_t_s=np.zeros(n), azimuth_rad=np.full(n, math.radians(100.0)),
        vertical_rise_s=np.full(n, 8.0),
        burn_time_s=np.array([g[2] for g in grid]) / (a - 6.0) + 8.0,
        burnout_pitch_rad=np.radians([g[1] for g in grid]), thrust_accel_mps2=a,
        beta_kgpm2=np.full(n, 5000.0),
    )  # fmt: skip
    flights = fly_missiles(plan)
    t = np.concatenate([flights.burnout_t_s + 60.0, flights.burnout_t_s + 150.0])
    states = np.concatenate(
        [
            flights.trajectories.states_at(flights.burnout_t_s + 60.0),
            flights.trajectories.states_at(flights.burnout_t_s + 150.0),
        ]
    )
    return plan, states, t


def _miss(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px, py, pz = geodetic2ecef(LAT, LON, 0.0)
    return ecef2enu(px, py, pz, lat, lon, 0.0)[:2]


def test_the_true_launch_lies_in_the_ellipse_and_closer_than_the_unpowered_flight() -> None:
    _, states, t = _flights()
    n = len(t)
    x = np.hstack([states, np.full((n, 1), 1.0 / 5000.0)])
    P = np.tile(np.diag([50.0**2] * 3 + [2.0**2] * 3 + [1e-10])[None], (n, 1, 1))
    est = estimate_launches(x, P, t)
    assert est.valid.all()
    e, nn = _miss(est.lat_rad, est.lon_rad)
    a, b, o = est.ellipse(0.95)
    along = -e * np.sin(o) - nn * np.cos(o)  # the true point relative to the estimate
    across = -e * np.cos(o) + nn * np.sin(o)
    inside = (along / a) ** 2 + (across / b) ** 2 <= 1.0
    assert inside.mean() >= 0.9, inside
    late = est.t_s - 0.0  # launched at t = 0
    assert np.all(np.abs(late) <= 3.0 * est.sd_t_s), late
    # the launch of the equivalent unpowered flight: where the old estimate put it
    back_dt, ground, _ = propagate_to_ground(states, np.full(n, 5000.0), backward=True)
    lat_u, lon_u, _ = ecef2geodetic(ground[:, 0], ground[:, 1], ground[:, 2])
    unpowered_m = np.hypot(*_miss(lat_u, lon_u))
    unpowered_late = t + back_dt
    assert np.median(np.hypot(e, nn)) < 0.75 * np.median(unpowered_m)
    assert np.median(np.abs(late)) < 0.5 * np.median(unpowered_late)


def test_no_estimate_beyond_the_flights_in_scope_and_the_columns_of_none() -> None:
    """A body at 9 km/s (beyond the 8 km/s of any flight in scope) gets no launch."""
    p = np.array(geodetic2ecef(LAT, LON, 100e3))
    up = p / np.linalg.norm(p)
    x = np.concatenate([p, -9000.0 * up, [1e-4]])[None]
    est = estimate_launches(x, np.eye(7)[None] * 1e-6, np.zeros(1))
    assert not est.valid[0] and np.isnan(est.t_s[0])
    cols = LaunchEstimate.unknown(3).columns(0.95)
    assert set(cols) == {
        "launch_t_s", "launch_lat_rad", "launch_lon_rad", "launch_sd_t_s",
        "launch_semi_major_m", "launch_semi_minor_m", "launch_orientation_rad",
    }  # fmt: skip
    assert all(v.shape == (3,) and np.isnan(v).all() for v in cols.values())
    assert estimate_launches(np.empty((0, 7)), np.empty((0, 7, 7)), np.empty(0)).valid.shape == (0,)


@pytest.mark.parametrize("thrust", [(20.0, 80.0), (30.0, 50.0)])
def test_a_narrower_thrust_prior_gives_a_smaller_ellipse(thrust: tuple[float, float]) -> None:
    _, states, t = _flights()
    x = np.hstack([states[:1], [[1.0 / 5000.0]]])
    P = np.diag([50.0**2] * 3 + [2.0**2] * 3 + [1e-10])[None]
    wide = estimate_launches(x, P, t[:1]).ellipse(0.95)[0][0]
    this = estimate_launches(x, P, t[:1], thrust_accel_mps2=thrust).ellipse(0.95)[0][0]
    assert this <= wide * (1.0 + 1e-9)
