"""Simulated objects: flight limits, interpolation accuracy, missile aiming, validation, seeds."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.errors import ConfigError
from airpicture.geo import ecef2geodetic, enu_rotation
from airpicture.models import Atmosphere, propagate_ballistic
from airpicture.sim import (
    AIRPORTS,
    OBJECT_KINDS,
    STANDARD_GRAVITY_MPS2,
    FlightLimits,
    MissilePlan,
    ObjectSet,
    airliner_routes,
    build_objects,
    fly_missiles,
    gc_distance,
    random_routes,
    simulate_flights,
)

T0 = 1.7e9
SOURCE = "test.toml"

RAID = [
    {"type": "airliners", "count": 40, "id_prefix": "AL"},
    {"type": "cruise", "id": "CM1", "speed_mps": 250.0, "start_s": 20.0,
     "waypoints": [[38.5, 131.0, 50.0], [37.8, 133.5, 40.0], [37.9, 134.0, 150.0],
                   [36.9, 135.9, 60.0]]},
    {"type": "cruise", "id": "CM2", "speed_mps": [240.0, 250.0, 280.0],
     "waypoints": [[39.0, 131.5, 100.0], [38.2, 134.0, 30.0], [37.5, 137.0, 45.0]]},
    {"type": "helicopter", "id": "H1", "speed_mps": 60.0,
     "waypoints": [[35.0, 135.0, 300.0], [35.2, 135.3, 500.0], [35.1, 135.6, 200.0]]},
    {"type": "uav", "id": "U1", "speed_mps": 40.0,
     "waypoints": [[36.0, 132.0, 5000.0], [36.3, 132.5, 5000.0], [36.0, 133.0, 4000.0]]},
    {"type": "aircraft", "id": "F1", "speed_mps": 300.0, "max_bank_deg": 70.0,
     "waypoints": [[37.0, 134.0, 8000.0], [37.5, 134.1, 9000.0], [37.2, 134.6, 7000.0]]},
] + [
    {"type": "ballistic", "id": f"BM{i + 1}", "launch": [40.0 + 0.03 * i, 127.9 - 0.02 * i, 100.0],
     "launch_s": 60.0 + 3.0 * i, "azimuth_deg": az, "range_km": rng_km}
    for i, (az, rng_km) in enumerate(
        [(100.0, 550.0), (110.0, 750.0), (95.0, 900.0), (85.0, 1000.0)]
    )
]  # fmt: skip


@pytest.fixture(scope="module")
def raid() -> ObjectSet:
    return build_objects(
        RAID, source=SOURCE, t0_s=T0, duration_s=600.0, rng=np.random.default_rng(42)
    )


def _heights(x: np.ndarray) -> np.ndarray:
    return ecef2geodetic(x[..., 0], x[..., 1], x[..., 2])[2]


# --- the ObjectSet API --------------------------------------------------------------------


def test_object_set_columns(raid: ObjectSet) -> None:
    k = len(raid)
    assert k == 40 + 5 + 4
    assert set(raid.kind) <= set(OBJECT_KINDS)
    assert len(set(raid.object_id)) == k
    assert raid.object_id[0] == "AL01" and raid.object_id[-1] == "BM4"
    assert np.all(raid.t_end_s > raid.t_start_s)
    for name in ("rcs_m2", "t_start_s", "t_end_s"):
        assert getattr(raid, name).shape == (k,)
    np.testing.assert_array_equal(raid.rcs_m2[raid.kind == "cruise"], 0.1)


def test_states_at_per_object_times_equal_scalar_times(raid: ObjectSet) -> None:
    rng = np.random.default_rng(0)
    t = T0 + rng.uniform(0.0, 700.0, len(raid))
    both = raid.states_at(t)
    for i in range(0, len(raid), 3):
        np.testing.assert_array_equal(both[i], raid.states_at(t[i])[i])


def test_objects_exist_only_between_start_and_end(raid: ObjectSet) -> None:
    assert np.isnan(raid.states_at(raid.t_start_s - 0.01)).all()
    assert np.isnan(raid.states_at(raid.t_end_s + 0.01)).all()
    assert np.isfinite(raid.states_at(raid.t_start_s)).all()
    assert np.isfinite(raid.states_at(raid.t_end_s)).all()
    assert np.isfinite(raid.states_at(0.5 * (raid.t_start_s + raid.t_end_s))).all()
    # flights still going at the end run to the first node at or after it
    flying = raid.kind != "ballistic"
    assert np.all(raid.t_end_s[flying] <= T0 + 600.0 + 2.0)


def test_truth_lists_alive_objects_in_time_order(raid: ObjectSet) -> None:
    times = T0 + np.arange(0.0, 700.0, 10.0)
    truth = raid.truth(times)
    alive = np.stack([np.isfinite(raid.states_at(t)[:, 0]) for t in times])
    assert len(truth) == alive.sum()
    assert np.all(np.diff(truth.t_s) >= 0)
    assert np.isfinite(truth.x).all() and truth.x.shape == (len(truth), 6)
    at = truth.t_s == times[30]
    np.testing.assert_array_equal(truth.object_id[at], raid.object_id[alive[30]])
    np.testing.assert_array_equal(truth.x[at], raid.states_at(times[30])[alive[30]])
    assert len(raid.truth(np.empty(0))) == 0


def test_boosting_only_during_the_burn(raid: ObjectSet) -> None:
    bm = raid.kind == "ballistic"
    assert not raid.boosting(T0).any()
    np.testing.assert_array_equal(raid.boosting(raid.t_start_s), bm)
    np.testing.assert_array_equal(raid.boosting(raid.t_start_s + 10.0), bm)
    assert not raid.boosting(raid.t_start_s + 300.0).any()
    # boosting ends when the thrust does: the acceleration drops from thrust to gravity
    idx = np.nonzero(bm)[0]
    for i in idx:
        t = raid.t_start_s[i] + np.arange(0.0, 200.0, 0.05)
        on = np.array([raid.boosting(tt)[i] for tt in t])
        t_burnout = t[np.argmin(on)]
        assert 30.0 < t_burnout - raid.t_start_s[i] < 150.0
        times = np.full(len(raid), np.nan)

        def accel(at: float, i: int = i, times: np.ndarray = times) -> float:
            times[i] = at + 0.05
            v1 = raid.states_at(times)[i, 3:]
            times[i] = at - 0.05
            v0 = raid.states_at(times)[i, 3:]
            return float(np.linalg.norm(v1 - v0) / 0.1)

        assert accel(t_burnout - 0.5) > 30.0
        assert accel(t_burnout + 0.5) < 12.0


def test_empty_scenario() -> None:
    empty = build_objects([], source=SOURCE, t0_s=T0, duration_s=60.0, rng=np.random.default_rng(0))
    assert len(empty) == 0
    assert empty.states_at(T0).shape == (0, 6)
    assert len(empty.truth(np.array([T0]))) == 0


# --- ballistic missiles ---------------------------------------------------------------------


def test_ballistic_missiles_impact_near_their_aim_points(raid: ObjectSet) -> None:
    # The shooting method stops within 10 m (coarse steps) and the fine flight moves the impact
    # by under 2 m: accept 20 m.
    bm = np.nonzero(raid.kind == "ballistic")[0]
    impact = raid.states_at(raid.t_end_s)[bm]
    lat, lon, alt = ecef2geodetic(*impact[:, :3].T)
    np.testing.assert_allclose(alt, 0.0, atol=0.01)
    for j, spec in enumerate(RAID[-4:]):
        la0, lo0 = np.radians(spec["launch"][:2])
        got_range = gc_distance(la0, lo0, lat[j], lon[j])
        assert got_range == pytest.approx(spec["range_km"] * 1e3, abs=20.0)
    # launched within 10 s of each other from one area, 550-1000 km away, a few minutes up
    assert np.ptp(raid.t_start_s[bm]) <= 10.0
    flight_s = raid.t_end_s[bm] - raid.t_start_s[bm]
    assert np.all((flight_s > 300.0) & (flight_s < 900.0))
    apogee = np.array([
        _heights(raid.states_at(np.full(len(raid), t)))[bm]
        for t in np.linspace(raid.t_start_s[bm].min(), raid.t_end_s[bm].max(), 400)
    ])  # fmt: skip
    assert np.all((np.nanmax(apogee, axis=0) > 100e3) & (np.nanmax(apogee, axis=0) < 500e3))


def test_aim_by_point_and_by_burn_time() -> None:
    specs = [
        {"type": "ballistic", "id": "A", "launch": [40.0, 128.0, 0.0], "aim": [39.0, 134.0]},
        {"type": "ballistic", "id": "B", "launch": [40.0, 128.0, 0.0], "aim": [41.0, 133.0],
         "burn_time_s": 70.0, "burnout_pitch_deg": 35.0, "ballistic_coefficient_kg_m2": 20000.0},
    ]  # fmt: skip
    objects = build_objects(
        specs, source=SOURCE, t0_s=T0, duration_s=60.0, rng=np.random.default_rng(0)
    )
    lat, lon, _ = ecef2geodetic(*objects.states_at(objects.t_end_s)[:, :3].T)
    miss = gc_distance(lat, lon, np.radians([39.0, 41.0]), np.radians([134.0, 133.0]))
    assert np.all(miss < 20.0)
    # B burns for the given 70 s
    assert objects.boosting(objects.t_start_s + 69.9)[1]
    assert not objects.boosting(objects.t_start_s + 70.1)[1]


def _plan(n: int = 2) -> MissilePlan:
    return MissilePlan(
        launch_lat_rad=np.radians([40.0, 39.0][:n]), launch_lon_rad=np.radians([128.0, 127.0][:n]),
        launch_alt_m=np.zeros(n), launch_t_s=np.array([0.0, 5.0][:n]),
        azimuth_rad=np.radians([90.0, 120.0][:n]), vertical_rise_s=np.full(n, 8.0),
        burn_time_s=np.array([90.0, 70.0][:n]), burnout_pitch_rad=np.radians([25.0, 40.0][:n]),
        thrust_accel_mps2=np.array([40.0, 45.0][:n]), beta_kgpm2=np.array([5000.0, 2000.0][:n]),
    )  # fmt: skip


def test_missile_interpolation_matches_direct_propagation() -> None:
    # Free flight: Hermite between 0.5 s nodes against RK4 from the node before with 0.05 s
    # steps. Error budget: tau^4 |p''''| / 384 with p'''' up to ~50 m/s^4 in the densest air.
    plan = _plan()
    flights = fly_missiles(plan)
    tr = flights.trajectories
    worst_pos = worst_vel = 0.0
    for i in range(2):
        nodes = tr.node_t_s[i, : tr.n_nodes[i]]
        coast = np.nonzero(nodes > flights.burnout_t_s[i] + 1e-9)[0][:-1]
        pick = coast[:: max(1, coast.size // 120)]
        t_mid = nodes[pick] + 0.37 * (nodes[pick + 1] - nodes[pick])
        direct = propagate_ballistic(
            tr.states[i, pick], plan.beta_kgpm2[i], t_mid - nodes[pick], max_step_s=0.05
        )
        t_rows = np.full((t_mid.size, 2), np.nan)
        t_rows[:, i] = t_mid
        interp = np.stack([tr.states_at(row)[i] for row in t_rows])
        worst_pos = max(worst_pos, np.abs(interp[:, :3] - direct[:, :3]).max())
        worst_vel = max(worst_vel, np.abs(interp[:, 3:] - direct[:, 3:]).max())
    assert worst_pos < 0.05
    assert worst_vel < 0.05


def test_random_accelerations_spread_velocities_by_q_t() -> None:
    # 400 copies of one drag-free missile, pushed by white-noise accelerations of density q from
    # t_n on: T s later each velocity axis has spread q T (gravity's gradient adds under 1e-3
    # of it over 20 s). The sample variance of 400 draws is within 25 % (3.5 of its standard
    # deviations, sqrt(2 / 400) = 7 %) of it on every axis.
    n, q, T = 400, 200.0, 20.0
    base = _plan(1)
    plan = MissilePlan(**{
        f: np.repeat(getattr(base, f), n) for f in MissilePlan.__dataclass_fields__
    }).replace(beta_kgpm2=np.full(n, 1e12))  # fmt: skip
    t_noise = float(base.launch_t_s[0] + base.burn_time_s[0] + 30.0)
    quiet = fly_missiles(plan)
    noisy = fly_missiles(
        plan,
        random_accel_q=np.full(n, q),
        random_accel_from_s=np.full(n, t_noise),
        rng=np.random.default_rng(7),
    )
    before = np.full(n, t_noise - 5.0)
    np.testing.assert_array_equal(
        noisy.trajectories.states_at(before), quiet.trajectories.states_at(before)
    )
    t = np.full(n, t_noise + T)
    v = noisy.trajectories.states_at(t)[:, 3:] - quiet.trajectories.states_at(t)[:, 3:]
    var = v.var(axis=0)
    assert np.all(np.abs(var / (q * T) - 1.0) < 0.25), var / (q * T)
    # the same generator state gives the same flights; no generator is an error
    again = fly_missiles(
        plan, random_accel_q=np.full(n, q), random_accel_from_s=np.full(n, t_noise),
        rng=np.random.default_rng(7),
    )  # fmt: skip
    np.testing.assert_array_equal(again.trajectories.states, noisy.trajectories.states)
    with pytest.raises(ValueError, match="rng"):
        fly_missiles(plan, random_accel_q=np.full(n, q))


def test_a_thicker_atmosphere_brings_a_missile_down_shorter() -> None:
    # Same launch, a body of low ballistic coefficient: in twice the air it loses more speed
    # low down and lands short of the standard flight.
    plan = _plan(1).replace(beta_kgpm2=np.array([500.0]))
    standard = fly_missiles(plan)
    thick = fly_missiles(plan, atmosphere=Atmosphere(2.45, 7249.0))
    launch = (plan.launch_lat_rad, plan.launch_lon_rad)
    short = gc_distance(*launch, thick.impact_lat_rad, thick.impact_lon_rad)
    full = gc_distance(*launch, standard.impact_lat_rad, standard.impact_lon_rad)
    assert short[0] < full[0] - 500.0
    # at the start the body is slow and the air's difference hardly shows: under 1 cm/s after
    # the first boost step
    np.testing.assert_allclose(
        thick.trajectories.states[0, 1], standard.trajectories.states[0, 1], rtol=0, atol=1e-2
    )


def test_scenario_keys_of_the_perturbed_body() -> None:
    spec = _with("ballistic", random_accel_q_m2_s3=200.0, atmosphere_density_kg_m3=1.754,
                 atmosphere_scale_height_m=6711.4)  # fmt: skip
    clean = _with("ballistic")
    kw = {"source": SOURCE, "t0_s": T0, "duration_s": 600.0}
    a = build_objects([spec], rng=np.random.default_rng(1), **kw)
    b = build_objects([spec], rng=np.random.default_rng(1), **kw)
    c = build_objects([clean], rng=np.random.default_rng(1), **kw)
    t = np.array([T0 + 200.0])
    np.testing.assert_array_equal(a.states_at(t), b.states_at(t))
    assert np.linalg.norm(a.states_at(t)[0, :3] - c.states_at(t)[0, :3]) > 10.0


def test_boost_interpolation_matches_finer_integration() -> None:
    # Boost nodes every <= 0.25 s; Hermite against an RK4 solution with 4 times more steps,
    # at the times in between the coarse nodes.
    plan = _plan()
    coarse = fly_missiles(plan).trajectories
    fine = fly_missiles(plan, boost_step_s=0.25 / 4).trajectories
    for i in range(2):
        t = fine.node_t_s[i, 1 : 4 * 360 : 2]
        t = t[t < plan.launch_t_s[i] + plan.burn_time_s[i]]
        rows = np.full((t.size, 2), np.nan)
        rows[:, i] = t
        got = np.stack([coarse.states_at(r)[i] for r in rows])
        want = np.stack([fine.states_at(r)[i] for r in rows])
        assert np.abs(got[:, :3] - want[:, :3]).max() < 0.05
        assert np.abs(got[:, 3:] - want[:, 3:]).max() < 0.05


def test_missiles_rise_vertically_then_pitch_over() -> None:
    plan = _plan(1)
    tr = fly_missiles(plan).trajectories
    x = tr.states_at(np.array([5.0]))[0]
    up = enu_rotation(plan.launch_lat_rad[0], plan.launch_lon_rad[0])[2]
    assert np.degrees(np.arccos(x[3:] @ up / np.linalg.norm(x[3:]))) < 0.1  # straight up
    x = tr.states_at(np.array([90.0]))[0]
    elevation = np.degrees(np.arcsin(x[3:] @ up / np.linalg.norm(x[3:])))
    assert 25.0 < elevation < 60.0


# --- waypoint flight ------------------------------------------------------------------------


def _lateral_acceleration(states: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal acceleration across the track (m/s^2) and speed, by central differences."""
    x = states[1:-1]
    a = (states[2:, 3:] - states[:-2, 3:]) / (2.0 * dt)
    lat, lon, _ = ecef2geodetic(*x[:, :3].T)
    up = enu_rotation(lat, lon)[:, 2]
    v = x[:, 3:]
    v_h = v - np.einsum("ij,ij->i", v, up)[:, None] * up
    across = np.cross(up, v_h)
    across /= np.linalg.norm(across, axis=1)[:, None]
    return np.einsum("ij,ij->i", a, across), np.linalg.norm(v_h, axis=1)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([15.0, 25.0, 45.0, 60.0]))
def test_turn_rate_never_exceeds_the_bank_limit(seed: int, bank_deg: float) -> None:
    # Lateral acceleration v * omega must stay below g tan(bank). Tolerance 0.02 m/s^2: the
    # earth's curvature and rotation add up to ~0.01 m/s^2 across the track in ECEF, and the
    # differences are taken over 0.5 s.
    rng = np.random.default_rng(seed)
    k = 12
    routes = random_routes(
        rng,
        k,
        box_rad=tuple(np.radians([36.0, 36.6, 134.0, 134.8])),
        alt_range_m=(1000.0, 9000.0),
        speed_range_mps=(60.0, 300.0),
        leg_range_m=(3e3, 20e3),
        route_length_m=300.0 * 400.0,
    )
    limits = FlightLimits(
        np.full(k, np.radians(bank_deg)),
        np.full(k, np.radians(20.0)),
        np.full(k, 2.0),
        np.full(k, 15.0),
        np.full(k, 15.0),
        np.full(k, 1.0),
    )
    tr = simulate_flights(routes, limits, t_start_s=np.zeros(k), t_stop_s=400.0, substeps=4)
    g_lat = STANDARD_GRAVITY_MPS2 * np.tan(np.radians(bank_deg))
    turned = 0.0
    for i in range(k):
        states = tr.states[i, : tr.n_nodes[i]]
        a_lat, speed = _lateral_acceleration(states, tr.step_s)
        assert np.abs(a_lat).max() <= g_lat + 0.02
        turned = max(turned, np.abs(a_lat).max())
    assert turned > 0.9 * g_lat  # the limit is reached, so the check has teeth


def test_flight_interpolation_matches_the_motion_between_nodes() -> None:
    # The nodes of substeps=1 are those of substeps=8; the 7 in between are the exact motion.
    # Cubic Hermite error bounds [Burden & Faires, Numerical Analysis, 9th ed., section 3.4]:
    # tau^4 |p4| / 384 for positions and about sqrt(3) tau^3 |p4| / 216 for velocities, where
    # p4 = v w^3 = (g tan(bank))^3 / v^2 is the fourth derivative in a coordinated turn. The
    # tightest turn here (60 m/s at 60 degrees, 0.28 rad/s) gives 5.7 cm and 8.8 cm/s.
    rng = np.random.default_rng(5)
    k = 30
    routes = random_routes(
        rng,
        k,
        box_rad=tuple(np.radians([35.0, 36.0, 134.0, 135.0])),
        alt_range_m=(30.0, 200.0),
        speed_range_mps=(60.0, 300.0),
        leg_range_m=(5e3, 30e3),
        route_length_m=300.0 * 300.0,
    )
    limits = FlightLimits(
        np.full(k, np.radians(60.0)),
        np.full(k, np.radians(45.0)),
        np.full(k, 2.0),
        np.full(k, 10.0),
        np.full(k, 10.0),
        np.full(k, 2.0),
    )
    one = simulate_flights(routes, limits, t_start_s=np.zeros(k), t_stop_s=300.0)
    eight = simulate_flights(routes, limits, t_start_s=np.zeros(k), t_stop_s=300.0, substeps=8)
    np.testing.assert_array_equal(eight.states[:, ::8], one.states)
    p4 = (STANDARD_GRAVITY_MPS2 * np.tan(np.radians(60.0))) ** 3 / 60.0**2
    tau = 8 * eight.step_s
    for j in range(1, eight.n_nodes.min() - 1):
        x = one.states_at(np.full(k, j * eight.step_s))
        assert np.abs(x[:, :3] - eight.states[:, j, :3]).max() < tau**4 * p4 / 384.0
        assert np.abs(x[:, 3:] - eight.states[:, j, 3:]).max() < np.sqrt(3) * tau**3 * p4 / 216.0


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_cruise_missiles_stay_between_30_and_200_m(seed: int) -> None:
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(6):
        n = int(rng.integers(2, 7))
        lat = 37.0 + np.cumsum(rng.uniform(-0.15, 0.15, n))
        lon = 134.0 + np.cumsum(rng.uniform(0.05, 0.3, n))
        alt = rng.choice([30.0, 200.0, 100.0], n) if i % 2 else rng.uniform(30.0, 200.0, n)
        specs.append(
            {
                "type": "cruise",
                "id": f"CM{i}",
                "speed_mps": float(rng.uniform(150, 350)),
                "waypoints": np.stack([lat, lon, alt], axis=1).tolist(),
            }
        )
    objects = build_objects(specs, source=SOURCE, t0_s=T0, duration_s=300.0, rng=rng)
    heights = np.array([_heights(objects.states_at(t)) for t in T0 + np.arange(0.0, 300.0, 0.5)])
    heights = heights[np.isfinite(heights)]
    # the vertical guidance approaches a waypoint height without overshoot (to a centimetre)
    assert heights.min() >= 30.0 - 0.01 and heights.max() <= 200.0 + 0.01


def test_single_flights_pass_their_waypoints_and_end_at_the_last() -> None:
    # fly-by waypoints: each one is passed within the lead distance of its turn
    specs = RAID[1:6]
    objects = build_objects(
        specs, source=SOURCE, t0_s=T0, duration_s=4000.0, rng=np.random.default_rng(0)
    )
    assert np.all(objects.t_end_s < T0 + 4000.0)  # every route flown to its end
    for i, spec in enumerate(specs):
        t = np.arange(objects.t_start_s[i], objects.t_end_s[i], 1.0)
        x = np.stack([objects.states_at(tt)[i] for tt in t])
        lat, lon, _ = ecef2geodetic(*x[:, :3].T)
        for w in spec["waypoints"]:
            # within the lead distance of the sharpest turn here (F1: 120 degrees at 300 m/s)
            assert gc_distance(lat, lon, np.radians(w[0]), np.radians(w[1])).min() < 6000.0
        last = spec["waypoints"][-1]
        assert gc_distance(lat[-1], lon[-1], np.radians(last[0]), np.radians(last[1])) < 1000.0


def test_airliners_fly_real_city_pairs_at_airline_levels() -> None:
    rng = np.random.default_rng(3)
    codes = ("HND", "ICN", "PEK", "GUM", "VVO")
    routes, airborne = airliner_routes(
        rng,
        200,
        codes=codes,
        alt_range_m=(9000.0, 12000.0),
        speed_range_mps=(220.0, 260.0),
        airborne_fraction=0.6,
    )
    ap = {a.code: a for a in AIRPORTS}
    lat = np.radians([ap[c].lat_deg for c in codes])
    lon = np.radians([ap[c].lon_deg for c in codes])
    rows = np.arange(200)
    ends = [
        (routes.lat_rad[:, 0], routes.lon_rad[:, 0]),
        (
            routes.lat_rad[rows, routes.n_waypoints - 1],
            routes.lon_rad[rows, routes.n_waypoints - 1],
        ),
    ]
    for la, lo in ends:
        d = gc_distance(la[:, None], lo[:, None], lat[None], lon[None]).min(axis=1)
        assert d.max() < 1.0  # every route starts and ends at one of the chosen airports
    assert 0.45 < airborne.mean() < 0.75
    cruise = np.nanmax(routes.alt_m, axis=1)
    assert np.all(cruise <= 12000.0) and np.mean(cruise >= 9000.0) > 0.9
    assert np.all((routes.start_speed_mps >= 130.0) & (routes.start_speed_mps <= 260.0))


def test_airliner_group_in_the_object_set(raid: ObjectSet) -> None:
    al = raid.kind == "aircraft"
    al[-9:] = False
    x = raid.states_at(T0)
    up = x[al & np.isfinite(x[:, 0])]
    h = _heights(up)
    assert np.all((h > 400.0) & (h < 12100.0))
    assert np.all(np.linalg.norm(up[:, 3:], axis=1) < 265.0)


def test_random_aircraft_stay_near_their_box() -> None:
    spec = {
        "type": "random_aircraft",
        "count": 300,
        "box": [36.0, 38.0, 133.0, 136.0],
        "alt_m": [2000.0, 9000.0],
        "speed_mps": [120.0, 250.0],
    }
    objects = build_objects(
        [spec], source=SOURCE, t0_s=T0, duration_s=600.0, rng=np.random.default_rng(9)
    )
    assert len(objects) == 300 and objects.object_id[0] == "RA001"
    np.testing.assert_array_equal(objects.t_start_s, T0)
    assert np.all(objects.t_end_s >= T0 + 600.0)  # nobody runs out of route
    for t in T0 + np.array([0.0, 300.0, 600.0]):
        lat, lon, alt = ecef2geodetic(*objects.states_at(t)[:, :3].T)
        margin = 0.25  # a turn radius and the lead distance beyond the box
        assert np.all((np.degrees(lat) > 36.0 - margin) & (np.degrees(lat) < 38.0 + margin))
        assert np.all((np.degrees(lon) > 133.0 - margin) & (np.degrees(lon) < 136.0 + margin))
        assert np.all((alt > 2000.0 - 1.0) & (alt < 9000.0 + 1.0))


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_gives_identical_arrays() -> None:
    specs = RAID[:1] + [{"type": "random_aircraft", "count": 50, "box": [35, 37, 133, 136]}]
    times = T0 + np.linspace(0.0, 600.0, 13)
    runs = [
        build_objects(specs, source=SOURCE, t0_s=T0, duration_s=600.0,
                      rng=np.random.default_rng(seed)).truth(times)
        for seed in (1, 1, 2)
    ]  # fmt: skip
    np.testing.assert_array_equal(runs[0].x, runs[1].x)
    np.testing.assert_array_equal(runs[0].object_id, runs[1].object_id)
    assert runs[0].x.shape != runs[2].x.shape or not np.array_equal(runs[0].x, runs[2].x)


# --- validation -----------------------------------------------------------------------------

_GOOD = {
    "aircraft": {"type": "aircraft", "id": "A1", "speed_mps": 230.0,
                 "waypoints": [[35.0, 135.0, 9000.0], [36.0, 136.0, 9000.0]]},
    "ballistic": {"type": "ballistic", "id": "B1", "launch": [40.0, 128.0, 0.0],
                  "aim": [39.0, 134.0]},
    "airliners": {"type": "airliners", "count": 3},
    "random": {"type": "random_aircraft", "count": 3, "box": [35.0, 36.0, 135.0, 136.0]},
}  # fmt: skip


def _with(base: str, **changes: object) -> dict[str, object]:
    spec = copy.deepcopy(_GOOD[base])
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "key", "expected", "got"),
    [
        (
            _with("aircraft", spede_mps=1.0),
            "objects[1].spede_mps",
            "one of the keys of",
            "an unknown key",
        ),
        (_with("aircraft", type="plane"), "objects[1].type", "one of aircraft,", "'plane'"),
        (_with("aircraft", type=None), "objects[1].type", "one of aircraft,", "missing"),
        (_with("aircraft", id=None), "objects[1].id", "an id of", "missing"),
        (_with("aircraft", id="bad id"), "objects[1].id", "an id of", "'bad id'"),
        (_with("aircraft", speed_mps=1000.0), "objects[1].speed_mps", "[40, 700]", "1000.0"),
        (_with("aircraft", speed_mps=True), "objects[1].speed_mps", "a number", "(a boolean)"),
        (
            _with("aircraft", speed_mps=[200.0]),
            "objects[1].speed_mps",
            "a list of 2 speeds",
            "[200.0]",
        ),
        (
            _with("aircraft", waypoints=[[35.0, 135.0, 9000.0]]),
            "objects[1].waypoints",
            "at least 2 waypoints",
            "[[35.0, 135.0, 9000.0]]",
        ),
        (
            _with("aircraft", waypoints=[[35.0, 135.0, 9000.0], [95.0, 136.0, 9000.0]]),
            "objects[1].waypoints[1][0]",
            "a latitude in [-90, 90]",
            "95.0",
        ),
        (
            _with("aircraft", waypoints=[[35.0, 135.0, 9000.0], [35.0, 135.0, 9000.0]]),
            "objects[1].waypoints[1]",
            "at least 100 m",
            "0 m away",
        ),
        (
            _with("aircraft", type="cruise", waypoints=[[35.0, 135.0, 50.0], [36.0, 136.0, 300.0]]),
            "objects[1].waypoints[1][2]",
            "a height in [30, 200] m",
            "300.0",
        ),
        (
            _with("aircraft", start_s=900.0),
            "objects[1].start_s",
            "a number in [-inf, 900)",
            "900.0",
        ),
        (_with("aircraft", id="X"), "objects[1].id", "ids not used by another object", "'X'"),
        (
            _with("ballistic", azimuth_deg=90.0, range_km=500.0),
            "objects[1].aim",
            "either aim",
            "[39.0, 134.0]",
        ),
        (_with("ballistic", aim=None), "objects[1].aim", "either aim", "'neither'"),
        (
            _with("ballistic", aim=None, azimuth_deg=90.0, range_km=5000.0),
            "objects[1].range_km",
            "[50, 3000]",
            "5000.0",
        ),
        (_with("ballistic", aim=[40.0, 128.1]), "objects[1].aim", "50 to 3000 km", "9 km away"),
        (
            _with("ballistic", burn_time_s=60.0, thrust_accel_mps2=40.0),
            "objects[1].burn_time_s",
            "at most one of burn_time_s and thrust_accel_mps2",
            "60.0",
        ),
        (_with("ballistic", burn_time_s=12.0), "objects[1].burn_time_s", "at least", "12.0"),
        (
            _with("ballistic", random_accel_q_m2_s3=-1.0),
            "objects[1].random_accel_q_m2_s3",
            "[0, 100000]",
            "-1.0",
        ),
        (
            _with("ballistic", atmosphere_scale_height_m=100.0),
            "objects[1].atmosphere_scale_height_m",
            "[3000, 20000]",
            "100.0",
        ),
        (
            _with("ballistic", launch=[40.0, 128.0]),
            "objects[1].launch",
            "[lat_deg, lon_deg, alt_m]",
            "[40.0, 128.0]",
        ),
        (
            _with("ballistic", burn_time_s=15.0, aim=[30.0, 150.0]),
            "objects[1].aim",
            "within reach",
            "km from it",
        ),
        (_with("airliners", count=0), "objects[1].count", "an integer in [1, 100000]", "0"),
        (_with("airliners", cities=["HND", "XXX"]), "objects[1].cities[1]", "one of HND,", "'XXX'"),
        (
            _with("airliners", cities=["ICN", "GMP"]),
            "objects[1].cities",
            "300 km or more apart",
            "['ICN', 'GMP']",
        ),
        (
            _with("airliners", alt_m=[12000.0, 9000.0]),
            "objects[1].alt_m",
            "min <= max",
            "[12000.0, 9000.0]",
        ),
        (
            _with("random", box=[36.0, 35.0, 135.0, 136.0]),
            "objects[1].box",
            "lat_min < lat_max",
            "[36.0, 35.0, 135.0, 136.0]",
        ),
        (
            _with("random", box=[35.0, 36.0, 135.0]),
            "objects[1].box",
            "a list of 4 numbers",
            "[35.0, 36.0, 135.0]",
        ),
        ("not a table", "objects[1]", "a table", "'not a table'"),
    ],
)
def test_validation_errors_name_file_key_expected_and_got(
    spec: object, key: str, expected: str, got: str
) -> None:
    first = {
        "type": "uav",
        "id": "X",
        "speed_mps": 30.0,
        "waypoints": [[35.0, 135.0, 1000.0], [35.1, 135.0, 1000.0]],
    }
    with pytest.raises(ConfigError) as info:
        build_objects(
            [first, spec],
            source=SOURCE,
            t0_s=T0,
            duration_s=900.0,  # type: ignore[list-item]
            rng=np.random.default_rng(0),
        )
    err = info.value
    assert err.source == SOURCE
    assert err.key == key
    assert expected in err.expected
    assert got in err.got
    assert str(err).startswith(f"{SOURCE}, key {key}: expected ")


def test_start_window_longer_than_the_scenario_is_refused() -> None:
    spec = {"type": "airliners", "count": 3, "start_window_s": 1000.0}
    with pytest.raises(ConfigError, match=r"objects\[0\]\.start_window_s: expected a number in "):
        build_objects(
            [spec], source=SOURCE, t0_s=T0, duration_s=600.0, rng=np.random.default_rng(0)
        )
