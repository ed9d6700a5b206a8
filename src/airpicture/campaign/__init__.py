"""Monte Carlo campaigns: a grid of scenarios x seeds x tracker settings, each run simulated,
tracked and scored on Dask, the results as a table, a report and a quality gate."""

from airpicture.campaign._execute import (
    RESULT_COLUMNS,
    CampaignResult,
    read_results,
    run_campaign,
)
from airpicture.campaign._figures import FIGURES, Figure
from airpicture.campaign._gate import (
    DEFAULT_TOLERANCE,
    GateReport,
    GateRow,
    check_gate,
    write_baseline,
)
from airpicture.campaign._report import PLOTTED, write_report
from airpicture.campaign._run import COST_METRICS, RunOutcome, run_one, warning_figures
from airpicture.campaign._spec import (
    MODES,
    CampaignSpec,
    NodeOptions,
    RunSpec,
    ScenarioRef,
    Setting,
)

__all__ = [
    "COST_METRICS",
    "DEFAULT_TOLERANCE",
    "FIGURES",
    "PLOTTED",
    "Figure",
    "GateReport",
    "GateRow",
    "check_gate",
    "write_baseline",
    "write_report",
    "MODES",
    "RESULT_COLUMNS",
    "CampaignResult",
    "CampaignSpec",
    "NodeOptions",
    "RunOutcome",
    "RunSpec",
    "ScenarioRef",
    "Setting",
    "read_results",
    "run_campaign",
    "run_one",
    "warning_figures",
]
