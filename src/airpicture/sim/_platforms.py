"""Sensor platforms: where a sensor is, and how fast it moves, at any time.

A platform maps times ``t_s`` (float seconds since the Unix epoch) to WGS-84 states. Three kinds:

* :class:`FixedPlatform` — a ground site, an anchored ship or a geostationary-like space sensor:
  one point fixed in ECEF (zero ECEF velocity).
* :class:`WaypointPath` — a ship (or aircraft) sailing legs between waypoints at a constant speed,
  along great circles of the geodetic normal ("n-vector" interpolation), with heights interpolated
  linearly along each leg; it holds at the last waypoint or loops back to the first.
* :class:`RacetrackPath` — an airborne early-warning orbit: two straight legs joined by
  half-circle turns, laid out in the local tangent plane at the orbit's centre and projected onto
  the surface of constant height above the ellipsoid.

Velocities of moving platforms are the central difference of their ECEF positions over
``2 * _DIFF_STEP_S`` seconds, so positions and velocities are exactly consistent (the error is of
order ``a * h^2 / 6``: below 1 mm/s for a 2 m/s^2 turn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from airpicture.geo import ecef2geodetic, enu2ecef, geodetic2ecef

__all__ = [
    "MEAN_EARTH_RADIUS_M",
    "FixedPlatform",
    "Platform",
    "RacetrackPath",
    "WaypointPath",
]

MEAN_EARTH_RADIUS_M = 6371008.8
"""Mean earth radius (IUGG R1), m: converts the central angle of a leg into its length."""

_DIFF_STEP_S = 0.05


class Platform(Protocol):
    """What the sensor model needs from a platform."""

    @property
    def is_moving(self) -> bool:
        """False for a platform fixed in ECEF."""
        ...

    def geodetic_at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (rad) and height above the ellipsoid (m) at times ``t_s`` (n,)."""
        ...

    def states_at(self, t_s: np.ndarray) -> np.ndarray:
        """ECEF states ``[x, y, z, vx, vy, vz]`` (n, 6) in m and m/s at times ``t_s`` (n,)."""
        ...


def _as_times(t_s: np.ndarray | float) -> np.ndarray:
    return np.atleast_1d(np.asarray(t_s, dtype=np.float64))


@dataclass(frozen=True)
class FixedPlatform:
    """A platform fixed in ECEF.

    Parameters
    ----------
    lat_rad, lon_rad : float
        Geodetic latitude and longitude, rad.
    alt_m : float
        Height above the WGS-84 ellipsoid, m (35,786 km for a geostationary-like sensor).
    """

    lat_rad: float
    lon_rad: float
    alt_m: float

    @property
    def is_moving(self) -> bool:
        """Always False."""
        return False

    def geodetic_at(self, t_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fixed position, repeated for each time: three arrays of shape (n,)."""
        n = _as_times(t_s).shape[0]
        return (np.full(n, self.lat_rad), np.full(n, self.lon_rad), np.full(n, self.alt_m))

    def states_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """ECEF states (n, 6): the fixed position and zero velocity."""
        n = _as_times(t_s).shape[0]
        x, y, z = geodetic2ecef(self.lat_rad, self.lon_rad, self.alt_m)
        out = np.zeros((n, 6))
        out[:, 0], out[:, 1], out[:, 2] = x, y, z
        return out


class _MovingPath:
    """Shared behaviour of moving paths: ECEF states from geodetic positions."""

    @property
    def is_moving(self) -> bool:
        return True

    def geodetic_at(self, t_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _ecef_at(self, t_s: np.ndarray) -> np.ndarray:
        lat, lon, alt = self.geodetic_at(t_s)
        return np.stack(geodetic2ecef(lat, lon, alt), axis=-1)

    def states_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """ECEF states (n, 6) at times ``t_s`` (n,): positions and central-difference velocities."""
        t = _as_times(t_s)
        out = np.empty((t.shape[0], 6))
        out[:, :3] = self._ecef_at(t)
        ahead = self._ecef_at(t + _DIFF_STEP_S)
        behind = self._ecef_at(t - _DIFF_STEP_S)
        out[:, 3:] = (ahead - behind) / (2.0 * _DIFF_STEP_S)
        return out


def _nvector(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit normal of the ellipsoid at (lat, lon): shape (..., 3)."""
    cl = np.cos(lat)
    return np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)


@dataclass(frozen=True)
class WaypointPath(_MovingPath):
    """Constant-speed legs between waypoints.

    Between waypoints ``a`` and ``b`` the geodetic normal is interpolated along the great circle
    (spherical linear interpolation of n-vectors), and the height linearly; a leg of central angle
    ``omega`` takes ``omega * MEAN_EARTH_RADIUS_M / speed_mps`` seconds, so the speed over the
    ellipsoid is the nominal one to within its 0.3 % departure from the mean sphere.

    Parameters
    ----------
    waypoints : tuple of (lat_rad, lon_rad, alt_m)
        At least two points; geodetic, rad and m.
    speed_mps : float
        Speed along the path, m/s.
    t0_s : float
        Time at which the platform is at the first waypoint, s since the epoch.
    loop : bool
        If True, sail back to the first waypoint and repeat; otherwise hold at the last one.
    """

    waypoints: tuple[tuple[float, float, float], ...]
    speed_mps: float
    t0_s: float
    loop: bool = False
    _nodes: np.ndarray = field(init=False, repr=False, compare=False)
    _alts: np.ndarray = field(init=False, repr=False, compare=False)
    _omega: np.ndarray = field(init=False, repr=False, compare=False)
    _t_start: np.ndarray = field(init=False, repr=False, compare=False)
    _period_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        points = np.asarray(self.waypoints, dtype=np.float64)
        if self.loop:
            points = np.vstack([points, points[:1]])
        nodes = _nvector(points[:, 0], points[:, 1])
        a, b = nodes[:-1], nodes[1:]
        omega = np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.sum(a * b, axis=1))
        leg_s = omega * MEAN_EARTH_RADIUS_M / self.speed_mps
        t_start = np.concatenate([[0.0], np.cumsum(leg_s)])
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_alts", points[:, 2])
        object.__setattr__(self, "_omega", omega)
        object.__setattr__(self, "_t_start", t_start)
        object.__setattr__(self, "_period_s", float(t_start[-1]))

    def geodetic_at(self, t_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (rad) and height (m) at times ``t_s``: three arrays (n,)."""
        t = _as_times(t_s) - self.t0_s
        if self.loop and self._period_s > 0.0:
            t = np.mod(t, self._period_s)
        t = np.clip(t, 0.0, self._period_s)
        n_legs = self._omega.shape[0]
        leg = np.clip(np.searchsorted(self._t_start, t, side="right") - 1, 0, n_legs - 1)
        duration = self._t_start[leg + 1] - self._t_start[leg]
        frac = np.where(
            duration > 0.0, (t - self._t_start[leg]) / np.where(duration > 0, duration, 1.0), 0.0
        )
        frac = np.clip(frac, 0.0, 1.0)
        omega = self._omega[leg]
        a, b = self._nodes[leg], self._nodes[leg + 1]
        small = omega < 1e-12
        sin_omega = np.where(small, 1.0, np.sin(omega))
        wa = np.where(small, 1.0 - frac, np.sin((1.0 - frac) * omega) / sin_omega)
        wb = np.where(small, frac, np.sin(frac * omega) / sin_omega)
        nvec = wa[:, None] * a + wb[:, None] * b
        lat = np.arctan2(nvec[:, 2], np.hypot(nvec[:, 0], nvec[:, 1]))
        lon = np.arctan2(nvec[:, 1], nvec[:, 0])
        alt = self._alts[leg] + frac * (self._alts[leg + 1] - self._alts[leg])
        return lat, lon, alt


@dataclass(frozen=True)
class RacetrackPath(_MovingPath):
    """A racetrack orbit at constant height and speed.

    In the orbit's own frame (``u`` along ``heading``, ``w`` to its right, origin at the centre)
    the aircraft flies ``(-L/2, -r) -> (L/2, -r)``, turns through a half circle about ``(L/2, 0)``,
    flies back along ``w = +r`` and turns about ``(-L/2, 0)``: right-hand turns, as in a standard
    holding pattern (mirrored when ``clockwise`` is False). The frame is the local tangent plane
    at the centre; each point is projected along the ellipsoid normal to height ``alt_m``.

    Parameters
    ----------
    centre_lat_rad, centre_lon_rad : float
        Centre of the orbit, rad.
    alt_m : float
        Height above the ellipsoid, m.
    length_m : float
        Length ``L`` of each straight leg, m.
    turn_radius_m : float
        Radius ``r`` of the turns, m (half the distance between the legs).
    heading_rad : float
        Direction of the first leg, clockwise from true north, rad.
    speed_mps : float
        Speed, m/s.
    t0_s : float
        Time at which the aircraft is at ``start_fraction`` of the circuit, s since the epoch.
    start_fraction : float
        Where on the circuit (0 = start of the first leg, 0.5 = half-way round) it is at ``t0_s``.
    clockwise : bool
        Right-hand turns (seen from above) if True.
    """

    centre_lat_rad: float
    centre_lon_rad: float
    alt_m: float
    length_m: float
    turn_radius_m: float
    heading_rad: float
    speed_mps: float
    t0_s: float
    start_fraction: float = 0.0
    clockwise: bool = True

    @property
    def circuit_m(self) -> float:
        """Length of one circuit, m."""
        return 2.0 * self.length_m + 2.0 * np.pi * self.turn_radius_m

    def geodetic_at(self, t_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (rad) and height (m) at times ``t_s``: three arrays (n,)."""
        big_l, r = self.length_m, self.turn_radius_m
        circuit = self.circuit_m
        s = np.mod(
            self.speed_mps * (_as_times(t_s) - self.t0_s) + self.start_fraction * circuit, circuit
        )
        turn = np.pi * r
        u = np.empty_like(s)
        w = np.empty_like(s)
        seg1 = s < big_l
        seg2 = (s >= big_l) & (s < big_l + turn)
        seg3 = (s >= big_l + turn) & (s < 2.0 * big_l + turn)
        seg4 = s >= 2.0 * big_l + turn
        u[seg1], w[seg1] = -0.5 * big_l + s[seg1], -r
        phi = (s[seg2] - big_l) / r
        u[seg2], w[seg2] = 0.5 * big_l + r * np.sin(phi), -r * np.cos(phi)
        u[seg3], w[seg3] = 0.5 * big_l - (s[seg3] - big_l - turn), r
        phi = (s[seg4] - 2.0 * big_l - turn) / r
        u[seg4], w[seg4] = -0.5 * big_l - r * np.sin(phi), r * np.cos(phi)
        if not self.clockwise:
            w = -w
        sh, ch = np.sin(self.heading_rad), np.cos(self.heading_rad)
        east = u * sh + w * ch
        north = u * ch - w * sh
        x, y, z = enu2ecef(east, north, 0.0, self.centre_lat_rad, self.centre_lon_rad, self.alt_m)
        lat, lon, _ = ecef2geodetic(x, y, z)
        return lat, lon, np.full_like(lat, self.alt_m)
