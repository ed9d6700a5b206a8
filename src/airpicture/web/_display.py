"""Track rows to the display records the map draws (:mod:`airpicture.web._store` gives their keys
and units).

The conversion is vectorised over the rows: geodetic position, course and speed, and the
horizontal ellipse of the position covariance in the local east-north-up frame of each track;
values are rounded for the wire and non-finite ones become ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from airpicture.geo import ecef2geodetic, enu_rotation
from airpicture.tables import TrackRows, cov_pos_to_matrix

__all__ = ["display_records"]


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
    """Display records (see :mod:`airpicture.web._store`) of track rows, one per row, in row order.

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
