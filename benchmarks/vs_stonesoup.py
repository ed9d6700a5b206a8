"""airpicture against Stone Soup on one seeded single-radar scenario: time per scan and GOSPA.

The scenario (``airpicture.sim._single_radar.single_radar_scenario``): one radar at 38.0 N 135.0 E,
20 m; N nearly-constant-velocity targets 30-250 km out, 1-12 km high, 150-300 m/s; 1 s scans;
noise 50 m / 0.2 deg / 0.2 deg; Pd 0.9; Poisson clutter, 10 per scan.

Both trackers run in the same process on the same detections and are scored by the same
evaluator (``airpicture.evaluate._metrics.evaluate_picture``) against the same truth.

* airpicture tracks in WGS-84 ECEF with its defaults (``TrackerConfig``), except for the settings
  shared with Stone Soup below. Detections are fed one scan per chunk.
* Stone Soup is set up as in its tutorials: an EKF (``ExtendedKalmanPredictor`` /
  ``ExtendedKalmanUpdater``) on a ``CartesianToElevationBearingRange`` measurement model,
  ``DistanceHypothesiser`` with the ``Mahalanobis`` measure, ``GNNWith2DAssignment``,
  ``MultiMeasurementInitiator`` and ``UpdateTimeStepsDeleter``, inside ``MultiTargetTracker``. It
  runs in the radar's local east-north-up Cartesian frame (state ``[e, ve, n, vn, u, vu]``), where
  the scenario's straight ECEF lines stay straight and the measurement model is exact. Its bearing
  is counter-clockwise from east, so ``bearing = pi/2 - azimuth``; elevation and range are ours.
* Shared settings: process noise spectral density q (airpicture's ``process_noise_q``, Stone
  Soup's ``ConstantVelocity(noise_diff_coeff=q)`` on each axis: the same Q), gate probability
  (airpicture's chi-square gate; Stone Soup's ``missed_distance`` = its square root, since
  ``Mahalanobis`` returns the unsquared distance).
* Track confirmation and deletion are each tracker's own: airpicture's track score (a sequential
  likelihood-ratio test with its default probabilities); Stone Soup's counters, hits to confirm
  (``min_points``), misses in a row before a tentative track is dropped (the
  ``time_steps_since_update`` of its initiator's deleter) and misses before deletion (its
  deleter's ``time_steps_since_update``), by default 3, 3 and 5.
* Stone Soup tracks are turned into a tracks table in ECEF: every state of a track (updates and
  predictions) becomes a row, and a ``deleted`` row is added at the scan where the tracker dropped
  it. **Choice: Stone Soup tracks count as confirmed from their first state** (the initiator's
  holding states included), which is how its tutorials plot them. This credits Stone Soup, after
  the fact, with the scans before its initiator released the track; airpicture's tentative
  rows never count. For reference the table also scores a *causal* reading of Stone Soup
  (states before the release scan are tentative), which is what a live picture would show.
* Only the tracking loops are timed (``Tracker.run`` over the scan chunks; ``next(tracker)`` for
  Stone Soup), not scenario generation, conversion or scoring. The figures compared are CPU time
  of this process (``time.process_time``), which other load on a shared machine barely changes;
  wall time is printed beside it. airpicture's time is the best of ``--repeat`` runs; Stone Soup
  runs once.
* Scores are also given from ``SETTLE_S`` (5 s) after the first scan on: every target appears at
  the first scan, so the mean over all times is dominated by the start-up of the picture.

Stone Soup's cost grows fast with N (about 0.5 s per scan at N = 100, 30-50 s at N = 1000). Above
``--stonesoup-max-n`` it runs on the first ``--stonesoup-scans`` scans only (and stops early once
its wall time passes ``--stonesoup-time-cap`` seconds); its time per scan is then the mean over
the scans it ran, marked in the table, and both
trackers' GOSPA for that N is scored on those scans only (airpicture's rows are causal, so its
picture over those scans is the one its full run produced). The speed ratio at such an N compares
the two on the same scans.

Usage::

    python benchmarks/vs_stonesoup.py --n 10 100 1000 --seed 1 --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airpicture.evaluate import evaluate_picture
from airpicture.geo import enu2ecef, enu_rotation
from airpicture.runtime import keep_freed_memory
from airpicture.sim import SingleRadarScenario, single_radar_scenario
from airpicture.tables import Detections, TrackRows, Truth, cov_pos_from_matrix
from airpicture.tracker import Tracker, TrackerConfig

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# Stone Soup state layout in the local ENU frame: [e, ve, n, vn, u, vu].
_SS_POS = (0, 2, 4)
_SS_VEL = (1, 3, 5)


# ------------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class SharedSettings:
    """Settings given to both trackers (see the module docstring)."""

    process_noise_q: float = 1.0
    gate_probability: float = 0.999


@dataclass(frozen=True)
class StoneSoupSettings:
    """Stone Soup's own settings beyond the shared ones."""

    prior_speed_sigma_mps: float = 300.0
    """Per-axis standard deviation of a new track's velocity prior, m/s (zero mean)."""
    confirm_hits: int = 3
    """Reports that confirm a track (the initiator's ``min_points``)."""
    tentative_misses: int = 3
    """Scans without a report after which a tentative track is dropped."""
    delete_after_misses: int = 5
    """Scans without a report after which a track is dropped."""


def airpicture_config(shared: SharedSettings, **overrides: Any) -> TrackerConfig:
    """airpicture's defaults with the shared settings applied, then ``overrides`` (not None)."""
    values: dict[str, Any] = {
        "process_noise_q": shared.process_noise_q,
        "gate_probability": shared.gate_probability,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrackerConfig(**values)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as TrackerConfig overrides, each value cast to its field's type."""
    defaults = TrackerConfig()
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in TrackerConfig.__dataclass_fields__:
            known = ", ".join(TrackerConfig.__dataclass_fields__)
            raise ValueError(f"expected KEY=VALUE with KEY one of {known}, got {item!r}")
        kind = type(getattr(defaults, key))
        out[key] = kind(value.strip())
    return out


# ------------------------------------------------------------------------------------ scenario


def split_scans(detections: Detections) -> list[Detections]:
    """Detections split into scans (every detection of a scan shares the scan's time)."""
    order = np.argsort(detections.t_s, kind="stable")
    dets = detections.take(order)
    bounds = np.flatnonzero(np.diff(dets.t_s)) + 1
    starts = np.r_[0, bounds]
    stops = np.r_[bounds, len(dets)]
    return [dets.take(slice(a, b)) for a, b in zip(starts, stops, strict=True)]


def confirmed_from_first_row(rows: TrackRows) -> TrackRows:
    """The rows with every track that was ever confirmed counted from its first row.

    Applies to airpicture the reading that the tutorials give Stone Soup's tracks, so the two can
    also be compared after the fact: ``tentative`` rows of a track that later became firm are
    relabelled ``confirmed``; tracks never confirmed stay out of the picture.
    """
    status = np.asarray(rows.status).astype(str)
    firm = np.unique(rows.track_id[(status == "confirmed") | (status == "coasting")])
    relabel = (status == "tentative") & np.isin(rows.track_id, firm)
    status = np.where(relabel, "confirmed", status)
    return TrackRows(rows.t_s, rows.track_id, rows.x, rows.cov_pos, rows.kind, status, rows.nations)


def truth_until(truth: Truth, t_last_s: float) -> Truth:
    """Truth rows at or before ``t_last_s``."""
    return truth.take(truth.t_s <= t_last_s)


# ------------------------------------------------------------------------------------ airpicture


def run_airpicture(
    scenario: SingleRadarScenario, scans: list[Detections], config: TrackerConfig, repeat: int
) -> tuple[TrackRows, float, float]:
    """Track the scans with airpicture ``repeat`` times.

    Returns the rows and the best CPU time and best wall time of the runs, s.
    """
    best_cpu = best_wall = math.inf
    rows = TrackRows.empty()
    for _ in range(max(1, repeat)):
        tracker = Tracker(scenario.sensors, config)
        w0, c0 = time.perf_counter(), time.process_time()
        rows = tracker.run(scans)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return rows, best_cpu, best_wall


# ------------------------------------------------------------------------------------ Stone Soup


def _to_datetime(t_s: float) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=float(t_s))


@dataclass
class StoneSoupRun:
    """What a Stone Soup run produced: the tracks and when each entered and left the output."""

    tracks: dict[Any, dict[str, Any]] = field(default_factory=dict)
    """track object -> {"released": t_s, "deleted": t_s or None}"""
    scan_times_s: list[float] = field(default_factory=list)
    scan_seconds: list[float] = field(default_factory=list)
    """CPU time of each scan, s."""
    scan_wall_seconds: list[float] = field(default_factory=list)
    """Wall time of each scan, s."""

    @property
    def seconds(self) -> float:
        """Total CPU time of the tracking loop, s."""
        return float(sum(self.scan_seconds))

    @property
    def wall_seconds(self) -> float:
        """Total wall time of the tracking loop, s."""
        return float(sum(self.scan_wall_seconds))


def stonesoup_measurement_model(scenario: SingleRadarScenario):  # type: ignore[no-untyped-def]
    """``CartesianToElevationBearingRange`` at the ENU origin with the radar's noise."""
    from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange

    s = scenario.sensors[0]
    return CartesianToElevationBearingRange(
        ndim_state=6,
        mapping=_SS_POS,
        noise_covar=np.diag([s.sigma_elevation_rad**2, s.sigma_azimuth_rad**2, s.sigma_range_m**2]),
    )


def stonesoup_scans(scans: list[Detections], measurement_model) -> list[tuple[dt.datetime, set]]:  # type: ignore[no-untyped-def]
    """Our scans as Stone Soup ``(time, {Detection})`` pairs in elevation-bearing-range.

    Stone Soup's bearing is ``atan2(north, east)`` (counter-clockwise from east), ours is
    clockwise from north: ``bearing = pi/2 - azimuth``, wrapped to [-pi, pi).
    """
    from stonesoup.types.angle import Bearing, Elevation
    from stonesoup.types.detection import Detection

    out = []
    for scan in scans:
        when = _to_datetime(scan.t_s[0])
        bearing = np.mod(np.pi / 2.0 - scan.azimuth_rad + np.pi, 2.0 * np.pi) - np.pi
        dets = {
            Detection(
                np.array([[Elevation(el)], [Bearing(b)], [r]]),
                timestamp=when,
                measurement_model=measurement_model,
            )
            for el, b, r in zip(scan.elevation_rad, bearing, scan.range_m, strict=True)
        }
        out.append((when, dets))
    return out


def build_stonesoup_tracker(  # type: ignore[no-untyped-def]
    detector, measurement_model, shared: SharedSettings, own: StoneSoupSettings
):
    """The tutorial GNN tracker with an EKF, tuned with the shared settings."""
    from scipy.stats import chi2
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    q = shared.process_noise_q
    transition_model = CombinedLinearGaussianTransitionModel(
        [ConstantVelocity(q), ConstantVelocity(q), ConstantVelocity(q)]
    )
    predictor = ExtendedKalmanPredictor(transition_model)
    updater = ExtendedKalmanUpdater(measurement_model)
    gate = math.sqrt(chi2.ppf(shared.gate_probability, measurement_model.ndim_meas))
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=gate
    )
    data_associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeStepsDeleter(time_steps_since_update=own.delete_after_misses)
    holding_deleter = UpdateTimeStepsDeleter(time_steps_since_update=own.tentative_misses)
    var_v = own.prior_speed_sigma_mps**2
    # Position entries are replaced by the converted measurement and its covariance.
    prior = GaussianState(np.zeros((6, 1)), np.diag([0.0, var_v, 0.0, var_v, 0.0, var_v]))
    initiator = MultiMeasurementInitiator(
        prior_state=prior,
        measurement_model=measurement_model,
        deleter=holding_deleter,
        data_associator=data_associator,
        updater=updater,
        min_points=own.confirm_hits,
    )
    return MultiTargetTracker(
        initiator=initiator,
        deleter=deleter,
        detector=detector,
        data_associator=data_associator,
        updater=updater,
    )


def run_stonesoup(
    ss_scans: list[tuple[dt.datetime, set]],  # type: ignore[type-arg]
    measurement_model,  # type: ignore[no-untyped-def]
    shared: SharedSettings,
    own: StoneSoupSettings,
    *,
    time_cap_s: float = math.inf,
) -> StoneSoupRun:
    """Run Stone Soup scan by scan; only ``next(tracker)`` is timed.

    Stops after the scan at which the accumulated wall time passes ``time_cap_s``.
    """
    tracker = build_stonesoup_tracker(ss_scans, measurement_model, shared, own)
    it = iter(tracker)
    run = StoneSoupRun()
    alive: set = set()  # type: ignore[type-arg]
    for _ in range(len(ss_scans)):
        w0, c0 = time.perf_counter(), time.process_time()
        when, tracks = next(it)
        run.scan_seconds.append(time.process_time() - c0)
        run.scan_wall_seconds.append(time.perf_counter() - w0)
        t_s = (when - _EPOCH).total_seconds()
        run.scan_times_s.append(t_s)
        now = set(tracks)
        for track in now - alive:
            run.tracks[track] = {"released": t_s, "deleted": None}
        for track in alive - now:
            run.tracks[track]["deleted"] = t_s
        alive = now
        if run.wall_seconds > time_cap_s:
            break
    return run


def stonesoup_rows(
    run: StoneSoupRun, site: tuple[float, float, float], *, causal: bool = False
) -> TrackRows:
    """Stone Soup's tracks as an ECEF tracks table.

    Each state is a row: ``confirmed`` for an update, ``coasting`` for a prediction (both are in
    the picture). With ``causal``, states before the scan that released the track from the
    initiator are ``tentative`` (not in the picture) instead. A track the tracker dropped gets a
    ``deleted`` row at the scan where it was dropped.
    """
    from stonesoup.types.update import Update

    lat0, lon0, alt0 = site
    R = enu_rotation(lat0, lon0)  # rows: east, north, up in ECEF
    t_parts, id_parts, x_parts, p_parts, st_parts = [], [], [], [], []
    for number, (track, info) in enumerate(run.tracks.items(), start=1):
        states = list(track.states)
        n = len(states)
        sv = np.array([np.asarray(s.state_vector, dtype=float).ravel() for s in states])
        P = np.array([np.asarray(s.covar, dtype=float) for s in states])
        t = np.array([(s.timestamp - _EPOCH).total_seconds() for s in states])
        is_update = np.array([isinstance(s, Update) for s in states])
        status = np.where(is_update, "confirmed", "coasting").astype("<U10")
        if causal:
            status[t < info["released"]] = "tentative"
        pos_enu = sv[:, _SS_POS]
        vel_enu = sv[:, _SS_VEL]
        x = np.empty((n, 6))
        e, n_, u = pos_enu.T
        x[:, :3] = np.stack(enu2ecef(e, n_, u, lat0, lon0, alt0), axis=-1)
        x[:, 3:] = vel_enu @ R
        P_pos = P[:, _SS_POS][:, :, _SS_POS]
        P_ecef = np.zeros((n, 6, 6))
        P_ecef[:, :3, :3] = R.T @ P_pos @ R
        if info["deleted"] is not None:
            t_del = float(info["deleted"])
            x_del = x[-1].copy()
            x_del[:3] += x_del[3:] * (t_del - t[-1])
            t = np.r_[t, t_del]
            x = np.vstack([x, x_del])
            P_ecef = np.concatenate([P_ecef, P_ecef[-1:]])
            status = np.r_[status, "deleted"]
        t_parts.append(t)
        id_parts.append(np.full(len(t), f"S{number:06d}"))
        x_parts.append(x)
        p_parts.append(cov_pos_from_matrix(P_ecef))
        st_parts.append(status)
    if not t_parts:
        return TrackRows.empty()
    m = sum(len(t) for t in t_parts)
    return TrackRows(
        t_s=np.concatenate(t_parts),
        track_id=np.concatenate(id_parts),
        x=np.vstack(x_parts),
        cov_pos=np.vstack(p_parts),
        kind=np.full(m, "unknown"),
        status=np.concatenate(st_parts),
        nations=np.full(m, "JPN"),
    )


# ------------------------------------------------------------------------------------ one N


SETTLE_S = 5.0
"""Scores are also given from this long after the first scan on, past every track's start-up."""


def _score(truth: Truth, rows: TrackRows, c_m: float) -> dict[str, float]:
    """The evaluator's summary, plus GOSPA and position RMSE from ``SETTLE_S`` after the start."""
    ev = evaluate_picture(truth, rows, c_m=c_m)
    out = ev.summary()
    late = ev.t_s >= ev.t_s[0] + SETTLE_S
    n_pairs = ev.n_assigned[late]
    sq = np.nan_to_num(ev.pos_rmse_m[late]) ** 2 * n_pairs
    out["gospa_settled_m"] = float(ev.gospa[late].mean()) if late.any() else math.nan
    out["pos_rmse_settled_m"] = math.sqrt(sq.sum() / n_pairs.sum()) if n_pairs.sum() else math.nan
    out["per_time"] = {  # type: ignore[assignment]
        "gospa_m": ev.gospa.tolist(),
        "n_missed": ev.n_missed.tolist(),
        "n_false": ev.n_false.tolist(),
    }
    return out


def bench_one(
    n: int,
    *,
    seed: int,
    n_scans: int,
    shared: SharedSettings,
    own: StoneSoupSettings,
    stonesoup_scans_limit: int | None,
    time_cap_s: float,
    repeat: int,
    c_m: float,
    config: TrackerConfig | None = None,
    run_stonesoup_too: bool = True,
    log=print,  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    """Both trackers on the scenario with ``n`` targets; returns the figures as a dict."""
    scenario = single_radar_scenario(n, seed=seed, n_scans=n_scans)
    scans = split_scans(scenario.detections)
    config = config if config is not None else airpicture_config(shared)
    log(f"N={n}: {len(scenario.detections)} detections in {len(scans)} scans; airpicture ...")
    ap_rows, ap_s, ap_wall = run_airpicture(scenario, scans, config, repeat)
    ap_retro = confirmed_from_first_row(ap_rows)
    out: dict[str, Any] = {
        "n": n,
        "scans": len(scans),
        "detections": len(scenario.detections),
        "load_average_1min_after_airpicture": os.getloadavg()[0],
        "airpicture": {
            "seconds": ap_s,
            "s_per_scan": ap_s / len(scans),
            "wall_s_per_scan": ap_wall / len(scans),
            "full": _score(scenario.truth, ap_rows, c_m),
        },
    }
    if not run_stonesoup_too:
        return out

    k = len(scans) if stonesoup_scans_limit is None else min(stonesoup_scans_limit, len(scans))
    mm = stonesoup_measurement_model(scenario)
    ss_in = stonesoup_scans(scans[:k], mm)
    log(f"N={n}: Stone Soup on {k} scans (time cap {time_cap_s:g} s) ...")
    run = run_stonesoup(ss_in, mm, shared, own, time_cap_s=time_cap_s)
    k_run = len(run.scan_seconds)
    t_last = run.scan_times_s[-1]
    truth_k = truth_until(scenario.truth, t_last)
    ss_rows = stonesoup_rows(run, scenario.site)
    ss_causal = stonesoup_rows(run, scenario.site, causal=True)
    if k_run < len(scans):
        # airpicture's time on the same scans, for a like-for-like speed ratio.
        _, ap_k_s, _ = run_airpicture(scenario, scans[:k_run], config, repeat)
        ap_same = _score(truth_k, ap_rows, c_m)
    else:
        ap_k_s = ap_s
        ap_same = out["airpicture"]["full"]
    ap_same_retro = _score(truth_k, ap_retro, c_m)
    ss_s_per_scan = run.seconds / k_run
    out["stonesoup"] = {
        "scans_run": k_run,
        "partial": k_run < len(scans),
        "seconds": run.seconds,
        "s_per_scan": ss_s_per_scan,
        "wall_s_per_scan": run.wall_seconds / k_run,
        "s_per_scan_each": run.scan_seconds,
        "wall_s_per_scan_each": run.scan_wall_seconds,
        "extrapolated_full_run_s": ss_s_per_scan * len(scans),
        "score": _score(truth_k, ss_rows, c_m),
        "score_causal": _score(truth_k, ss_causal, c_m),
        "n_tracks_released": len(run.tracks),
        "load_average_1min_after": os.getloadavg()[0],
    }
    out["airpicture"]["s_per_scan_same_scans"] = ap_k_s / k_run
    out["airpicture"]["same_scans"] = ap_same
    out["airpicture"]["same_scans_from_first_row"] = ap_same_retro
    out["speed_ratio"] = ss_s_per_scan / (ap_k_s / k_run)
    return out


# ------------------------------------------------------------------------------------ report


def _config_text(config: TrackerConfig) -> str:
    from dataclasses import fields

    return ", ".join(f"{f.name}={getattr(config, f.name)!r}" for f in fields(config))


def _fmt_s(x: float) -> str:
    return f"{x * 1e3:.2f} ms" if x < 1.0 else f"{x:.2f} s"


def source_version() -> str:
    """The airpicture code measured: git commit, '+dirty', and a digest of the package source.

    The digest tells apart two runs on one commit with different local changes.
    """
    import hashlib
    import subprocess
    from pathlib import Path

    import airpicture

    package = Path(airpicture.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    code = f"src sha256 {digest.hexdigest()[:12]}"
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return code
    return f"{head}{'+dirty' if dirty else ''} ({code})"


def report(results: list[dict[str, Any]], args: argparse.Namespace, config: TrackerConfig) -> str:
    """The printed tables."""
    lines = [f"airpicture {args.source}; TrackerConfig: {_config_text(config)}"]
    lines.append(
        "Scenario: single_radar_scenario (1 radar 38.0 N 135.0 E 20 m; targets 30-250 km, 1-12 km,"
        " 150-300 m/s;"
    )
    lines.append(
        f"  1 s scans; noise 50 m / 0.2 deg / 0.2 deg; Pd 0.9; clutter 10/scan), seed {args.seed},"
        f" {args.scans} scans"
    )
    lines.append(
        f"Shared: q = {args.process_noise_q:g} m^2/s^3, gate P = {args.gate_probability:g};"
        f" Stone Soup: confirm after {args.confirm_hits} hits, drop tentative after"
        f" {args.tentative_misses} misses in a row, delete after {args.delete_after_misses}"
        f" misses, velocity prior sigma {args.prior_speed_sigma:g} m/s/axis"
    )
    lines.append(f"Machine load average at start (1, 5, 15 min): {args.load_average}")
    lines.append("")
    lines.append(
        "Time per scan, tracking loop only: CPU time of this process (wall time in brackets);"
    )
    lines.append(
        f"airpicture best of {args.repeat} runs, Stone Soup one run; speed-up and growth use CPU."
    )
    head = f"{'N':>5} | {'airpicture':>21} | {'Stone Soup':>21} | {'SS scans':>8} | {'speed-up':>9}"
    lines.append(head)
    lines.append("-" * len(head))

    def both(cpu: float, wall: float) -> str:
        return f"{_fmt_s(cpu)} ({_fmt_s(wall)})"

    for r in results:
        ap = r["airpicture"]
        ss = r.get("stonesoup")
        ap_text = both(ap["s_per_scan"], ap["wall_s_per_scan"])
        if ss is None:
            lines.append(f"{r['n']:>5} | {ap_text:>21} | {'not run':>21} | {'-':>8} | {'-':>9}")
            continue
        ss_text = both(ss["s_per_scan"], ss["wall_s_per_scan"]) + ("*" if ss["partial"] else "")
        lines.append(
            f"{r['n']:>5} | {ap_text:>21} | {ss_text:>21} |"
            f" {ss['scans_run']:>8} | {r['speed_ratio']:>8.0f}x"
        )
    partial = [r for r in results if r.get("stonesoup", {}).get("partial")]
    for r in partial:
        ss = r["stonesoup"]
        k = ss["scans_run"]
        full = ss["extrapolated_full_run_s"]
        full_text = f"{full / 60.0:.0f} min" if full >= 120.0 else f"{full:.0f} s"
        same = _fmt_s(r["airpicture"]["s_per_scan_same_scans"])
        lines.append(
            f"  * N={r['n']}: Stone Soup ran only the first {k} of {r['scans']} scans; its"
            f" s/scan is the mean over those\n    (a full run extrapolates to {full_text}"
            f" of CPU); the speed-up compares airpicture on the same {k} scans ({same}/scan)."
        )
    by_n = {r["n"]: r for r in results}
    if 100 in by_n and 1000 in by_n:
        ratio = by_n[1000]["airpicture"]["s_per_scan"] / by_n[100]["airpicture"]["s_per_scan"]
        lines.append(f"airpicture time per scan, N=1000 / N=100: {ratio:.2f}x (10x the targets)")
    lines.append("")
    lines.append(
        f"Quality: evaluate_picture, GOSPA c = {args.c_m:g} m, p = 2, alpha = 2; mean over scan"
        " times; loc + missed + false = GOSPA (m)"
    )
    head = (
        f"{'N':>5} | {'tracker':<20} | {'scans':>5} | {'GOSPA':>7} | {'loc':>6} | {'missed':>7} |"
        f" {'false':>6} | {'IDch/obj':>8} | {'pos RMSE':>8} | {'GOSPA>=5s':>9} | {'RMSE>=5s':>8}"
    )
    lines.append(head)
    lines.append("-" * len(head))

    def row(n: int, name: str, scans: int, s: dict[str, float]) -> str:
        return (
            f"{n:>5} | {name:<20} | {scans:>5} | {s['gospa_m']:>7.1f} | "
            f"{s['gospa_localisation_m']:>6.1f} | {s['gospa_missed_m']:>7.1f} | "
            f"{s['gospa_false_m']:>6.1f} | {s['id_changes_per_object']:>8.3f} | "
            f"{s['pos_rmse_m']:>8.1f} | {s['gospa_settled_m']:>9.1f} | "
            f"{s['pos_rmse_settled_m']:>8.1f}"
        )

    for r in results:
        ap = r["airpicture"]
        ss = r.get("stonesoup")
        if ss is None:
            lines.append(row(r["n"], "airpicture", r["scans"], ap["full"]))
            continue
        k = ss["scans_run"]
        lines.append(row(r["n"], "airpicture", k, ap["same_scans"]))
        lines.append(row(r["n"], "Stone Soup", k, ss["score"]))
        lines.append(row(r["n"], "airpicture (retro)", k, ap["same_scans_from_first_row"]))
        lines.append(row(r["n"], "Stone Soup (live)", k, ss["score_causal"]))
        if ss["partial"]:
            lines.append(row(r["n"], "airpicture (all)", r["scans"], ap["full"]))
    lines.append(
        "airpicture: its live picture (tentative rows excluded). Stone Soup: every track counted as"
    )
    lines.append(
        "confirmed from its first state, initiator's holding states included (its tutorials' view)."
    )
    lines.append(
        "(retro): airpicture read the same way (tentative rows of tracks confirmed later count);"
    )
    lines.append("(live): Stone Soup counted only from the scan its initiator released the track.")
    lines.append(
        f"GOSPA>=5s, RMSE>=5s: the same from {SETTLE_S:g} s after the first scan on (start-up left"
        " out)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()  # as the command line does (both trackers run in this process)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000], help="target counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument(
        "--stonesoup-max-n",
        type=int,
        default=100,
        help="above this N, Stone Soup runs on --stonesoup-scans scans only",
    )
    parser.add_argument("--stonesoup-scans", type=int, default=10)
    parser.add_argument(
        "--stonesoup-time-cap",
        type=float,
        default=math.inf,
        help="stop Stone Soup once its tracking time passes this many seconds (at N above max-n)",
    )
    parser.add_argument("--no-stonesoup", action="store_true", help="airpicture only")
    parser.add_argument("--repeat", type=int, default=3, help="airpicture runs per N (best time)")
    parser.add_argument("--process-noise-q", type=float, default=SharedSettings.process_noise_q)
    parser.add_argument("--gate-probability", type=float, default=SharedSettings.gate_probability)
    parser.add_argument("--confirm-hits", type=int, default=StoneSoupSettings.confirm_hits)
    parser.add_argument("--tentative-misses", type=int, default=StoneSoupSettings.tentative_misses)
    parser.add_argument(
        "--delete-after-misses", type=int, default=StoneSoupSettings.delete_after_misses
    )
    parser.add_argument(
        "--prior-speed-sigma",
        type=float,
        default=StoneSoupSettings.prior_speed_sigma_mps,
        help="Stone Soup velocity prior, m/s per axis",
    )
    parser.add_argument(
        "--ap",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="set an airpicture TrackerConfig field (repeatable), e.g. --ap motion_models=cv",
    )
    parser.add_argument("--c-m", type=float, default=10_000.0, help="GOSPA cut-off, m")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.source = source_version()  # before any work: the code this run imported
    args.load_average = [round(x, 2) for x in os.getloadavg()]  # timings are wall-clock

    shared = SharedSettings(
        process_noise_q=args.process_noise_q,
        gate_probability=args.gate_probability,
    )
    own = StoneSoupSettings(
        prior_speed_sigma_mps=args.prior_speed_sigma,
        confirm_hits=args.confirm_hits,
        tentative_misses=args.tentative_misses,
        delete_after_misses=args.delete_after_misses,
    )
    try:
        config = airpicture_config(shared, **parse_overrides(args.ap))
    except (TypeError, ValueError) as exc:
        parser.error(f"--ap: {exc}")
    if not args.no_stonesoup:
        try:
            import stonesoup  # noqa: F401
        except ImportError:
            print("Stone Soup is not installed: pip install 'airpicture[bench]'", file=sys.stderr)
            return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results = []
    for n in args.n:
        large = n > args.stonesoup_max_n
        results.append(
            bench_one(
                n,
                seed=args.seed,
                n_scans=args.scans,
                shared=shared,
                own=own,
                stonesoup_scans_limit=args.stonesoup_scans if large else None,
                time_cap_s=args.stonesoup_time_cap if large else math.inf,
                repeat=args.repeat,
                c_m=args.c_m,
                config=config,
                run_stonesoup_too=not args.no_stonesoup,
                log=log,
            )
        )
    print(report(results, args, config))
    if args.json:
        ss_version = None
        if not args.no_stonesoup:
            import stonesoup

            ss_version = stonesoup.__version__
        meta = {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "stonesoup": ss_version,
            "machine": platform.machine(),
            "airpicture_source": args.source,
            "tracker_config": {f: getattr(config, f) for f in config.__dataclass_fields__},
            "args": {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in vars(args).items()
            },
        }
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1, default=_json_default)
    return 0


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main())
