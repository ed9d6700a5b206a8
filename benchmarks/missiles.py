"""Ballistic missiles: filter accuracy against the PCRLB, track continuity, classification,
impact prediction and its calibration, and civil-defence alerts, over Monte Carlo runs.

Two studies, each over independent sensor noise (every run draws new measurement noise,
detection and clutter from its own seed):

* ``reentry`` (the library's re-entry benchmark, one radar): position and velocity RMSE of the
  track against the posterior Cramér-Rao lower bound (``airpicture.evaluate._pcrlb``) at every
  update, and the NEES of the IMM output and of its free-flight models combined;
* ``sea-of-japan-raid`` (four missiles among airliners and cruise missiles, eleven sensors):
  whether each missile is held as one track, the time from confirmation to the ``ballistic``
  label, the impact-point error against time to go, how often the 95 % ellipse holds the true
  impact point, and the alerts (areas, lead time). Each run also draws every missile's inverse
  ballistic coefficient from the tracker's prior (``KAPPA_PRIOR``: mean and standard deviation
  2e-4 m^2/kg): above the atmosphere drag is not observed, so the impact ellipse rightly carries
  the prior's spread, and only a truth drawn from that prior tests its calibration (with every
  missile at the prior mean the mid-course ellipses held the impact 99 % of the time).

Runs go to a local process pool; progress goes to stderr. Run::

    python benchmarks/missiles.py [--reentry-runs 100] [--raid-runs 20] [--workers 2] [--json FILE]

It prints the figures; it asserts nothing.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import chi2  # noqa: E402

from airpicture.assess import AssessConfig, Assessor, read_warning_areas  # noqa: E402
from airpicture.evaluate._metrics import evaluate_picture  # noqa: E402
from airpicture.evaluate._missiles import TrueImpacts, score_missiles  # noqa: E402
from airpicture.evaluate._pcrlb import ballistic_radar_pcrlb  # noqa: E402
from airpicture.filters import combine  # noqa: E402
from airpicture.geo import ecef2geodetic  # noqa: E402
from airpicture.models import (  # noqa: E402
    AIR_DENSITY_SEA_LEVEL_KGPM3,
    AIR_SCALE_HEIGHT_M,
    Atmosphere,
    cv_process_noise,
)
from airpicture.models._measurement import SensorGeometry, measurement_noise  # noqa: E402
from airpicture.sim._detectable import DetectableMarker  # noqa: E402
from airpicture.sim._objects import ObjectSet, build_objects  # noqa: E402
from airpicture.sim._run import object_rng, stream_detections, truth_times  # noqa: E402
from airpicture.sim._scenario import Scenario, load_scenario  # noqa: E402
from airpicture.tables import AlertRows, Detections, ImpactRows, SensorTable, TrackRows  # noqa: E402
from airpicture.tracker import Tracker, TrackerConfig  # noqa: E402
from airpicture.tracker._core import KAPPA_PRIOR  # noqa: E402

_SCENARIOS: dict[tuple[str, int | None], tuple[Scenario, ObjectSet]] = {}
_DRAWN_KAPPA = {"sea-of-japan-raid"}
"""Scenarios whose missiles take a ballistic coefficient drawn for each run."""
_DRAWN_FLIGHT = {"reentry-perturbed"}
"""Scenarios whose flights are drawn for each run (random accelerations from the run's seed)."""


def _setup(name: str, seed: int | None = None) -> tuple[Scenario, ObjectSet]:
    """The scenario and its objects, flown once per process (and run, where kappa or the flight
    is drawn)."""
    key = (name, seed if name in _DRAWN_KAPPA | _DRAWN_FLIGHT else None)
    if key not in _SCENARIOS:
        sc = load_scenario(name)
        specs = [dict(o) for o in sc.objects]
        if key[1] is not None and name in _DRAWN_KAPPA:
            rng = np.random.default_rng([key[1], 2])
            for spec in specs:
                if spec.get("type") == "ballistic":
                    kappa = max(float(rng.normal(KAPPA_PRIOR, KAPPA_PRIOR)), 1e-6)
                    spec["ballistic_coefficient_kg_m2"] = min(1.0 / kappa, 1e6)
        flight_seed = key[1] if name in _DRAWN_FLIGHT and key[1] is not None else sc.seed
        objects = build_objects(
            specs, source=sc.source, t0_s=sc.t0_s, duration_s=sc.duration_s,
            rng=object_rng(flight_seed),
        )  # fmt: skip
        _SCENARIOS[key] = (sc, objects)
    return _SCENARIOS[key]


def _detections(
    name: str, seed: int, truth_times_s: np.ndarray | None = None
) -> tuple[SensorTable, Detections, DetectableMarker | None]:
    """Sensors and detections (arrival order) of one run, in memory; with ``truth_times_s``, also
    which objects the radars made detectable at those times."""
    sc, objects = _setup(name, seed)
    sc = sc.with_overrides(seed=seed)
    sensors = tuple(sorted(sc.sensors, key=lambda s: s.sensor_id))
    start = np.array([sc.t0_s])
    table = SensorTable(
        tuple(s.table_row(*(c[0] for c in s.path.geodetic_at(start))) for s in sensors)
    )
    marker = None
    if truth_times_s is not None:
        marker = DetectableMarker.for_sensors(truth_times_s, len(objects.object_id), sensors)
    on_scan = marker.add_reports if marker is not None else None
    parts, n = [], 0
    for index, rep in stream_detections(sc, sensors, objects, on_scan=on_scan):
        m = len(rep)
        parts.append(
            Detections(
                t_s=rep.t_s,
                sensor_index=index.astype(np.int32),
                range_m=rep.range_m,
                azimuth_rad=rep.azimuth_rad,
                elevation_rad=rep.elevation_rad,
                range_rate_mps=rep.range_rate_mps,
                sensor_lat_rad=rep.sensor_lat_rad,
                sensor_lon_rad=rep.sensor_lon_rad,
                sensor_alt_m=rep.sensor_alt_m,
                row=np.arange(n, n + m, dtype=np.int64),
            )
        )
        n += m
    return table, Detections.concat(parts), marker


# ------------------------------------------------------------------------------ re-entry


def reentry_run(seed: int, name: str = "reentry") -> dict[str, Any]:
    """One re-entry run: per update of the body's track, errors, NEES and the bound (computed
    with the body's own atmosphere and random accelerations, which the tracker does not know)."""
    sc, objects = _setup(name, seed)
    sensors, dets, _ = _detections(name, seed)
    (body,) = [o for o in sc.objects if o["type"] == "ballistic"]
    q_true = float(body.get("random_accel_q_m2_s3", 0.0))
    atmosphere = Atmosphere(
        float(body.get("atmosphere_density_kg_m3", AIR_DENSITY_SEA_LEVEL_KGPM3)),
        float(body.get("atmosphere_scale_height_m", AIR_SCALE_HEIGHT_M)),
    )
    tracker = Tracker(sensors, TrackerConfig())
    free = [j for j, m in enumerate(tracker.model_labels) if m.startswith("ballistic")]
    first_P: dict[int, np.ndarray] = {}
    records: list[tuple[int, float, np.ndarray, np.ndarray, np.ndarray]] = []
    firm_ids: set[str] = set()

    def on_frame(rows: TrackRows, t_s: float) -> None:
        if rows.number is None:  # an empty frame
            return
        firm_ids.update(rows.track_id[np.isin(rows.status, ("confirmed", "coasting"))])
        T = tracker.tracks
        for i in np.flatnonzero(np.isin(T.number, rows.number[rows.status != "deleted"])):
            number = int(T.number[i])
            first_P.setdefault(number, T.P[i].copy())
            e = T.x[i, :6] - objects.states_at(T.t_s[i])[0]
            mu = T.mu[i, free] / T.mu[i, free].sum()
            xb, Pb = combine(T.xm[i, free][None], T.Pm[i, free][None], mu[None])
            eb = xb[0, :6] - objects.states_at(T.t_s[i])[0]
            records.append(
                (
                    number,
                    float(T.t_s[i]),
                    e,
                    np.linalg.solve(T.P[i, :6, :6], e) @ e,
                    np.linalg.solve(Pb[0, :6, :6], eb) @ eb,
                )
            )

    tracker.run([dets], on_frame=on_frame)
    numbers = sorted({r[0] for r in records})
    main = max(numbers, key=lambda k: sum(r[0] == k for r in records)) if numbers else -1
    recs = [r for r in records if r[0] == main]
    order = np.argsort(dets.t_s, kind="stable")
    dets = dets.take(order)
    t_meas = dets.t_s
    x_true = np.stack([objects.states_at(t)[0] for t in t_meas])
    bound = ballistic_radar_pcrlb(
        x_true,
        t_meas,
        float(body["ballistic_coefficient_kg_m2"]),
        SensorGeometry.of_detections(dets),
        measurement_noise(sensors, 0, with_range_rate=False),
        first_P[main],
        Q=_random_accel_noise(q_true, np.diff(t_meas)) if q_true > 0.0 else None,
        atmosphere=atmosphere,
    )
    t_upd = np.array([r[1] for r in recs])
    k = np.searchsorted(t_meas, t_upd - 1e-9)
    e = np.array([r[2] for r in recs])
    return {
        "seed": seed,
        "tracks": len(firm_ids),  # the tentative pairings of the first reports left aside
        "k": k.tolist(),
        "t_since_first_s": (t_upd - t_upd[0]).tolist(),
        "pos_err2": np.sum(e[:, :3] ** 2, axis=1).tolist(),
        "vel_err2": np.sum(e[:, 3:] ** 2, axis=1).tolist(),
        "pos_bound2": np.trace(bound[k, :3, :3], axis1=1, axis2=2).tolist(),
        "vel_bound2": np.trace(bound[k, 3:6, 3:6], axis1=1, axis2=2).tolist(),
        "nees": [float(r[3]) for r in recs],
        "nees_ballistic": [float(r[4]) for r in recs],
    }


def _random_accel_noise(q: float, dt_s: np.ndarray) -> np.ndarray:
    """Process noise (m, 7, 7) over steps ``dt_s`` of a white-noise acceleration of density ``q``
    on position and velocity (none on kappa): the truth's, for the bound."""
    Q = np.zeros((len(dt_s), 7, 7))
    Q[:, :6, :6] = cv_process_noise(dt_s, q)
    return Q


def reentry_run_perturbed(seed: int) -> dict[str, Any]:
    """One run of ``reentry-perturbed`` (its random accelerations drawn from ``seed``)."""
    return reentry_run(seed, "reentry-perturbed")


def reentry_report(runs: list[dict[str, Any]]) -> dict[str, Any]:
    k = np.concatenate([r["k"] for r in runs])
    t = np.concatenate([r["t_since_first_s"] for r in runs])
    cols = {
        c: np.concatenate([r[c] for r in runs])
        for c in ("pos_err2", "vel_err2", "pos_bound2", "vel_bound2", "nees", "nees_ballistic")
    }
    table = []
    for kk in np.unique(k):
        m = k == kk
        n = int(m.sum())
        lo, hi = chi2.ppf([0.025, 0.975], 6 * n) / n
        row = {
            "k": int(kk),
            "n": n,
            "t_s": float(np.mean(t[m])),
            "pos_rmse_m": float(np.sqrt(cols["pos_err2"][m].mean())),
            "pos_pcrlb_m": float(np.sqrt(cols["pos_bound2"][m].mean())),
            "vel_rmse_mps": float(np.sqrt(cols["vel_err2"][m].mean())),
            "vel_pcrlb_mps": float(np.sqrt(cols["vel_bound2"][m].mean())),
            "nees": float(cols["nees"][m].mean()),
            "nees_ballistic": float(cols["nees_ballistic"][m].mean()),
            "band": (float(lo), float(hi)),
        }
        row["pos_ratio"] = row["pos_rmse_m"] / row["pos_pcrlb_m"]
        row["vel_ratio"] = row["vel_rmse_mps"] / row["vel_pcrlb_mps"]
        table.append(row)
    late = [r for r in table if r["t_s"] >= 20.0 and r["n"] >= max(10, len(runs) // 2)]

    def in_band(key: str) -> float:
        return float(np.mean([r["band"][0] <= r[key] <= r["band"][1] for r in table if r["k"] > 0]))

    return {
        "runs": len(runs),
        "runs_with_one_track": int(sum(r["tracks"] == 1 for r in runs)),
        "per_update": table,
        "after_20s_pos_ratio_max": max(r["pos_ratio"] for r in late),
        "after_20s_vel_ratio_max": max(r["vel_ratio"] for r in late),
        "after_20s_pos_ratio_mean": float(np.mean([r["pos_ratio"] for r in late])),
        "after_20s_vel_ratio_mean": float(np.mean([r["vel_ratio"] for r in late])),
        "nees_mean": float(np.mean([r["nees"] for r in table if r["k"] > 0])),
        "nees_ballistic_mean": float(np.mean([r["nees_ballistic"] for r in table if r["k"] > 0])),
        "nees_in_band": in_band("nees"),
        "nees_ballistic_in_band": in_band("nees_ballistic"),
    }


# ------------------------------------------------------------------------------ raid


def raid_run(seed: int) -> dict[str, Any]:
    """One raid run: tracking and assessment, scored against the missiles' true impacts."""
    sc, objects = _setup("sea-of-japan-raid", seed)
    truth_times_s = truth_times(sc)
    sensors, dets, marker = _detections("sea-of-japan-raid", seed, truth_times_s)
    tracker = Tracker(sensors, TrackerConfig())
    areas = read_warning_areas()
    assessor = Assessor(AssessConfig(), areas=areas)
    rows, impacts, alerts = [], [], []
    t0 = time.process_time()

    def on_frame(r: TrackRows, t_s: float) -> None:
        a = assessor.update(tracker, r, t_s)
        rows.append(a.rows)
        impacts.append(a.impacts)
        alerts.append(a.alerts)

    tracker.run([dets], on_frame=on_frame)
    cpu_s = time.process_time() - t0

    def cat(parts: list[Any], cls: Any) -> Any:
        parts = [p for p in parts if len(p)]
        return cls.concat(parts) if parts else cls.empty()

    rows_all, impacts_all, alerts_all = (
        cat(rows, TrackRows),
        cat(impacts, ImpactRows),
        cat(alerts, AlertRows),
    )
    bm = np.flatnonzero(objects.kind == "ballistic")
    end = objects.states_at(objects.t_end_s)
    lat, lon, _ = ecef2geodetic(end[bm, 0], end[bm, 1], end[bm, 2])
    true = TrueImpacts(objects.object_id[bm], objects.t_end_s[bm], lat, lon)
    assert marker is not None
    truth = marker.mark(objects.truth(truth_times_s), objects.object_id)
    scores = score_missiles(truth, rows_all, impacts_all, alerts_all, true, areas=areas)
    evaluation = evaluate_picture(truth, rows_all, detectable_only=False)
    seen = evaluate_picture(truth, rows_all)
    changes = dict(
        zip(map(str, evaluation.object_ids), evaluation.object_id_changes.tolist(), strict=True)
    )
    aircraft = np.isin(evaluation.object_ids, objects.object_id[objects.kind == "aircraft"])
    return {
        "seed": seed,
        "cpu_s": cpu_s,
        "id_changes_per_object": float(np.mean(evaluation.object_id_changes)),
        "id_changes_per_aircraft": float(np.mean(evaluation.object_id_changes[aircraft])),
        "gospa_m": float(np.mean(evaluation.gospa)),
        "gospa_detectable_m": float(np.mean(seen.gospa)),
        "missiles": [
            {
                "object_id": s.object_id,
                "tracks": list(s.track_ids),
                "id_changes": changes.get(s.object_id, math.nan),
                "first_firm_s": s.first_firm_t_s - sc.t0_s,
                "last_firm_s": s.last_firm_t_s - sc.t0_s,
                "impact_s": s.impact_t_s - sc.t0_s,
                "time_to_classify_s": s.time_to_classify_s,
                "time_to_go_s": s.time_to_go_s.tolist(),
                "error_m": s.error_m.tolist(),
                "inside": s.inside.tolist(),
                "alerted": list(s.alerted_areas),
                "at_impact": list(s.areas_at_impact),
                "true_areas": list(s.true_areas),
                "lead_time_s": s.lead_time_s,
            }
            for s in scores
        ],
    }


_TTG_BINS = ((0.0, 60.0), (60.0, 120.0), (120.0, 240.0), (240.0, 480.0))


def raid_report(runs: list[dict[str, Any]]) -> dict[str, Any]:
    missiles = [m for r in runs for m in r["missiles"]]
    ttg = np.concatenate([m["time_to_go_s"] for m in missiles])
    err = np.concatenate([m["error_m"] for m in missiles])
    inside = np.concatenate([m["inside"] for m in missiles]).astype(bool)
    bins = []
    for lo, hi in _TTG_BINS:
        m = (ttg >= lo) & (ttg < hi)
        if m.any():
            bins.append(
                {
                    "time_to_go_s": (lo, hi),
                    "n": int(m.sum()),
                    "median_error_m": float(np.median(err[m])),
                    "p90_error_m": float(np.percentile(err[m], 90)),
                    "containment": float(inside[m].mean()),
                }
            )
    # one prediction per missile and run: the last one made before each time to go
    at_horizon = {}
    for h in (60.0, 120.0, 300.0):
        flags = []
        for m in missiles:
            t = np.asarray(m["time_to_go_s"])
            ok = np.flatnonzero(t >= h)
            if len(ok):
                flags.append(bool(m["inside"][ok[np.argmin(t[ok])]]))
        at_horizon[f"{h:.0f}s"] = {
            "n": len(flags),
            "containment": float(np.mean(flags)) if flags else math.nan,
        }
    classify = [m["time_to_classify_s"] for m in missiles]
    leads = [v for m in missiles for v in m["lead_time_s"].values()]
    return {
        "runs": len(runs),
        "missiles": len(missiles),
        "held_one_track": float(np.mean([len(m["tracks"]) == 1 for m in missiles])),
        "missile_id_changes_total": float(np.nansum([m["id_changes"] for m in missiles])),
        "id_changes_per_object_mean": float(np.mean([r["id_changes_per_object"] for r in runs])),
        "id_changes_per_object_max": float(np.max([r["id_changes_per_object"] for r in runs])),
        "id_changes_per_aircraft_mean": float(
            np.mean([r["id_changes_per_aircraft"] for r in runs])
        ),
        "gospa_m_mean": float(np.mean([r["gospa_m"] for r in runs])),
        "gospa_detectable_m_mean": float(np.mean([r["gospa_detectable_m"] for r in runs])),
        "time_to_classify_s_max": float(np.nanmax(classify)),
        "time_to_classify_s_median": float(np.nanmedian(classify)),
        "impact_by_time_to_go": bins,
        "containment_all_predictions": float(inside.mean()) if len(inside) else math.nan,
        "containment_at_time_to_go": at_horizon,
        "alerts_exact_at_impact": float(
            np.mean([set(m["at_impact"]) == set(m["true_areas"]) for m in missiles])
        ),
        "precautionary_areas_per_missile": float(
            np.mean([len(set(m["alerted"]) - set(m["true_areas"])) for m in missiles])
        ),
        "lead_time_s_min": float(np.min(leads)) if leads else math.nan,
        "lead_time_s_median": float(np.median(leads)) if leads else math.nan,
        "cpu_s_per_run": float(np.mean([r["cpu_s"] for r in runs])),
    }


# ------------------------------------------------------------------------------ main


def _pool(fn: Any, seeds: list[int], workers: int, label: str) -> list[dict[str, Any]]:
    out = []
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, s) for s in seeds]
        for i, f in enumerate(as_completed(futures), 1):
            out.append(f.result())
            print(
                f"{label}: {i}/{len(seeds)} runs ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return sorted(out, key=lambda r: r["seed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reentry-runs", type=int, default=100)
    parser.add_argument("--perturbed-runs", type=int, default=100)
    parser.add_argument("--raid-runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    args = parser.parse_args()
    _setup("reentry")  # flown once here, inherited by the workers (the raid's objects: per run)
    report: dict[str, Any] = {}
    if args.reentry_runs:
        report["reentry"] = reentry_report(
            _pool(reentry_run, list(range(1, args.reentry_runs + 1)), args.workers, "reentry")
        )
    if args.perturbed_runs:
        report["reentry-perturbed"] = reentry_report(
            _pool(
                reentry_run_perturbed,
                list(range(1, args.perturbed_runs + 1)),
                args.workers,
                "reentry-perturbed",
            )
        )
    if args.raid_runs:
        report["raid"] = raid_report(
            _pool(raid_run, list(range(1, args.raid_runs + 1)), args.workers, "raid")
        )
    for name in ("reentry", "reentry-perturbed"):
        if name not in report:
            continue
        r = report[name]
        print(f"{name} ({r['runs']} runs, {r['runs_with_one_track']} held by one firm track):")
        print(
            "  k   t_s  pos RMSE/PCRLB (m)      vel RMSE/PCRLB (m/s)    NEES  NEES(ball)  95% band"
        )
        for row in r["per_update"]:
            print(
                f"  {row['k']:2d} {row['t_s']:5.1f}  {row['pos_rmse_m']:6.1f}/{row['pos_pcrlb_m']:6.1f} = {row['pos_ratio']:4.2f}"
                f"   {row['vel_rmse_mps']:7.1f}/{row['vel_pcrlb_mps']:6.1f} = {row['vel_ratio']:5.2f}"
                f"  {row['nees']:5.2f}  {row['nees_ballistic']:5.2f}   [{row['band'][0]:.2f}, {row['band'][1]:.2f}]"
            )
        print(
            f"  after 20 s: RMSE/PCRLB position max {r['after_20s_pos_ratio_max']:.2f} (mean "
            f"{r['after_20s_pos_ratio_mean']:.2f}), velocity max {r['after_20s_vel_ratio_max']:.2f} (mean "
            f"{r['after_20s_vel_ratio_mean']:.2f})"
        )
        print(
            f"  NEES mean {r['nees_mean']:.2f} (in band at {100 * r['nees_in_band']:.0f} % of updates); "
            f"free-flight models {r['nees_ballistic_mean']:.2f} ({100 * r['nees_ballistic_in_band']:.0f} %)"
        )
    if "raid" in report:
        r = report["raid"]
        print(
            f"sea-of-japan-raid ({r['runs']} runs, {r['missiles']} missile flights, {r['cpu_s_per_run']:.0f} s CPU per run):"
        )
        print(
            f"  held as one track: {100 * r['held_one_track']:.1f} %; missile track-number changes: "
            f"{r['missile_id_changes_total']:.0f}; changes per object (all objects): mean "
            f"{r['id_changes_per_object_mean']:.3f}, worst run {r['id_changes_per_object_max']:.3f}; "
            f"per aircraft {r['id_changes_per_aircraft_mean']:.3f}; GOSPA (mean over times and runs) "
            f"{r['gospa_m_mean']:.0f} m over all objects, {r['gospa_detectable_m_mean']:.0f} m over "
            "those the radars made detectable"
        )
        print(
            f"  confirmation to 'ballistic': median {r['time_to_classify_s_median']:.1f} s, max {r['time_to_classify_s_max']:.1f} s"
        )
        for b in r["impact_by_time_to_go"]:
            print(
                f"  time to go {b['time_to_go_s'][0]:3.0f}-{b['time_to_go_s'][1]:3.0f} s: impact error median "
                f"{b['median_error_m']:7.0f} m, 90 % {b['p90_error_m']:7.0f} m; 95 % ellipse holds truth "
                f"{100 * b['containment']:.1f} % of {b['n']}"
            )
        print(
            f"  95 % ellipse containment: all predictions {100 * r['containment_all_predictions']:.1f} %; "
            + ", ".join(
                f"last before {k} to go {100 * v['containment']:.1f} % of {v['n']}"
                for k, v in r["containment_at_time_to_go"].items()
            )
        )
        print(
            f"  alerts: exactly the true areas at impact for {100 * r['alerts_exact_at_impact']:.1f} % of flights; "
            f"{r['precautionary_areas_per_missile']:.2f} other areas alerted (and cancelled) per flight; lead time "
            f"min {r['lead_time_s_min']:.0f} s, median {r['lead_time_s_median']:.0f} s"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
