"""The validated scenario: :class:`Scenario` with its :class:`Nation` and :class:`SensorConfig`
tables, as :func:`~airpicture.sim.parse_scenario` makes them from a scenario file.

Angles are in radians (the files' ``*_deg`` keys become ``*_rad`` attributes).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from airpicture.sim._platforms import Platform
from airpicture.sim._scenario_rules import _INT_SEED, _POSITIVE
from airpicture.tables import Sensor

CLUTTER_MAX_RANGE_RATE_MPS = 600.0
"""False detections report a range rate uniform in +-600 m/s (when the sensor has range rate)."""

__all__ = ["DEFAULT_REFRACTION_K", "PLATFORMS", "Nation", "Scenario", "SensorConfig"]

DEFAULT_REFRACTION_K = 4.0 / 3.0
"""Effective earth radius factor of the standard atmosphere (the 4/3-earth model)."""

PLATFORMS = ("ground", "ship", "airborne", "space")
"""Platform kinds of a sensor."""


@dataclass(frozen=True)
class Nation:
    """A nation taking part: ISO 3166-1 alpha-3 ``code``, display ``name``, optional ``colour``."""

    code: str
    name: str
    colour: str | None = None


@dataclass(frozen=True)
class SensorConfig:
    """One validated ``[[sensors]]`` table; angles in radians, NaN where a value does not apply.

    Attributes
    ----------
    sensor_id, nation, kind, platform : str
        Identity; ``kind`` is ``radar`` or ``ir``, ``platform`` one of :data:`PLATFORMS`.
    path : Platform
        Where the sensor is at any time (:mod:`airpicture.sim._platforms`).
    max_range_m : float
        Instrumented range, m.
    min_elevation_rad, max_elevation_rad : float
        Elevation limits in the sensor's ENU frame, rad.
    sector_rad : tuple of float or None
        ``(az_min, az_max)`` azimuth sector clockwise from north, rad, in [0, 2*pi); the sector
        runs clockwise from ``az_min`` to ``az_max`` (it may cross north). None: all round.
    scan : str
        ``rotating`` (the beam sweeps the sector once per period; each object is seen when the
        beam passes it) or ``staring`` (every object in view is measured at the frame time).
    scan_period_s : float
        Revisit period, s.
    sigma_range_m, sigma_azimuth_rad, sigma_elevation_rad, sigma_range_rate_mps : float
        1-sigma Gaussian measurement noise; ``sigma_range_m`` is NaN for ``ir``,
        ``sigma_range_rate_mps`` NaN when the sensor reports no range rate.
    p_detect : float
        Fixed probability of detection, or NaN when the radar equation is used.
    reference_snr_db, reference_range_m, p_false_alarm : float
        Radar-equation detection model (NaN when ``p_detect`` is fixed): the SNR of a 1 m^2
        target at the reference range, and the false-alarm probability of the detector.
    clutter_per_scan : float
        Mean of the Poisson number of false detections per scan.
    bias_range_m, bias_azimuth_rad, bias_elevation_rad : float
        Registration biases added to every measurement of the sensor (NaN range bias for ``ir``).
    latency_mean_s, latency_jitter_s : float
        Mean and standard deviation of the log-normal report delay, s.
    detects : str
        ``all`` objects, or only ``boosting`` ones (hot plumes, ``ir`` only).
    refraction_k : float
        Effective earth radius factor for the line-of-sight check (4/3 by default).
    """

    sensor_id: str
    nation: str
    kind: str
    platform: str
    path: Platform
    max_range_m: float
    min_elevation_rad: float
    max_elevation_rad: float
    sector_rad: tuple[float, float] | None
    scan: str
    scan_period_s: float
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_range_rate_mps: float
    p_detect: float
    reference_snr_db: float
    reference_range_m: float
    p_false_alarm: float
    clutter_per_scan: float
    bias_range_m: float
    bias_azimuth_rad: float
    bias_elevation_rad: float
    latency_mean_s: float
    latency_jitter_s: float
    detects: str
    refraction_k: float

    @property
    def has_range(self) -> bool:
        """True for radars (they measure range)."""
        return self.kind == "radar"

    @property
    def has_range_rate(self) -> bool:
        """True when the sensor reports range rate."""
        return not math.isnan(self.sigma_range_rate_mps)

    def table_row(self, lat_rad: float, lon_rad: float, alt_m: float) -> Sensor:
        """The data-contract :class:`~airpicture.tables.Sensor` row, at the given position."""
        return Sensor(
            sensor_id=self.sensor_id,
            nation=self.nation,
            kind=self.kind,
            lat_rad=float(lat_rad),
            lon_rad=float(lon_rad),
            alt_m=float(alt_m),
            sigma_range_m=self.sigma_range_m,
            sigma_azimuth_rad=self.sigma_azimuth_rad,
            sigma_elevation_rad=self.sigma_elevation_rad,
            sigma_range_rate_mps=self.sigma_range_rate_mps,
            max_range_m=self.max_range_m,
            scan_period_s=self.scan_period_s,
            p_detect=self.p_detect,
            clutter_per_scan=self.clutter_per_scan,
            min_elevation_rad=self.min_elevation_rad,
            max_elevation_rad=self.max_elevation_rad,
            sector_start_rad=math.nan if self.sector_rad is None else self.sector_rad[0],
            sector_end_rad=math.nan if self.sector_rad is None else self.sector_rad[1],
            max_range_rate_mps=CLUTTER_MAX_RANGE_RATE_MPS if self.has_range_rate else math.nan,
        )


@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    Attributes
    ----------
    name, description : str
    source : str
        The file it came from (used in every error message about it).
    t0_s : float
        Start time, s since the Unix epoch (``start_utc``).
    duration_s : float
        Length of the simulation, s.
    seed : int
        Seed of every random draw: the same seed gives byte-identical output.
    truth_interval_s : float
        Spacing of the truth table, s.
    nations : tuple of Nation
    sensors : tuple of SensorConfig
        In file order.
    objects : tuple of dict
        The raw ``[[objects]]`` tables, for :func:`airpicture.sim.build_objects`.
    """

    name: str
    description: str
    source: str
    t0_s: float
    duration_s: float
    seed: int
    truth_interval_s: float
    nations: tuple[Nation, ...]
    sensors: tuple[SensorConfig, ...]
    objects: tuple[dict[str, Any], ...]

    @property
    def t_end_s(self) -> float:
        """End time, s since the epoch."""
        return self.t0_s + self.duration_s

    def with_overrides(
        self, *, seed: int | None = None, duration_s: float | None = None
    ) -> Scenario:
        """A copy with another seed and/or duration (as given on the command line).

        A shorter duration leaves out the objects that would start (``start_s``, ``launch_s``)
        only after the new end, so the first minutes of a long scenario can be run on their own.

        Raises
        ------
        ConfigError
            A negative seed or a duration that is not a positive finite number.
        """
        changes: dict[str, Any] = {}
        if seed is not None:
            changes["seed"] = _INT_SEED.check(seed, "command line", "--seed")
        if duration_s is not None:
            duration = _POSITIVE.check(duration_s, "command line", "--duration")
            changes["duration_s"] = duration
            changes["objects"] = tuple(o for o in self.objects if _starts_before(o, duration))
        return dataclasses.replace(self, **changes) if changes else self


def _starts_before(spec: dict[str, Any], duration_s: float) -> bool:
    """Whether an object table's own start time (if it gives one as a number) is before the end."""
    for key in ("start_s", "launch_s"):
        value = spec.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= duration_s:
            return False
    return True
