"""A randomised family of scenarios: one seed, one scenario drawn around a base scenario.

Settings chosen on one scenario are a guess; :func:`randomized_scenario` makes the family they
are chosen and judged on. From a base scenario (by default ``sea-of-japan-raid``) and a seed it
draws a new scenario file's contents, every draw from that seed alone:

* **sensors**: each kept with probability 0.85 (each nation keeps at least one); ships and
  airborne early-warning aircraft moved up to 0.3 deg, racetracks turned; fresh registration
  biases (range sd 50 m, azimuth sd 0.08 deg, elevation sd 0.04 deg); detection probability
  moved (reference SNR -5 to +3 dB, an infrared Pd of 0.75 to 0.98); clutter x1 to x4 (log-
  uniform); revisit times x0.6 to x1.6; report delays with a mean x0.5 to x2.5 and a jitter of
  0.3 to 1.5 times that mean, so reports of one sensor and of different sensors arrive out of
  order;
* **objects**: 100 to 260 airliners (flights between the real airports, climbing, cruising and
  descending), in 60 % of the scenarios 10 to 60 manoeuvring aircraft in a random box, up to
  three helicopters or drones, up to four cruise missiles from the sea towards the Japanese
  coast, and up to four ballistic missiles (none in a fifth of the scenarios, a salvo from one
  site in half of the others) from four launch areas, aimed at the sea or, one in four, at a
  city, with their radar cross-section and ballistic coefficient drawn too;
* **time**: 420 to 660 s.

The scenario's own ``seed`` is the same seed, so the detections differ from seed to seed too.
The same seed and base always give the same scenario; :func:`randomized_scenario_data` gives
its file contents (``airpicture simulate --randomize SEED`` writes them as ``scenario.toml``
beside the tables, so a run can be reproduced and read).

Example
-------
>>> from airpicture.sim import randomized_scenario
>>> scenario = randomized_scenario(7)
>>> scenario.name, scenario.seed
('sea-of-japan-raid-random-7', 7)
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.sim._scenario import Scenario, load_scenario_data, parse_scenario

__all__ = [
    "RANDOMIZED_BASE",
    "randomized_scenario",
    "randomized_scenario_data",
    "write_randomized_scenario",
]

RANDOMIZED_BASE = "sea-of-japan-raid"
"""The base scenario of :func:`randomized_scenario` when none is given."""

# Draws of the family (see the module docstring).
_KEEP_SENSOR = 0.85
_MOVE_DEG = 0.3
_BIAS_SD = {"bias_range_m": 50.0, "bias_azimuth_deg": 0.08, "bias_elevation_deg": 0.04}
_SNR_DB = (-5.0, 3.0)
_IR_PD = (0.75, 0.98)
_CLUTTER_X = (1.0, 4.0)
_REVISIT_X = (0.6, 1.6)
_LATENCY_X = (0.5, 2.5)
_JITTER_OF_MEAN = (0.3, 1.5)
_DURATION_S = (420.0, 660.0)

# Where the objects come from and go to: launch areas on the Korean peninsula, sea boxes and
# cities of the Japanese coast, degrees.
_LAUNCH_SITES = ((39.60, 127.45), (40.85, 129.67), (39.66, 124.70), (38.99, 125.75))
_SEA_BOX = (37.6, 41.5, 131.5, 137.5)  # lat_min, lat_max, lon_min, lon_max: open sea
_CITIES = ((37.92, 139.04), (39.72, 140.10), (36.56, 136.65), (35.50, 134.24), (40.82, 140.74))
_COAST = ((37.25, 136.70), (36.30, 133.15), (38.05, 138.30), (35.60, 135.40), (39.90, 139.85))
_TRAFFIC_BOX = (36.0, 41.5, 130.5, 139.5)


def randomized_scenario_data(seed: int, *, base: str | Path = RANDOMIZED_BASE) -> dict[str, Any]:
    """The contents of scenario file ``seed`` of the family around ``base`` (a library name or
    a scenario file), as :func:`~airpicture.sim.parse_scenario` takes them.

    Raises
    ------
    ConfigError
        ``base`` does not load, or ``seed`` is not a non-negative integer.
    """
    data = copy.deepcopy(load_scenario_data(base))
    base_name = str(data.get("name", Path(str(base)).stem))
    seed = _check_seed(seed)
    rng = np.random.default_rng([seed, 0x52414E44])  # a stream of its own: not the sim's draws
    duration = round(float(rng.uniform(*_DURATION_S)))
    data["name"] = f"{base_name}-random-{seed}"
    data["description"] = (
        f"Seed {seed} of the randomised family around {base_name}: sensors, biases, detection, "
        "clutter, revisits, delays and objects drawn"
    )
    data["seed"] = seed
    data["duration_s"] = float(duration)
    data["sensors"] = _sensors(data.get("sensors", []), rng)
    data["objects"] = _objects(rng, float(duration))
    return data


def randomized_scenario(seed: int, *, base: str | Path = RANDOMIZED_BASE) -> Scenario:
    """Scenario ``seed`` of the randomised family around ``base`` (see the module docstring)."""
    data = randomized_scenario_data(seed, base=base)
    return parse_scenario(data, source=f"randomized scenario {seed} of {base}")


def write_randomized_scenario(
    seed: int, folder: str | Path, *, base: str | Path = RANDOMIZED_BASE
) -> Path:
    """Write scenario ``seed`` of the family around ``base`` as ``folder/scenario.toml`` (the
    folder must exist) and return its path; :func:`~airpicture.sim.load_scenario` reads it
    back as :func:`randomized_scenario` gives it."""
    import tomli_w

    path = Path(folder) / "scenario.toml"
    header = (
        f"# Scenario {seed} of the randomised family around {base}, as drawn by\n"
        f"# airpicture simulate --randomize {seed}\n\n"
    )
    path.write_text(header + tomli_w.dumps(randomized_scenario_data(seed, base=base)))
    return path


def _check_seed(seed: int) -> int:
    from airpicture.sim._scenario_rules import _INT_SEED

    return int(_INT_SEED.check(seed, "command line", "--randomize"))


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))


def _sensors(sensors: list[dict[str, Any]], rng: np.random.Generator) -> list[dict[str, Any]]:
    keep = rng.random(len(sensors)) < _KEEP_SENSOR
    for nation in {s["nation"] for s in sensors}:
        own = [i for i, s in enumerate(sensors) if s["nation"] == nation]
        if not keep[own].any():
            keep[int(rng.choice(own))] = True
    return [_sensor(s, rng) for s, k in zip(sensors, keep, strict=True) if k]


def _sensor(sensor: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    s = dict(sensor)
    path = s.get("path")
    if isinstance(path, dict):
        path = dict(path)
        dlat, dlon = rng.uniform(-_MOVE_DEG, _MOVE_DEG, 2)
        if path.get("type") == "racetrack":
            lat, lon = path["centre"]
            path["centre"] = [round(lat + dlat, 3), round(lon + dlon, 3)]
            path["heading_deg"] = round(float(rng.uniform(0.0, 180.0)), 1)
        else:
            path["waypoints"] = [
                [round(p[0] + dlat, 3), round(p[1] + dlon, 3), p[2]] for p in path["waypoints"]
            ]
        s["path"] = path
    if s["kind"] == "radar":
        for key, sd in _BIAS_SD.items():
            s[key] = round(float(rng.normal(0.0, sd)), 4)
        if "reference_snr_db" in s:
            s["reference_snr_db"] = round(s["reference_snr_db"] + _uniform(rng, _SNR_DB), 2)
    else:
        s["p_detect"] = round(_uniform(rng, _IR_PD), 3)
    s["clutter_per_scan"] = round(
        s.get("clutter_per_scan", 1.0) * _log_uniform(rng, _CLUTTER_X), 3
    )
    s["scan_period_s"] = round(s["scan_period_s"] * _uniform(rng, _REVISIT_X), 2)
    mean = s.get("latency_mean_s", 1.0) * _uniform(rng, _LATENCY_X)
    s["latency_mean_s"] = round(mean, 3)
    s["latency_jitter_s"] = round(mean * _uniform(rng, _JITTER_OF_MEAN), 3)
    return s


def _between(rng: np.random.Generator, box: tuple[float, float, float, float]) -> list[float]:
    lat, lon = rng.uniform(box[0], box[1]), rng.uniform(box[2], box[3])
    return [round(float(lat), 3), round(float(lon), 3)]


def _objects(rng: np.random.Generator, duration_s: float) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {
            "type": "airliners",
            "count": int(rng.integers(100, 261)),
            "id_prefix": "AL",
            "airborne_fraction": round(_uniform(rng, (0.5, 0.8)), 2),
        }
    ]
    if rng.random() < 0.6:
        lat0 = float(rng.uniform(_TRAFFIC_BOX[0], _TRAFFIC_BOX[1] - 2.0))
        lon0 = float(rng.uniform(_TRAFFIC_BOX[2], _TRAFFIC_BOX[3] - 3.0))
        objects.append({
            "type": "random_aircraft",
            "count": int(rng.integers(10, 61)),
            "id_prefix": "RA",
            "box": [round(lat0, 2), round(lat0 + 2.0, 2), round(lon0, 2), round(lon0 + 3.0, 2)],
            "alt_m": [300.0, 12000.0],
            "speed_mps": [90.0, 280.0],
            "max_bank_deg": round(_uniform(rng, (25.0, 60.0)), 1),
        })  # fmt: skip
    for i in range(int(rng.integers(0, 4))):
        kind = "helicopter" if rng.random() < 0.5 else "uav"
        start = _between(rng, _TRAFFIC_BOX)
        end = [round(start[0] + float(rng.uniform(-0.6, 0.6)), 3),
               round(start[1] + float(rng.uniform(-0.8, 0.8)), 3)]  # fmt: skip
        alt = round(_uniform(rng, (150.0, 3000.0)))
        objects.append({
            "type": kind, "id": f"{kind[0].upper()}{i + 1}",
            "waypoints": [[*start, alt], [*end, alt]],
            "speed_mps": round(_uniform(rng, (30.0, 70.0)), 1),
            "start_s": round(_uniform(rng, (0.0, duration_s / 2))),
        })  # fmt: skip
    for i in range(int(rng.integers(0, 5))):
        start = _between(rng, _SEA_BOX)
        target = _COAST[int(rng.integers(len(_COAST)))]
        dlat, dlon = rng.uniform(-0.3, 0.3, 2)
        mid = [round((2 * start[0] + target[0]) / 3 + float(dlat), 3),
               round((2 * start[1] + target[1]) / 3 + float(dlon), 3)]  # fmt: skip
        alt = round(_uniform(rng, (30.0, 100.0)))
        objects.append({
            "type": "cruise", "id": f"CM{i + 1}",
            "waypoints": [[*start, alt], [*mid, alt], [*target, alt + 50]],
            "speed_mps": round(_uniform(rng, (220.0, 280.0)), 1),
            "start_s": round(_uniform(rng, (0.0, duration_s / 2))),
        })  # fmt: skip
    objects.extend(_ballistic(rng, duration_s))
    return objects


def _ballistic(rng: np.random.Generator, duration_s: float) -> list[dict[str, Any]]:
    if rng.random() < 0.2:
        return []
    count = int(rng.integers(1, 5))
    salvo = rng.random() < 0.5
    site = _LAUNCH_SITES[int(rng.integers(len(_LAUNCH_SITES)))]
    first = _uniform(rng, (20.0, max(21.0, duration_s - 450.0)))
    out = []
    for i in range(count):
        if not salvo:
            site = _LAUNCH_SITES[int(rng.integers(len(_LAUNCH_SITES)))]
        launch = [round(site[0] + float(rng.uniform(-0.1, 0.1)), 3),
                  round(site[1] + float(rng.uniform(-0.1, 0.1)), 3), 50.0]  # fmt: skip
        if rng.random() < 0.25:
            city = _CITIES[int(rng.integers(len(_CITIES)))]
            aim = [round(city[0] + float(rng.uniform(-0.05, 0.05)), 3),
                   round(city[1] + float(rng.uniform(-0.05, 0.05)), 3)]  # fmt: skip
        else:
            aim = _between(rng, _SEA_BOX)
        t = first + (float(rng.uniform(0.0, 10.0)) if salvo else float(rng.uniform(0.0, 120.0)))
        out.append({
            "type": "ballistic", "id": f"BM{i + 1}", "launch": launch,
            "launch_s": round(min(t, duration_s - 1.0), 1), "aim": aim,
            "rcs_m2": round(_log_uniform(rng, (0.1, 1.0)), 3),
            "ballistic_coefficient_kg_m2": round(_log_uniform(rng, (2000.0, 20000.0))),
        })  # fmt: skip
    return out
