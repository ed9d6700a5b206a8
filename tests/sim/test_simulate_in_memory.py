"""The simulation in memory is the simulation written to files, and a node replays either alike."""

from __future__ import annotations

import numpy as np

from airpicture.io import find_scenario_files, read_detections, read_sensors
from airpicture.node import ReplaySource, SourceConfig
from airpicture.sim import load_scenario, simulate, simulate_detections


def test_in_memory_equals_the_files_read_back(tmp_path):
    scenario = load_scenario("drill")
    sensors, detections = simulate_detections(scenario)
    simulate(scenario, tmp_path)
    files = find_scenario_files(tmp_path)
    on_file = read_sensors(files.sensors)
    assert repr(on_file) == repr(sensors)  # NaN != NaN: compare the text
    back = read_detections(files.detections, on_file)
    np.testing.assert_array_equal(back.row, detections.row)
    np.testing.assert_array_equal(back.sensor_index, detections.sensor_index)
    np.testing.assert_array_equal(back.t_s, detections.t_s)
    # angles go through the files in degrees: equal to the last bits
    for name in ("azimuth_rad", "elevation_rad", "sensor_lat_rad", "sensor_lon_rad"):
        np.testing.assert_allclose(
            getattr(back, name), getattr(detections, name), rtol=0, atol=1e-14
        )
    np.testing.assert_array_equal(back.range_m, detections.range_m)

    # a node's own detections, in memory or read from the folder
    own = tuple(s.sensor_id for s in sensors if s.nation == "JPN")
    from_files = ReplaySource.from_scenario(
        SourceConfig(scenario_dir=tmp_path, speed=10.0, start_at_unix_s=5.0), on_file, own
    )
    in_memory = ReplaySource.from_detections(
        detections, sensors, own, speed=10.0, start_at_unix_s=5.0
    )
    assert len(in_memory) == len(from_files) > 0
    np.testing.assert_array_equal(in_memory.arrival_s, from_files.arrival_s)
    np.testing.assert_array_equal(in_memory.sensor_seq, from_files.sensor_seq)
    np.testing.assert_array_equal(in_memory.detections.row, from_files.detections.row)
    assert in_memory.t0_s == from_files.t0_s and in_memory.clock(6.0) == from_files.clock(6.0)
