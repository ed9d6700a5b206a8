r"""Classification of tracks from their kinematics and their motion-model probabilities.

Each kind of object flies within an *envelope* of speed, height above the ellipsoid and
vertical speed (:data:`ENVELOPES`, the limits of ``docs/scenarios.md``, "Objects", and of the
ballistic missiles there). A kind's likelihood of a track takes the true value of each feature
as uniform over the kind's interval :math:`[a, b]` and the track's estimate :math:`\hat f` as
that value plus Gaussian error of the track's own standard deviation :math:`\sigma` (from its
covariance), which gives in closed form

.. math::

    p(\hat f \mid \text{kind}) = \frac{\Phi\!\left(\frac{b - \hat f}{\sigma}\right)
        - \Phi\!\left(\frac{a - \hat f}{\sigma}\right)}{b - a}

(the convolution of the uniform and the Gaussian densities), with :math:`\Phi` the standard
normal distribution function; the three features multiply. The tracker's IMM adds its own
evidence on how the object moves. With :math:`\mu_f` the probability of its free-flight
(ballistic) model and :math:`\mu_r` that of the rocket models (ballistic and boost), the
factor is :math:`\mu_f` for the ballistic kind, :math:`1 - \mu_r` for the air-breathing
kinds and :math:`1 - \mu_f` for ``unknown``, each floored at ``imm_floor`` so that one filter
cannot veto a kind alone.

``unknown`` is a hypothesis of its own: an object whose motion none of the other kinds explains,
with the widest envelope (that of ``ballistic``, which bounds everything in scope). It stands
for a rocket under thrust and for a track made of clutter: both need the boost model's large
accelerations (or jump between models), and both fly where only the ballistic envelope
reaches. Without it, a track above the aircraft's ceiling would be ``ballistic`` whatever its
motion, since every other envelope rules it out; with it, ``ballistic`` takes the evidence of
free flight, which a track on clutter never shows and a missile shows from burnout on.

**Free-flight energy.** The envelopes alone let a track whose estimate leaves the aircraft's
(an airliner descending faster than the envelope's climb rate, say, or one whose velocity is
briefly wrong) be ``ballistic`` once the IMM prefers free flight. A body in free flight within
scope carries energy no aircraft can: the specific mechanical energy
:math:`E = \lVert v\rVert^2/2 + \mu\,(1/(r - h) - 1/r)` (kinetic plus the gravity potential
above the ellipsoid below it) of the slowest ballistic flight in scope, the minimum-energy
trajectory of ``min_ballistic_range_m``, is :math:`g R / 2` (245 kJ/kg for 50 km), while an
airliner at 13 km and 300 m/s has 170 kJ/kg. The evidence of a track is the larger of two
figures: the probability that it carries at least that energy now,
:math:`\Phi((E - E_{min}) / \sqrt{\sigma_E^2 + (0.1\,E_{min})^2})` (about a half for a new
track whose velocity is still unknown: no evidence either way), and the same step function of
the highest lower bound :math:`E - 2\sigma_E` it has shown (so a missile slowed by the dense air
near the ground keeps the energy it showed higher up, while an uncertain early estimate is never
remembered as energy). ``ballistic``'s likelihood takes it as a factor, floored at
``energy_floor`` (:func:`free_flight_energy_probability`). An
object below that energy whose motion no aircraft explains is ``unknown``: it gets no impact
prediction, and so raises no alert.

The log-likelihoods are smoothed per track by an exponential moving average with time
constant ``time_constant_s``, so one noisy update does not flip a track's kind, and turned
into posterior probabilities with the kinds' prior probabilities (Bayes' rule) [the
class-conditional envelope densities follow the kinematic classification of S. Challa and
G. W. Pulford, "Joint target tracking and classification using radar and ESM sensors", IEEE
Trans. AES 37(3), 2001, pp. 1039-1055, where speed and height bounds of each class enter the
class likelihoods]. A track is labelled with the most probable kind when that probability is
at least ``min_confidence``, and ``unknown`` otherwise.

Kinds: ``ballistic`` (bodies in free flight), ``aircraft``, ``cruise`` (low-flying cruise
missiles), ``helicopter/uav`` (slow, low: helicopters and unmanned aircraft cannot be told
apart by their kinematics), and ``unknown``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from airpicture.codes import TRACK_KINDS
from airpicture.config import Interval, check_fields
from airpicture.geo import ecef2geodetic
from airpicture.geo._wgs84 import STANDARD_GRAVITY_MPS2, WGS84_GM_M3PS2

__all__ = [
    "ENVELOPES",
    "ClassifierConfig",
    "FlightEnvelope",
    "TrackFeatures",
    "classify",
    "free_flight_energy_probability",
    "kind_log_likelihoods",
    "smooth_log_likelihoods",
    "specific_energy",
    "track_features",
]


@dataclass(frozen=True)
class FlightEnvelope:
    """The flight envelope of one kind of object: closed intervals of each feature.

    Attributes
    ----------
    speed_mps : tuple of float
        Speed, m/s.
    alt_m : tuple of float
        Height above the WGS-84 ellipsoid, m.
    climb_mps : tuple of float
        Vertical speed (up positive), m/s.
    """

    speed_mps: tuple[float, float]
    alt_m: tuple[float, float]
    climb_mps: tuple[float, float]


_EVERYTHING = FlightEnvelope((0.0, 7000.0), (-500.0, 1.5e6), (-7000.0, 7000.0))

ENVELOPES: dict[str, FlightEnvelope] = {
    # Rockets and re-entering bodies: from a standing start to beyond IRBM speeds, up to
    # 1500 km, climbing or falling at up to 7 km/s.
    "ballistic": _EVERYTHING,
    # Aircraft of the scenarios (40-700 m/s, 0-20 km, 15 m/s climb), with margins.
    "aircraft": FlightEnvelope((40.0, 700.0), (-500.0, 20_000.0), (-25.0, 25.0)),
    # Sea-skimming and terrain-following cruise missiles (150-350 m/s, 30-200 m).
    "cruise": FlightEnvelope((150.0, 350.0), (-100.0, 500.0), (-15.0, 15.0)),
    # Helicopters (10-90 m/s, up to 6 km) and UAVs (10-200 m/s, up to 20 km).
    "helicopter/uav": FlightEnvelope((0.0, 200.0), (-500.0, 20_000.0), (-10.0, 10.0)),
    # Anything in scope whose motion no other kind explains: the widest envelope.
    "unknown": _EVERYTHING,
}
"""Flight envelope of each kind of :data:`TRACK_KINDS`."""


def _check(low: float, high: float) -> Any:
    return {"check": Interval(low, high)}


@dataclass(frozen=True, kw_only=True)
class ClassifierConfig:
    """Settings of the classifier; every field has a working default.

    Attributes
    ----------
    prior_ballistic, prior_aircraft, prior_cruise, prior_helicopter_uav, prior_unknown : float
        Prior probabilities of the kinds (normalised to sum to one).
    min_confidence : float
        A track gets the most probable kind only when its probability is at least this.
    min_ballistic_range_m : float
        Shortest ballistic flight in scope, m: its minimum-energy trajectory's energy
        :math:`g R / 2` is the least a track must have shown to be ``ballistic``.
    energy_floor : float
        Floor of the energy factor in ``ballistic``'s likelihood (module docstring).
    max_update_log_odds : float
        Most evidence one update may give against a kind: each kind's log-likelihood is held
        within this of the best one's, so that one outlying state (a new track's first
        estimate) cannot outweigh the smoothing's memory.
    time_constant_s : float
        Time constant of the smoothing of each track's log-likelihoods, s.
    imm_floor : float
        Floor of the IMM's factor in a kind's likelihood.
    speed_sd_floor_mps, alt_sd_floor_m, climb_sd_floor_mps : float
        Smallest standard deviations of speed (m/s), height (m) and vertical speed (m/s),
        standing for the error of the tracker's own models.
    """

    prior_ballistic: float = field(default=0.1, metadata=_check(1e-9, 1.0))
    prior_aircraft: float = field(default=0.8, metadata=_check(1e-9, 1.0))
    prior_cruise: float = field(default=0.05, metadata=_check(1e-9, 1.0))
    prior_helicopter_uav: float = field(default=0.05, metadata=_check(1e-9, 1.0))
    prior_unknown: float = field(default=0.01, metadata=_check(1e-9, 1.0))
    min_confidence: float = field(default=0.6, metadata=_check(0.0, 1.0))
    max_update_log_odds: float = field(default=10.0, metadata=_check(0.1, 1e6))
    time_constant_s: float = field(default=10.0, metadata=_check(0.0, 1e6))
    imm_floor: float = field(default=0.01, metadata=_check(1e-12, 1.0))
    speed_sd_floor_mps: float = field(default=2.0, metadata=_check(1e-6, 1e4))
    alt_sd_floor_m: float = field(default=50.0, metadata=_check(1e-6, 1e5))
    climb_sd_floor_mps: float = field(default=1.0, metadata=_check(1e-6, 1e4))
    min_ballistic_range_m: float = field(default=50e3, metadata=_check(1.0, 2e7))
    energy_floor: float = field(default=1e-4, metadata=_check(1e-300, 1.0))

    def __post_init__(self) -> None:
        check_fields(self, source="ClassifierConfig")

    @property
    def min_ballistic_energy_jpkg(self) -> float:
        """Specific energy of the minimum-energy flight of ``min_ballistic_range_m``, J/kg."""
        return STANDARD_GRAVITY_MPS2 * self.min_ballistic_range_m / 2.0

    @property
    def log_prior(self) -> np.ndarray:
        """Log prior probabilities of the kinds, in the order of :data:`TRACK_KINDS`."""
        p = np.array(
            [
                self.prior_ballistic,
                self.prior_aircraft,
                self.prior_cruise,
                self.prior_helicopter_uav,
                self.prior_unknown,
            ]
        )
        return np.log(p / p.sum())


@dataclass(frozen=True)
class TrackFeatures:
    """Kinematic features of n tracks and their standard deviations; arrays of shape (n,).

    Attributes
    ----------
    speed_mps, sd_speed_mps : ndarray
        Speed and its standard deviation, m/s.
    alt_m, sd_alt_m : ndarray
        Height above the WGS-84 ellipsoid and its standard deviation, m.
    climb_mps, sd_climb_mps : ndarray
        Vertical speed (along the ellipsoid normal, up positive) and its standard deviation, m/s.
    """

    speed_mps: np.ndarray
    sd_speed_mps: np.ndarray
    alt_m: np.ndarray
    sd_alt_m: np.ndarray
    climb_mps: np.ndarray
    sd_climb_mps: np.ndarray


def track_features(x: np.ndarray, P: np.ndarray) -> TrackFeatures:
    r"""Speed, height and vertical speed of ECEF track states, with their deviations.

    Height and vertical speed are linear in the state to first order, and so are their
    variances (:math:`n^T P n` with the ellipsoid normal :math:`n`). The speed is not, when the
    velocity is uncertain across its direction: with :math:`\sigma_\parallel^2 = u^T P_{vv} u`
    along the velocity :math:`u` and :math:`\sigma_\perp^2 = \mathrm{tr} P_{vv} -
    \sigma_\parallel^2` across it, the speed variance is taken as :math:`\sigma_\parallel^2 +
    \sigma_\perp^2 / (1 + \lVert v\rVert^2/\sigma_\perp^2)`, which tends to the first-order
    value for a well-known direction and to :math:`\mathrm{tr} P_{vv}` for a speed near zero
    (where the speed of a Gaussian velocity is spread over the whole ball).

    Parameters
    ----------
    x : ndarray, shape (n, >=6)
        ECEF position and velocity first, m and m/s.
    P : ndarray, shape (n, >=6, >=6)
        Covariances (the position and velocity block is used).

    Returns
    -------
    TrackFeatures
    """
    p, v = x[:, :3], x[:, 3:6]
    lat, lon, alt = ecef2geodetic(p[:, 0], p[:, 1], p[:, 2])
    cl = np.cos(lat)
    up = np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)
    speed = np.linalg.norm(v, axis=1)
    u = v / np.maximum(speed, 1e-9)[:, None]
    Ppp, Pvv = P[:, :3, :3], P[:, 3:6, 3:6]
    along = np.einsum("ni,nij,nj->n", u, Pvv, u)
    across = np.maximum(np.trace(Pvv, axis1=1, axis2=2) - along, 0.0)
    return TrackFeatures(
        speed_mps=speed,
        sd_speed_mps=np.sqrt(along + across / (1.0 + speed**2 / np.maximum(across, 1e-12))),
        alt_m=alt,
        sd_alt_m=np.sqrt(np.einsum("ni,nij,nj->n", up, Ppp, up)),
        climb_mps=np.einsum("ni,ni->n", up, v),
        sd_climb_mps=np.sqrt(np.einsum("ni,nij,nj->n", up, Pvv, up)),
    )


def specific_energy(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Specific mechanical energy of ECEF track states above the ellipsoid, and its deviation.

    :math:`E = \lVert v\rVert^2/2 + \mu\,(1/(r - h) - 1/r)` with :math:`r = \lVert p\rVert`
    and :math:`h` the geodetic height (the potential of a point mass, taken from the ellipsoid
    below the track); its variance is :math:`J P J^T + \tfrac12 \mathrm{tr}(P_{vv}^2)` with
    :math:`J = [\mu/r^2\,\hat p^T,\ v^T]`: first order, plus the kinetic energy's own second
    order (exact for a Gaussian velocity), which dominates for a new track whose velocity is
    still unknown (the height's own change along :math:`\hat p` is neglected: it moves both
    radii alike).

    Parameters
    ----------
    x : ndarray, shape (n, >=6)
        ECEF position and velocity, m and m/s.
    P : ndarray, shape (n, >=6, >=6)

    Returns
    -------
    energy_jpkg, sd_jpkg : ndarray, shape (n,)
        J/kg.

    Examples
    --------
    An airliner at 13 km and 300 m/s has about 170 kJ/kg:

    >>> from airpicture.geo import geodetic2ecef
    >>> p = np.array(geodetic2ecef(np.radians(38.0), np.radians(135.0), 13e3))
    >>> x = np.concatenate([p, [300.0, 0.0, 0.0]])[None]
    >>> e, sd = specific_energy(x, np.eye(6)[None])
    >>> round(float(e[0]) / 1e3)
    172
    """
    p, v = x[:, :3], x[:, 3:6]
    r = np.linalg.norm(p, axis=1)
    _, _, h = ecef2geodetic(p[:, 0], p[:, 1], p[:, 2])
    energy = 0.5 * np.einsum("ni,ni->n", v, v) + WGS84_GM_M3PS2 * (1.0 / (r - h) - 1.0 / r)
    J = np.concatenate([(WGS84_GM_M3PS2 / r**3)[:, None] * p, v], axis=1)
    Pvv = P[:, 3:6, 3:6]
    var = np.einsum("ni,nij,nj->n", J, P[:, :6, :6], J) + 0.5 * np.einsum("nij,nji->n", Pvv, Pvv)
    return energy, np.sqrt(np.maximum(var, 0.0))


def free_flight_energy_probability(
    energy_jpkg: np.ndarray,
    sd_jpkg: np.ndarray,
    peak_lower_bound_jpkg: np.ndarray,
    config: ClassifierConfig,
) -> np.ndarray:
    """Evidence that tracks carry the energy of free flight (module docstring): the larger of
    the probability that their energy (J/kg, with its deviation) reaches the slowest ballistic
    flight's, and that of the highest lower bound ``E - 2 sd`` they have shown."""
    e_min = config.min_ballistic_energy_jpkg
    now = ndtr((energy_jpkg - e_min) / np.hypot(sd_jpkg, 0.1 * e_min))
    shown = ndtr((peak_lower_bound_jpkg - e_min) / (0.1 * e_min))
    return np.asarray(np.maximum(now, shown))


def _log_box(value: np.ndarray, sd: np.ndarray, low: float, high: float) -> np.ndarray:
    """Log of the uniform-on-[low, high] density convolved with N(0, sd^2), at ``value``."""
    mass = ndtr((high - value) / sd) - ndtr((low - value) / sd)
    return np.log(np.maximum(mass, 1e-300)) - math.log(high - low)


def kind_log_likelihoods(
    features: TrackFeatures,
    free_flight_probability: np.ndarray,
    rocket_probability: np.ndarray,
    config: ClassifierConfig,
    free_flight_energy: np.ndarray | None = None,
) -> np.ndarray:
    """Log-likelihood of each kind for n tracks (module equations).

    Parameters
    ----------
    features : TrackFeatures
        Of n tracks.
    free_flight_probability : ndarray, shape (n,)
        IMM probability of the ballistic (free-flight) model (0 when the tracker has none).
    rocket_probability : ndarray, shape (n,)
        IMM probability of the ballistic and boost models together (0 when the tracker has
        neither).
    config : ClassifierConfig
    free_flight_energy : ndarray, shape (n,), optional
        Each track's :func:`free_flight_energy_probability` (module docstring); without it,
        ``ballistic`` takes no energy factor.

    Returns
    -------
    log_lik : ndarray, shape (n, 5)
        In the order of :data:`TRACK_KINDS`; each at least the best minus ``max_update_log_odds``.
    """
    f = features
    sv = np.hypot(f.sd_speed_mps, config.speed_sd_floor_mps)
    sh = np.hypot(f.sd_alt_m, config.alt_sd_floor_m)
    sc = np.hypot(f.sd_climb_mps, config.climb_sd_floor_mps)
    floor = config.imm_floor
    free = np.clip(free_flight_probability, 0.0, 1.0)
    rocket = np.clip(rocket_probability, 0.0, 1.0)
    imm_factor = {"ballistic": free, "unknown": 1.0 - free}
    out = np.empty((len(f.speed_mps), len(TRACK_KINDS)))
    energy_log = np.zeros(len(f.speed_mps))
    if free_flight_energy is not None:
        energy_log = np.log(np.maximum(free_flight_energy, config.energy_floor))

    for j, kind in enumerate(TRACK_KINDS):
        env = ENVELOPES[kind]
        imm = imm_factor.get(kind, 1.0 - rocket)
        out[:, j] = (
            _log_box(f.speed_mps, sv, *env.speed_mps)
            + _log_box(f.alt_m, sh, *env.alt_m)
            + _log_box(f.climb_mps, sc, *env.climb_mps)
            + np.log(np.maximum(imm, floor))
            + (energy_log if kind == "ballistic" else 0.0)
        )
    return np.maximum(out, out.max(axis=1, keepdims=True) - config.max_update_log_odds)


def smooth_log_likelihoods(
    previous: np.ndarray, current: np.ndarray, dt_s: np.ndarray, time_constant_s: float
) -> np.ndarray:
    r"""Exponential moving average of log-likelihoods over time.

    :math:`\ell_k = w\,\ell_{k-1} + (1 - w)\,\lambda_k` with :math:`w = e^{-\Delta t/\tau}`; a
    row without history (NaN in ``previous``) takes ``current``.

    Parameters
    ----------
    previous, current : ndarray, shape (n, c)
        Smoothed log-likelihoods so far, and this update's.
    dt_s : ndarray, shape (n,)
        Time since the previous update, s.
    time_constant_s : float
        Smoothing time constant, s (0: no smoothing).

    Returns
    -------
    ndarray, shape (n, c)
    """
    if time_constant_s <= 0.0:
        return current.copy()
    w = np.exp(-np.abs(dt_s) / time_constant_s)[:, None]
    out = w * previous + (1.0 - w) * current
    fresh = ~np.all(np.isfinite(previous), axis=1)
    out[fresh] = current[fresh]
    return out


def classify(
    log_lik: np.ndarray, config: ClassifierConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kind, confidence and posterior probabilities from (smoothed) log-likelihoods.

    Parameters
    ----------
    log_lik : ndarray, shape (n, 5)
        Per kind, in the order of :data:`TRACK_KINDS`.
    config : ClassifierConfig

    Returns
    -------
    kind : ndarray of str, shape (n,)
        The most probable kind, or ``unknown`` below ``min_confidence``.
    confidence : ndarray, shape (n,)
        Posterior probability of the most probable kind.
    posterior : ndarray, shape (n, 5)
        Posterior probabilities of the kinds.

    Examples
    --------
    An object at 90 km, 2 km/s and falling at 1 km/s is ballistic when it flies free, and
    unknown when only the boost model follows it:

    >>> f = TrackFeatures(*(np.array([v]) for v in (2000.0, 50.0, 90e3, 500.0, -1000.0, 20.0)))
    >>> cfg = ClassifierConfig()
    >>> free, rocket = np.array([0.9]), np.array([0.9])
    >>> kind, conf, _ = classify(kind_log_likelihoods(f, free, rocket, cfg), cfg)
    >>> str(kind[0]), bool(conf[0] > 0.95)
    ('ballistic', True)
    >>> str(classify(kind_log_likelihoods(f, np.array([0.0]), np.array([1.0]), cfg), cfg)[0][0])
    'unknown'

    """
    logp = log_lik + config.log_prior[None, :]
    logp = logp - logp.max(axis=1, keepdims=True)
    post = np.exp(logp)
    post /= post.sum(axis=1, keepdims=True)
    best = post.argmax(axis=1)
    confidence = post[np.arange(len(best)), best]
    labels = np.asarray(TRACK_KINDS)[best]
    kind = np.where(confidence >= config.min_confidence, labels, TRACK_KINDS[-1])
    return kind, confidence, post
