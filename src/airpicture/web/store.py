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
====  =====================================================================================

In a network picture ``id`` is the network track number (``JPN2-1342``), the same in every
view that holds the object.

The ellipse comes from the ECEF position covariance rotated into the local east-north-up frame
at the track; its east-north block is diagonalised. Non-finite numbers become ``None``.

This module has no web dependencies; :mod:`airpicture.web.app` serves it over HTTP.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from airpicture.assess import WarningAreas
from airpicture.codes import DELETED, STATUS_CODES, STATUS_NAMES
from airpicture.errors import DataError
from airpicture.geo import ecef2geodetic, enu_rotation
from airpicture.tables import (
    ALERT_STATES,
    AlertRows,
    ImpactRows,
    SensorTable,
    TrackRows,
    cov_pos_to_matrix,
)

__all__ = [
    "ALERT_STATES",
    "Alert",
    "Impact",
    "Listener",
    "PictureStore",
    "SensorSite",
    "display_records",
]

logger = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]
"""A subscriber: called with each JSON-ready message (``{"type": "delta", "nation": ...}``)."""

_MAX_EVENTS = 100_000
"""Impact and alert events kept per view at most (the oldest go first)."""

_Item = TypeVar("_Item", "Impact", "Alert")


# ---------------------------------------------------------------------------------------------
# Conversion of track rows to display records


def _display_columns(rows: TrackRows) -> dict[str, np.ndarray]:
    """Geodetic position, course/speed and horizontal ellipse of every row, as float arrays."""
    x = np.asarray(rows.x, dtype=float)
    lat, lon, alt = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])
    R = enu_rotation(lat, lon)  # (n, 3, 3), rows east, north, up
    v_enu = np.einsum("nij,nj->ni", R, x[:, 3:6])
    course = np.degrees(np.arctan2(v_enu[:, 0], v_enu[:, 1])) % 360.0
    speed = np.hypot(v_enu[:, 0], v_enu[:, 1])
    P = cov_pos_to_matrix(np.asarray(rows.cov_pos, dtype=float))
    P_enu = R @ P @ np.swapaxes(R, -1, -2)
    a, b, c = P_enu[:, 0, 0], P_enu[:, 0, 1], P_enu[:, 1, 1]
    half_sum = 0.5 * (a + c)
    radius = np.hypot(0.5 * (a - c), b)
    major = np.sqrt(np.maximum(half_sum + radius, 0.0))
    minor = np.sqrt(np.maximum(half_sum - radius, 0.0))
    # Angle of the major axis from east towards north, then as a bearing from north.
    theta = 0.5 * np.arctan2(2.0 * b, a - c)
    orientation = (90.0 - np.degrees(theta)) % 180.0
    sigma_up = np.sqrt(np.maximum(P_enu[:, 2, 2], 0.0))
    return {
        "lat": np.degrees(lat),
        "lon": np.degrees(lon),
        "alt": alt,
        "crs": course,
        "spd": speed,
        "vz": v_enu[:, 2],
        "sa": major,
        "sb": minor,
        "ori": orientation,
        "sz": sigma_up,
    }


_ROUNDING = {
    "lat": 5,
    "lon": 5,
    "alt": 0,
    "crs": 1,
    "spd": 1,
    "vz": 1,
    "sa": 0,
    "sb": 0,
    "ori": 1,
    "sz": 0,
}


def _json_column(values: np.ndarray, digits: int) -> list[float | None]:
    """Values rounded to ``digits`` decimals, non-finite ones as None."""
    rounded = np.round(np.asarray(values, dtype=float), digits) + 0.0  # no -0.0
    finite = np.isfinite(rounded)
    if finite.all():
        return rounded.tolist()
    out = rounded.astype(object)
    out[~finite] = None
    return out.tolist()


def _quality_column(quality: np.ndarray) -> list[int | None]:
    """Track qualities as ints, the missing ones (negative) as None."""
    q = np.asarray(quality, dtype=np.int64)
    if (q >= 0).all():
        return q.tolist()
    out = q.astype(object)
    out[q < 0] = None
    return out.tolist()


def _network_columns(rows: TrackRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sources`` and ``local_id`` (str, empty when the rows carry none) and ``quality`` (int,
    -1 when the rows carry none) of every row."""
    n = len(rows)
    sources = np.asarray(rows.sources).astype(str) if rows.sources is not None else np.full(n, "")
    local = np.asarray(rows.local_id).astype(str) if rows.local_id is not None else np.full(n, "")
    quality = (
        np.asarray(rows.quality, dtype=np.int8)
        if rows.quality is not None
        else np.full(n, -1, dtype=np.int8)
    )
    return sources, local, quality


def _records_from_columns(
    ids: list[str],
    t_s: np.ndarray,
    cols: Mapping[str, np.ndarray],
    text: Mapping[str, list[str]],
    quality: np.ndarray,
) -> list[dict[str, Any]]:
    """Display records from columns: ``cols`` the floats of ``_ROUNDING``; ``text`` the strings
    ``kind, st, nat, src, lid``; ``quality`` the track quality (negative: none)."""
    columns: dict[str, list[Any]] = {"id": ids, "t": _json_column(t_s, 2)}
    for key, digits in _ROUNDING.items():
        columns[key] = _json_column(cols[key], digits)
    for key in ("kind", "st", "nat", "src"):
        columns[key] = text[key]
    columns["tq"] = _quality_column(quality)
    columns["lid"] = text["lid"]
    keys = tuple(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def display_records(rows: TrackRows) -> list[dict[str, Any]]:
    """Display records (see the module docstring) of track rows, one per row, in row order.

    Parameters
    ----------
    rows : TrackRows
        Track rows; ``x`` shape (n, 6) ECEF m and m/s, ``cov_pos`` shape (n, 6) ECEF m^2;
        ``sources``, ``quality`` and ``local_id`` when the rows carry them.

    Returns
    -------
    list of dict
        JSON-ready records with keys ``id, t, lat, lon, alt, crs, spd, vz, sa, sb, ori, sz, kind,
        st, nat, src, tq, lid``; degrees for angles, metres and m/s otherwise.
    """
    if len(rows) == 0:
        return []
    sources, local, quality = _network_columns(rows)
    return _records_from_columns(
        np.asarray(rows.track_id).astype(str).tolist(),
        rows.t_s,
        _display_columns(rows),
        {
            "kind": np.asarray(rows.kind).astype(str).tolist(),
            "st": np.asarray(rows.status).astype(str).tolist(),
            "nat": np.asarray(rows.nations).astype(str).tolist(),
            "src": sources.tolist(),
            "lid": local.tolist(),
        },
        quality,
    )


# ---------------------------------------------------------------------------------------------
# Impacts, alerts, sensors, areas


def _finite(
    source: str, name: str, value: float, *, low: float = -math.inf, high: float = math.inf
) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(source, column=name, expected="a finite number", got=repr(value)) from None
    if not (math.isfinite(number) and low <= number <= high):
        bounds = f" in [{low:g}, {high:g}]" if math.isfinite(low) or math.isfinite(high) else ""
        raise DataError(source, column=name, expected=f"a finite number{bounds}", got=repr(value))
    return number


def _optional(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Impact:
    """A predicted ballistic impact with its uncertainty ellipse and the estimated launch point.

    Attributes
    ----------
    track_id : str
        The ballistic track the prediction belongs to.
    t_s : float
        Time of the track state the prediction was made from, s since the Unix epoch.
    impact_lat_deg, impact_lon_deg : float
        Predicted impact point, deg (WGS-84).
    impact_t_s : float
        Predicted impact time, s since the Unix epoch.
    semi_major_m, semi_minor_m : float
        Semi-axes of the impact ellipse at ``confidence``, m.
    orientation_deg : float
        Bearing of the semi-major axis, deg clockwise from true north.
    confidence : float
        Probability that the ellipse holds the impact point, in (0, 1).
    launch_lat_deg, launch_lon_deg, launch_t_s : float
        Estimated launch point and time (NaN when unknown).
    """

    track_id: str
    t_s: float
    impact_lat_deg: float
    impact_lon_deg: float
    impact_t_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float = 0.95
    launch_lat_deg: float = math.nan
    launch_lon_deg: float = math.nan
    launch_t_s: float = math.nan

    def validated(self) -> Impact:
        """The impact itself, after checking every field; raises :class:`DataError` otherwise."""
        src = f"impact of track {self.track_id!r}"
        if not isinstance(self.track_id, str) or not self.track_id:
            raise DataError(
                "impact", column="track_id", expected="a non-empty string", got=repr(self.track_id)
            )
        _finite(src, "t_s", self.t_s)
        _finite(src, "impact_lat_deg", self.impact_lat_deg, low=-90.0, high=90.0)
        _finite(src, "impact_lon_deg", self.impact_lon_deg, low=-360.0, high=360.0)
        _finite(src, "impact_t_s", self.impact_t_s)
        _finite(src, "semi_major_m", self.semi_major_m, low=0.0)
        _finite(src, "semi_minor_m", self.semi_minor_m, low=0.0, high=float(self.semi_major_m))
        _finite(src, "orientation_deg", self.orientation_deg, low=-360.0, high=360.0)
        _finite(src, "confidence", self.confidence, low=0.0, high=1.0)
        return self

    def as_json(self) -> dict[str, Any]:
        """The JSON form sent to the map (NaN becomes ``null``)."""
        return {
            "track_id": self.track_id,
            "t_s": self.t_s,
            "impact_lat": self.impact_lat_deg,
            "impact_lon": self.impact_lon_deg,
            "impact_t_s": self.impact_t_s,
            "semi_major_m": self.semi_major_m,
            "semi_minor_m": self.semi_minor_m,
            "orientation_deg": self.orientation_deg % 180.0,
            "confidence": self.confidence,
            "launch_lat": _optional(self.launch_lat_deg),
            "launch_lon": _optional(self.launch_lon_deg),
            "launch_t_s": _optional(self.launch_t_s),
        }


@dataclass(frozen=True)
class Alert:
    """A warning for an area threatened by a track's predicted impact.

    Attributes
    ----------
    alert_id : str
        Stable id of the alert over its life (issued, updated, cancelled).
    area_id : str
        The warning area (``properties.id`` of its GeoJSON feature).
    track_id : str
        The threatening track.
    state : str
        ``active`` or ``cancelled``.
    t_s : float
        Time of this state, s since the Unix epoch.
    impact_t_s : float
        Predicted impact time when known (NaN otherwise).
    reason : str
        Why a cancelled alert was cancelled (``clear``, ``down``, ``not-ballistic``,
        ``end-of-input``); empty otherwise.
    """

    alert_id: str
    area_id: str
    track_id: str
    state: str
    t_s: float
    impact_t_s: float = math.nan
    reason: str = ""

    def validated(self) -> Alert:
        """The alert itself, after checking every field; raises :class:`DataError` otherwise."""
        for name in ("alert_id", "area_id", "track_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise DataError(
                    "alert", column=name, expected="a non-empty string", got=repr(value)
                )
        if self.state not in ALERT_STATES:
            raise DataError(
                f"alert {self.alert_id!r}",
                column="state",
                expected="one of " + ", ".join(ALERT_STATES),
                got=repr(self.state),
            )
        _finite(f"alert {self.alert_id!r}", "t_s", self.t_s)
        if not isinstance(self.reason, str):
            raise DataError(
                f"alert {self.alert_id!r}",
                column="reason",
                expected="a string",
                got=repr(self.reason),
            )
        return self

    def as_json(self) -> dict[str, Any]:
        """The JSON form sent to the map."""
        return {
            "alert_id": self.alert_id,
            "area_id": self.area_id,
            "track_id": self.track_id,
            "state": self.state,
            "t_s": self.t_s,
            "impact_t_s": _optional(self.impact_t_s),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SensorSite:
    """A sensor as the map shows it.

    Attributes
    ----------
    sensor_id, nation, kind : str
        As in the sensors table (``kind`` is ``radar`` or ``ir``).
    lat_deg, lon_deg, alt_m : float
        Current position, deg and m (WGS-84).
    max_range_m : float
        Instrumented range, m (the coverage circle).
    sector_deg : tuple of float or None
        Azimuth sector ``(from, to)`` clockwise from north, deg, or None for all round.
    platform : str
        ``ground``, ``ship``, ``airborne`` or ``space`` when known, else ``""``.
    views : tuple of str
        The nations whose pictures this sensor's detections reach.
    """

    sensor_id: str
    nation: str
    kind: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    max_range_m: float
    sector_deg: tuple[float, float] | None = None
    platform: str = ""
    views: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The JSON form sent to the map."""
        return {
            "sensor_id": self.sensor_id,
            "nation": self.nation,
            "kind": self.kind,
            "lat": round(self.lat_deg, 5),
            "lon": round(self.lon_deg, 5),
            "alt_m": round(self.alt_m, 1),
            "max_range_m": self.max_range_m,
            "sector_deg": list(self.sector_deg) if self.sector_deg is not None else None,
            "platform": self.platform,
            "views": list(self.views),
        }


def sites_from_table(
    sensors: SensorTable, views: Mapping[str, Iterable[str]] | None = None
) -> list[SensorSite]:
    """Sensor sites of a sensors table; ``views`` maps a nation to the sensor ids it receives."""
    reach: dict[str, list[str]] = {}
    for nation, ids in (views or {}).items():
        for sensor_id in ids:
            reach.setdefault(sensor_id, []).append(nation)
    return [
        SensorSite(
            sensor_id=s.sensor_id,
            nation=s.nation,
            kind=s.kind,
            lat_deg=math.degrees(s.lat_rad),
            lon_deg=math.degrees(s.lon_rad),
            alt_m=s.alt_m,
            max_range_m=s.max_range_m,
            views=tuple(sorted(reach.get(s.sensor_id, ()))),
        )
        for s in sensors
    ]


# ---------------------------------------------------------------------------------------------
# Bounded row history of one view (structure of arrays, append-only, trimmed from the front)

_HISTORY_FLOATS = ("lat", "lon", "alt", "crs", "spd", "vz", "sa", "sb", "ori", "sz")


class _Interned:
    """Strings to small integer codes and back."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}

    def codes(self, values: Iterable[str]) -> np.ndarray:
        out = []
        for v in values:
            code = self._codes.get(v)
            if code is None:
                code = len(self.names)
                self._codes[v] = code
                self.names.append(v)
            out.append(code)
        return np.asarray(out, dtype=np.int32)

    def code(self, value: str) -> int | None:
        return self._codes.get(value)

    def names_of(self, codes: np.ndarray) -> list[str]:
        names = self.names
        return [names[i] for i in codes.tolist()]


_TEXT_COLUMNS = ("kind", "nat", "src", "lid")
"""Record keys whose strings a view interns (:attr:`_View.texts`) and its history keeps as codes."""

_HISTORY_COLUMNS: dict[str, Any] = {
    "t": np.float64,  # time of the row, s
    "track": np.int32,  # code in the view's ids
    **dict.fromkeys(_TEXT_COLUMNS, np.int32),  # codes in the view's texts
    "status": np.int8,  # index in STATUS_NAMES
    "tq": np.int8,  # track quality, -1 when not carried
}


class _History:
    """Every row of one view within the retained span, in arrival order: the columns of
    ``_HISTORY_COLUMNS`` and ``f``, the display floats of ``_HISTORY_FLOATS``."""

    def __init__(self, capacity: int = 4096) -> None:
        self._start = 0
        self._end = 0
        self._cols = {k: np.empty(capacity, dtype=d) for k, d in _HISTORY_COLUMNS.items()}
        self._cols["f"] = np.empty((capacity, len(_HISTORY_FLOATS)), dtype=np.float32)

    def __len__(self) -> int:
        return self._end - self._start

    def _make_room(self, n: int) -> None:
        capacity = self._cols["t"].shape[0]
        if self._end + n <= capacity:
            return
        live = self._end - self._start
        while live + n > capacity // 2:
            capacity *= 2
        for key, a in self._cols.items():
            b = np.empty((capacity, *a.shape[1:]), dtype=a.dtype)
            b[:live] = a[self._start : self._end]
            self._cols[key] = b
        self._start, self._end = 0, live

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append rows: an array per column (every key of ``_HISTORY_COLUMNS`` and ``f``)."""
        n = len(columns["t"])
        self._make_room(n)
        s = slice(self._end, self._end + n)
        for key, a in self._cols.items():
            a[s] = columns[key]
        self._end += n

    def trim(self, *, before_t_s: float, max_rows: int) -> None:
        """Drop rows older than ``before_t_s`` and the oldest beyond ``max_rows``."""
        t = self._cols["t"][self._start : self._end]
        drop = (
            int(np.searchsorted(t, before_t_s, side="left")) if len(t) and t[0] < before_t_s else 0
        )
        # Rows are in arrival order, nearly sorted by time; searchsorted on the nearly-sorted
        # prefix is a good-enough cut for retention.
        drop = max(drop, len(t) - max_rows)
        if drop > 0:
            self._start += drop

    def view(self) -> dict[str, np.ndarray]:
        s = slice(self._start, self._end)
        return {k: a[s] for k, a in self._cols.items()}

    @property
    def t_min(self) -> float | None:
        return float(self._cols["t"][self._start : self._end].min()) if len(self) else None


# ---------------------------------------------------------------------------------------------
# One nation's view


class _View:
    def __init__(self, nation: str) -> None:
        self.nation = nation
        self.current: dict[str, dict[str, Any]] = {}
        self.history = _History()
        self.ids = _Interned()
        self.texts = {key: _Interned() for key in _TEXT_COLUMNS}
        self.t_s: float | None = None
        self.rows_applied = 0
        self.impacts: dict[str, dict[str, Any]] = {}
        self.impact_events: list[tuple[float, str, dict[str, Any] | None]] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self.alert_events: list[tuple[float, dict[str, Any]]] = []
        self.rejected: Counter[str] = Counter()


def _history_records(
    view: _View, h: Mapping[str, np.ndarray], rows: np.ndarray
) -> list[dict[str, Any]]:
    """Display records of rows of a view's history (``h``, :meth:`_History.view`)."""
    f = h["f"][rows].astype(np.float64)
    return _records_from_columns(
        view.ids.names_of(h["track"][rows]),
        h["t"][rows],
        {k: f[:, j] for j, k in enumerate(_HISTORY_FLOATS)},
        {
            "st": [STATUS_NAMES[i] for i in h["status"][rows].tolist()],
            **{k: view.texts[k].names_of(h[k][rows]) for k in _TEXT_COLUMNS},
        },
        h["tq"][rows],
    )


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
            _finite("PictureStore", name, value, low=0.0)
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
            ``deleted`` row drops the track.

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
            for rec in records:
                view.current[rec["id"]] = rec
            deleted = [str(i) for i in ids[gone]]
            for track_id in deleted:
                view.current.pop(track_id, None)
            removed_impacts = [tid for tid in deleted if tid in view.impacts]
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
        deg = np.degrees
        impacts = []
        for i in range(len(rows)):
            impacts.append(
                Impact(
                    str(rows.track_id[i]),
                    float(rows.t_s[i]),
                    float(deg(rows.impact_lat_rad[i])),
                    float(deg(rows.impact_lon_rad[i])),
                    float(rows.impact_t_s[i]),
                    float(rows.semi_major_m[i]),
                    float(rows.semi_minor_m[i]),
                    float(deg(rows.orientation_rad[i])),
                    float(rows.confidence[i]),
                    float(deg(rows.launch_lat_rad[i])),
                    float(deg(rows.launch_lon_rad[i])),
                    float(rows.launch_t_s[i]),
                )
            )
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
                tracks = self._tracks_at(view, at)  # type: ignore[arg-type]
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
            records = _history_records(view, h, rows)
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
