"""A campaign's report: one self-contained HTML file (inline SVG plots, no script, nothing
fetched), to read in a browser or to send.

It shows, per picture: each figure's mean, spread and range over the runs of each setting; the
distributions over seeds as box plots; the worst runs, each with the command that runs it again;
and the failed runs with their tracebacks.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.campaign._execute import read_results
from airpicture.campaign._figures import FIGURES, Figure

__all__ = ["PLOTTED", "write_report"]

PLOTTED = (
    "gospa_m",
    "completeness",
    "spuriousness",
    "id_changes_per_object",
    "pos_rmse_m",
    "pos_nees",
    "id_correctness",
    "false_alerts",
    "warn_lead_time_s_median",
    "number_commonality",
    "position_spread_m_median",
    "cpu_per_scenario_s",
)
"""The figures drawn as box plots (those a run has)."""

_WORST_BY = "gospa_m"
_WORST_SHOWN = 5
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f3f3f3; }
code, pre { background: #f6f6f6; padding: 0.1em 0.3em; }
pre { padding: 0.7em; overflow-x: auto; }
.failed { color: #b00020; } .note { color: #555; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
td code { white-space: nowrap; } .command { text-align: left; font-size: 0.9em; }
.command code { white-space: normal; overflow-wrap: anywhere; }
"""


def write_report(out_dir: str | Path, output: str | Path) -> Path:
    """Write the HTML report of the campaign folder ``out_dir`` into ``output``.

    Raises
    ------
    DataError
        When ``out_dir`` holds no campaign results.
    """
    out = Path(out_dir)
    path = Path(output)
    table = read_results(out).to_pydict()
    info = _campaign_info(out)
    failed = {
        p.name.removesuffix(".error.txt"): p.read_text(errors="replace")
        for p in sorted((out / "runs").glob("*.error.txt"))
        if p.name.removesuffix(".error.txt") in set(info.get("runs", []))
    }
    runs = list(dict.fromkeys(table["run_id"]))
    body = [
        f"<h1>Campaign {_e(info.get('name', out.name))}</h1>",
        f"<p>{len(runs)} of {len(info.get('runs', runs))} runs finished"
        + (f", <span class='failed'>{len(failed)} failed</span>" if failed else "")
        + f"; mode {_e(info.get('mode', '?'))}; campaign file <code>{_e(info.get('file', '?'))}"
        "</code>.</p>",
    ]
    pictures = list(dict.fromkeys(table["picture"]))
    settings = list(dict.fromkeys(table["setting"]))
    groups = _groups(table)
    for picture in pictures:
        title = "" if len(pictures) == 1 else f": picture {_e(picture)}"
        body.append(f"<h2>Figures by setting{title}</h2>")
        body.append(_summary_table(groups, picture, settings))
        body.append(f"<h2>Distributions over seeds{title}</h2>")
        body.append(_box_plots(groups, picture, settings))
    body.append("<h2>Worst runs</h2>")
    body.append(_worst_runs(table, info, out))
    if failed:
        body.append("<h2 class='failed'>Failed runs</h2>")
        for run_id, text in failed.items():
            last = text.strip().splitlines()[-1] if text.strip() else ""
            body.append(
                f"<details><summary><code>{_e(run_id)}</code>: {_e(last)}</summary>"
                f"<pre>{_e(text)}</pre></details>"
            )
    document = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>airpicture campaign {_e(info.get('name', out.name))}</title>"
        f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _campaign_info(out: Path) -> dict[str, Any]:
    try:
        info = json.loads((out / "campaign.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _groups(table: dict[str, list[Any]]) -> dict[tuple[str, str, str], list[float]]:
    """Values by (picture, setting, metric), in run order."""
    out: dict[tuple[str, str, str], list[float]] = {}
    for picture, setting, metric, value in zip(
        table["picture"], table["setting"], table["metric"], table["value"], strict=True
    ):
        out.setdefault((picture, setting, metric), []).append(float(value))
    return out


def _metrics_of(groups: dict[tuple[str, str, str], list[float]], picture: str) -> list[str]:
    present = {m for (p, _, m) in groups if p == picture}
    return [m for m in FIGURES if m in present] + sorted(present - set(FIGURES))


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}" if abs(value) < 100 else f"{value:.0f}"


def _summary_table(
    groups: dict[tuple[str, str, str], list[float]], picture: str, settings: Sequence[str]
) -> str:
    head = "".join(f"<th>{_e(s)}</th>" for s in settings)
    rows = []
    for metric in _metrics_of(groups, picture):
        figure = FIGURES.get(metric, Figure(metric))
        cells = []
        for setting in settings:
            values = np.array(groups.get((picture, setting, metric), []), dtype=float)
            finite = values[np.isfinite(values)]
            if len(finite) == 0:
                cells.append("<td>–</td>")
                continue
            spread = f" ± {_fmt(float(finite.std(ddof=1)))}" if len(finite) > 1 else ""
            cells.append(
                f"<td title='min {_fmt(float(finite.min()))}, max {_fmt(float(finite.max()))}, "
                f"{len(finite)} of {len(values)} runs'>{_fmt(float(finite.mean()))}{spread}</td>"
            )
        better = {"lower": "↓", "higher": "↑"}.get(figure.better, "")
        if figure.better.startswith("near:"):
            better = "→" + figure.better.split(":", 1)[1]
        rows.append(
            f"<tr><td>{_e(figure.label)} <span class='note'>({_e(metric)})</span></td>"
            f"<td>{_e(figure.unit)}</td><td>{better}</td>" + "".join(cells) + "</tr>"
        )
    return (
        "<table><thead><tr><th>figure</th><th>unit</th><th>better</th>"
        f"{head}</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        "<p class='note'>Mean ± standard deviation over the runs of each setting (seeds and "
        "scenarios); hover a cell for its range.</p>"
    )


def _box_plots(
    groups: dict[tuple[str, str, str], list[float]], picture: str, settings: Sequence[str]
) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        m
        for m in PLOTTED
        if any(np.isfinite(groups.get((picture, s, m), [math.nan])).any() for s in settings)
    ]
    if not metrics:
        return "<p class='note'>No figure to draw.</p>"
    columns = 3
    rows = math.ceil(len(metrics) / columns)
    plt.rcParams["svg.hashsalt"] = "airpicture"  # the same report for the same results
    fig, axes = plt.subplots(rows, columns, figsize=(11, 2.9 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=False):
        figure = FIGURES.get(metric, Figure(metric))
        data = []
        for s in settings:
            values = np.array(groups.get((picture, s, metric), []), dtype=float)
            data.append(values[np.isfinite(values)])
        ax.boxplot([d if len(d) else [math.nan] for d in data], showmeans=True)
        for k, d in enumerate(data, start=1):
            ax.plot(np.full(len(d), k) + 0.12, d, ".", color="0.4", markersize=3)
        ax.set_xticks(range(1, len(settings) + 1), list(settings), fontsize=8)
        ax.set_title(figure.label + (f" ({figure.unit})" if figure.unit else ""), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.set_visible(False)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return (
        f"<figure>{svg}<figcaption class='note'>Each setting's runs: box of the quartiles, "
        "median line, mean triangle, one dot per run.</figcaption></figure>"
    )


def _worst_runs(table: dict[str, list[Any]], info: dict[str, Any], out: Path) -> str:
    """The runs of the highest GOSPA (of their worst picture), each with the command that runs
    it again (absolute paths: it works from any folder)."""
    worst: dict[str, float] = {}
    worst_picture: dict[str, str] = {}
    for run_id, picture, metric, value in zip(
        table["run_id"], table["picture"], table["metric"], table["value"], strict=True
    ):
        if metric == _WORST_BY and math.isfinite(value) and value > worst.get(run_id, -math.inf):
            worst[run_id], worst_picture[run_id] = float(value), picture
    if not worst:
        return "<p class='note'>No run has a GOSPA figure.</p>"
    ranked = sorted(worst, key=lambda r: -worst[r])[:_WORST_SHOWN]
    first = {r: i for i, r in reversed(list(enumerate(table["run_id"])))}
    campaign_file = info.get("file", "CAMPAIGN.toml")
    rows = []
    for run_id in ranked:
        i = first[run_id]
        command = f"airpicture campaign {campaign_file} -o {out.resolve()} --only {run_id} --inline"
        rows.append(
            f"<tr><td><code>{_e(run_id)}</code></td><td>{_e(table['scenario'][i])}</td>"
            f"<td>{table['seed'][i]}</td><td>{_e(table['setting'][i])}</td>"
            f"<td>{_fmt(worst[run_id])}</td><td>{_e(worst_picture[run_id])}</td>"
            f"<td class='command'><code>{_e(command)}</code></td></tr>"
        )
    return (
        "<table><thead><tr><th>run</th><th>scenario</th><th>seed</th><th>setting</th>"
        "<th>GOSPA, m</th><th>of picture</th><th class='command'>run it again</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table>"
    )
