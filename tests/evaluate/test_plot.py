"""Tests of airpicture.evaluate.plot: shipped coastlines and the evaluation figure."""

from __future__ import annotations

import json
import sys
from importlib import resources

import numpy as np
import pytest

from airpicture.errors import ConfigError
from airpicture.evaluate import evaluate_picture
from airpicture.evaluate.plot import load_coastlines, plot_evaluation


def test_coastlines_are_shipped_closed_rings_in_the_region():
    rings = load_coastlines()
    assert len(rings) > 100
    for ring in rings:
        assert ring.ndim == 2 and ring.shape[1] == 2 and ring.shape[0] >= 4
        assert np.array_equal(ring[0], ring[-1])
    points = np.vstack(rings)
    assert points[:, 0].min() >= 100.0 and points[:, 0].max() <= 180.0
    assert points[:, 1].min() >= 0.0 and points[:, 1].max() <= 60.0


def test_coastlines_contain_known_land():
    # Honshu near Tokyo (139.7 E, 35.7 N) is inside some ring; the open Pacific is not.
    def inside(lon: float, lat: float) -> bool:
        hits = 0
        for ring in load_coastlines():
            x, y = ring[:-1], ring[1:]
            crosses = (x[:, 1] > lat) != (y[:, 1] > lat)
            t = (lat - x[crosses, 1]) / (y[crosses, 1] - x[crosses, 1])
            hits += int(np.sum(x[crosses, 0] + t * (y[crosses, 0] - x[crosses, 0]) > lon))
        return hits % 2 == 1

    assert inside(139.7, 35.7)
    assert not inside(150.0, 30.0)


def test_coastline_file_is_small_package_data():
    source = resources.files("airpicture").joinpath("data").joinpath("coastline_50m.json")
    text = source.read_text(encoding="utf-8")
    assert len(text) < 1_000_000
    data = json.loads(text)
    assert data["type"] == "MultiPolygon" and data["bbox"] == [100.0, 0.0, 180.0, 60.0]
    assert "Natural Earth" in data["source"]


def test_plot_writes_a_png(tmp_path, small_picture):
    pytest.importorskip("matplotlib")
    pic = small_picture
    evaluation = evaluate_picture(pic.truth, pic.tracks)
    out = plot_evaluation(
        pic.truth, pic.tracks, evaluation, tmp_path / "sub" / "eval.png", sensors=pic.sensors
    )
    assert out == tmp_path / "sub" / "eval.png"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # two panels with coastlines, lines and text


def test_plot_without_tracks_or_sensors(tmp_path, small_picture):
    pytest.importorskip("matplotlib")
    pic = small_picture
    no_tracks = pic.tracks.take(np.zeros(len(pic.tracks), dtype=bool))
    evaluation = evaluate_picture(pic.truth, no_tracks)
    out = plot_evaluation(pic.truth, no_tracks, evaluation, tmp_path / "empty.png")
    assert out.stat().st_size > 20_000


def test_missing_matplotlib_is_a_clear_error(tmp_path, small_picture, monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    pic = small_picture
    evaluation = evaluate_picture(pic.truth, pic.tracks)
    with pytest.raises(ConfigError, match=r"pip install 'airpicture\[plot\]'"):
        plot_evaluation(pic.truth, pic.tracks, evaluation, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
