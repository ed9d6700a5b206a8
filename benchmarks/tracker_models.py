"""CPU time per scan of the tracker on the single-radar scenario, per set of motion models,
against a baseline source tree in the same run.

Each measurement runs in its own process (one core, single-threaded numerics), alternating
between this tree and the baseline, twice; the best of the repetitions is kept. Make a baseline
from any commit with ``git archive <commit> src | tar -x -C /tmp/base`` and run::

    python benchmarks/tracker_models.py --baseline-src /tmp/base/src [--targets 100]

It prints milliseconds of CPU per scan and the ratio new / baseline; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

_ONE = """
import json, sys, time
import numpy as np
from airpicture.sim import single_radar_scenario
from airpicture.tracker import Tracker, TrackerConfig
sc = single_radar_scenario({targets}, seed=1)
scans = len(np.unique(sc.detections.t_s))
out = []
for _ in range(2):
    tracker = Tracker(sc.sensors, TrackerConfig(motion_models={models!r}))
    t = time.process_time()
    tracker.run([sc.detections])
    out.append((time.process_time() - t) / scans * 1e3)
print(json.dumps(out))
"""

VARIANTS = ("cv", "cv,ct", "cv,ct,ballistic,boost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", required=True, help="the src folder of the baseline tree")
    parser.add_argument("--targets", type=int, default=100)
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parents[1] / "src")
    trees = {"baseline": str(Path(args.baseline_src).resolve()), "this tree": here}
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    best: dict[tuple[str, str], float] = {}
    for _ in range(2):
        for models in VARIANTS:
            for name, src in trees.items():
                code = _ONE.format(targets=args.targets, models=models)
                res = subprocess.run(
                    [sys.executable, "-c", code], env={**env, "PYTHONPATH": src},
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                ms = min(json.loads(res.stdout.strip().splitlines()[-1]))
                best[(models, name)] = min(best.get((models, name), float("inf")), ms)
    print(f"single_radar_scenario({args.targets}, seed=1), CPU ms per scan (best of 4):")
    for models in VARIANTS:
        base, new = best[(models, "baseline")], best[(models, "this tree")]
        print(
            f"  {models:<24s} baseline {base:6.2f}   this tree {new:6.2f}   ratio {new / base:5.3f}"
        )


if __name__ == "__main__":
    main()
