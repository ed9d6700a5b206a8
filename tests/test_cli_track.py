"""``airpicture track`` end to end: files in, tracks table out, clear errors on bad input."""

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.io import read_tracks, write_detections, write_sensors, write_truth
from airpicture.sim.single_radar import single_radar_scenario


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory):
    sc = single_radar_scenario(8, seed=3, n_scans=40)
    d = tmp_path_factory.mktemp("scenario")
    write_sensors(d / "sensors.csv", sc.sensors)
    write_detections(d / "detections.csv", sc.detections, sc.sensors)
    write_truth(d / "truth.csv", sc.truth)
    return d


def test_track_writes_the_contract_table(scenario_dir, tmp_path, capsys):
    out = tmp_path / "tracks.csv"
    assert main(["track", str(scenario_dir), "-o", str(out), "--frame-s", "1.0"]) == 0
    rows = read_tracks(out)
    confirmed = rows.take(rows.status == "confirmed")
    assert len(np.unique(confirmed.track_id)) == 8
    assert set(rows.nations) == {"JPN"}
    printed = capsys.readouterr().out
    assert "tracked" in printed and " tracks ended (0 down, " in printed
    # Same input, same output, byte for byte.
    again = tmp_path / "again.csv"
    assert main(["track", str(scenario_dir), "-o", str(again)]) == 0
    assert out.read_bytes() == again.read_bytes()
    # Parquet output holds the same picture.
    pq = tmp_path / "tracks.parquet"
    assert main(["track", str(scenario_dir), "-o", str(pq)]) == 0
    np.testing.assert_array_equal(read_tracks(pq).x, rows.x)


def test_settings_from_toml_and_flags(scenario_dir, tmp_path, capsys):
    cfg = tmp_path / "tracker.toml"
    cfg.write_text("[tracker]\nconfirm_hits = 4\ntentative_misses = 2\n")
    out = str(tmp_path / "t.csv")
    assert main(["track", str(scenario_dir), "-o", out, "--config", str(cfg)]) == 0
    cfg.write_text("[tracker]\nconfirm_hits = 0\n")
    assert main(["track", str(scenario_dir), "-o", out, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert "key confirm_hits: expected an integer in [1, 100], got 0" in err
    assert main(["track", str(scenario_dir), "-o", out, "--motion-models", "cv,warp"]) == 2
    assert "motion_models" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda text: text[: len(text) // 2], "truncated"),
        (lambda text: text.replace(",", ";", 1), "detections.csv"),
        (lambda text: text.replace("R1", "R9", 3), "R9"),
    ],
)
def test_bad_input_is_one_line_and_status_2(scenario_dir, tmp_path, capsys, mutate, expected):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "sensors.csv").write_bytes((scenario_dir / "sensors.csv").read_bytes())
    (bad / "detections.csv").write_text(mutate((scenario_dir / "detections.csv").read_text()))
    status = main(["track", str(bad), "-o", str(tmp_path / "t.csv")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert expected in err
    assert not (tmp_path / "t.csv").exists(), "no half-written output is left behind"


def test_missing_directory(tmp_path, capsys):
    assert main(["track", str(tmp_path / "nowhere"), "-o", str(tmp_path / "t.csv")]) == 2
    assert "nowhere" in capsys.readouterr().err
