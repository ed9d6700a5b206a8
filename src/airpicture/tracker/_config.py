"""Tracker settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airpicture.config import Interval, NamesFrom, check_fields, load_config, load_toml
from airpicture.errors import ConfigError

__all__ = ["MOTION_MODEL_NAMES", "TrackerConfig"]

MOTION_MODEL_NAMES = ("cv", "ct", "ballistic", "boost")
"""Motion model names that ``TrackerConfig.motion_models`` may list (see ``tracker.dynamics``)."""


def _setting(
    default: float, low: float, high: float = float("inf"), *, integer: bool = False
) -> Any:
    return field(default=default, metadata={"check": Interval(low, high, "both", integer)})


@dataclass(frozen=True, kw_only=True)
class TrackerConfig:
    """Settings of :class:`airpicture.tracker.Tracker`; every field has a working default.

    Attributes
    ----------
    latency_window_s : float
        How long the tracker waits for late reports before processing a time frame, s.
    frame_s : float
        Length of a processing frame, s; detections of one sensor within a frame form one scan.
    process_noise_q : float
        White-noise acceleration spectral density of the nearly-constant-velocity model, m^2/s^3.
    motion_models : str
        Comma-separated names of the IMM's motion models, from ``cv``, ``ct`` (left and right
        coordinated turns), ``ballistic`` (gravity, drag, earth rotation: a quiet and an agile
        free flight) and ``boost`` (powered flight); see ``airpicture.tracker._dynamics``.
    turn_rate_dps : float
        Turn rate of the IMM's left and right coordinated-turn models, deg/s; 0 leaves only the
        nearly-constant-velocity model.
    turn_process_noise_q : float
        Acceleration noise spectral density of the turn models, m^2/s^3.
    ballistic_process_noise_q : float
        Acceleration noise spectral density of the ballistic model, m^2/s^3: what the model
        leaves out of free flight (the atmosphere's departures from the standard one, higher
        gravity terms), a few mm/s^2 of acceleration.
    agile_process_noise_q : float
        Acceleration noise spectral density of the agile ballistic model, m^2/s^3: the same
        physics with the forces no ballistic model has (lift of an asymmetric body, tumbling,
        ablation, an atmosphere unlike the standard one), about 1 g rms over a 3 s revisit.
    boost_process_noise_q : float
        Acceleration noise spectral density of the boost model, m^2/s^3: about a^2 dt for a
        thrust acceleration a held over a revisit dt (40 m/s^2 over 5 s: 8000).
    cruise_sojourn_s : float
        Expected time an aircraft flies straight between manoeuvres (the nearly-constant-velocity
        model's sojourn in the IMM's switch probabilities), s.
    model_sojourn_s : float
        Expected time a manoeuvre lasts (the sojourn of the turn and boost models), s.
    ballistic_sojourn_s : float
        Expected time a body in free flight keeps to it (the ballistic model's sojourn), s:
        long, since nothing but a manoeuvring re-entry vehicle or a new stage leaves it before
        impact.
    gate_probability : float
        Probability that the chi-square gate holds a true detection.
    initiation_exclusion_probability : float
        Probability of the wider chi-square gate around every firm (confirmed or coasting) track
        inside which a radar report left over starts no new track, unless the track took another
        report of the same scan: a report just outside a track's association gate (a sensor's
        bias, a manoeuvre) would otherwise start a duplicate of it. At least
        ``gate_probability``; equal to it, the exclusion is off.
    gate_max_candidates : int
        At most this many reports of a scan, the nearest, are candidates of one track. A gate
        rarely holds more than a few; reports piled onto one spot (a broken or hostile sensor)
        would otherwise cost time and memory growing with the square of their number.
    max_speed_mps : float
        Speed bound of the objects to initiate on below ``aircraft_ceiling_m``, m/s; sets a new
        track's velocity prior (horizontal under the nearly-constant-velocity and turn models).
    max_climb_mps : float
        Bound of the vertical speed of aircraft, m/s; sets a new track's vertical velocity prior
        under the nearly-constant-velocity and turn models.
    aircraft_ceiling_m : float
        Highest geodetic height of aircraft, m: a track started above it is a rocket or a
        body in free flight (its model probabilities go to the ballistic and boost models, its
        velocity prior is set by ``ballistic_max_speed_mps``).
    ballistic_max_speed_mps : float
        Speed bound of ballistic objects and rockets, m/s; sets a new track's velocity prior
        under the ballistic and boost models.
    false_track_probability : float
        Probability that a track started on false alarms is confirmed (``alpha`` of the track
        score's sequential test, ``tracker.score``): a tentative track is confirmed once its
        score reaches ``ln((1 - beta) / alpha)``.
    lost_object_probability : float
        Probability that an object's tentative track is dropped before it is confirmed
        (``beta``): a tentative track is dropped once its score falls to ``ln(beta / (1 -
        alpha))``.
    delete_probability : float
        A firm track is dropped once its score has fallen ``ln(1 / delete_probability)`` below
        its peak: the misses since then would happen to an object still there with at most this
        probability (five misses in a row at a detection probability of 0.9 give 1e-5).
    default_p_detect : float
        Nominal detection probability of sensors whose sensors-table ``p_detect`` is empty (a
        radar-equation sensor, a live feed); every track refines it from its own reports.
    default_clutter_per_scan : float
        False alarms per scan of sensors whose ``clutter_per_scan`` is empty.
    default_range_rate_span_mps : float
        Range rates of false alarms lie within plus or minus this, m/s, for sensors that report
        range rate and whose ``max_range_rate_mps`` is empty.
    oosm_horizon_s : float
        Reports later than the latency window but at most this old are still used
        (out-of-sequence update); older ones are counted and reported.
    registration_memory_s : float
        Time constant of the sensors' registration estimates
        (:mod:`airpicture.tracker._registration`: each sensor's range, azimuth and elevation
        offsets, estimated from the objects other sensors also see and removed from its
        reports); 0 turns registration off.
    """

    latency_window_s: float = _setting(2.0, 0.0, 3600.0)
    frame_s: float = _setting(1.0, 0.01, 60.0)
    process_noise_q: float = _setting(1.0, 1e-9, 1e6)
    motion_models: str = field(
        default="cv,ct,ballistic,boost",
        metadata={"check": NamesFrom(MOTION_MODEL_NAMES)},
    )
    turn_rate_dps: float = _setting(3.0, 0.0, 45.0)
    turn_process_noise_q: float = _setting(2.0, 1e-9, 1e6)
    ballistic_process_noise_q: float = _setting(0.005, 1e-9, 1e6)
    agile_process_noise_q: float = _setting(300.0, 1e-9, 1e6)
    boost_process_noise_q: float = _setting(8000.0, 1e-9, 1e8)
    cruise_sojourn_s: float = _setting(600.0, 0.1, 1e6)
    model_sojourn_s: float = _setting(20.0, 0.1, 1e6)
    ballistic_sojourn_s: float = _setting(600.0, 0.1, 1e6)
    gate_probability: float = _setting(0.999, 0.5, 0.999999)
    initiation_exclusion_probability: float = _setting(0.999999, 0.5, 1.0 - 1e-9)
    gate_max_candidates: int = _setting(16, 1, 100_000, integer=True)
    max_speed_mps: float = _setting(1200.0, 1.0, 20_000.0)
    max_climb_mps: float = _setting(150.0, 1.0, 20_000.0)
    ballistic_max_speed_mps: float = _setting(4000.0, 1.0, 20_000.0)
    aircraft_ceiling_m: float = _setting(30_000.0, 0.0, 1e6)
    false_track_probability: float = _setting(1e-5, 1e-12, 0.5)
    lost_object_probability: float = _setting(0.2, 1e-12, 0.5)
    delete_probability: float = _setting(1e-5, 1e-12, 0.5)
    default_p_detect: float = _setting(0.8, 0.01, 0.99)
    default_clutter_per_scan: float = _setting(1.0, 0.0, 1e6)
    default_range_rate_span_mps: float = _setting(600.0, 1.0, 1e5)
    oosm_horizon_s: float = _setting(60.0, 0.0, 3600.0)
    registration_memory_s: float = _setting(120.0, 0.0, 1e6)

    def __post_init__(self) -> None:
        check_fields(self, source="TrackerConfig")
        if self.initiation_exclusion_probability < self.gate_probability:
            raise ConfigError(
                "TrackerConfig",
                key="initiation_exclusion_probability",
                expected=f"at least gate_probability ({self.gate_probability})",
                got=repr(self.initiation_exclusion_probability),
            )

    @classmethod
    def from_mapping(
        cls, values: dict[str, Any], *, source: str = "tracker settings"
    ) -> TrackerConfig:
        """Settings from a mapping; keys not given take their defaults."""
        return load_config(cls, values, source=source)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrackerConfig:
        """Settings from a TOML file: a ``[tracker]`` table, or keys at the top level."""
        data = load_toml(path)
        return cls.from_mapping(data.get("tracker", data), source=str(path))
