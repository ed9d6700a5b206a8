"""``airpicture track`` with assessment: kinds, impacts and alerts tables, --areas, --confidence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.io import read_alerts, read_impacts, read_tracks, write_detections, write_sensors
from airpicture.sim import single_radar_scenario


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):  # type: ignore[no-untyped-def]
    sc = single_radar_scenario(4, seed=5, n_scans=25)
    d = tmp_path_factory.mktemp("scenario")
    write_sensors(d / "sensors.csv", sc.sensors)
    write_detections(d / "detections.csv", sc.detections, sc.sensors)
    return d


def test_track_fills_kind_and_writes_impacts_and_alerts(scenario_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tracks.csv"
    assert main(["track", str(scenario_dir), "-o", str(out), "--confidence", "0.9"]) == 0
    assert "impact predictions" in capsys.readouterr().out
    rows = read_tracks(out)
    firm = rows.take(rows.status == "confirmed")
    assert set(firm.kind) <= {"aircraft", "unknown"} and (firm.kind == "aircraft").mean() > 0.9
    # aircraft only: the tables are there, with their headers, and empty
    assert (
        len(read_impacts(tmp_path / "tracks.impacts.csv")) == 0
        and len(read_alerts(tmp_path / "tracks.alerts.csv")) == 0
    )
    assert (tmp_path / "tracks.impacts.csv").read_text().startswith("t_s,track_id,impact_t_s,")


def test_no_assess_leaves_kind_unknown(scenario_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tracks.parquet"
    assert main(["track", str(scenario_dir), "-o", str(out), "--no-assess"]) == 0
    assert set(read_tracks(out).kind) == {"unknown"}
    assert not (tmp_path / "tracks.impacts.parquet").exists()


def test_bad_areas_and_settings_are_one_line_errors(scenario_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    areas = tmp_path / "areas.geojson"
    areas.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}
        )
    )
    assert (
        main(["track", str(scenario_dir), "-o", str(tmp_path / "t.csv"), "--areas", str(areas)])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "areas.geojson feature 0, column properties.id" in err
    assert (
        main(["track", str(scenario_dir), "-o", str(tmp_path / "t.csv"), "--confidence", "1.5"])
        == 2
    )
    assert "key confidence: expected a number in (0, 1), got 1.5" in capsys.readouterr().err
    cfg = tmp_path / "s.toml"
    cfg.write_text("[tracker]\nframe_s = 1.0\n[assess]\nalert_min_hits = 0\n")
    assert (
        main(["track", str(scenario_dir), "-o", str(tmp_path / "t.csv"), "--config", str(cfg)]) == 2
    )
    assert "key alert_min_hits: expected an integer in [1, 10000], got 0" in capsys.readouterr().err
    assert not np.any([p.name.endswith(".partial") for p in tmp_path.iterdir()])
