"""The assessment step after each tracker frame: kinds, impacts and warnings.

:class:`Assessor` composes :mod:`~airpicture.assess.classify`,
:mod:`~airpicture.assess.impact` and :mod:`~airpicture.assess.warning`. Call
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

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from airpicture.assess.classify import (
    KINDS,
    ClassifierConfig,
    classify,
    kind_log_likelihoods,
    smooth_log_likelihoods,
    track_features,
)
from airpicture.assess.impact import predict_impacts
from airpicture.assess.warning import AlertBook, WarningAreas, ellipses_meet_areas
from airpicture.config import Interval, check_fields, load_config
from airpicture.errors import ConfigError
from airpicture.tables import AlertRows, ImpactRows, TrackRows
from airpicture.tracker import Tracker

__all__ = ["AssessConfig", "Assessment", "Assessor"]

_FIRM = ("confirmed", "coasting")
_ROCKET_MODELS = ("ballistic", "boost")


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
    launch : bool
        Estimate launch points and times (back-propagation to the ground).
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
        self._loglik = np.empty((0, len(KINDS)))
        self._t_s = np.empty(0)
        self._kind = np.empty(0, dtype=object)
        self._predicted_t_s = np.empty(0)

    # ------------------------------------------------------------------ state
    def _lookup(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self._ids, ids)
        ok = pos < len(self._ids)
        ok[ok] = self._ids[pos[ok]] == ids[ok]
        return np.where(ok, pos, -1)

    def _store(
        self, ids: np.ndarray, loglik: np.ndarray, t_s: np.ndarray, kind: np.ndarray
    ) -> None:
        pos = self._lookup(ids)
        old = pos >= 0
        self._loglik[pos[old]] = loglik[old]
        self._t_s[pos[old]] = t_s[old]
        self._kind[pos[old]] = kind[old]
        if (~old).any():
            new = ~old
            ids_all = np.concatenate([self._ids, ids[new]])
            order = np.argsort(ids_all, kind="stable")
            self._ids = ids_all[order]
            self._loglik = np.concatenate([self._loglik, loglik[new]])[order]
            self._t_s = np.concatenate([self._t_s, t_s[new]])[order]
            self._kind = np.concatenate([self._kind, kind[new].astype(object)])[order]
            self._predicted_t_s = np.concatenate(
                [self._predicted_t_s, np.full(int(new.sum()), np.nan)]
            )[order]

    def _forget(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, ids)
        self._ids, self._loglik, self._t_s = self._ids[keep], self._loglik[keep], self._t_s[keep]
        self._kind, self._predicted_t_s = self._kind[keep], self._predicted_t_s[keep]

    def kinds(self, track_ids: np.ndarray) -> np.ndarray:
        """Current kind of tracks (``unknown`` for tracks not seen)."""
        pos = self._lookup(np.asarray(track_ids, dtype=str))
        out = np.full(len(pos), KINDS[-1], dtype=object)
        out[pos >= 0] = self._kind[pos[pos >= 0]]
        return out

    # ------------------------------------------------------------------ the step
    def update(self, tracker: Tracker, rows: TrackRows, t_s: float) -> Assessment:
        """Assess one tracker frame.

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
        kind = np.full(len(rows), KINDS[-1], dtype=object)
        deleted = rows.status == "deleted"
        live = np.flatnonzero(~deleted)
        impacts = ImpactRows.empty()
        alerts: list[AlertRows] = []
        if len(live):
            ids = np.asarray(rows.track_id[live], dtype=str)
            idx = tracker.track_index(ids)
            have = idx >= 0
            live, ids, idx = live[have], ids[have], idx[have]
            kind[live] = self._classify(tracker, ids, idx)
            impacts, changed = self._impacts(tracker, rows, live, ids, idx, kind[live], t_s)
            alerts.append(changed)
        if deleted.any():
            gone = np.asarray(rows.track_id[deleted], dtype=str)
            kind[deleted] = self.kinds(gone)
            self._forget(gone)
        if self.alert_book is not None:
            alerts.append(self.alert_book.tick(t_s))
        out_rows = replace(rows, kind=kind.astype(str))
        parts = [a for a in alerts if len(a)]
        all_alerts = AlertRows.concat(parts) if parts else AlertRows.empty()
        return Assessment(out_rows, impacts, all_alerts)

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
        free = [j for j, m in enumerate(labels) if m == "ballistic"]
        cfg = self.config.classifier
        current = kind_log_likelihoods(
            track_features(T.x[idx], T.P[idx]),
            mu[:, free].sum(axis=1),
            mu[:, rocket].sum(axis=1),
            cfg,
        )
        pos = self._lookup(ids)
        known = pos >= 0
        previous = np.full_like(current, np.nan)
        dt = np.zeros(len(ids))
        previous[known] = self._loglik[pos[known]]
        dt[known] = T.t_s[idx[known]] - self._t_s[pos[known]]
        smoothed = smooth_log_likelihoods(previous, current, dt, cfg.time_constant_s)
        kind, _, _ = classify(smoothed, cfg)
        self._store(ids, smoothed, T.t_s[idx].copy(), kind)
        return kind

    def _impacts(
        self,
        tracker: Tracker,
        rows: TrackRows,
        live: np.ndarray,
        ids: np.ndarray,
        idx: np.ndarray,
        kind: np.ndarray,
        t_s: float,
    ) -> tuple[ImpactRows, AlertRows]:
        T = tracker.tracks
        pos = self._lookup(ids)
        firm = np.isin(rows.status[live], _FIRM)
        ballistic = (kind == "ballistic") & firm
        # tracks that were ballistic and are no longer: their alerts go
        was = self._kind_before_ballistic(ids, kind)
        changes: list[AlertRows] = []
        if self.alert_book is not None and was.any():
            changes.append(self.alert_book.cancel_tracks(t_s, ids[was], "not-ballistic"))
        fresh = ballistic & ~(self._predicted_t_s[np.maximum(pos, 0)] == T.t_s[idx])
        sel = np.flatnonzero(fresh)
        if len(sel) == 0:
            return ImpactRows.empty(), _concat_alerts(changes)
        labels = tracker.model_labels
        k = idx[sel]
        if "ballistic" in labels:
            j = labels.index("ballistic")
            x, P = T.xm[k, j], T.Pm[k, j]
        else:
            x, P = T.x[k], T.P[k]
        cfg = self.config
        pred = predict_impacts(x, P, T.t_s[k], max_time_s=cfg.max_flight_s, launch=cfg.launch)
        self._predicted_t_s[pos[sel]] = T.t_s[k]
        ok = np.flatnonzero(pred.valid)
        if len(ok) == 0:
            return ImpactRows.empty(), _concat_alerts(changes)
        a, b, orient = pred.ellipse(cfg.confidence)
        track_ids = ids[sel][ok]
        impacts = ImpactRows(
            t_s=T.t_s[k][ok].copy(),
            track_id=track_ids,
            impact_t_s=pred.impact_t_s[ok],
            impact_lat_rad=pred.impact_lat_rad[ok],
            impact_lon_rad=pred.impact_lon_rad[ok],
            semi_major_m=a[ok],
            semi_minor_m=b[ok],
            orientation_rad=orient[ok],
            confidence=np.full(len(ok), cfg.confidence),
            launch_t_s=pred.launch_t_s[ok],
            launch_lat_rad=pred.launch_lat_rad[ok],
            launch_lon_rad=pred.launch_lon_rad[ok],
        )
        if self.alert_book is not None and self.areas is not None:
            lat, lon, cov = pred.impact_lat_rad[ok], pred.impact_lon_rad[ok], pred.cov_en_m2[ok]
            mature = (T.hits[k][ok] >= cfg.alert_min_hits) & (a[ok] <= cfg.alert_max_semi_major_m)
            meets_all = ellipses_meet_areas(self.areas, lat, lon, cov, cfg.confidence)
            meets = meets_all & mature[:, None]
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

    def _kind_before_ballistic(self, ids: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Tracks whose alerts must go: they have alerts in force but are no longer ballistic."""
        if self.alert_book is None:
            return np.zeros(len(ids), dtype=bool)
        alerted = {track for _, _, track in self.alert_book.active()}
        return np.array([str(t) in alerted for t in ids], dtype=bool) & (kind != "ballistic")


def _concat_alerts(parts: list[AlertRows]) -> AlertRows:
    parts = [p for p in parts if len(p)]
    if not parts:
        return AlertRows.empty()
    return parts[0] if len(parts) == 1 else AlertRows.concat(parts)
