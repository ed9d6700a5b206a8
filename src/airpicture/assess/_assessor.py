"""The assessment step after each tracker frame: kinds, impacts and warnings.

:class:`Assessor` composes :mod:`~airpicture.assess._classify`,
:mod:`~airpicture.assess._impact` and :mod:`~airpicture.assess._warning`. Call
:meth:`Assessor.update` with the tracker and the rows of every frame it processes (the
tracker's ``on_frame`` hook, :meth:`airpicture.tracker.Tracker.process`): it returns the rows
with their ``kind`` filled in, an impact row for every update of a confirmed ballistic track,
and the alert changes. Everything follows from the tracker's state and the frames, never from
the wall clock, so every node fed the same detections computes the same assessment. When the
input ends, :meth:`Assessor.finish` closes the alerts still in force.

Example
-------
>>> assessor = Assessor(AssessConfig(), areas=read_warning_areas())    # doctest: +SKIP
>>> def on_frame(rows, t_s):                                            # doctest: +SKIP
...     handle(assessor.update(tracker, rows, t_s))
>>> tracker.run(chunks, on_frame=on_frame)                              # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from airpicture.assess._classify import (
    ClassifierConfig,
    classify,
    free_flight_energy_probability,
    kind_log_likelihoods,
    smooth_log_likelihoods,
    specific_energy,
    track_features,
)
from airpicture.assess._impact import predict_impacts
from airpicture.assess._launch import LaunchEstimate, estimate_launches
from airpicture.assess._warning import AlertBook, WarningAreas, ellipses_meet_areas
from airpicture.codes import TRACK_KINDS
from airpicture.config import Interval, check_fields, load_config
from airpicture.errors import ConfigError
from airpicture.filters import combine
from airpicture.tables import AlertRows, ImpactRows, TrackRows
from airpicture.tracker import Tracker

__all__ = ["AssessConfig", "Assessment", "Assessor", "TrackStates"]

logger = logging.getLogger(__name__)

_FIRM = ("confirmed", "coasting")
_FREE_FLIGHT_MODELS = ("ballistic", "ballistic-agile")
_ROCKET_MODELS = ("ballistic", "boost")
"""The models whose probability is evidence of a rocket: not the agile free-flight model, whose
random acceleration also explains erratic aircraft and clutter tracks."""
_AIR_KINDS = ("aircraft", "cruise", "helicopter/uav")


def _check(low: float, high: float, closed: str = "both") -> Any:
    return {"check": Interval(low, high, closed)}


@dataclass(frozen=True, kw_only=True)
class AssessConfig:
    """Settings of :class:`Assessor`; every field has a working default.

    Attributes
    ----------
    confidence : float
        Probability mass of the impact ellipses: the ellipse written to the impacts table, and
        the one an alert is issued on when it meets an area.
    cancel_confidence : float
        An alert in force is cancelled when the ellipse of this mass no longer meets its area;
        larger than ``confidence`` for hysteresis, equal for none.
    max_flight_s : float
        Longest flight to impact (or back to launch) considered, s.
    alert_update_m : float
        An alert in force is re-issued as ``updated`` when its impact point moves this far, m.
    alert_update_s : float
        ... or its predicted impact time by this much, s.
    down_margin_s : float
        An object counts as down this long after its predicted impact time, s.
    alert_min_hits : int
        Detections a track must have assimilated before its prediction may raise an alert.
    alert_max_semi_major_m : float
        An alert is raised only once the impact ellipse's semi-major axis is at most this, m:
        the prediction of a track seen for a few seconds may cover half the sea.
    alert_after_air_s : float
        A track labelled an air-breathing kind (aircraft, cruise, helicopter/uav) raises no
        alert until it has been something else for this long, s: a missile is never an
        aircraft first, so such a change is far likelier an error of the track (a wrong
        association, an airliner's descent) than a threat. Its impact predictions are still
        written; the alerts withheld are logged.
    launch : bool
        Estimate launch points and times (:func:`~airpicture.assess.estimate_launches`).
    classifier : ClassifierConfig
        Settings of the classification.
    """

    confidence: float = field(default=0.95, metadata=_check(0.0, 1.0, "neither"))
    cancel_confidence: float = field(default=0.95, metadata=_check(0.0, 1.0, "neither"))
    max_flight_s: float = field(default=3600.0, metadata=_check(1.0, 86_400.0))
    alert_update_m: float = field(default=2000.0, metadata=_check(0.0, 1e7))
    alert_update_s: float = field(default=5.0, metadata=_check(0.0, 1e5))
    down_margin_s: float = field(default=5.0, metadata=_check(0.0, 3600.0))
    alert_min_hits: int = field(default=10, metadata={"check": Interval(1, 10_000, integer=True)})
    alert_max_semi_major_m: float = field(default=50_000.0, metadata=_check(0.0, 1e7))
    alert_after_air_s: float = field(default=60.0, metadata=_check(0.0, 1e5))
    launch: bool = True
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    def __post_init__(self) -> None:
        check_fields(self, source="AssessConfig")
        if self.cancel_confidence < self.confidence:
            raise ConfigError(
                "AssessConfig",
                key="cancel_confidence",
                expected=f"at least confidence ({self.confidence:g})",
                got=repr(self.cancel_confidence),
            )

    @classmethod
    def from_mapping(
        cls, values: dict[str, Any], *, source: str = "assessment settings"
    ) -> AssessConfig:
        """Settings from a mapping (a ``[assess]`` TOML table, ``[assess.classifier]`` inside)."""
        values = dict(values)
        classifier = values.pop("classifier", {})
        if not isinstance(classifier, dict):
            raise ConfigError(
                source, key="classifier", expected="a table of settings", got=repr(classifier)
            )
        inner = load_config(ClassifierConfig, classifier, source=source, prefix="classifier.")
        if "launch" in values and not isinstance(values["launch"], bool):
            raise ConfigError(
                source, key="launch", expected="true or false", got=repr(values["launch"])
            )
        launch = values.pop("launch", True)
        config = load_config(cls, values, source=source)
        try:
            return cls(**{**config.__dict__, "launch": launch, "classifier": inner})
        except ConfigError as exc:
            raise ConfigError(source, key=exc.key, expected=exc.expected, got=exc.got) from None


@dataclass(frozen=True)
class Assessment:
    """What one assessment step produced.

    Attributes
    ----------
    rows : TrackRows
        The frame's rows with ``kind`` filled in.
    impacts : ImpactRows
        Impact (and launch) predictions of the ballistic tracks updated in the frame.
    alerts : AlertRows
        Alert changes (issued, updated, cancelled) of the frame.
    """

    rows: TrackRows
    impacts: ImpactRows
    alerts: AlertRows


@dataclass(frozen=True)
class TrackStates:
    """The tracks an :meth:`Assessor.warn` step sees, one row each (n rows).

    Attributes
    ----------
    track_id : ndarray of str, shape (n,)
    t_s : ndarray, shape (n,)
        Time of each state, s.
    x : ndarray, shape (n, 7)
        ECEF position and velocity (m, m/s) and the inverse ballistic coefficient (m^2/kg).
    P : ndarray, shape (n, 7, 7)
        Its covariance.
    hits : ndarray of int64, shape (n,)
        Detections the track has assimilated.
    kind : ndarray of str, shape (n,)
        Current kind (:data:`~airpicture.codes.TRACK_KINDS`).
    firm : ndarray of bool, shape (n,)
        Confirmed or coasting.
    """

    track_id: np.ndarray
    t_s: np.ndarray
    x: np.ndarray
    P: np.ndarray
    hits: np.ndarray
    kind: np.ndarray
    firm: np.ndarray

    def __len__(self) -> int:
        return len(self.track_id)

    def take(self, index: np.ndarray) -> TrackStates:
        """Rows ``index`` (an index array or boolean mask)."""
        return TrackStates(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def concat(cls, parts: list[TrackStates]) -> TrackStates:
        """Rows of several parts, in order (an empty list gives no rows)."""
        if not parts:
            return cls(
                np.empty(0, dtype=str),
                np.empty(0),
                np.empty((0, 7)),
                np.empty((0, 7, 7)),
                np.empty(0, np.int64),
                np.empty(0, dtype=str),
                np.empty(0, bool),
            )
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


class Assessor:
    """Classification, impact prediction and warnings over a tracker's frames.

    Parameters
    ----------
    config : AssessConfig, optional
        Settings (defaults when omitted).
    areas : WarningAreas, optional
        Warning areas; without them no alerts are raised.

    Attributes
    ----------
    alert_book : AlertBook or None
        The alerts in force.
    """

    def __init__(
        self, config: AssessConfig | None = None, *, areas: WarningAreas | None = None
    ) -> None:
        self.config = config if config is not None else AssessConfig()
        self.areas = areas
        c = self.config
        self.alert_book = (
            AlertBook(
                areas,
                update_m=c.alert_update_m,
                update_s=c.alert_update_s,
                down_margin_s=c.down_margin_s,
            )
            if areas is not None and len(areas)
            else None
        )
        # per-track state, sorted by track id
        self._ids = np.empty(0, dtype=str)
        self._loglik = np.empty((0, len(TRACK_KINDS)))
        self._t_s = np.empty(0)
        self._kind = np.empty(0, dtype=object)
        self._peak_energy = np.empty(0)
        self._last_air_t = np.empty(0)
        # per track id: the state time of its latest impact prediction (see warn)
        self._predicted: dict[str, float] = {}

    # ------------------------------------------------------------------ state
    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._ids, ids)
        ok = pos < len(self._ids)
        ok[ok] = self._ids[pos[ok]] == ids[ok]
        return np.where(ok, pos, -1)

    def _store(
        self,
        ids: np.ndarray,
        loglik: np.ndarray,
        t_s: np.ndarray,
        kind: np.ndarray,
        peak_energy: np.ndarray,
        last_air_t: np.ndarray,
    ) -> None:
        pos = self._lookup(ids)
        old = pos >= 0
        self._loglik[pos[old]] = loglik[old]
        self._t_s[pos[old]] = t_s[old]
        self._kind[pos[old]] = kind[old]
        self._peak_energy[pos[old]] = peak_energy[old]
        self._last_air_t[pos[old]] = last_air_t[old]
        if (~old).any():
            new = ~old
            ids_all = np.concatenate([self._ids, ids[new]])
            order = np.argsort(ids_all, kind="stable")
            self._ids = ids_all[order]
            self._loglik = np.concatenate([self._loglik, loglik[new]])[order]
            self._t_s = np.concatenate([self._t_s, t_s[new]])[order]
            self._kind = np.concatenate([self._kind, kind[new].astype(object)])[order]
            self._peak_energy = np.concatenate([self._peak_energy, peak_energy[new]])[order]
            self._last_air_t = np.concatenate([self._last_air_t, last_air_t[new]])[order]

    def _forget(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, ids)
        self._ids, self._loglik, self._t_s = self._ids[keep], self._loglik[keep], self._t_s[keep]
        self._kind, self._peak_energy = self._kind[keep], self._peak_energy[keep]
        self._last_air_t = self._last_air_t[keep]

    def kinds(self, track_ids: np.ndarray) -> np.ndarray:
        """Current kind of tracks (``unknown`` for tracks not seen)."""
        pos = self._lookup(np.asarray(track_ids, dtype=str))
        out = np.full(len(pos), TRACK_KINDS[-1], dtype=object)
        out[pos >= 0] = self._kind[pos[pos >= 0]]
        return out

    # ------------------------------------------------------------------ the step
    def update(self, tracker: Tracker, rows: TrackRows, t_s: float) -> Assessment:
        """Assess one tracker frame under the tracker's own track ids.

        :meth:`classify`, then :meth:`warn` on the frame's live tracks (a network node runs the
        two apart, with the network's track numbers and its partners' tracks in between).

        Parameters
        ----------
        tracker : Tracker
            The tracker, with :attr:`~airpicture.tracker.Tracker.tracks` at the end of the frame.
        rows : TrackRows
            The frame's rows (at most one per track).
        t_s : float
            Time up to which the frame is complete, s (alert changes carry it).

        Returns
        -------
        Assessment
        """
        out_rows = self.classify(tracker, rows)
        impacts, alerts = self.warn(self.states(tracker, out_rows), t_s)
        self.forget(out_rows.track_id[out_rows.status == "deleted"])
        return Assessment(out_rows, impacts, alerts)

    def classify(self, tracker: Tracker, rows: TrackRows) -> TrackRows:
        """The frame's rows with ``kind`` filled in (deleted tracks keep their last kind).

        Parameters
        ----------
        tracker : Tracker
            The tracker, with :attr:`~airpicture.tracker.Tracker.tracks` at the end of the frame.
        rows : TrackRows
            The frame's rows (at most one per track).
        """
        kind = np.full(len(rows), TRACK_KINDS[-1], dtype=object)
        deleted = rows.status == "deleted"
        live = np.flatnonzero(~deleted)
        if len(live):
            ids = np.asarray(rows.track_id[live], dtype=str)
            idx = tracker.rows_index(rows)[live]
            have = idx >= 0
            kind[live[have]] = self._classify(tracker, ids[have], idx[have])
        if deleted.any():
            gone = np.asarray(rows.track_id[deleted], dtype=str)
            kind[deleted] = self.kinds(gone)
            self._forget(gone)
        return replace(rows, kind=kind.astype(str))

    @staticmethod
    def states(tracker: Tracker, rows: TrackRows) -> TrackStates:
        """What :meth:`warn` needs of the live rows' tracks, from the tracker: for a ``ballistic``
        track, the state of its free-flight models combined (the state an impact is predicted
        from), for the others the IMM's combined state."""
        live = np.flatnonzero(rows.status != "deleted")
        ids = np.asarray(rows.track_id[live], dtype=str)
        idx = tracker.rows_index(rows)[live]
        have = idx >= 0
        live, ids, idx = live[have], ids[have], idx[have]
        T = tracker.tracks
        labels = tracker.model_labels
        x, P = T.x[idx].copy(), T.P[idx].copy()
        models = [j for j, m in enumerate(labels) if m in _FREE_FLIGHT_MODELS]
        if models:
            free = np.flatnonzero(np.asarray(rows.kind[live]) == "ballistic")
            i = idx[free]
            mu = T.mu[i][:, models]
            x[free], P[free] = combine(
                T.xm[i][:, models], T.Pm[i][:, models], mu / mu.sum(axis=1, keepdims=True)
            )
        return TrackStates(
            track_id=ids,
            t_s=T.t_s[idx].copy(),
            x=x,
            P=P,
            hits=T.hits[idx].astype(np.int64),
            kind=np.asarray(rows.kind[live], dtype=str),
            firm=np.isin(rows.status[live], _FIRM),
        )

    def warn(self, states: TrackStates, t_s: float) -> tuple[ImpactRows, AlertRows]:
        """Impact predictions and alert changes of the tracks updated in a frame.

        A firm ``ballistic`` track gets a prediction once per state time; tracks with alerts in
        force that are no longer ballistic have them cancelled; objects down by ``t_s`` have
        theirs cancelled too. The tracks may be a tracker's or a network's (partners' tracks
        carry the same state), so two nodes given the same states issue the same alerts.

        Parameters
        ----------
        states : TrackStates
            The live tracks of the frame, at most one row each.
        t_s : float
            Time up to which the frame is complete, s (alert changes carry it).
        """
        alerts: list[AlertRows] = []
        impacts = ImpactRows.empty()
        if len(states.track_id):
            impacts, changed = self._impacts(states, t_s)
            alerts.append(changed)
        if self.alert_book is not None:
            alerts.append(self.alert_book.tick(t_s))
        return impacts, _concat_alerts([a for a in alerts if len(a)])

    def forget(self, track_ids: np.ndarray) -> None:
        """Tracks that ended: forget what :meth:`warn` kept of them (their alerts stay in force
        until their objects are down)."""
        for track_id in np.asarray(track_ids, dtype=str):
            self._predicted.pop(str(track_id), None)

    def tick(self, t_s: float) -> AlertRows:
        """Let time pass without a frame: cancel the alerts whose objects are down by ``t_s``.

        :meth:`update` does this after every frame; a caller whose input has ended (or falls
        silent) calls it to close the alerts of objects that came down after the last frame.
        """
        if self.alert_book is None:
            return AlertRows.empty()
        return self.alert_book.tick(t_s)

    def finish(self, t_s: float) -> AlertRows:
        """The input has ended at ``t_s``: cancel every alert still in force.

        The alerts of objects down by ``t_s`` are cancelled as ``down``, the others as
        ``end-of-input``, so that a record of the alert changes leaves no alert open.

        Parameters
        ----------
        t_s : float
            Time up to which the input was assessed, s (the last frame's).

        Returns
        -------
        AlertRows
            The cancellations, ordered by reason, then track and area.
        """
        book = self.alert_book
        if book is None:
            return AlertRows.empty()
        down = book.tick(t_s)
        rest = book.cancel_tracks(t_s, [track for _, _, track in book.active()], "end-of-input")
        return _concat_alerts([down, rest])

    def _classify(self, tracker: Tracker, ids: np.ndarray, idx: np.ndarray) -> np.ndarray:
        T = tracker.tracks
        labels = tracker.model_labels
        mu = T.mu[idx]
        rocket = [j for j, m in enumerate(labels) if m in _ROCKET_MODELS]
        # the quiet free-flight model only (see _ROCKET_MODELS)
        free = [j for j, m in enumerate(labels) if m == "ballistic"]
        cfg = self.config.classifier
        pos = self._lookup(ids)
        known = pos >= 0
        # the free-flight energy each track has shown (module docstring of _classify)
        energy, sd_energy = specific_energy(T.x[idx], T.P[idx])
        peak = energy - 2.0 * sd_energy
        peak[known] = np.maximum(peak[known], self._peak_energy[pos[known]])
        current = kind_log_likelihoods(
            track_features(T.x[idx], T.P[idx]),
            mu[:, free].sum(axis=1),
            mu[:, rocket].sum(axis=1),
            cfg,
            free_flight_energy=free_flight_energy_probability(energy, sd_energy, peak, cfg),
        )
        previous = np.full_like(current, np.nan)
        dt = np.zeros(len(ids))
        previous[known] = self._loglik[pos[known]]
        dt[known] = T.t_s[idx[known]] - self._t_s[pos[known]]
        smoothed = smooth_log_likelihoods(previous, current, dt, cfg.time_constant_s)
        kind, _, _ = classify(smoothed, cfg)
        t = T.t_s[idx]
        last_air = np.full(len(ids), -np.inf)
        last_air[known] = self._last_air_t[pos[known]]
        last_air = np.where(np.isin(kind, _AIR_KINDS), t, last_air)
        self._store(ids, smoothed, t.copy(), kind, peak, last_air)
        return kind

    def _impacts(self, states: TrackStates, t_s: float) -> tuple[ImpactRows, AlertRows]:
        ids, kind = states.track_id, states.kind
        ballistic = (kind == "ballistic") & states.firm
        # tracks that were ballistic and are no longer: their alerts go
        was = self._kind_before_ballistic(ids, kind)
        changes: list[AlertRows] = []
        if self.alert_book is not None and was.any():
            changes.append(self.alert_book.cancel_tracks(t_s, ids[was], "not-ballistic"))
        done = np.array(
            [self._predicted.get(str(i)) == t for i, t in zip(ids, states.t_s, strict=True)],
            dtype=bool,
        )
        sel = np.flatnonzero(ballistic & ~done)
        if len(sel) == 0:
            return ImpactRows.empty(), _concat_alerts(changes)
        x, P, t_state = states.x[sel], states.P[sel], states.t_s[sel]
        cfg = self.config
        pred = predict_impacts(x, P, t_state, max_time_s=cfg.max_flight_s)
        for i, t in zip(ids[sel], t_state, strict=True):
            self._predicted[str(i)] = float(t)
        ok = np.flatnonzero(pred.valid)
        if len(ok) == 0:
            return ImpactRows.empty(), _concat_alerts(changes)
        a, b, orient = pred.ellipse(cfg.confidence)
        track_ids = ids[sel][ok]
        launch = (
            estimate_launches(x[ok], P[ok], t_state[ok], max_time_s=cfg.max_flight_s)
            if cfg.launch
            else LaunchEstimate.unknown(len(ok))
        )
        impacts = ImpactRows(
            t_s=t_state[ok].copy(),
            track_id=track_ids,
            impact_t_s=pred.impact_t_s[ok],
            impact_lat_rad=pred.impact_lat_rad[ok],
            impact_lon_rad=pred.impact_lon_rad[ok],
            semi_major_m=a[ok],
            semi_minor_m=b[ok],
            orientation_rad=orient[ok],
            confidence=np.full(len(ok), cfg.confidence),
            **launch.columns(cfg.confidence),
        )
        if self.alert_book is not None and self.areas is not None:
            lat, lon, cov = pred.impact_lat_rad[ok], pred.impact_lon_rad[ok], pred.cov_en_m2[ok]
            mature = (states.hits[sel][ok] >= cfg.alert_min_hits) & (
                a[ok] <= cfg.alert_max_semi_major_m
            )
            was_air = self._was_air(track_ids, t_state[ok], cfg.alert_after_air_s)
            meets_all = ellipses_meet_areas(self.areas, lat, lon, cov, cfg.confidence)
            for track_id in track_ids[was_air & mature & meets_all.any(axis=1)]:
                logger.warning(
                    "alert withheld: track %s predicts an impact in a warning area but was an "
                    "air-breathing kind less than %g s ago",
                    track_id,
                    cfg.alert_after_air_s,
                )
            meets = meets_all & (mature & ~was_air)[:, None]
            # An alert in force stays while the cancel-confidence ellipse meets its area; it is not
            # withdrawn because a prediction was immature for a while.
            wide = (
                meets_all
                if cfg.cancel_confidence == cfg.confidence
                else ellipses_meet_areas(self.areas, lat, lon, cov, cfg.cancel_confidence)
            )
            keeps = wide
            changes.append(
                self.alert_book.update(t_s, track_ids, meets, keeps, pred.impact_t_s[ok], lat, lon)
            )
        return impacts, _concat_alerts(changes)

    def _was_air(self, ids: np.ndarray, t_s: np.ndarray, within_s: float) -> np.ndarray:
        """Tracks labelled an air-breathing kind within ``within_s`` before ``t_s``."""
        pos = self._lookup(np.asarray(ids, dtype=str))
        last = np.full(len(ids), -np.inf)
        last[pos >= 0] = self._last_air_t[pos[pos >= 0]]
        return np.asarray(t_s - last < within_s)

    def _kind_before_ballistic(self, ids: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Tracks whose alerts must go: they have alerts in force but are no longer ballistic."""
        if self.alert_book is None:
            return np.zeros(len(ids), dtype=bool)
        alerted = {track for _, _, track in self.alert_book.active()}
        return np.array([str(t) in alerted for t in ids], dtype=bool) & (kind != "ballistic")


def _concat_alerts(parts: list[AlertRows]) -> AlertRows:
    parts = [p for p in parts if len(p)]
    return AlertRows.concat(parts)
