r"""Ballistic missiles: boost along a pitch programme, free flight to impact, aimed by shooting.

Batched over n missiles; the free flight (and the gravity, drag and rotating-frame terms of the
boost) is :mod:`airpicture.models._ballistic`, the one definition of ballistic physics.

**Boost.** From rest on the ground (in the rotating frame), the missile accelerates at a constant
thrust acceleration :math:`a_T` (thrust over current mass, m/s^2) for the burn time
:math:`t_b`. Thrust points along the pitch programme, in the launch site's local frame (east,
north, up at the launch point, fixed to the earth): straight up for the vertical rise
:math:`t_v`, then a linear pitch-over in the vertical plane of the launch azimuth :math:`\alpha`
down to the burnout pitch :math:`\theta_b`,

.. math::

    \theta(t) = \begin{cases} 90^\circ & t \le t_v \\
        90^\circ - (90^\circ - \theta_b)\,\dfrac{t - t_v}{t_b - t_v} & t_v < t \le t_b
    \end{cases},\qquad
    \mathbf u = R_0^T\,[\cos\theta\sin\alpha,\ \cos\theta\cos\alpha,\ \sin\theta]

so :math:`\ddot{\mathbf r} = \mathbf a_{ballistic}(\mathbf x, \beta) + a_T \mathbf u(t)`,
integrated with RK4 in equal steps that end exactly at burnout.

**Free flight** from burnout with :func:`~airpicture.models.propagate_ballistic` in
fixed steps until the geodetic height falls below zero; the impact time inside the last step is
found by regula falsi (Illinois variant) on the height of states propagated from the last node,
to a millimetre.

**Aiming** (:func:`aim_missiles`) is a shooting method: each iteration flies every missile, then
turns its launch azimuth by the bearing error of the impact point (seen from the launch point)
and corrects the free parameter (burn time, or thrust acceleration when the burn time is given)
by a secant step on the range error, until every impact lies within ``tolerance_m`` of its aim
point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airpicture.geo._frames import ecef2geodetic, enu_rotation, geodetic2ecef
from airpicture.geo._wgs84 import STANDARD_GRAVITY_MPS2, WGS84_GM_M3PS2
from airpicture.models._atmosphere import STANDARD_ATMOSPHERE, Atmosphere
from airpicture.models._ballistic import (
    ballistic_acceleration,
    ground_crossing,
    propagate_ballistic,
)
from airpicture.sim._routes import EARTH_MEAN_RADIUS_M, gc_bearing, gc_distance
from airpicture.sim._trajectory import Trajectories

__all__ = ["MissileFlights", "MissilePlan", "aim_missiles", "fly_missiles"]

_G0 = STANDARD_GRAVITY_MPS2
_MAX_AIM_ITERATIONS = 25


@dataclass(frozen=True)
class MissilePlan:
    """Launch and boost parameters of n missiles; every attribute has shape (n,).

    Attributes
    ----------
    launch_lat_rad, launch_lon_rad, launch_alt_m : ndarray
        Launch point, geodetic (rad, m above the ellipsoid).
    launch_t_s : ndarray
        Launch time, s.
    azimuth_rad : ndarray
        Launch azimuth of the pitch plane, clockwise from north, rad.
    vertical_rise_s, burn_time_s : ndarray
        Vertical rise and total burn time, s (``burn_time_s > vertical_rise_s``).
    burnout_pitch_rad : ndarray
        Thrust elevation at burnout above the launch site's horizontal plane, rad.
    thrust_accel_mps2 : ndarray
        Thrust acceleration, m/s^2.
    beta_kgpm2 : ndarray
        Ballistic coefficient, kg/m^2 (during boost and free flight).
    """

    launch_lat_rad: np.ndarray
    launch_lon_rad: np.ndarray
    launch_alt_m: np.ndarray
    launch_t_s: np.ndarray
    azimuth_rad: np.ndarray
    vertical_rise_s: np.ndarray
    burn_time_s: np.ndarray
    burnout_pitch_rad: np.ndarray
    thrust_accel_mps2: np.ndarray
    beta_kgpm2: np.ndarray

    def replace(self, **changes: np.ndarray) -> MissilePlan:
        """A copy with some attributes replaced."""
        values = {f: getattr(self, f) for f in MissilePlan.__dataclass_fields__}
        values.update(changes)
        return MissilePlan(**values)


@dataclass(frozen=True)
class MissileFlights:
    """Flights of n missiles from launch to impact.

    Attributes
    ----------
    trajectories : Trajectories
        Nodes from launch (at rest) through burnout to impact, non-uniform in time.
    burnout_t_s : ndarray, shape (n,)
        End of boost, s.
    impact_t_s : ndarray, shape (n,)
        Impact time (geodetic height 0), s; NaN if the missile did not come down within the
        flight-time limit.
    impact_lat_rad, impact_lon_rad : ndarray, shape (n,)
        Impact point, rad (NaN likewise).
    """

    trajectories: Trajectories
    burnout_t_s: np.ndarray
    impact_t_s: np.ndarray
    impact_lat_rad: np.ndarray
    impact_lon_rad: np.ndarray


def _thrust_directions(plan: MissilePlan, R0: np.ndarray, t_since_launch: np.ndarray) -> np.ndarray:
    """Unit thrust vectors (n, 3) in ECEF at times since launch ``t_since_launch`` (n,)."""
    frac = np.clip(
        (t_since_launch - plan.vertical_rise_s) / (plan.burn_time_s - plan.vertical_rise_s),
        0.0,
        1.0,
    )
    theta = 0.5 * np.pi - (0.5 * np.pi - plan.burnout_pitch_rad) * frac
    ct = np.cos(theta)
    enu = np.stack(
        [ct * np.sin(plan.azimuth_rad), ct * np.cos(plan.azimuth_rad), np.sin(theta)], axis=-1
    )
    return np.einsum("nji,nj->ni", R0, enu)


def _boost(plan: MissilePlan, steps: int, atmosphere: Atmosphere) -> tuple[np.ndarray, np.ndarray]:
    """Boost of every missile in ``steps`` RK4 steps: node times since launch and states."""
    n = plan.launch_lat_rad.shape[0]
    R0 = enu_rotation(plan.launch_lat_rad, plan.launch_lon_rad)
    x = np.zeros((n, 6))
    x[:, :3] = np.stack(
        geodetic2ecef(plan.launch_lat_rad, plan.launch_lon_rad, plan.launch_alt_m), axis=-1
    )
    h = plan.burn_time_s / steps
    hc = h[:, None]

    def f(t: np.ndarray, s: np.ndarray) -> np.ndarray:
        thrust = plan.thrust_accel_mps2[:, None] * _thrust_directions(plan, R0, t)
        acc = ballistic_acceleration(s, plan.beta_kgpm2, atmosphere=atmosphere) + thrust
        return np.concatenate([s[:, 3:], acc], axis=1)

    times = [np.zeros(n)]
    nodes = [x]
    for i in range(steps):
        t = i * h
        k1 = f(t, x)
        k2 = f(t + 0.5 * h, x + 0.5 * hc * k1)
        k3 = f(t + 0.5 * h, x + 0.5 * hc * k2)
        k4 = f(t + h, x + hc * k3)
        x = x + (hc / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        times.append((i + 1) * h)
        nodes.append(x)
    return np.stack(times, axis=1), np.stack(nodes, axis=1)


def _height(x: np.ndarray) -> np.ndarray:
    return ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])[2]


def fly_missiles(
    plan: MissilePlan,
    *,
    boost_step_s: float = 0.25,
    coast_step_s: float = 0.5,
    max_flight_s: float = 7200.0,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
    random_accel_q: np.ndarray | None = None,
    random_accel_from_s: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> MissileFlights:
    r"""Fly n missiles from launch to impact.

    Parameters
    ----------
    plan : MissilePlan
        Launch and boost parameters.
    boost_step_s : float
        Longest RK4 step (and node spacing) of the boost, s.
    coast_step_s : float
        RK4 step and node spacing of the free flight, s.
    max_flight_s : float
        Missiles still up this long after burnout are left without an impact.
    atmosphere : Atmosphere
        The air of the flights (drag in boost and free flight).
    random_accel_q : ndarray, shape (n,), optional
        Spectral density of a white-noise acceleration added to the free flight of each
        missile, m^2/s^3 (the forces no ballistic model has: lift of an asymmetric body,
        tumbling, ablation). Over each step :math:`h` of a row the velocity and position take
        the exact increments of that noise, per axis Gaussian with covariance
        :math:`q\,[[h^3/3, h^2/2], [h^2/2, h]]` (position, velocity) [Bar-Shalom, Li and
        Kirubarajan, *Estimation with Applications to Tracking and Navigation*, Wiley 2001,
        section 6.2.2]. None or zero: deterministic flights.
    random_accel_from_s : ndarray, shape (n,), optional
        Time of each missile (s, same clock as ``launch_t_s``) from which its random
        acceleration acts (from burnout when omitted or earlier).
    rng : numpy.random.Generator, optional
        Source of the random accelerations (required with a positive ``random_accel_q``).

    Returns
    -------
    MissileFlights
        Nodes and impact of every missile.
    """
    n = plan.launch_lat_rad.shape[0]
    steps = max(int(np.ceil(plan.burn_time_s.max() / boost_step_s)), 1)
    boost_t, boost_x = _boost(plan, steps, atmosphere)
    t_nodes = [boost_t[:, i] for i in range(steps + 1)]
    x_nodes = [boost_x[:, i] for i in range(steps + 1)]

    beta = plan.beta_kgpm2
    x = boost_x[:, -1].copy()
    alt = _height(x)
    t = boost_t[:, -1].copy()
    impact_t = np.full(n, np.nan)
    active = np.ones(n, dtype=bool)
    q = np.zeros(n) if random_accel_q is None else np.asarray(random_accel_q, dtype=float)
    if np.any(q > 0.0) and rng is None:
        raise ValueError("fly_missiles: random accelerations need a random generator (rng)")
    noise_from = (
        np.full(n, -np.inf)
        if random_accel_from_s is None
        else np.asarray(random_accel_from_s, dtype=float) - plan.launch_t_s
    )
    for _ in range(int(np.ceil(max_flight_s / coast_step_s))):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        x_new = propagate_ballistic(
            x[idx], beta[idx], coast_step_s, max_step_s=coast_step_s, atmosphere=atmosphere
        )
        noisy = idx[(q[idx] > 0.0) & (t[idx] >= noise_from[idx])]
        if noisy.size:
            assert rng is not None
            x_new[np.isin(idx, noisy)] += _random_accel_increments(q[noisy], coast_step_s, rng)
        alt_new = _height(x_new)
        t_new = t[idx] + coast_step_s
        down = alt_new <= 0.0
        if down.any():
            tau, x_hit = ground_crossing(
                x[idx[down]],
                beta[idx[down]],
                alt[idx[down]],
                alt_new[down],
                coast_step_s,
                max_step_s=coast_step_s,
                tolerance_m=1e-3,
                iterations=30,
                atmosphere=atmosphere,
            )
            x_new[down] = x_hit
            t_new[down] = t[idx[down]] + tau
            impact_t[idx[down]] = t_new[down]
            active[idx[down]] = False
        node_x = np.full((n, 6), np.nan)
        node_t = np.full(n, np.inf)
        node_x[idx], node_t[idx] = x_new, t_new
        x_nodes.append(node_x)
        t_nodes.append(node_t)
        x[idx], alt[idx], t[idx] = x_new, alt_new, t_new

    node_t_s = np.stack(t_nodes, axis=1) + plan.launch_t_s[:, None]
    states = np.stack(x_nodes, axis=1)
    n_nodes = np.sum(np.isfinite(node_t_s), axis=1)
    impact_t_s = impact_t + plan.launch_t_s
    lat, lon, _ = ecef2geodetic(*(states[np.arange(n), n_nodes - 1, :3].T))
    hit = np.isfinite(impact_t_s)
    return MissileFlights(
        trajectories=Trajectories(
            t_first_s=plan.launch_t_s.astype(float), states=states, n_nodes=n_nodes,
            node_t_s=node_t_s,
        ),
        burnout_t_s=plan.launch_t_s + plan.burn_time_s,
        impact_t_s=impact_t_s,
        impact_lat_rad=np.where(hit, lat, np.nan),
        impact_lon_rad=np.where(hit, lon, np.nan),
    )  # fmt: skip


def _random_accel_increments(q: np.ndarray, h: float, rng: np.random.Generator) -> np.ndarray:
    """Position and velocity increments (m, 6) of white-noise accelerations of densities ``q``
    (m,) over a step ``h``: per axis, ``dv = sqrt(q h) z1`` and ``dp = sqrt(q h^3) (z1 / 2 +
    z2 / (2 sqrt 3))``, whose covariance is ``q [[h^3/3, h^2/2], [h^2/2, h]]``."""
    z = rng.standard_normal((2, len(q), 3))
    root = np.sqrt(q)[:, None]
    dv = root * math.sqrt(h) * z[0]
    dp = root * math.sqrt(h**3) * (0.5 * z[0] + z[1] / (2.0 * math.sqrt(3.0)))
    return np.concatenate([dp, dv], axis=1)


def _min_energy_speed(range_m: np.ndarray) -> np.ndarray:
    """Burnout speed (m/s) of the minimum-energy ballistic flight over a range on a sphere.

    v^2 = (mu / R) * 2 sin(psi/2) / (1 + sin(psi/2)), psi = range / R [R. R. Bate, D. D. Mueller,
    J. E. White, *Fundamentals of Astrodynamics*, Dover 1971, chapter 6 (maximum range
    trajectory)], for burnout at the surface.
    """
    s = np.sin(0.5 * range_m / EARTH_MEAN_RADIUS_M)
    return np.sqrt(WGS84_GM_M3PS2 / EARTH_MEAN_RADIUS_M * 2.0 * s / (1.0 + s))


def aim_missiles(
    plan: MissilePlan,
    aim_lat_rad: np.ndarray,
    aim_lon_rad: np.ndarray,
    *,
    solve_burn_time: np.ndarray,
    tolerance_m: float = 10.0,
    boost_step_s: float = 0.25,
    coast_step_s: float = 0.5,
    atmosphere: Atmosphere = STANDARD_ATMOSPHERE,
) -> tuple[MissilePlan, MissileFlights, np.ndarray]:
    """Find launch azimuths and burn times (or thrust accelerations) that hit the aim points.

    Parameters
    ----------
    plan : MissilePlan
        Launch parameters; ``azimuth_rad`` and the solved parameter are starting values only.
    aim_lat_rad, aim_lon_rad : ndarray, shape (n,)
        Aim points, rad.
    solve_burn_time : ndarray, shape (n,), bool
        Per missile: solve the burn time (thrust acceleration fixed) or, where False, the thrust
        acceleration (burn time fixed).
    tolerance_m : float
        Stop when every impact is this close to its aim point, m.
    boost_step_s, coast_step_s : float
        Integration steps of the returned flights, as in :func:`fly_missiles`. The shooting
        iterations use steps four times longer, which moves the impact by well under 2 m;
        the returned ``miss_m`` is that of the returned flights.
    atmosphere : Atmosphere
        The air of the flights.

    Returns
    -------
    plan : MissilePlan
        The aimed plan.
    flights : MissileFlights
        Its flights.
    miss_m : ndarray, shape (n,)
        Distance of each impact from its aim point, m (inf without an impact); larger than
        ``tolerance_m`` where the aim point is out of reach of the fixed parameters.
    """
    lat0, lon0 = plan.launch_lat_rad, plan.launch_lon_rad
    aim_range = gc_distance(lat0, lon0, aim_lat_rad, aim_lon_rad)
    aim_bearing = gc_bearing(lat0, lon0, aim_lat_rad, aim_lon_rad)
    solve_tb = np.asarray(solve_burn_time, dtype=bool)
    t_v = plan.vertical_rise_s
    lo = np.where(solve_tb, t_v + 5.0, 1.2 * _G0)
    hi = np.where(solve_tb, 900.0, 400.0)

    # First guess: the minimum-energy burnout speed plus gravity losses over the burn.
    v_need = 1.1 * _min_energy_speed(aim_range)
    a_t = plan.thrust_accel_mps2
    t_b = plan.burn_time_s
    p = np.where(
        solve_tb,
        v_need / np.maximum(a_t - 0.6 * _G0, 1.0),
        v_need / np.maximum(t_b, 1.0) + 0.6 * _G0,
    )
    p = np.clip(p, lo, hi)
    azimuth = aim_bearing.copy()

    def with_param(values: np.ndarray, az: np.ndarray) -> MissilePlan:
        return plan.replace(
            azimuth_rad=az,
            burn_time_s=np.where(solve_tb, values, t_b),
            thrust_accel_mps2=np.where(solve_tb, a_t, values),
        )

    def shoot(values: np.ndarray, az: np.ndarray) -> tuple[MissileFlights, np.ndarray, np.ndarray]:
        flights = fly_missiles(
            with_param(values, az),
            boost_step_s=4 * boost_step_s,
            coast_step_s=4 * coast_step_s,
            atmosphere=atmosphere,
        )
        la, lo_ = flights.impact_lat_rad, flights.impact_lon_rad
        hit = np.isfinite(la)
        rng_err = np.where(hit, gc_distance(lat0, lon0, la, lo_) - aim_range, np.inf)
        brg_err = np.where(
            hit,
            np.mod(gc_bearing(lat0, lon0, la, lo_) - aim_bearing + np.pi, 2 * np.pi) - np.pi,
            0.0,
        )
        return flights, rng_err, brg_err

    flights, err, brg = shoot(p, azimuth)
    p_prev, err_prev = p, err
    p = np.clip(np.where(np.isfinite(err) & (err > 0), 0.95, 1.05) * p, lo, hi)
    for _ in range(_MAX_AIM_ITERATIONS):
        azimuth = azimuth - brg
        flights, err, brg = shoot(p, azimuth)
        shot = with_param(p, azimuth)
        miss = _miss(flights, aim_lat_rad, aim_lon_rad)
        # at a bound and still short (or long): out of reach, since range grows with the parameter
        out_of_reach = ((p >= hi) & (err < 0)) | ((p <= lo) & (err > 0))
        settled = (miss <= tolerance_m) | out_of_reach
        if np.all(settled):
            break
        d_err, d_p = err - err_prev, p - p_prev
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(d_err) & (d_p != 0.0) & (d_err * d_p > 0.0)
        slope = np.divide(d_err, d_p, out=np.ones_like(d_p), where=usable)
        fallback = np.where(np.isfinite(err), np.where(err > 0, 0.9, 1.1), 0.8) * p
        p_new = np.clip(np.where(usable, p - np.where(usable, err, 0.0) / slope, fallback), lo, hi)
        # settled missiles keep their parameters
        p_new = np.where(settled, p, p_new)
        keep = p_new != p
        p_prev = np.where(keep, p, p_prev)
        err_prev = np.where(keep, err, err_prev)
        p = p_new
    flights = fly_missiles(
        shot, boost_step_s=boost_step_s, coast_step_s=coast_step_s, atmosphere=atmosphere
    )
    return shot, flights, _miss(flights, aim_lat_rad, aim_lon_rad)


def _miss(flights: MissileFlights, aim_lat_rad: np.ndarray, aim_lon_rad: np.ndarray) -> np.ndarray:
    d = gc_distance(flights.impact_lat_rad, flights.impact_lon_rad, aim_lat_rad, aim_lon_rad)
    return np.where(np.isfinite(d), d, np.inf)
