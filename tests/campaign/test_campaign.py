"""Campaigns run on Dask: the same figures in-process, on a LocalCluster and on a scheduler
given by address (real processes on 127.0.0.1); failures reported and the rest run; resume;
the gate against a baseline."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airpicture.campaign import (
    COST_METRICS,
    CampaignSpec,
    check_gate,
    read_results,
    run_campaign,
    write_baseline,
)
from airpicture.cli import main

SHORT = {
    "name": "short",
    "seeds": [3, 4],
    "scenarios": [{"name": "drill", "duration_s": 40}],
    "settings": [{"label": "default"}],
}


def _figures(folder: Path) -> dict[tuple[str, str, str], float]:
    """The figures of a campaign folder that do not depend on the machine."""
    table = read_results(folder).to_pydict()
    return {
        (r, p, m): v
        for r, p, m, v in zip(
            table["run_id"], table["picture"], table["metric"], table["value"], strict=True
        )
        if m not in COST_METRICS
    }


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a
    )


@pytest.fixture(scope="module")
def inline_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inline")
    result = run_campaign(CampaignSpec.from_mapping(SHORT), out, inline=True)
    assert result.ok and result.finished == ("drill-s3-default", "drill-s4-default")
    return out


def test_the_results_are_one_row_per_run_picture_and_figure(inline_run):
    table = read_results(inline_run).to_pydict()
    keys = list(zip(table["run_id"], table["picture"], table["metric"], strict=True))
    assert len(keys) == len(set(keys))
    assert set(table["picture"]) == {"batch"}
    figures = _figures(inline_run)
    assert 0.5 < figures[("drill-s3-default", "batch", "completeness")] <= 1.0
    assert figures[("drill-s3-default", "batch", "n_times")] == 41  # 0 .. 40 s
    assert json.loads((inline_run / "campaign.json").read_text())["runs"] == [
        "drill-s3-default",
        "drill-s4-default",
    ]


def test_a_local_cluster_gives_the_same_figures(inline_run, tmp_path):
    result = run_campaign(CampaignSpec.from_mapping(SHORT), tmp_path, workers=2)
    assert result.ok
    assert _same(_figures(tmp_path), _figures(inline_run))


def test_a_scheduler_by_address_gives_the_same_figures(inline_run, tmp_path):
    """A scheduler and two workers, started here as processes on 127.0.0.1, as a user's
    cluster would be; the campaign reaches it by its address only."""
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = []
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "out"
        result = run_campaign(CampaignSpec.from_mapping(SHORT), out, cluster=address)
        assert result.ok
        assert _same(_figures(out), _figures(inline_run))
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            process.wait(timeout=30)


def test_a_failed_run_is_reported_with_its_seed_and_traceback_and_the_others_go_on(
    tmp_path, capsys
):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'broken'\nduration_s = 'long'\n")  # refused when the run loads it
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        "seeds = [5]\n"
        "[[scenarios]]\nname = 'drill'\nduration_s = 20\n"
        "[[scenarios]]\nfile = 'broken.toml'\n"
    )
    out = tmp_path / "out"
    assert main(["campaign", str(campaign), "-o", str(out), "--inline"]) == 1
    printed = capsys.readouterr().out
    assert "1 run finished" in printed and "1 failed" in printed
    assert "failed: broken-s5-default" in printed
    error = (out / "runs" / "broken-s5-default.error.txt").read_text()
    assert "Traceback" in error and "duration_s" in error
    assert set(read_results(out).to_pydict()["run_id"]) == {"drill-s5-default"}


def test_resume_runs_only_what_is_missing(tmp_path):
    spec = CampaignSpec.from_mapping(SHORT)
    first = run_campaign(spec, tmp_path, inline=True, only=["drill-s4-default"])
    assert first.finished == ("drill-s4-default",)
    assert set(read_results(tmp_path).to_pydict()["run_id"]) == {"drill-s4-default"}
    again = run_campaign(spec, tmp_path, inline=True, resume=True)
    assert again.skipped == ("drill-s4-default",) and again.finished == ("drill-s3-default",)
    assert list(dict.fromkeys(read_results(tmp_path).to_pydict()["run_id"])) == [
        "drill-s3-default",
        "drill-s4-default",
    ]


def test_the_gate_passes_on_its_own_baseline_and_fails_on_a_drop(inline_run, tmp_path, capsys):
    baseline = tmp_path / "baseline.json"
    assert main(["gate", str(inline_run), str(baseline), "--update"]) == 0
    assert check_gate(inline_run, baseline).passed
    data = json.loads(baseline.read_text())
    assert not any(k.endswith(("/cpu_per_scenario_s", "/wall_s")) for k in data["figures"])
    # a baseline 20 % better in GOSPA and position RMSE than what the tracker does now
    key = "drill/default/batch/"
    data["figures"][key + "gospa_m"] *= 0.8
    data["figures"][key + "pos_rmse_m"] *= 0.8
    data["figures"]["drill/default/batch/no_such_figure"] = 1.0
    baseline.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["gate", str(inline_run), str(baseline)]) == 1
    printed = capsys.readouterr().out
    dropped = [line for line in printed.splitlines() if line.endswith("DROPPED")]
    assert len(dropped) == 2
    assert "gospa_m" in dropped[0] + dropped[1] and "pos_rmse_m" in dropped[0] + dropped[1]
    assert "no_such_figure" in printed and "quality gate FAILED" in printed
    # within the tolerance: 3 % worse GOSPA passes
    data = json.loads(write_baseline(inline_run, baseline).read_text())
    data["figures"][key + "gospa_m"] /= 1.03
    baseline.write_text(json.dumps(data))
    assert check_gate(inline_run, baseline).passed
