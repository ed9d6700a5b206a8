"""What the map draws besides the tracks: impact predictions, alerts and sensor sites.

:class:`Impact` and :class:`Alert` check their fields (:meth:`Impact.validated`,
:meth:`Alert.validated`) before :class:`~airpicture.web.PictureStore` keeps them; each of
the three has the JSON form sent to the map (``as_json``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from airpicture.errors import DataError
from airpicture.io import check_rows
from airpicture.tables import AlertRows, ImpactRows, SensorTable

__all__ = ["Alert", "Impact", "SensorSite"]


def _column(record: object, source: str, name: str) -> np.ndarray:
    """One field of a record as a one-row column (radians for a ``*_deg`` field), after its type:
    a string, or a number for the ``*_s``, ``*_m``, ``*_deg`` and ``confidence`` fields."""
    value = getattr(record, name)
    if name.endswith(("_s", "_m", "_deg")) or name == "confidence":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(source, column=name, expected="a number", got=repr(value))
        return np.array([math.radians(value) if name.endswith("_deg") else float(value)])
    if not isinstance(value, str):
        raise DataError(source, column=name, expected="a string", got=repr(value))
    return np.array([value])


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
    launch_sd_t_s, launch_semi_major_m, launch_semi_minor_m, launch_orientation_deg : float
        Their uncertainty: the launch time's standard deviation (s) and the launch point's
        ellipse at ``confidence`` (NaN when unknown).
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
    launch_sd_t_s: float = math.nan
    launch_semi_major_m: float = math.nan
    launch_semi_minor_m: float = math.nan
    launch_orientation_deg: float = math.nan

    @classmethod
    def from_rows(cls, rows: ImpactRows, i: int) -> Impact:
        """Row ``i`` of an impacts table (radians) as the map's record (degrees)."""
        deg = math.degrees

        def optional(values: np.ndarray | None, convert: Callable[[float], float]) -> float:
            return math.nan if values is None else convert(float(values[i]))

        return cls(
            str(rows.track_id[i]),
            float(rows.t_s[i]),
            deg(rows.impact_lat_rad[i]),
            deg(rows.impact_lon_rad[i]),
            float(rows.impact_t_s[i]),
            float(rows.semi_major_m[i]),
            float(rows.semi_minor_m[i]),
            deg(rows.orientation_rad[i]),
            float(rows.confidence[i]),
            deg(rows.launch_lat_rad[i]),
            deg(rows.launch_lon_rad[i]),
            float(rows.launch_t_s[i]),
            optional(rows.launch_sd_t_s, float),
            optional(rows.launch_semi_major_m, float),
            optional(rows.launch_semi_minor_m, float),
            optional(rows.launch_orientation_rad, deg),
        )

    def rows(self) -> ImpactRows:
        """The impact as a one-row impacts table (radians)."""
        src = f"impact of track {self.track_id!r}"
        return ImpactRows(
            **{
                f.name.replace("_deg", "_rad"): _column(self, src, f.name)
                for f in dataclasses.fields(self)
            }
        )

    def validated(self) -> Impact:
        """The impact itself, after the impacts table's checks
        (:func:`airpicture.io.check_rows`); raises :class:`DataError` otherwise."""
        check_rows(self.rows(), f"impact of track {self.track_id!r}")
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
            "launch_sd_t_s": _optional(self.launch_sd_t_s),
            "launch_semi_major_m": _optional(self.launch_semi_major_m),
            "launch_semi_minor_m": _optional(self.launch_semi_minor_m),
            "launch_orientation_deg": _optional(self.launch_orientation_deg),
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

    def rows(self) -> AlertRows:
        """The alert as a one-row alerts table (its event: issued, or cancelled)."""
        src = f"alert {self.alert_id!r}"
        columns = {f.name: _column(self, src, f.name) for f in dataclasses.fields(self)}
        event = "cancelled" if self.state == "cancelled" else "issued"
        return AlertRows(**columns, event=np.array([event]))

    def validated(self) -> Alert:
        """The alert itself, after the alerts table's checks (:func:`airpicture.io.check_rows`);
        raises :class:`DataError` otherwise."""
        check_rows(self.rows(), f"alert {self.alert_id!r}")
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
