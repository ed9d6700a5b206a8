"""Shared helpers of the node and network tests."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.assess import AssessConfig, Assessor, read_warning_areas
from airpicture.fusion import CommonPicture
from airpicture.io import find_scenario_files, read_detections, read_sensors
from airpicture.net import LabelSpace
from airpicture.tables import SensorSequence, TrackRows
from airpicture.tracker import Tracker, TrackerConfig

NATIONS = ("AUS", "JPN", "USA")
TRACKER = {"latency_window_s": 4.0}


def node_values(
    nation: str, scenario_dir: Path, *, speed: float = 60.0, start_in_s: float = 0.3, **extra: Any
) -> dict[str, Any]:
    """A node configuration mapping (as in a TOML file) replaying ``scenario_dir``."""
    values: dict[str, Any] = {
        "nation": nation,
        "sensors_file": str(scenario_dir / "sensors.csv"),
        "network": list(NATIONS),
        "tick_s": 0.02,
        "peer_timeout_s": 60.0,
        "exit_when_done": True,
        "source": {
            "scenario_dir": str(scenario_dir),
            "speed": speed,
            "start_at_unix_s": time.time() + start_in_s,
        },
        "tracker": dict(TRACKER),
    }
    values.update(extra)
    return values


def batch_picture(
    scenario_dir: Path,
    *,
    drop_sensor: str | None = None,
    released: dict[str, tuple[str, ...]] | None = None,
) -> TrackRows:
    """The batch picture of the scenario's detections (optionally without one sensor): the
    tracker's rows with their kinds assessed, as ``airpicture track`` writes them. ``released``
    labels the named sensors' detections as released to those nations only (so not to every
    nation, as a node holding them sees them)."""
    files = find_scenario_files(scenario_dir)
    sensors = read_sensors(files.sensors)
    detections = SensorSequence(len(sensors)).network_rows(
        read_detections(files.detections, sensors)
    )
    if drop_sensor is not None:
        detections = detections.take(detections.sensor_index != sensors.index_of(drop_sensor))
    tracker = Tracker(sensors, TrackerConfig(**TRACKER))
    if released:
        space = LabelSpace(NATIONS)
        labels = np.full(len(detections), space.label(NATIONS), dtype=np.uint64)
        for sensor_id, nations in released.items():
            labels[detections.sensor_index == sensors.index_of(sensor_id)] = space.label(nations)
        detections = replace(detections, release=labels)
        tracker.wide_release = space.bits(NATIONS)
    assessor = Assessor(AssessConfig(), areas=read_warning_areas())
    picture = CommonPicture("", sensors)
    parts: list[TrackRows] = []

    def on_frame(rows: TrackRows, t_s: float) -> None:
        parts.append(picture.step(assessor, tracker, rows, t_s)[0].rows)

    tracker.run([detections], on_frame=on_frame)
    return TrackRows.concat([p for p in parts if len(p)])


def assert_same_picture(a: TrackRows, b: TrackRows) -> None:
    """Exactly the same rows: ids, states, covariances, status, nations, in the same order."""
    assert len(a) == len(b), f"{len(a)} rows against {len(b)}"
    for name in ("t_s", "track_id", "x", "cov_pos", "kind", "status", "nations"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def node_keys(keys: Path, nation: str) -> Path:
    """A node's own keys folder exported from the full ``keys`` folder (made on first use, in
    ``keys``' parent folder): what a secure node is given."""
    from airpicture.net import export_node_keys

    folder = keys.parent / f"{keys.name}-{nation}"
    if not folder.exists():
        export_node_keys(keys, nation, folder)
    return folder


async def raw_nats_connection(url: str, keys: Path, nation: str) -> tuple[Any, list[str]]:
    """A plain nats-py connection as ``nation`` (its TLS certificate and inbox prefix), and the
    list its permission violations are appended to (lower case), for tests of what the server
    refuses."""
    import nats

    from airpicture.net._security import nats_options

    violations: list[str] = []

    async def on_error(exc: Exception) -> None:
        violations.append(str(exc).lower())

    options = nats_options(keys, nation)
    connection = await nats.connect(
        url,
        tls=options["tls"],
        tls_hostname="127.0.0.1",
        inbox_prefix=options["inbox_prefix"],
        error_cb=on_error,
        max_reconnect_attempts=0,
    )
    return connection, violations
