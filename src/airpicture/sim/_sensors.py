"""The physics of seeing: which objects a sensor detects in one scan, and what it reports.

One call of :func:`observe` simulates one scan (one antenna revolution, one sector sweep or one
staring frame) of one sensor, vectorised over all objects:

1. **When.** A rotating radar sweeps its sector once per period, starting at the sector's first
   azimuth (north for an all-round radar) at the scan time ``t_scan``; an object at azimuth
   ``az`` is illuminated at ``t = t_scan + period * (az - az_min) / width`` (one fixed-point
   step: the azimuth is taken at ``t_scan``, the measurement at ``t``). A staring sensor (``ir``,
   phased arrays) measures every object at ``t_scan``.
2. **Whether it can.** The object exists at ``t``; its slant range is at most ``max_range_m``;
   its elevation and azimuth lie inside the limits and sector; and it is above the radio horizon
   of the 4/3-earth model (:func:`line_of_sight`). An ``ir`` sensor set to ``detects = "boosting"``
   sees only objects whose motor burns (hot plumes).
3. **Whether it does.** With probability ``p_detect``, or by the radar equation with Swerling 1
   fluctuation (:func:`detection_probability`).
4. **What it reports.** Truth in the sensor's local ENU frame at ``t``, plus the registration
   bias, plus Gaussian noise: ``z = h(x) + b + v``, ``v ~ N(0, diag(sigma^2))``. Range rate is
   the rate of change of the slant range between the object and the *platform*, i.e. relative to
   the platform's own velocity. Each row carries the platform's position at ``t``.
5. **False alarms.** A Poisson number (mean ``clutter_per_scan``) of false detections, uniform
   in the sensor's measurement volume (range in ``[0, max_range_m]``, azimuth in the sector,
   elevation in ``[min_elevation, max_elevation]``) where it lies above the ellipsoid (radars;
   by rejection, so the count stays Poisson); range rate uniform in
   ``[-CLUTTER_MAX_RANGE_RATE_MPS, CLUTTER_MAX_RANGE_RATE_MPS]``.
6. **When it arrives.** ``arrival = t + delay`` with a log-normal delay of mean
   ``latency_mean_s`` and standard deviation ``latency_jitter_s``, drawn per report, so reports
   arrive out of order.

Random numbers are drawn from the generator passed in, in a fixed pattern per scan, so a
sensor's output depends only on its own generator and the objects.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields
from typing import Protocol, Self

import numpy as np

from airpicture.geo import WGS84_A_M, WGS84_E2, aer2ecef, ecef2enu, ecef2geodetic, enu2aer
from airpicture.sim._scenario import SensorConfig
from airpicture.sim._scenario_types import CLUTTER_MAX_RANGE_RATE_MPS

__all__ = [
    "CLUTTER_MAX_RANGE_RATE_MPS",
    "ObjectStates",
    "Reports",
    "detection_probability",
    "effective_earth_radius_m",
    "line_of_sight",
    "observe",
    "report_delays",
    "scan_times",
]

logger = logging.getLogger(__name__)

_TWO_PI = 2.0 * np.pi
_CLUTTER_MAX_ROUNDS = 50
_AZ_MAX = _TWO_PI - 1e-12  # reported azimuths stay below 360 deg after conversion to degrees


class ObjectStates(Protocol):
    """The interface of :class:`airpicture.sim.ObjectSet` that the sensors use."""

    @property
    def rcs_m2(self) -> np.ndarray:
        """Mean radar cross section of each object, m^2, shape (k,)."""
        ...

    def states_at(self, t_s: float | np.ndarray) -> np.ndarray:
        """ECEF states (k, 6) at one time or at one time per object (k,); NaN rows when absent."""
        ...

    def boosting(self, t_s: float | np.ndarray) -> np.ndarray:
        """Whether each object's motor burns at ``t_s``: bool (k,)."""
        ...


_REPORT_FLOATS = (
    "t_s",
    "arrival_s",
    "range_m",
    "azimuth_rad",
    "elevation_rad",
    "range_rate_mps",
    "sensor_lat_rad",
    "sensor_lon_rad",
    "sensor_alt_m",
)


@dataclass(frozen=True)
class Reports:
    """Reports of one sensor (one or more scans), one row each; every array has shape (n,).

    Measurement columns follow the data contract in memory form (radians, NaN where empty);
    ``arrival_s`` is when the report reaches the network (``t_s`` + delay), ``object_index``
    the index of the object it measured, or -1 for a false detection.
    """

    t_s: np.ndarray
    arrival_s: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_rate_mps: np.ndarray
    sensor_lat_rad: np.ndarray
    sensor_lon_rad: np.ndarray
    sensor_alt_m: np.ndarray
    object_index: np.ndarray

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @classmethod
    def empty(cls) -> Reports:
        """No rows."""
        f = np.empty(0)
        return cls(f, f, f, f, f, f, f, f, f, np.empty(0, dtype=np.int64))

    def take(self, index: np.ndarray) -> Self:
        """Rows selected by an index array or boolean mask."""
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts: list[Reports]) -> Reports:
        """Row-wise concatenation (an empty list gives an empty table)."""
        if not parts:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )


def effective_earth_radius_m(lat_rad: float | np.ndarray, k: float) -> float | np.ndarray:
    """Effective earth radius of the k-earth refraction model at a latitude.

    ``R_e = k * R_G``, with the Gaussian mean radius of curvature of the WGS-84 ellipsoid
    ``R_G = a sqrt(1 - e^2) / (1 - e^2 sin^2 lat)``; k = 4/3 models standard atmospheric
    refraction of radio waves [M. I. Skolnik, *Introduction to Radar Systems*, 3rd ed.,
    McGraw-Hill 2001, ch. 8, standard atmospheric refraction and the 4/3 earth].

    Parameters
    ----------
    lat_rad : float or ndarray
        Geodetic latitude, rad.
    k : float
        Effective radius factor (4/3 for the standard atmosphere, 1 for no refraction).

    Returns
    -------
    float or ndarray
        Effective radius, m.
    """
    s2 = np.sin(lat_rad) ** 2
    return k * WGS84_A_M * math.sqrt(1.0 - WGS84_E2) / (1.0 - WGS84_E2 * s2)


def line_of_sight(
    sensor_lat_rad: float | np.ndarray,
    sensor_lon_rad: float | np.ndarray,
    sensor_alt_m: float | np.ndarray,
    target_lat_rad: np.ndarray,
    target_lon_rad: np.ndarray,
    target_alt_m: np.ndarray,
    *,
    k: float,
) -> np.ndarray:
    """Whether targets are above the sensor's radio horizon in the k-earth model.

    The earth is replaced by a sphere of radius ``R_e = k R`` (:func:`effective_earth_radius_m`
    at the sensor's latitude) on which rays are straight. Sensor and target keep their heights
    ``h1, h2`` (clamped at 0) and their ground distance ``s = R theta`` (``theta`` is the angle
    between their ellipsoid normals), so on the effective sphere they are ``theta_e = s / R_e``
    apart. The straight segment between them clears the sphere, i.e. the target stands above the
    horizon line from the sensor, exactly when

        theta_e <= acos(R_e / (R_e + h1)) + acos(R_e / (R_e + h2)),

    the sum of the two horizon angles. For small heights this is the familiar radio-horizon
    distance ``s <= sqrt(2 R_e h1) + sqrt(2 R_e h2)`` [Skolnik 2001, ch. 8; A. W. Doerry,
    "Earth curvature and atmospheric refraction effects on radar signal propagation",
    Sandia report SAND2012-10690, 2013]. ``tests/sim/test_sensors.py`` checks the two agree to
    0.1 % (the closed form drops terms of relative order h / R_e).

    Parameters
    ----------
    sensor_lat_rad, sensor_lon_rad, sensor_alt_m : float or ndarray, shape () or (n,)
        Geodetic position of the sensor, rad and m above the ellipsoid.
    target_lat_rad, target_lon_rad, target_alt_m : ndarray, shape (n,)
        Geodetic positions of the targets.
    k : float
        Effective earth radius factor (4/3 for radio waves in the standard atmosphere).

    Returns
    -------
    visible : ndarray of bool, shape (n,)
    """
    cs = np.cos(sensor_lat_rad)
    ct = np.cos(target_lat_rad)
    a = np.stack(
        [cs * np.cos(sensor_lon_rad), cs * np.sin(sensor_lon_rad), np.sin(sensor_lat_rad)], -1
    )
    b = np.stack(
        [ct * np.cos(target_lon_rad), ct * np.sin(target_lon_rad), np.sin(target_lat_rad)], -1
    )
    theta = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))
    radius = WGS84_A_M * math.sqrt(1.0 - WGS84_E2) / (1.0 - WGS84_E2 * np.sin(sensor_lat_rad) ** 2)
    r_eff = k * radius
    h1 = np.maximum(sensor_alt_m, 0.0)
    h2 = np.maximum(target_alt_m, 0.0)
    horizon = np.arccos(r_eff / (r_eff + h1)) + np.arccos(r_eff / (r_eff + h2))
    return np.asarray(theta / k <= horizon)


def detection_probability(
    sensor: SensorConfig, range_m: np.ndarray, rcs_m2: np.ndarray
) -> np.ndarray:
    """Probability that the sensor detects each target in one look.

    With a fixed ``p_detect`` that value; otherwise the radar equation,

        SNR = SNR_ref * (sigma / 1 m^2) * (R_ref / R)^4,

    with ``SNR_ref`` the signal-to-noise ratio of a 1 m^2 target at ``R_ref``, and the Swerling 1
    (slowly fluctuating, Rayleigh amplitude) detection law

        P_d = P_fa ^ (1 / (1 + SNR))

    for one look at a Swerling 1 target with a square-law detector, i.e.
    ``P_d = exp(-T / (1 + SNR))`` with the threshold ``T = -ln P_fa`` [Skolnik 2001, ch. 2,
    radar cross section fluctuations; P. Swerling, "Probability of detection for fluctuating
    targets", IRE Trans. Information Theory 6(2), 1960].

    Parameters
    ----------
    sensor : SensorConfig
    range_m : ndarray, shape (n,)
        Slant ranges, m.
    rcs_m2 : ndarray, shape (n,)
        Mean radar cross sections, m^2.

    Returns
    -------
    ndarray, shape (n,)
        Probabilities in [0, 1].
    """
    if not math.isnan(sensor.p_detect):
        return np.full(np.shape(range_m), sensor.p_detect)
    snr = (
        10.0 ** (sensor.reference_snr_db / 10.0)
        * np.asarray(rcs_m2, dtype=float)
        * (sensor.reference_range_m / np.maximum(range_m, 1.0)) ** 4
    )
    return np.asarray(sensor.p_false_alarm ** (1.0 / (1.0 + snr)))


def report_delays(sensor: SensorConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Report delays, s: log-normal with the sensor's mean and standard deviation.

    For mean ``m`` and standard deviation ``j`` the underlying normal has
    ``sigma^2 = ln(1 + j^2 / m^2)`` and ``mu = ln m - sigma^2 / 2``. A zero jitter gives the
    constant delay ``m``; a zero mean, no delay (and no draw).

    Returns
    -------
    ndarray, shape (n,)
    """
    mean, jitter = sensor.latency_mean_s, sensor.latency_jitter_s
    if mean == 0.0:
        return np.zeros(n)
    if jitter == 0.0:
        return np.full(n, mean)
    sigma2 = math.log1p((jitter / mean) ** 2)
    return rng.lognormal(mean=math.log(mean) - 0.5 * sigma2, sigma=math.sqrt(sigma2), size=n)


def scan_times(
    sensor: SensorConfig, t0_s: float, t_end_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Start times of a sensor's scans in ``[t0_s, t_end_s)``.

    The first scan starts at a random phase, uniform in ``[0, scan_period_s)`` after ``t0_s``
    (one draw from ``rng``), so sensors are not synchronised.

    Returns
    -------
    ndarray, shape (m,)
        Seconds since the epoch, increasing.
    """
    phase = rng.uniform(0.0, sensor.scan_period_s)
    count = max(0, math.ceil((t_end_s - t0_s - phase) / sensor.scan_period_s))
    times = t0_s + phase + sensor.scan_period_s * np.arange(count, dtype=np.float64)
    return times[times < t_end_s]


def _sector_fraction(sensor: SensorConfig, az: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the sweep at which each azimuth is reached, and whether it is in the sector."""
    if sensor.sector_rad is None:
        return az / _TWO_PI, np.ones(az.shape, dtype=bool)
    lo, hi = sensor.sector_rad
    width = (hi - lo) % _TWO_PI
    offset = np.mod(az - lo, _TWO_PI)
    return offset / width, offset <= width


def _geometry(
    states: np.ndarray,
    platform_states: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    alt: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth, elevation, range and range rate of object states seen from platform states."""
    e, n, u = ecef2enu(states[:, 0], states[:, 1], states[:, 2], lat, lon, alt)
    az, el, rng_m = enu2aer(e, n, u)
    rel_p = states[:, :3] - platform_states[:, :3]
    rel_v = states[:, 3:] - platform_states[:, 3:]
    rate = np.sum(rel_p * rel_v, axis=1) / np.maximum(rng_m, 1e-9)
    return az, el, rng_m, rate


def observe(
    sensor: SensorConfig,
    objects: ObjectStates,
    t_scan_s: float,
    rng: np.random.Generator,
    *,
    t_end_s: float = math.inf,
) -> Reports:
    """Simulate one scan of one sensor over all objects.

    See the module docstring for the model. Reports timed at or after ``t_end_s`` are dropped.

    Parameters
    ----------
    sensor : SensorConfig
    objects : ObjectStates
        The k simulated objects.
    t_scan_s : float
        Start of the scan (or the frame time of a staring sensor), s since the epoch.
    rng : numpy.random.Generator
        The sensor's own generator (advanced in a fixed pattern).
    t_end_s : float
        End of the simulation, s since the epoch.

    Returns
    -------
    Reports
        Object detections first (in object order), then false detections; ``arrival_s`` set.
    """
    path = sensor.path
    rcs_all = np.asarray(objects.rcs_m2, dtype=float)
    k = rcs_all.shape[0]

    # 1. Which objects are candidates, and when each is looked at.
    if sensor.detects == "boosting":
        candidates = np.flatnonzero(np.asarray(objects.boosting(t_scan_s), dtype=bool))
    else:
        candidates = np.arange(k)
    t_obs = np.full(k, float(t_scan_s))
    if candidates.size and sensor.scan == "rotating":
        first = np.asarray(objects.states_at(t_scan_s))
        lat0, lon0, alt0 = (c[0] for c in path.geodetic_at(np.array([t_scan_s])))
        e, n, _ = ecef2enu(first[:, 0], first[:, 1], first[:, 2], lat0, lon0, alt0)
        az_first = np.mod(np.arctan2(e, n), _TWO_PI)
        fraction, _ = _sector_fraction(sensor, az_first)
        t_obs = np.where(
            np.isfinite(fraction), t_scan_s + sensor.scan_period_s * fraction, t_scan_s
        )
        states = np.asarray(objects.states_at(t_obs))
    elif candidates.size:
        states = np.asarray(objects.states_at(t_scan_s))
    else:
        states = np.empty((k, 6))
    states = states[candidates]
    t_obs = t_obs[candidates]
    alive = np.all(np.isfinite(states), axis=1) & (t_obs < t_end_s)
    candidates, states, t_obs = candidates[alive], states[alive], t_obs[alive]

    # 2. Geometry from the platform at each object's own time, then the visibility tests.
    times, where = np.unique(t_obs, return_inverse=True)  # one time per scan when staring
    p_lat, p_lon, p_alt = (c[where] for c in path.geodetic_at(times))
    p_states = path.states_at(times)[where]
    az, el, range_m, rate = _geometry(states, p_states, p_lat, p_lon, p_alt)
    _, in_sector = _sector_fraction(sensor, az)
    visible = (
        (range_m <= sensor.max_range_m)
        & (el >= sensor.min_elevation_rad)
        & (el <= sensor.max_elevation_rad)
        & in_sector
    )
    idx = np.flatnonzero(visible)
    if idx.size:
        t_lat, t_lon, t_alt = ecef2geodetic(states[idx, 0], states[idx, 1], states[idx, 2])
        los = line_of_sight(
            p_lat[idx], p_lon[idx], p_alt[idx], t_lat, t_lon, t_alt, k=sensor.refraction_k
        )
        idx = idx[los]

    # 3. Detection draws, then 4. noisy, biased measurements.
    pd = detection_probability(sensor, range_m[idx], rcs_all[candidates[idx]])
    idx = idx[rng.random(idx.size) < pd]
    noise = rng.standard_normal((idx.size, 4))
    has_range = sensor.has_range
    has_rate = sensor.has_range_rate
    det_range = (
        np.maximum(range_m[idx] + sensor.bias_range_m + sensor.sigma_range_m * noise[:, 0], 0.0)
        if has_range
        else np.full(idx.size, np.nan)
    )
    det_az = np.mod(
        az[idx] + sensor.bias_azimuth_rad + sensor.sigma_azimuth_rad * noise[:, 1], _TWO_PI
    )
    det_az = np.where(det_az >= _AZ_MAX, 0.0, det_az)
    det_el = np.clip(
        el[idx] + sensor.bias_elevation_rad + sensor.sigma_elevation_rad * noise[:, 2],
        -0.5 * np.pi,
        0.5 * np.pi,
    )
    det_rate = (
        rate[idx] + sensor.sigma_range_rate_mps * noise[:, 3]
        if has_rate
        else np.full(idx.size, np.nan)
    )
    detections = Reports(
        t_s=t_obs[idx],
        arrival_s=t_obs[idx],
        range_m=det_range,
        azimuth_rad=det_az,
        elevation_rad=det_el,
        range_rate_mps=det_rate,
        sensor_lat_rad=p_lat[idx],
        sensor_lon_rad=p_lon[idx],
        sensor_alt_m=p_alt[idx],
        object_index=candidates[idx].astype(np.int64),
    )

    # 5. False detections, uniform in the measurement volume.
    clutter = _clutter(sensor, t_scan_s, rng, t_end_s=t_end_s)
    reports = Reports.concat([detections, clutter]) if len(clutter) else detections

    # 6. Report latency.
    delays = report_delays(sensor, len(reports), rng)
    return Reports(
        **{
            **{f.name: getattr(reports, f.name) for f in fields(reports)},
            "arrival_s": reports.t_s + delays,
        }
    )


def _clutter_candidates(
    sensor: SensorConfig, t_scan_s: float, u: np.ndarray
) -> tuple[Reports, np.ndarray]:
    """False detections from uniform draws ``u`` (m, 4), and whether each lies above the ground."""
    count = u.shape[0]
    if sensor.sector_rad is None:
        az = _TWO_PI * u[:, 0]
    else:
        lo, hi = sensor.sector_rad
        az = np.mod(lo + ((hi - lo) % _TWO_PI) * u[:, 0], _TWO_PI)
    az = np.where(az >= _AZ_MAX, 0.0, az)
    el = sensor.min_elevation_rad + (sensor.max_elevation_rad - sensor.min_elevation_rad) * u[:, 1]
    rng_m = sensor.max_range_m * u[:, 2] if sensor.has_range else np.full(count, np.nan)
    rate = (
        CLUTTER_MAX_RANGE_RATE_MPS * (2.0 * u[:, 3] - 1.0)
        if sensor.has_range_rate
        else np.full(count, np.nan)
    )
    if sensor.scan == "rotating":
        t = t_scan_s + sensor.scan_period_s * u[:, 0]
    else:
        t = np.full(count, float(t_scan_s))
    lat, lon, alt = sensor.path.geodetic_at(t)
    if sensor.has_range:
        x, y, z = aer2ecef(az, el, rng_m, lat, lon, alt)
        above = ecef2geodetic(x, y, z)[2] >= 0.0
    else:
        above = np.ones(count, dtype=bool)
    reports = Reports(
        t_s=t,
        arrival_s=t,
        range_m=rng_m,
        azimuth_rad=az,
        elevation_rad=el,
        range_rate_mps=rate,
        sensor_lat_rad=lat,
        sensor_lon_rad=lon,
        sensor_alt_m=alt,
        object_index=np.full(count, -1, dtype=np.int64),
    )
    return reports, above


def _clutter(
    sensor: SensorConfig, t_scan_s: float, rng: np.random.Generator, *, t_end_s: float
) -> Reports:
    """False detections of one scan (arrival times not yet set).

    A Poisson number of points, each uniform in the part of the measurement volume that lies
    above the ellipsoid (drawn by rejection, so the count keeps its Poisson law): a radar's false
    alarms are never under the ground or the sea.
    """
    if sensor.clutter_per_scan <= 0.0:
        return Reports.empty()
    need = int(rng.poisson(sensor.clutter_per_scan))
    parts: list[Reports] = []
    for _ in range(_CLUTTER_MAX_ROUNDS):
        if need == 0:
            break
        reports, above = _clutter_candidates(sensor, t_scan_s, rng.random((2 * need + 8, 4)))
        accepted = np.flatnonzero(above)[:need]
        parts.append(reports.take(accepted))
        need -= accepted.size
    if need:
        logger.warning(
            "%s: %d false detections could not be placed above the ground (elevation limits "
            "point below it)",
            sensor.sensor_id,
            need,
        )
    out = Reports.concat(parts)
    return out.take(out.t_s < t_end_s)
