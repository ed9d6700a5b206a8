"""The impacts and alerts tables: round trips in CSV and Parquet, and checked values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from airpicture.errors import DataError
from airpicture.io import TABLE_COLUMNS, open_table_writer, read_alerts, read_impacts
from airpicture.tables import AlertRows, ImpactRows


def impacts(n: int = 5, *, launch_uncertainty: bool = True) -> ImpactRows:
    rng = np.random.default_rng(0)
    a = rng.uniform(1_000, 20_000, n)
    uncertainty = {
        "launch_sd_t_s": np.r_[rng.uniform(5, 30, n - 1), np.nan],
        "launch_semi_major_m": np.r_[a[:-1] * 3.0, np.nan],
        "launch_semi_minor_m": np.r_[a[:-1], np.nan],
        "launch_orientation_rad": np.r_[rng.uniform(0, np.pi, n - 1), np.nan],
    }
    return ImpactRows(
        t_s=1.7e9 + np.arange(n, dtype=float),
        track_id=np.array([f"T{i:06d}" for i in range(n)]),
        impact_t_s=1.7e9 + 300.0 + rng.uniform(0, 10, n),
        impact_lat_rad=np.radians(rng.uniform(35, 42, n)),
        impact_lon_rad=np.radians(rng.uniform(130, 140, n)),
        semi_major_m=a,
        semi_minor_m=a * rng.uniform(0.1, 1.0, n),
        orientation_rad=np.r_[rng.uniform(0, np.pi, n - 1), np.nextafter(np.pi, 0.0)],
        confidence=np.full(n, 0.95),
        launch_t_s=np.r_[1.7e9 - 400.0 + np.zeros(n - 1), np.nan],
        launch_lat_rad=np.r_[np.radians(np.full(n - 1, 39.6)), np.nan],
        launch_lon_rad=np.r_[np.radians(np.full(n - 1, 127.45)), np.nan],
        **(uncertainty if launch_uncertainty else {}),
    )


def alerts() -> AlertRows:
    return AlertRows(
        t_s=np.array([100.0, 110.0, 150.0]),
        alert_id=np.array(["T1:a:1"] * 3),
        area_id=np.array(["a"] * 3),
        track_id=np.array(["T1"] * 3),
        state=np.array(["active", "active", "cancelled"]),
        event=np.array(["issued", "updated", "cancelled"]),
        reason=np.array(["", "", "down"]),
        impact_t_s=np.array([140.0, 141.0, np.nan]),
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("launch_uncertainty", [True, False])
def test_impacts_round_trip(tmp_path: Path, fmt: str, launch_uncertainty: bool) -> None:
    """With the launch uncertainty, and without it: a file written before it existed reads
    back without it (None)."""
    rows = impacts(launch_uncertainty=launch_uncertainty)
    path = tmp_path / f"impacts.{fmt}"
    with open_table_writer(path, "impacts") as writer:
        writer.write(rows)
    again = read_impacts(path)
    for name in ImpactRows.__dataclass_fields__:
        a, b = getattr(again, name), getattr(rows, name)
        if b is None:
            assert a is None, name
        elif a.dtype.kind in "fc":
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-15, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert TABLE_COLUMNS["impacts"][:5] == (
        "t_s",
        "track_id",
        "impact_t_s",
        "impact_lat_deg",
        "impact_lon_deg",
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_alerts_round_trip(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"alerts.{fmt}"
    with open_table_writer(path, "alerts") as writer:
        writer.write(alerts())
    again = read_alerts(path)
    for name in AlertRows.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(again, name), getattr(alerts(), name), err_msg=name)
    assert TABLE_COLUMNS["alerts"] == (
        "t_s",
        "alert_id",
        "area_id",
        "track_id",
        "state",
        "event",
        "reason",
        "impact_t_s",
    )


def test_bad_cells_say_where_what_expected_got(tmp_path: Path) -> None:
    path = tmp_path / "impacts.csv"
    with open_table_writer(path, "impacts") as writer:
        writer.write(impacts(2))
    text = path.read_text().splitlines()
    cells = text[2].split(",")
    cells[6] = "1e9"  # semi_minor_m longer than semi_major_m
    path.write_text("\n".join([text[0], text[1], ",".join(cells)]) + "\n")
    with pytest.raises(
        DataError,
        match="impacts.csv row 2, column semi_minor_m: "
        "expected at most semi_major_m, got 1000000000.0",
    ):
        read_impacts(path)
    bad = alerts()
    bad_state = AlertRows(
        **{
            **{f: getattr(bad, f) for f in AlertRows.__dataclass_fields__},
            "state": np.array(["active", "on", "cancelled"]),
        }
    )
    with (
        pytest.raises(
            DataError, match="column state: expected one of 'active', 'cancelled', got 'on'"
        ),
        open_table_writer(tmp_path / "a.csv", "alerts") as writer,
    ):
        writer.write(bad_state)
    assert not (tmp_path / "a.csv").exists()
