"""The campaign subcommands: ``campaign`` (run a grid on Dask), ``report`` (its HTML report) and
``gate`` (its figures against a baseline). Their modules are imported when they run."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airpicture.cli import _LazySubcommands

__all__ = ["add_campaign", "add_gate", "add_report"]


def add_campaign(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "campaign",
        _campaign_options,
        help="run a Monte Carlo campaign (scenarios x seeds x settings) on Dask and score it",
        description="Run every (scenario, seed, setting) of CAMPAIGN (a TOML file, see "
        "airpicture.campaign) on a Dask cluster (a local one by default), each run simulated, "
        "tracked and scored against the truth, and write the results into DIR "
        "(results.parquet: one row per run, picture and figure). A run that fails is reported "
        "with its seed and traceback; the others go on. The campaign file, the figures and the "
        "cluster options: docs/campaigns.md.",
    )


def _campaign_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("campaign", metavar="CAMPAIGN", help="the campaign's TOML file")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="results folder")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--cluster", metavar="ADDRESS", help="a running Dask scheduler (tcp://HOST:PORT)"
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )
    where.add_argument(
        "--inline", action="store_true", help="run in this process, one run after the other"
    )
    p.add_argument("--resume", action="store_true", help="skip the runs already in DIR")
    p.add_argument("--only", nargs="+", metavar="RUN_ID", help="run only these runs")
    p.set_defaults(func=_cmd_campaign)


def _cmd_campaign(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from airpicture.campaign import CampaignSpec, run_campaign
    from airpicture.errors import ConfigError

    if args.workers is not None and args.workers < 1:
        raise ConfigError(
            "command line", key="--workers", expected="at least 1", got=str(args.workers)
        )
    if not args.verbose and not args.inline:
        import distributed  # noqa: F401  (it sets its loggers to INFO when imported)

        logging.getLogger("distributed").setLevel(logging.ERROR)
    spec = CampaignSpec.load(args.campaign)
    total = len(args.only) if args.only else len(spec.runs())
    failures: list[str] = []
    terminal = sys.stderr.isatty()
    with tqdm(total=total, unit=" runs", disable=not terminal) as bar:

        def progress(outcome) -> None:  # type: ignore[no-untyped-def]
            bar.update(1)
            if not terminal and outcome.ok:  # a line per run where no bar can be drawn
                print(f"[{bar.n}/{total}] {outcome.run_id} done", file=sys.stderr, flush=True)
            if not outcome.ok:
                failures.append(outcome.run_id)
                last = (outcome.error or "").strip().splitlines()[-1:]
                bar.write(
                    f"run {outcome.run_id} (seed {outcome.seed}) failed: {last[0] if last else '?'}"
                )

        result = run_campaign(
            spec,
            args.output,
            cluster=args.cluster,
            workers=args.workers,
            inline=args.inline,
            resume=args.resume,
            only=args.only,
            progress=progress,
        )
    print(
        f"campaign {spec.name}: {_runs(len(result.finished))} finished, "
        f"{len(result.skipped)} already done, {len(result.failed)} failed; "
        f"wrote {result.results}"
    )
    for run_id in failures:
        print(f"  failed: {run_id} (traceback in {Path(args.output) / 'runs'}/{run_id}.error.txt)")
    return 1 if result.failed else 0


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def add_report(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "report",
        _report_options,
        help="write a campaign's results as one self-contained HTML report",
        description="Write the report of the campaign folder DIR (made by airpicture campaign): "
        "figures by setting, their distributions over seeds, the worst runs with the command "
        "that runs each again, and the failed runs. One HTML file that needs no network.",
    )


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="a campaign folder")
    p.add_argument("-o", "--output", metavar="HTML", required=True, help="the report to write")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from airpicture.campaign import write_report

    print(f"wrote {write_report(args.folder, args.output)}")
    return 0


def add_gate(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "gate",
        _gate_options,
        help="compare a campaign's figures with a baseline (the quality gate)",
        description="Compare the mean figures of the campaign folder DIR with BASELINE (JSON) "
        "within its tolerances; exit 1 with a table of what dropped. With --update, write "
        "DIR's figures as the new BASELINE instead.",
    )


def _gate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="a campaign folder")
    p.add_argument("baseline", metavar="BASELINE", help="the baseline JSON file")
    p.add_argument("--update", action="store_true", help="write DIR's figures as the baseline")
    p.add_argument(
        "--every", action="store_true", help="print every figure compared, not only the drops"
    )
    p.set_defaults(func=_cmd_gate)


def _cmd_gate(args: argparse.Namespace) -> int:
    from airpicture.campaign import check_gate, write_baseline

    if args.update:
        print(f"wrote {write_baseline(args.folder, args.baseline)}")
        return 0
    report = check_gate(args.folder, args.baseline)
    print(report.format(every=args.every))
    return 0 if report.passed else 1
