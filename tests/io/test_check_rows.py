"""Rows held in memory and a node file's [[sensors]] tables are checked by the same schema as
the files: one rule per column wherever a row comes from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.errors import DataError
from airpicture.io import check_rows, read_sensors, sensors_from_rows, write_sensors
from airpicture.tables import AlertRows, ImpactRows

_SENSOR = {
    "sensor_id": "S1",
    "nation": "JPN",
    "kind": "radar",
    "lat_deg": 35.0,
    "lon_deg": 135.0,
    "alt_m": 10.0,
    "sigma_range_m": 50.0,
    "sigma_azimuth_deg": 0.1,
    "sigma_elevation_deg": 0.2,
    "max_range_m": 4e5,
    "scan_period_s": 5,
    "p_detect": 0.9,
}


def _impacts(**changes: float) -> ImpactRows:
    values = {
        "t_s": 100.0,
        "impact_t_s": 400.0,
        "impact_lat_rad": math.radians(38.0),
        "impact_lon_rad": math.radians(135.0),
        "semi_major_m": 2000.0,
        "semi_minor_m": 500.0,
        "orientation_rad": 0.5,
        "confidence": 0.95,
        "launch_t_s": math.nan,
        "launch_lat_rad": math.nan,
        "launch_lon_rad": math.nan,
        **changes,
    }
    return ImpactRows(track_id=np.array(["B1"]), **{k: np.array([v]) for k, v in values.items()})


def test_inline_sensors_equal_the_same_sensors_read_from_a_file(tmp_path):
    ir = {**_SENSOR, "sensor_id": "I1", "kind": "ir", "sigma_range_m": None}
    inline = sensors_from_rows([_SENSOR, ir], "node.toml [[sensors]]")
    write_sensors(tmp_path / "sensors.csv", inline)
    assert repr(read_sensors(tmp_path / "sensors.csv")) == repr(inline)  # NaN != NaN
    assert math.isnan(inline[inline.index_of("I1")].sigma_range_m)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"lat_deg": 91.0},
            "row 1, column lat_deg: expected a finite float in [-90, 90], got 91.0",
        ),
        ({"nation": "ÉÄÖ"}, "row 1, column nation: expected an ISO 3166-1 alpha-3 code"),
        ({"kind": "sonar"}, "row 1, column kind: expected one of 'radar', 'ir'"),
        ({"lat_deg": "35"}, "row 1, column lat_deg: expected a finite float"),
        ({"lat_deg": True}, "row 1, column lat_deg: expected a finite float"),
        ({"colour": "red"}, "row 1, column colour: expected a sensors-table column"),
        ({"sigma_range_m": None}, "row 1, column sigma_range_m"),
    ],
)
def test_inline_sensors_are_refused_as_a_file_would_be(change, message):
    with pytest.raises(DataError) as info:
        sensors_from_rows([{**_SENSOR, **change}], "node.toml [[sensors]]")
    assert str(info.value).startswith("node.toml [[sensors]] ")
    assert message in str(info.value)


def test_repeated_inline_sensor_ids_are_refused():
    with pytest.raises(DataError, match="sensor_id that no other row uses"):
        sensors_from_rows([_SENSOR, _SENSOR], "node.toml [[sensors]]")


def test_check_rows_takes_what_files_take():
    check_rows(_impacts(), "impacts")
    check_rows(_impacts(orientation_rad=math.nextafter(math.pi, 0.0)), "impacts")


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"orientation_rad": math.pi}, "orientation_deg"),
        ({"orientation_rad": -0.1}, "orientation_deg"),
        ({"confidence": 1.0}, "confidence"),
        ({"semi_minor_m": 3000.0}, "semi_minor_m"),
        ({"impact_lat_rad": 2.0}, "impact_lat_deg"),
        ({"t_s": math.inf}, "t_s"),
    ],
)
def test_check_rows_refuses_what_files_refuse(change, column):
    with pytest.raises(DataError) as info:
        check_rows(_impacts(**change), "impacts of JPN")
    assert info.value.column == column
    assert str(info.value).startswith("impacts of JPN row 1")


def test_check_rows_checks_alert_states_and_events():
    rows = AlertRows(
        t_s=np.array([1.0]),
        alert_id=np.array(["A1"]),
        area_id=np.array(["niigata"]),
        track_id=np.array(["B1"]),
        state=np.array(["active"]),
        event=np.array(["raised"]),
        reason=np.array([""]),
        impact_t_s=np.array([math.nan]),
    )
    with pytest.raises(DataError, match="column event: expected one of 'issued'"):
        check_rows(rows, "alerts")
