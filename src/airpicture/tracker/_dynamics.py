r"""The tracker's motion models, mixed per track by its IMM filter.

The filter state has seven elements, ``[x, y, z, vx, vy, vz, kappa]``: the ECEF position and
velocity (m, m/s) and the inverse ballistic coefficient :math:`\kappa = 1/\beta = C_D A / m`
(m^2/kg), which only the ballistic model uses; the others carry it unchanged as a slow random
walk. Models are chosen by name (``TrackerConfig.motion_models``):

=============  ============================================================================
``cv``         nearly constant velocity (``process_noise_q``)
``ct``         two coordinated turns, left and right, at ``turn_rate_dps`` about the local vertical
``ballistic``  free flight under WGS-84 gravity with J2, drag with the estimated kappa, Coriolis
               and centrifugal terms (``airpicture.models._ballistic``), as two models:
               ``ballistic`` (quiet, ``ballistic_process_noise_q``) and ``ballistic-agile``
               (the same physics with ``agile_process_noise_q``)
``boost``      nearly constant velocity with the large ``boost_process_noise_q`` of a powered
               ascent or a hard manoeuvre
=============  ============================================================================

Switching (the IMM's Markov chain, :meth:`MotionModelSet.switch_matrix`): each model is kept
for a mean sojourn (``cruise_sojourn_s`` for straight flight, ``model_sojourn_s`` for a turn or
a boost, ``ballistic_sojourn_s`` for free flight, which lasts to impact), and with a boost
model configured a body in free flight only leaves it for powered flight, while aircraft
models never switch straight into free flight: rockets and aircraft meet only through the
boost model. New tracks first seen above ``aircraft_ceiling_m`` start as rockets (ballistic and
boost models, speed prior ``ballistic_max_speed_mps``); the others as anything (speed prior
``max_speed_mps``, and ``max_climb_mps`` vertically under the aircraft models).

The ballistic model is the costly one, and the one an aircraft never needs: a track enters free
flight only through the boost model (or at initiation), so where the IMM's predicted probability
of free flight is below ``_FREE_FLIGHT_OPEN`` the model is closed for the step
(:meth:`MotionModelSet.close_free_flight`): it is predicted as nearly constant velocity instead,
and its probability is set to zero, which the IMM's probability floor turns into the floor.
Only a track with a real share of free flight or boost pays for the ballistic prediction. For
the same reason a new track below ``aircraft_ceiling_m`` starts with the model closed unless its
measured range rate reaches ``_FREE_FLIGHT_MIN_SPEED_MPS`` (see
:meth:`MotionModelSet.initial_conditions`).

The other way round, once free flight is the likelier hypothesis (``_FREE_FLIGHT_HOLD``) burnout
counts as detected and free flight is held (:meth:`MotionModelSet.hold_free_flight`): for the
step the ballistic model is kept and mixed with nothing else, so it runs as an extended Kalman
filter of free flight alone instead of taking in, every step, a share of the boost model's wide
covariance; the other models still run beside it and take over at the update if the body
manoeuvres. On the library's ``reentry`` benchmark this brings the ballistic model's mean NEES
from about 5.0 (below the 95 % band of 100 runs, [5.34, 6.70]) to about 5.6.

Kappa is kept non-negative by projecting updated estimates onto ``kappa = 0``
(:func:`project_kappa`).

**Free flight that is not quite free.** A real body in free flight meets forces no ballistic
model has (lift of an asymmetric body, tumbling, ablation, an atmosphere unlike the model's),
with strengths that differ from body to body by orders of magnitude. Free flight is therefore
two models of the same physics, a quiet one (``ballistic_process_noise_q``, millimetres per
second squared) and an agile one (``agile_process_noise_q``, about 1 g rms over a revisit), and
the IMM weighs them by their innovations as it weighs every other pair: a clean body keeps the
tight filter, one pushed about is followed by the agile model within a few updates [the
multiple-model answer to an unknown noise level: D. T. Magill, "Optimal adaptive estimation of
sampled stochastic processes", IEEE Trans. AC 10(4), 1965, pp. 434-439; Bar-Shalom, Li and
Kirubarajan 2001, section 11.6]. Everything said above of "the ballistic model" holds for the
two together: they share the prior probability of free flight, are opened, closed and held
together, and switch into each other as well as into boost. The agile model alone is also
closed below a ballistic body's speed (``_AGILE_MIN_SPEED_MPS``): there its 1 g of random
acceleration would explain an aircraft's lift, and aircraft and clutter tracks would take free
flight for evidence of a missile.
"""

from __future__ import annotations

import numpy as np

from airpicture.filters._kalman import symmetrize
from airpicture.geo import WGS84_A_M, WGS84_F
from airpicture.models._atmosphere import AIR_DENSITY_SEA_LEVEL_KGPM3, AIR_SCALE_HEIGHT_M
from airpicture.models._ballistic import ballistic_jacobian
from airpicture.models._motion import ct_transition, cv_transition
from airpicture.tracker._config import TrackerConfig
from airpicture.tracker._free_flight import free_flight_acceleration, propagate_free_flight

__all__ = [
    "KAPPA_MIN",
    "STATE_DIM",
    "MotionModelSet",
    "approximate_height",
    "ballistic_transition",
    "project_kappa",
]

STATE_DIM = 7
"""Filter state size: ECEF position and velocity, and the inverse ballistic coefficient."""

KAPPA_MIN = 1e-7
"""Smallest magnitude of the inverse ballistic coefficient used in propagation, m^2/kg."""

_KAPPA_WALK = 1e-12
"""Random-walk spectral density of kappa, (m^2/kg)^2 / s."""

_MAX_STEP_S = 10.0
"""Longest RK4 substep of the ballistic prediction, s (gravity alone: error far below 1 mm)."""

_MIN_STEP_S = 0.25
"""Shortest RK4 substep of the ballistic prediction, s."""

_RK4_TOLERANCE_MPS = 0.05
"""Velocity error per RK4 substep that the substep is chosen for, m/s."""

_MAX_DRAG_STEP = 0.5
"""Drag rate times substep (rho |v| kappa h) that an absurd ballistic state is damped to."""

_MAX_DRAG_RATE = 2.0
"""Drag rate rho |v| kappa beyond any real body in flight, 1/s (below 0.6 /s at sea level for
beta = 5000 kg/m^2 at 2.4 km/s)."""

_LEVEL_M = 0.01 * AIR_SCALE_HEIGHT_M
"""Height change over a step below which the air density is taken as constant along it, m."""

_G_BOUND = 10.0
"""Bound on the downward acceleration used to find the lowest point of a step, m/s^2."""

_FREE_FLIGHT_OPEN = 1e-4
"""Predicted probability of the ballistic model below which it is closed for the step."""

_DRIFT_MAX_ACCEL_MPS2 = 1000.0
"""Cap of the free-flight acceleration the pre-gate allows for, m/s^2 (about 100 g: beyond the
deceleration of any re-entry, and finite for a clutter track's absurd kappa)."""

_FREE_FLIGHT_HOLD = 0.5
"""Ballistic probability from which free flight is held (:meth:`MotionModelSet.hold_free_flight`):
burnout is taken as detected once free flight is likelier than everything else together."""

_AGILE_SHARE = 0.5
"""Share of the agile model in the prior probability of free flight."""

_FREE_SWITCH = 0.02
"""Weight of a switch between the two free-flight models against one into powered flight,
when free flight is left: the forces on a body in free flight seldom change, and every switch
into the agile model keeps a share of its wide covariance in a quiet body's estimate."""

_AGILE_MIN_SPEED_MPS = 1000.0
"""Speed below which the agile free-flight model is closed, m/s (a ballistic body's speed:
above any aircraft's, below a re-entry vehicle's low down)."""

_FREE_FLIGHT_MIN_SPEED_MPS = 1000.0
"""Speed from which a new track below ``aircraft_ceiling_m`` opens the ballistic model, m/s:
below the speed of a re-entry vehicle low down, above most aircraft."""


class MotionModelSet:
    """The r motion models of every track, their prior probabilities and switching.

    Parameters
    ----------
    config : TrackerConfig
        ``motion_models`` names the models; the noise and turn-rate settings tune them.

    Attributes
    ----------
    labels : tuple of str
        Model names, in the order of the IMM's model axis.
    q : ndarray, shape (r,)
        Acceleration noise spectral density of each model, m^2/s^3.
    initial_probabilities : ndarray, shape (r,)
        Model probabilities of a new track below ``aircraft_ceiling_m``.
    sojourn_s : ndarray, shape (r,)
        Mean time in each model, s.
    destinations : ndarray, shape (r, r)
        Where each model goes when it is left (rows sum to one; see :func:`_destinations`).
    """

    def __init__(self, config: TrackerConfig) -> None:
        names = [n.strip() for n in config.motion_models.split(",")]
        # (label, kind, turn rate rad/s, q) of each expanded model
        models: list[tuple[str, str, float, float]] = []
        for name in names:
            if name == "cv":
                models.append(("cv", "cv", 0.0, config.process_noise_q))
            elif name == "ct":
                w = float(np.radians(config.turn_rate_dps))
                models.append(("ct-left", "ct", w, config.turn_process_noise_q))
                models.append(("ct-right", "ct", -w, config.turn_process_noise_q))
            elif name == "ballistic":
                models.append(("ballistic", "ballistic", 0.0, config.ballistic_process_noise_q))
                models.append(("ballistic-agile", "ballistic", 0.0, config.agile_process_noise_q))
            else:
                models.append(("boost", "cv", 0.0, config.boost_process_noise_q))
        self.labels = tuple(label for label, _, _, _ in models)
        self._kinds = [(kind, w, q) for _, kind, w, q in models]
        self.q = np.array([q for _, _, q in self._kinds])
        self._turns = np.array([i for i, (kind, _, _) in enumerate(self._kinds) if kind == "ct"])
        self._turn_rates = np.array([w for kind, w, _ in self._kinds if kind == "ct"])
        free = np.array([kind == "ballistic" for kind, _, _ in self._kinds])
        # free flight as a whole has the prior weight of one model, shared by its two
        prior = np.array([4.0 if label == "cv" else 1.0 for label in self.labels])
        agile = np.array([label == "ballistic-agile" for label in self.labels])
        prior[free & ~agile] = 1.0 - _AGILE_SHARE
        prior[agile] = _AGILE_SHARE
        self.initial_probabilities = prior / prior.sum()
        rocket = free | np.array([label == "boost" for label in self.labels])
        self._rocket = rocket
        self._ceiling_m = config.aircraft_ceiling_m
        self._max_speed_mps = config.max_speed_mps
        self._max_climb_mps = config.max_climb_mps
        self._rocket_speed_mps = config.ballistic_max_speed_mps
        self.sojourn_s = np.array(
            [
                config.cruise_sojourn_s
                if label == "cv"
                else config.ballistic_sojourn_s
                if is_free
                else config.model_sojourn_s
                for label, is_free in zip(self.labels, free, strict=True)
            ]
        )
        self.destinations = _destinations(self.labels, free)
        self._free = np.flatnonzero(free)
        self._agile = int(np.flatnonzero(agile)[0]) if agile.any() else None
        self._quiet = int(np.flatnonzero(free & ~agile)[0]) if agile.any() else None
        self._boost = self.labels.index("boost") if "boost" in self.labels else None

    def initial_conditions(
        self, pos_m: np.ndarray, speed_mps: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model probabilities and velocity priors of new tracks first seen at ``pos_m``.

        Below ``aircraft_ceiling_m`` every model starts with the configured prior probabilities,
        except free flight: a slow object low down can only enter it through powered flight
        (the boost model, which opens it at the next prediction if the track needs it), so the
        ballistic model starts closed (probability zero, the others renormalised) unless the
        speed known at initiation reaches ``_FREE_FLIGHT_MIN_SPEED_MPS`` (a re-entry vehicle
        first seen low down is faster).
        The aircraft models' velocity prior is uniform within ``max_speed_mps`` horizontally
        (over a disc: variance v^2 / 4 per axis) and within ``max_climb_mps`` vertically
        (variance c^2 / 3); the rocket models' is uniform within ``max_speed_mps`` on each axis
        (variance v^2 / 3). Above the ceiling nothing but a rocket or a body in free flight can
        be: the ballistic and boost models take ``ballistic_max_speed_mps`` as their bound and,
        when other models are configured too, all the probability (shared in the proportions of
        their prior probabilities).

        Parameters
        ----------
        pos_m : ndarray, shape (m, 3)
            ECEF position of each new track, m.
        speed_mps : ndarray, shape (m,), optional
            A lower bound of each new track's speed (the magnitude of a measured range rate),
            m/s; unknown when omitted.

        Returns
        -------
        mu : ndarray, shape (m, r)
            Model probabilities.
        velocity_cov : ndarray, shape (m, r, 3, 3)
            Covariance of each model-conditioned velocity prior, m^2/s^2.
        """
        m = len(pos_m)
        mu = np.tile(self.initial_probabilities, (m, 1))
        speed = np.full((m, self.r), self._max_speed_mps)
        if self._rocket.any():
            high = approximate_height(pos_m) > self._ceiling_m
            speed[np.ix_(high, self._rocket)] = self._rocket_speed_mps
            if not self._rocket.all():
                rocket_prior = np.where(self._rocket, self.initial_probabilities, 0.0)
                mu[high] = rocket_prior / rocket_prior.sum()
            if 0 < len(self._free) < self.r:
                slow = ~high
                if speed_mps is not None:
                    slow &= speed_mps < _FREE_FLIGHT_MIN_SPEED_MPS
                mu[np.ix_(slow, self._free)] = 0.0
                mu[slow] /= mu[slow].sum(axis=1, keepdims=True)
        up = pos_m / np.linalg.norm(pos_m, axis=1, keepdims=True)
        uu = up[:, :, None] * up[:, None, :]
        cov = (speed**2 / 3.0)[:, :, None, None] * np.eye(3)
        aircraft = ~self._rocket
        cov[:, aircraft] = (speed[:, aircraft] ** 2 / 4.0)[:, :, None, None] * (
            np.eye(3) - uu[:, None]
        ) + (self._max_climb_mps**2 / 3.0) * uu[:, None]
        return mu, cov

    @property
    def r(self) -> int:
        """Number of models."""
        return len(self._kinds)

    def switch_matrix(self, dt_s: np.ndarray, pos_m: np.ndarray | None = None) -> np.ndarray:
        r"""Model-switch probabilities over steps ``dt_s``, one sojourn time per model.

        Model :math:`i` is kept over a step :math:`\Delta t` with probability
        :math:`\pi_{ii} = e^{-|\Delta t| / \tau_i}` (a Markov chain with mean sojourn
        :math:`\tau_i`), and a switch goes to the destinations of ``destinations``
        [Bar-Shalom, Li, Kirubarajan 2001, section 11.6.6 (the IMM's Markov chain)]. The
        ballistic model's sojourn is ``ballistic_sojourn_s``, every other model's
        ``model_sojourn_s``. Above the aircraft ceiling only rockets fly, so there a body that
        leaves powered flight (the boost model) goes into free flight alone, not into the
        aircraft models.

        Parameters
        ----------
        dt_s : ndarray, shape (m,)
            Steps, s (the sign is ignored).
        pos_m : ndarray, shape (m, 3), optional
            ECEF positions of the tracks, m (without them every track counts as low down).

        Returns
        -------
        Pi : ndarray, shape (m, r, r)
            ``Pi[k, i, j]`` = P(model j after the step | model i before); rows sum to one.
        """
        dt = np.abs(np.atleast_1d(np.asarray(dt_s, dtype=float)))
        r = self.r
        if r == 1:
            return np.ones(dt.shape + (1, 1))
        stay = np.exp(-dt[:, None] / self.sojourn_s[None, :])  # (m, r)
        Pi = (1.0 - stay)[:, :, None] * self.destinations[None, :, :]
        if pos_m is not None and self._boost is not None and len(self._free):
            high = approximate_height(pos_m) > self._ceiling_m
            b, f = self._boost, self._free
            Pi[high, b, :] = 0.0
            Pi[np.ix_(high, np.array([b]), f)] = ((1.0 - stay[high, b]) / len(f))[:, None, None]
        idx = np.arange(r)
        Pi[:, idx, idx] = stay
        return Pi

    def free_flight_drift(
        self, x: np.ndarray, mu: np.ndarray, dt_s: np.ndarray, reach_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """How far free flight carries tracks from their constant-velocity extrapolation.

        For the pre-gate, which extrapolates at constant velocity: over a long step a body in
        free flight falls ``g dt^2 / 2`` from it (about 2 km in 20 s), and drag low down pulls
        it back further. With ``a`` the ballistic acceleration at the current state (gravity,
        drag with the track's kappa, rotating-frame terms; capped at ``_DRIFT_MAX_ACCEL_MPS2``),
        the extrapolation moves by ``mu_b a dt^2 / 2`` (the ballistic model's share of the
        combined prediction) and the pre-gate widens by ``|a| reach^2 / 2`` times
        ``max(1 - mu_b, 1/2)`` (for the rest of the mixture and for the acceleration changing
        along the step). Tracks whose ballistic model is closed (probability below
        ``_FREE_FLIGHT_OPEN``) do not move.

        Parameters
        ----------
        x : ndarray, shape (m, 7)
            Track states.
        mu : ndarray, shape (m, r)
            Model probabilities.
        dt_s : ndarray, shape (m,)
            Steps of the extrapolation, s.
        reach_s : ndarray, shape (m,)
            Longest time the pre-gate must cover for each track (step plus the scan's spread), s.

        Returns
        -------
        shift : ndarray, shape (m, 3)
            ECEF displacement to add to the constant-velocity extrapolation, m.
        margin : ndarray, shape (m,)
            Widening of the pre-gate radius, m.
        """
        m = len(x)
        shift = np.zeros((m, 3))
        margin = np.zeros(m)
        if len(self._free) == 0:
            return shift, margin
        mu_b = self.free_flight_probability(mu)
        rows = np.flatnonzero(mu_b >= _FREE_FLIGHT_OPEN)
        if len(rows) == 0:
            return shift, margin
        accel = free_flight_acceleration(x[rows, :6], 1.0 / np.maximum(x[rows, 6], KAPPA_MIN))
        size = np.linalg.norm(accel, axis=1)
        accel *= (np.minimum(size, _DRIFT_MAX_ACCEL_MPS2) / np.maximum(size, 1e-300))[:, None]
        shift[rows] = (0.5 * mu_b[rows] * dt_s[rows] ** 2)[:, None] * accel
        margin[rows] = (
            0.5
            * np.minimum(size, _DRIFT_MAX_ACCEL_MPS2)
            * reach_s[rows] ** 2
            * np.maximum(1.0 - mu_b[rows], 0.5)
        )
        return shift, margin

    @property
    def free_flight_models(self) -> np.ndarray:
        """Indices of the free-flight models (``ballistic``, ``ballistic-agile``) on the model
        axis; empty without them."""
        return self._free

    def free_flight_probability(self, mu: np.ndarray) -> np.ndarray:
        """Probability of free flight (of its models together) of rows ``mu`` (m, r): (m,)."""
        return mu[:, self._free].sum(axis=1)

    def held_in_free_flight(self, mu: np.ndarray) -> np.ndarray:
        """Rows (tracks) held in free flight: free-flight probability ``mu`` at least
        ``_FREE_FLIGHT_HOLD``; ``mu`` has shape (m, r); all false without a ballistic model."""
        return self.free_flight_probability(mu) >= _FREE_FLIGHT_HOLD

    def hold_free_flight(self, Pi: np.ndarray, mu: np.ndarray) -> None:
        """Hold confirmed free flight: rows whose free-flight probability ``mu`` is at least
        ``_FREE_FLIGHT_HOLD`` stay in the free-flight models over the step, and no other model
        enters them.

        In place on ``Pi`` (the rows renormalised). Burnout is then detected rather than only
        weighed: the free-flight models are mixed with nothing but each other, extended Kalman
        filters of free flight alone, so their covariances are not widened every step by the
        share of a powered flight that has ended; the other models still run, and a manoeuvre
        that free flight cannot follow raises them at the update and ends the hold.

        Parameters
        ----------
        Pi : ndarray, shape (m, r, r)
            Switch probabilities (:meth:`switch_matrix`); modified in place.
        mu : ndarray, shape (m, r)
            Model probabilities before the step.
        """
        f = self._free
        if len(f) == 0 or len(f) == self.r:
            return
        held = np.flatnonzero(self.held_in_free_flight(mu))
        if len(held) == 0:
            return
        others = np.setdiff1d(np.arange(self.r), f)
        rows = Pi[held]
        rows[np.ix_(np.arange(len(held)), f, others)] = 0.0
        rows[np.ix_(np.arange(len(held)), others, f)] = 0.0
        rows /= rows.sum(axis=2, keepdims=True)
        Pi[held] = rows

    def close_free_flight(self, c: np.ndarray, speed_mps: np.ndarray) -> np.ndarray:
        """Close the free-flight models where their predicted probability (together) is below
        ``_FREE_FLIGHT_OPEN``, and the agile one below ``_AGILE_MIN_SPEED_MPS``.

        There their probabilities in ``c`` are set to zero and the others renormalised, in place
        (the IMM's probability floor keeps the models alive after the update, so boost can open
        them again); :meth:`predict` predicts closed models as nearly constant velocity. A
        closed agile model gives its probability to the quiet one. The agile model is for the
        forces on a ballistic body at a ballistic body's speed: slower,
        its random acceleration of about 1 g would explain an aircraft's lift as well as the
        aircraft models do, and aircraft and clutter tracks would take free flight for evidence.

        Parameters
        ----------
        c : ndarray, shape (m, r)
            Predicted model probabilities (from the IMM's mixing); modified in place.
        speed_mps : ndarray, shape (m,)
            The highest speed each track may have (its estimate and a margin for its
            uncertainty), m/s: a new track, whose speed is not known yet, keeps the model.

        Returns
        -------
        ndarray of bool, shape (m,)
            The rows where the model is closed; all false without a ballistic model.
        """
        if len(self._free) == 0:
            return np.zeros(len(c), dtype=bool)
        slow = speed_mps < _AGILE_MIN_SPEED_MPS
        if self._agile is not None and self._quiet is not None and slow.any():
            # the agile model's share stays in free flight, with the quiet model
            c[slow, self._quiet] += c[slow, self._agile]
            c[slow, self._agile] = 0.0
        closed = self.free_flight_probability(c) < _FREE_FLIGHT_OPEN
        c[np.ix_(closed, self._free)] = 0.0
        c[closed] /= c[closed].sum(axis=1, keepdims=True)
        return closed

    def predict(
        self, x: np.ndarray, P: np.ndarray, dt_s: np.ndarray, closed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model-conditioned predictions of every model: ``x' = f(x)``, ``P' = F P F^T + Q``.

        ``F`` is the transition matrix of the linear models and the Jacobian of the ballistic
        model; ``Q`` the white-noise acceleration noise of each model (``q``) and kappa's random
        walk. Every model of every row is propagated in one batched product with the 6 x 7 upper
        part of its ``F`` (kappa's row is ``[0 ... 1]``), so no full stack of 7 x 7 matrices is
        formed and the cost per call does not grow with the number of models.

        Parameters
        ----------
        x : ndarray, shape (m, r, 7)
            Model-conditioned (mixed) states.
        P : ndarray, shape (m, r, 7, 7)
            Their covariances.
        dt_s : ndarray, shape (m,)
            Steps, s (may be negative).
        closed : ndarray of bool, shape (m,), optional
            Rows whose free-flight models are closed (:meth:`close_free_flight`): predicted
            there as nearly constant velocity.

        Returns
        -------
        x_pred : ndarray, shape (m, r, 7)
        P_pred : ndarray, shape (m, r, 7, 7)
            The symmetric predicted covariances (a new array).
        """
        m, r = x.shape[:2]
        dt = np.asarray(dt_s, dtype=float)
        F = np.zeros((m, r, 6, STATE_DIM))
        F[:, :, :, :6] = cv_transition(dt)[:, None]
        if len(self._turns):
            nt = len(self._turns)
            pos = x[:, self._turns, :3].reshape(m * nt, 3)
            up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
            F[:, self._turns, :, :6] = ct_transition(
                np.repeat(dt, nt), np.tile(self._turn_rates, m), up
            ).reshape(m, nt, 6, 6)
        x_pred = np.empty_like(x)
        x_pred[..., :6] = (F[..., :6] @ x[..., :6, None])[..., 0]
        x_pred[..., 6] = x[..., 6]
        f = self._free
        if len(f) and (closed is None or not closed.all()):
            rows = np.arange(m) if closed is None else np.flatnonzero(~closed)
            k = len(f)
            xb, Fb = ballistic_transition(
                x[np.ix_(rows, f)].reshape(len(rows) * k, STATE_DIM), np.repeat(dt[rows], k)
            )
            x_pred[np.ix_(rows, f, np.arange(6))] = xb.reshape(len(rows), k, 6)
            F[np.ix_(rows, f)] = Fb.reshape(len(rows), k, 6, STATE_DIM)
        P_pred = _propagate_covariance(
            P.reshape(m * r, STATE_DIM, STATE_DIM), F.reshape(m * r, 6, STATE_DIM)
        )
        _add_process_noise(P_pred, np.repeat(dt, r), np.tile(self.q, m))
        return x_pred, P_pred.reshape(P.shape)


def _propagate_covariance(P: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``F7 P F7^T`` for 7 x 7 covariances ``P`` (m, 7, 7) and the upper rows ``F`` (m, 6, 7)
    of ``F7 = [[F], [0 ... 1]]``: a new symmetric array."""
    FP = F @ P
    out = np.empty_like(P)
    out[:, :6, :6] = FP @ np.swapaxes(F, 1, 2)
    out[:, :6, 6] = FP[:, :, 6]
    out[:, 6, :6] = FP[:, :, 6]
    out[:, 6, 6] = P[:, 6, 6]
    return symmetrize(out)


def _add_process_noise(P: np.ndarray, dt_s: np.ndarray, q: np.ndarray | float) -> None:
    """Add the white-noise acceleration noise of density ``q`` and kappa's walk, in place.

    ``P`` (m, 7, 7) may be a strided view; the noise is that of
    :func:`~airpicture.models.cv_process_noise`.
    """
    a = np.abs(dt_s)
    pp, pv, vv = q * a**3 / 3.0, q * dt_s * a / 2.0, q * a
    for k in range(3):
        P[:, k, k] += pp
        P[:, k, k + 3] += pv
        P[:, k + 3, k] += pv
        P[:, k + 3, k + 3] += vv
    P[:, 6, 6] += _KAPPA_WALK * a


def _destinations(labels: tuple[str, ...], free: np.ndarray) -> np.ndarray:
    """Where each model goes when it is left: (r, r), zero diagonal, rows summing to one.

    ``free`` marks the free-flight models. A free-flight model is left for the other one with
    weight ``_FREE_SWITCH`` against 1 for any other destination. With a boost model present,
    free flight and the aircraft models only meet through it: a body in free flight leaves it
    only for powered flight (a new stage or a manoeuvre), and an aircraft never starts to fly
    ballistically, while boost (a powered or hard manoeuvre) may end in any other model (in free
    flight as a whole as likely as in any aircraft model). Without a boost model every other
    switch is equally likely.
    """
    r = len(labels)
    if r == 1:
        return np.zeros((1, 1))
    W = 1.0 - np.eye(r)
    f = np.flatnonzero(free)
    W[np.ix_(f, f)] *= _FREE_SWITCH
    if "boost" in labels and len(f) and r > len(f) + 1:
        b = labels.index("boost")
        aircraft = np.array([i for i in range(r) if i != b and not free[i]], dtype=np.int64)
        W[np.ix_(f, aircraft)] = 0.0
        W[np.ix_(aircraft, f)] = 0.0
        W[b, f] = 1.0 / len(f)
    return W / W.sum(axis=1, keepdims=True)


def ballistic_transition(x: np.ndarray, dt_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Ballistic prediction of m states ``[x, v, kappa]`` and its 6 x 7 transition matrix.

    The state is propagated as by :func:`~airpicture.models.propagate_ballistic`
    (RK4, substeps chosen per row for the rate of change of the drag), with kappa floored at
    :data:`KAPPA_MIN` (the filter keeps its estimates of kappa non-negative,
    :func:`project_kappa`). Where the drag rate :math:`\rho\lVert v\rVert\kappa` at the
    lowest point of the step exceeds ``_MAX_DRAG_RATE`` (far below ground, or an absurd kappa:
    the ballistic hypothesis of a clutter track), the drag is scaled down to the stability limit
    of the substep, so the integration cannot blow up; real bodies are far from that rate.

    The transition matrix comes from the variational equations :math:`\dot\Phi = A\Phi`,
    :math:`\dot s = A s + b` (Jacobians :math:`A, b` of
    :func:`~airpicture.models.ballistic_jacobian`) integrated by the trapezoidal
    rule between the states at both ends of the step:

    .. math::

        \bar A = \tfrac12 (A_0 + A_1),\quad
        \Phi = I + \bar A\,\Delta t + \tfrac12 (\bar A\,\Delta t)^2,\quad
        \frac{\partial x}{\partial\beta} = \tfrac{\Delta t}{2}\,(\Phi\, b_0 + b_1)

    with :math:`\partial/\partial\kappa = -\beta^2\,\partial/\partial\beta`
    [Montenbruck and Gill, *Satellite Orbits*, Springer 2000, section 7.1 (state transition and
    sensitivity matrices)]. Both ends matter on the way down: the air density, and with it the
    drag and its sensitivity to kappa, grows by a third or more over a 2 s step of a re-entry.

    Parameters
    ----------
    x : ndarray, shape (m, 7)
        ECEF position and velocity (m, m/s) and kappa (m^2/kg).
    dt_s : ndarray, shape (m,)
        Steps, s (may be negative).

    Returns
    -------
    x_pred : ndarray, shape (m, 6)
        Predicted position and velocity.
    F : ndarray, shape (m, 6, 7)
        Rows of the transition matrix for position and velocity (kappa's row is ``[0 ... 1]``).
    """
    kappa = np.maximum(x[:, 6], KAPPA_MIN)
    r = x[:, :3]
    speed = np.linalg.norm(x[:, 3:6], axis=1)
    v_up = np.einsum("ij,ij->i", r, x[:, 3:6]) / np.linalg.norm(r, axis=1)
    h_low = approximate_height(r) + np.minimum(v_up * dt_s, 0.0) - 0.5 * _G_BOUND * dt_s**2
    # Drag rate rho |v| kappa (1/s) at the lowest point of the step, through its logarithm so
    # that a state deep underground cannot overflow.
    log_rate = (
        np.log(AIR_DENSITY_SEA_LEVEL_KGPM3)
        - h_low / AIR_SCALE_HEIGHT_M
        + np.log(np.maximum(speed * kappa, 1e-300))
    )
    rate = np.exp(np.minimum(log_rate, 700.0))
    # RK4 substep: the drag a = rho |v|^2 kappa / 2 changes at the rate nu = |v_up| / H + rho |v|
    # kappa and RK4's local error is about a h (h nu)^4 / 120, kept below _RK4_TOLERANCE_MPS;
    # gravity alone allows _MAX_STEP_S.
    nu = np.abs(v_up) / AIR_SCALE_HEIGHT_M + rate
    h_drag = (120.0 * _RK4_TOLERANCE_MPS / np.maximum(0.5 * rate * speed * nu**4, 1e-300)) ** 0.2
    substep = np.clip(h_drag, _MIN_STEP_S, _MAX_STEP_S)
    # Beyond _MAX_DRAG_RATE no real body flies (a ballistic hypothesis of clutter far below
    # ground, or an absurd kappa): there the step is not refined and the drag is scaled down to
    # the stability limit of that step.
    absurd = rate > _MAX_DRAG_RATE
    substep[absurd] = np.minimum(np.abs(dt_s[absurd]), _MAX_STEP_S)
    damp = np.ones_like(rate)
    damp[absurd] = np.minimum(
        1.0, _MAX_DRAG_STEP / (rate[absurd] * np.maximum(substep[absurd], 1e-9))
    )
    beta = 1.0 / (kappa * damp)
    x0 = x[:, :6]
    x1 = _propagate(x0, beta, dt_s, substep)
    A, b0 = ballistic_jacobian(x0, beta)
    b1 = b0.copy()
    # The end of the step only changes the Jacobians where the height, and so the air density,
    # changes: elsewhere (level flight) A1 = A0 to well within the process noise.
    climbing = np.abs(v_up * dt_s) > _LEVEL_M
    if climbing.any():
        A1, b1[climbing] = ballistic_jacobian(x1[climbing], beta[climbing])
        A[climbing] = 0.5 * (A[climbing] + A1)
    Adt = A * dt_s[:, None, None]
    F = np.empty((len(dt_s), 6, 7))
    Phi = np.eye(6) + Adt + 0.5 * (Adt @ Adt)
    F[:, :, :6] = Phi
    sens = (0.5 * dt_s)[:, None] * ((Phi @ b0[..., None])[..., 0] + b1)
    F[:, :, 6] = -sens * (beta * beta * damp)[:, None]
    return x1, F


def _propagate(
    x: np.ndarray, beta: np.ndarray, dt_s: np.ndarray, substep_s: np.ndarray
) -> np.ndarray:
    """Free flight over steps ``dt_s`` in substeps of at most ``substep_s`` (per row).

    Row i takes ``ceil(|dt_i| / substep_s_i)`` RK4 substeps rounded up to a power of two (the
    rows of one power share their count, as when they were integrated together by
    :func:`~airpicture.models.propagate_ballistic`).
    """
    steps = np.maximum(np.ceil(np.abs(dt_s) / substep_s), 1.0)
    return propagate_free_flight(x, beta, dt_s, 2 ** np.ceil(np.log2(steps)).astype(np.int64))


def project_kappa(x: np.ndarray, P: np.ndarray) -> np.ndarray:
    r"""Estimates with a negative kappa moved onto the constraint :math:`\kappa = 0`.

    Drag cannot accelerate a body, so :math:`\kappa \ge 0`. An update that leaves a negative
    estimate is projected onto the boundary along the covariance, :math:`\hat x \leftarrow
    \hat x - P e_\kappa (e_\kappa^T P e_\kappa)^{-1} e_\kappa^T \hat x`, which also moves the
    states correlated with kappa [D. Simon and T. L. Chia, "Kalman filtering with state equality
    constraints", IEEE Trans. AES 38(1), 2002, pp. 128-136: the estimate projection with the
    covariance as weight]; the covariance is kept, so kappa stays free to grow again. Without
    it, propagating a negative estimate as zero drag would ignore half of kappa's error and bias
    the estimate low.

    Parameters
    ----------
    x : ndarray, shape (n, 7)
        Filter states ``[x, v, kappa]`` (m, m/s, m^2/kg).
    P : ndarray, shape (n, 7, 7)
        Their covariances.

    Returns
    -------
    x : ndarray, shape (n, 7)
        A new array; rows with kappa >= 0 are unchanged.
    """
    out = x.copy()
    low = out[:, 6] < 0.0
    if low.any():
        Pk = P[low, :, 6]
        out[low] -= Pk * (out[low, 6] / np.maximum(Pk[:, 6], 1e-300))[:, None]
        out[low, 6] = 0.0
    return out


def approximate_height(r_m: np.ndarray) -> np.ndarray:
    r"""Height above the WGS-84 ellipsoid to about 10 m (first order in the flattening), m.

    :math:`h \approx \lVert r\rVert - a\,(1 - f \sin^2\psi)`, with :math:`\psi` the
    geocentric latitude: the ellipsoid's radius to first order in :math:`f` [e.g. Vallado 2013,
    section 3.2]. For the tracker's cheap decisions (which model a new track starts with,
    stability guards), where a full :func:`~airpicture.geo.ecef2geodetic` is not needed.

    Parameters
    ----------
    r_m : ndarray, shape (n, 3)
        ECEF positions, m.

    Returns
    -------
    alt_m : ndarray, shape (n,)
    """
    norm = np.linalg.norm(r_m, axis=1)
    sin2 = (r_m[:, 2] / norm) ** 2
    return norm - WGS84_A_M * (1.0 - WGS84_F * sin2)
