r"""Waypoint flight of aircraft, helicopters, UAVs and cruise missiles, batched over objects.

Every object flies its own route (:class:`~airpicture.sim.Routes`) under its own
performance limits (:class:`FlightLimits`); all objects advance together, one vectorised step
of ``step_s`` seconds at a time, each from its own start time.

Guidance, at the start of each step (controls then hold for the step):

* **lateral**: the commanded turn rate is :math:`k_\psi e_\psi` (heading error to the great
  circle towards the active waypoint, :math:`k_\psi = 0.15` /s), capped by
  :math:`\sqrt{2 \dot\omega_{max} |e_\psi|}` so that the roll-out ends on course; the bank
  angle follows it, :math:`\phi = \arctan(\omega v / g)`, limited to the object's bank limit
  and moving at most at its roll rate. The turn rate flown is the coordinated-turn rate
  :math:`\omega = g \tan\phi / v` [B. L. Stevens, F. L. Lewis, *Aircraft Control and
  Simulation*, 2nd ed., Wiley 2003, chapter 3 (the steady level coordinated turn)], taken at
  the larger of the step's start and end speeds, so the lateral acceleration never exceeds
  :math:`g \tan\phi_{max}`. Waypoints are flown by: the next one becomes active a turn's lead
  distance :math:`r \tan(\chi/2)` before (turn radius :math:`r = v^2 / (g\tan\phi_{max})`,
  course change :math:`\chi`) plus half the roll-in distance, or when it is passed.
* **speed**: horizontal speed moves towards the active waypoint's speed at
  :math:`0.2\,\mathrm{s^{-1}}` times the difference, within the acceleration limit.
* **vertical**: the commanded vertical speed is the height still to go over the time still to
  go to the active waypoint (at least 10 s), capped by :math:`\sqrt{a_z |e_h|}` and by the climb
  and descent limits; vertical acceleration is limited.

Kinematics within a step are exact for the held controls: speed and vertical speed change
linearly, the course turns at :math:`\omega` plus the great-circle course change
:math:`v \sin\psi \tan\varphi / (N + h)` (so that a zero turn rate flies a great circle), the
horizontal displacement is integrated by three-point Gauss-Legendre quadrature and applied to
latitude and longitude through the meridian and prime-vertical radii of curvature. Node
velocities are exact derivatives of that motion, so positions and velocities are consistent for
Hermite interpolation (:mod:`airpicture.sim._trajectory`). ``speed`` is the horizontal speed
over the ground (no wind).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from airpicture.geo._frames import geodetic2ecef
from airpicture.geo._wgs84 import STANDARD_GRAVITY_MPS2, WGS84_A_M, WGS84_E2
from airpicture.sim._routes import EARTH_MEAN_RADIUS_M, Routes, gc_bearing
from airpicture.sim._trajectory import Trajectories

__all__ = ["STANDARD_GRAVITY_MPS2", "FlightLimits", "simulate_flights"]


_K_HEADING = 0.15  # 1/s
_K_SPEED = 0.2  # 1/s
_TAU_VERTICAL = 10.0  # s
_GL_NODES = 0.5 * (1.0 + np.array([-np.sqrt(0.6), 0.0, np.sqrt(0.6)]))
_GL_WEIGHTS = np.array([5.0, 8.0, 5.0]) / 18.0
_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class FlightLimits:
    """Performance limits of k objects; every attribute has shape (k,).

    Attributes
    ----------
    max_bank_rad : ndarray
        Bank limit of coordinated turns, rad (turn rate at most ``g tan(bank) / v``).
    roll_rate_radps : ndarray
        Fastest change of bank, rad/s.
    accel_mps2 : ndarray
        Largest change of horizontal speed, m/s^2.
    climb_mps, descent_mps : ndarray
        Largest climb and descent rates, m/s (both positive).
    vertical_accel_mps2 : ndarray
        Largest change of vertical speed, m/s^2.
    """

    max_bank_rad: np.ndarray
    roll_rate_radps: np.ndarray
    accel_mps2: np.ndarray
    climb_mps: np.ndarray
    descent_mps: np.ndarray
    vertical_accel_mps2: np.ndarray

    @staticmethod
    def concat(parts: list[FlightLimits]) -> FlightLimits:
        """Limits of several groups, one after the other."""
        names = FlightLimits.__dataclass_fields__
        return FlightLimits(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in names})


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angle folded into [-pi, pi)."""
    return np.mod(angle + np.pi, _TWO_PI) - np.pi


def _ecef_states(
    lat: np.ndarray,
    lon: np.ndarray,
    alt: np.ndarray,
    heading: np.ndarray,
    speed: np.ndarray,
    climb: np.ndarray,
) -> np.ndarray:
    """ECEF states (n, 6) from geodetic position, course, horizontal and vertical speed."""
    x, y, z = geodetic2ecef(lat, lon, alt)
    ve, vn = speed * np.sin(heading), speed * np.cos(heading)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    t = -sl * vn + cl * climb
    return np.stack([x, y, z, co * t - so * ve, so * t + co * ve, cl * vn + sl * climb], axis=-1)


@dataclass
class _State:
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    climb: np.ndarray


def _advance(
    st: _State, dt: float, turn: np.ndarray, accel: np.ndarray, vaccel: np.ndarray
) -> _State:
    """Exact motion over ``dt`` with held turn rate, acceleration and vertical acceleration."""
    s_lat = np.sin(st.lat)
    n_rad = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s_lat * s_lat)
    # great-circle course change, so that zero turn rate flies a geodesic
    rate = turn + st.speed * np.sin(st.heading) * np.tan(st.lat) / (n_rad + st.alt)
    de = np.zeros_like(st.lat)
    dn = np.zeros_like(st.lat)
    for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
        tq = node * dt
        v = st.speed + accel * tq
        psi = st.heading + rate * tq
        de += weight * v * np.sin(psi)
        dn += weight * v * np.cos(psi)
    de *= dt
    dn *= dt
    alt_new = st.alt + st.climb * dt + 0.5 * vaccel * dt * dt
    alt_mid = 0.5 * (st.alt + alt_new)
    lat_mid = st.lat
    for _ in range(2):
        sm = np.sin(lat_mid)
        w2 = 1.0 - WGS84_E2 * sm * sm
        n_mid = WGS84_A_M / np.sqrt(w2)
        m_mid = n_mid * (1.0 - WGS84_E2) / w2
        lat_mid = st.lat + 0.5 * dn / (m_mid + alt_mid)
    lat_new = st.lat + dn / (m_mid + alt_mid)
    lon_new = st.lon + de / ((n_mid + alt_mid) * np.cos(lat_mid))
    return _State(
        lat_new,
        np.mod(lon_new + np.pi, _TWO_PI) - np.pi,
        alt_new,
        np.mod(st.heading + rate * dt, _TWO_PI),
        st.speed + accel * dt,
        st.climb + vaccel * dt,
    )


def simulate_flights(
    routes: Routes,
    limits: FlightLimits,
    *,
    t_start_s: np.ndarray,
    t_stop_s: float,
    step_s: float = 2.0,
    substeps: int = 1,
) -> Trajectories:
    """Fly k objects along their routes from their start times until ``t_stop_s``.

    Parameters
    ----------
    routes : Routes
        Waypoints and start states of the k objects.
    limits : FlightLimits
        Their performance limits.
    t_start_s : ndarray, shape (k,)
        Start time of each object, s.
    t_stop_s : float
        Time after which no object needs to fly, s: each row runs until its first node at or
        after it, or until it passes its last waypoint (its last node is then the node before).
    step_s : float
        Guidance step, s: controls are set at this interval and held in between.
    substeps : int
        Nodes per guidance step (1 for simulation; more adds the exact motion between the
        nodes of ``substeps=1``, which are unchanged, for checking interpolation).

    Returns
    -------
    Trajectories
        Uniform nodes every ``step_s / substeps`` seconds from each object's start.
    """
    k = len(routes)
    t_start = np.asarray(t_start_s, dtype=float)
    n_steps = max(int(np.ceil((t_stop_s - t_start.min()) / step_s)), 1)
    states = np.full((k, n_steps * substeps + 1, 6), np.nan)
    rows = np.arange(k)
    last_wp = routes.n_waypoints - 1
    g = STANDARD_GRAVITY_MPS2
    tan_bank_max = np.tan(limits.max_bank_rad)
    wp_sin, wp_cos = np.sin(routes.lat_rad), np.cos(routes.lat_rad)
    chi_wp = _course_changes(routes)

    st = _State(
        routes.start_lat_rad.astype(float).copy(),
        routes.start_lon_rad.astype(float).copy(),
        routes.start_alt_m.astype(float).copy(),
        routes.start_heading_rad.astype(float).copy(),
        routes.start_speed_mps.astype(float).copy(),
        routes.start_climb_mps.astype(float).copy(),
    )
    bank = np.zeros(k)
    target = routes.start_target.astype(np.int64).copy()
    flying = np.ones(k, dtype=bool)
    n_nodes = np.ones(k, dtype=np.int64)
    states[:, 0] = _ecef_states(st.lat, st.lon, st.alt, st.heading, st.speed, st.climb)
    dt_sub = step_s / substeps

    def to_target(sel: np.ndarray | slice, tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = rows[sel]
        return _range_bearing(
            np.sin(st.lat[sel]), np.cos(st.lat[sel]), st.lon[sel],
            wp_sin[r, tgt], wp_cos[r, tgt], routes.lon_rad[r, tgt],
        )  # fmt: skip

    for j in range(n_steps):
        if j > 0:  # every row flies at least one step
            flying &= t_start + j * step_s < t_stop_s
        if not flying.any():
            break
        # --- waypoint sequencing -------------------------------------------------------
        tgt = np.minimum(target, last_wp)
        dist, course = to_target(slice(None), tgt)
        has_next = tgt < last_wp
        radius = st.speed**2 / (g * tan_bank_max)
        roll_in = st.speed * limits.max_bank_rad / limits.roll_rate_radps
        chi = np.minimum(chi_wp[rows, tgt], np.radians(120.0))
        lead = np.where(has_next, radius * np.tan(0.5 * chi) + 0.5 * roll_in, 0.0)
        behind = (np.abs(_wrap(course - st.heading)) > 0.5 * np.pi) & (dist < 2.0 * radius)
        reached = flying & ((dist <= lead) | (dist < 0.75 * st.speed * step_s) | behind)
        done = reached & ~has_next & (j > 0)  # every row flies at least one step
        flying &= ~done
        switch = np.nonzero(reached & flying)[0]
        if switch.size:
            target[switch] += 1
            tgt = np.minimum(target, last_wp)
            dist[switch], course[switch] = to_target(switch, tgt[switch])

        # --- controls ------------------------------------------------------------------
        v_target = routes.speed_mps[rows, tgt]
        accel = np.clip(_K_SPEED * (v_target - st.speed), -limits.accel_mps2, limits.accel_mps2)
        v_turn = np.maximum(st.speed, st.speed + accel * step_s)

        err = _wrap(course - st.heading)
        abs_err = np.abs(err)
        turn_accel = g * limits.roll_rate_radps / v_turn
        turn_cmd = np.copysign(
            np.minimum(_K_HEADING * abs_err, np.sqrt(2.0 * turn_accel * abs_err)), err
        )
        bank_cmd = np.clip(
            np.arctan(turn_cmd * v_turn / g), -limits.max_bank_rad, limits.max_bank_rad
        )
        max_roll = limits.roll_rate_radps * step_s
        bank = bank + np.clip(bank_cmd - bank, -max_roll, max_roll)
        turn = g * np.tan(bank) / v_turn

        alt_err = routes.alt_m[rows, tgt] - st.alt
        abs_alt_err = np.abs(alt_err)
        t_go = np.maximum(dist / np.maximum(st.speed, 1.0), _TAU_VERTICAL)
        climb_cmd = np.copysign(
            np.minimum(abs_alt_err / t_go, np.sqrt(limits.vertical_accel_mps2 * abs_alt_err)),
            alt_err,
        )
        climb_cmd = np.clip(climb_cmd, -limits.descent_mps, limits.climb_mps)
        vaccel = np.clip(
            (climb_cmd - st.climb) / step_s, -limits.vertical_accel_mps2, limits.vertical_accel_mps2
        )

        # --- motion --------------------------------------------------------------------
        # Substeps restart from the step's first node, so that the node at the end of the
        # step is the same for any number of substeps.
        live = np.nonzero(flying)[0]
        every = live.size == k
        for s in range(1, substeps + 1):
            new = _advance(st, s * dt_sub, turn, accel, vaccel)
            x = _ecef_states(new.lat, new.lon, new.alt, new.heading, new.speed, new.climb)
            if every:
                states[:, j * substeps + s] = x
            else:
                states[live, j * substeps + s] = x[live]
        if every:
            st = new
        else:
            st = _State(*(np.where(flying, getattr(new, f), getattr(st, f)) for f in _FIELDS))
        n_nodes += flying * substeps
    return Trajectories(t_first_s=t_start, states=states, n_nodes=n_nodes, step_s=dt_sub)


def _range_bearing(
    sin_lat: np.ndarray,
    cos_lat: np.ndarray,
    lon: np.ndarray,
    sin_lat_t: np.ndarray,
    cos_lat_t: np.ndarray,
    lon_t: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle distance (m, mean sphere) and initial course (rad, (-pi, pi]) to targets.

    Distance by the arctangent form, well conditioned at every distance [T. Vincenty, "Direct
    and inverse solutions of geodesics on the ellipsoid", Survey Review 23(176), 1975: the
    central angle as atan2(sin, cos), here on a sphere].
    """
    dlon = lon_t - lon
    sd, cd = np.sin(dlon), np.cos(dlon)
    y = sd * cos_lat_t
    x = cos_lat * sin_lat_t - sin_lat * cos_lat_t * cd
    c = sin_lat * sin_lat_t + cos_lat * cos_lat_t * cd
    return EARTH_MEAN_RADIUS_M * np.arctan2(np.hypot(x, y), c), np.arctan2(y, x)


def _course_changes(routes: Routes) -> np.ndarray:
    """Course change at each waypoint (k, W), rad in [0, pi]; 0 at the first and last."""
    lat, lon = routes.lat_rad, routes.lon_rad
    chi = np.zeros(lat.shape)
    if lat.shape[1] > 2:
        depart = gc_bearing(lat[:, 1:-1], lon[:, 1:-1], lat[:, 2:], lon[:, 2:])
        arrive = gc_bearing(lat[:, 1:-1], lon[:, 1:-1], lat[:, :-2], lon[:, :-2]) + np.pi
        chi[:, 1:-1] = np.abs(_wrap(depart - arrive))
    return np.nan_to_num(chi)


_FIELDS = ("lat", "lon", "alt", "heading", "speed", "climb")
