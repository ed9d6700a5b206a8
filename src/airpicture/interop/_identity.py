"""Identity of tracks from the identity of the detections near them.

The tracker does not carry identity; this layer gives each track the identity of the
detections (Mode S plots, ADS-B reports) that fall in its gate: each identified detection is
associated with the track row nearest to it in statistical distance among the rows within
``max_dt_s`` of it (the row predicted to the detection's time with its own velocity;
covariance the row's position covariance plus ``sigma_detection_m`` squared per axis; gate the
chi-square 99.9 % point with 3 degrees of freedom), and a track takes the identity that most
of its associated detections carry (Mode S address first, else callsign, else squawk), with
the newest callsign, squawk and flight level among them. The emergency is that of the newest
such detection: an aircraft that squawked 7700 and then its normal code is no longer flagged.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from airpicture.interop._ingest import read_identity, write_identity
from airpicture.interop._tracks import TrackIdentity
from airpicture.models import detection_jacobians
from airpicture.tables import Detections, TrackRows, cov_pos_to_matrix

__all__ = [
    "TRACK_IDENTITY_COLUMNS",
    "identify_tracks",
    "read_track_identity",
    "write_track_identity",
]

TRACK_IDENTITY_COLUMNS = (
    "track_id",
    "t_s",
    "address",
    "callsign",
    "squawk",
    "emergency",
    "flight_level",
    "reports",
)
"""Columns of a tracks identity table (``<tracks>.identity.csv``)."""

_GATE_3DOF_999 = 16.266


def identify_tracks(
    tracks: TrackRows,
    detections: Detections,
    identity: Mapping[str, np.ndarray],
    *,
    max_dt_s: float = 6.0,
    sigma_detection_m: float = 300.0,
) -> dict[str, tuple[TrackIdentity, float, int]]:
    """Each identified track's identity, the time of its newest identified report, and the
    number of reports that voted for it.

    Parameters
    ----------
    tracks : TrackRows
        The picture (any statuses; ``deleted`` rows are not used).
    detections : Detections
        The detections the picture was made from (``row`` their 0-based place in the file).
    identity : mapping of str to ndarray
        The detections' identity table (:func:`airpicture.interop.read_identity`).
    max_dt_s, sigma_detection_m : float
        How far in time a track row may be from a detection, and the detection's position
        noise per axis, m.
    """
    if len(tracks) == 0 or len(identity.get("row", ())) == 0:
        return {}
    by_row = {int(r): i for i, r in enumerate(detections.row)}
    rows = np.array([by_row.get(int(r), -1) for r in identity["row"]])
    keep = rows >= 0
    rows = rows[keep]
    ident = {k: np.asarray(v)[keep] for k, v in identity.items()}
    if rows.size == 0:
        return {}
    det = detections.take(rows)
    p_det, _ = detection_jacobians(det)
    alive = np.asarray(tracks.status) != "deleted"
    tr = tracks.take(np.flatnonzero(alive))
    order = np.argsort(tr.t_s, kind="stable")
    tr = tr.take(order)
    t_rows = np.asarray(tr.t_s, dtype=float)
    x = np.asarray(tr.x, dtype=float)
    P = cov_pos_to_matrix(np.asarray(tr.cov_pos, dtype=float))
    track_ids = np.asarray(tr.track_id).astype(str)
    keys = [_key(ident, k) for k in range(rows.size)]
    by_key: dict[str, list[int]] = defaultdict(list)
    for k, key in enumerate(keys):
        by_key[key].append(k)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    latest: dict[tuple[str, str], int] = {}
    for k in range(rows.size):
        t = float(det.t_s[k])
        lo, hi = np.searchsorted(t_rows, [t - max_dt_s, t + max_dt_s], side="left")
        if lo >= hi:
            continue
        dt = t - t_rows[lo:hi]
        # the row nearest in time of each track in the window
        cand_ids = track_ids[lo:hi]
        nearest: dict[str, int] = {}
        for j in np.argsort(np.abs(dt), kind="stable"):
            nearest.setdefault(cand_ids[j], int(j))
        idx = np.fromiter(nearest.values(), dtype=np.int64) + lo
        d = p_det[k] - (x[idx, :3] + x[idx, 3:] * (t - t_rows[idx])[:, None])
        S = P[idx] + sigma_detection_m**2 * np.eye(3)
        m = np.einsum("ni,ni->n", d, np.linalg.solve(S, d[:, :, None])[:, :, 0])
        best = int(np.argmin(m))
        if m[best] > _GATE_3DOF_999:
            continue
        track = str(track_ids[idx[best]])
        key = keys[k]
        if not key:
            continue
        votes[track][key] += 1
        previous = latest.get((track, key))
        if previous is None or det.t_s[previous] <= t:
            latest[(track, key)] = k
    out: dict[str, tuple[TrackIdentity, float, int]] = {}
    for track, counter in votes.items():
        key, n = counter.most_common(1)[0]
        reports = by_key[key]
        newest = latest[(track, key)]
        out[track] = (_identity_of(ident, reports, newest), float(det.t_s[newest]), n)
    return out


def _key(ident: Mapping[str, np.ndarray], k: int) -> str:
    for column, prefix in (("address", "A"), ("callsign", "C"), ("squawk", "S")):
        value = str(ident[column][k]) if column in ident else ""
        if value:
            return f"{prefix}:{value}"
    return ""


def _identity_of(ident: Mapping[str, np.ndarray], reports: list[int], newest: int) -> TrackIdentity:
    def last(column: str) -> str:
        values = ident.get(column)
        if values is None:
            return ""
        for k in sorted(reports, reverse=True):
            if k <= newest and str(values[k]):
                return str(values[k])
        return ""

    fl_text = last("flight_level")
    return TrackIdentity(
        address=last("address"),
        callsign=last("callsign"),
        squawk=last("squawk"),
        emergency=str(ident["emergency"][newest]) if "emergency" in ident else "",
        flight_level=float(fl_text) if fl_text else math.nan,
    )


def write_track_identity(
    path: str | Path, identified: Mapping[str, tuple[TrackIdentity, float, int]]
) -> None:
    """Write :func:`identify_tracks`'s result as a tracks identity table (CSV)."""
    rows = []
    for track, (ti, t_s, n) in sorted(identified.items()):
        fl = "" if not math.isfinite(ti.flight_level) else f"{ti.flight_level:g}"
        rows.append(
            (track, repr(t_s), ti.address, ti.callsign, ti.squawk, ti.emergency, fl, str(n))
        )
    write_identity(path, rows, TRACK_IDENTITY_COLUMNS)


def read_track_identity(path: str | Path) -> dict[str, TrackIdentity]:
    """A tracks identity table: each track id's identity (the newest row of a track wins)."""
    table = read_identity(path)
    out: dict[str, TrackIdentity] = {}
    n = len(table.get("track_id", ()))
    times = table.get("t_s", np.full(n, "0"))
    order = np.argsort([float(t) if t else 0.0 for t in times], kind="stable")
    for i in order:
        fl = str(table.get("flight_level", np.full(n, ""))[i])
        out[str(table["track_id"][i])] = TrackIdentity(
            address=str(table.get("address", np.full(n, ""))[i]),
            callsign=str(table.get("callsign", np.full(n, ""))[i]),
            squawk=str(table.get("squawk", np.full(n, ""))[i]),
            emergency=str(table.get("emergency", np.full(n, ""))[i]),
            flight_level=float(fl) if fl else math.nan,
        )
    return out
