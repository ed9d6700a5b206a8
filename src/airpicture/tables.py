"""In-memory shapes of the data-contract tables: structure of arrays, one row per element.

The data contract (``docs/data-contract.md``) defines four tables, and two more that assessment
adds to the picture (impacts and alerts). In memory each is a frozen
dataclass of equal-length NumPy arrays; angles are radians (the ``*_deg`` columns are converted at
the I/O edge), states are WGS-84 ECEF ``[x, y, z, vx, vy, vz]`` in m and m/s, times are float
seconds since the Unix epoch.

========================  ===================================================================
table                     columns (in memory)
========================  ===================================================================
:class:`SensorTable`      a tuple of :class:`Sensor`, sorted by ``sensor_id``
:class:`Detections`       t_s, sensor_index, range_m, azimuth_rad, elevation_rad,
                          range_rate_mps, sensor_lat_rad, sensor_lon_rad, sensor_alt_m, row,
                          release (optional)
:class:`Truth`            t_s, object_id, kind, x (n, 6), detectable (optional)
:class:`TrackRows`        t_s, track_id, x (n, 6), cov_pos (n, 6), kind, status, nations,
                          release (optional)
:class:`ImpactRows`       t_s, track_id, impact_t_s, impact_lat_rad, impact_lon_rad,
                          semi_major_m, semi_minor_m, orientation_rad, confidence,
                          launch_t_s, launch_lat_rad, launch_lon_rad
:class:`AlertRows`        t_s, alert_id, area_id, track_id, state, event, reason, impact_t_s
========================  ===================================================================

Missing optional values (``range_m`` of an IR detection, ``range_rate_mps`` of a sensor without
Doppler) are NaN. An optional *column* that a table does not carry (``Truth.detectable``,
``release``) is None; :meth:`take <_Columns.take>` keeps it None, and
:meth:`concat <_Columns.concat>` needs every part to carry it or none.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Self

import numpy as np

from airpicture.codes import ALERT_EVENTS, ALERT_STATES, SENSOR_KINDS, STATUS_NAMES

__all__ = [
    "ALERT_EVENTS",
    "ALERT_STATES",
    "COV_POS_COLUMNS",
    "RELEASE_ALL",
    "ROW_SEQ_BITS",
    "SENSOR_KINDS",
    "STATUS_NAMES",
    "AlertRows",
    "Detections",
    "ImpactRows",
    "Sensor",
    "SensorTable",
    "TrackRows",
    "Truth",
    "cov_pos_from_matrix",
    "cov_pos_to_matrix",
    "covariance_problems",
    "SensorSequence",
    "per_sensor_sequence",
]

RELEASE_ALL = 0xFFFF_FFFF_FFFF_FFFF
"""Release label with every bit set: what a detection without a label counts as (no restriction)."""

ROW_SEQ_BITS = 40
"""A detection's network-wide ``row`` is ``sensor_index << ROW_SEQ_BITS | per-sensor sequence``."""

COV_POS_COLUMNS = ("cov_xx", "cov_xy", "cov_xz", "cov_yy", "cov_yz", "cov_zz")
"""Upper-triangle position covariance columns of the tracks table, in the order of ``cov_pos``."""


@functools.cache
def _column_names(cls: type) -> tuple[str, ...]:
    """The column (field) names of a table class, in order."""
    return tuple(f.name for f in fields(cls))


class _Columns:
    """Shared behaviour of the structure-of-arrays tables."""

    # The table classes pass through plain ``type`` locals: mypy does not see a ``type[Self]``
    # as Hashable, the argument type of the cached ``_column_names``.
    def __len__(self) -> int:
        table: type = type(self)
        return len(getattr(self, _column_names(table)[0]))

    def take(self, index: np.ndarray | list[int] | slice) -> Self:
        """Rows selected by an index array (or list), boolean mask or slice, as a new table.

        An optional column the table does not carry (None) stays None.
        """
        table: type = type(self)
        return type(self)(
            **{
                name: None if (values := getattr(self, name)) is None else values[index]
                for name in _column_names(table)
            }
        )

    @classmethod
    def empty(cls) -> Self:
        """A table with no rows and the right dtypes."""
        raise NotImplementedError

    @classmethod
    def concat(cls, parts: Sequence[Self]) -> Self:
        """Concatenate tables of the same kind row-wise; no parts give an empty table.

        Raises
        ------
        ValueError
            If some parts carry an optional column that others leave out (None): the rows
            without it would have no value for it.
        """
        if not parts:
            return cls.empty()
        columns: dict[str, np.ndarray | None] = {}
        table: type = cls
        for name in _column_names(table):
            values = [getattr(p, name) for p in parts]
            missing = sum(v is None for v in values)
            if missing == len(values):
                columns[name] = None
            elif missing:
                raise ValueError(
                    f"{cls.__name__}.concat: expected every part to carry column {name} or "
                    f"none, got {len(values) - missing} with it and {missing} without"
                )
            else:
                columns[name] = np.concatenate(values)
        return cls(**columns)


@dataclass(frozen=True)
class Sensor:
    """One sensor of the sensors table (angles in radians, NaN where the contract allows empty).

    For a moving platform the position is where it first reported; every detection carries the
    platform's position at its own time. The measurement volume (elevation limits, azimuth
    sector, range-rate span) is NaN where unknown: an unknown elevation limit is the horizon's
    side of the vertical (-90 or 90 degrees), an unknown sector all round, an unknown range-rate
    span the tracker's default (``TrackerConfig.max_range_rate_mps``).
    """

    sensor_id: str
    nation: str
    kind: str
    lat_rad: float
    lon_rad: float
    alt_m: float
    sigma_range_m: float
    sigma_azimuth_rad: float
    sigma_elevation_rad: float
    sigma_range_rate_mps: float
    max_range_m: float
    scan_period_s: float
    p_detect: float
    clutter_per_scan: float
    min_elevation_rad: float = math.nan
    max_elevation_rad: float = math.nan
    sector_start_rad: float = math.nan
    sector_end_rad: float = math.nan
    max_range_rate_mps: float = math.nan

    @property
    def has_range(self) -> bool:
        """True for sensors that measure range (radars)."""
        return self.kind == "radar"

    @property
    def has_range_rate(self) -> bool:
        """True for sensors that report range rate."""
        return bool(np.isfinite(self.sigma_range_rate_mps))


@dataclass(frozen=True)
class SensorTable:
    """The sensors of a scenario, sorted by ``sensor_id`` so that sensor indices sort like ids."""

    sensors: tuple[Sensor, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.sensors, key=lambda s: s.sensor_id))
        object.__setattr__(self, "sensors", ordered)
        object.__setattr__(self, "_index", {s.sensor_id: i for i, s in enumerate(ordered)})

    def __len__(self) -> int:
        return len(self.sensors)

    def __getitem__(self, i: int) -> Sensor:
        return self.sensors[i]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.sensors)

    @property
    def ids(self) -> tuple[str, ...]:
        """Sensor ids, in index order."""
        return tuple(s.sensor_id for s in self.sensors)

    def index_of(self, sensor_id: str) -> int:
        """Index of a sensor id (``KeyError`` if unknown)."""
        return self._index[sensor_id]  # type: ignore[attr-defined,no-any-return]

    @property
    def nations(self) -> tuple[str, ...]:
        """The distinct owning nations, sorted."""
        return tuple(sorted({s.nation for s in self.sensors}))

    def column(self, name: str) -> np.ndarray:
        """One attribute of every sensor as an array, in index order (``column('alt_m')``)."""
        return np.array([getattr(s, name) for s in self.sensors])


@dataclass(frozen=True)
class Detections(_Columns):
    """Detections (plots), one row each; all arrays have shape (n,).

    ``sensor_index`` indexes a :class:`SensorTable`; ``row`` is the detection's 0-based position in
    its arrival order (file row), the last key of the processing order ``(t_s, sensor_id, row)``.
    ``release`` is the optional release label (uint64, see :mod:`airpicture.net._release`): which
    nations may see the detection; None where the table carries no labels (releasable to all).
    """

    t_s: np.ndarray
    sensor_index: np.ndarray
    range_m: np.ndarray
    azimuth_rad: np.ndarray
    elevation_rad: np.ndarray
    range_rate_mps: np.ndarray
    sensor_lat_rad: np.ndarray
    sensor_lon_rad: np.ndarray
    sensor_alt_m: np.ndarray
    row: np.ndarray
    release: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Detections:
        """A table with no rows and the right dtypes."""
        f = np.empty(0, dtype=np.float64)
        return cls(f, np.empty(0, np.int32), f, f, f, f, f, f, f, np.empty(0, np.int64))

    def processing_order(self) -> np.ndarray:
        """Indices that sort the rows by ``(t_s, sensor_index, row)``, the tracker's order."""
        return np.lexsort((self.row, self.sensor_index, self.t_s))


@dataclass(frozen=True)
class Truth(_Columns):
    """Ground truth states, one row per object per time: ``x`` has shape (n, 6), ECEF m and m/s.

    ``detectable`` is the optional column of the same name (``docs/data-contract.md``): a bool
    array of shape (n,), True where the object was detectable by the scenario's radars at that
    time, or None when the table does not carry it (older files, hand-made truth).
    """

    t_s: np.ndarray
    object_id: np.ndarray
    kind: np.ndarray
    x: np.ndarray
    detectable: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Truth:
        """A table with no rows and the right dtypes."""
        s = np.empty(0, dtype=str)
        return cls(np.empty(0), s, s, np.empty((0, 6)))


@dataclass(frozen=True)
class TrackRows(_Columns):
    """The picture as rows: one per track per update time.

    ``x`` has shape (n, 6) (ECEF m, m/s); ``cov_pos`` has shape (n, 6), the upper triangle of the
    ECEF position covariance in m^2 in the order of :data:`COV_POS_COLUMNS`; ``status`` holds
    names from :data:`STATUS_NAMES`; ``nations`` is the ``;``-separated list of contributing
    nations; ``release`` the optional release label of each row's track (uint64, the bitwise AND
    of its contributing detections' labels, see :mod:`airpicture.net._release`), None when not
    carried.

    A network picture (:mod:`airpicture.fusion`) also carries: ``local_id``, the node's own
    tracker's id of the track (empty where only partners' tracks hold it); ``sources``, where
    the track came from, ``;``-separated ``NATION:plots`` or ``NATION:track`` entries; and
    ``quality``, the track quality 0-15 (int8) of its position covariance. Its ``track_id``
    is then the network track number, the same at every node that holds the object.

    A tracker's rows also carry ``number``, the tracker's own number of each row's track
    (int64; ``track_id`` is its text): inside a process tracks are found by it, never by
    parsing their ids. Files and the wire do not carry it.
    """

    t_s: np.ndarray
    track_id: np.ndarray
    x: np.ndarray
    cov_pos: np.ndarray
    kind: np.ndarray
    status: np.ndarray
    nations: np.ndarray
    release: np.ndarray | None = None
    local_id: np.ndarray | None = None
    sources: np.ndarray | None = None
    quality: np.ndarray | None = None
    number: np.ndarray | None = None

    @classmethod
    def empty(cls) -> TrackRows:
        """A table with no rows and the right dtypes."""
        s = np.empty(0, dtype=str)
        return cls(np.empty(0), s, np.empty((0, 6)), np.empty((0, 6)), s, s, s)


@dataclass(frozen=True)
class ImpactRows(_Columns):
    """Predicted impact and estimated launch of ballistic tracks, one row per track update.

    Every array has shape (n,). ``t_s`` is the time of the track state the prediction was made
    from; ``impact_t_s`` the predicted time of impact (height 0 above the WGS-84 ellipsoid) and
    ``impact_lat_rad, impact_lon_rad`` its point (geodetic, rad). The ellipse holds the impact
    point with probability ``confidence``: semi-axes ``semi_major_m >= semi_minor_m`` (m, in the
    local horizontal plane at the impact point) and ``orientation_rad`` the bearing of the major
    axis, clockwise from true north, in [0, pi). ``launch_t_s, launch_lat_rad, launch_lon_rad``
    are the estimated launch time and point (NaN when not estimated); the optional
    ``launch_sd_t_s`` (s) and the launch point's ellipse at the same ``confidence``
    (``launch_semi_major_m``, ``launch_semi_minor_m``, ``launch_orientation_rad``) are their
    uncertainty, None when not carried (files written before they were).
    """

    t_s: np.ndarray
    track_id: np.ndarray
    impact_t_s: np.ndarray
    impact_lat_rad: np.ndarray
    impact_lon_rad: np.ndarray
    semi_major_m: np.ndarray
    semi_minor_m: np.ndarray
    orientation_rad: np.ndarray
    confidence: np.ndarray
    launch_t_s: np.ndarray
    launch_lat_rad: np.ndarray
    launch_lon_rad: np.ndarray
    launch_sd_t_s: np.ndarray | None = None
    launch_semi_major_m: np.ndarray | None = None
    launch_semi_minor_m: np.ndarray | None = None
    launch_orientation_rad: np.ndarray | None = None

    @classmethod
    def empty(cls) -> ImpactRows:
        """A table with no rows and the right dtypes (and the launch uncertainty)."""
        f = np.empty(0)
        return cls(f, np.empty(0, dtype=str), f, f, f, f, f, f, f, f, f, f, f, f, f, f)


@dataclass(frozen=True)
class AlertRows(_Columns):
    """Changes of civil-defence warnings, one row per change; every array has shape (n,).

    ``alert_id`` is stable over an alert's life; ``area_id`` names the warning area and
    ``track_id`` the threatening track. ``state`` is one of :data:`ALERT_STATES` after the
    change, ``event`` one of :data:`ALERT_EVENTS`; ``reason`` says why an alert was cancelled
    (empty otherwise); ``impact_t_s`` is the predicted impact time at the change (s, NaN when
    unknown); ``t_s`` the time of the change.
    """

    t_s: np.ndarray
    alert_id: np.ndarray
    area_id: np.ndarray
    track_id: np.ndarray
    state: np.ndarray
    event: np.ndarray
    reason: np.ndarray
    impact_t_s: np.ndarray

    @classmethod
    def empty(cls) -> AlertRows:
        """A table with no rows and the right dtypes."""
        s = np.empty(0, dtype=str)
        return cls(np.empty(0), s, s, s, s, s, s, np.empty(0))


def cov_pos_from_matrix(P: np.ndarray) -> np.ndarray:
    """Upper triangle of the position block of covariances ``P`` (n, 6, 6) as (n, 6)."""
    i, j = np.triu_indices(3)
    return P[:, i, j]


def cov_pos_to_matrix(cov_pos: np.ndarray) -> np.ndarray:
    """Symmetric (n, 3, 3) position covariances from the (n, 6) upper-triangle columns."""
    n = cov_pos.shape[0]
    out = np.empty((n, 3, 3))
    i, j = np.triu_indices(3)
    out[:, i, j] = cov_pos
    out[:, j, i] = cov_pos
    return out


COV_TOLERANCE = 1e-9
"""Relative tolerance of a covariance's symmetry and semi-definiteness (of its largest element)."""


def covariance_problems(P: np.ndarray) -> np.ndarray:
    """What keeps each covariance from being one: ``""`` where nothing does.

    A covariance is symmetric and positive semi-definite; beyond rounding (``COV_TOLERANCE``
    of its largest element), an asymmetric matrix or a negative eigenvalue means a broken or
    hostile filter, wherever it comes from (a file, a message).

    Parameters
    ----------
    P : ndarray, shape (n, d, d)

    Returns
    -------
    ndarray of str, shape (n,)
        ``"asymmetric"``, ``"an eigenvalue of <value>"`` or ``""``.

    Examples
    --------
    >>> covariance_problems(np.array([[[1.0, 2.0], [2.0, 1.0]], np.eye(2)])).tolist()
    ['an eigenvalue of -1', '']
    """
    P = np.asarray(P, dtype=np.float64)
    out = np.full(len(P), "", dtype=object)
    if not len(P):
        return out
    PT = np.swapaxes(P, 1, 2)
    tolerance = COV_TOLERANCE * np.abs(P).max(axis=(1, 2))
    asym = np.abs(P - PT).max(axis=(1, 2)) > tolerance
    lowest = np.linalg.eigvalsh(0.5 * (P + PT))[:, 0]
    out[asym] = "asymmetric"
    for i in np.flatnonzero(~asym & (lowest < -tolerance)):
        out[i] = f"an eigenvalue of {float(lowest[i]):.6g}"
    return out


def per_sensor_sequence(sensor_index: np.ndarray) -> np.ndarray:
    """Each row's number among the rows of the same sensor, in row order: shape (n,), int64.

    With the sensor it identifies a detection across the network (:data:`ROW_SEQ_BITS`).

    Examples
    --------
    >>> per_sensor_sequence(np.array([2, 0, 2, 1, 0, 2])).tolist()
    [0, 0, 1, 0, 1, 2]
    """
    sensor_index = np.asarray(sensor_index)
    seq = np.empty(len(sensor_index), dtype=np.int64)
    order = np.argsort(sensor_index, kind="stable")
    sorted_idx = sensor_index[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_idx)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    seq[order] = np.arange(len(order)) - np.repeat(starts, counts)
    return seq


class SensorSequence:
    """Running per-sensor sequence numbers over a stream of detection chunks (file order).

    :meth:`network_rows` gives each detection the ``row`` a node gives it on the bus
    (``sensor_index << ROW_SEQ_BITS | sequence``), so a batch run names detections, and the
    tracks they start, as the network does.
    """

    def __init__(self, n_sensors: int) -> None:
        self._next = np.zeros(n_sensors, dtype=np.int64)

    def network_rows(self, detections: Detections) -> Detections:
        """The chunk with network-wide ``row`` keys (chunks must come in file order)."""
        index = np.asarray(detections.sensor_index, dtype=np.int64)
        seq = per_sensor_sequence(index) + self._next[index]
        np.add.at(self._next, index, 1)
        return replace(detections, row=(index << ROW_SEQ_BITS) | seq)
