"""Snapshots of the picture: the tracks held at one time, as GeoJSON and KML.

The picture at time t is, as the evaluator takes it (``docs/data-contract.md``), each track's
newest row at or before t, without tentative tracks and without tracks whose newest row is
``deleted``. GeoJSON (RFC 7946) gives each track a Point feature (longitude, latitude, height
in m above the WGS-84 ellipsoid) with its properties; KML (OGC 2.2) a Placemark named by its
callsign (else its track id) with an absolute-altitude point, styled by affiliation and an
emergency style for squawks 7500/7600/7700.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from xml.sax.saxutils import escape

import numpy as np

from airpicture.interop._cot import _iso, cot_type
from airpicture.interop._tracks import TrackIdentity, geo_tracks
from airpicture.tables import TrackRows

__all__ = ["picture_at", "snapshot_geojson", "snapshot_kml"]


def picture_at(rows: TrackRows, t_s: float | None = None) -> TrackRows:
    """Each track's newest row at or before ``t_s`` (the table's last time when None), without
    tentative rows and without tracks whose newest row is deleted; ordered by track id."""
    if len(rows) == 0:
        return rows
    t = np.asarray(rows.t_s, dtype=float)
    when = float(t.max()) if t_s is None else t_s
    status = np.asarray(rows.status).astype(str)
    keep = np.flatnonzero((t <= when) & (status != "tentative"))
    sub = rows.take(keep)
    order = np.lexsort((np.asarray(sub.t_s), np.asarray(sub.track_id).astype(str)))
    ids = np.asarray(sub.track_id).astype(str)[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    newest = sub.take(order[last])
    return newest.take(np.flatnonzero(np.asarray(newest.status).astype(str) != "deleted"))


def _properties(rows: TrackRows, i: int, ident: TrackIdentity | None, geo: object) -> dict:
    g = geo
    props: dict[str, object] = {
        "track_id": str(rows.track_id[i]),
        "time": _iso(float(rows.t_s[i])),
        "t_s": float(rows.t_s[i]),
        "kind": str(rows.kind[i]),
        "status": str(rows.status[i]),
        "nations": str(rows.nations[i]),
        "cot_type": cot_type(str(rows.kind[i]), ident),
        "height_m": round(float(g.height_m[i]), 1),  # type: ignore[attr-defined]
        "speed_mps": round(float(g.speed_mps[i]), 1),  # type: ignore[attr-defined]
        "course_deg": round(float(g.course_deg[i]), 1),  # type: ignore[attr-defined]
        "ce90_m": round(float(g.circular_error_m[i]), 1),  # type: ignore[attr-defined]
    }
    if ident is not None:
        props.update(
            address=ident.address or None,
            callsign=ident.callsign or None,
            squawk=ident.squawk or None,
            emergency=ident.emergency or None,
            flight_level=ident.flight_level if math.isfinite(ident.flight_level) else None,
        )
    return props


def snapshot_geojson(
    rows: TrackRows,
    identity: Mapping[str, TrackIdentity] | None = None,
    *,
    t_s: float | None = None,
) -> str:
    """The picture at ``t_s`` as a GeoJSON FeatureCollection (text)."""
    identity = identity or {}
    pic = picture_at(rows, t_s)
    geo = geo_tracks(pic)
    features = []
    for i in range(len(pic)):
        ident = identity.get(str(pic.track_id[i]))
        features.append(
            {
                "type": "Feature",
                "id": str(pic.track_id[i]),
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(float(geo.lon_deg[i]), 7),
                        round(float(geo.lat_deg[i]), 7),
                        round(float(geo.height_m[i]), 1),
                    ],
                },
                "properties": _properties(pic, i, ident, geo),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


_STYLES = {
    "a-n-A-C-F": "ff00ff00",  # neutral: green (KML colours are aabbggrr)
    "a-h-A-W-M": "ff0000ff",  # hostile: red
    "a-u-A": "ff00ffff",  # unknown: yellow
}


def snapshot_kml(
    rows: TrackRows,
    identity: Mapping[str, TrackIdentity] | None = None,
    *,
    t_s: float | None = None,
    name: str = "airpicture",
) -> str:
    """The picture at ``t_s`` as a KML document (text)."""
    identity = identity or {}
    pic = picture_at(rows, t_s)
    geo = geo_tracks(pic)
    styles = [
        f'<Style id="{t}"><IconStyle><color>{c}</color><scale>1.0</scale></IconStyle>'
        f"<LabelStyle><scale>0.8</scale></LabelStyle></Style>"
        for t, c in _STYLES.items()
    ]
    styles.append(
        '<Style id="emergency"><IconStyle><color>ff0080ff</color><scale>1.4'
        "</scale></IconStyle><LabelStyle><color>ff0080ff</color></LabelStyle>"
        "</Style>"
    )
    marks = []
    for i in range(len(pic)):
        track_id = str(pic.track_id[i])
        ident = identity.get(track_id)
        props = _properties(pic, i, ident, geo)
        label = ident.callsign if ident is not None and ident.callsign else track_id
        style = "emergency" if ident is not None and ident.emergency else props["cot_type"]
        data = "".join(
            f'<Data name="{escape(k)}"><value>{escape(str(v))}</value></Data>'
            for k, v in props.items()
            if v is not None
        )
        marks.append(
            f"<Placemark><name>{escape(label)}</name>"
            f"<TimeStamp><when>{props['time']}</when></TimeStamp>"
            f"<styleUrl>#{style}</styleUrl><ExtendedData>{data}</ExtendedData>"
            f"<Point><altitudeMode>absolute</altitudeMode><coordinates>"
            f"{geo.lon_deg[i]:.7f},{geo.lat_deg[i]:.7f},{geo.height_m[i]:.1f}"
            f"</coordinates></Point></Placemark>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(name)}</name>{''.join(styles)}{''.join(marks)}</Document></kml>\n"
    )
