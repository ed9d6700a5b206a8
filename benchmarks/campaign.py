"""Wall time of one campaign three ways, and whether they agree figure for figure.

The same campaign (default: examples/campaigns/smoke.toml) is run in this process one run after
the other, on a LocalCluster of worker processes, and on a scheduler with workers started here
as separate processes on 127.0.0.1 and reached by address; the figures that do not depend on the
machine (all but CPU and wall time) must be identical.

    python benchmarks/campaign.py [--campaign FILE] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airpicture.campaign import COST_METRICS, CampaignSpec, read_results, run_campaign

ROOT = Path(__file__).resolve().parents[1]


def figures(folder: Path) -> dict[tuple[str, str, str], float]:
    t = read_results(folder).to_pydict()
    return {
        (r, p, m): v
        for r, p, m, v in zip(t["run_id"], t["picture"], t["metric"], t["value"], strict=True)
        if m not in COST_METRICS
    }


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


def scheduler_with_workers(tmp: Path, n: int) -> tuple[str, list[subprocess.Popen]]:
    file = tmp / "scheduler.json"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    ]
    while not file.is_file():
        time.sleep(0.2)
    address = json.loads(file.read_text())["address"]
    for _ in range(n):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        )
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(n, timeout=60)
    return address, procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", default=str(ROOT / "examples/campaigns/smoke.toml"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = CampaignSpec.load(args.campaign)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wall = {}
        start = time.perf_counter()
        run_campaign(spec, tmp / "inline", inline=True)
        wall["inline"] = time.perf_counter() - start
        start = time.perf_counter()
        run_campaign(spec, tmp / "local", workers=args.workers)
        wall["local"] = time.perf_counter() - start
        address, procs = scheduler_with_workers(tmp, args.workers)
        try:
            start = time.perf_counter()
            run_campaign(spec, tmp / "address", cluster=address)
            wall["address"] = time.perf_counter() - start
        finally:
            for p in procs[1:] + procs[:1]:  # the workers, then the scheduler
                p.terminate()
                p.wait(timeout=30)
        base = figures(tmp / "inline")
        print(f"campaign {spec.name}: {len(spec.runs())} runs, {len(base)} figures each way")
        for way, seconds in wall.items():
            agree = same(figures(tmp / way), base)
            print(
                f"  {way:<8} wall {seconds:7.1f} s  speed-up x{wall['inline'] / seconds:4.2f}  "
                f"figures identical to inline: {agree}"
            )


if __name__ == "__main__":
    main()
