r"""Routes for simulated flights: great-circle geometry, real airports, random traffic.

Route planning works on a sphere of the earth's mean radius ``EARTH_MEAN_RADIUS_M`` (the
flight model in :mod:`airpicture.sim._flight` then flies on the WGS-84 ellipsoid); over the
distances here the spherical bearing and distance differ from the ellipsoidal ones by less
than 0.5 %. Angles are radians, distances metres; every function is batched (arrays that
broadcast together).

Great-circle formulas [E. Williams, *Aviation Formulary* V1.47, sections "Course between
points", "Distance between points" (haversine form), "Intermediate points on a great circle"
and "Lat/lon given radial and distance"].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "AIRLINER_CLIMB_MPS",
    "AIRLINER_DESCENT_MPS",
    "AIRLINER_TERMINAL_ALT_M",
    "AIRLINER_TERMINAL_SPEED_MPS",
    "AIRPORTS",
    "EARTH_MEAN_RADIUS_M",
    "Airport",
    "Routes",
    "airliner_routes",
    "gc_bearing",
    "gc_destination",
    "gc_distance",
    "gc_interpolate",
    "random_routes",
]

EARTH_MEAN_RADIUS_M = 6371008.8
"""Mean earth radius (IUGG, (2a + b) / 3 of WGS-84), m."""

_TWO_PI = 2.0 * np.pi


@dataclass(frozen=True)
class Airport:
    """A real airport: IATA code, city, ISO 3166-1 alpha-3 country, position in degrees."""

    code: str
    city: str
    country: str
    lat_deg: float
    lon_deg: float


AIRPORTS: tuple[Airport, ...] = (
    # Japan
    Airport("HND", "Tokyo Haneda", "JPN", 35.5494, 139.7798),
    Airport("NRT", "Tokyo Narita", "JPN", 35.7647, 140.3864),
    Airport("KIX", "Osaka Kansai", "JPN", 34.4347, 135.2440),
    Airport("NGO", "Nagoya Chubu", "JPN", 34.8584, 136.8054),
    Airport("FUK", "Fukuoka", "JPN", 33.5859, 130.4507),
    Airport("CTS", "Sapporo New Chitose", "JPN", 42.7752, 141.6923),
    Airport("SDJ", "Sendai", "JPN", 38.1397, 140.9170),
    Airport("KIJ", "Niigata", "JPN", 37.9559, 139.1207),
    Airport("KMQ", "Komatsu", "JPN", 36.3946, 136.4068),
    Airport("HIJ", "Hiroshima", "JPN", 34.4361, 132.9194),
    Airport("KOJ", "Kagoshima", "JPN", 31.8034, 130.7194),
    Airport("OKA", "Naha", "JPN", 26.1958, 127.6459),
    # Republic of Korea
    Airport("ICN", "Seoul Incheon", "KOR", 37.4602, 126.4407),
    Airport("GMP", "Seoul Gimpo", "KOR", 37.5583, 126.7906),
    Airport("PUS", "Busan Gimhae", "KOR", 35.1795, 128.9382),
    Airport("CJU", "Jeju", "KOR", 33.5113, 126.4930),
    Airport("TAE", "Daegu", "KOR", 35.8941, 128.6589),
    Airport("YNY", "Yangyang", "KOR", 38.0613, 128.6692),
    # China
    Airport("PEK", "Beijing Capital", "CHN", 40.0801, 116.5846),
    Airport("PVG", "Shanghai Pudong", "CHN", 31.1443, 121.8083),
    Airport("SHE", "Shenyang", "CHN", 41.6398, 123.4834),
    Airport("DLC", "Dalian", "CHN", 38.9657, 121.5386),
    Airport("TAO", "Qingdao Jiaodong", "CHN", 36.3617, 120.0881),
    Airport("HRB", "Harbin", "CHN", 45.6234, 126.2503),
    Airport("CGQ", "Changchun", "CHN", 43.9962, 125.6850),
    Airport("YNJ", "Yanji", "CHN", 42.8828, 129.4513),
    # Taiwan
    Airport("TPE", "Taipei Taoyuan", "TWN", 25.0777, 121.2328),
    # Russian Far East
    Airport("VVO", "Vladivostok", "RUS", 43.3990, 132.1480),
    Airport("KHV", "Khabarovsk", "RUS", 48.5280, 135.1883),
    Airport("UUS", "Yuzhno-Sakhalinsk", "RUS", 46.8887, 142.7175),
    # Pacific
    Airport("GUM", "Guam", "GUM", 13.4834, 144.7960),
    Airport("SPN", "Saipan", "MNP", 15.1190, 145.7293),
)
"""Airports of the airliner traffic model (positions of the airport reference points)."""


def gc_distance(
    lat1_rad: ArrayLike, lon1_rad: ArrayLike, lat2_rad: ArrayLike, lon2_rad: ArrayLike
) -> np.ndarray:
    """Great-circle distance on the mean sphere (haversine), m."""
    s_lat = np.sin(0.5 * (np.asarray(lat2_rad) - lat1_rad))
    s_lon = np.sin(0.5 * (np.asarray(lon2_rad) - lon1_rad))
    a = s_lat * s_lat + np.cos(lat1_rad) * np.cos(lat2_rad) * s_lon * s_lon
    return 2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def gc_bearing(
    lat1_rad: ArrayLike, lon1_rad: ArrayLike, lat2_rad: ArrayLike, lon2_rad: ArrayLike
) -> np.ndarray:
    """Initial great-circle course from point 1 to point 2, clockwise from north, in [0, 2*pi)."""
    dlon = np.asarray(lon2_rad) - lon1_rad
    y = np.sin(dlon) * np.cos(lat2_rad)
    x = np.cos(lat1_rad) * np.sin(lat2_rad) - np.sin(lat1_rad) * np.cos(lat2_rad) * np.cos(dlon)
    return np.mod(np.arctan2(y, x), _TWO_PI)


def gc_destination(
    lat_rad: ArrayLike, lon_rad: ArrayLike, bearing_rad: ArrayLike, distance_m: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """The point at ``distance_m`` along the great circle leaving with ``bearing_rad``.

    Returns
    -------
    lat_rad, lon_rad : ndarray
        Latitude and longitude (in (-pi, pi]) of the destination.
    """
    d = np.asarray(distance_m, dtype=float) / EARTH_MEAN_RADIUS_M
    sl, cl = np.sin(lat_rad), np.cos(lat_rad)
    lat2 = np.arcsin(np.clip(sl * np.cos(d) + cl * np.sin(d) * np.cos(bearing_rad), -1.0, 1.0))
    lon2 = lon_rad + np.arctan2(np.sin(bearing_rad) * np.sin(d) * cl, np.cos(d) - sl * np.sin(lat2))
    return lat2, np.mod(lon2 + np.pi, _TWO_PI) - np.pi


def gc_interpolate(
    lat1_rad: ArrayLike,
    lon1_rad: ArrayLike,
    lat2_rad: ArrayLike,
    lon2_rad: ArrayLike,
    fraction: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Points at ``fraction`` (0 at point 1, 1 at point 2) of the great circle between them."""
    lat1, lon1 = np.asarray(lat1_rad, float), np.asarray(lon1_rad, float)
    lat2, lon2 = np.asarray(lat2_rad, float), np.asarray(lon2_rad, float)
    f = np.asarray(fraction, dtype=float)
    p1 = np.stack([np.cos(lat1) * np.cos(lon1), np.cos(lat1) * np.sin(lon1), np.sin(lat1)], -1)
    p2 = np.stack([np.cos(lat2) * np.cos(lon2), np.cos(lat2) * np.sin(lon2), np.sin(lat2)], -1)
    omega = np.arccos(np.clip(np.sum(p1 * p2, axis=-1), -1.0, 1.0))
    small = omega < 1e-12
    so = np.where(small, 1.0, np.sin(omega))
    w1 = np.where(small, 1.0 - f, np.sin((1.0 - f) * omega) / so)
    w2 = np.where(small, f, np.sin(f * omega) / so)
    p = w1[..., None] * p1 + w2[..., None] * p2
    return np.arctan2(p[..., 2], np.hypot(p[..., 0], p[..., 1])), np.arctan2(p[..., 1], p[..., 0])


@dataclass(frozen=True)
class Routes:
    """Waypoint routes of k flights and where each one starts, padded to a common length W.

    Attributes
    ----------
    lat_rad, lon_rad, alt_m, speed_mps : ndarray, shape (k, W)
        Waypoints (geodetic, rad and m above the ellipsoid) and the horizontal speed, m/s, to fly
        on the leg into each waypoint; NaN past a route's end.
    n_waypoints : ndarray, shape (k,), int
        Waypoints of each route (at least 2).
    start_lat_rad, start_lon_rad, start_alt_m : ndarray, shape (k,)
        Start position.
    start_heading_rad, start_speed_mps, start_climb_mps : ndarray, shape (k,)
        Start course (clockwise from north), horizontal speed and vertical speed.
    start_target : ndarray, shape (k,), int
        Index of the first waypoint to fly to.
    """

    lat_rad: np.ndarray
    lon_rad: np.ndarray
    alt_m: np.ndarray
    speed_mps: np.ndarray
    n_waypoints: np.ndarray
    start_lat_rad: np.ndarray
    start_lon_rad: np.ndarray
    start_alt_m: np.ndarray
    start_heading_rad: np.ndarray
    start_speed_mps: np.ndarray
    start_climb_mps: np.ndarray
    start_target: np.ndarray

    def __len__(self) -> int:
        return int(self.n_waypoints.shape[0])

    @staticmethod
    def from_waypoints(
        lat_rad: np.ndarray, lon_rad: np.ndarray, alt_m: np.ndarray, speed_mps: np.ndarray
    ) -> Routes:
        """Routes that start at their first waypoint, on course for the second, level.

        Parameters
        ----------
        lat_rad, lon_rad, alt_m, speed_mps : ndarray, shape (k, W)
            Padded waypoints (NaN past the end), as in the class attributes; the start speed is
            ``speed_mps[:, 0]``.
        """
        n_wp = np.sum(np.isfinite(lat_rad), axis=1)
        heading = gc_bearing(lat_rad[:, 0], lon_rad[:, 0], lat_rad[:, 1], lon_rad[:, 1])
        k = lat_rad.shape[0]
        return Routes(
            lat_rad, lon_rad, alt_m, speed_mps, n_wp,
            lat_rad[:, 0].copy(), lon_rad[:, 0].copy(), alt_m[:, 0].copy(),
            heading, speed_mps[:, 0].copy(), np.zeros(k), np.ones(k, dtype=np.int64),
        )  # fmt: skip

    @staticmethod
    def concat(parts: list[Routes]) -> Routes:
        """Routes of several groups, one after the other, padded to the longest."""
        width = max(p.lat_rad.shape[1] for p in parts)

        def pad(a: np.ndarray) -> np.ndarray:
            out = np.full((a.shape[0], width), np.nan)
            out[:, : a.shape[1]] = a
            return out

        fields = ("lat_rad", "lon_rad", "alt_m", "speed_mps")
        padded = {f: np.concatenate([pad(getattr(p, f)) for p in parts]) for f in fields}
        rest = {
            f: np.concatenate([getattr(p, f) for p in parts])
            for f in Routes.__dataclass_fields__
            if f not in fields
        }
        return Routes(**padded, **rest)


def _deg(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.radians(np.asarray(values, dtype=float))


AIRLINER_TERMINAL_ALT_M = 450.0
"""Height of an airliner's first and last waypoint (just after take-off, on final), m."""
AIRLINER_TERMINAL_SPEED_MPS = (150.0, 130.0)
"""Horizontal speed at the first (departure) and last (arrival) waypoint, m/s."""
AIRLINER_CLIMB_MPS = 12.0
"""Average climb rate planned from departure to the top of climb, m/s."""
AIRLINER_DESCENT_MPS = 10.0
"""Average descent rate planned from the top of descent to arrival, m/s."""
_AIRLINER_LEG_M = 250e3
_MAX_RANDOM_WAYPOINTS = 500
_AIRLINER_MIN_PAIR_M = 300e3


def airliner_routes(
    rng: np.random.Generator,
    count: int,
    *,
    codes: tuple[str, ...],
    alt_range_m: tuple[float, float],
    speed_range_mps: tuple[float, float],
    airborne_fraction: float,
) -> tuple[Routes, np.ndarray]:
    """Random airliner flights between real airports, some already airborne.

    Each flight joins two distinct airports of ``codes`` at least 300 km apart along the great
    circle: departure at 450 m and 150 m/s, a top of climb and a top of descent at the cruise
    level (planned climb 12 m/s, descent 10 m/s at cruise speed), waypoints every 250 km or less
    in between, arrival at 450 m and 130 m/s. A route too short for its cruise level gets a
    lower one. A fraction ``airborne_fraction`` of the flights are placed at a uniformly random
    point of their route (position, course, level and vertical speed of the planned profile);
    the others start at their departure airport.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed in a fixed order).
    count : int
        Number of flights k.
    codes : tuple of str
        IATA codes of :data:`AIRPORTS` to fly between (at least two, not all close together).
    alt_range_m, speed_range_mps : tuple of float
        Uniform ranges of the cruise level (m above the ellipsoid) and cruise speed (m/s).
    airborne_fraction : float
        Probability that a flight is already under way.

    Returns
    -------
    routes : Routes
        k routes.
    airborne : ndarray, shape (k,), bool
        Which flights start part-way along their route.
    """
    table = {a.code: a for a in AIRPORTS}
    lat_ap = _deg([table[c].lat_deg for c in codes])
    lon_ap = _deg([table[c].lon_deg for c in codes])
    pair_d = gc_distance(lat_ap[:, None], lon_ap[:, None], lat_ap[None, :], lon_ap[None, :])
    orig_idx, dest_idx = np.nonzero(pair_d >= _AIRLINER_MIN_PAIR_M)
    pick = rng.integers(0, orig_idx.size, size=count)
    o, d = orig_idx[pick], dest_idx[pick]
    cruise = rng.uniform(*alt_range_m, size=count)
    speed = rng.uniform(*speed_range_mps, size=count)
    airborne = rng.random(count) < airborne_fraction
    where = rng.random(count)

    lat1, lon1, lat2, lon2 = lat_ap[o], lon_ap[o], lat_ap[d], lon_ap[d]
    length = pair_d[o, d]
    h_term = AIRLINER_TERMINAL_ALT_M
    d_climb = (cruise - h_term) / AIRLINER_CLIMB_MPS * speed
    d_desc = (cruise - h_term) / AIRLINER_DESCENT_MPS * speed
    squeeze = np.minimum(1.0, 0.9 * length / (d_climb + d_desc))
    cruise = h_term + (cruise - h_term) * squeeze
    d_climb *= squeeze
    d_desc *= squeeze
    n_mid = np.ceil((length - d_climb - d_desc) / _AIRLINER_LEG_M).astype(np.int64)
    n_mid = np.maximum(n_mid, 1)
    width = int(n_mid.max()) + 3
    # Along-route distance of each waypoint: 0, top of climb, evenly spaced cruise points ending
    # at the top of descent, destination.
    j = np.arange(width)[None, :]
    cruise_len = (length - d_climb - d_desc)[:, None]
    dist = d_climb[:, None] + cruise_len * (j - 1) / n_mid[:, None]
    dist[:, 0] = 0.0
    n_wp = n_mid + 3
    last = n_wp - 1
    rows = np.arange(count)
    dist = np.where(j < n_wp[:, None], dist, np.nan)
    dist[rows, last] = length
    alt = np.where(j < n_wp[:, None], cruise[:, None], np.nan)
    alt[:, 0] = h_term
    alt[rows, last] = h_term
    spd = np.where(j < n_wp[:, None], speed[:, None], np.nan)
    spd[:, 0] = AIRLINER_TERMINAL_SPEED_MPS[0]
    spd[rows, last] = AIRLINER_TERMINAL_SPEED_MPS[1]
    frac = dist / length[:, None]
    lat, lon = gc_interpolate(lat1[:, None], lon1[:, None], lat2[:, None], lon2[:, None], frac)
    lat = np.where(j < n_wp[:, None], lat, np.nan)
    lon = np.where(j < n_wp[:, None], lon, np.nan)
    routes = Routes.from_waypoints(lat, lon, alt, spd)

    # Flights under way: a point at a uniformly random distance along the route, between 2 %
    # and 95 % of its length, on the planned profile.
    s = length * (0.02 + 0.93 * where)
    leg = np.sum(dist <= s[:, None], axis=1)  # index of the waypoint ahead
    leg = np.clip(leg, 1, last)
    d0, d1 = dist[rows, leg - 1], dist[rows, leg]
    f = (s - d0) / (d1 - d0)
    la, lo = gc_interpolate(
        lat[rows, leg - 1], lon[rows, leg - 1], lat[rows, leg], lon[rows, leg], f
    )
    h0, h1 = alt[rows, leg - 1], alt[rows, leg]
    v0, v1 = spd[rows, leg - 1], spd[rows, leg]
    v_here = v0 + f * (v1 - v0)
    start = Routes(
        lat, lon, alt, spd, n_wp,
        np.where(airborne, la, routes.start_lat_rad),
        np.where(airborne, lo, routes.start_lon_rad),
        np.where(airborne, h0 + f * (h1 - h0), routes.start_alt_m),
        np.where(airborne, gc_bearing(la, lo, lat[rows, leg], lon[rows, leg]),
                 routes.start_heading_rad),
        np.where(airborne, v_here, routes.start_speed_mps),
        np.where(airborne, (h1 - h0) / (d1 - d0) * v_here, 0.0),
        np.where(airborne, leg, 1),
    )  # fmt: skip
    return start, airborne


def random_routes(
    rng: np.random.Generator,
    count: int,
    *,
    box_rad: tuple[float, float, float, float],
    alt_range_m: tuple[float, float],
    speed_range_mps: tuple[float, float],
    leg_range_m: tuple[float, float],
    route_length_m: float,
) -> Routes:
    """Random meandering routes inside a latitude/longitude box.

    Each route starts at a uniformly random point of the box on a uniformly random course; each
    next waypoint lies a uniform ``leg_range_m`` distance away after a turn of up to 90 degrees
    either way, or, when that point would leave the box, at a uniformly random point of the box.
    Waypoints keep the previous level with probability 0.7 and otherwise take a new one from
    ``alt_range_m``; likewise for the speed, with probability 0.8. Waypoints are added until
    every route is at least ``route_length_m`` long (or has 500 waypoints).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed in a fixed order).
    count : int
        Number of routes k.
    box_rad : tuple of float
        ``(lat_min, lat_max, lon_min, lon_max)``, rad.
    alt_range_m, speed_range_mps, leg_range_m : tuple of float
        Uniform ranges of level (m), horizontal speed (m/s) and leg length (m).
    route_length_m : float
        Minimum total length of each route, m.

    Returns
    -------
    Routes
        Routes starting level at their first waypoint.
    """
    lat_min, lat_max, lon_min, lon_max = box_rad
    s_min, s_max = np.sin(lat_min), np.sin(lat_max)

    def uniform_points(size: int) -> tuple[np.ndarray, np.ndarray]:
        # uniform in area: latitude through its sine
        return np.arcsin(rng.uniform(s_min, s_max, size)), rng.uniform(lon_min, lon_max, size)

    la, lo = uniform_points(count)
    lat, lon = [la], [lo]
    alt = [rng.uniform(*alt_range_m, count)]
    spd = [rng.uniform(*speed_range_mps, count)]
    course = rng.uniform(0.0, _TWO_PI, count)
    length = np.zeros(count)
    while length.min() < route_length_m and len(lat) < _MAX_RANDOM_WAYPOINTS:
        leg = rng.uniform(*leg_range_m, count)
        course = np.mod(course + rng.uniform(-0.5 * np.pi, 0.5 * np.pi, count), _TWO_PI)
        la, lo = gc_destination(lat[-1], lon[-1], course, leg)
        outside = (la < lat_min) | (la > lat_max) | (lo < lon_min) | (lo > lon_max)
        la_r, lo_r = uniform_points(count)
        la = np.where(outside, la_r, la)
        lo = np.where(outside, lo_r, lo)
        course = np.where(outside, gc_bearing(lat[-1], lon[-1], la, lo), course)
        length += gc_distance(lat[-1], lon[-1], la, lo)
        lat.append(la)
        lon.append(lo)
        new_alt = rng.uniform(*alt_range_m, count)
        alt.append(np.where(rng.random(count) < 0.7, alt[-1], new_alt))
        new_spd = rng.uniform(*speed_range_mps, count)
        spd.append(np.where(rng.random(count) < 0.8, spd[-1], new_spd))
    return Routes.from_waypoints(
        np.stack(lat, axis=1), np.stack(lon, axis=1), np.stack(alt, axis=1), np.stack(spd, axis=1)
    )
