"""What each figure of a run means: its label, unit and which way is better (for the report's
tables and the quality gate)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIGURES", "Figure"]


@dataclass(frozen=True)
class Figure:
    """A figure's label and unit; ``better`` is ``"lower"``, ``"higher"``, a target value
    (NEES: 3) as ``"near:3"``, or ``""`` for a count that is neither."""

    label: str
    unit: str = ""
    better: str = ""

    def worse_by(self, baseline: float, value: float) -> float:
        """How much worse ``value`` is than ``baseline`` (<= 0: as good or better)."""
        if self.better == "lower":
            return value - baseline
        if self.better == "higher":
            return baseline - value
        if self.better.startswith("near:"):
            target = float(self.better.split(":", 1)[1])
            return abs(value - target) - abs(baseline - target)
        return 0.0


FIGURES: dict[str, Figure] = {
    "gospa_m": Figure("GOSPA, mean over times", "m", "lower"),
    "gospa_localisation_m": Figure("GOSPA localisation part", "m", "lower"),
    "gospa_missed_m": Figure("GOSPA missed part", "m", "lower"),
    "gospa_false_m": Figure("GOSPA false part", "m", "lower"),
    "missed_per_time": Figure("missed objects per time", "", "lower"),
    "false_per_time": Figure("false tracks per time", "", "lower"),
    "completeness": Figure("SIAP completeness", "", "higher"),
    "ambiguity": Figure("SIAP ambiguity", "", "near:1"),
    "spuriousness": Figure("SIAP spuriousness", "", "lower"),
    "id_changes_per_object": Figure("SIAP continuity: number changes per object", "", "lower"),
    "id_changes_total": Figure("track-number changes, total", "", "lower"),
    "pos_rmse_m": Figure("SIAP kinematic accuracy: position RMSE", "m", "lower"),
    "vel_rmse_mps": Figure("velocity RMSE", "m/s", "lower"),
    "pos_nees": Figure("position NEES (3 when consistent)", "", "near:3"),
    "pos_nees_pairs": Figure("pairs the NEES is taken over"),
    "nis_per_dof": Figure("NIS per measured component (1 when consistent)", "", "near:1"),
    "id_completeness": Figure("SIAP ID completeness", "", "higher"),
    "id_correctness": Figure("SIAP ID correctness", "", "higher"),
    "n_objects": Figure("truth objects scored"),
    "n_objects_all": Figure("truth objects, all"),
    "n_truth_rows": Figure("truth rows scored"),
    "n_truth_rows_all": Figure("truth rows, all"),
    "set_aside_per_time": Figure("tracks set aside per time"),
    "n_tracks": Figure("tracks in the picture"),
    "n_times": Figure("truth times"),
    "false_alerts": Figure("alerts on no missile", "", "lower"),
    "missiles_held": Figure("missiles held by a firm track", "", "higher"),
    "missiles_classified": Figure("missiles classified ballistic", "", "higher"),
    "impact_error_m_median": Figure("impact error, median", "m", "lower"),
    "impact_containment": Figure("impact ellipses holding the impact", "", "higher"),
    "warn_missed_areas": Figure("areas hit but not alerted", "", "lower"),
    "warn_extra_areas": Figure("areas alerted at impact but not hit", "", "lower"),
    "warn_lead_time_s_median": Figure("warning lead time, median", "s", "higher"),
    "number_commonality": Figure("number commonality across nations", "", "higher"),
    "position_spread_m_median": Figure("position spread across nations, median", "m", "lower"),
    "cpu_per_scenario_s": Figure("CPU per scenario second", "s", "lower"),
    "wall_s": Figure("wall time of the run", "s", "lower"),
}
