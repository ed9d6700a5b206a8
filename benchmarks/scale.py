"""How the tracker's cost grows with the number of objects: CPU per scan, peak memory, Stone Soup.

Two families of scenarios, each at every ``--n``:

* ``single-radar``: ``single_radar_scenario(n)`` (one radar, targets 30-250 km out, 1 s scans,
  Pd 0.9, 10 clutter reports a scan; as in ``vs_stonesoup.py``), ``--scans`` scans fed one scan
  a chunk. The cost is CPU per scan.
* ``dense-traffic``: the library's ``dense-traffic`` (11 sensors of three nations) with ``n``
  aircraft instead of 10,000 and ``--duration`` seconds instead of 600, simulated in memory and
  fed in arrival order, about one second of detections a chunk. The cost is CPU per scenario
  second (<= 0.1 s is ten times real time).

* ``node-frames`` (not run unless named in ``--families``): the tracker as a node runs it in
  ``network_latency.py``, frames of 20 ms, a 50-ms latency window, 10-ms chunks, on that
  benchmark's scenario (four sensors, 2 s revisits, each report sent as it is made) with ``n``
  targets (about 1.5 reports per target per second), ``--duration`` seconds. The cost is CPU per
  scenario second; CPU per frame is in the JSON: at this rate a frame holds about 20 reports, and
  its fixed cost counts as much as its cost per track.

Each (family, n) runs in a process of its own, so that its peak resident memory is its own; the
scenario is made before the clock starts and only ``Tracker.process``/``flush`` are timed
(``time.process_time``). The cost in the table and the plot is the mean over the second half of
the run, past the start-up of the picture (the first half also holds one-off costs, such as
loading compiled kernels); the JSON has the whole run's mean too. Memory: the process's peak RSS,
its growth while tracking, and the track table's bytes per live track. With ``--baseline-src DIR``
every measurement is also made with the airpicture source in DIR (a ``git worktree`` of another
commit), run after the new one on the same scenario, and the table gives the ratio of the two
from the same run. Stone Soup
(``vs_stonesoup.py``'s tracker, its best configuration) runs on the first ``--stonesoup-scans``
scans of the single-radar scenarios up to ``--stonesoup-max-n`` objects, beside airpicture on the
same scans.

The log-log plot of cost against objects is written to ``--plot`` (its path is printed).

Usage::

    python benchmarks/scale.py --n 1000 3000 10000 20000 --baseline-src /tmp/old/src \\
        --json scale.json --plot scale.png
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

FAMILIES = ("single-radar", "dense-traffic", "node-frames")
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ one measurement


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return math.nan


def _table_bytes_per_track(tracker: Any) -> float:
    table = tracker.tracks
    if not len(table):
        return math.nan
    total = sum(getattr(table, f.name).nbytes for f in dataclasses.fields(table))
    return total / len(table)


def _track(tracker: Any, chunks: list[Any]) -> tuple[list[float], int]:
    """CPU time of each chunk's ``process`` (the last entry is ``flush``) and rows made."""
    times, rows = [], 0
    for chunk in chunks:
        c0 = time.process_time()
        rows += len(tracker.process(chunk))
        times.append(time.process_time() - c0)
    c0 = time.process_time()
    rows += len(tracker.flush())
    times.append(time.process_time() - c0)
    return times, rows


def measure_single_radar(n: int, args: argparse.Namespace) -> dict[str, Any]:
    from vs_stonesoup import (
        SharedSettings,
        StoneSoupSettings,
        airpicture_config,
        run_stonesoup,
        split_scans,
        stonesoup_measurement_model,
        stonesoup_scans,
    )

    from airpicture.sim import single_radar_scenario
    from airpicture.tracker import Tracker

    scenario = single_radar_scenario(n, seed=args.seed, n_scans=args.scans)
    scans = split_scans(scenario.detections)
    config = airpicture_config(SharedSettings())
    rss_before = _rss_mb()
    tracker = Tracker(scenario.sensors, config)
    times, rows = _track(tracker, scans)
    out: dict[str, Any] = {
        "detections": len(scenario.detections),
        "units": len(scans),
        "cpu_s": float(sum(times)),
        "cpu_per_unit_s": float(sum(times)) / len(scans),
        "cpu_per_unit_last_half_s": float(np.mean(times[len(scans) // 2 : len(scans)])),
        "tracks_live": len(tracker.tracks),
        "rows": rows,
        "table_bytes_per_track": _table_bytes_per_track(tracker),
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    if n <= args.stonesoup_max_n:
        try:
            mm = stonesoup_measurement_model(scenario)
        except ImportError:
            return out
        k = min(args.stonesoup_scans, len(scans))
        run = run_stonesoup(
            stonesoup_scans(scans[:k], mm),
            mm,
            SharedSettings(),
            StoneSoupSettings(),
            time_cap_s=args.stonesoup_time_cap,
        )
        k_run = len(run.scan_seconds)
        same, _ = _track(Tracker(scenario.sensors, config), scans[:k_run])
        out["stonesoup"] = {
            "scans": k_run,
            "cpu_per_scan_s": run.seconds / k_run,
            "airpicture_cpu_per_scan_s": float(sum(same)) / k_run,
        }
    return out


def measure_dense_traffic(n: int, args: argparse.Namespace) -> dict[str, Any]:
    from airpicture.sim import load_scenario, simulate_detections
    from airpicture.tracker import Tracker

    scenario = load_scenario("dense-traffic").with_overrides(duration_s=args.duration)
    objects = tuple(
        {**o, "count": n} if o.get("type") == "random_aircraft" else o for o in scenario.objects
    )
    scenario = dataclasses.replace(scenario, objects=objects)
    sensors, dets = simulate_detections(scenario)
    per_chunk = max(1, math.ceil(len(dets) / args.duration))
    chunks = [dets.take(slice(a, a + per_chunk)) for a in range(0, len(dets), per_chunk)]
    del dets
    rss_before = _rss_mb()
    tracker = Tracker(sensors)
    times, rows = _track(tracker, chunks)
    frames = max(tracker.stats.frames, 1)
    return {
        "detections": sum(len(c) for c in chunks),
        "units": args.duration,
        "cpu_s": float(sum(times)),
        "cpu_per_unit_s": float(sum(times)) / args.duration,
        # chunks of about one second: the second half's mean, past the start-up of the picture
        "cpu_per_unit_last_half_s": float(np.mean(times[len(chunks) // 2 : len(chunks)])),
        "cpu_per_frame_s": float(sum(times)) / frames,
        "tracks_live": len(tracker.tracks),
        "rows": rows,
        "table_bytes_per_track": _table_bytes_per_track(tracker),
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def measure_node_frames(n: int, args: argparse.Namespace) -> dict[str, Any]:
    from airpicture.tracker import Tracker, TrackerConfig

    sys.path.insert(0, str(ROOT))
    from tests.net.synthetic import synthetic_scenario

    scenario = synthetic_scenario(
        n_targets=n,
        duration_s=args.duration,
        scan_period_s=2.0,
        report="plot",
        max_delay_s=0.01,
        seed=args.seed,
    )
    dets = scenario.detections
    dets = dets.take(np.argsort(dets.t_s, kind="stable"))
    edges = np.searchsorted(dets.t_s, np.arange(dets.t_s[0], dets.t_s[-1] + 0.01, 0.01))
    chunks = [dets.take(slice(a, b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    rss_before = _rss_mb()
    tracker = Tracker(scenario.sensors, TrackerConfig(frame_s=0.02, latency_window_s=0.05))
    half = len(chunks) // 2
    first, _ = _track(tracker, chunks[:half])
    frames_half = tracker.stats.frames
    second, rows = _track(tracker, chunks[half:])
    span = float(chunks[-1].t_s[-1] - chunks[half].t_s[0])
    return {
        "detections": len(dets),
        "units": args.duration,
        "cpu_s": float(sum(first) + sum(second)),
        "cpu_per_unit_s": float(sum(first) + sum(second)) / args.duration,
        "cpu_per_unit_last_half_s": float(sum(second)) / span,
        "cpu_per_frame_s": float(sum(second)) / max(tracker.stats.frames - frames_half, 1),
        "tracks_live": len(tracker.tracks),
        "rows": rows,
        "table_bytes_per_track": _table_bytes_per_track(tracker),
        "rss_before_mb": rss_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def measure(family: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One (family, n) in this process (``--one``)."""
    from airpicture.runtime import keep_freed_memory

    keep_freed_memory()  # as the command line does
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if family == "single-radar":
        return measure_single_radar(n, args)
    if family == "node-frames":
        return measure_node_frames(n, args)
    return measure_dense_traffic(n, args)


# ------------------------------------------------------------------------------ the runs


def _child(family: str, n: int, src: str | None, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--one",
        family,
        str(n),
        "--scans",
        str(args.scans),
        "--duration",
        str(args.duration),
        "--seed",
        str(args.seed),
        "--stonesoup-max-n",
        str(args.stonesoup_max_n if src is None and not args.no_stonesoup else 0),
        "--stonesoup-scans",
        str(args.stonesoup_scans),
        "--stonesoup-time-cap",
        str(args.stonesoup_time_cap),
    ]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{family} n={n} ({src or 'this source'}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_s(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x * 1e3:.1f} ms" if x < 1.0 else f"{x:.2f} s"


def report(results: list[dict[str, Any]], baseline: bool) -> str:
    lines = []
    for family in FAMILIES:
        rows = [r for r in results if r["family"] == family]
        if not rows:
            continue
        unit = "scan" if family == "single-radar" else "scenario s"
        lines.append(f"{family}: CPU per {unit} (tracker only), peak RSS, table bytes per track")
        if family == "node-frames":
            per_frame = ", ".join(
                f"{r['n']}: {_fmt_s(r['new']['cpu_per_frame_s'])}"
                + (
                    f" (before {_fmt_s(r['baseline']['cpu_per_frame_s'])})"
                    if "baseline" in r
                    else ""
                )
                for r in rows
            )
            lines.append(f"  CPU per 20-ms frame, second half: {per_frame}")
        head = (
            f"{'objects':>8} | {'dets':>9} | {'CPU/' + unit:>14} | {'x prev':>6} |"
            f" {'peak MB':>8} | {'B/track':>7}"
        )
        if baseline:
            head += f" | {'baseline':>10} | {'speed-up':>8} | {'base MB':>8}"
        head += f" | {'Stone Soup':>10} | {'SS ratio':>8}"
        lines.append(head)
        lines.append("-" * len(head))
        prev = None
        for r in rows:
            new = r["new"]
            cost = new["cpu_per_unit_last_half_s"]
            growth = f"{cost / prev[1]:.1f}x" if prev else "-"
            line = (
                f"{r['n']:>8} | {new['detections']:>9} | {_fmt_s(cost):>14} | {growth:>6} |"
                f" {new['peak_rss_mb']:>8.0f} | {new['table_bytes_per_track']:>7.0f}"
            )
            if baseline:
                old = r.get("baseline")
                if old is None:
                    line += f" | {'-':>10} | {'-':>8} | {'-':>8}"
                else:
                    line += (
                        f" | {_fmt_s(old['cpu_per_unit_last_half_s']):>10} |"
                        f" {old['cpu_per_unit_last_half_s'] / cost:>7.1f}x |"
                        f" {old['peak_rss_mb']:>8.0f}"
                    )
            ss = new.get("stonesoup")
            if ss:
                ratio = ss["cpu_per_scan_s"] / ss["airpicture_cpu_per_scan_s"]
                line += f" | {_fmt_s(ss['cpu_per_scan_s']):>10} | {ratio:>7.0f}x"
            else:
                line += f" | {'-':>10} | {'-':>8}"
            lines.append(line)
            prev = (r["n"], cost)
        by_n = {r["n"]: r["new"]["cpu_per_unit_last_half_s"] for r in rows}
        if 1000 in by_n and 10000 in by_n:
            lines.append(
                f"  1,000 -> 10,000 objects: {by_n[10000] / by_n[1000]:.1f}x the CPU per {unit}"
            )
        lines.append("")
    lines.append(
        "CPU: mean over the second half of the run (past the picture's start-up; the first half"
        " also holds\none-off costs such as loading compiled kernels); x prev: against the row"
        " above. Stone Soup: its CPU\nper scan on the first scans; SS ratio: its time over"
        " airpicture's on the same scans."
    )
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for family, marker in zip(FAMILIES, ("o", "s", "^"), strict=True):
        rows = [r for r in results if r["family"] == family]
        if not rows:
            continue
        n = np.array([r["n"] for r in rows], float)
        unit = "per scan" if family == "single-radar" else "per scenario second"
        cost = [r["new"]["cpu_per_unit_last_half_s"] for r in rows]
        ax.loglog(n, cost, marker + "-", label=f"{family}")
        old = [(r["n"], r["baseline"]["cpu_per_unit_last_half_s"]) for r in rows if "baseline" in r]
        if old:
            ax.loglog(*zip(*old, strict=True), marker + "--", alpha=0.6, label=f"{family} before")
        with_ss = [r for r in rows if r["new"].get("stonesoup")]
        ss = [(r["n"], r["new"]["stonesoup"]["cpu_per_scan_s"]) for r in with_ss]
        if ss:
            ax.loglog(*zip(*ss, strict=True), marker + ":", label=f"Stone Soup ({family})")
        first = cost[0]
        ax.loglog(n, first * n / n[0], color="grey", lw=0.8, alpha=0.5)
        ax.text(n[-1], first * n[-1] / n[0], f" linear ({unit})", fontsize=7, color="grey")
    ax.set_xlabel("objects")
    ax.set_ylabel("tracker CPU, s (per scan; per scenario second)")
    ax.set_title("airpicture tracker: cost against objects")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 3000, 10000, 20000])
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES[:2]))
    parser.add_argument("--scans", type=int, default=20, help="single-radar scans")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="dense-traffic and node-frames seconds"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-src", help="airpicture source folder to compare with")
    parser.add_argument("--baseline-max-n", type=int, default=10**9, help="baseline up to this n")
    parser.add_argument("--stonesoup-max-n", type=int, default=1000)
    parser.add_argument("--stonesoup-scans", type=int, default=5)
    parser.add_argument("--stonesoup-time-cap", type=float, default=120.0)
    parser.add_argument("--no-stonesoup", action="store_true")
    parser.add_argument("--plot", default="scale.png", help="the log-log plot (PNG)")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--one", nargs=2, metavar=("FAMILY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args)))
        return 0

    results = []
    for family in args.families:
        for n in sorted(args.n):
            entry: dict[str, Any] = {"family": family, "n": n}
            print(f"{family} n={n} ...", flush=True)
            entry["new"] = _child(family, n, None, args)
            if args.baseline_src and n <= args.baseline_max_n:
                print(f"{family} n={n} (baseline) ...", flush=True)
                entry["baseline"] = _child(family, n, args.baseline_src, args)
            results.append(entry)
    text = report(results, bool(args.baseline_src))
    print()
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print(text)
    path = Path(args.plot).resolve()
    plot(results, path)
    print(f"plot: {path}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
