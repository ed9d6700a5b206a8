"""The randomised scenario family: one seed, one valid scenario, always the same, and the
draws inside the bounds docs/scenarios.md states."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.cli import main
from airpicture.errors import ConfigError
from airpicture.sim import (
    build_objects,
    load_scenario,
    load_scenario_data,
    randomized_scenario,
    randomized_scenario_data,
    write_randomized_scenario,
)

BASE = load_scenario_data("sea-of-japan-raid")
BASE_SENSORS = {s["id"]: s for s in BASE["sensors"]}


def test_a_seed_gives_one_scenario_and_other_seeds_others():
    assert randomized_scenario_data(5) == randomized_scenario_data(5)
    drawn = [randomized_scenario_data(seed) for seed in range(12)]
    assert len({repr(d["sensors"]) for d in drawn}) == 12
    assert len({repr(d["objects"]) for d in drawn}) == 12
    scenario = randomized_scenario(5)
    assert scenario.seed == 5 and scenario.name == "sea-of-japan-raid-random-5"


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**40))
def test_every_seed_draws_a_valid_scenario_within_the_stated_bounds(seed):
    data = randomized_scenario_data(seed)
    scenario = randomized_scenario(seed)  # every key checked by the scenario parser
    assert 420.0 <= scenario.duration_s <= 660.0
    nations = {s.nation for s in scenario.sensors}
    assert nations == {n["code"] for n in BASE["nations"]}  # each nation keeps a sensor
    for s in data["sensors"]:
        base = BASE_SENSORS[s["id"]]
        assert 1.0 - 1e-3 <= s["clutter_per_scan"] / base["clutter_per_scan"] <= 4.0 + 1e-3
        assert 0.6 - 1e-3 <= s["scan_period_s"] / base["scan_period_s"] <= 1.6 + 1e-3
        assert 0.3 - 1e-2 <= s["latency_jitter_s"] / s["latency_mean_s"] <= 1.5 + 1e-2
        if s["kind"] == "radar":
            assert -5.0 - 1e-9 <= s["reference_snr_db"] - base["reference_snr_db"] <= 3.0 + 1e-9
        else:
            assert 0.75 <= s["p_detect"] <= 0.98
    kinds = [o["type"] for o in data["objects"]]
    assert kinds.count("airliners") == 1 and kinds.count("ballistic") <= 4
    assert kinds.count("cruise") <= 4


def test_the_drawn_objects_fly(tmp_path):
    """Objects of a few seeds build (airliners, aircraft, cruise and ballistic missiles aimed
    within reach of their burn time) in the scenario's time."""
    n_ballistic = 0
    for seed in (0, 3, 12):
        scenario = randomized_scenario(seed)
        objects = build_objects(
            scenario.objects,
            source=scenario.source,
            t0_s=scenario.t0_s,
            duration_s=scenario.duration_s,
            rng=np.random.default_rng(seed),
        )
        kinds = objects.kind.tolist()
        n_ballistic += kinds.count("ballistic")
        states = objects.states_at(scenario.t0_s + scenario.duration_s / 2)
        flying = np.isfinite(states).all(axis=1)  # NaN: not started yet, or landed
        assert kinds.count("aircraft") >= 100 and flying.sum() >= 80
    assert n_ballistic > 0


def test_the_written_file_reads_back_as_the_same_scenario(tmp_path):
    path = write_randomized_scenario(9, tmp_path)
    again, drawn = load_scenario(path), randomized_scenario(9)
    assert again.sensors == drawn.sensors and again.objects == drawn.objects
    assert math.isclose(again.duration_s, drawn.duration_s) and again.seed == 9


def test_the_command_draws_writes_and_simulates(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["simulate", "--randomize", "4", "--duration", "20", "-o", str(out)]) == 0
    assert "drew scenario 4" in capsys.readouterr().out
    assert load_scenario(out / "scenario.toml").name == "sea-of-japan-raid-random-4"
    assert (out / "detections.csv").stat().st_size > 0
    assert main(["simulate", "--randomize", "4", "--seed", "2", "-o", str(out)]) != 0
    assert "key --seed: expected no --seed with --randomize" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--randomize"):
        randomized_scenario(-1)
