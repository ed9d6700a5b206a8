"""Release policy and release labels: which nations may see a detection or a track.

A policy belongs to one owning nation and is a pure function of what is released (a detection:
its sensor and where it was measured; a track: its kind, whether it is a threat, where it is and
the labels of the detections it was built on) and of the recipient nation. Every rule can only
narrow:

- **per sensor**: each of the owner's sensors goes to the nations listed for it, sensors not
  listed to ``default``; another nation's sensor is never released (no re-release);
- **per area**: a detection measured inside an area, or a track whose position is inside it,
  goes at most to the area's ``to`` nations (several areas: all of them apply);
- **per object kind** (tracks): a track goes at most to ``tracks.to`` and, when its kind is
  listed, to that kind's nations; with ``tracks.only = "threats"`` only threats go
  (:func:`threat_mask`);
- the owner always sees its own detections (it never shares tracks with itself).

Labels
------
The outcome for a detection is its **release label**, a ``uint64`` over a :class:`LabelSpace`
(an ordered tuple of at most :data:`MAX_NATIONS` nations) made of three fields of 21 bits, one
bit per nation in each: bit ``i`` says the detection may go *in full* to nation ``i``; bit
``21 + i`` that tracks of *threats* built on it may go to nation ``i`` in full (the owner's
``threats`` list); bit ``42 + i`` that tracks built on it may go to nation ``i`` *coarsened*
(the owner's ``coarse`` list; see below). The fields nest: the threat field always contains the
full field and the coarse field the threat field. A track's label is the bitwise AND of its
contributing detections' labels (the tracker keeps it), so a nation is in a field of a fused
track's label only if every contributing detection put it there.

Downgrade
---------
A track is shared with nation X in full if X is in the full field of its label, or if the track
is a threat (:func:`threat_mask`: a ballistic or cruise missile, an unknown object above the
aircraft ceiling or a track with an alert in force) and X is in the label's threat field.
Otherwise X receives nothing, unless two conditions hold: the sharing node's policy says
``tracks.downgrade = "position-only"`` **and** every contributing detection's owner allowed
coarse derivatives for X (its ``coarse`` or ``threats`` list, so X is in the label's coarse
field). X then receives the track position-only: position snapped to a grid of
``tracks.coarse_m`` (latitude, longitude and height), velocity zero, a covariance of
``coarse_m`` squared per axis, kind ``unknown`` and no contributing nations. Both grants are
thus decided by the owners of the data, never by the node that fused it. A position inside or
within about a metre of an area's border counts as inside; an unknown position (NaN) as inside
every area.

In a node's TOML file::

    [release]
    default = ["USA", "AUS"]        # every own sensor not listed below; "*" means every nation
    threats = ["*"]                 # may receive tracks of threats built on our detections
    coarse = ["KOR"]                # may receive tracks built on our detections, position-only
    plots = ["*"]                   # are sent the detections themselves ([]: tracks only)
    [release.sensors]
    JPN-ASR-2 = ["USA"]             # this sensor goes to the USA only
    [[release.areas]]               # detections and tracks inside go at most to these nations
    name = "north"
    to = ["USA"]
    box = { lat = [40.0, 46.0], lon = [139.0, 146.0] }   # degrees; lon west > east: across 180
    # polygon = [[lat, lon], ...]   # degrees, closed or not
    # geojson = "north.geojson"     # Polygon/MultiPolygon features, all of them (lon, lat)
    [release.tracks]                # sharing of this node's tracks (off without "to")
    to = ["*"]
    only = "threats"                # share threats only (no key: tracks of every kind)
    downgrade = "position-only"     # or "none" (the default): withhold instead
    coarse_m = 10000.0
    [release.tracks.kinds]
    aircraft = ["USA"]              # aircraft tracks to the USA only; kinds not listed: "to"

Presets
-------
:func:`preset_tables` gives every nation's ``[release]`` table of a named preset
(:data:`RELEASE_PRESETS`), used by ``airpicture demo`` and ``airpicture network up``.

Example
-------
>>> policy = ReleasePolicy(owner="JPN", default=frozenset({"USA", "AUS"}),
...                        sensors={"JPN-ASR-2": frozenset({"USA"})})
>>> releasable("JPN-ASR-2", "AUS", policy), releasable("JPN-ASR-1", "AUS", policy)
(False, True)
>>> space = LabelSpace(("AUS", "JPN", "KOR", "USA"))
>>> label = space.label({"JPN", "USA"}, coarse={"KOR"}, threat={"AUS"})
>>> sorted(space.full(label)), sorted(space.threat(label)), sorted(space.coarse(label))
(['JPN', 'USA'], ['AUS', 'JPN', 'USA'], ['AUS', 'JPN', 'KOR', 'USA'])
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError, DataError
from airpicture.geo import aer2ecef, ecef2geodetic, geodetic2ecef
from airpicture.tables import Detections, SensorTable, TrackRows

__all__ = [
    "ALL_NATIONS",
    "COARSE",
    "DOWNGRADES",
    "FULL",
    "MAX_NATIONS",
    "NONE",
    "RELEASE_PRESETS",
    "THREAT",
    "THREAT_KINDS",
    "LabelSpace",
    "ReleaseArea",
    "ReleasePolicy",
    "TrackSharing",
    "coarsen",
    "detection_labels",
    "detection_positions",
    "invalid_labels",
    "preset_tables",
    "releasable",
    "threat_mask",
    "track_levels",
]

ALL_NATIONS = "*"
"""In a policy, the recipient that stands for every nation."""

NONE, COARSE, THREAT, FULL = 0, 1, 2, 3
"""Release levels for one recipient, each holding the ones before it: nothing, position-only,
in full if a threat, in full (:meth:`LabelSpace.level`; :func:`track_levels` gives ``NONE``,
``COARSE`` or ``FULL``)."""

DOWNGRADES = ("none", "position-only")
"""What a recipient not entitled to every contributing detection gets: nothing, or (where the
contributors' owners allow it) the track position-only."""

THREAT_KINDS = ("ballistic", "cruise")
"""Track kinds that are threats whatever their height (:func:`threat_mask`)."""

RELEASE_PRESETS = ("hub", "full", "threats")
"""Named release policies of a whole network (:func:`preset_tables`)."""

MAX_NATIONS = 21
"""Most nations a label space holds: bits per field of a label."""

_FIELDS = (0, MAX_NATIONS, 2 * MAX_NATIONS)  # first bit of the full, threat and coarse fields
_HUB = "USA"
_EARTH_RADIUS_M = 6_371_000.0


# ---------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class LabelSpace:
    """The nations a label's bits stand for, in bit order (at most :data:`MAX_NATIONS`).

    Parameters
    ----------
    nations : tuple of str
        Distinct nation codes; bits ``i`` (full), ``21 + i`` (threat) and ``42 + i`` (coarse)
        are ``nations[i]``.

    Raises
    ------
    ConfigError
        On repeated nations or more than :data:`MAX_NATIONS`.
    """

    nations: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.nations)) != len(self.nations) or len(self.nations) > MAX_NATIONS:
            raise ConfigError(
                "label space",
                key="network",
                expected=f"at most {MAX_NATIONS} distinct nations",
                got=", ".join(self.nations),
            )
        object.__setattr__(self, "_bit", {n: i for i, n in enumerate(self.nations)})

    def bits(self, allowed: Iterable[str]) -> int:
        """The bits of a set of nations in one field (``"*"``: every nation of the space)."""
        allowed = set(allowed)
        if ALL_NATIONS in allowed:
            return (1 << len(self.nations)) - 1
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        return sum(1 << bit[n] for n in allowed if n in bit)

    def label(
        self, full: Iterable[str], coarse: Iterable[str] = (), threat: Iterable[str] = ()
    ) -> int:
        """The label releasing to ``full`` in full, tracks of threats to ``threat`` (and
        ``full``) in full and tracks to ``coarse`` (and both others) coarsened."""
        f = self.bits(full)
        t = f | self.bits(threat)
        c = t | self.bits(coarse)
        return f << _FIELDS[0] | t << _FIELDS[1] | c << _FIELDS[2]

    def _field(self, label: int, first: int) -> frozenset[str]:
        return frozenset(n for i, n in enumerate(self.nations) if int(label) >> (first + i) & 1)

    def full(self, label: int) -> frozenset[str]:
        """Nations a label releases to in full."""
        return self._field(label, _FIELDS[0])

    def threat(self, label: int) -> frozenset[str]:
        """Nations a label releases tracks of threats to in full."""
        return self._field(label, _FIELDS[1])

    def coarse(self, label: int) -> frozenset[str]:
        """Nations a label releases to at least coarsened."""
        return self._field(label, _FIELDS[2])

    def level(self, labels: np.ndarray, nation: str) -> np.ndarray:
        """Per label, :data:`FULL`, :data:`THREAT`, :data:`COARSE` or :data:`NONE` for
        ``nation``: the first field that holds it (uint8)."""
        labels = np.asarray(labels, dtype=np.uint64)
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        if nation not in bit:
            return np.zeros(len(labels), dtype=np.uint8)
        i = np.uint64(bit[nation])
        full, threat, coarse = ((labels >> (np.uint64(f) + i)) & np.uint64(1) for f in _FIELDS)
        held = [full == 1, threat == 1, coarse == 1]
        return np.select(held, [FULL, THREAT, COARSE], NONE).astype(np.uint8)

    def remap(self, labels: np.ndarray, nations: Sequence[str]) -> np.ndarray:
        """Labels over ``nations`` (another space's order) expressed in this space.

        Bits of nations this space does not hold are dropped (they only narrow onward release).
        """
        labels = np.asarray(labels, dtype=np.uint64)
        if tuple(nations) == self.nations:
            return labels.copy()
        bit: dict[str, int] = self._bit  # type: ignore[attr-defined]
        pairs = [(i, bit[n]) for i, n in enumerate(nations) if n in bit]
        src = np.array([f + i for f in _FIELDS for i, _ in pairs], dtype=np.uint64)
        dst = np.array([f + j for f in _FIELDS for _, j in pairs], dtype=np.uint64)
        moved = ((labels[:, None] >> src) & np.uint64(1)) << dst
        return np.bitwise_or.reduce(moved, axis=1, initial=np.uint64(0))


def invalid_labels(labels: np.ndarray, count: int) -> np.ndarray:
    """Which labels over ``count`` nations are malformed: a bit past the nations in some field,
    or a field outside the next one (full outside threat, threat outside coarse).

    Parameters
    ----------
    labels : ndarray of uint64, shape (n,)
    count : int
        Nations of the labels' space (at most :data:`MAX_NATIONS`).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    labels = np.asarray(labels, dtype=np.uint64)
    mask = np.uint64((1 << MAX_NATIONS) - 1)
    full, threat, coarse = ((labels >> np.uint64(f)) & mask for f in _FIELDS)
    used = np.uint64((1 << count) - 1)
    spread = used | used << np.uint64(_FIELDS[1]) | used << np.uint64(_FIELDS[2])
    return ((labels & ~spread) != 0) | ((full & ~threat) != 0) | ((threat & ~coarse) != 0)


def _allows(allowed: frozenset[str], nation: str) -> bool:
    return ALL_NATIONS in allowed or nation in allowed


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
        from airpicture.assess.warning import WarningAreas

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
        ``"threats"``: share only tracks of threats (:func:`threat_mask`); None: every track.
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
        from airpicture.assess.classify import KINDS

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
            if kind not in KINDS:
                raise ConfigError(
                    source,
                    key=f"release.tracks.kinds.{kind}",
                    expected="a track kind (" + ", ".join(KINDS) + ")",
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
    """Release rules of one owning nation (see the module docstring).

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
        those the detections are released to (see the module docstring).
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
        tracks (``tracks.to``; the position-only downgrade stays within it). The bus permissions
        are generated from this (:func:`airpicture.net.security.permissions`).
        """
        det = frozenset(self.default).union(*self.sensors.values())
        if ALL_NATIONS not in self.plots:
            det = frozenset(n for n in self.plots | {self.owner} if ALL_NATIONS in det or n in det)
        return {"det": det, "trk": frozenset(self.tracks.to)}

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
        """A policy from a ``[release]`` table (see the module docstring).

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


def preset_tables(
    mode: str, nations: Sequence[str], *, source: str = "release presets", key: str = "release"
) -> dict[str, dict[str, Any]]:
    """Every nation's ``[release]`` table under a named preset (:data:`RELEASE_PRESETS`).

    - ``"hub"``: every nation releases its sensors to the USA, and the USA its own to every
      nation (without the USA in the network: as ``"full"``);
    - ``"full"``: every nation releases everything to every nation;
    - ``"threats"``: sensors as in ``"hub"`` (without the USA: to no other nation), and every
      nation lets tracks of threats built on its detections go to every nation in full
      (``threats = ["*"]``) and shares its tracks with every nation (``[release.tracks]``
      ``to = ["*"]``): its tracks of threats go to every partner, its other tracks to the
      partners their detections are released to (which already see those detections: the
      tracks let them agree on the objects' numbers).

    Parameters
    ----------
    mode : str
        The preset.
    nations : sequence of str
        The nations of the network.
    source, key : str
        Where the preset was named, for errors.

    Returns
    -------
    dict of str to dict
        Per nation, its ``[release]`` table (:meth:`ReleasePolicy.from_mapping`).

    Raises
    ------
    ConfigError
        An unknown preset.
    """
    if mode not in RELEASE_PRESETS:
        raise ConfigError(
            source, key=key, expected="one of " + ", ".join(RELEASE_PRESETS), got=repr(mode)
        )
    hub = _HUB in nations
    if mode == "full" or (mode == "hub" and not hub):
        return {n: {"default": [ALL_NATIONS]} for n in nations}
    tables: dict[str, dict[str, Any]] = {
        n: {"default": [ALL_NATIONS] if n == _HUB else [_HUB] if hub else []} for n in nations
    }
    if mode == "threats":
        for table in tables.values():
            table.update(threats=[ALL_NATIONS], tracks={"to": [ALL_NATIONS]})
    return tables


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


# ---------------------------------------------------------------------------- decisions
def _area_caps(
    policy: ReleasePolicy, space: LabelSpace, lat_rad: np.ndarray, lon_rad: np.ndarray
) -> np.ndarray:
    """Per position, the label bits the areas leave (every field; the owner always kept)."""
    cap = np.full(len(lat_rad), np.uint64(2**64 - 1), dtype=np.uint64)
    for area in policy.areas:
        inside = area.contains(lat_rad, lon_rad)
        cap[inside] &= np.uint64(space.label({*area.to, policy.owner}))
    return cap


def _sensor_label(
    policy: ReleasePolicy, space: LabelSpace, sensor_id: str, sensor_nation: str | None
) -> int:
    """The label of the sensor rule alone (0 for another nation's sensor)."""
    if sensor_nation is not None and sensor_nation != policy.owner:
        return 0
    full = {*policy.recipients(sensor_id), policy.owner}
    return space.label(full, coarse=policy.coarse, threat=policy.threats)


def detection_positions(detections: Detections) -> tuple[np.ndarray, np.ndarray]:
    """Where each detection was measured (geodetic latitude and longitude, rad), for area rules.

    A detection with a range (radar) is placed at its measured position; an angle-only one (IR,
    NaN range) at its sensor.
    """
    rng = detections.range_m
    has = np.isfinite(rng)
    lat = detections.sensor_lat_rad.astype(float)
    lon = detections.sensor_lon_rad.astype(float)
    if has.any():
        x, y, z = aer2ecef(
            detections.azimuth_rad[has],
            detections.elevation_rad[has],
            rng[has],
            detections.sensor_lat_rad[has],
            detections.sensor_lon_rad[has],
            detections.sensor_alt_m[has],
        )
        lat[has], lon[has], _ = ecef2geodetic(x, y, z)
    return lat, lon


def detection_labels(
    detections: Detections, sensors: SensorTable, policy: ReleasePolicy, space: LabelSpace
) -> np.ndarray:
    """The release label of each detection under the owner's policy.

    Parameters
    ----------
    detections : Detections
        n detections; ``sensor_index`` indexes ``sensors``.
    sensors : SensorTable
        The shared sensor table (each sensor's id and owning nation).
    policy : ReleasePolicy
        The owner's policy; other nations' sensors get the empty label 0.
    space : LabelSpace
        The nations the bits stand for.

    Returns
    -------
    ndarray of uint64, shape (n,)
        Sensor rule (and the owner's ``threats`` and ``coarse`` lists), narrowed by the areas
        around each detection's measured position (:func:`detection_positions`).
    """
    per_sensor = np.array(
        [_sensor_label(policy, space, s.sensor_id, s.nation) for s in sensors], dtype=np.uint64
    )
    if len(detections) == 0:
        return np.zeros(0, dtype=np.uint64)
    labels = per_sensor[np.asarray(detections.sensor_index, dtype=np.int64)]
    if policy.areas:
        labels &= _area_caps(policy, space, *detection_positions(detections))
    return labels


def releasable(
    sensor_id: str,
    recipient_nation: str,
    policy: ReleasePolicy,
    *,
    sensor_nation: str | None = None,
    lat_rad: float = math.nan,
    lon_rad: float = math.nan,
) -> bool:
    """True when a detection of ``sensor_id`` at a position may be sent to ``recipient_nation``.

    Parameters
    ----------
    sensor_id : str
        The detecting sensor.
    recipient_nation : str
        The nation that would receive it.
    policy : ReleasePolicy
        The sending nation's policy.
    sensor_nation : str, optional
        The nation owning the sensor; when given and not the policy's owner, nothing is released.
    lat_rad, lon_rad : float, optional
        Where the detection was measured; unknown (NaN) counts as inside every area.
    """
    space = LabelSpace(tuple(dict.fromkeys((policy.owner, recipient_nation))))
    label = _sensor_label(policy, space, sensor_id, sensor_nation)
    label &= int(_area_caps(policy, space, np.array([lat_rad]), np.array([lon_rad]))[0])
    return recipient_nation in space.full(label)


def threat_mask(
    rows: TrackRows, alerted: Collection[str] = (), ceiling_m: float | None = None
) -> np.ndarray:
    """Which track rows are threats: a kind of :data:`THREAT_KINDS`, an ``unknown`` object
    above the aircraft ceiling, or a track with an alert in force.

    Parameters
    ----------
    rows : TrackRows
        n track rows (``x`` in ECEF, m).
    alerted : collection of str, optional
        Ids of the tracks with an active alert.
    ceiling_m : float, optional
        Height above the WGS-84 ellipsoid over which an unknown object is a threat, m; the
        tracker's default ``TrackerConfig.aircraft_ceiling_m`` when omitted.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    if ceiling_m is None:
        from airpicture.tracker import TrackerConfig

        ceiling_m = TrackerConfig().aircraft_ceiling_m
    kinds = np.asarray(rows.kind, dtype=str)
    unknown = kinds == "unknown"
    high = np.zeros(len(rows), dtype=bool)
    if unknown.any():
        x = rows.x[unknown]
        high[unknown] = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])[2] > ceiling_m
    ids = np.asarray(rows.track_id, dtype=str)
    return np.isin(kinds, THREAT_KINDS) | high | np.isin(ids, np.asarray(list(alerted), str))


def track_levels(
    rows: TrackRows,
    recipient_nation: str,
    policy: ReleasePolicy,
    space: LabelSpace,
    threat: np.ndarray | None = None,
) -> np.ndarray:
    """How much of each track row the owner's node may share with ``recipient_nation``.

    Parameters
    ----------
    rows : TrackRows
        The node's track rows, with ``release`` labels over ``space`` (rows without labels are
        never shared).
    recipient_nation : str
        The receiving nation (never the owner).
    policy : ReleasePolicy
        The sharing node's policy: ``tracks`` (recipients, kinds, only, downgrade) and
        ``areas``.
    space : LabelSpace
        The nations the labels' bits stand for.
    threat : ndarray of bool, shape (n,), optional
        The rows that are threats (:func:`threat_mask`); no row when omitted.

    Returns
    -------
    ndarray of uint8, shape (n,)
        :data:`FULL` when the recipient is in the row's full label, or the row is a threat and
        the recipient is in the label's threat field, and every rule allows it; :data:`COARSE`
        when only the label's coarse field holds it (or its threat field, for a row that is
        not a threat) and the policy downgrades ``position-only``; :data:`NONE` otherwise.
    """
    n = len(rows)
    if recipient_nation == policy.owner or rows.release is None or n == 0:
        return np.zeros(n, dtype=np.uint8)
    threat = np.zeros(n, dtype=bool) if threat is None else np.asarray(threat, dtype=bool)
    level = space.level(rows.release, recipient_nation)
    granted = level == THREAT
    level[granted] = np.where(threat[granted], FULL, COARSE)
    if policy.tracks.only == "threats":
        level[~threat] = NONE
    if policy.tracks.downgrade != "position-only":
        level[level == COARSE] = NONE
    kinds = np.asarray(rows.kind, dtype=str)
    for kind in np.unique(kinds):
        if not all(_allows(s, recipient_nation) for s in policy.tracks.recipients(str(kind))):
            level[kinds == kind] = NONE
    if policy.areas and level.any():
        lat, lon, _ = ecef2geodetic(rows.x[:, 0], rows.x[:, 1], rows.x[:, 2])
        bit = space.bits({recipient_nation})
        level[(_area_caps(policy, space, lat, lon) & np.uint64(bit)) == 0] = NONE
    return level


def coarsen(rows: TrackRows, coarse_m: float, where: np.ndarray | None = None) -> TrackRows:
    """Position-only versions of track rows (see the module docstring).

    Latitude is snapped to a grid of ``coarse_m`` along the meridian, longitude to ``coarse_m``
    along the snapped parallel and height to ``coarse_m``; velocity is zero, the position
    covariance ``coarse_m**2`` per axis, the kind ``unknown`` and the contributing nations empty.

    Parameters
    ----------
    rows : TrackRows
    coarse_m : float
        Grid, m.
    where : ndarray of bool, shape (n,), optional
        The rows to coarsen (the others are kept as they are); every row when omitted.
    """
    n = len(rows)
    where = np.ones(n, dtype=bool) if where is None else np.asarray(where, dtype=bool)
    lat, lon, alt = ecef2geodetic(rows.x[:, 0], rows.x[:, 1], rows.x[:, 2])
    step = coarse_m / _EARTH_RADIUS_M
    lat = np.round(lat / step) * step
    lon_step = step / np.maximum(np.cos(lat), step)
    lon = np.round(lon / lon_step) * lon_step
    alt = np.round(alt / coarse_m) * coarse_m
    x = np.zeros((n, 6))
    x[:, 0], x[:, 1], x[:, 2] = geodetic2ecef(lat, lon, alt)
    cov = np.zeros((n, 6))
    cov[:, [0, 3, 5]] = coarse_m**2
    kind = np.asarray(rows.kind, dtype=object)
    nations = np.asarray(rows.nations, dtype=object)
    return replace(
        rows,
        x=np.where(where[:, None], x, rows.x),
        cov_pos=np.where(where[:, None], cov, rows.cov_pos),
        kind=np.where(where, "unknown", kind).astype(str),
        nations=np.where(where, "", nations).astype(str),
    )
