"""The shared codes: one nation-code rule everywhere, status codes matching their names."""

from __future__ import annotations

import math

import pytest

from airpicture.codes import (
    DELETED,
    STATUS_CODES,
    STATUS_NAMES,
    TENTATIVE,
    is_nation_code,
    json_number,
)
from airpicture.errors import ConfigError
from airpicture.net import init_keys
from airpicture.node import NodeConfig


@pytest.mark.parametrize("code", ["JPN", "USA", "AUS", "KOR"])
def test_nation_codes(code):
    assert is_nation_code(code)


@pytest.mark.parametrize("code", ["ÉÄÖ", "jpn", "Jpn", "JP", "JPNN", "J1N", "", None, 123])
def test_not_nation_codes(code):
    assert not is_nation_code(code)


def test_node_files_and_keys_take_the_same_nation_codes(tmp_path):
    sensor = {
        "sensor_id": "S1",
        "nation": "ÉÄÖ",
        "kind": "radar",
        "lat_deg": 35.0,
        "lon_deg": 135.0,
        "alt_m": 0.0,
        "sigma_azimuth_deg": 0.1,
        "sigma_elevation_deg": 0.1,
        "sigma_range_m": 50.0,
        "max_range_m": 4e5,
        "scan_period_s": 5.0,
    }
    with pytest.raises(ConfigError, match="alpha-3"):
        NodeConfig.from_mapping({"nation": "ÉÄÖ", "sensors": [sensor]})
    with pytest.raises(ConfigError, match="alpha-3"):
        init_keys(tmp_path / "keys", ["JPN", "ÉÄÖ"])


def test_status_codes_index_their_names():
    assert [STATUS_CODES[n] for n in STATUS_NAMES] == list(range(len(STATUS_NAMES)))
    assert STATUS_NAMES[TENTATIVE] == "tentative" and STATUS_NAMES[DELETED] == "deleted"


def test_json_number():
    assert json_number(1.5) == 1.5
    assert json_number(math.inf) is None and json_number(-math.inf) is None
    assert json_number(math.nan) is None


def test_node_files_take_booleans_and_strings_only_as_such():
    # a TOML string "false" is not false: it must not switch security off
    sensor = {
        "sensor_id": "S1",
        "nation": "JPN",
        "kind": "radar",
        "lat_deg": 35.0,
        "lon_deg": 135.0,
        "alt_m": 0.0,
        "sigma_azimuth_deg": 0.1,
        "sigma_elevation_deg": 0.1,
        "sigma_range_m": 50.0,
        "max_range_m": 4e5,
        "scan_period_s": 5.0,
    }
    for key, value, expected in [
        ("insecure", "false", "true or false"),
        ("exit_when_done", 0, "true or false"),
        ("network", "JPN", "a list of strings"),
        ("bus", 5, "a string"),
    ]:
        with pytest.raises(ConfigError, match=f"key {key}: expected {expected}"):
            NodeConfig.from_mapping({"nation": "JPN", "sensors": [sensor], key: value})
