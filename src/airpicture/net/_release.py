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

Modules
-------
:class:`LabelSpace` and the release levels are defined in :mod:`airpicture.net._release_labels`,
:class:`ReleasePolicy`, :class:`ReleaseArea` and :class:`TrackSharing` (read from the
``[release]`` table) in :mod:`airpicture.net._release_policy`; this module exports them too and
holds the presets and the decisions: detection labels, threats, track levels, coarsening.

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
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.geo import aer2ecef, ecef2geodetic, geodetic2ecef
from airpicture.net._release_labels import (
    ALL_NATIONS,
    COARSE,
    FULL,
    MAX_NATIONS,
    NONE,
    THREAT,
    LabelSpace,
    _allows,
    invalid_labels,
)
from airpicture.net._release_policy import DOWNGRADES, ReleaseArea, ReleasePolicy, TrackSharing
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

THREAT_KINDS = ("ballistic", "cruise")
"""Track kinds that are threats whatever their height (:func:`threat_mask`)."""

RELEASE_PRESETS = ("hub", "full", "threats")
"""Named release policies of a whole network (:func:`preset_tables`)."""

_HUB = "USA"
_EARTH_RADIUS_M = 6_371_000.0


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
