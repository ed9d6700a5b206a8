"""The quality gate: a campaign's figures against a committed baseline, within stated tolerances.

A baseline (JSON) holds, per (scenario, setting, picture, figure), the mean over the campaign's
seeds and the tolerance it may get worse by: ``abs + rel * |baseline|`` (the defaults below,
or the file's own). A figure that gets worse by more fails the gate; a better one passes
(update the baseline to keep the gain). Cost figures (CPU, wall time) vary with the machine and
are never gated. Writing the baseline is an explicit step (:func:`write_baseline`,
``airpicture gate DIR BASELINE --update``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.campaign._execute import read_results
from airpicture.campaign._figures import FIGURES
from airpicture.campaign._run import COST_METRICS
from airpicture.errors import DataError

__all__ = ["DEFAULT_TOLERANCE", "GateReport", "GateRow", "check_gate", "write_baseline"]

DEFAULT_TOLERANCE = {"rel": 0.05, "abs": 0.01}
"""A figure may get worse by 5 % of its baseline value plus 0.01 (in its unit: a point of a
ratio, a centimetre) before the gate fails; a baseline's ``tolerance`` replaces these, and its
``tolerance_per_figure`` (``{"pos_nees": {"abs": 0.3}}``) sets them for one figure."""


@dataclass(frozen=True)
class GateRow:
    """One gated figure: baseline and current means, the allowed loss, and the verdict."""

    scenario: str
    setting: str
    picture: str
    metric: str
    baseline: float
    value: float
    allowed: float
    worse_by: float

    @property
    def dropped(self) -> bool:
        if math.isnan(self.baseline):  # nothing to lose (a figure that now has a value)
            return False
        if math.isnan(self.value):  # lost: a figure that no longer has a value
            return True
        return self.worse_by > self.allowed


@dataclass(frozen=True)
class GateReport:
    """Every gated figure; :attr:`passed` unless one dropped."""

    rows: tuple[GateRow, ...]
    missing: tuple[str, ...]

    @property
    def dropped(self) -> tuple[GateRow, ...]:
        return tuple(r for r in self.rows if r.dropped)

    @property
    def passed(self) -> bool:
        return not self.dropped and not self.missing

    def format(self, *, every: bool = False) -> str:
        """The verdict, after a table of the figures that dropped (or of all of them, with
        ``every``)."""
        if self.passed and not every:
            return f"quality gate passed: {len(self.rows)} figures within their tolerances"
        shown = self.rows if every else self.dropped
        lines = [
            f"{'scenario':<18} {'setting':<14} {'picture':<8} {'figure':<26} {'baseline':>12} "
            f"{'now':>12} "
            f"{'worse by':>10} {'allowed':>10}",
        ]
        for r in shown:
            mark = "  DROPPED" if r.dropped else ""
            lines.append(
                f"{r.scenario:<18} {r.setting:<14} {r.picture:<8} {r.metric:<26} "
                f"{r.baseline:>12.5g} "
                f"{r.value:>12.5g} {r.worse_by:>10.3g} {r.allowed:>10.3g}{mark}"
            )
        for key in self.missing:
            lines.append(f"{key}: in the baseline, not in the results  MISSING")
        verdict = (
            "quality gate passed"
            if self.passed
            else f"quality gate FAILED: {len(self.dropped)} figures dropped, "
            f"{len(self.missing)} missing"
        )
        return "\n".join([*lines, verdict])


def _means(out_dir: str | Path) -> dict[str, float]:
    """Mean of each gated figure over the seeds, by ``scenario/setting/picture/metric``."""
    table = read_results(out_dir).to_pydict()
    groups: dict[str, list[float]] = {}
    for scenario, setting, picture, metric, value in zip(
        table["scenario"],
        table["setting"],
        table["picture"],
        table["metric"],
        table["value"],
        strict=True,
    ):
        figure = FIGURES.get(metric)
        if metric in COST_METRICS or figure is None or not figure.better:
            continue
        groups.setdefault(f"{scenario}/{setting}/{picture}/{metric}", []).append(float(value))
    means = {}
    for key, values in groups.items():
        finite = np.array(values)[np.isfinite(values)]
        means[key] = float(finite.mean()) if len(finite) else math.nan
    return means


def write_baseline(out_dir: str | Path, path: str | Path) -> Path:
    """Write the means of a campaign's figures as the new baseline (tolerances kept from the
    old file, else :data:`DEFAULT_TOLERANCE`)."""
    path = Path(path)
    tolerance = dict(DEFAULT_TOLERANCE)
    if path.is_file():
        tolerance = _load(path).get("tolerance", tolerance)
    means = _means(out_dir)
    data = {
        "tolerance": tolerance,
        "figures": {k: (None if math.isnan(v) else v) for k, v in sorted(means.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(str(path), expected="a baseline JSON file", got=str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
        raise DataError(str(path), expected="a baseline with a 'figures' table", got="none")
    return data


def check_gate(out_dir: str | Path, baseline: str | Path) -> GateReport:
    """Compare a campaign's figures with a baseline (module docstring).

    Raises
    ------
    DataError
        When the baseline or the results cannot be read.
    """
    means = _means(out_dir)
    data = _load(Path(baseline))
    tolerance = {**DEFAULT_TOLERANCE, **data.get("tolerance", {})}
    per_figure = data.get("tolerance_per_figure", {})
    rows = []
    missing = []
    for key, base in sorted(data["figures"].items()):
        if key not in means:
            missing.append(key)
            continue
        scenario, setting, picture, metric = key.split("/", 3)
        base = math.nan if base is None else float(base)
        tol = {**tolerance, **per_figure.get(metric, {})}
        value = means[key]
        worse = FIGURES[metric].worse_by(base, value) if math.isfinite(base) else 0.0
        allowed = float(tol["abs"]) + float(tol["rel"]) * (abs(base) if math.isfinite(base) else 0)
        rows.append(GateRow(scenario, setting, picture, metric, base, value, allowed, worse))
    return GateReport(tuple(rows), tuple(missing))
