"""The quality gate: the shipped gate campaign (the drill and the re-entry benchmark on four
seeds each, about a minute on two cores) against its committed baseline. A figure that got worse
beyond its tolerance fails here with the table of what dropped; a change meant to move the
figures writes the baseline again (see examples/campaigns/gate.toml)."""

from __future__ import annotations

from pathlib import Path

from airpicture.campaign import CampaignSpec, check_gate, run_campaign

CAMPAIGNS = Path(__file__).resolve().parents[2] / "examples" / "campaigns"


def test_the_gate_campaign_holds_its_baseline(tmp_path):
    result = run_campaign(CampaignSpec.load(CAMPAIGNS / "gate.toml"), tmp_path, workers=2)
    assert result.ok, result.failed
    report = check_gate(tmp_path, CAMPAIGNS / "gate-baseline.json")
    assert report.passed, "\n" + report.format()
    assert len(report.rows) > 40  # every gated figure of both scenarios was compared
