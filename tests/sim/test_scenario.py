"""Scenario files, the library, end-to-end simulation and the ``simulate`` command."""

from __future__ import annotations

import copy
import hashlib
import importlib
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from airpicture.cli import main
from airpicture.errors import ConfigError
from airpicture.io import read_detections, read_sensors, read_truth
from airpicture.sim import (
    FixedPlatform,
    RacetrackPath,
    WaypointPath,
    list_scenarios,
    load_scenario,
    parse_scenario,
    simulate,
)

LIBRARY = ("dense-traffic", "drill", "reentry", "reentry-perturbed", "sea-of-japan-raid")

GOOD = {
    "name": "t",
    "description": "a test scenario",
    "start_utc": "2025-01-15T03:00:00Z",
    "duration_s": 60.0,
    "seed": 7,
    "nations": [{"code": "JPN", "name": "Japan", "colour": "#c8102e"}],
    "sensors": [
        {
            "id": "R1",
            "nation": "JPN",
            "kind": "radar",
            "platform": "ground",
            "position": [38.0, 138.4, 100.0],
            "max_range_m": 400e3,
            "min_elevation_deg": -2.0,
            "max_elevation_deg": 60.0,
            "scan_period_s": 10.0,
            "sigma_range_m": 50.0,
            "sigma_azimuth_deg": 0.2,
            "sigma_elevation_deg": 0.3,
            "p_detect": 0.9,
        },
        {
            "id": "S1",
            "nation": "JPN",
            "kind": "radar",
            "platform": "ship",
            "path": {
                "type": "waypoints",
                "waypoints": [[38.0, 135.0], [38.3, 135.5]],
                "speed_mps": 8.0,
            },
            "max_range_m": 300e3,
            "min_elevation_deg": -3.0,
            "max_elevation_deg": 80.0,
            "scan": "staring",
            "scan_period_s": 4.0,
            "sigma_range_m": 20.0,
            "sigma_azimuth_deg": 0.1,
            "sigma_elevation_deg": 0.1,
            "sigma_range_rate_mps": 1.0,
            "reference_snr_db": 15.0,
            "reference_range_m": 300e3,
            "p_false_alarm": 1e-6,
            "latency_mean_s": 2.0,
            "latency_jitter_s": 1.0,
        },
    ],
}


def broken(edit) -> dict:
    doc = copy.deepcopy(GOOD)
    edit(doc)
    return doc


def error_of(doc: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_scenario(doc, source="my.toml")
    return info.value


# --------------------------------------------------------------------------- parsing


def test_good_document_parses_into_radians_and_platforms():
    scenario = parse_scenario(GOOD, source="my.toml")
    assert scenario.t0_s == 1736910000.0
    assert scenario.t_end_s == scenario.t0_s + 60.0
    r1, s1 = scenario.sensors
    assert isinstance(r1.path, FixedPlatform) and isinstance(s1.path, WaypointPath)
    assert r1.sigma_azimuth_rad == pytest.approx(math.radians(0.2))
    assert r1.scan == "rotating" and s1.scan == "staring"
    assert math.isnan(r1.sigma_range_rate_mps) and s1.has_range_rate
    assert math.isnan(s1.p_detect) and s1.p_false_alarm == 1e-6
    assert r1.refraction_k == pytest.approx(4 / 3)
    assert scenario.truth_interval_s == 1.0 and scenario.objects == ()


def test_racetrack_path_and_longitudes_beyond_180():
    doc = broken(
        lambda d: d["sensors"][1].update(
            platform="airborne",
            path={
                "type": "racetrack",
                "centre": [38.0, 137.0],
                "length_m": 1e5,
                "turn_radius_m": 2e4,
                "heading_deg": 45.0,
                "speed_mps": 170.0,
            },
        )
    )
    doc["sensors"][0]["position"] = [38.0, 200.0, 0.0]
    scenario = parse_scenario(doc, source="my.toml")
    assert isinstance(scenario.sensors[1].path, RacetrackPath)
    assert scenario.sensors[1].path.alt_m == 9000.0
    assert scenario.sensors[0].path.lon_rad == pytest.approx(math.radians(-160.0))


@pytest.mark.parametrize(
    "edit, key, expected",
    [
        (lambda d: d.pop("seed"), "seed", "an integer"),
        (lambda d: d.update(duration_s=-5), "duration_s", "a number in (0, inf]"),
        (lambda d: d.update(duration_s="600"), "duration_s", "a number"),
        (lambda d: d.update(start_utc="2025-01-15 03:00"), "start_utc", "time zone"),
        (lambda d: d.update(colour="red"), "colour", "one of the keys"),
        (lambda d: d["nations"][0].update(code="Japan"), "nations[0].code", "alpha-3"),
        (
            lambda d: d["nations"].append({"code": "JPN", "name": "again"}),
            "nations[1].code",
            "not listed before",
        ),
        (
            lambda d: d["sensors"][1].update(scan_period_s=0),
            "sensors[1].scan_period_s",
            "a number in (0, inf]",
        ),
        (lambda d: d["sensors"][0].update(nation="FRA"), "sensors[0].nation", "'JPN'"),
        (lambda d: d["sensors"][0].update(kind="lidar"), "sensors[0].kind", "'radar', 'ir'"),
        (lambda d: d["sensors"][0].update(scan_rate=3), "sensors[0].scan_rate", "one of the keys"),
        (lambda d: d["sensors"][0].pop("max_range_m"), "sensors[0].max_range_m", "a number"),
        (
            lambda d: d["sensors"][0].update(position=[95.0, 138.0, 0.0]),
            "sensors[0].position",
            "lat in [-90, 90]",
        ),
        (
            lambda d: d["sensors"][0].update(sector=[10.0, 10.0]),
            "sensors[0].sector",
            "two different azimuths",
        ),
        (
            lambda d: d["sensors"][0].update(max_elevation_deg=-5.0),
            "sensors[0].max_elevation_deg",
            "more than min_elevation_deg",
        ),
        (
            lambda d: d["sensors"][0].update(sigma_azimuth_deg=0.0),
            "sensors[0].sigma_azimuth_deg",
            "(0, 90]",
        ),
        (lambda d: d["sensors"][0].update(p_detect=1.5), "sensors[0].p_detect", "(0, 1]"),
        (
            lambda d: d["sensors"][0].pop("p_detect"),
            "sensors[0].p_detect",
            "reference_snr_db, reference_range_m and p_false_alarm",
        ),
        (
            lambda d: d["sensors"][0].update(p_false_alarm=1e-6),
            "sensors[0].p_false_alarm",
            "no p_false_alarm when p_detect is set",
        ),
        (lambda d: d["sensors"][1].pop("p_false_alarm"), "sensors[1].p_false_alarm", "(0, 1)"),
        (lambda d: d["sensors"][1].update(id="R1"), "sensors[1].id", "not used by another"),
        (
            lambda d: d["sensors"][0].update(path={"type": "waypoints"}),
            "sensors[0].position",
            "exactly one of position and path",
        ),
        (
            lambda d: d["sensors"][1]["path"].update(speed_mps=30.0),
            "sensors[1].path.speed_mps",
            "a ship's speed",
        ),
        (
            lambda d: d["sensors"][1]["path"].update(type="racetrack"),
            "sensors[1].path.type",
            "'waypoints'",
        ),
        (
            lambda d: d["sensors"][1]["path"].update(waypoints=[[38.0, 135.0]]),
            "sensors[1].path.waypoints",
            "at least two",
        ),
        (
            lambda d: d["sensors"][0].update(kind="ir"),
            "sensors[0].sigma_range_m",
            "no sigma_range_m for an ir sensor",
        ),
        (lambda d: d["sensors"][0].update(detects="all"), "sensors[0].detects", "no detects"),
        (
            lambda d: d["sensors"][0].update(platform="space"),
            "sensors[0].position",
            "at least 100000 m",
        ),
        (
            lambda d: d["sensors"][1].update(latency_mean_s=0.0),
            "sensors[1].latency_mean_s",
            "a positive mean delay",
        ),
        (lambda d: d.update(sensors=[]), "sensors", "at least one [[sensors]]"),
        (lambda d: d.update(objects=[1, 2]), "objects[0]", "a table"),
    ],
)
def test_malformed_file_error_names_file_key_and_expectation(edit, key, expected):
    err = error_of(broken(edit))
    assert err.source == "my.toml"
    assert err.key == key
    assert expected in err.expected
    text = str(err)
    assert text.startswith(f"my.toml, key {key}: expected ") and ", got " in text


def test_error_shows_what_was_found():
    err = error_of(broken(lambda d: d["sensors"][1].update(scan_period_s="fast")))
    assert err.got == "'fast'"
    assert str(err) == (
        "my.toml, key sensors[1].scan_period_s: expected a number in (0, inf], got 'fast'"
    )


def test_toml_syntax_errors_and_missing_files_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = 'x'\nduration_s = \n")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and "valid TOML" in str(info.value)
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="a library scenario .*drill.*got 'nowhere'"):
        load_scenario("nowhere")


def test_library_name_wins_over_a_folder_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drill").mkdir()  # `airpicture simulate drill -o drill`, run twice
    assert load_scenario("drill").name == "drill"
    with pytest.raises(ConfigError, match="expected a readable TOML file"):
        load_scenario("./drill")


def test_overrides_are_validated():
    scenario = parse_scenario(GOOD, source="my.toml")
    assert scenario.with_overrides(seed=3, duration_s=5.0).seed == 3
    assert scenario.with_overrides() is scenario
    with pytest.raises(ConfigError, match="command line, key --duration"):
        scenario.with_overrides(duration_s=0.0)
    with pytest.raises(ConfigError, match="key --seed"):
        scenario.with_overrides(seed=-1)


def test_a_shorter_duration_leaves_out_objects_that_start_after_it(tmp_path):
    raid = load_scenario("sea-of-japan-raid")
    starts = {o["id"]: o.get("start_s", o.get("launch_s")) for o in raid.objects if "id" in o}
    short = raid.with_overrides(duration_s=60.0)
    kept = {o.get("id") for o in short.objects}
    late = {i for i, t in starts.items() if t is not None and t >= 60.0}
    assert late and not late & kept
    assert len(short.objects) == len(raid.objects) - len(late)
    assert simulate(short.with_overrides(duration_s=5.0), tmp_path).n_objects > 0


# --------------------------------------------------------------------------- library


def test_library_lists_every_scenario_with_a_description():
    entries = dict(list_scenarios())
    assert tuple(sorted(entries)) == LIBRARY
    assert all(len(text) > 20 for text in entries.values())


@pytest.mark.parametrize("name", LIBRARY)
def test_library_scenario_loads_and_validates(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.sensors and scenario.objects
    nations = {n.code for n in scenario.nations}
    assert {s.nation for s in scenario.sensors} <= nations


def test_raid_has_the_forces_the_brief_asks_for():
    s = load_scenario("sea-of-japan-raid")
    by = {(x.nation, x.platform) for x in s.sensors}
    assert {("JPN", "ground"), ("JPN", "ship"), ("USA", "ship"), ("USA", "airborne")} <= by
    assert ("AUS", "ship") in by or ("AUS", "airborne") in by
    assert sum(1 for x in s.sensors if x.nation == "JPN" and x.platform == "ship") == 2
    assert any(x.kind == "ir" and x.platform == "space" for x in s.sensors)
    kinds = [o.get("type") for o in s.objects]
    assert kinds.count("ballistic") == 4 and 2 <= kinds.count("cruise") <= 4
    launches = [o["launch_s"] for o in s.objects if o.get("type") == "ballistic"]
    assert max(launches) - min(launches) <= 10.0
    airliners = [o for o in s.objects if o.get("type") == "airliners"]
    assert 150 <= sum(o["count"] for o in airliners) <= 300
    assert 540.0 <= s.duration_s <= 660.0


def test_dense_traffic_uses_all_the_raid_sensors():
    dense, raid = load_scenario("dense-traffic"), load_scenario("sea-of-japan-raid")
    assert [s.sensor_id for s in dense.sensors] == [s.sensor_id for s in raid.sensors]
    assert sum(o.get("count", 1) for o in dense.objects) == 10000


def test_library_file_is_plain_toml_a_user_can_copy_and_extend(tmp_path):
    """A new nation and sensor are a TOML edit, never code."""
    source = Path(load_scenario("drill").source)
    text = source.read_text() + (
        '\n[[nations]]\ncode = "KOR"\nname = "Republic of Korea"\n\n'
        '[[sensors]]\nid = "KOR-1"\nnation = "KOR"\nkind = "radar"\nplatform = "ground"\n'
        "position = [37.5, 129.1, 300.0]\nscan_period_s = 10.0\nmax_range_m = 350e3\n"
        "min_elevation_deg = -1.0\nmax_elevation_deg = 60.0\nsigma_range_m = 60.0\n"
        "sigma_azimuth_deg = 0.2\nsigma_elevation_deg = 0.3\np_detect = 0.9\n"
    )
    path = tmp_path / "mine.toml"
    path.write_text(text)
    scenario = load_scenario(str(path))
    assert scenario.sensors[-1].sensor_id == "KOR-1"
    assert tomllib.loads(text)["name"] == "drill"


# --------------------------------------------------------------------------- end to end


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def drill_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("drill")
    scenario = load_scenario("drill")
    fractions: list[float] = []
    summary = simulate(scenario, out, progress=fractions.append)
    return scenario, out, summary, fractions


def test_drill_simulates_end_to_end(drill_run):
    scenario, out, summary, fractions = drill_run
    assert {p.name for p in out.iterdir()} == {
        "sensors.csv",
        "detections.csv",
        "truth.csv",
        "biases.csv",
    }
    sensors = read_sensors(out / "sensors.csv")
    detections = read_detections(out / "detections.csv", sensors)
    truth = read_truth(out / "truth.csv")
    assert len(detections) == summary.n_detections > 0
    assert len(truth) == summary.n_truth_rows > 0
    assert set(sensors.ids) == {s.sensor_id for s in scenario.sensors}
    assert set(np.unique(detections.sensor_index)) == set(range(len(sensors)))
    assert fractions[-1] == pytest.approx(1.0) and np.all(np.diff(fractions) > 0)
    assert detections.t_s.min() >= scenario.t0_s and detections.t_s.max() < scenario.t_end_s
    assert len(set(np.unique(truth.kind))) >= 3
    biases = (out / "biases.csv").read_text().splitlines()
    assert biases[0] == "sensor_id,bias_range_m,bias_azimuth_deg,bias_elevation_deg"
    assert len(biases) == 1 + len(scenario.sensors)


def test_tracking_the_drill_finds_the_hidden_registration_biases(drill_run, tmp_path, capsys):
    """``airpicture track`` prints each radar's estimated offsets: biases.csv within 3 sd."""
    _, out, _, _ = drill_run
    assert main(["track", str(out), "-o", str(tmp_path / "tracks.csv"), "--no-assess"]) == 0
    printed = capsys.readouterr().out
    number = r"([-+]?[0-9.]+) \+- ([0-9.]+)"
    found = {
        m[0]: np.array(m[1:7], float)
        for m in re.findall(
            rf"  (\S+): range {number} m, azimuth {number} deg, elevation {number} deg", printed
        )
    }
    rows = [line.split(",") for line in (out / "biases.csv").read_text().splitlines()[1:]]
    radars = {r[0]: np.array(r[1:], float) for r in rows if r[1]}
    assert set(found) == set(radars), printed
    for sensor_id, est in found.items():
        error = np.abs(est[0::2] - radars[sensor_id])
        assert np.all(error <= 3.0 * est[1::2]), (sensor_id, est, radars[sensor_id])


def test_drill_detections_are_written_in_arrival_order(drill_run):
    """Measurement times are out of order in the file (latency), and moving platforms move."""
    scenario, out, _, _ = drill_run
    sensors = read_sensors(out / "sensors.csv")
    det = read_detections(out / "detections.csv", sensors)
    assert np.count_nonzero(np.diff(det.t_s) < 0) > 0
    for s in scenario.sensors:
        rows = det.sensor_index == sensors.index_of(s.sensor_id)
        positions = np.unique(
            np.column_stack([det.sensor_lat_rad[rows], det.sensor_lon_rad[rows]]), axis=0
        )
        assert (positions.shape[0] > 1) == s.path.is_moving, s.sensor_id


def test_same_seed_gives_byte_identical_output(drill_run, tmp_path):
    scenario, out, _, _ = drill_run
    simulate(scenario, tmp_path / "again")
    assert _digest(tmp_path / "again") == _digest(out)
    simulate(scenario.with_overrides(seed=scenario.seed + 1), tmp_path / "other")
    other = _digest(tmp_path / "other")
    assert other["detections.csv"] != _digest(out)["detections.csv"]


# --------------------------------------------------------------------------- command line


def test_cli_list(capsys):
    assert main(["simulate", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(LIBRARY)


def test_cli_simulates_with_overrides_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    png = tmp_path / "map.png"
    code = main(
        ["simulate", "drill", "-o", str(out), "--seed", "5", "--duration", "30", "--plot", str(png)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "simulated drill (seed 5, 30 s)" in text
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    truth = read_truth(out / "truth.csv")
    assert truth.t_s.max() - truth.t_s.min() == pytest.approx(30.0)


def test_cli_reports_bad_scenarios_in_one_line(tmp_path, capsys):
    text = Path(load_scenario("drill").source).read_text()
    path = tmp_path / "bad.toml"
    path.write_text(text.replace("scan_period_s = 10.0", "scan_period_s = -1.0", 1))
    assert main(["simulate", str(path), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"airpicture simulate: error: {path}, key sensors[0].scan_period_s: "
        "expected a number in (0, inf], got -1.0\n"
    )
    assert not (tmp_path / "x").exists()
    assert main(["simulate", "-o", str(tmp_path / "x")]) == 2
    assert "(or --randomize SEED) and an output folder" in capsys.readouterr().err
    assert main(["simulate", "no-such-scenario", "-o", str(tmp_path / "x")]) == 2
    assert "scenario library, key name" in capsys.readouterr().err
    # an output folder under a file: one line before any simulating, no traceback
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    assert main(["simulate", "drill", "-o", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"airpicture simulate: error: {blocker / 'sub'}: expected a folder the output tables can "
        f"be written into, got a file at {blocker}\n"
    )


# --------------------------------------------------------------------------- public surface


@pytest.mark.parametrize(
    "name",
    ["airpicture.sim._scenario", "airpicture.sim._sensors", "airpicture.sim._platforms",
     "airpicture.sim._run", "airpicture.sim.plot", "airpicture.sim._detectable"],
)  # fmt: skip
def test_public_surface_is_exactly_all(name):
    """Every function and class defined in the module is in ``__all__`` or underscored."""
    module = importlib.import_module(name)
    assert all(hasattr(module, item) for item in module.__all__)
    assert list(module.__all__) == sorted(module.__all__, key=lambda s: (not s.isupper(), s))
    defined = {
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and callable(value)
        and getattr(value, "__module__", None) == name
    }
    assert defined <= set(module.__all__)
