"""The picture as the map sees it: current tracks, bounded history, sensors, impacts and alerts.

:class:`PictureStore` keeps one *view* per nation (the picture as that nation's node holds it).
Tracker output arrives as :class:`~airpicture.tables.TrackRows` deltas (one row per created or
updated track, a ``deleted`` row when a track is dropped) through :meth:`PictureStore.apply`; the
store converts each row once to the display form below, keeps the newest record of every live
track, appends every row to a bounded history (for trails, track histories and scrubbing back in
time) and hands a JSON-ready delta message to every subscriber.

Display records (``dict``; short keys because thousands are sent every second):

====  =====================================================================================
key   meaning
====  =====================================================================================
id    track id
t     time the state refers to, s since the Unix epoch
lat   geodetic latitude, deg (WGS-84)
lon   geodetic longitude, deg, in (-180, 180]
alt   height above the ellipsoid, m
crs   course over ground, deg clockwise from true north, [0, 360)
spd   horizontal speed, m/s
vz    vertical speed (up positive), m/s
sa    1-sigma semi-major axis of the horizontal position ellipse, m
sb    1-sigma semi-minor axis, m
ori   orientation of the semi-major axis, deg clockwise from true north, [0, 180)
sz    1-sigma vertical position uncertainty, m
kind  classification (``aircraft``, ``ballistic``, ``unknown`` ...)
st    status: ``tentative``, ``confirmed`` or ``coasting``
nat   ``;``-separated nations whose sensors contributed
src   where the track came from, as the rows' ``sources`` give it: ``;``-separated
      ``NATION:plots`` (that nation's plots, fused by the node's tracker) and ``NATION:track``
      (that partner's track, fused track to track) entries; empty when the rows carry none
tq    track quality of the position covariance, int 0-15 (15 best); None when not carried
lid   the node's own tracker id of the track (``T000123``); empty when only partners' tracks
      hold it or the rows carry no local ids
cs    callsign (only when the track's identity is known, :meth:`PictureStore.set_identity`)
sq    squawk (Mode 3/A code, four octal digits), when known
ms    Mode S address (six hex digits), when known
em    emergency (``general``, ``no-communications``, ``unlawful-interference``, ...) when the
      aircraft declares one (squawk 7700, 7600, 7500 or ADS-B emergency state)
idn   standard identity letter (MIL-STD-2525): ``N`` (neutral) for a cooperative civil
      aircraft (Mode S address or callsign known)
====  =====================================================================================

In a network picture ``id`` is the network track number (``JPN2-1342``), the same in every
view that holds the object.

The ellipse comes from the ECEF position covariance rotated into the local east-north-up frame
at the track; its east-north block is diagonalised. Non-finite numbers become ``None``.

:mod:`airpicture.web._display` makes the records, :mod:`airpicture.web._overlays` holds the
impacts, alerts and sensor sites, and :mod:`airpicture.web._history` a view's bounded history.
This module has no web dependencies; :mod:`airpicture.web._app` serves it over HTTP.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from airpicture.assess import WarningAreas
from airpicture.codes import DELETED, STATUS_CODES, STATUS_NAMES
from airpicture.errors import DataError
from airpicture.tables import ALERT_STATES, AlertRows, ImpactRows, TrackRows
from airpicture.web._display import (
    _display_columns,
    _network_columns,
    _records_from_columns,
    display_records,
)
from airpicture.web._history import _HISTORY_FLOATS, _history_records, _View
from airpicture.web._overlays import Alert, Impact, SensorSite
from airpicture.web._overlays import sites_from_table as sites_from_table

__all__ = [
    "ALERT_STATES",
    "Alert",
    "Impact",
    "Listener",
    "PictureStore",
    "SensorSite",
    "display_records",
]

_IDENTITY_KEYS = frozenset({"cs", "sq", "ms", "em", "idn"})
logger = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
"""A subscriber: called with each JSON-ready message (``{"type": "delta", "nation": ...}``)."""

_MAX_EVENTS = 100_000
"""Impact and alert events kept per view at most (the oldest go first)."""

_Item = TypeVar("_Item", "Impact", "Alert")


class PictureStore:
    """The pictures of several nations for the map, fed with tracker deltas; thread-safe.

    Parameters
    ----------
    nations : sequence of str
        The views kept, one per nation (ISO 3166-1 alpha-3 codes), in display order.
    history_s : float
        Span of picture time kept for trails, track histories and scrubbing, s.
    max_history_rows : int
        Upper bound of rows kept per view (the oldest go first), whatever ``history_s`` says.
    trail_s : float
        Length of the trails sent with a snapshot, s of picture time.
    trail_step_s : float
        Minimum spacing of trail points in a snapshot, s.

    Attributes
    ----------
    nations : tuple of str
        The views, in display order.
    info : dict
        Free-form facts the page shows (``title``, ``scenario``, ``nation_names``,
        ``nation_colours``, ``default_nation``, ``center`` [lat, lon], ``zoom`` and
        ``release``, the release preset in force: with ``"threats"`` the page says that a view
        missing some sensors' plots still receives tracks of threats), served by
        ``GET /api/info``; JSON-ready values only.

    Examples
    --------
    >>> store = PictureStore(nations=["JPN", "USA"])
    >>> store.apply("JPN", tracker.process(chunk))         # doctest: +SKIP
    >>> store.snapshot("JPN")["tracks"][0]["lat"]            # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        nations: Sequence[str],
        history_s: float = 1800.0,
        max_history_rows: int = 2_000_000,
        trail_s: float = 180.0,
        trail_step_s: float = 5.0,
    ) -> None:
        codes = tuple(str(n) for n in nations)
        if not codes or len(set(codes)) != len(codes):
            raise DataError(
                "PictureStore",
                column="nations",
                expected="distinct nation codes, at least one",
                got=repr(list(nations)),
            )
        for name, value in (
            ("history_s", history_s),
            ("trail_s", trail_s),
            ("trail_step_s", trail_step_s),
        ):
            number = not isinstance(value, bool) and isinstance(value, int | float)
            if not (number and math.isfinite(value) and value >= 0):
                raise DataError(
                    "PictureStore", column=name, expected="a finite number >= 0", got=repr(value)
                )
        if not isinstance(max_history_rows, int) or max_history_rows < 1:
            raise DataError(
                "PictureStore",
                column="max_history_rows",
                expected="a positive integer",
                got=repr(max_history_rows),
            )
        self.nations = codes
        self.history_s = float(history_s)
        self.max_history_rows = max_history_rows
        self.trail_s = float(trail_s)
        self.trail_step_s = float(trail_step_s)
        self._views = {n: _View(n) for n in codes}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._sensors: list[dict[str, Any]] = []
        self._areas: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        self._identity: dict[str, dict[str, dict[str, str]]] = {n: {} for n in codes}
        self.info: dict[str, Any] = {}

    # ----------------------------------------------------------------------------- helpers
    def _view(self, nation: str) -> _View:
        """The view of a nation; :class:`DataError` listing the valid nations otherwise."""
        view = self._views.get(nation)
        if view is None:
            raise DataError(
                "nation", expected="one of " + ", ".join(self.nations), got=repr(nation)
            )
        return view

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every message from now on; returns the function that stops it.

        Listeners run on the thread that changed the store, under its lock: they must be quick
        and must not call back into the store (hand the message to a queue).
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, message: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:  # a broken subscriber must not stop the picture
                logger.exception("picture listener failed; it is removed")
                self._listeners.remove(listener)

    # ----------------------------------------------------------------------------- tracks
    def apply(self, nation: str, rows: TrackRows) -> dict[str, Any] | None:
        """Apply one batch of tracker output to a nation's view and notify subscribers.

        Parameters
        ----------
        nation : str
            The view (one of :attr:`nations`).
        rows : TrackRows
            Rows in the order the tracker produced them; the last row of a track wins, and a
            ``deleted`` row drops the track. A track's impact prediction goes with it, and as
            soon as its last row here is no longer classified ``ballistic``.

        Returns
        -------
        dict or None
            The delta message sent to subscribers (``type``, ``nation``, ``t_s``, ``tracks``,
            ``deleted``), or None when ``rows`` is empty.

        Raises
        ------
        DataError
            An unknown nation or an unknown status name.
        """
        n = len(rows)
        if n == 0:
            return None
        status = np.asarray(rows.status).astype(str)
        bad = ~np.isin(status, STATUS_NAMES)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"track rows for {nation}",
                row=k,
                column="status",
                expected="one of " + ", ".join(STATUS_NAMES),
                got=repr(status[k]),
            )
        cols = _display_columns(rows)
        ids = np.asarray(rows.track_id).astype(str)
        sources, local, quality = _network_columns(rows)
        texts = {
            "kind": np.asarray(rows.kind).astype(str),
            "nat": np.asarray(rows.nations).astype(str),
            "src": sources,
            "lid": local,
        }
        t_s = np.asarray(rows.t_s, dtype=float)
        # Last row of each track within the batch.
        _, last_rev = np.unique(ids[::-1], return_index=True)
        last = np.sort(n - 1 - last_rev)
        with self._lock:
            view = self._view(nation)
            view.history.append(
                {
                    "t": t_s,
                    "track": view.ids.codes(ids.tolist()),
                    **{k: view.texts[k].codes(v.tolist()) for k, v in texts.items()},
                    "status": np.array([STATUS_CODES[s] for s in status], dtype=np.int8),
                    "tq": quality,
                    "f": np.column_stack([cols[k] for k in _HISTORY_FLOATS]).astype(np.float32),
                }
            )
            t_max = float(np.nanmax(t_s))
            view.t_s = t_max if view.t_s is None else max(view.t_s, t_max)
            view.rows_applied += n
            view.history.trim(before_t_s=view.t_s - self.history_s, max_rows=self.max_history_rows)
            alive = last[status[last] != "deleted"]
            gone = last[status[last] == "deleted"]
            records = _records_from_columns(
                ids[alive].tolist(),
                t_s[alive],
                {k: v[alive] for k, v in cols.items()},
                {"st": status[alive].tolist(), **{k: v[alive].tolist() for k, v in texts.items()}},
                quality[alive],
            )
            records = self._identified(nation, records)
            for rec in records:
                view.current[rec["id"]] = rec
            deleted = [str(i) for i in ids[gone]]
            for track_id in deleted:
                view.current.pop(track_id, None)
            # a track's impact goes when the track ends, or is no longer classified ballistic
            no_longer = ids[alive][texts["kind"][alive] != "ballistic"].tolist()
            removed_impacts = [tid for tid in (*deleted, *no_longer) if tid in view.impacts]
            for tid in removed_impacts:
                del view.impacts[tid]
                view.impact_events.append((view.t_s, tid, None))
            message: dict[str, Any] = {
                "type": "delta",
                "nation": nation,
                "t_s": view.t_s,
                "tracks": records,
                "deleted": deleted,
            }
            if removed_impacts:
                message["impacts_removed"] = removed_impacts
            self._emit(message)
            return message

    def set_identity(self, nation: str, identity: Mapping[str, Mapping[str, str]]) -> None:
        """Give tracks of a nation's view their identity, shown with them from now on.

        Parameters
        ----------
        nation : str
            The view.
        identity : mapping of track id to mapping
            Per track, any of ``callsign``, ``squawk``, ``address`` (Mode S) and ``emergency``
            (empty values are left out); a track with an address or a callsign is a civil
            cooperative aircraft, shown neutral. Replaces what the tracks had before.

        The live tracks concerned are sent again in a delta message.
        """
        keys = {"callsign": "cs", "squawk": "sq", "address": "ms", "emergency": "em"}
        table: dict[str, dict[str, str]] = {}
        for track_id, fields in identity.items():
            entry = {keys[k]: str(v) for k, v in fields.items() if k in keys and v}
            if "cs" in entry or "ms" in entry:
                entry["idn"] = "N"
            table[str(track_id)] = entry
        with self._lock:
            view = self._view(nation)
            changed = set(table) | set(self._identity[nation])
            self._identity[nation] = table
            records = []
            for track_id in changed:
                rec = view.current.get(track_id)
                if rec is None:
                    continue
                base = {k: v for k, v in rec.items() if k not in _IDENTITY_KEYS}
                view.current[track_id] = {**base, **table.get(track_id, {})}
                records.append(view.current[track_id])
            if records:
                message = {"type": "delta", "nation": nation, "t_s": view.t_s}
                self._emit({**message, "tracks": records, "deleted": []})

    def identity(self, nation: str) -> dict[str, dict[str, str]]:
        """The identity of the tracks of a view, by track id (display keys)."""
        with self._lock:
            self._view(nation)
            return {k: dict(v) for k, v in self._identity[nation].items()}

    def _identified(self, nation: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records with the identity of their tracks (new dicts where there is one)."""
        table = self._identity.get(nation)
        if not table:
            return records
        return [{**rec, **table[rec["id"]]} if rec["id"] in table else rec for rec in records]

    # ----------------------------------------------------------------------------- impacts & alerts
    def set_impact(self, nation: str, impact: Impact) -> None:
        """Add or replace the impact prediction of a track in a nation's view.

        Raises
        ------
        DataError
            An invalid impact or an unknown nation.
        """
        with self._lock:
            self._put_impacts(self._view(nation), [impact.validated()])

    def apply_impacts(self, nation: str, rows: ImpactRows) -> dict[str, Any] | None:
        """Apply a node's impact predictions (radians, as the assessment makes them) to a view.

        A row that fails the checks of :meth:`Impact.validated` is logged and counted in the
        view's ``rejected`` (:meth:`health`), never applied; the others are.

        Returns
        -------
        dict or None
            The delta message sent to subscribers, or None when no row was applied.

        Raises
        ------
        DataError
            An unknown nation.
        """
        impacts = [Impact.from_rows(rows, i) for i in range(len(rows))]
        with self._lock:
            view = self._view(nation)
            return self._put_impacts(view, self._valid(view, impacts, Impact.validated))

    def _put_impacts(self, view: _View, impacts: Sequence[Impact]) -> dict[str, Any] | None:
        if not impacts:
            return None
        records = []
        for impact in impacts:
            record = impact.as_json()
            view.impacts[impact.track_id] = record
            view.impact_events.append((impact.t_s, impact.track_id, record))
            records.append(record)
        self._trim_events(view)
        message = {"type": "delta", "nation": view.nation, "t_s": view.t_s, "impacts": records}
        self._emit(message)
        return message

    def remove_impact(self, nation: str, track_id: str, t_s: float) -> None:
        """Withdraw the impact prediction of a track (no-op when it has none)."""
        with self._lock:
            view = self._view(nation)
            if view.impacts.pop(track_id, None) is None:
                return
            view.impact_events.append((float(t_s), track_id, None))
            self._emit(
                {"type": "delta", "nation": nation, "t_s": view.t_s, "impacts_removed": [track_id]}
            )

    def set_alert(self, nation: str, alert: Alert) -> None:
        """Raise, update or cancel an alert in a nation's view.

        Raises
        ------
        DataError
            An invalid alert, an unknown nation, or an area id that no warning area has (when
            areas are loaded).
        """
        with self._lock:
            self._put_alerts(self._view(nation), [self._checked_alert(alert)])

    def apply_alerts(self, nation: str, rows: AlertRows) -> dict[str, Any] | None:
        """Apply a node's alert changes (as the assessment makes them) to a view.

        A row that fails the checks of :meth:`set_alert` is logged and counted in the view's
        ``rejected`` (:meth:`health`), never applied; the others are.

        Returns
        -------
        dict or None
            The delta message sent to subscribers, or None when no row was applied.

        Raises
        ------
        DataError
            An unknown nation.
        """
        alerts = [
            Alert(
                str(rows.alert_id[i]),
                str(rows.area_id[i]),
                str(rows.track_id[i]),
                str(rows.state[i]),
                float(rows.t_s[i]),
                impact_t_s=float(rows.impact_t_s[i]),
                reason=str(rows.reason[i]),
            )
            for i in range(len(rows))
        ]
        with self._lock:
            view = self._view(nation)
            return self._put_alerts(view, self._valid(view, alerts, self._checked_alert))

    def _checked_alert(self, alert: Alert) -> Alert:
        alert = alert.validated()
        known = {f["properties"]["id"] for f in self._areas["features"]}
        if known and alert.area_id not in known:
            raise DataError(
                f"alert {alert.alert_id!r}",
                column="area_id",
                expected="the id of a loaded warning area (" + ", ".join(sorted(known)) + ")",
                got=repr(alert.area_id),
            )
        return alert

    def _put_alerts(self, view: _View, alerts: Sequence[Alert]) -> dict[str, Any] | None:
        if not alerts:
            return None
        records = []
        for alert in alerts:
            record = alert.as_json()
            # When the alert was issued: its first active state (raised again after a
            # cancellation, it is issued anew).
            before = view.alerts.get(alert.alert_id)
            if before is not None and (before["state"] == "active" or alert.state != "active"):
                record["issued_t_s"] = before["issued_t_s"]
            else:
                record["issued_t_s"] = alert.t_s
            view.alerts[alert.alert_id] = record
            view.alert_events.append((alert.t_s, record))
            records.append(record)
        self._trim_events(view)
        message = {"type": "delta", "nation": view.nation, "t_s": view.t_s, "alerts": records}
        self._emit(message)
        return message

    def _valid(
        self, view: _View, items: Sequence[_Item], check: Callable[[_Item], _Item]
    ) -> list[_Item]:
        """The impacts or alerts that pass ``check``; the others are logged and counted."""
        out = []
        for item in items:
            try:
                out.append(check(item))
            except DataError as exc:
                view.rejected[f"{type(item).__name__.lower()} {exc.column or 'value'}"] += 1
                logger.warning("%s view: rejected %s", view.nation, exc)
        return out

    def _trim_events(self, view: _View) -> None:
        """Keep impact and alert memory bounded: events older than the history span go, and
        so do cancelled alerts and predictions made before it; at most ``_MAX_EVENTS`` events
        of each kind are kept."""
        if view.t_s is not None:
            horizon = view.t_s - self.history_s
            for alert_id in [k for k, a in view.alerts.items() if a["state"] == "cancelled"]:
                if view.alerts[alert_id]["t_s"] < horizon:
                    del view.alerts[alert_id]
            for track_id in [k for k, r in view.impacts.items() if r["t_s"] < horizon]:
                del view.impacts[track_id]
            if view.alert_events and view.alert_events[0][0] < horizon:
                current = {id(r) for r in view.alerts.values()}
                view.alert_events = [
                    e for e in view.alert_events if e[0] >= horizon or id(e[1]) in current
                ]
            if view.impact_events and view.impact_events[0][0] < horizon:
                current = {id(r) for r in view.impacts.values()}
                view.impact_events = [
                    e for e in view.impact_events if e[0] >= horizon or id(e[2]) in current
                ]
        del view.alert_events[:-_MAX_EVENTS]
        del view.impact_events[:-_MAX_EVENTS]

    # ----------------------------------------------------------------------------- static layers
    def set_sensors(self, sites: Sequence[SensorSite]) -> None:
        """Replace the sensor sites (positions of moving platforms change over time)."""
        records = [s.as_json() for s in sites]
        with self._lock:
            self._sensors = records
            self._emit({"type": "sensors", "sensors": records})

    def set_areas(self, areas: WarningAreas | Mapping[str, Any]) -> None:
        """Replace the warning areas.

        Parameters
        ----------
        areas : WarningAreas or mapping
            Areas as the assessment reads them (:func:`airpicture.assess.read_warning_areas`),
            or a GeoJSON FeatureCollection, checked by
            :meth:`airpicture.assess.WarningAreas.from_geojson`; every feature is served with
            ``properties.id`` and ``properties.name``.

        Raises
        ------
        DataError
            Naming the feature and what was wrong with it.
        """
        checked = areas if isinstance(areas, WarningAreas) else WarningAreas.from_geojson(areas)
        with self._lock:
            self._areas = checked.geojson
            self._emit({"type": "areas", "areas": checked.geojson})

    # ----------------------------------------------------------------------------- queries
    def sensors(self) -> list[dict[str, Any]]:
        """The sensor sites, JSON-ready."""
        with self._lock:
            return list(self._sensors)

    def areas(self) -> dict[str, Any]:
        """The warning areas, a GeoJSON FeatureCollection."""
        with self._lock:
            return self._areas

    def alerts(self, nation: str, *, state: str | None = None) -> list[dict[str, Any]]:
        """The alerts of a view in their latest state, newest first; ``state`` filters."""
        with self._lock:
            view = self._view(nation)
            out = [a for a in view.alerts.values() if state is None or a["state"] == state]
        return sorted(out, key=lambda a: (-a["t_s"], a["alert_id"]))

    def impacts(self, nation: str) -> list[dict[str, Any]]:
        """The current impact predictions of a view."""
        with self._lock:
            return list(self._view(nation).impacts.values())

    def time_range(self, nation: str) -> tuple[float | None, float | None]:
        """Oldest retained and newest picture time of a view, s (None when empty)."""
        with self._lock:
            view = self._view(nation)
            return view.history.t_min, view.t_s

    def snapshot(
        self, nation: str, *, t_s: float | None = None, trails: bool = True
    ) -> dict[str, Any]:
        """The whole picture of a view, now or as it was at a past time.

        Parameters
        ----------
        nation : str
            The view.
        t_s : float, optional
            Picture time to reconstruct from the history (each track at its latest row at or
            before ``t_s``; tracks dropped by then are left out); the live picture when omitted.
        trails : bool
            Include each track's trail over the last :attr:`trail_s` seconds.

        Returns
        -------
        dict
            ``type: "snapshot"``, ``nation``, ``t_s``, ``live``, ``t_min``, ``tracks`` (display
            records), ``trails`` (``{id: [lon, lat, lon, lat, ...]}``, oldest first),
            ``impacts``, ``alerts`` (active ones).
        """
        with self._lock:
            view = self._view(nation)
            live = t_s is None or (view.t_s is not None and t_s >= view.t_s)
            at = view.t_s if live else float(t_s)  # type: ignore[arg-type]
            if live:
                tracks = list(view.current.values())
                impacts = list(view.impacts.values())
                alerts = [a for a in view.alerts.values() if a["state"] == "active"]
            else:
                tracks = self._identified(nation, self._tracks_at(view, at))  # type: ignore[arg-type]
                impacts = self._impacts_at(view, at, {r["id"] for r in tracks})  # type: ignore[arg-type]
                alerts = self._alerts_at(view, at)  # type: ignore[arg-type]
            trail_map = (
                self._trails(view, at, {r["id"] for r in tracks})
                if trails and at is not None
                else {}
            )
            return {
                "type": "snapshot",
                "nation": nation,
                "t_s": at,
                "live": live,
                "t_min": view.history.t_min,
                "tracks": tracks,
                "trails": trail_map,
                "impacts": impacts,
                "alerts": sorted(alerts, key=lambda a: (-a["t_s"], a["alert_id"])),
            }

    def _latest_rows(self, view: _View, t_s: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
        h = view.history.view()
        idx = np.flatnonzero(h["t"] <= t_s)
        if idx.size == 0:
            return h, idx
        # Latest time per track; ties go to the row that arrived last.
        order = idx[np.lexsort((idx, h["t"][idx], h["track"][idx]))]
        tracks = h["track"][order]
        is_last = np.r_[tracks[1:] != tracks[:-1], True]
        return h, order[is_last]

    def _tracks_at(self, view: _View, t_s: float) -> list[dict[str, Any]]:
        h, rows = self._latest_rows(view, t_s)
        return _history_records(view, h, rows[h["status"][rows] != DELETED])

    def _impacts_at(self, view: _View, t_s: float, alive: set[str]) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any] | None] = {}
        for t, tid, rec in view.impact_events:
            if t <= t_s:
                latest[tid] = rec
        return [r for tid, r in latest.items() if r is not None and tid in alive]

    def _alerts_at(self, view: _View, t_s: float) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for t, rec in view.alert_events:
            if t <= t_s:
                latest[rec["alert_id"]] = rec
        return [a for a in latest.values() if a["state"] == "active"]

    def _trails(self, view: _View, t_s: float, alive: set[str]) -> dict[str, list[float]]:
        h = view.history.view()
        sel = np.flatnonzero(
            (h["t"] <= t_s) & (h["t"] > t_s - self.trail_s) & (h["status"] != DELETED)
        )
        if sel.size == 0:
            return {}
        bucket = np.floor(h["t"][sel] / max(self.trail_step_s, 1e-3)).astype(np.int64)
        order = sel[np.lexsort((h["t"][sel], bucket, h["track"][sel]))]
        tr = h["track"][order]
        bk = np.floor(h["t"][order] / max(self.trail_step_s, 1e-3)).astype(np.int64)
        keep = np.r_[(tr[1:] != tr[:-1]) | (bk[1:] != bk[:-1]), True]
        order = order[keep]
        tr = h["track"][order]
        lon = np.round(h["f"][order, 1].astype(np.float64), 5)
        lat = np.round(h["f"][order, 0].astype(np.float64), 5)
        bounds = np.flatnonzero(np.r_[True, tr[1:] != tr[:-1], True])
        out: dict[str, list[float]] = {}
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            track_id = view.ids.names[int(tr[a])]
            if track_id in alive:
                out[track_id] = np.column_stack([lon[a:b], lat[a:b]]).ravel().tolist()
        return out

    def track_history(self, nation: str, track_id: str) -> dict[str, Any]:
        """Every retained row of one track, oldest first.

        Returns
        -------
        dict
            ``track_id``, ``nation``, ``rows`` (display records in time order, with ``st``
            ``deleted`` for the last row of a dropped track).

        Raises
        ------
        KeyError
            When the view has never held the track (or its rows are no longer retained).
        """
        with self._lock:
            view = self._view(nation)
            code = view.ids.code(track_id)
            h = view.history.view()
            rows = np.flatnonzero(h["track"] == code) if code is not None else np.empty(0, np.int64)
            if rows.size == 0:
                raise KeyError(track_id)
            rows = rows[np.argsort(h["t"][rows], kind="stable")]
            records = self._identified(nation, _history_records(view, h, rows))
            return {"track_id": track_id, "nation": nation, "rows": records}

    def health(self) -> dict[str, Any]:
        """Counters per view: tracks held, rows applied and retained, picture time."""
        with self._lock:
            return {
                nation: {
                    "tracks": len(v.current),
                    "rows_applied": v.rows_applied,
                    "rows_retained": len(v.history),
                    "t_s": v.t_s,
                    "active_alerts": sum(1 for a in v.alerts.values() if a["state"] == "active"),
                    "impacts": len(v.impacts),
                    "rejected": dict(v.rejected),
                }
                for nation, v in self._views.items()
            }
