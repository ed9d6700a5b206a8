"""One common picture: do all nations hold every object under one number, in one place, and
every ballistic missile with the same alerts, whatever each releases?

Runs ``airpicture network up`` (a local NATS server and one node process per nation, secure, or
``--bus memory``) on one simulated scenario under each release mode and scores the recorded
pictures against the truth:

* ``full``: every nation releases all its plots to every nation;
* ``threats``: plots as the ``hub`` preset (each nation to the USA, the USA to all), tracks of
  threats shared with every partner (the demo's default);
* ``tracks``: no plots leave their nation; every nation shares all its tracks (track-to-track
  fusion only).

Figures per mode: number commonality (objects held by two nations or more, share held under
one number everywhere), kinematic commonality (largest distance between nations' positions of
one object, median and 95th percentile), each ballistic missile's delay from the first
nation's firm track to the last nation's, alerts issued at every nation (and the largest
difference of issue times), position RMSE per nation against the ``full`` run, the NEES of
fused rows (3 degrees of freedom; the 95 % band of the mean), CPU per node and bytes on the
bus per scenario second (NATS: read from each node's ``/health`` and ``/proc``). Run::

    python benchmarks/common_picture.py [--scenario sea-of-japan-raid] [--modes full threats
        tracks] [--speed 10] [--bus nats] [--out DIR] [--json FILE]

It prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2

from airpicture.evaluate import picture_commonality
from airpicture.evaluate import evaluate_picture
from airpicture.io import read_alerts, read_tracks, read_truth
from airpicture.net import preset_tables
from airpicture.network import network_up
from airpicture.sim import simulate
from airpicture.sim import load_scenario
from airpicture.tables import TrackRows, Truth, cov_pos_to_matrix

NATIONS = ("JPN", "USA", "AUS")
MODES = ("full", "threats", "tracks")


def release_for(mode: str, nations: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each nation's release table in a mode."""
    if mode == "tracks":
        return {n: {"default": ["*"], "plots": [], "tracks": {"to": ["*"]}} for n in nations}
    return preset_tables(mode, nations)


class CostProbe:
    """Polls every node's ``/health`` and CPU time once a second while the network runs."""

    def __init__(self) -> None:
        self.health: dict[str, dict[str, Any]] = {}
        self.cpu_s: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def started(self, info: dict[str, Any]) -> None:
        self._thread = threading.Thread(target=self._poll, args=(info,), daemon=True)
        self._thread.start()

    def _poll(self, info: dict[str, Any]) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            for nation, node in info["nodes"].items():
                try:
                    with open(f"/proc/{node['pid']}/stat", encoding="ascii") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    self.cpu_s[nation] = (int(fields[11]) + int(fields[12])) / tick
                except (OSError, IndexError, ValueError):
                    pass
                if node.get("health"):
                    try:
                        with urllib.request.urlopen(node["health"], timeout=1.0) as r:
                            self.health[nation] = json.loads(r.read())
                    except (OSError, ValueError):
                        pass
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


def truth_positions(truth: Truth, t_s: np.ndarray, pos: np.ndarray, gate_m: float) -> np.ndarray:
    """The true position of the object nearest each (time, position), linearly interpolated
    between the truth times around it (NaN where no object lies within ``gate_m``)."""
    times = np.unique(truth.t_s)
    out = np.full((len(t_s), 3), np.nan)
    k = np.clip(np.searchsorted(times, t_s) - 1, 0, len(times) - 2)
    objects = np.asarray(truth.object_id, dtype=str)
    for j in np.unique(k):
        sel = np.flatnonzero(k == j)
        a = np.flatnonzero(truth.t_s == times[j])
        b = np.flatnonzero(truth.t_s == times[j + 1])
        common, ia, ib = np.intersect1d(objects[a], objects[b], return_indices=True)
        if len(common) == 0:
            continue
        w = ((t_s[sel] - times[j]) / (times[j + 1] - times[j]))[:, None]
        pa, pb = truth.x[a[ia], :3], truth.x[b[ib], :3]
        d, near = cKDTree(pa).query(pos[sel])
        ok = d <= gate_m
        out[sel[ok]] = pa[near[ok]] * (1 - w[ok]) + pb[near[ok]] * w[ok]
    return out


def fused_nees(truth: Truth, rows: TrackRows) -> tuple[float, int]:
    """Mean position NEES of the rows fused from a partner's track and more, and its count."""
    assert rows.sources is not None
    src = np.asarray(rows.sources, dtype=str)
    fused = np.flatnonzero(
        (np.char.count(src, ";") >= 1)
        & (np.char.find(src, ":track") >= 0)
        & np.isin(rows.status, ("confirmed", "coasting"))
    )
    if len(fused) == 0:
        return math.nan, 0
    true = truth_positions(truth, rows.t_s[fused], rows.x[fused, :3], 5_000.0)
    ok = np.isfinite(true).all(axis=1)
    e = rows.x[fused[ok], :3] - true[ok]
    P = cov_pos_to_matrix(rows.cov_pos[fused[ok]])
    nees = np.einsum("ni,ni->n", e, np.linalg.solve(P, e[:, :, None])[:, :, 0])
    return float(nees.mean()), int(ok.sum())


def alert_agreement(alerts: dict[str, Any]) -> tuple[int, int, float]:
    """Alerts (track, area) issued anywhere, of them issued at every nation, and the largest
    difference of their issue times across nations, s."""
    issued: dict[tuple[str, str], dict[str, float]] = {}
    for nation, rows in alerts.items():
        for t, track, area, event in zip(
            rows.t_s, rows.track_id, rows.area_id, rows.event, strict=True
        ):
            if event == "issued":
                issued.setdefault((str(track), str(area)), {}).setdefault(nation, float(t))
    everywhere = [v for v in issued.values() if len(v) == len(alerts)]
    spread = max((max(v.values()) - min(v.values()) for v in everywhere), default=0.0)
    return len(issued), len(everywhere), spread


def run_mode(mode: str, scenario_dir: Path, out: Path, speed: float, bus: str) -> dict[str, Any]:
    """One network run; the recorded pictures and the cost."""
    probe = CostProbe()
    record = out / mode
    started = time.monotonic()
    cpu0 = time.process_time()
    result = network_up(
        scenario=str(scenario_dir),
        nations=NATIONS,
        speed=speed,
        record_dir=record,
        bus=bus,
        release=release_for(mode, NATIONS),
        release_source=f"benchmark ({mode})",
        on_started=probe.started,
    )
    probe.stop()
    wall = time.monotonic() - started
    if result.interrupted or any(result.exit_codes.values()):
        raise SystemExit(f"{mode}: the network did not finish cleanly: {result}")
    cpu = dict(probe.cpu_s)
    if bus == "memory":  # one process: its CPU split evenly
        share = (time.process_time() - cpu0) / len(NATIONS)
        cpu = dict.fromkeys(NATIONS, share)
    sent = {
        n: sum(h.get("published", {}).get("bytes", {}).values()) for n, h in probe.health.items()
    }
    return {"record": record, "wall_s": wall, "cpu_s": cpu, "bytes": sent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="sea-of-japan-raid")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--bus", choices=("nats", "memory"), default="nats")
    parser.add_argument("--out", type=Path, default=Path("common-picture-runs"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--score-only", action="store_true", help="score the pictures already recorded in --out"
    )
    args = parser.parse_args()

    spec = load_scenario(args.scenario).with_overrides(seed=args.seed, duration_s=args.duration)
    scenario_dir = args.out / "scenario"
    if not args.score_only:
        simulate(spec, scenario_dir)
    truth = read_truth(scenario_dir / "truth.csv")
    duration_s = float(truth.t_s.max() - truth.t_s.min())
    missiles = sorted(
        {str(o) for o, k in zip(truth.object_id, truth.kind, strict=True) if k == "ballistic"}
    )
    report: dict[str, Any] = {"scenario": spec.name, "seed": spec.seed, "modes": {}}
    rmse: dict[str, dict[str, float]] = {}
    for mode in args.modes:
        if args.score_only:
            run = {"record": args.out / mode, "wall_s": math.nan, "cpu_s": {}, "bytes": {}}
        else:
            print(f"{mode}: running the network ...", file=sys.stderr)
            run = run_mode(mode, scenario_dir, args.out, args.speed, args.bus)
        pictures = {n: read_tracks(run["record"] / n / "tracks.csv") for n in NATIONS}
        alerts = {n: read_alerts(run["record"] / n / "alerts.csv") for n in NATIONS}
        c = picture_commonality(truth, pictures, step_s=2.0)
        delays = c.reach_delays(missiles)
        rmse[mode] = {
            n: evaluate_picture(truth, pictures[n]).summary()["pos_rmse_m"] for n in NATIONS
        }
        nees = {n: fused_nees(truth, pictures[n]) for n in NATIONS}
        n_alerts, everywhere, alert_spread = alert_agreement(alerts)
        report["modes"][mode] = {
            "number_commonality": c.number_commonality,
            "spread_median_m": float(np.median(c.spread_m)) if len(c.spread_m) else math.nan,
            "spread_p95_m": float(np.percentile(c.spread_m, 95)) if len(c.spread_m) else math.nan,
            "missile_reach_delay_s": delays,
            "alerts_issued": n_alerts,
            "alerts_everywhere": everywhere,
            "alert_issue_spread_s": alert_spread,
            "pos_rmse_m": rmse[mode],
            "fused_nees": {n: v[0] for n, v in nees.items()},
            "fused_rows": {n: v[1] for n, v in nees.items()},
            "cpu_per_scenario_s": {n: v / duration_s for n, v in run["cpu_s"].items()},
            "bytes_per_scenario_s": {n: v / duration_s for n, v in run["bytes"].items()},
            "wall_s": run["wall_s"],
        }
    if "full" in rmse:
        for mode in rmse:
            report["modes"][mode]["rmse_ratio_to_full"] = {
                n: rmse[mode][n] / rmse["full"][n] for n in NATIONS
            }
    print_table(report, missiles)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1, default=float), encoding="utf-8")


def print_table(report: dict[str, Any], missiles: list[str]) -> None:
    """The figures, one column per mode."""
    modes = list(report["modes"])
    lines = [f"{'':38}" + "".join(f"{m:>24}" for m in modes)]

    def row(label: str, cell: Any) -> None:
        lines.append(f"{label:38}" + "".join(f"{cell(report['modes'][m]):>24}" for m in modes))

    def per_nation(key: str, fmt: str) -> Any:
        return lambda r: " ".join(format(r[key].get(n, math.nan), fmt) for n in NATIONS)

    row("number commonality", lambda r: f"{r['number_commonality']:.4f}")
    row("spread median / p95, m", lambda r: f"{r['spread_median_m']:.0f} / {r['spread_p95_m']:.0f}")
    row(
        "missiles at all nations (max delay s)",
        lambda r: (
            f"{sum(math.isfinite(v) for v in r['missile_reach_delay_s'].values())}"
            f"/{len(missiles)} ({max(r['missile_reach_delay_s'].values(), default=0):.0f})"
        ),
    )
    row(
        "alerts everywhere / issued (spread s)",
        lambda r: (
            f"{r['alerts_everywhere']}/{r['alerts_issued']} ({r['alert_issue_spread_s']:.1f})"
        ),
    )
    row("position RMSE m " + "/".join(NATIONS), per_nation("pos_rmse_m", ".0f"))
    if "rmse_ratio_to_full" in report["modes"][modes[0]]:
        row("RMSE / full " + "/".join(NATIONS), per_nation("rmse_ratio_to_full", ".2f"))
    row("fused NEES (3 dof) " + "/".join(NATIONS), per_nation("fused_nees", ".2f"))
    row("CPU s per scenario s", per_nation("cpu_per_scenario_s", ".3f"))
    row(
        "bus kB sent per scenario s",
        lambda r: " ".join(
            f"{r['bytes_per_scenario_s'].get(n, math.nan) / 1e3:.1f}" for n in NATIONS
        ),
    )
    band = chi2.ppf([0.025, 0.975], 3 * 1000) / 1000
    lines.append(
        f"(NEES 95 % band of a mean over 1000 independent rows: {band[0]:.2f}-{band[1]:.2f}; "
        "fused rows are correlated in time, so read it as a guide)"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
