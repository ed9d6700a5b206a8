"""Tracks between the data contract's tracks table (ECEF rows) and system tracks (WGS-84
position, east/north/up velocity and accuracies: CAT062, CoT, the snapshots)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from airpicture.geo import ecef2geodetic, enu_rotation, geodetic2ecef
from airpicture.interop._categories import SystemTrack
from airpicture.models import FEET_M, pressure_altitude_to_height
from airpicture.tables import TrackRows, cov_pos_from_matrix, cov_pos_to_matrix

__all__ = ["GeoTracks", "TrackIdentity", "geo_tracks", "system_tracks_to_rows"]

_DEFAULT_SIGMA_H_M = 500.0
_DEFAULT_SIGMA_V_M = 300.0


@dataclass(frozen=True)
class TrackIdentity:
    """What a track is known as: Mode S address (6 hex digits), callsign, squawk (4 octal
    digits), emergency (empty: none), flight level (NaN: unknown); empty text when unknown."""

    address: str = ""
    callsign: str = ""
    squawk: str = ""
    emergency: str = ""
    flight_level: float = math.nan


@dataclass(frozen=True)
class GeoTracks:
    """Track rows in geodetic terms, one entry per row of the tracks table.

    Arrays of shape (n,): ``lat_deg``, ``lon_deg``, ``height_m`` (WGS-84 ellipsoid),
    ``v_east_mps``, ``v_north_mps``, ``v_up_mps``, ``speed_mps`` (horizontal),
    ``course_deg`` (clockwise from true north), and 1-sigma ``sigma_east_m``,
    ``sigma_north_m``, ``sigma_up_m``; ``circular_error_m`` the radius of the 90 % horizontal
    circle (CoT ``ce``, from the larger horizontal axis), ``linear_error_m`` the 90 % vertical
    half-interval (CoT ``le``).
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    height_m: np.ndarray
    v_east_mps: np.ndarray
    v_north_mps: np.ndarray
    v_up_mps: np.ndarray
    speed_mps: np.ndarray
    course_deg: np.ndarray
    sigma_east_m: np.ndarray
    sigma_north_m: np.ndarray
    sigma_up_m: np.ndarray
    circular_error_m: np.ndarray
    linear_error_m: np.ndarray


def geo_tracks(rows: TrackRows) -> GeoTracks:
    """The rows of a tracks table in WGS-84 and local east/north/up terms."""
    x = np.asarray(rows.x, dtype=float).reshape(-1, 6)
    lat, lon, h = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])
    R = enu_rotation(lat, lon).reshape(-1, 3, 3)
    v = np.einsum("nij,nj->ni", R, x[:, 3:])
    P = cov_pos_to_matrix(np.asarray(rows.cov_pos, dtype=float).reshape(-1, 6))
    P_enu = R @ P @ np.swapaxes(R, -1, -2)
    var = np.clip(np.diagonal(P_enu, axis1=-2, axis2=-1), 0.0, None)
    horizontal = P_enu[:, :2, :2]
    major = np.sqrt(np.clip(np.linalg.eigvalsh(horizontal)[:, -1], 0.0, None))
    return GeoTracks(
        lat_deg=np.degrees(lat),
        lon_deg=np.degrees(lon),
        height_m=np.asarray(h, dtype=float),
        v_east_mps=v[:, 0],
        v_north_mps=v[:, 1],
        v_up_mps=v[:, 2],
        speed_mps=np.hypot(v[:, 0], v[:, 1]),
        course_deg=np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360.0,
        sigma_east_m=np.sqrt(var[:, 0]),
        sigma_north_m=np.sqrt(var[:, 1]),
        sigma_up_m=np.sqrt(var[:, 2]),
        circular_error_m=2.1460 * major,  # 90 % of a circular normal: sqrt(-2 ln 0.1) sigma
        linear_error_m=1.6449 * np.sqrt(var[:, 2]),
    )


def system_tracks_to_rows(
    tracks: list[tuple[float, SystemTrack]], *, nation: str
) -> tuple[TrackRows, list[tuple[str, ...]]]:
    """Tracks table rows of CAT062 system tracks ``(t_s, track)``, and their identity rows.

    The track id is ``<SAC>.<SIC>-<track number>``; a track without a geometric height takes
    its flight level's height (ISA), else 0 m with a 10 km sigma; missing accuracies take
    500 m horizontally and 300 m vertically; status ``tentative`` (I062/080 CNF), ``deleted``
    (TSE, the track's last message) or ``confirmed``; kind ``unknown``.
    """
    n = len(tracks)
    t = np.array([ts for ts, _ in tracks], dtype=float)
    lat = np.radians([tr.lat_deg for _, tr in tracks])
    lon = np.radians([tr.lon_deg for _, tr in tracks])
    h = np.zeros(n)
    sig = np.zeros((n, 3))
    venu = np.zeros((n, 3))
    identity: list[tuple[str, ...]] = []
    ids = []
    status = []
    for i, (ts, tr) in enumerate(tracks):
        sh = tr.sigma_height_m or _DEFAULT_SIGMA_V_M
        if tr.height_m is not None:
            h[i] = tr.height_m
        elif tr.flight_level is not None:
            h[i] = float(pressure_altitude_to_height(tr.flight_level * 100 * FEET_M))
        else:
            sh = 10_000.0
        sig[i] = (tr.sigma_east_m or _DEFAULT_SIGMA_H_M, tr.sigma_north_m or _DEFAULT_SIGMA_H_M, sh)
        venu[i] = (tr.v_east_mps or 0.0, tr.v_north_mps or 0.0, tr.v_up_mps or 0.0)
        track_id = f"{tr.sac}.{tr.sic}-{tr.track_number}"
        ids.append(track_id)
        status.append("deleted" if tr.ended else "tentative" if tr.tentative else "confirmed")
        if tr.address or tr.callsign or tr.mode3a:
            from airpicture.interop._modes import emergency_of_squawk

            fl = "" if tr.flight_level is None else f"{tr.flight_level:g}"
            identity.append(
                (
                    track_id,
                    repr(ts),
                    tr.address or "",
                    tr.callsign or "",
                    tr.mode3a or "",
                    emergency_of_squawk(tr.mode3a) or "",
                    fl,
                    "1",
                )
            )
    pos = np.stack(geodetic2ecef(lat, lon, h), axis=-1).reshape(n, 3)
    R = enu_rotation(lat, lon).reshape(n, 3, 3)
    RT = np.swapaxes(R, -1, -2)
    vel = np.einsum("nij,nj->ni", RT, venu)
    P = RT @ (sig[:, :, None] ** 2 * np.eye(3)) @ R
    rows = TrackRows(
        t_s=t,
        track_id=np.asarray(ids, dtype=object).astype(str),
        x=np.concatenate([pos, vel], axis=1),
        cov_pos=cov_pos_from_matrix(P),
        kind=np.full(n, "unknown"),
        status=np.asarray(status, dtype=str),
        nations=np.full(n, nation),
    )
    return rows, identity


def rows_to_system_tracks(
    rows: TrackRows,
    identity: Mapping[str, TrackIdentity],
    *,
    sac: int,
    sic: int,
    numbers: dict[str, int],
) -> list[tuple[float, SystemTrack]]:
    """System tracks of tracks table rows (for CAT062). ``numbers`` maps track ids to track
    numbers (1-65535) and is extended with new ids, in order of first appearance."""
    geo = geo_tracks(rows)
    out = []
    for i in range(len(rows)):
        track_id = str(rows.track_id[i])
        if track_id not in numbers:
            numbers[track_id] = len(numbers) % 65_535 + 1
        ident = identity.get(track_id, TrackIdentity())
        fl = ident.flight_level
        t_s = float(rows.t_s[i])
        out.append(
            (
                t_s,
                SystemTrack(
                    sac=sac,
                    sic=sic,
                    track_number=numbers[track_id],
                    time_of_day_s=t_s % 86_400.0,
                    lat_deg=float(geo.lat_deg[i]),
                    lon_deg=float(geo.lon_deg[i]),
                    height_m=float(geo.height_m[i]),
                    flight_level=None if not math.isfinite(fl) else fl,
                    v_east_mps=float(geo.v_east_mps[i]),
                    v_north_mps=float(geo.v_north_mps[i]),
                    v_up_mps=float(geo.v_up_mps[i]),
                    address=ident.address or None,
                    callsign=ident.callsign or None,
                    mode3a=ident.squawk or None,
                    sigma_east_m=float(geo.sigma_east_m[i]),
                    sigma_north_m=float(geo.sigma_north_m[i]),
                    sigma_height_m=float(geo.sigma_up_m[i]),
                    tentative=str(rows.status[i]) == "tentative",
                    ended=str(rows.status[i]) == "deleted",
                ),
            )
        )
    return out
