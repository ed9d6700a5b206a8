"""Time the ``dense-traffic`` scenario end to end on one core (target: under 120 s).

10,000 aircraft, every sensor of the raid, 600 s: objects, every scan of every sensor, and the
four tables written to a temporary folder. Run::

    python benchmarks/sim_dense_traffic.py [--duration S] [--keep DIR]

It prints the wall time of each stage and the output sizes; it asserts nothing (speed is
measured here, never in tests).
"""

from __future__ import annotations

import os

# One core: keep every numeric library single-threaded (set before NumPy is imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from airpicture.sim import _run as run  # noqa: E402
from airpicture.sim import load_scenario  # noqa: E402

TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="override the duration, s")
    parser.add_argument("--keep", default=None, help="write into this folder and keep it")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    scenario = load_scenario("dense-traffic").with_overrides(duration_s=args.duration)
    stamps: list[tuple[str, float]] = []
    real_build = run.build_objects

    def timed_build(*a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = real_build(*a, **k)
        stamps.append(("objects", time.perf_counter() - t))
        return out

    run.build_objects = timed_build
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.keep) if args.keep else Path(tmp)
        start = time.perf_counter()
        summary = run.simulate(scenario, out_dir)
        total = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in sorted(out_dir.iterdir())}
    run.build_objects = real_build

    objects_s = dict(stamps).get("objects", float("nan"))
    per_sensor = ", ".join(f"{sid} {n}" for sid, n in summary.detections_per_sensor)
    print(
        f"dense-traffic: {summary.n_objects} objects, {len(scenario.sensors)} sensors, "
        f"{scenario.duration_s:g} s simulated, one core (numpy {np.__version__})"
    )
    print(f"  building objects       {objects_s:8.1f} s")
    print(f"  sensors + writing      {total - objects_s:8.1f} s")
    print(
        f"  total                  {total:8.1f} s   (target < {TARGET_S:g} s: "
        f"{'met' if total < TARGET_S else 'NOT met'})"
    )
    print(
        f"  detections {summary.n_detections} ({summary.n_false_detections} false), "
        f"truth rows {summary.n_truth_rows}"
    )
    print(f"  per sensor: {per_sensor}")
    print("  files: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sizes.items()))


if __name__ == "__main__":
    main()
