r"""Warning areas and civil-defence alerts from predicted impact ellipses.

**Areas** are the polygons of a GeoJSON FeatureCollection [RFC 7946]: ``Polygon`` or
``MultiPolygon`` features (positions ``[lon, lat]`` in degrees; holes allowed), each with a
unique string id (``properties.id`` or the feature's ``id``) and optionally
``properties.name``. Edges are straight in longitude and latitude, as RFC 7946 says; rings are
unwrapped so that every edge takes the short way round, which makes rings that cross the
antimeridian (``[179.5, ...], [-179.5, ...]`` or ``[180.5, ...]``) work as they should. The
package ships an illustrative set for the Sea of Japan (:func:`read_warning_areas` without a
path).

**Ellipse against polygon.** Both are expressed in the azimuthal equidistant projection
centred on the predicted impact point (on the sphere of the Gaussian mean radius of curvature
there: distances and bearings from the centre exact to about 0.2 %, the topology of the polygon
kept whatever its size) [J. P. Snyder, *Map Projections: A Working Manual*, USGS Professional
Paper 1395, 1987, section 25 (azimuthal equidistant projection)], in which the impact ellipse
is :math:`\{d : d^T C^{-1} d \le k^2\}`. With :math:`C = L L^T` the linear map
:math:`w = L^{-1} d / k` turns the ellipse into the unit disk and keeps straight edges
straight, so the ellipse meets an area exactly when the disk's centre lies inside the mapped
polygon (even-odd rule over all its rings, so holes count) or some mapped edge comes within
distance 1 of the origin. Edges are split into pieces of at most ``_EDGE_STEP_RAD`` before
mapping, so that their curvature in the projection is followed.

**Alerts** (:class:`AlertBook`): an alert is issued for a (track, area) pair when the track's
impact ellipse at the configured confidence meets the area, updated when the prediction moves
(by ``update_m`` or ``update_s``), and cancelled when the ellipse no longer meets it
(``clear``; optionally at a larger cancel confidence, for hysteresis), when the track stops
being ballistic (``not-ballistic``), or when the object is down: the predicted impact time
has passed by ``down_margin_s`` (``down``). A dropped track keeps its alerts until then: losing
the track does not make the threat go away. When the input ends, the alerts still in force are
closed (``end-of-input``), so that a record of the changes ends with every alert cancelled.
Alert ids are ``<track_id>:<area_id>:<k>`` with ``k`` counting the alerts of that pair, so they
follow from the input alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.assess._impact import ellipse_scale
from airpicture.errors import DataError
from airpicture.geo import WGS84_A_M, WGS84_E2
from airpicture.tables import AlertRows

__all__ = [
    "CANCEL_REASONS",
    "AlertBook",
    "WarningAreas",
    "default_areas_path",
    "ellipses_meet_areas",
    "read_warning_areas",
]

CANCEL_REASONS = ("clear", "down", "not-ballistic", "end-of-input", "renumbered")
"""Why an alert is cancelled: the ellipse left the area, the object is down, it is no longer
ballistic, the input has ended."""

_EDGE_STEP_RAD = math.radians(0.05)
"""Longest edge piece (in longitude and latitude) mapped as a straight segment, rad."""

_DEFAULT_AREAS = "sea_of_japan_warning_areas.geojson"

_COV_FLOOR_M2 = 1.0
"""Added to the ellipse covariances' diagonal, m^2, so that a degenerate ellipse is a point."""


# --------------------------------------------------------------------------------------------
# Areas
# --------------------------------------------------------------------------------------------


def _position(value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in value[:2])
    ):
        raise DataError(
            where, expected="a position [lon, lat] of two numbers", got=repr(value)[:60]
        )
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and -540.0 <= lon <= 540.0):
        raise DataError(where, expected="a finite longitude within +-540 deg", got=repr(value[0]))
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise DataError(where, expected="a finite latitude in [-90, 90] deg", got=repr(value[1]))
    return lon, lat


def _ring(value: Any, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) < 4:
        raise DataError(
            where, expected="a linear ring of at least 4 positions", got=repr(value)[:60]
        )
    pts = np.radians([_position(p, f"{where} position {k}") for k, p in enumerate(value)])
    if not np.allclose(pts[0], pts[-1], rtol=0.0, atol=1e-12):
        raise DataError(
            where,
            expected="a closed ring (last position equal to the first)",
            got=repr(value[-1])[:60],
        )
    pts[:, 0] = np.unwrap(pts[:, 0])  # every edge the short way round
    return pts


def _densify(ring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a closed ring (lon, lat rad) cut into pieces: start and end points (e, 2)."""
    starts, ends = [], []
    for a, b in zip(ring[:-1], ring[1:], strict=True):
        pieces = max(1, int(math.ceil(float(np.max(np.abs(b - a))) / _EDGE_STEP_RAD)))
        f = np.linspace(0.0, 1.0, pieces + 1)[:, None]
        pts = a + f * (b - a)
        starts.append(pts[:-1])
        ends.append(pts[1:])
    return np.concatenate(starts), np.concatenate(ends)


@dataclass(frozen=True)
class WarningAreas:
    """Warning areas as polygon edges, ready for batched ellipse tests.

    Build with :meth:`from_geojson` or :func:`read_warning_areas`.

    Attributes
    ----------
    ids, names : tuple of str
        Area ids and display names, in file order (A areas).
    edge_area : ndarray of int, shape (E,)
        Area of each edge piece.
    edge_start, edge_end : ndarray, shape (E, 2)
        Edge pieces' end points ``(lon, lat)``, rad (rings unwrapped in longitude).
    geojson : dict
        The FeatureCollection with every feature's ``properties.id`` and ``properties.name``
        set (for maps).
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    edge_area: np.ndarray
    edge_start: np.ndarray
    edge_end: np.ndarray
    geojson: dict[str, Any] = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_geojson(
        cls, data: Mapping[str, Any], *, source: str = "warning areas"
    ) -> WarningAreas:
        """Check a GeoJSON FeatureCollection of warning areas and build the edge arrays.

        Parameters
        ----------
        data : mapping
            The parsed GeoJSON.
        source : str
            Named in error messages (the file name).

        Raises
        ------
        DataError
            Naming the feature (0-based), ring and position at fault, what was expected and
            what was found.
        """
        if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
            got = data.get("type") if isinstance(data, Mapping) else type(data).__name__
            raise DataError(source, expected="a GeoJSON FeatureCollection", got=repr(got))
        features = data.get("features")
        if not isinstance(features, list):
            raise DataError(
                source, column="features", expected="a list of features", got=repr(features)[:60]
            )
        ids: list[str] = []
        names: list[str] = []
        areas, starts, ends, out = [], [], [], []
        for i, feature in enumerate(features):
            where = f"{source} feature {i}"
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise DataError(where, expected="a GeoJSON Feature", got=repr(feature)[:60])
            props = dict(feature.get("properties") or {})
            area_id = props.get("id", feature.get("id"))
            if not isinstance(area_id, str) or not area_id:
                raise DataError(
                    where,
                    column="properties.id",
                    expected="a non-empty string id",
                    got=repr(area_id),
                )
            if area_id in ids:
                raise DataError(
                    where, column="properties.id", expected="a unique id", got=f"{area_id!r} again"
                )
            geometry = feature.get("geometry")
            kind = geometry.get("type") if isinstance(geometry, Mapping) else None
            coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
            if kind == "Polygon" and isinstance(coords, list) and coords:
                polygons = [(coords, where)]
            elif kind == "MultiPolygon" and isinstance(coords, list) and coords:
                polygons = [(p, f"{where} polygon {k}") for k, p in enumerate(coords)]
            else:
                raise DataError(
                    where,
                    column="geometry",
                    expected="a Polygon or MultiPolygon with coordinates",
                    got=repr(kind),
                )
            assert isinstance(geometry, Mapping)  # kind and coords came from a mapping
            for rings, pwhere in polygons:
                if not isinstance(rings, list) or not rings:
                    raise DataError(pwhere, expected="a list of linear rings", got=repr(rings)[:60])
                for r, ring in enumerate(rings):
                    a, b = _densify(_ring(ring, f"{pwhere} ring {r}"))
                    starts.append(a)
                    ends.append(b)
                    areas.append(np.full(len(a), len(ids)))
            name = props.get("name", area_id)
            props["id"], props["name"] = area_id, str(name)
            ids.append(area_id)
            names.append(str(name))
            out.append(
                {"type": "Feature", "id": area_id, "properties": props, "geometry": dict(geometry)}
            )
        if ids:
            edge_area = np.concatenate(areas)
            edge_start, edge_end = np.concatenate(starts), np.concatenate(ends)
        else:
            edge_area, edge_start, edge_end = np.zeros(0, int), np.zeros((0, 2)), np.zeros((0, 2))
        return cls(
            ids=tuple(ids),
            names=tuple(names),
            edge_area=edge_area,
            edge_start=edge_start,
            edge_end=edge_end,
            geojson={"type": "FeatureCollection", "features": out},
        )


def default_areas_path() -> Path:
    """Path of the illustrative warning areas shipped with the package (Sea of Japan)."""
    return Path(str(resources.files("airpicture.assess") / "data" / _DEFAULT_AREAS))


def read_warning_areas(path: str | Path | None = None) -> WarningAreas:
    """Read warning areas from a GeoJSON file (default: the shipped illustrative areas).

    Parameters
    ----------
    path : str or Path, optional
        A GeoJSON FeatureCollection; None reads :func:`default_areas_path`.

    Raises
    ------
    DataError
        If the file is missing, is not JSON, or is not a valid set of areas.

    Examples
    --------
    >>> areas = read_warning_areas()
    >>> "yamato-bank" in areas.ids
    True
    """
    p = default_areas_path() if path is None else Path(path)
    source = str(path) if path is not None else p.name
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            source, expected="a readable GeoJSON file", got=exc.strerror or type(exc).__name__
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            source, expected="valid JSON", got=f"{exc.msg} at line {exc.lineno}"
        ) from None
    return WarningAreas.from_geojson(data, source=source)


# --------------------------------------------------------------------------------------------
# Ellipses against areas
# --------------------------------------------------------------------------------------------


def _mean_radius_m(lat_rad: np.ndarray) -> np.ndarray:
    """Gaussian mean radius of curvature of WGS-84, sqrt(M N), at geodetic latitudes, m."""
    w2 = 1.0 - WGS84_E2 * np.sin(lat_rad) ** 2
    return WGS84_A_M * np.sqrt(1.0 - WGS84_E2) / w2


def _aeqd(lat0: np.ndarray, lon0: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Azimuthal equidistant (east, north) on the unit sphere: (n, E, 2) for centres (n,)."""
    la0, lo0 = lat0[:, None], lon0[:, None]
    dlon = lon[None, :] - lo0
    s0, c0 = np.sin(la0), np.cos(la0)
    s, c = np.sin(lat)[None, :], np.cos(lat)[None, :]
    cos_d = np.clip(s0 * s + c0 * c * np.cos(dlon), -1.0, 1.0)
    d = np.arccos(cos_d)
    east = c * np.sin(dlon)
    north = c0 * s - s0 * c * np.cos(dlon)
    norm = np.hypot(east, north)
    scale = np.divide(d, norm, out=np.ones_like(d), where=norm > 0.0)
    return np.stack([east * scale, north * scale], axis=-1)


def ellipses_meet_areas(
    areas: WarningAreas,
    lat_rad: np.ndarray,
    lon_rad: np.ndarray,
    cov_en_m2: np.ndarray,
    confidence: float,
) -> np.ndarray:
    """Which areas each impact ellipse meets (module docstring).

    Parameters
    ----------
    areas : WarningAreas
        A areas.
    lat_rad, lon_rad : ndarray, shape (n,)
        Ellipse centres (predicted impact points), rad.
    cov_en_m2 : ndarray, shape (n, 2, 2)
        Covariances of east and north offsets at the centres, m^2 (positive definite).
    confidence : float
        Probability mass of the ellipses, in (0, 1).

    Returns
    -------
    meets : ndarray of bool, shape (n, A)
    """
    n, a = len(lat_rad), len(areas)
    if n == 0 or a == 0:
        return np.zeros((n, a), dtype=bool)
    lat0 = np.asarray(lat_rad, dtype=float)
    lon0 = np.asarray(lon_rad, dtype=float)
    radius = _mean_radius_m(lat0)[:, None, None]
    p = _aeqd(lat0, lon0, areas.edge_start[:, 1], areas.edge_start[:, 0]) * radius  # (n, E, 2)
    q = _aeqd(lat0, lon0, areas.edge_end[:, 1], areas.edge_end[:, 0]) * radius
    C = 0.5 * (cov_en_m2 + np.swapaxes(cov_en_m2, -1, -2)) + _COV_FLOOR_M2 * np.eye(2)
    L = np.linalg.cholesky(C)
    k = ellipse_scale(confidence)
    # w = L^-1 d / k for every end point, as a triangular solve per ellipse
    P = np.linalg.solve(L, np.swapaxes(p, 1, 2)).swapaxes(1, 2) / k
    Q = np.linalg.solve(L, np.swapaxes(q, 1, 2)).swapaxes(1, 2) / k
    # distance from the origin to each segment
    dq = Q - P
    t = np.clip(
        -np.einsum("nei,nei->ne", P, dq) / np.maximum(np.einsum("nei,nei->ne", dq, dq), 1e-300),
        0.0,
        1.0,
    )
    closest = P + t[..., None] * dq
    near = np.einsum("nei,nei->ne", closest, closest) <= 1.0
    # even-odd rule: crossings of the ray from the origin along +x
    py, qy = P[..., 1], Q[..., 1]
    straddle = (py > 0.0) != (qy > 0.0)
    x_cross = P[..., 0] + (0.0 - py) * dq[..., 0] / np.where(straddle, qy - py, 1.0)
    crossing = straddle & (x_cross > 0.0)
    meets = np.zeros((n, a), dtype=bool)
    for j in range(a):
        edges = areas.edge_area == j
        inside = (crossing[:, edges].sum(axis=1) % 2) == 1
        meets[:, j] = inside | near[:, edges].any(axis=1)
    return meets


# --------------------------------------------------------------------------------------------
# Alerts
# --------------------------------------------------------------------------------------------


@dataclass
class _Alert:
    alert_id: str
    area: int
    track_id: str
    impact_t_s: float
    lat_rad: float
    lon_rad: float


def _ground_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere (haversine), m."""
    s = (
        math.sin(0.5 * (lat2 - lat1)) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin(0.5 * (lon2 - lon1)) ** 2
    )
    return 2.0 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(s)))


class AlertBook:
    """The alerts in force and their changes (module docstring).

    Parameters
    ----------
    areas : WarningAreas
        The areas alerts refer to.
    update_m : float
        An alert in force is re-issued as ``updated`` when its predicted impact point has moved
        this far since its last row, m.
    update_s : float
        ... or when its predicted impact time has moved this much, s.
    down_margin_s : float
        The object counts as down this long after its predicted impact time, s.
    """

    def __init__(
        self, areas: WarningAreas, *, update_m: float, update_s: float, down_margin_s: float
    ) -> None:
        self.areas = areas
        self.update_m = update_m
        self.update_s = update_s
        self.down_margin_s = down_margin_s
        self._alerts: dict[tuple[str, int], _Alert] = {}
        self._issued: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self._alerts)

    def active(self) -> list[tuple[str, str, str]]:
        """``(alert_id, area_id, track_id)`` of the alerts in force, sorted by alert id."""
        return sorted(
            (a.alert_id, self.areas.ids[a.area], a.track_id) for a in self._alerts.values()
        )

    def update(
        self,
        t_s: float,
        track_ids: Sequence[str] | np.ndarray,
        meets: np.ndarray,
        keeps: np.ndarray,
        impact_t_s: np.ndarray,
        impact_lat_rad: np.ndarray,
        impact_lon_rad: np.ndarray,
    ) -> AlertRows:
        """Issue, update and clear the alerts of tracks with a new impact prediction.

        Parameters
        ----------
        t_s : float
            Time of the change, s.
        track_ids : sequence or ndarray of str, length n
            The tracks predicted (distinct).
        meets : ndarray of bool, shape (n, A)
            Areas met by each track's ellipse at the issue confidence.
        keeps : ndarray of bool, shape (n, A)
            Areas met at the cancel confidence (an alert in force stays while this holds).
        impact_t_s, impact_lat_rad, impact_lon_rad : ndarray, shape (n,)
            The new predictions.

        Returns
        -------
        AlertRows
            The changes, ordered by track and area.
        """
        rows: list[tuple[Any, ...]] = []
        for i, track_id in enumerate(track_ids):
            for area in range(len(self.areas)):
                key = (str(track_id), area)
                alert = self._alerts.get(key)
                t_imp = float(impact_t_s[i])
                lat, lon = float(impact_lat_rad[i]), float(impact_lon_rad[i])
                if alert is None:
                    if meets[i, area]:
                        k = self._issued.get(key, 0) + 1
                        self._issued[key] = k
                        alert = _Alert(
                            f"{track_id}:{self.areas.ids[area]}:{k}",
                            area,
                            str(track_id),
                            t_imp,
                            lat,
                            lon,
                        )
                        self._alerts[key] = alert
                        rows.append(self._row(t_s, alert, "active", "issued", ""))
                    continue
                if not keeps[i, area]:
                    del self._alerts[key]
                    alert.impact_t_s = t_imp
                    rows.append(self._row(t_s, alert, "cancelled", "cancelled", "clear"))
                    continue
                moved = _ground_distance_m(alert.lat_rad, alert.lon_rad, lat, lon) >= self.update_m
                if moved or abs(t_imp - alert.impact_t_s) >= self.update_s:
                    alert.impact_t_s, alert.lat_rad, alert.lon_rad = t_imp, lat, lon
                    rows.append(self._row(t_s, alert, "active", "updated", ""))
        return _alert_rows(rows)

    def cancel_tracks(self, t_s: float, track_ids: Sequence[str], reason: str) -> AlertRows:
        """Cancel every alert of some tracks (for instance no longer ballistic)."""
        wanted = {str(t) for t in track_ids}
        rows = []
        for key in sorted(k for k in self._alerts if k[0] in wanted):
            alert = self._alerts.pop(key)
            rows.append(self._row(t_s, alert, "cancelled", "cancelled", reason))
        return _alert_rows(rows)

    def tick(self, t_s: float) -> AlertRows:
        """Cancel the alerts whose object is down by ``t_s`` (predicted impact plus margin)."""
        rows = []
        for key in sorted(self._alerts):
            alert = self._alerts[key]
            if t_s >= alert.impact_t_s + self.down_margin_s:
                del self._alerts[key]
                rows.append(self._row(t_s, alert, "cancelled", "cancelled", "down"))
        return _alert_rows(rows)

    def _row(
        self, t_s: float, alert: _Alert, state: str, event: str, reason: str
    ) -> tuple[Any, ...]:
        return (
            t_s,
            alert.alert_id,
            self.areas.ids[alert.area],
            alert.track_id,
            state,
            event,
            reason,
            alert.impact_t_s,
        )


def _alert_rows(rows: list[tuple[Any, ...]]) -> AlertRows:
    if not rows:
        return AlertRows.empty()
    cols = list(zip(*rows, strict=True))
    return AlertRows(
        t_s=np.array(cols[0], dtype=float),
        alert_id=np.array(cols[1], dtype=str),
        area_id=np.array(cols[2], dtype=str),
        track_id=np.array(cols[3], dtype=str),
        state=np.array(cols[4], dtype=str),
        event=np.array(cols[5], dtype=str),
        reason=np.array(cols[6], dtype=str),
        impact_t_s=np.array(cols[7], dtype=float),
    )
