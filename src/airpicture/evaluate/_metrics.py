"""Scoring a picture against truth: GOSPA, SIAP attributes, track-number changes and RMSE.

The evaluator follows the data contract: at every distinct truth time each track is taken at its
latest row at or before that time and predicted to it with its own velocity (linear, in ECEF);
``tentative`` rows are not part of the picture, and a track no longer counts from its
``deleted`` row on. The tracks left form the *picture* at that time, and are compared with the
truth objects of that time:

* **GOSPA** (:func:`gospa`) on the positions, with its localisation, missed and false parts and
  the optimal one-to-one assignment of tracks to objects;
* **SIAP** completeness, ambiguity and spuriousness from a many-to-one association: each picture
  track goes to its nearest truth object within ``association_distance_m``;
* **track-number changes**: how often the track assigned to an object by GOSPA changes over the
  object's life;
* **RMSE** of position and velocity over the GOSPA-assigned pairs.

**Which truth is scored.** When the truth table carries the optional ``detectable`` column
(``docs/data-contract.md``; the simulator writes it), only the objects detectable at a time are
scored at that time, by default (``detectable_only=True``). A non-detectable object is never
missed, and a track on one is never false: at each time, every picture track whose nearest truth
object within ``association_distance_m`` (among *all* objects, detectable or not) is not
detectable is set aside. GOSPA, SIAP, track-number changes and RMSE are then the usual ones
between the detectable objects and the tracks left. So a track that keeps following an object
after it left the radars' coverage costs nothing, a second track on such an object costs nothing
either (its ambiguity is not scored), and a track far from every object is still false.

All positions are WGS-84 ECEF in metres, velocities in m/s, times in float seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from airpicture.codes import json_number
from airpicture.errors import ConfigError, DataError
from airpicture.evaluate._gospa import (
    GospaResult,
    _assign,
    _check_parameters,
    _gospa_terms,
    gospa,
)
from airpicture.tables import TrackRows, Truth, cov_pos_to_matrix

__all__ = [
    "Evaluation",
    "GospaResult",
    "evaluate_picture",
    "format_summary",
    "gospa",
    "to_json_dict",
]

_NOT_IN_PICTURE = ("tentative", "deleted")
_ID_OF_KIND = {"helicopter": "helicopter/uav", "uav": "helicopter/uav"}
"""Truth kinds whose track kind has another name."""


# --------------------------------------------------------------------------------------------
# A whole picture over time
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A tracks table scored against truth, one entry per distinct truth time.

    Per-time arrays all have shape (n_times,). GOSPA parts ``loc``, ``missed``, ``false`` are in
    m^p and add up to ``gospa ** p``; ratios are NaN where their denominator is zero.

    Attributes
    ----------
    t_s : ndarray, shape (n_times,)
        The distinct truth times, s, increasing.
    gospa : ndarray
        GOSPA, m.
    loc, missed, false : ndarray
        GOSPA localisation, missed and false parts, m^p.
    n_truth, n_tracks : ndarray of int
        Truth objects scored (the detectable ones, see ``detectable_only``) and picture tracks
        scored (those not set aside) at each time.
    n_truth_all : ndarray of int
        All truth objects at each time.
    n_set_aside : ndarray of int
        Picture tracks set aside at each time: their nearest object within the association
        distance is not detectable (0 when every object is scored).
    n_assigned, n_missed, n_false : ndarray of int
        GOSPA-assigned pairs, unassigned objects, unassigned tracks.
    n_tracked : ndarray of int
        Truth objects with at least one track within the association distance (SIAP).
    n_associated : ndarray of int
        Picture tracks associated with some truth object (SIAP).
    completeness : ndarray
        ``n_tracked / n_truth``.
    ambiguity : ndarray
        ``n_associated / n_tracked``: tracks per tracked object, 1 at best.
    spuriousness : ndarray
        ``(n_tracks - n_associated) / n_tracks``: fraction of tracks on no object.
    pos_rmse_m, vel_rmse_mps : ndarray
        RMS position (m) and velocity (m/s) error over the GOSPA-assigned pairs.
    pos_sq_sum_m2, vel_sq_sum_m2ps2 : ndarray
        The sums of squared position (m^2) and velocity (m^2/s^2) errors behind them.
    id_changes : ndarray of int
        Track-number changes that happen at each time (summed over objects).
    object_ids : ndarray of str, shape (n_objects,)
        The truth objects, sorted.
    object_id_changes : ndarray of int, shape (n_objects,)
        How often the track assigned to each object changed over its life (over the times it
        was scored).
    object_scored : ndarray of bool, shape (n_objects,)
        Whether each object was scored at one truth time at least.
    track_ids : ndarray of str
        The tracks that were in the scored picture at one truth time at least, sorted.
    n_nees : ndarray of int
        GOSPA-assigned pairs whose track row is at most ``nees_max_age_s`` old (the pairs the
        position NEES is taken over).
    nees_sum : ndarray
        The sum of their position NEES, ``e^T P^-1 e`` with the row's position covariance.
    n_identified, n_id_correct : ndarray of int
        GOSPA-assigned pairs whose track has a kind (not ``unknown``), and those whose kind is
        the object's (``helicopter`` and ``uav`` objects are ``helicopter/uav``).
    c_m, p, alpha, association_distance_m, nees_max_age_s : float
        The parameters used.
    detectable_only : bool
        True when only detectable truth rows were scored (asked for, and the truth table has
        the ``detectable`` column); False when every truth row was.
    """

    t_s: np.ndarray
    gospa: np.ndarray
    loc: np.ndarray
    missed: np.ndarray
    false: np.ndarray
    n_truth: np.ndarray
    n_tracks: np.ndarray
    n_assigned: np.ndarray
    n_missed: np.ndarray
    n_false: np.ndarray
    n_tracked: np.ndarray
    n_associated: np.ndarray
    completeness: np.ndarray
    ambiguity: np.ndarray
    spuriousness: np.ndarray
    pos_rmse_m: np.ndarray
    vel_rmse_mps: np.ndarray
    pos_sq_sum_m2: np.ndarray
    vel_sq_sum_m2ps2: np.ndarray
    id_changes: np.ndarray
    object_ids: np.ndarray
    object_id_changes: np.ndarray
    track_ids: np.ndarray
    c_m: float
    p: float
    alpha: float
    association_distance_m: float
    n_truth_all: np.ndarray
    n_set_aside: np.ndarray
    object_scored: np.ndarray
    detectable_only: bool
    n_nees: np.ndarray
    nees_sum: np.ndarray
    n_identified: np.ndarray
    n_id_correct: np.ndarray
    nees_max_age_s: float

    @property
    def gospa_parts_m(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """GOSPA split into localisation, missed and false parts in metres, each (n_times,).

        Each part is its p-th-power term scaled by ``gospa ** (1 - p)``, so the three add up to
        ``gospa`` at every time (all zero where GOSPA is zero).
        """
        scale = np.zeros_like(self.gospa)
        pos = self.gospa > 0.0
        scale[pos] = self.gospa[pos] ** (1.0 - self.p)
        return self.loc * scale, self.missed * scale, self.false * scale

    def summary(self) -> dict[str, float]:
        """Figures averaged over the truth times.

        GOSPA and its parts (m, see :attr:`gospa_parts_m`) are means over times; SIAP ratios are
        ratios of sums over times (each time weighted by its counts); RMSEs pool every assigned
        pair of every time. NaN where undefined (no pairs, no tracks ...).

        Returns
        -------
        dict of str to float
            ``gospa_m``, ``gospa_localisation_m``, ``gospa_missed_m``, ``gospa_false_m``,
            ``missed_per_time``, ``false_per_time``, ``completeness``, ``ambiguity``,
            ``spuriousness``, ``id_changes_per_object``, ``id_changes_total``, ``pos_rmse_m``,
            ``vel_rmse_mps``, ``n_objects`` (objects scored at one time at least),
            ``n_objects_all``, ``n_truth_rows`` (truth rows scored), ``n_truth_rows_all``,
            ``set_aside_per_time`` (tracks set aside on objects not scored), ``n_tracks``,
            ``n_times``; ``pos_nees`` (mean position NEES, 3 for a consistent tracker) and
            ``pos_nees_pairs``; SIAP identification: ``id_completeness`` (assigned pairs whose
            track has a kind) and ``id_correctness`` (of those, the right kind).
        """
        loc_m, missed_m, false_m = self.gospa_parts_m
        n_pairs = int(self.n_assigned.sum())
        n_objects = int(np.count_nonzero(self.object_scored))
        total_changes = int(self.object_id_changes.sum())
        return {
            "gospa_m": float(self.gospa.mean()),
            "gospa_localisation_m": float(loc_m.mean()),
            "gospa_missed_m": float(missed_m.mean()),
            "gospa_false_m": float(false_m.mean()),
            "missed_per_time": float(self.n_missed.mean()),
            "false_per_time": float(self.n_false.mean()),
            "completeness": _ratio(self.n_tracked.sum(), self.n_truth.sum()),
            "ambiguity": _ratio(self.n_associated.sum(), self.n_tracked.sum()),
            "spuriousness": _ratio(
                self.n_tracks.sum() - self.n_associated.sum(), self.n_tracks.sum()
            ),
            "id_changes_per_object": _ratio(total_changes, n_objects),
            "id_changes_total": float(total_changes),
            "pos_rmse_m": math.sqrt(_ratio(self.pos_sq_sum_m2.sum(), n_pairs)),
            "vel_rmse_mps": math.sqrt(_ratio(self.vel_sq_sum_m2ps2.sum(), n_pairs)),
            "n_objects": float(n_objects),
            "n_objects_all": float(self.object_ids.shape[0]),
            "n_truth_rows": float(self.n_truth.sum()),
            "n_truth_rows_all": float(self.n_truth_all.sum()),
            "set_aside_per_time": float(self.n_set_aside.mean()),
            "n_tracks": float(self.track_ids.shape[0]),
            "n_times": float(self.t_s.shape[0]),
            "pos_nees": _ratio(self.nees_sum.sum(), self.n_nees.sum()),
            "pos_nees_pairs": float(self.n_nees.sum()),
            "id_completeness": _ratio(self.n_identified.sum(), n_pairs),
            "id_correctness": _ratio(self.n_id_correct.sum(), self.n_identified.sum()),
        }


def _ratio(num: float | np.number, den: float | np.number) -> float:
    return float(num) / float(den) if den else math.nan


def _per_time_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    ok = den > 0
    out[ok] = num[ok] / den[ok]
    return out


def evaluate_picture(
    truth: Truth,
    tracks: TrackRows,
    *,
    c_m: float = 10_000.0,
    p: float = 2.0,
    alpha: float = 2.0,
    association_distance_m: float | None = None,
    detectable_only: bool = True,
    nees_max_age_s: float = 1.0,
) -> Evaluation:
    """Score a tracks table against truth at every distinct truth time.

    At each truth time t every track is taken at its latest row with ``t_s <= t`` and predicted
    linearly to t with its own velocity, ``r(t) = r + v (t - t_s)``, ``v(t) = v``. A track whose
    latest row is ``tentative`` is not in the picture at t; one whose latest row is ``deleted``
    no longer counts (a deleted row and another row of the same track at one time: deleted
    wins). With ``detectable_only`` and a truth table that carries ``detectable``, the truth
    objects scored at t are the detectable ones, and the picture tracks whose nearest object
    within ``association_distance_m`` (among all objects at t) is not detectable are set aside:
    neither missed objects nor false tracks come from objects outside the radars' reach. The
    picture left is then compared with the truth objects scored at that time:

    * GOSPA (:func:`gospa`) on positions, with the optimal one-to-one assignment;
    * SIAP: each picture track is associated with its nearest truth object within
      ``association_distance_m``, so several tracks may share one object. Completeness is the
      fraction of objects with at least one associated track, ambiguity the number of associated
      tracks per such object, spuriousness the fraction of tracks associated with no object;
    * track-number changes: over each object's life, how many times the track that GOSPA
      assigns to it differs from the one last assigned (times without a track are skipped, so
      A, -, A counts 0 and a swap of two tracks between two objects counts 2);
    * position and velocity RMSE over the GOSPA-assigned pairs;
    * position NEES (normalised estimation error squared) over the assigned pairs whose track
      row is at most ``nees_max_age_s`` older than the truth time, with the row's position
      covariance (its growth over so short an extrapolation is left out);
    * SIAP identification over the assigned pairs: whether the track has a kind, and whether it
      is the object's.

    Parameters
    ----------
    truth : Truth
        Truth rows: ``t_s`` (n,), ``object_id`` (n,), ``x`` (n, 6) ECEF m and m/s.
    tracks : TrackRows
        The picture as rows: ``t_s``, ``track_id``, ``x`` (k, 6), ``status``.
    c_m : float
        GOSPA cut-off, m.
    p : float
        GOSPA order, >= 1.
    alpha : float
        GOSPA cardinality factor in (0, 2].
    association_distance_m : float or None
        SIAP association gate, m; None means ``c_m``. It also decides which tracks are on a
        non-detectable object (and set aside).
    detectable_only : bool
        Score only the detectable truth rows when ``truth.detectable`` is present (ignored when
        it is None: every row is scored then). False scores every row.
    nees_max_age_s : float
        Oldest track row the NEES is taken from, s before the truth time.

    Returns
    -------
    Evaluation
        Per-time arrays and :meth:`Evaluation.summary`.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    DataError
        If the truth table is empty (there is no time to evaluate at).
    ValueError
        If ``truth.detectable`` is given without one value per truth row.

    Notes
    -----
    Vectorised over objects and tracks; the loop over truth times costs a few milliseconds per
    time for a thousand objects.

    References
    ----------
    GOSPA: see :func:`gospa`. SIAP attributes: P. Votruba, R. Nisley, R. Rothrock, B. Zombro,
    "Single Integrated Air Picture (SIAP) Metrics Implementation", SIAP System Engineering Task
    Force technical report, 2001 (completeness, ambiguity, spuriousness).
    """
    _check_parameters("evaluate_picture", c_m, p, alpha, association_distance_m)
    if not (math.isfinite(nees_max_age_s) and nees_max_age_s >= 0):
        raise ConfigError(
            "evaluate_picture",
            key="nees_max_age_s",
            expected="a finite age >= 0, s",
            got=repr(nees_max_age_s),
        )
    c_m, p, alpha = float(c_m), float(p), float(alpha)
    gate_m = c_m if association_distance_m is None else float(association_distance_m)
    if len(truth) == 0:
        raise DataError(
            "truth", expected="at least one row to evaluate at", got="an empty truth table"
        )

    t_truth = np.asarray(truth.t_s, dtype=np.float64)
    scored_only = bool(detectable_only) and truth.detectable is not None
    if scored_only:
        scored_row = np.asarray(truth.detectable, dtype=bool).reshape(-1)
        if scored_row.shape != t_truth.shape:
            raise ValueError(
                f"evaluate_picture: expected truth.detectable of shape {t_truth.shape}, "
                f"got {scored_row.shape}"
            )
    else:
        scored_row = np.ones(t_truth.shape, dtype=bool)
    object_ids, obj_code = np.unique(np.asarray(truth.object_id).astype(str), return_inverse=True)
    x_truth = np.asarray(truth.x, dtype=np.float64)
    x_track = np.asarray(tracks.x, dtype=np.float64).reshape(-1, 6)
    cov_track = cov_pos_to_matrix(np.asarray(tracks.cov_pos, dtype=np.float64).reshape(-1, 6))
    spd_cov = np.linalg.eigvalsh(cov_track).min(axis=1) > 0 if len(cov_track) else np.zeros(0, bool)
    truth_kind = np.array([_ID_OF_KIND.get(k, k) for k in np.asarray(truth.kind).astype(str)])
    track_kind = np.asarray(tracks.kind).astype(str)
    t_track = np.asarray(tracks.t_s, dtype=np.float64)
    truth_order = np.argsort(t_truth, kind="stable")
    times, first = np.unique(t_truth[truth_order], return_index=True)
    bounds = np.append(first, t_truth.shape[0])
    n_times = times.shape[0]

    per = {
        name: np.zeros(n_times)
        for name in (
            "gospa",
            "loc",
            "missed",
            "false",
            "pos_sq_sum_m2",
            "vel_sq_sum_m2ps2",
            "nees_sum",
        )
    }
    counts = {
        name: np.zeros(n_times, dtype=np.int64)
        for name in (
            "n_truth",
            "n_tracks",
            "n_assigned",
            "n_missed",
            "n_false",
            "n_tracked",
            "n_associated",
            "n_truth_all",
            "n_set_aside",
            "n_nees",
            "n_identified",
            "n_id_correct",
        )
    }
    pair_time: list[np.ndarray] = []
    pair_obj: list[np.ndarray] = []
    pair_track: list[np.ndarray] = []

    # Track rows in the order (t_s, deleted last, file order): at equal times a track's
    # deleted row comes last, so it no longer counts from that row on.
    n_rows = t_track.shape[0]
    track_ids, track_code = np.unique(np.asarray(tracks.track_id).astype(str), return_inverse=True)
    status = np.asarray(tracks.status).astype(str)
    row_in_picture = ~np.isin(status, _NOT_IN_PICTURE)
    row_order = np.lexsort((np.arange(n_rows), status == "deleted", t_track))
    t_sorted = t_track[row_order]
    latest = np.full(track_ids.shape[0], -1, dtype=np.intp)  # latest row of each track so far
    in_picture_ever = np.zeros(track_ids.shape[0], dtype=bool)
    next_row = 0

    for it, t in enumerate(times):
        stop = int(np.searchsorted(t_sorted, t, side="right"))
        if stop > next_row:
            new_rows = row_order[next_row:stop][::-1]  # newest first; np.unique keeps the first
            codes, first_new = np.unique(track_code[new_rows], return_index=True)
            latest[codes] = new_rows[first_new]
            next_row = stop
        seen = np.flatnonzero(latest >= 0)
        live = seen[row_in_picture[latest[seen]]]  # track codes in the picture at t
        rows = latest[live]

        rows_all = truth_order[bounds[it] : bounds[it + 1]]
        pos_all = x_truth[rows_all, :3]
        track_pos = x_track[rows, :3] + x_track[rows, 3:] * (t - t_track[rows])[:, None]
        m_all = pos_all.shape[0]

        # SIAP association over all objects: each track to its nearest object within the gate.
        # Tracks on an object that is not scored now are set aside; the others stay, either on
        # a scored object or on none (nearest is then m_all).
        scored_now = scored_row[rows_all]
        nearest = np.full(track_pos.shape[0], m_all, dtype=np.intp)
        if m_all and track_pos.shape[0]:
            nearest = cKDTree(pos_all).query(track_pos, k=1, distance_upper_bound=gate_m)[1]
        on_object = nearest < m_all
        keep = ~on_object | scored_now[np.minimum(nearest, m_all - 1)]
        counts["n_truth_all"][it] = m_all
        counts["n_set_aside"][it] = keep.shape[0] - int(np.count_nonzero(keep))
        live, rows, track_pos, nearest = live[keep], rows[keep], track_pos[keep], nearest[keep]
        in_picture_ever[live] = True
        rows_truth = rows_all[scored_now]
        truth_pos = pos_all[scored_now]
        m, k = truth_pos.shape[0], track_pos.shape[0]

        ti, tj, d = _assign(truth_pos, track_pos, c_m, p)
        n_a = d.shape[0]
        total, loc, missed, false = _gospa_terms(m, k, d, c_m, p, alpha)
        per["gospa"][it], per["loc"][it], per["missed"][it], per["false"][it] = (
            total,
            loc,
            missed,
            false,
        )
        counts["n_truth"][it] = m
        counts["n_tracks"][it] = k
        counts["n_assigned"][it] = n_a
        counts["n_missed"][it] = m - n_a
        counts["n_false"][it] = k - n_a
        dv = x_track[rows[tj], 3:] - x_truth[rows_truth[ti], 3:]
        per["pos_sq_sum_m2"][it] = np.sum(d**2)
        per["vel_sq_sum_m2ps2"][it] = np.sum(dv**2)
        fresh = t - t_track[rows[tj]] <= nees_max_age_s
        fresh[fresh] &= spd_cov[rows[tj[fresh]]]  # hand-made tracks may carry no covariance
        if fresh.any():
            e = track_pos[tj[fresh]] - truth_pos[ti[fresh]]
            cov = cov_track[rows[tj[fresh]]]
            per["nees_sum"][it] = float(
                np.einsum("ni,ni->", e, np.linalg.solve(cov, e[:, :, None])[:, :, 0])
            )
            counts["n_nees"][it] = int(np.count_nonzero(fresh))
        kinds = track_kind[rows[tj]]
        identified = kinds != "unknown"
        counts["n_identified"][it] = int(np.count_nonzero(identified))
        counts["n_id_correct"][it] = int(
            np.count_nonzero(identified & (kinds == truth_kind[rows_truth[ti]]))
        )
        pair_time.append(np.full(n_a, it, dtype=np.intp))
        pair_obj.append(obj_code[rows_truth[ti]])
        pair_track.append(live[tj])

        associated = nearest < m_all  # on a scored object: the others were set aside
        counts["n_associated"][it] = int(np.count_nonzero(associated))
        counts["n_tracked"][it] = np.unique(nearest[associated]).shape[0]

    # Track-number changes: each object's assigned track ids in time order.
    p_time = np.concatenate(pair_time) if pair_time else np.empty(0, dtype=np.intp)
    p_obj = np.concatenate(pair_obj) if pair_obj else np.empty(0, dtype=np.intp)
    p_trk = np.concatenate(pair_track) if pair_track else np.empty(0, dtype=np.intp)
    order = np.lexsort((p_time, p_obj))
    p_time, p_obj, p_trk = p_time[order], p_obj[order], p_trk[order]
    change = (p_obj[1:] == p_obj[:-1]) & (p_trk[1:] != p_trk[:-1])
    object_id_changes = np.bincount(p_obj[1:][change], minlength=object_ids.shape[0])
    id_changes = np.bincount(p_time[1:][change], minlength=n_times)

    return Evaluation(
        t_s=times,
        gospa=per["gospa"],
        loc=per["loc"],
        missed=per["missed"],
        false=per["false"],
        n_truth=counts["n_truth"],
        n_tracks=counts["n_tracks"],
        n_assigned=counts["n_assigned"],
        n_missed=counts["n_missed"],
        n_false=counts["n_false"],
        n_tracked=counts["n_tracked"],
        n_associated=counts["n_associated"],
        completeness=_per_time_ratio(counts["n_tracked"], counts["n_truth"]),
        ambiguity=_per_time_ratio(counts["n_associated"], counts["n_tracked"]),
        spuriousness=_per_time_ratio(
            counts["n_tracks"] - counts["n_associated"], counts["n_tracks"]
        ),
        pos_rmse_m=np.sqrt(_per_time_ratio(per["pos_sq_sum_m2"], counts["n_assigned"])),
        vel_rmse_mps=np.sqrt(_per_time_ratio(per["vel_sq_sum_m2ps2"], counts["n_assigned"])),
        pos_sq_sum_m2=per["pos_sq_sum_m2"],
        vel_sq_sum_m2ps2=per["vel_sq_sum_m2ps2"],
        id_changes=id_changes.astype(np.int64),
        object_ids=object_ids,
        object_id_changes=object_id_changes.astype(np.int64),
        track_ids=track_ids[np.flatnonzero(in_picture_ever)],
        c_m=c_m,
        p=p,
        alpha=alpha,
        association_distance_m=gate_m,
        n_truth_all=counts["n_truth_all"],
        n_set_aside=counts["n_set_aside"],
        object_scored=np.bincount(obj_code[scored_row], minlength=object_ids.shape[0]) > 0,
        detectable_only=scored_only,
        n_nees=counts["n_nees"],
        nees_sum=per["nees_sum"],
        n_identified=counts["n_identified"],
        n_id_correct=counts["n_id_correct"],
        nees_max_age_s=float(nees_max_age_s),
    )


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------

# (summary key, label, unit, format)
_SUMMARY_ROWS = (
    ("gospa_m", "GOSPA, mean over times", "m", ".1f"),
    ("gospa_localisation_m", "  localisation part", "m", ".1f"),
    ("gospa_missed_m", "  missed part", "m", ".1f"),
    ("gospa_false_m", "  false part", "m", ".1f"),
    ("missed_per_time", "missed objects per time", "", ".2f"),
    ("false_per_time", "false tracks per time", "", ".2f"),
    ("completeness", "SIAP completeness", "", ".3f"),
    ("ambiguity", "SIAP ambiguity", "", ".3f"),
    ("spuriousness", "SIAP spuriousness", "", ".3f"),
    ("id_changes_per_object", "track-number changes per object", "", ".3f"),
    ("id_changes_total", "track-number changes, total", "", ".0f"),
    ("pos_rmse_m", "position RMSE", "m", ".1f"),
    ("vel_rmse_mps", "velocity RMSE", "m/s", ".2f"),
    ("n_objects", "truth objects scored", "", ".0f"),
    ("n_objects_all", "truth objects, all", "", ".0f"),
    ("n_truth_rows", "truth rows scored", "", ".0f"),
    ("n_truth_rows_all", "truth rows, all", "", ".0f"),
    ("set_aside_per_time", "tracks set aside per time", "", ".2f"),
    ("n_tracks", "tracks in the picture", "", ".0f"),
    ("n_times", "truth times", "", ".0f"),
    ("pos_nees", "position NEES (3 when consistent)", "", ".2f"),
    ("pos_nees_pairs", "  pairs it is taken over", "", ".0f"),
    ("id_completeness", "SIAP ID completeness", "", ".3f"),
    ("id_correctness", "SIAP ID correctness", "", ".3f"),
)


def format_summary(evaluation: Evaluation) -> str:
    """The summary as an aligned, human-readable text table (no trailing newline).

    Parameters
    ----------
    evaluation : Evaluation
        The result of :func:`evaluate_picture`.

    Returns
    -------
    str
        A title line with the parameters, a line saying which truth objects were scored, then
        one line per figure: label, value, unit.
    """
    values = evaluation.summary()
    cells = []
    for key, label, unit, fmt in _SUMMARY_ROWS:
        value = values[key]
        text = "n/a" if math.isnan(value) else format(value, fmt)
        cells.append((label, text, unit))
    w_label = max(len(c[0]) for c in cells)
    w_value = max(len(c[1]) for c in cells)
    title = (
        f"picture vs truth: GOSPA c = {evaluation.c_m:g} m, p = {evaluation.p:g}, "
        f"alpha = {evaluation.alpha:g}; "
        f"association distance {evaluation.association_distance_m:g} m"
    )
    if evaluation.detectable_only:
        scope = (
            f"scored: {values['n_objects']:.0f} of {values['n_objects_all']:.0f} objects, "
            f"{values['n_truth_rows']:.0f} of {values['n_truth_rows_all']:.0f} truth rows "
            "(detectable only; tracks on the others set aside)"
        )
    else:
        scope = (
            f"scored: all {values['n_objects_all']:.0f} objects, "
            f"{values['n_truth_rows_all']:.0f} truth rows"
        )
    lines = [title, scope, "-" * max(len(title), len(scope))]
    lines += [f"{lbl:<{w_label}}  {val:>{w_value}}  {unit}".rstrip() for lbl, val, unit in cells]
    return "\n".join(lines)


def to_json_dict(evaluation: Evaluation, *, per_time: bool = False) -> dict[str, Any]:
    """The evaluation as plain JSON-ready types (NaN becomes None).

    Parameters
    ----------
    evaluation : Evaluation
        The result of :func:`evaluate_picture`.
    per_time : bool
        Also include the per-time arrays as lists.

    Returns
    -------
    dict
        ``{"parameters": {...}, "summary": {...}}`` and, if asked, ``"per_time": {...}``;
        ready for ``json.dumps``.
    """
    out: dict[str, Any] = {
        "parameters": {
            "c_m": evaluation.c_m,
            "p": evaluation.p,
            "alpha": evaluation.alpha,
            "association_distance_m": evaluation.association_distance_m,
            "detectable_only": evaluation.detectable_only,
        },
        "summary": {k: json_number(v) for k, v in evaluation.summary().items()},
    }
    if per_time:
        names = (
            "t_s",
            "gospa",
            "loc",
            "missed",
            "false",
            "n_truth",
            "n_truth_all",
            "n_tracks",
            "n_set_aside",
            "n_assigned",
            "n_missed",
            "n_false",
            "n_tracked",
            "n_associated",
            "completeness",
            "ambiguity",
            "spuriousness",
            "pos_rmse_m",
            "vel_rmse_mps",
            "id_changes",
        )
        out["per_time"] = {
            name: [json_number(float(v)) for v in getattr(evaluation, name)] for name in names
        }
    return out
