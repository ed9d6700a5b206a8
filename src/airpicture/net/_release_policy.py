"""Release policies as read from a node's ``[release]`` table: :class:`ReleasePolicy` (sensor
rules, the ``threats``, ``coarse`` and ``plots`` lists), its :class:`ReleaseArea` areas and its
:class:`TrackSharing` of tracks.

The rules and the TOML table are described in :mod:`airpicture.net._release`, which applies them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError, DataError
from airpicture.net._release_labels import ALL_NATIONS, _allows

__all__ = [
    "DOWNGRADES",
    "ReleaseArea",
    "ReleasePolicy",
    "TrackSharing",
]

DOWNGRADES = ("none", "position-only")
"""What a recipient not entitled to every contributing detection gets: nothing, or (where the
contributors' owners allow it) the track position-only."""


# ---------------------------------------------------------------------------- areas
@dataclass(frozen=True)
class ReleaseArea:
    """An area of a release policy: what lies inside goes at most to ``to`` (and the owner).

    Build it with :meth:`box`, :meth:`polygon` or :meth:`from_geojson` (or from a TOML table
    with :meth:`from_mapping`). Edges are straight in longitude and latitude (RFC 7946).

    Attributes
    ----------
    name : str
    to : frozenset of str
        The nations that may receive what lies inside (``"*"``: no restriction).
    edge_part : ndarray of int, shape (E,)
        The polygon each edge bounds (the area is their union).
    edge_start, edge_end : ndarray, shape (E, 2)
        The boundary's edges as ``(lon, lat)`` end points, rad, rings unwrapped in longitude.
    """

    name: str
    to: frozenset[str]
    edge_part: np.ndarray = field(repr=False)
    edge_start: np.ndarray = field(repr=False)
    edge_end: np.ndarray = field(repr=False)

    @classmethod
    def from_geojson(
        cls, name: str, to: Iterable[str], data: Mapping[str, Any], *, source: str = "area"
    ) -> ReleaseArea:
        """The union of every polygon of a GeoJSON Polygon, MultiPolygon, Feature or
        FeatureCollection (positions ``[lon, lat]`` in degrees; holes allowed).

        Raises
        ------
        DataError
            When the GeoJSON is not a valid set of polygons.
        """
        from airpicture.assess._warning import WarningAreas

        kind = data.get("type") if isinstance(data, Mapping) else None
        if kind in ("Polygon", "MultiPolygon"):
            data = {"type": "Feature", "geometry": data}
            kind = "Feature"
        if kind == "Feature":
            data = {"type": "FeatureCollection", "features": [data]}
        if isinstance(data, Mapping) and isinstance(data.get("features"), list):
            features = [
                {**f, "id": f"{k}", "properties": {"id": f"{k}"}} if isinstance(f, Mapping) else f
                for k, f in enumerate(data["features"])
            ]
            data = {**data, "features": features}
        areas = WarningAreas.from_geojson(data, source=source)
        if len(areas) == 0:
            raise DataError(source, expected="at least one polygon", got="none")
        return cls(name, frozenset(to), *_straight_edges(areas))

    @classmethod
    def polygon(
        cls, name: str, to: Iterable[str], lat_lon_deg: Sequence[Sequence[float]]
    ) -> ReleaseArea:
        """An area bounded by one ring of ``(lat, lon)`` points, degrees (closed or not)."""
        ring = [[float(p[1]), float(p[0])] for p in lat_lon_deg]
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        return cls.from_geojson(name, to, {"type": "Polygon", "coordinates": [ring]})

    @classmethod
    def box(
        cls,
        name: str,
        to: Iterable[str],
        *,
        lat_deg: tuple[float, float],
        lon_deg: tuple[float, float],
    ) -> ReleaseArea:
        """A latitude/longitude box, degrees; ``lon_deg[0] > lon_deg[1]`` crosses 180 degrees."""
        (south, north), (west, east) = lat_deg, lon_deg
        if east < west:
            east += 360.0
        steps = max(1, math.ceil((east - west) / 90.0))  # edges shorter than half the globe
        lons = [west + (east - west) * k / steps for k in range(steps + 1)]
        ring = (
            [(south, lon) for lon in lons]
            + [(north, lon) for lon in reversed(lons)]
            + [(south, west)]
        )
        return cls.polygon(name, to, ring)

    @classmethod
    def from_mapping(
        cls, values: Any, *, source: str, key: str, base_dir: Path | None = None
    ) -> ReleaseArea:
        """An area from a TOML table: ``name``, ``to`` and one of ``box`` (a table
        ``{lat = [south, north], lon = [west, east]}``), ``polygon`` (``[[lat, lon], ...]``)
        or ``geojson`` (a file, relative to ``base_dir``), all in degrees.

        Raises
        ------
        ConfigError
            Naming the key at fault, what was expected and what was found.
        """
        if not isinstance(values, Mapping):
            raise ConfigError(source, key=key, expected="a table", got=repr(values))
        shapes = [k for k in ("box", "polygon", "geojson") if k in values]
        unknown = set(values) - {"name", "to", "box", "polygon", "geojson"}
        if unknown:
            raise ConfigError(
                source,
                key=f"{key}.{sorted(unknown)[0]}",
                expected="name, to and one of box, polygon, geojson",
                got="an unknown key",
            )
        name = values.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(source, key=f"{key}.name", expected="a name", got=repr(name))
        if len(shapes) != 1:
            raise ConfigError(
                source,
                key=key,
                expected="exactly one of box, polygon, geojson",
                got=", ".join(shapes) or "none",
            )
        to = _nations(values.get("to"), source, f"{key}.to")
        shape = shapes[0]
        where = f"{key}.{shape}"
        value = values[shape]
        try:
            if shape == "box":
                return cls.box(
                    name,
                    to,
                    lat_deg=_pair(value, "lat", -90.0, 90.0, source, where),
                    lon_deg=_pair(value, "lon", -180.0, 180.0, source, where, ordered=False),
                )
            if shape == "polygon":
                if not isinstance(value, list) or len(value) < 3:
                    raise ConfigError(
                        source,
                        key=where,
                        expected="at least three [lat, lon] points, degrees",
                        got=repr(value)[:60],
                    )
                points = [_point(p, source, f"{where}[{k}]") for k, p in enumerate(value)]
                return cls.polygon(name, to, points)
            return cls._from_file(name, to, value, source, where, base_dir)
        except DataError as exc:
            raise ConfigError(source, key=where, expected=exc.expected, got=exc.got) from None

    @classmethod
    def _from_file(
        cls, name: str, to: frozenset[str], value: Any, source: str, key: str, base: Path | None
    ) -> ReleaseArea:
        import json

        if not isinstance(value, str) or not value:
            raise ConfigError(source, key=key, expected="a GeoJSON file", got=repr(value))
        path = Path(value).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                source, key=key, expected="a readable GeoJSON file", got=f"{path}: {exc.strerror}"
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                source, key=key, expected="valid JSON", got=f"{path}: {exc.msg}"
            ) from None
        return cls.from_geojson(name, to, data, source=str(path))

    def contains(self, lat_rad: np.ndarray, lon_rad: np.ndarray) -> np.ndarray:
        """Which points lie inside (even-odd rule over every ring; NaN positions count as inside).

        Parameters
        ----------
        lat_rad, lon_rad : ndarray, shape (n,)

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        lat = np.asarray(lat_rad, dtype=float)
        lon = np.asarray(lon_rad, dtype=float)
        inside = ~(np.isfinite(lat) & np.isfinite(lon))
        p, q = self.edge_start, self.edge_end
        lo = float(min(p[:, 0].min(), q[:, 0].min()))
        hi = float(max(p[:, 0].max(), q[:, 0].max()))
        south = float(min(p[:, 1].min(), q[:, 1].min()))
        north = float(max(p[:, 1].max(), q[:, 1].max()))
        margin = 1e-6  # rad, about 6 m: the border counts as inside
        for shift in (-2 * math.pi, 0.0, 2 * math.pi):
            x = lon + shift
            near = (
                ~inside
                & (x >= lo - margin)
                & (x <= hi + margin)
                & (lat >= south - margin)
                & (lat <= north + margin)
            )
            idx = np.flatnonzero(near)
            for chunk in np.array_split(idx, max(1, len(idx) * len(p) // 2_000_000 + 1)):
                if len(chunk):
                    inside[chunk] |= _inside(x[chunk], lat[chunk], self.edge_part, p, q, margin)
        return inside


def _straight_edges(areas: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The polygons' edges as given: the pieces that follow one another on a straight line
    (the warning areas cut edges for their projection) joined again. Returns part, start, end."""
    part, start, end = areas.edge_area, areas.edge_start, areas.edge_end
    d = end - start
    joined = np.zeros(len(part), dtype=bool)
    joined[1:] = (
        (part[1:] == part[:-1])
        & np.all(start[1:] == end[:-1], axis=1)
        & np.isclose(d[1:, 0] * d[:-1, 1] - d[1:, 1] * d[:-1, 0], 0.0, atol=1e-15)
        & (np.einsum("ij,ij->i", d[1:], d[:-1]) > 0.0)
    )
    first = np.flatnonzero(~joined)
    last = np.r_[first[1:], len(part)] - 1
    return part[first], start[first], end[last]


def _inside(
    x: np.ndarray, y: np.ndarray, part: np.ndarray, p: np.ndarray, q: np.ndarray, margin: float
) -> np.ndarray:
    """Points inside some part (even-odd crossings of the ray towards +x) or within ``margin``
    of an edge."""
    px, py, qx, qy = (a[None, :] for a in (p[:, 0], p[:, 1], q[:, 0], q[:, 1]))
    xs, ys = x[:, None], y[:, None]
    straddle = (py > ys) != (qy > ys)
    x_cross = px + (ys - py) * (qx - px) / np.where(straddle, qy - py, 1.0)
    crossing = straddle & (x_cross > xs)
    odd = np.zeros(len(x), dtype=bool)
    for k in np.unique(part):
        odd |= (np.count_nonzero(crossing[:, part == k], axis=1) % 2) == 1
    dx, dy = qx - px, qy - py
    t = np.clip(((xs - px) * dx + (ys - py) * dy) / np.maximum(dx * dx + dy * dy, 1e-300), 0, 1)
    border = np.hypot(px + t * dx - xs, py + t * dy - ys).min(axis=1) <= margin
    return odd | border


# ---------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class TrackSharing:
    """How a node shares its tracks (the ``[release.tracks]`` table).

    Attributes
    ----------
    to : frozenset of str
        Nations that may receive the node's tracks (empty: no sharing; ``"*"``: every nation).
    kinds : mapping of str to frozenset of str
        Per track kind, the nations that may receive tracks of that kind (narrows ``to``).
    downgrade : str
        One of :data:`DOWNGRADES`: what a recipient outside a track's full label gets.
    coarse_m : float
        Grid of the position-only downgrade, m.
    only : str, optional
        ``"threats"``: share only tracks of threats
        (:func:`~airpicture.net.threat_mask`); None: every track.
    """

    to: frozenset[str] = frozenset()
    kinds: Mapping[str, frozenset[str]] = field(default_factory=dict)
    downgrade: str = "none"
    coarse_m: float = 10_000.0
    only: str | None = None

    def recipients(self, kind: str) -> tuple[frozenset[str], ...]:
        """The nation sets a track of ``kind`` must be in (all of them)."""
        rule = self.kinds.get(kind)
        return (self.to,) if rule is None else (self.to, rule)

    @classmethod
    def from_mapping(cls, values: Any, *, source: str) -> TrackSharing:
        """Read a ``[release.tracks]`` table.

        Raises
        ------
        ConfigError
            On an unknown key or kind, or a value of the wrong type.
        """
        from airpicture.codes import TRACK_KINDS

        if not isinstance(values, Mapping):
            raise ConfigError(source, key="release.tracks", expected="a table", got=repr(values))
        unknown = set(values) - {"to", "kinds", "downgrade", "coarse_m", "only"}
        if unknown:
            raise ConfigError(
                source,
                key="release.tracks." + sorted(unknown)[0],
                expected="to, kinds, downgrade, coarse_m or only",
                got="an unknown key",
            )
        to = _nations(values.get("to", []), source, "release.tracks.to")
        table = values.get("kinds", {})
        if not isinstance(table, Mapping):
            raise ConfigError(
                source, key="release.tracks.kinds", expected="a table of kinds", got=repr(table)
            )
        kinds = {}
        for kind, nations in table.items():
            if kind not in TRACK_KINDS:
                raise ConfigError(
                    source,
                    key=f"release.tracks.kinds.{kind}",
                    expected="a track kind (" + ", ".join(TRACK_KINDS) + ")",
                    got=repr(kind),
                )
            kinds[kind] = _nations(nations, source, f"release.tracks.kinds.{kind}")
        downgrade = values.get("downgrade", "none")
        if downgrade not in DOWNGRADES:
            raise ConfigError(
                source,
                key="release.tracks.downgrade",
                expected=" or ".join(repr(d) for d in DOWNGRADES),
                got=repr(downgrade),
            )
        coarse_m = values.get("coarse_m", 10_000.0)
        if (
            isinstance(coarse_m, bool)
            or not isinstance(coarse_m, int | float)
            or not 1.0 <= coarse_m <= 1e6
        ):
            raise ConfigError(
                source,
                key="release.tracks.coarse_m",
                expected="a number in [1, 1e+06], m",
                got=repr(coarse_m),
            )
        only = values.get("only")
        if only not in (None, "threats"):
            raise ConfigError(
                source,
                key="release.tracks.only",
                expected="'threats' (or no key: tracks of every kind)",
                got=repr(only),
            )
        return cls(to=to, kinds=kinds, downgrade=downgrade, coarse_m=float(coarse_m), only=only)


@dataclass(frozen=True)
class ReleasePolicy:
    """Release rules of one owning nation (see :mod:`airpicture.net._release`).

    Attributes
    ----------
    owner : str
        The nation whose sensors and tracks the policy governs.
    default : frozenset of str
        Nations that receive the owner's sensors not listed in ``sensors`` (may hold ``"*"``).
    sensors : mapping of str to frozenset of str
        Per sensor id, the nations that receive it (may hold ``"*"``).
    coarse : frozenset of str
        Nations that may receive tracks built on the owner's detections position-only, beyond
        those the detections are released to (see :mod:`airpicture.net._release`).
    threats : frozenset of str
        Nations that may receive tracks of threats built on the owner's detections in full,
        beyond those the detections are released to (and any of its tracks position-only).
    plots : frozenset of str
        Nations that are sent the owner's detections themselves (``"*"``: every nation the
        rules release them to, the default); the rules still decide which tracks built on
        them may go where, so ``plots = []`` with ``[release.tracks]`` shares tracks only.
    areas : tuple of ReleaseArea
        Areas whose contents go at most to their ``to`` nations.
    tracks : TrackSharing
        How the owner's node shares its tracks.
    """

    owner: str
    default: frozenset[str] = frozenset({ALL_NATIONS})
    sensors: Mapping[str, frozenset[str]] = field(default_factory=dict)
    coarse: frozenset[str] = frozenset()
    threats: frozenset[str] = frozenset()
    plots: frozenset[str] = frozenset({ALL_NATIONS})
    areas: tuple[ReleaseArea, ...] = ()
    tracks: TrackSharing = field(default_factory=TrackSharing)

    def recipients(self, sensor_id: str) -> frozenset[str]:
        """The nations a sensor of the owner is released to by its sensor rule (``"*"``: all)."""
        return self.sensors.get(sensor_id, self.default)

    def reach(self) -> dict[str, frozenset[str]]:
        """Every nation the owner could send anything to, per channel kind (``"*"``: all).

        ``"det"``: detections (the sensor rules; areas only narrow them); ``"trk"``: shared
        tracks (``tracks.to``; the position-only downgrade stays within it); ``"coord"``:
        operators' coordination actions, released as the tracks they concern (``tracks.to``).
        The bus permissions are generated from this (:func:`airpicture.net.permissions`).
        """
        det = frozenset(self.default).union(*self.sensors.values())
        if ALL_NATIONS not in self.plots:
            det = frozenset(n for n in self.plots | {self.owner} if ALL_NATIONS in det or n in det)
        return {"det": det, "trk": frozenset(self.tracks.to), "coord": frozenset(self.tracks.to)}

    def sends_plots(self, nation: str) -> bool:
        """Whether the owner's node sends its detections themselves to ``nation`` (those the
        rules release to it): always to the owner's own node, else as ``plots`` says."""
        return nation == self.owner or _allows(self.plots, nation)

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        owner: str,
        own_sensors: tuple[str, ...],
        source: str,
        base_dir: Path | None = None,
    ) -> ReleasePolicy:
        """A policy from a ``[release]`` table (see :mod:`airpicture.net._release`).

        Parameters
        ----------
        values : mapping
            The table.
        owner : str
            The owning nation.
        own_sensors : tuple of str
            The owner's sensors (the only ones a sensor rule may name).
        source : str
            The file, named in errors.
        base_dir : Path, optional
            Folder that relative ``geojson`` paths are relative to.

        Raises
        ------
        ConfigError
            On unknown keys, a sensor that is not the owner's, a nation that is not a string, a
            bad area or a bad ``tracks`` table: naming the file, the key, what was expected and
            what was found.
        """
        keys = {"default", "sensors", "coarse", "threats", "plots", "areas", "tracks"}
        unknown = set(values) - keys
        if unknown:
            raise ConfigError(
                source,
                key="release." + sorted(unknown)[0],
                expected="'default', 'sensors', 'coarse', 'threats', 'plots', 'areas' or 'tracks'",
                got="an unknown key",
            )
        default = _nations(values.get("default", [ALL_NATIONS]), source, "release.default")
        coarse = _nations(values.get("coarse", []), source, "release.coarse")
        threats = _nations(values.get("threats", []), source, "release.threats")
        plots = _nations(values.get("plots", [ALL_NATIONS]), source, "release.plots")
        table = values.get("sensors", {})
        if not isinstance(table, Mapping):
            raise ConfigError(
                source, key="release.sensors", expected="a table of sensor ids", got=repr(table)
            )
        rules = {}
        for sensor_id, nations in table.items():
            if sensor_id not in own_sensors:
                raise ConfigError(
                    source,
                    key=f"release.sensors.{sensor_id}",
                    expected="one of this nation's sensors (" + ", ".join(own_sensors) + ")",
                    got=repr(sensor_id),
                )
            rules[sensor_id] = _nations(nations, source, f"release.sensors.{sensor_id}")
        items = values.get("areas", [])
        if not isinstance(items, list):
            raise ConfigError(
                source, key="release.areas", expected="an array of tables", got=repr(items)
            )
        areas = tuple(
            ReleaseArea.from_mapping(
                item, source=source, key=f"release.areas[{k}]", base_dir=base_dir
            )
            for k, item in enumerate(items)
        )
        tracks = TrackSharing.from_mapping(values.get("tracks", {}), source=source)
        return cls(
            owner=owner,
            default=default,
            sensors=rules,
            coarse=coarse,
            threats=threats,
            plots=plots,
            areas=areas,
            tracks=tracks,
        )


def _nations(value: Any, source: str, key: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            source, key=key, expected='a list of nation codes (or "*")', got=repr(value)
        )
    return frozenset(value)


def _number(value: Any, low: float, high: float, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(
            source, key=key, expected=f"a number in [{low:g}, {high:g}], degrees", got=repr(value)
        )
    return float(value)


def _pair(
    table: Any,
    name: str,
    low: float,
    high: float,
    source: str,
    key: str,
    *,
    ordered: bool = True,
) -> tuple[float, float]:
    value = table.get(name) if isinstance(table, Mapping) else None
    where = f"{key}.{name}"
    if not isinstance(table, Mapping) or set(table) != {"lat", "lon"}:
        raise ConfigError(
            source,
            key=key,
            expected="a table {lat = [south, north], lon = [west, east]}",
            got=repr(table)[:60],
        )
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(source, key=where, expected="two numbers, degrees", got=repr(value))
    a, b = (_number(v, low, high, source, where) for v in value)
    if ordered and a >= b:
        raise ConfigError(
            source, key=where, expected="[south, north] with south < north", got=repr(value)
        )
    if a == b:
        raise ConfigError(source, key=where, expected="two different longitudes", got=repr(value))
    return a, b


def _point(value: Any, source: str, key: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ConfigError(source, key=key, expected="[lat, lon], degrees", got=repr(value))
    return (
        _number(value[0], -90.0, 90.0, source, key),
        _number(value[1], -180.0, 180.0, source, key),
    )
