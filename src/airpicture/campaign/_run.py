"""One run of a campaign, as a worker does it: simulate, track, score.

:func:`run_one` needs nothing but its :class:`~airpicture.campaign.RunSpec` (no file of the
client's machine): it simulates the scenario into a temporary folder of the worker, tracks it
(one tracker, or a node per nation on the in-process bus), scores the pictures against the
truth and returns the figures. A run that fails returns its traceback instead; it never raises,
so one bad run does not stop a campaign.
"""

from __future__ import annotations

import math
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from airpicture.assess import WarningAreas, read_warning_areas
from airpicture.campaign._spec import RunSpec
from airpicture.io import read_alerts, read_impacts, read_tracks, read_truth
from airpicture.tables import AlertRows, ImpactRows, TrackRows, Truth

__all__ = ["COST_METRICS", "RunOutcome", "run_one"]

BATCH = "batch"
"""The ``picture`` of a batch run's figures."""
COMMON = "common"
"""The ``picture`` of the figures that compare the nations' pictures (mode ``nodes``)."""

COST_METRICS = ("cpu_per_scenario_s", "wall_s")
"""Figures of cost: they vary with the machine and its load, unlike every other figure, which
a run gives the same on any machine (the same seed, the same numbers)."""


@dataclass(frozen=True)
class RunOutcome:
    """What a run gives back: ``figures[picture][metric]``, or the ``error`` that stopped it.

    ``picture`` is ``"batch"`` for a batch run; for a run through nodes, each nation's code and
    ``"common"`` for the figures across them.
    """

    run_id: str
    scenario: str
    seed: int
    setting: str
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_one(run: RunSpec) -> RunOutcome:
    """Simulate, track and score one run (see the module docstring); never raises."""
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="airpicture-run-") as tmp:
            figures = (_batch if run.mode == "batch" else _nodes)(run, Path(tmp))
    except Exception:
        return RunOutcome(
            run.run_id, run.scenario.label, run.seed, run.setting.label, {}, traceback.format_exc()
        )
    # a figure of the run, not of one picture: on the batch picture, or on the common one
    figures[BATCH if run.mode == "batch" else COMMON]["wall_s"] = time.perf_counter() - started
    return RunOutcome(run.run_id, run.scenario.label, run.seed, run.setting.label, figures)


def _simulate(run: RunSpec, folder: Path) -> tuple[float, Truth]:
    """Simulate the run's scenario into ``folder``: its duration, s, and its truth."""
    from airpicture.sim import load_scenario, randomized_scenario, simulate

    ref = run.scenario
    if ref.randomize:
        scenario = randomized_scenario(run.seed, base=ref.source)
    else:
        scenario = load_scenario(ref.source).with_overrides(seed=run.seed)
    scenario = scenario.with_overrides(duration_s=ref.duration_s)
    summary = simulate(scenario, folder)
    return float(scenario.duration_s), read_truth(dict(summary.files)["truth"])


def _batch(run: RunSpec, tmp: Path) -> dict[str, dict[str, float]]:
    from airpicture.batch import track_scenario

    duration_s, truth = _simulate(run, tmp / "scenario")
    areas = read_warning_areas()
    cpu = time.process_time()
    result = track_scenario(
        tmp / "scenario",
        tmp / "tracks.parquet",
        config=run.setting.tracker_config(),
        assess=run.setting.assess_config(),
        areas=areas,
    )
    cpu = time.process_time() - cpu
    assert result.impacts is not None and result.alerts is not None  # assessed
    figures = _picture_figures(
        run,
        truth,
        read_tracks(result.tracks),
        read_impacts(result.impacts),
        read_alerts(result.alerts),
        areas,
    )
    figures["nis_per_dof"] = result.stats.nis_per_dof
    figures["cpu_per_scenario_s"] = cpu / duration_s
    return {BATCH: figures}


def _nodes(run: RunSpec, tmp: Path) -> dict[str, dict[str, float]]:
    from airpicture.evaluate import picture_commonality
    from airpicture.network import network_up

    duration_s, truth = _simulate(run, tmp / "scenario")
    areas = read_warning_areas()  # the nodes' default areas
    options = run.nodes
    cpu = time.process_time()
    result = network_up(
        scenario=str(tmp / "scenario"),
        nations=options.nations,
        speed=options.speed,
        record_dir=tmp / "net",
        bus="memory",
        tracker=run.setting.tracker_config(),
        insecure=True,
        release=options.release,
        release_source=f"campaign run {run.run_id}",
    )
    cpu = time.process_time() - cpu
    if result.interrupted:
        raise RuntimeError(f"run {run.run_id}: the network was stopped before it finished")
    figures: dict[str, dict[str, float]] = {}
    pictures: dict[str, TrackRows] = {}
    for nation, tracks_file in result.records.items():
        folder = tracks_file.parent
        pictures[nation] = read_tracks(tracks_file)
        figures[nation] = _picture_figures(
            run,
            truth,
            pictures[nation],
            read_impacts(folder / "impacts.csv"),
            read_alerts(folder / "alerts.csv"),
            areas,
        )
    gate_m = run.metrics.get("association_distance_m", run.metrics.get("c_m", 10_000.0))
    common = picture_commonality(truth, pictures, association_distance_m=gate_m)
    spread = common.spread_m
    figures[COMMON] = {
        "number_commonality": common.number_commonality,
        "position_spread_m_median": float(np.median(spread)) if len(spread) else math.nan,
        # in-process nodes share one process: its CPU over the nations
        "cpu_per_scenario_s": cpu / duration_s / len(options.nations),
    }
    return figures


def _picture_figures(
    run: RunSpec,
    truth: Truth,
    tracks: TrackRows,
    impacts: ImpactRows,
    alerts: AlertRows,
    areas: WarningAreas,
) -> dict[str, float]:
    """Every figure of one picture: :func:`~airpicture.evaluate.evaluate_picture`'s summary and
    the warning figures."""
    from airpicture.evaluate import evaluate_picture

    m = run.metrics
    evaluation = evaluate_picture(
        truth,
        tracks,
        c_m=m.get("c_m", 10_000.0),
        p=m.get("p", 2.0),
        association_distance_m=m.get("association_distance_m"),
    )
    figures = dict(evaluation.summary())
    figures.update(warning_figures(truth, tracks, impacts, alerts, areas))
    return figures


def warning_figures(
    truth: Truth,
    tracks: TrackRows,
    impacts: ImpactRows,
    alerts: AlertRows,
    areas: WarningAreas | None = None,
) -> dict[str, float]:
    """How the missiles were warned of (:func:`~airpicture.evaluate.score_missiles` over
    ``areas``, by default the shipped warning areas), NaN where the scenario has no ballistic
    object that came down.

    ``missiles_held`` and ``missiles_classified``: shares of the ballistic objects with a firm
    track, and with one labelled ``ballistic``; ``impact_error_m_median`` and
    ``impact_containment`` over every impact prediction of their tracks;
    ``launch_error_m_median`` and ``launch_late_s_median`` over every launch estimate of their
    tracks and ``launch_containment``, the share of their launch ellipses holding the true
    launch point; ``warn_missed_areas`` (true areas not alerted at impact) and ``warn_extra_areas``
    (areas alerted at impact that the impact missed), summed over missiles;
    ``warn_lead_time_s_median`` over every true area alerted. Always given, missiles or not:
    ``false_alerts``, alerts issued on tracks that followed no ballistic object (one that came
    down or not: :func:`~airpicture.evaluate.tracks_on_ballistic_objects`);
    ``false_ballistic_tracks``, firm tracks labelled ``ballistic`` at some time that followed
    none; ``false_impacts``, impact predictions of tracks that followed none.
    """
    from airpicture.evaluate import (
        impact_points_from_truth,
        score_missiles,
        tracks_on_ballistic_objects,
    )

    issued = alerts.take(alerts.event == "issued")
    scores = score_missiles(
        truth,
        tracks,
        impacts,
        alerts,
        impact_points_from_truth(truth),
        areas=areas if areas is not None else read_warning_areas(),
    )
    on_missiles = {t for s in scores for t in s.track_ids} | tracks_on_ballistic_objects(
        truth, tracks
    )
    followed = list(on_missiles)
    firm = np.isin(tracks.status, ("confirmed", "coasting"))
    labelled = np.unique(tracks.track_id[firm & (tracks.kind == "ballistic")])
    out = {
        "false_alerts": float(np.count_nonzero(~np.isin(issued.track_id, followed))),
        "false_ballistic_tracks": float(np.count_nonzero(~np.isin(labelled, followed))),
        "false_impacts": float(np.count_nonzero(~np.isin(impacts.track_id, followed))),
    }
    if not scores:
        nan = math.nan
        out.update(
            missiles_held=nan,
            missiles_classified=nan,
            impact_error_m_median=nan,
            impact_containment=nan,
            launch_error_m_median=nan,
            launch_late_s_median=nan,
            launch_containment=nan,
            warn_missed_areas=nan,
            warn_extra_areas=nan,
            warn_lead_time_s_median=nan,
        )
        return out
    errors = np.concatenate([s.error_m for s in scores])
    launch_error = np.concatenate([s.launch_error_m for s in scores])
    launch_late = np.concatenate([s.launch_late_s for s in scores])
    launch_inside = np.concatenate([s.launch_inside for s in scores])
    launch_inside = launch_inside[np.isfinite(launch_inside)]
    inside = np.concatenate([s.inside for s in scores])
    leads = [v for s in scores for v in s.lead_time_s.values()]
    out.update(
        missiles_held=float(np.mean([math.isfinite(s.first_firm_t_s) for s in scores])),
        missiles_classified=float(np.mean([math.isfinite(s.classified_t_s) for s in scores])),
        impact_error_m_median=float(np.median(errors)) if len(errors) else math.nan,
        impact_containment=float(np.mean(inside)) if len(inside) else math.nan,
        launch_error_m_median=_median(launch_error),
        launch_late_s_median=_median(launch_late),
        launch_containment=float(launch_inside.mean()) if len(launch_inside) else math.nan,
        warn_missed_areas=float(
            sum(len(set(s.true_areas) - set(s.areas_at_impact)) for s in scores)
        ),
        warn_extra_areas=float(
            sum(len(set(s.areas_at_impact) - set(s.true_areas)) for s in scores)
        ),
        warn_lead_time_s_median=float(np.median(leads)) if leads else math.nan,
    )
    return out


def _median(values: np.ndarray) -> float:
    """Median of the finite values, NaN when there are none."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if len(finite) else math.nan
