"""Track scores: a sequential likelihood-ratio test decides when a track is confirmed or dropped.

Every track carries the log-likelihood ratio of its reports under "one object" against "false
alarms" [S. S. Blackman and R. Popoli, *Design and Analysis of Modern Tracking Systems*, Artech
House 1999, sec. 6.2; A. Wald, *Sequential Analysis*, 1947]. The first report forms the
hypothesis (the score starts at 0); after it, per expected revisit,

* a report ``z`` of sensor ``s``, of likelihood ``p(z)`` under the track's prediction (the
  motion models' Gaussian likelihoods ``N(nu; 0, S)`` weighted by their predicted
  probabilities, as in the IMM's own update), adds ``ln Pd + ln p(z) - ln lambda_s``, where
  ``lambda_s`` is the sensor's false-alarm density: its false alarms per scan spread over its
  measurement volume (range, azimuth sector, elevation limits and range-rate span, in the
  units of the measurement vector);
* a run of ``m`` revisits without a report adds ``ln P(m misses)``, about ``m ln(1 - Pd)``.

A report in a wide gate (a new track's second report, a model free to follow anything such as
boost) or in dense clutter adds little; a sharp fit from a precise sensor adds much; every sensor
that sees the object adds its own evidence, so a track seen by three sensors is confirmed sooner.
Wald's thresholds follow from two probabilities: a tentative track is confirmed once its score
reaches ``ln((1 - beta) / alpha)`` and dropped once it falls to ``ln(beta / (1 - alpha))``
(``alpha``: a false track confirmed, ``beta``: an object's track dropped before confirmation).
A firm track is dropped once its score has fallen ``ln(1 / delta)`` below its peak: the misses
since then would happen to an object still there with probability ``delta`` at most.

The detection probability is the track's own: a Beta posterior from its reports and expected
revisits, starting from the sensor's nominal ``p_detect`` (worth ``PD_PRIOR_LOOKS`` revisits);
a run of misses is weighed by the posterior's predictive probability, so a young track's
uncertain detection probability makes its misses cost less.
A radar sees a small, far object (a missile near its range) far less often than an airliner
near it, and the nominal value of a radar-equation sensor is no value at all: the estimate makes
a faint object's misses cost less, so its track coasts longer without a rule of its own.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln

from airpicture.tables import Sensor

__all__ = [
    "LEAST_FALSE_ALARMS_PER_SCAN",
    "PD_PRIOR_LOOKS",
    "detection_probability",
    "false_alarms_per_scan",
    "log_false_alarm_density",
    "measurement_volume",
    "miss_log_probability",
    "report_increment",
]

PD_PRIOR_LOOKS = 1.0
"""How many revisits the sensor's nominal detection probability is worth in a track's estimate."""

LEAST_FALSE_ALARMS_PER_SCAN = 0.1
"""False alarms per scan assumed at least of any sensor: no detector is free of them (a
false-alarm probability of 1e-6 over 1e5 resolution cells gives 0.1)."""


def measurement_volume(
    sensor: Sensor, *, with_range_rate: bool, max_range_rate_mps: float
) -> float:
    """The volume of a sensor's measurement space its false alarms spread over.

    Range ``[0, max_range_m]`` (radars), the azimuth sector (all round when unknown), the
    elevation limits (the vertical's -90 and 90 degrees where unknown), and range rate in
    ``[-v, v]`` when it is measured (``v`` the sensor's ``max_range_rate_mps``, else
    ``max_range_rate_mps``): m rad^2 (m/s) for a radar, rad^2 for a bearing sensor.
    """
    start, end = sensor.sector_start_rad, sensor.sector_end_rad
    if math.isnan(start) or math.isnan(end):
        sector = 2.0 * math.pi
    else:
        sector = (end - start) % (2.0 * math.pi) or 2.0 * math.pi
    low = -math.pi / 2 if math.isnan(sensor.min_elevation_rad) else sensor.min_elevation_rad
    high = math.pi / 2 if math.isnan(sensor.max_elevation_rad) else sensor.max_elevation_rad
    volume = sector * max(high - low, 1e-6)
    if sensor.has_range:
        volume *= sensor.max_range_m
    if with_range_rate:
        span = sensor.max_range_rate_mps
        volume *= 2.0 * (max_range_rate_mps if math.isnan(span) else span)
    return volume


def false_alarms_per_scan(sensor: Sensor, default: float) -> float:
    """A sensor's false alarms per scan: its ``clutter_per_scan`` (``default`` when unknown), at
    least ``LEAST_FALSE_ALARMS_PER_SCAN``."""
    known = sensor.clutter_per_scan
    return max(default if math.isnan(known) else known, LEAST_FALSE_ALARMS_PER_SCAN)


def log_false_alarm_density(
    sensor: Sensor,
    *,
    with_range_rate: bool,
    default_clutter_per_scan: float,
    max_range_rate_mps: float,
) -> float:
    """``ln lambda``: false alarms per scan per unit of the sensor's measurement volume."""
    volume = measurement_volume(
        sensor, with_range_rate=with_range_rate, max_range_rate_mps=max_range_rate_mps
    )
    return math.log(false_alarms_per_scan(sensor, default_clutter_per_scan) / volume)


def _beta(hits: np.ndarray, looks: np.ndarray, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Beta posterior's parameters of tracks' detection probabilities."""
    p0 = np.clip(prior, 0.01, 0.99)
    return hits + PD_PRIOR_LOOKS * p0, looks - hits + PD_PRIOR_LOOKS * (1.0 - p0)


def detection_probability(
    hits: np.ndarray, looks: np.ndarray, prior: np.ndarray, missed: np.ndarray
) -> np.ndarray:
    """The probability that tracks' next revisit brings a report, after ``missed`` revisits
    without one: the Beta posterior's mean, from ``hits`` reports in ``looks`` expected revisits
    and the prior ``prior`` (worth ``PD_PRIOR_LOOKS`` revisits), updated by the misses."""
    a, b = _beta(hits, looks, prior)
    return np.asarray(a / (a + b + missed))


def miss_log_probability(
    hits: np.ndarray, looks: np.ndarray, prior: np.ndarray, missed: np.ndarray
) -> np.ndarray:
    """``ln P(missed revisits in a row)`` of tracks with ``hits`` reports in ``looks`` revisits.

    The Beta posterior's predictive probability ``B(a, b + m) / B(a, b)``, not ``(1 - Pd)^m``:
    a young track's detection probability is uncertain, and a run of misses makes a low one
    likelier, so it costs less than the point estimate would say.
    """
    a, b = _beta(hits, looks, prior)
    return np.asarray(gammaln(b + missed) - gammaln(b) + gammaln(a + b) - gammaln(a + b + missed))


def report_increment(pd: np.ndarray, log_lik: np.ndarray, log_false_density: float) -> np.ndarray:
    """The score a report adds: ``ln Pd + ln p(z) - ln lambda``, with ``log_lik`` the
    report's log-likelihood ``ln p(z)`` under its track's prediction."""
    return np.log(pd) + log_lik - log_false_density
