"""Tests of ``airpicture evaluate``: a scenario's truth and a tracks file in, a summary out."""

from __future__ import annotations

import json

import pytest

from airpicture.cli import main
from airpicture.evaluate import evaluate_picture, format_summary
from airpicture.tables import Detections

io = pytest.importorskip("airpicture.io")


@pytest.fixture
def scenario(tmp_path, small_picture):
    folder = tmp_path / "scenario"
    folder.mkdir()
    io.write_sensors(folder / "sensors.csv", small_picture.sensors)
    io.write_detections(folder / "detections.csv", Detections.empty(), small_picture.sensors)
    io.write_truth(folder / "truth.csv", small_picture.truth)
    tracks = tmp_path / "tracks.parquet"
    io.write_tracks(tracks, small_picture.tracks)
    return folder, tracks


def test_prints_the_summary_table(scenario, small_picture, capsys):
    folder, tracks = scenario
    assert main(["evaluate", str(folder), str(tracks)]) == 0
    out = capsys.readouterr().out
    expected = format_summary(evaluate_picture(small_picture.truth, small_picture.tracks))
    # the files round-trip the tables, so the CLI reproduces the in-memory evaluation
    assert out.strip() == expected.strip()
    assert any(
        line.startswith("track-number changes, total") and line.split()[-1] == "2"
        for line in out.splitlines()
    )


def test_json_and_cut_off(scenario, capsys):
    folder, tracks = scenario
    assert main(["evaluate", str(folder), str(tracks), "--json", "--c-m", "5000"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["c_m"] == 5000.0
    assert data["summary"]["n_objects"] == 5.0
    assert data["summary"]["id_changes_total"] == 2.0


def test_plot_option_writes_png(scenario, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder, tracks = scenario
    png = tmp_path / "out" / "eval.png"
    assert main(["evaluate", str(folder), str(tracks), "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {png}" in capsys.readouterr().out


def test_no_truth_is_a_clear_error(scenario, capsys):
    folder, tracks = scenario
    (folder / "truth.csv").unlink()
    assert main(["evaluate", str(folder), str(tracks)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("airpicture evaluate: error: ")
    assert "expected a truth table (truth.csv or truth.parquet)" in err
    assert "got none in the scenario directory" in err


def test_bad_cut_off_is_a_clear_error(scenario, capsys):
    folder, tracks = scenario
    assert main(["evaluate", str(folder), str(tracks), "--c-m", "-1"]) == 2
    assert "key c_m: expected a finite number > 0, got -1.0" in capsys.readouterr().err
