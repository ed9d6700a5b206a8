"""The campaign report in a real browser: self-contained (nothing fetched beyond the file), its
tables, plots, worst runs and failed runs."""

from __future__ import annotations

import pytest

from airpicture.campaign import CampaignSpec, run_campaign, write_report
from tests.web.conftest import artifacts_dir


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaign")
    (folder / "broken.toml").write_text("name = 'broken'\nduration_s = 'long'\n")
    spec = CampaignSpec.from_mapping(
        {
            "name": "report-test",
            "seeds": [1, 2],
            "scenarios": [{"name": "drill", "duration_s": 30}, {"file": "broken.toml"}],
            "settings": [
                {"label": "default"},
                {"label": "tight", "tracker": {"gate_probability": 0.99}},
            ],
        },
        source=str(folder / "c.toml"),
        base=folder,
    )
    result = run_campaign(spec, folder / "out", inline=True)
    assert len(result.finished) == 4 and len(result.failed) == 4
    return write_report(folder / "out", folder / "elsewhere" / "report.html")


def test_the_report_opens_offline_with_its_tables_plots_and_runs(browser, report):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report.as_uri())
    assert page.locator("h1").inner_text() == "Campaign report-test"
    assert "4 of 8 runs finished" in page.locator("body").inner_text()
    header = page.locator("table").first.locator("thead th").all_inner_texts()
    assert header[-2:] == ["default", "tight"]
    row = page.locator("tr", has_text="(gospa_m)").first.locator("td").all_inner_texts()
    assert all("±" in cell for cell in row[3:])  # mean ± spread over the two seeds
    assert page.locator("figure svg").count() == 1
    assert page.locator("figure svg path").count() > 20  # boxes and dots drawn
    worst = page.locator("table").nth(1).locator("tbody tr")
    assert worst.count() == 4
    command = worst.first.locator("code").nth(1).inner_text()
    assert command.startswith(f"airpicture campaign {report.parent.parent / 'c.toml'} -o ")
    assert f"-o {report.parent.parent / 'out'} --only drill-s" in command
    failed = page.locator("details")
    assert failed.count() == 4 and "broken-s1-default" in failed.first.inner_text()
    failed.first.locator("summary").click()
    assert "Traceback" in failed.first.locator("pre").inner_text()
    page.screenshot(path=str(artifacts_dir() / "campaign-report.png"), full_page=True)
    assert requests == [report.as_uri()]  # nothing fetched: one self-contained file
    assert errors == []
    context.close()
