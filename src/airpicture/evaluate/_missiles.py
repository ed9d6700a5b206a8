"""Scoring the assessment of ballistic missiles against truth: tracks, kinds, impacts, alerts.

For every ballistic object of the truth table, :func:`score_missiles` finds the firm tracks that
followed it (each firm row goes to the nearest ballistic object within ``gate_m`` at its time,
each track to the object most of its rows went to), and reports

* **continuity**: the tracks that held it, from when to when;
* **classification**: when its track was first confirmed and first labelled ``ballistic``;
* **impact prediction**: for every impact row of its tracks, the time to go, the distance from
  the predicted to the true impact point, and whether the ellipse holds the true point;
* **launch estimate**: for every impact row of its tracks that estimates the launch, the
  distance from the estimated to the true launch point (the object's first truth row) and how
  much later than the true launch time the estimate is;
* **warnings**: the areas alerted for its tracks, those still alerted at impact, the areas the
  true impact point lies in, and the lead time of the alert for each of these.

Positions are WGS-84 ECEF (m), angles radians, times seconds since the Unix epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from airpicture.assess._warning import WarningAreas, ellipses_meet_areas
from airpicture.geo import ecef2enu, ecef2geodetic, geodetic2ecef
from airpicture.tables import AlertRows, ImpactRows, TrackRows, Truth

__all__ = [
    "MissileScore",
    "TrueImpacts",
    "impact_points_from_truth",
    "score_missiles",
    "tracks_on_ballistic_objects",
]

_FIRM = ("confirmed", "coasting")


@dataclass(frozen=True)
class TrueImpacts:
    """True impacts of ballistic objects; arrays of shape (n,).

    Attributes
    ----------
    object_id : ndarray of str
    t_s : ndarray
        Impact time, s.
    lat_rad, lon_rad : ndarray
        Impact point, geodetic, rad.
    """

    object_id: np.ndarray
    t_s: np.ndarray
    lat_rad: np.ndarray
    lon_rad: np.ndarray


def impact_points_from_truth(truth: Truth) -> TrueImpacts:
    """Impact points of the ballistic objects of a truth table, from its last two rows each.

    The last truth row of a body that came down is at most one truth interval before impact;
    the impact is where the straight line through the last two rows reaches height zero
    (linear in time). This leaves out the curvature of the last interval: a few hundred metres
    at most for a 1 s interval near the ground, so where the simulator's exact impacts are at
    hand (its objects' last states), prefer them. A body whose truth ends while it is still in
    flight (the scenario ended first: its line does not reach the ground, descending, within
    about one more interval) has no impact and is left out.

    Parameters
    ----------
    truth : Truth
        With ``kind == 'ballistic'`` rows.

    Returns
    -------
    TrueImpacts
    """
    ids, times, lats, lons = [], [], [], []
    for oid in np.unique(truth.object_id[truth.kind == "ballistic"]):
        g = truth.take(truth.object_id == oid)
        order = np.argsort(g.t_s)
        if len(order) < 2:
            continue
        i0, i1 = order[-2], order[-1]
        h = ecef2geodetic(g.x[[i0, i1], 0], g.x[[i0, i1], 1], g.x[[i0, i1], 2])[2]
        # descending, and onto the ground within about one more interval (half of one more for
        # the rounding of the heights and a fall that speeds up)
        if not h[1] < h[0] or h[1] > 1.5 * (h[0] - h[1]):
            continue
        frac = h[1] / (h[0] - h[1])
        dt = g.t_s[i1] - g.t_s[i0]
        p = g.x[i1, :3] + (g.x[i1, :3] - g.x[i0, :3]) * frac
        lat, lon, _ = ecef2geodetic(p[0], p[1], p[2])
        ids.append(str(oid))
        times.append(g.t_s[i1] + frac * dt)
        lats.append(float(lat))
        lons.append(float(lon))
    return TrueImpacts(np.array(ids, dtype=str), np.array(times), np.array(lats), np.array(lons))


@dataclass(frozen=True)
class MissileScore:
    """How one ballistic object was tracked, classified, predicted and warned of.

    Attributes
    ----------
    object_id : str
    track_ids : tuple of str
        Firm tracks that followed it, in order of their first row.
    first_firm_t_s, last_firm_t_s : float
        First and last firm row of those tracks, s (NaN without a track).
    classified_t_s : float
        First row of those tracks labelled ``ballistic``, s (NaN if never).
    impact_t_s : float
        True impact time, s.
    time_to_go_s, error_m : ndarray, shape (k,)
        Per impact row of its tracks: true impact time minus the row's time, s; distance from
        the predicted to the true impact point, m.
    inside : ndarray of bool, shape (k,)
        The row's ellipse holds the true impact point.
    launch_error_m, launch_late_s : ndarray, shape (k,)
        Per impact row: distance from the estimated to the true launch point, m; estimated
        minus true launch time, s (NaN where the row has no launch estimate).
    launch_inside : ndarray, shape (k,)
        Per impact row: 1.0 where its launch ellipse holds the true launch point, 0.0 where
        not, NaN where the row has no launch ellipse.
    alerted_areas : tuple of str
        Areas an alert was issued for (any of its tracks).
    areas_at_impact : tuple of str
        Areas still alerted at the true impact time.
    true_areas : tuple of str
        Areas holding the true impact point.
    lead_time_s : dict of str to float
        For each true area alerted at impact, the impact time minus the issue time of that
        alert, s.
    """

    object_id: str
    track_ids: tuple[str, ...]
    first_firm_t_s: float
    last_firm_t_s: float
    classified_t_s: float
    impact_t_s: float
    time_to_go_s: np.ndarray
    error_m: np.ndarray
    inside: np.ndarray
    launch_error_m: np.ndarray
    launch_late_s: np.ndarray
    launch_inside: np.ndarray
    alerted_areas: tuple[str, ...]
    areas_at_impact: tuple[str, ...]
    true_areas: tuple[str, ...]
    lead_time_s: dict[str, float]

    @property
    def held_one_track(self) -> bool:
        """One track held it."""
        return len(self.track_ids) == 1

    @property
    def time_to_classify_s(self) -> float:
        """From the first firm row to the first ``ballistic`` label, s."""
        return self.classified_t_s - self.first_firm_t_s

    @property
    def alerts_exact(self) -> bool:
        """The areas alerted at impact are exactly those holding the impact point."""
        return set(self.areas_at_impact) == set(self.true_areas)


def tracks_on_ballistic_objects(
    truth: Truth, tracks: TrackRows, *, gate_m: float = 10_000.0
) -> set[str]:
    """The tracks that followed a ballistic object of the truth, whether or not it came down
    before the truth ends: most of a track's firm rows within ``gate_m`` of one.

    The complement, among tracks labelled ``ballistic`` or raising alerts, is what a picture
    would wrongly warn of.
    """
    firm = tracks.take(np.isin(tracks.status, _FIRM))
    ballistic_ids = np.unique(truth.object_id[truth.kind == "ballistic"])
    if len(firm) == 0 or len(ballistic_ids) == 0:
        return set()
    d = np.stack(
        [
            np.linalg.norm(
                firm.x[:, :3] - _truth_at(truth.take(truth.object_id == o), firm.t_s), axis=1
            )
            for o in ballistic_ids
        ],
        axis=1,
    )
    close = np.nan_to_num(d, nan=np.inf).min(axis=1) <= gate_m
    ids, rows = np.unique(firm.track_id, return_inverse=True)
    near = np.bincount(rows, weights=close, minlength=len(ids))
    total = np.bincount(rows, minlength=len(ids))
    return {str(t) for t in ids[2 * near >= total]}


def _truth_at(g: Truth, t: np.ndarray) -> np.ndarray:
    """Truth positions of one object at times ``t`` (linear in time), NaN outside its rows."""
    order = np.argsort(g.t_s)
    ts, xs = g.t_s[order], g.x[order, :3]
    out = np.stack(
        [np.interp(t, ts, xs[:, k], left=np.nan, right=np.nan) for k in range(3)], axis=-1
    )
    return out


def _offsets(
    lat_rad: float, lon_rad: float, at_lat_rad: np.ndarray, at_lon_rad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """East and north offsets (m) of ground points from a true ground point, in its plane."""
    px, py, pz = geodetic2ecef(lat_rad, lon_rad, 0.0)
    e, n, _ = ecef2enu(px, py, pz, at_lat_rad, at_lon_rad, 0.0)
    return e, n


def _in_ellipse(
    e: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray, orientation_rad: np.ndarray
) -> np.ndarray:
    """Whether the ellipses (semi-axes a >= b, major axis at ``orientation_rad`` from north)
    centred at offsets ``(e, n)`` from a point hold it (an ellipse is symmetric: the point seen
    from the centre or the centre from the point, alike)."""
    along = e * np.sin(orientation_rad) + n * np.cos(orientation_rad)
    across = e * np.cos(orientation_rad) - n * np.sin(orientation_rad)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((along / a) ** 2 + (across / b) ** 2 <= 1.0)


def _inside(impacts: ImpactRows, lat_rad: float, lon_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each predicted impact to a true point (m), and whether its ellipse holds it."""
    if len(impacts) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    e, n = _offsets(lat_rad, lon_rad, impacts.impact_lat_rad, impacts.impact_lon_rad)
    a = np.maximum(impacts.semi_major_m, 1e-9)
    b = np.maximum(impacts.semi_minor_m, 1e-9)
    return np.hypot(e, n), _in_ellipse(e, n, a, b, impacts.orientation_rad)


def _launch_errors(
    impacts: ImpactRows, launch: Truth
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance from each estimated launch point to the true one (the first row of the object's
    truth, on the ground), m; the estimated minus the true launch time, s; and whether the
    launch ellipse holds the true point (1.0 or 0.0, NaN without an ellipse)."""
    nan = np.full(len(impacts), np.nan)
    if len(impacts) == 0 or len(launch) == 0:
        return nan, nan.copy(), nan.copy()
    first = int(np.argmin(launch.t_s))
    lat, lon, _ = ecef2geodetic(*launch.x[first, :3])
    e, n = _offsets(float(lat), float(lon), impacts.launch_lat_rad, impacts.launch_lon_rad)
    inside = nan.copy()
    a, b = impacts.launch_semi_major_m, impacts.launch_semi_minor_m
    o = impacts.launch_orientation_rad
    if a is not None and b is not None and o is not None:
        held = _in_ellipse(e, n, a, b, o)
        inside = np.where(np.isfinite(a) & np.isfinite(e), held.astype(float), np.nan)
    return np.hypot(e, n), impacts.launch_t_s - float(launch.t_s[first]), inside


def _alerts_at(alerts: AlertRows, t_s: float) -> dict[str, tuple[str, float]]:
    """Alerts in force at ``t_s``: alert id -> (area id, issue time)."""
    state: dict[str, tuple[str, float]] = {}
    order = np.argsort(alerts.t_s, kind="stable")
    for i in order:
        if alerts.t_s[i] > t_s:
            break
        aid = str(alerts.alert_id[i])
        if alerts.state[i] == "active":
            issued = state[aid][1] if aid in state else float(alerts.t_s[i])
            state[aid] = (str(alerts.area_id[i]), issued)
        else:
            state.pop(aid, None)
    return state


def score_missiles(
    truth: Truth,
    tracks: TrackRows,
    impacts: ImpactRows,
    alerts: AlertRows,
    true_impacts: TrueImpacts,
    *,
    areas: WarningAreas | None = None,
    gate_m: float = 10_000.0,
) -> list[MissileScore]:
    """Score every ballistic object of ``true_impacts`` (module docstring).

    Parameters
    ----------
    truth : Truth
        Truth table (the ballistic objects' rows are used).
    tracks : TrackRows
        The picture, with ``kind`` filled in.
    impacts, alerts : ImpactRows, AlertRows
        The assessment's tables.
    true_impacts : TrueImpacts
        True impact of each ballistic object.
    areas : WarningAreas, optional
        The warning areas the alerts refer to (for the true areas of each impact).
    gate_m : float
        Largest distance of a track row from the object it is taken to follow, m.

    Returns
    -------
    list of MissileScore
        In the order of ``true_impacts``.
    """
    ids = [str(o) for o in true_impacts.object_id]
    firm = tracks.take(np.isin(tracks.status, _FIRM))
    groups = {oid: truth.take(truth.object_id == oid) for oid in ids}
    if len(firm) and ids:
        d = np.stack(
            [np.linalg.norm(firm.x[:, :3] - _truth_at(groups[o], firm.t_s), axis=1) for o in ids],
            axis=1,
        )
        d = np.where(np.isfinite(d), d, np.inf)
        nearest = d.argmin(axis=1)
        close = d.min(axis=1) <= gate_m
    else:
        nearest = np.zeros(len(firm), dtype=int)
        close = np.zeros(len(firm), dtype=bool)
    owner: dict[str, str] = {}
    for tid in np.unique(firm.track_id[close]):
        votes = np.bincount(nearest[close & (firm.track_id == tid)], minlength=len(ids))
        if votes.sum() * 2 >= int((firm.track_id == tid).sum()):  # followed it most of its life
            owner[str(tid)] = ids[int(votes.argmax())]

    true_area_sets: list[tuple[str, ...]] = []
    if areas is not None and len(areas) and len(ids):
        inside = ellipses_meet_areas(
            areas,
            true_impacts.lat_rad,
            true_impacts.lon_rad,
            np.tile(np.eye(2), (len(ids), 1, 1)),
            0.5,
        )
        true_area_sets = [
            tuple(a for a, hit in zip(areas.ids, row, strict=True) if hit) for row in inside
        ]
    else:
        true_area_sets = [() for _ in ids]

    scores = []
    for k, oid in enumerate(ids):
        mine = sorted(
            (t for t, o in owner.items() if o == oid),
            key=lambda t: float(firm.t_s[firm.track_id == t].min()),
        )
        rows = firm.take(np.isin(firm.track_id, mine))
        t_imp = float(true_impacts.t_s[k])
        ballistic = rows.t_s[rows.kind == "ballistic"]
        imp = impacts.take(np.isin(impacts.track_id, mine))
        err, inside_flags = _inside(
            imp, float(true_impacts.lat_rad[k]), float(true_impacts.lon_rad[k])
        )
        launch_err, launch_late, launch_inside = _launch_errors(imp, groups[oid])
        al = alerts.take(np.isin(alerts.track_id, mine))
        issued = al.area_id[al.event == "issued"]
        at_impact = _alerts_at(al, t_imp)
        areas_at_impact = tuple(sorted({a for a, _ in at_impact.values()}))
        lead = {
            area: t_imp - min(t for a, t in at_impact.values() if a == area)
            for area in true_area_sets[k]
            if area in areas_at_impact
        }
        scores.append(
            MissileScore(
                object_id=oid,
                track_ids=tuple(mine),
                first_firm_t_s=float(rows.t_s.min()) if len(rows) else math.nan,
                last_firm_t_s=float(rows.t_s.max()) if len(rows) else math.nan,
                classified_t_s=float(ballistic.min()) if len(ballistic) else math.nan,
                impact_t_s=t_imp,
                time_to_go_s=t_imp - imp.t_s,
                error_m=err,
                inside=inside_flags,
                launch_error_m=launch_err,
                launch_late_s=launch_late,
                launch_inside=launch_inside,
                alerted_areas=tuple(sorted(set(str(a) for a in issued))),
                areas_at_impact=areas_at_impact,
                true_areas=true_area_sets[k],
                lead_time_s=lead,
            )
        )
    return scores
