"""Time building and evaluating simulated objects on one core.

* 10,000 ``random_aircraft`` over 600 s: ``build_objects``, then 60 calls of ``states_at`` with
  one time per object (a sensor scan), then the truth table at 1 Hz;
* four ballistic missiles aimed at points 500-1000 km away (the shooting method);
* 250 ``airliners`` on real city pairs.

Prints wall times and the size of the stored nodes; asserts nothing (speed is measured here,
never in tests). Run::

    python benchmarks/sim_objects.py [--count 10000] [--duration 600]
"""

from __future__ import annotations

import os

# One core: keep every numeric library single-threaded (set before NumPy is imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from airpicture.sim._objects import ObjectSet, build_objects  # noqa: E402

T0 = 1.7e9


def _nodes_mib(objects: ObjectSet) -> float:
    return sum(g.trajectories.states.nbytes for g in objects._groups) / 2**20


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    print(f"{label:<58s} {time.perf_counter() - start:8.3f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="random aircraft")
    parser.add_argument("--duration", type=float, default=600.0, help="scenario length, s")
    args = parser.parse_args()
    k, duration = args.count, args.duration
    rng = np.random.default_rng(1)

    traffic = [{"type": "random_aircraft", "count": k, "box": [32.0, 44.0, 128.0, 142.0]}]
    objects = _timed(
        f"build {k} random aircraft, {duration:.0f} s",
        lambda: build_objects(traffic, source="bench", t0_s=T0, duration_s=duration, rng=rng),
    )
    print(f"{'  stored nodes':<58s} {_nodes_mib(objects):8.1f} MiB")
    scan_times = [T0 + rng.uniform(0.0, duration, k) for _ in range(60)]

    def scans() -> None:
        for t in scan_times:
            objects.states_at(t)

    _timed("60 x states_at with one time per object", scans)
    truth = _timed(
        f"truth table at 1 Hz ({int(duration) + 1} times)",
        lambda: objects.truth(T0 + np.arange(0.0, duration + 1.0)),
    )
    print(f"{'  truth rows':<58s} {len(truth):8d}")

    missiles = [
        {"type": "ballistic", "id": f"BM{i}", "launch": [40.0 + 0.03 * i, 127.9, 100.0],
         "launch_s": 3.0 * i, "azimuth_deg": az, "range_km": r}
        for i, (az, r) in enumerate([(100.0, 500.0), (110.0, 700.0), (95.0, 850.0), (85.0, 1000.0)])
    ]  # fmt: skip
    _timed(
        "aim and fly 4 ballistic missiles (500-1000 km)",
        lambda: build_objects(missiles, source="bench", t0_s=T0, duration_s=duration, rng=rng),
    )
    _timed(
        "build 250 airliners",
        lambda: build_objects(
            [{"type": "airliners", "count": 250}], source="bench", t0_s=T0,
            duration_s=duration, rng=rng,
        ),
    )  # fmt: skip


if __name__ == "__main__":
    main()
