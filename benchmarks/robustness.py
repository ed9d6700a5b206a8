"""The picture on data it was not tuned on: the tracker over the randomised scenario family.

Settings chosen on one scenario are a guess. This runs the batch tracker, at its default
settings (or those given with ``--tracker KEY=VALUE``), over three groups of runs, each a
campaign (``airpicture.campaign``) in its own folder under ``-o DIR``:

* ``tuning``: seeds 1000, 1001, ... of the randomised family around ``sea-of-japan-raid``
  (``airpicture simulate --randomize SEED``): the seeds settings may be chosen on;
* ``held-out``: seeds 900001, 900002, ...: never looked at while choosing settings; the figures
  to report are these;
* ``raid``: ``sea-of-japan-raid`` itself, with its own seed.

For each group it prints, against the goals: track-number changes per object (pooled over the
runs), spuriousness (mean and worst run), completeness (pooled), false ballistic tracks, false
alerts and false impact predictions (summed), impact-ellipse containment, and the medians of the
launch-point error and lateness; then writes ``DIR/robustness.md`` (the same table) and
``DIR/robustness.png`` (every run's figure, per group, with the goal).

    python benchmarks/robustness.py -o robustness                   # 50 + 10 seeds and the raid
    python benchmarks/robustness.py -o quick --seeds 6 --held-out 2 --duration 300
    python benchmarks/robustness.py -o gate3 --tracker gate_probability=0.999

A run takes about a minute of CPU; the full set about an hour on 2 cores. ``--resume`` goes on
with the runs a folder does not have yet.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from airpicture.campaign import CampaignSpec, read_results, run_campaign

RAID = "sea-of-japan-raid"
RAID_SEED = 20250115
TUNING_FIRST = 1000
HELD_OUT_FIRST = 900001

# (figure, how it is pooled over runs, goal as (comparison, value) or None)
FIGURES: tuple[tuple[str, str, tuple[str, float] | None], ...] = (
    ("id_changes_per_object", "pooled", ("<=", 0.03)),
    ("spuriousness", "mean", ("<=", 0.01)),
    ("spuriousness_worst", "max", None),
    ("completeness", "pooled", (">=", 0.99)),
    ("false_ballistic_tracks", "sum", ("<=", 0.0)),
    ("false_alerts", "sum", ("<=", 0.0)),
    ("false_impacts", "sum", ("<=", 0.0)),
    ("missiles_classified", "mean", None),
    ("impact_containment", "mean", (">=", 0.95)),
    ("launch_containment", "mean", (">=", 0.95)),
    ("launch_error_m_median", "median", None),
    ("launch_late_s_median", "median", None),
    ("pos_rmse_m", "median", None),
    ("gospa_m", "mean", None),
)


def group_spec(name: str, seeds: list[int], *, randomize: bool, args: argparse.Namespace):
    scenario: dict = {"name": RAID, "randomize": randomize}
    if args.duration:
        scenario["duration_s"] = args.duration
    tracker = dict(_setting(kv) for kv in args.tracker)
    return CampaignSpec.from_mapping(
        {
            "name": name,
            "mode": "batch",
            "seeds": seeds,
            "scenarios": [scenario],
            "settings": [{"label": args.label, "tracker": tracker}],
        },
        source=f"robustness group {name}",
    )


def _setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value, value)


def per_run(folder: Path) -> dict[str, dict[str, float]]:
    """figure -> run id -> value (the batch picture's figures)."""
    t = read_results(folder).to_pydict()
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for run, picture, metric, value in zip(
        t["run_id"], t["picture"], t["metric"], t["value"], strict=True
    ):
        if picture == "batch":
            out[metric][run] = float(value)
    return out


def pooled(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each figure of FIGURES over the runs of one group."""
    runs = sorted(figures.get("n_objects", {}))

    def col(name: str) -> np.ndarray:
        return np.array([figures.get(name, {}).get(r, math.nan) for r in runs])

    def finite(v: np.ndarray) -> np.ndarray:
        return v[np.isfinite(v)]

    out: dict[str, float] = {}
    for name, how, _ in FIGURES:
        if name == "id_changes_per_object":
            out[name] = float(np.nansum(col("id_changes_total")) / np.nansum(col("n_objects")))
        elif name == "completeness":
            rows = col("n_truth_rows")
            out[name] = float(np.nansum(col("completeness") * rows) / np.nansum(rows))
        elif name == "spuriousness_worst":
            v = finite(col("spuriousness"))
            out[name] = float(v.max()) if len(v) else math.nan
        else:
            v = finite(col(name))
            reduce = {"mean": np.mean, "sum": np.sum, "median": np.median, "max": np.max}[how]
            out[name] = float(reduce(v)) if len(v) else math.nan
    out["runs"] = float(len(runs))
    return out


def _meets(value: float, goal: tuple[str, float] | None) -> str:
    if goal is None or not math.isfinite(value):
        return ""
    ok = value <= goal[1] if goal[0] == "<=" else value >= goal[1]
    return "yes" if ok else "**no**"


def table(results: dict[str, dict[str, float]]) -> str:
    groups = list(results)
    head = "| figure | goal | " + " | ".join(f"{g} ({results[g]['runs']:.0f} runs)" for g in groups)
    lines = [head + " |", "|---|---|" + "---|" * len(groups)]
    for name, how, goal in FIGURES:
        cells = []
        for g in groups:
            v = results[g][name]
            mark = _meets(v, goal)
            cells.append(f"{v:.4g}" + (f" {mark}" if mark else ""))
        goal_text = f"{goal[0]} {goal[1]:g}" if goal else ""
        lines.append(f"| {name} ({how}) | {goal_text} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(groups: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [
        ("id_changes_per_object", 0.03),
        ("spuriousness", 0.01),
        ("completeness", 0.99),
        ("false_ballistic_tracks", 0.0),
        ("impact_containment", 0.95),
        ("launch_containment", 0.95),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (name, goal) in zip(axes.flat, shown, strict=True):
        for i, (g, figures) in enumerate(groups.items()):
            values = np.array(list(figures.get(name, {}).values()), dtype=float)
            values = values[np.isfinite(values)]
            jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(values))
            ax.plot(i + jitter, values, "o", alpha=0.6, label=g)
        if goal is not None:
            ax.axhline(goal, color="k", ls="--", lw=1)
        ax.set_xticks(range(len(groups)), list(groups))
        ax.set_title(name)
    fig.suptitle("Every run's figure, per group (dashed: the goal)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    ap.add_argument("--seeds", type=int, default=50, help="tuning seeds (default 50)")
    ap.add_argument("--held-out", type=int, default=10, help="held-out seeds (default 10)")
    ap.add_argument("--no-raid", action="store_true", help="leave out the raid itself")
    ap.add_argument("--duration", type=float, default=None, help="cut every run to S seconds")
    ap.add_argument("--workers", type=int, default=None, help="Dask workers (default: cores)")
    ap.add_argument("--inline", action="store_true", help="run in this process, without Dask")
    ap.add_argument("--resume", action="store_true", help="run only what a folder is missing")
    ap.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE",
                    help="a TrackerConfig field (repeatable)")  # fmt: skip
    ap.add_argument("--label", default="default", help="the setting's label in the results")
    args = ap.parse_args()

    plan = {
        "tuning": (list(range(TUNING_FIRST, TUNING_FIRST + args.seeds)), True),
        "held-out": (list(range(HELD_OUT_FIRST, HELD_OUT_FIRST + args.held_out)), True),
    }
    if not args.no_raid:
        plan["raid"] = ([RAID_SEED], False)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    started = time.perf_counter()
    for name, (seeds, randomize) in plan.items():
        if not seeds:
            continue
        spec = group_spec(name, seeds, randomize=randomize, args=args)
        folder = args.output / name
        print(f"{name}: {len(seeds)} runs into {folder}", flush=True)
        result = run_campaign(
            spec, folder, workers=args.workers, inline=args.inline, resume=args.resume,
            progress=lambda o: print(
                f"  {o.run_id}: " + ("ok" if o.ok else f"FAILED {o.error.splitlines()[-1]}"),
                flush=True,
            ),
        )  # fmt: skip
        if result.failed:
            print(f"{name}: {len(result.failed)} runs failed (see {folder}/runs)", flush=True)
        figures[name] = per_run(folder)
    results = {g: pooled(f) for g, f in figures.items()}
    text = table(results)
    print()
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "robustness.md").write_text(text + "\n")
    plot(figures, args.output / "robustness.png")
    print(f"\nwrote {args.output / 'robustness.md'} and {args.output / 'robustness.png'} "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
