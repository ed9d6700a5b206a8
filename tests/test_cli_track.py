"""``airpicture track`` end to end: files in, tracks table out, clear errors on bad input."""

import os

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.io import (
    read_alerts,
    read_impacts,
    read_tracks,
    write_detections,
    write_sensors,
    write_truth,
)
from airpicture.sim import single_radar_scenario


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
    cfg.write_text("[tracker]\nfalse_track_probability = 1e-6\ndelete_probability = 1e-4\n")
    out = str(tmp_path / "t.csv")
    assert main(["track", str(scenario_dir), "-o", out, "--config", str(cfg)]) == 0
    cfg.write_text("[tracker]\nfalse_track_probability = 0\n")
    assert main(["track", str(scenario_dir), "-o", out, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert "key false_track_probability: expected a number in [1e-12, 0.5], got 0" in err
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


def test_two_runs_into_one_folder_keep_their_own_impacts_and_alerts(scenario_dir, tmp_path):
    for name in ("a.csv", "b.csv", "c.parquet"):
        assert main(["track", str(scenario_dir), "-o", str(tmp_path / name)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [
        "a.alerts.csv",
        "a.csv",
        "a.impacts.csv",
        "b.alerts.csv",
        "b.csv",
        "b.impacts.csv",
        "c.alerts.parquet",
        "c.impacts.parquet",
        "c.parquet",
    ]
    # Each run's tables are whole and readable (empty here: aircraft only).
    for name in ("a", "b"):
        assert len(read_impacts(tmp_path / f"{name}.impacts.csv")) == 0
        assert len(read_alerts(tmp_path / f"{name}.alerts.csv")) == 0
    assert len(read_impacts(tmp_path / "c.impacts.parquet")) == 0
    # Without assessment only the tracks table is written.
    assert main(["track", str(scenario_dir), "-o", str(tmp_path / "d.csv"), "--no-assess"]) == 0
    assert not (tmp_path / "d.impacts.csv").exists() and not (tmp_path / "d.alerts.csv").exists()


def test_a_missing_output_folder_is_created(scenario_dir, tmp_path, capsys):
    out = tmp_path / "new" / "deeper" / "run.csv"
    assert main(["track", str(scenario_dir), "-o", str(out)]) == 0
    assert out.is_file()
    assert (out.parent / "run.impacts.csv").is_file() and (out.parent / "run.alerts.csv").is_file()
    assert str(out.parent / "run.impacts.csv") in capsys.readouterr().out


@pytest.fixture
def no_tracking(monkeypatch):
    """Fail the test if tracking starts: destination errors must come before any work."""

    def refuse(*args, **kwargs):
        raise AssertionError("tracking started before the destination was checked")

    monkeypatch.setattr("airpicture.batch.track_scenario", refuse)


def _one_line_error(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_an_output_folder_under_a_file_fails_at_once(scenario_dir, tmp_path, capsys, no_tracking):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    for out in (blocker / "t.csv", blocker / "sub" / "t.csv"):
        assert main(["track", str(scenario_dir), "-o", str(out)]) == 2
        err = _one_line_error(capsys)
        assert f"{out.parent}: expected a folder the output tables can be written into" in err
        assert f"got a file at {blocker}" in err
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="permissions do not bind root"
)
def test_an_unwritable_output_folder_fails_at_once(scenario_dir, tmp_path, capsys, no_tracking):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for out in (locked / "t.csv", locked / "sub" / "t.csv"):
            assert main(["track", str(scenario_dir), "-o", str(out)]) == 2
            err = _one_line_error(capsys)
            assert f"{out.parent}: expected a folder the output tables can be written into" in err
            assert "permission denied" in err
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_an_output_that_is_a_folder_or_not_a_table_fails_at_once(
    scenario_dir, tmp_path, capsys, no_tracking
):
    (tmp_path / "x.csv").mkdir()
    assert main(["track", str(scenario_dir), "-o", str(tmp_path / "x.csv")]) == 2
    err = _one_line_error(capsys)
    assert "x.csv: expected a file name for an output table, got a folder" in err
    out = tmp_path / "new" / "t.txt"
    assert main(["track", str(scenario_dir), "-o", str(out)]) == 2
    assert "expected a file name ending in .csv or .parquet" in _one_line_error(capsys)
    assert not out.parent.exists(), "no folder is created for a command that fails"
