"""Running a campaign's runs on Dask, and the results table they leave.

The runs go to a Dask cluster: a ``LocalCluster`` of worker processes on this machine by
default, or a running scheduler given by address (the same code path). Each run is a task of
:func:`~airpicture.campaign.run_one`; the client writes each outcome as it arrives, so an
interrupted campaign keeps what it finished and ``resume`` runs only the rest. The output
folder holds

- ``runs/<run_id>.parquet``: one finished run, one row per picture and metric;
- ``runs/<run_id>.error.txt``: the traceback of a run that failed (the others went on);
- ``campaign.json``: the campaign's name, file and runs, for the report;
- ``results.parquet``: every finished run of the campaign, in run order (:func:`read_results`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from airpicture.campaign._run import RunOutcome, run_one
from airpicture.campaign._spec import CampaignSpec, RunSpec
from airpicture.errors import ConfigError, DataError

__all__ = ["RESULT_COLUMNS", "CampaignResult", "read_results", "run_campaign"]

_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("scenario", pa.string()),
        ("seed", pa.int64()),
        ("setting", pa.string()),
        ("picture", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]
)
RESULT_COLUMNS = tuple(_SCHEMA.names)
"""The columns of a campaign's results: one row per run, picture and metric."""


@dataclass(frozen=True)
class CampaignResult:
    """What :func:`run_campaign` did: runs finished now, skipped as done before, failed."""

    out_dir: Path
    finished: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: dict[str, str]
    results: Path

    @property
    def ok(self) -> bool:
        return not self.failed


def run_campaign(
    spec: CampaignSpec,
    out_dir: str | Path,
    *,
    cluster: str | None = None,
    workers: int | None = None,
    inline: bool = False,
    resume: bool = False,
    only: Sequence[str] | None = None,
    progress: Callable[[RunOutcome], None] | None = None,
) -> CampaignResult:
    """Run a campaign's runs and write their results into ``out_dir`` (module docstring).

    Parameters
    ----------
    spec : CampaignSpec
    out_dir : path
        Created if needed.
    cluster : str, optional
        A Dask scheduler's address (``tcp://HOST:PORT``); by default a ``LocalCluster`` of
        ``workers`` processes with one thread each is started and stopped.
    workers : int, optional
        Worker processes of the local cluster (default: the machine's cores).
    inline : bool
        Run every run in this process, one after the other, without Dask (for debugging, and
        the baseline of the cluster's speed-up).
    resume : bool
        Skip the runs whose results are already in ``out_dir``.
    only : sequence of str, optional
        Run only these run ids (to run one again).
    progress : callable, optional
        Called with each run's outcome as it arrives.

    Raises
    ------
    ConfigError
        An unknown run id in ``only``, or a cluster that cannot be reached.
    """
    out = Path(out_dir)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    runs = spec.runs()
    if only:
        known = {r.run_id for r in runs}
        unknown = [r for r in only if r not in known]
        if unknown:
            raise ConfigError(
                spec.source, key="--only", expected="run ids of the campaign", got=repr(unknown[0])
            )
        runs = [r for r in runs if r.run_id in set(only)]
    (out / "campaign.json").write_text(
        json.dumps(
            {
                "name": spec.name,
                "file": str(Path(spec.source).resolve()),
                "mode": spec.mode,
                "runs": [r.run_id for r in spec.runs()],
            },
            indent=1,
        )
    )
    skipped = tuple(r.run_id for r in runs if resume and _run_file(out, r.run_id).is_file())
    todo = [r for r in runs if r.run_id not in set(skipped)]
    finished: list[str] = []
    failed: dict[str, str] = {}
    for outcome in _execute(todo, cluster, workers, inline):
        _write_outcome(out, outcome)
        if outcome.ok:
            finished.append(outcome.run_id)
        else:
            failed[outcome.run_id] = outcome.error or ""
        if progress is not None:
            progress(outcome)
    results = out / "results.parquet"
    _combine(out, [r.run_id for r in spec.runs()], results)
    return CampaignResult(out, tuple(finished), skipped, failed, results)


def _execute(
    runs: list[RunSpec], cluster: str | None, workers: int | None, inline: bool
) -> Iterable[RunOutcome]:
    if not runs:
        return
    if inline:
        yield from (run_one(r) for r in runs)
        return
    from distributed import Client, LocalCluster, as_completed

    local = None
    try:
        if cluster is None:
            local = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # its HTTP server (metrics) on a free port
                host="127.0.0.1",
                silence_logs=logging.ERROR,
            )
        client = Client(local if local is not None else cluster, timeout=30)
    except OSError as exc:
        if local is not None:
            local.close()
        raise ConfigError(
            "campaign", key="--cluster", expected="a reachable Dask scheduler", got=str(exc)
        ) from None
    try:
        futures = client.map(run_one, runs, key=[f"run-{r.run_id}" for r in runs], pure=False)
        by_key = {f.key: r for f, r in zip(futures, runs, strict=True)}
        for future in as_completed(futures):
            run = by_key[future.key]
            try:
                yield future.result()
            except Exception as exc:  # the worker died (run_one itself never raises)
                yield RunOutcome(
                    run.run_id,
                    run.scenario.label,
                    run.seed,
                    run.setting.label,
                    {},
                    f"{type(exc).__name__}: {exc}",
                )
    finally:
        client.close()
        if local is not None:
            local.close()


def _run_file(out: Path, run_id: str) -> Path:
    return out / "runs" / f"{run_id}.parquet"


def _write_outcome(out: Path, outcome: RunOutcome) -> None:
    error_file = out / "runs" / f"{outcome.run_id}.error.txt"
    if not outcome.ok:
        error_file.write_text(outcome.error or "")
        _run_file(out, outcome.run_id).unlink(missing_ok=True)
        return
    error_file.unlink(missing_ok=True)
    rows = [
        (picture, metric, value)
        for picture, figures in outcome.figures.items()
        for metric, value in figures.items()
    ]
    table = pa.table(
        {
            "run_id": [outcome.run_id] * len(rows),
            "scenario": [outcome.scenario] * len(rows),
            "seed": [outcome.seed] * len(rows),
            "setting": [outcome.setting] * len(rows),
            "picture": [r[0] for r in rows],
            "metric": [r[1] for r in rows],
            "value": [float(r[2]) for r in rows],
        },
        schema=_SCHEMA,
    )
    partial = _run_file(out, outcome.run_id).with_suffix(".partial")
    pq.write_table(table, partial)
    partial.replace(_run_file(out, outcome.run_id))


def _combine(out: Path, run_ids: list[str], results: Path) -> None:
    parts = [pq.read_table(f) for r in run_ids if (f := _run_file(out, r)).is_file()]
    table = pa.concat_tables(parts) if parts else _SCHEMA.empty_table()
    pq.write_table(table, results)


def read_results(out_dir: str | Path) -> pa.Table:
    """The results of a campaign folder (``results.parquet``; :data:`RESULT_COLUMNS`).

    Raises
    ------
    DataError
        When the folder holds no campaign results, or they do not have the columns.
    """
    path = Path(out_dir) / "results.parquet"
    if not path.is_file():
        raise DataError(str(out_dir), expected="a campaign folder (results.parquet)", got="none")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(str(path), expected="a Parquet results table", got=str(exc)) from None
    if table.schema.names != list(RESULT_COLUMNS):
        raise DataError(
            str(path), expected=f"the columns {RESULT_COLUMNS}", got=str(table.schema.names)
        )
    return table
