"""Tests of airpicture.io.contract: round trips, streaming, and every error message kind."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import airpicture.io
import airpicture.io.contract as contract
from airpicture.errors import ConfigError, DataError
from airpicture.io import (
    TABLE_COLUMNS,
    ScenarioFiles,
    find_scenario_files,
    iter_detections,
    open_table_writer,
    read_detections,
    read_sensors,
    read_tracks,
    read_truth,
    write_detections,
    write_sensors,
    write_tracks,
    write_truth,
)
from airpicture.io.contract._arrow import _rad_to_deg
from airpicture.tables import (
    COV_POS_COLUMNS,
    Detections,
    Sensor,
    SensorTable,
    TrackRows,
    Truth,
    cov_pos_from_matrix,
)

FORMATS = ("csv", "parquet")

SENSOR_HEADER = TABLE_COLUMNS["sensors"]
DETECTION_HEADER = TABLE_COLUMNS["detections"]
TRUTH_HEADER = TABLE_COLUMNS["truth"]
TRACK_HEADER = TABLE_COLUMNS["tracks"]

SENSOR_ROWS = {
    # a radar with Doppler, a radar without, an IR sensor
    "R1": "R1,JPN,radar,35.6,139.7,40,50,0.1,0.1,1.5,400000,10,0.9,2",
    "R2": "R2,USA,radar,21.3,-157.9,10,80,0.2,0.3,,350000,12,,",
    "I1": "I1,AUS,ir,-33.9,151.2,20,,0.02,0.02,,100000,1,,0.5",
}
GOOD_DETECTION = {
    "t_s": "1700000000.5",
    "sensor_id": "R1",
    "range_m": "120000",
    "azimuth_deg": "45.5",
    "elevation_deg": "3.25",
    "range_rate_mps": "-20",
    "sensor_lat_deg": "35.6",
    "sensor_lon_deg": "139.7",
    "sensor_alt_m": "40",
}
GOOD_SENSOR = dict(zip(SENSOR_HEADER, SENSOR_ROWS["R1"].split(","), strict=True))
GOOD_TRUTH = dict(zip(TRUTH_HEADER, "10,T1,aircraft,1,2,3,4,5,6".split(","), strict=True))
GOOD_TRACK = dict(
    zip(
        TRACK_HEADER,
        "10,K1,1,2,3,4,5,6,9,1,0,9,0,9,aircraft,confirmed,JPN;USA".split(","),
        strict=True,
    )
)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def csv_text(header: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = [",".join(header)] + [",".join(row[c] for c in header) for row in rows]
    return "\n".join(lines) + "\n"


def sensors_csv(tmp_path: Path, rows: list[str] | None = None) -> Path:
    rows = list(SENSOR_ROWS.values()) if rows is None else rows
    return write_text(
        tmp_path / "sensors.csv", ",".join(SENSOR_HEADER) + "\n" + "\n".join(rows) + "\n"
    )


@pytest.fixture
def sensors(tmp_path: Path) -> SensorTable:
    return read_sensors(sensors_csv(tmp_path))


def assert_tables_equal(a: object, b: object) -> None:
    """Field by field, bit for bit (NaN equal to NaN), same dtype kinds; absent (None) alike."""
    assert type(a) is type(b)
    for field in dataclasses.fields(a):  # type: ignore[arg-type]
        x, y = getattr(a, field.name), getattr(b, field.name)
        if x is None or y is None:
            assert x is None and y is None, field.name
            continue
        assert x.shape == y.shape, field.name
        assert x.dtype.kind == y.dtype.kind, field.name
        if x.dtype.kind == "f":
            np.testing.assert_array_equal(x.view(np.int64), y.view(np.int64), err_msg=field.name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=field.name)


def assert_sensors_equal(a: SensorTable, b: SensorTable) -> None:
    assert a.ids == b.ids
    for s, t in zip(a, b, strict=True):
        for field in dataclasses.fields(Sensor):
            x, y = getattr(s, field.name), getattr(t, field.name)
            if isinstance(x, float):
                assert np.float64(x).view(np.int64) == np.float64(y).view(np.int64), field.name
            else:
                assert x == y, field.name


def random_detections(rng: np.random.Generator, n: int, sensors: SensorTable) -> Detections:
    index = rng.integers(0, len(sensors), n).astype(np.int32)
    is_radar = np.array([s.has_range for s in sensors])[index]
    has_rate = np.array([s.has_range_rate for s in sensors])[index]
    return Detections(
        t_s=1.7e9 + np.sort(rng.uniform(0, 3600, n)),
        sensor_index=index,
        range_m=np.where(is_radar, rng.uniform(0, 4e5, n), np.nan),
        azimuth_rad=np.deg2rad(rng.uniform(0, 360, n)),
        elevation_rad=np.deg2rad(rng.uniform(-90, 90, n)),
        range_rate_mps=np.where(has_rate, rng.normal(0, 300, n), np.nan),
        sensor_lat_rad=np.deg2rad(rng.uniform(-90, 90, n)),
        sensor_lon_rad=np.deg2rad(rng.uniform(-180, 180, n)),
        sensor_alt_m=rng.normal(0, 1000, n),
        row=np.arange(n, dtype=np.int64),
    )


def random_truth(rng: np.random.Generator, n: int) -> Truth:
    return Truth(
        t_s=rng.uniform(0, 1e9, n),
        object_id=np.array([f"T{i % 7}" for i in range(n)]),
        kind=rng.choice(np.array(["aircraft", "ballistic", "uav"]), n),
        x=rng.normal(0, 6e6, (n, 6)),
    )


def random_tracks(rng: np.random.Generator, n: int) -> TrackRows:
    a = rng.normal(0, 10, (n, 3, 3))
    cov = cov_pos_from_matrix(a @ np.swapaxes(a, 1, 2))  # a filter's: positive semi-definite
    return TrackRows(
        t_s=rng.uniform(0, 1e9, n),
        track_id=np.array([f"K{i % 11}" for i in range(n)]),
        x=rng.normal(0, 6e6, (n, 6)),
        cov_pos=cov,
        kind=rng.choice(np.array(["aircraft", "unknown", 'cruise, "low"', "a\x00b"]), n),
        status=rng.choice(np.array(["tentative", "confirmed", "coasting", "deleted"]), n),
        nations=rng.choice(np.array(["JPN", "JPN;USA", ""]), n),
    )


def raises_data_error(exc_info: pytest.ExceptionInfo[DataError], message: str) -> DataError:
    assert str(exc_info.value) == message
    return exc_info.value


# ------------------------------------------------------------------------------------------
# public surface
# ------------------------------------------------------------------------------------------


def test_airpicture_io_is_the_contract_package() -> None:
    # the names themselves are pinned once, in tests/public_api.txt
    assert airpicture.io.__all__ == sorted(contract.__all__, key=lambda n: (not n.isupper(), n))
    for name in contract.__all__:
        assert getattr(airpicture.io, name) is getattr(contract, name)


def test_table_columns_follow_the_contract() -> None:
    assert TABLE_COLUMNS["tracks"][8:14] == COV_POS_COLUMNS
    assert set(TABLE_COLUMNS) == {"sensors", "detections", "truth", "tracks", "impacts", "alerts"}


# ------------------------------------------------------------------------------------------
# round trips
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_sensors_round_trip(tmp_path: Path, sensors: SensorTable, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    write_sensors(path, sensors)
    again = read_sensors(path)
    assert_sensors_equal(again, sensors)
    r1 = again[again.ids.index("R1")]
    assert r1.lat_rad == np.deg2rad(35.6)
    assert r1.sigma_azimuth_rad == np.deg2rad(0.1)
    assert r1.has_range_rate and np.isnan(again[again.ids.index("R2")].sigma_range_rate_mps)


@pytest.mark.parametrize("fmt", FORMATS)
def test_detections_round_trip(tmp_path: Path, sensors: SensorTable, fmt: str) -> None:
    det = random_detections(np.random.default_rng(1), 2_000, sensors)
    path = tmp_path / f"detections.{fmt}"
    write_detections(path, det, sensors)
    assert_tables_equal(read_detections(path, sensors), det)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truth_round_trip(tmp_path: Path, fmt: str) -> None:
    truth = random_truth(np.random.default_rng(2), 500)
    path = tmp_path / f"truth.{fmt}"
    write_truth(path, truth)
    assert_tables_equal(read_truth(path), truth)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tracks_round_trip(tmp_path: Path, fmt: str) -> None:
    rows = random_tracks(np.random.default_rng(3), 500)
    path = tmp_path / f"tracks.{fmt}"
    write_tracks(path, rows)
    assert_tables_equal(read_tracks(path), rows)


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_tables_round_trip(tmp_path: Path, sensors: SensorTable, fmt: str) -> None:
    write_detections(tmp_path / f"d.{fmt}", Detections.empty(), sensors)
    assert_tables_equal(read_detections(tmp_path / f"d.{fmt}", sensors), Detections.empty())
    write_tracks(tmp_path / f"k.{fmt}", TrackRows.empty())
    assert len(read_tracks(tmp_path / f"k.{fmt}")) == 0
    write_truth(tmp_path / f"t.{fmt}", random_truth(np.random.default_rng(0), 0))
    assert read_truth(tmp_path / f"t.{fmt}").x.shape == (0, 6)
    write_sensors(tmp_path / f"s.{fmt}", SensorTable(()))
    assert len(read_sensors(tmp_path / f"s.{fmt}")) == 0


def test_human_degrees_are_written_back_unchanged(tmp_path: Path, sensors: SensorTable) -> None:
    path = write_text(tmp_path / "d.csv", csv_text(DETECTION_HEADER, [GOOD_DETECTION]))
    write_detections(tmp_path / "again.csv", read_detections(path, sensors), sensors)
    written = (tmp_path / "again.csv").read_text().splitlines()[1]
    assert written.replace('"', "") == ",".join(GOOD_DETECTION.values())
    write_sensors(tmp_path / "s.csv", sensors)
    assert (
        '"R1","JPN","radar",35.6,139.7,40,50,0.1,0.1,1.5,400000,10,0.9,2'
        in (tmp_path / "s.csv").read_text()
    )


def test_extra_columns_any_order_bom_and_header_only(tmp_path: Path, sensors: SensorTable) -> None:
    header = ("note",) + tuple(reversed(DETECTION_HEADER))
    row = {"note": "ignored, really", **GOOD_DETECTION}
    text = "\ufeff" + csv_text(header, [row]).replace("ignored, really", '"ignored, really"')
    det = read_detections(write_text(tmp_path / "d.csv", text), sensors)
    assert len(det) == 1 and det.azimuth_rad[0] == np.deg2rad(45.5)
    for text in (",".join(DETECTION_HEADER), ",".join(DETECTION_HEADER) + "\r\n\n"):
        empty = read_detections(write_text(tmp_path / "h.csv", text), sensors)
        assert_tables_equal(empty, Detections.empty())


def test_parquet_with_other_numeric_and_string_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "t_s": pa.array([1, 2], pa.int64()),
            "object_id": pa.array([7, 8], pa.int32()),
            "kind": pa.array(["uav", "uav"]).dictionary_encode(),
            "x_m": pa.array([1.5, 2.5], pa.float32()),
            "y_m": pa.array(["3.5", " 4 "], pa.large_string()),
            **{c: pa.array([0.0, 0.0]) for c in ("z_m", "vx_mps", "vy_mps", "vz_mps")},
        }
    )
    pq.write_table(table, tmp_path / "truth.parquet")
    truth = read_truth(tmp_path / "truth.parquet")
    assert truth.object_id.tolist() == ["7", "8"]
    np.testing.assert_array_equal(truth.x[:, :2], [[1.5, 3.5], [2.5, 4.0]])


# ------------------------------------------------------------------------------------------
# property tests
# ------------------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)
times = st.floats(-1e11, 1e11)  # every time of the contract lies within 1e11 s of the epoch
identifier = st.text(
    # no line breaks (the contract forbids them); no NUL, which NumPy strings drop at the end
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    min_size=1,
    max_size=12,
)


@st.composite
def truth_tables(draw: st.DrawFn) -> Truth:
    n = draw(st.integers(0, 12))
    return Truth(
        t_s=np.array(draw(st.lists(times, min_size=n, max_size=n)), dtype=np.float64),
        object_id=np.array(draw(st.lists(identifier, min_size=n, max_size=n)), dtype=str),
        kind=np.array(draw(st.lists(identifier, min_size=n, max_size=n)), dtype=str),
        x=np.array(draw(st.lists(finite, min_size=6 * n, max_size=6 * n)), np.float64).reshape(
            n, 6
        ),
    )


@st.composite
def detection_tables(draw: st.DrawFn) -> tuple[Detections, SensorTable]:
    sensors = SensorTable(
        (
            Sensor("A", "JPN", "radar", 0.1, 0.2, 3.0, 5.0, 0.01, 0.01, 0.5, 1e5, 1.0, 0.9, 0.0),
            Sensor("B", "USA", "ir", 0.1, 0.2, 3.0, np.nan, 0.01, 0.01, np.nan, 1e5, 1.0, 1, 1),
        )
    )
    n = draw(st.integers(0, 12))

    def floats(low: float, high: float, **kw: bool) -> np.ndarray:
        values = st.floats(low, high, allow_nan=False, **kw)  # type: ignore[arg-type]
        return np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)

    index = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), np.int32)
    radar = index == 0
    return (
        Detections(
            t_s=np.array(draw(st.lists(times, min_size=n, max_size=n)), np.float64),
            sensor_index=index,
            range_m=np.where(radar, floats(0, 1e300), np.nan),
            azimuth_rad=np.deg2rad(floats(0, 360, exclude_max=True)),
            elevation_rad=np.deg2rad(floats(-90, 90)),
            range_rate_mps=np.where(radar, floats(-1e300, 1e300), np.nan),
            sensor_lat_rad=np.deg2rad(floats(-90, 90)),
            sensor_lon_rad=np.deg2rad(floats(-180, 180)),
            sensor_alt_m=np.array(draw(st.lists(finite, min_size=n, max_size=n)), np.float64),
            row=np.arange(n, dtype=np.int64),
        ),
        sensors,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(truth=truth_tables(), fmt=st.sampled_from(FORMATS))
def test_truth_round_trip_property(truth: Truth, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"truth.{fmt}"
        write_truth(path, truth)
        assert_tables_equal(read_truth(path), truth)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=detection_tables(), fmt=st.sampled_from(FORMATS))
def test_detections_round_trip_property(case: tuple[Detections, SensorTable], fmt: str) -> None:
    det, sensors = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"detections.{fmt}"
        write_detections(path, det, sensors)
        assert_tables_equal(read_detections(path, sensors), det)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 2 * np.pi, exclude_max=True), min_size=1, max_size=50))
def test_any_radians_come_back_within_one_ulp(values: list[float]) -> None:
    rad = np.array(values)
    deg = _rad_to_deg(rad)
    np.testing.assert_array_max_ulp(np.deg2rad(deg), rad, maxulp=1)
    assert np.all(deg < 360.0)


def test_radians_from_degrees_come_back_exactly() -> None:
    deg = np.random.default_rng(5).uniform(-360, 360, 200_000)
    rad = np.deg2rad(deg)
    np.testing.assert_array_equal(np.deg2rad(_rad_to_deg(rad)), rad)


# ------------------------------------------------------------------------------------------
# streaming
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_streaming_matches_read_all(tmp_path: Path, sensors: SensorTable, fmt: str) -> None:
    n, chunk_rows = 300_000, 7_001
    det = random_detections(np.random.default_rng(4), n, sensors)
    path = tmp_path / f"detections.{fmt}"
    with open_table_writer(path, "detections", sensors=sensors) as writer:
        for start in range(0, n, 50_000):
            writer.write(det.take(slice(start, start + 50_000)))
        assert writer.rows_written == n
    chunks = list(iter_detections(path, sensors, chunk_rows=chunk_rows))
    sizes = [len(c) for c in chunks]
    assert sizes[:-1] == [chunk_rows] * (len(chunks) - 1) and 0 < sizes[-1] <= chunk_rows
    assert_tables_equal(Detections.concat(chunks), det)
    assert_tables_equal(read_detections(path, sensors), det)


# ------------------------------------------------------------------------------------------
# error messages: file, row, column, expected, got
# ------------------------------------------------------------------------------------------


def detections_file(tmp_path: Path, bad: dict[str, str], *, good_rows: int = 2) -> Path:
    rows = [GOOD_DETECTION] * good_rows + [{**GOOD_DETECTION, **bad}]
    return write_text(tmp_path / "detections.csv", csv_text(DETECTION_HEADER, rows))


def test_missing_column(tmp_path: Path, sensors: SensorTable) -> None:
    header = tuple(c for c in DETECTION_HEADER if c != "elevation_deg")
    path = write_text(tmp_path / "detections.csv", csv_text(header, [GOOD_DETECTION]))
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    error = raises_data_error(
        info,
        f"{path}, column elevation_deg: expected a column named elevation_deg (the detections "
        "table has columns t_s, sensor_id, range_m, azimuth_deg, elevation_deg, range_rate_mps, "
        "sensor_lat_deg, sensor_lon_deg, sensor_alt_m), got a header without it: 't_s', "
        "'sensor_id', 'range_m', 'azimuth_deg', 'range_rate_mps', 'sensor_lat_deg', "
        "'sensor_lon_deg', 'sensor_alt_m'",
    )
    assert error.row is None and error.column == "elevation_deg" and error.source == str(path)


def test_repeated_column(tmp_path: Path) -> None:
    path = write_text(tmp_path / "truth.csv", ",".join(TRUTH_HEADER + ("kind",)) + "\n")
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(
        info, f"{path}, column kind: expected the column once, got 2 columns so named"
    )


def test_not_a_number(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"azimuth_deg": "abc"}, good_rows=16)
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    error = raises_data_error(
        info,
        f"{path} row 17, column azimuth_deg: expected a finite float in [0, 360), got 'abc'",
    )
    assert (error.row, error.column, error.expected, error.got) == (
        17,
        "azimuth_deg",
        "a finite float in [0, 360)",
        "'abc'",
    )


def test_not_a_number_deep_in_a_large_file(tmp_path: Path, sensors: SensorTable) -> None:
    line = ",".join(GOOD_DETECTION.values())
    bad = line.replace("-20", "fast")
    text = ",".join(DETECTION_HEADER) + "\n" + (line + "\n") * 60_000 + bad + "\n"
    path = write_text(tmp_path / "d.csv", text + (line + "\n") * 1000)
    with pytest.raises(DataError) as info:
        for _ in iter_detections(path, sensors, chunk_rows=10_000):
            pass
    raises_data_error(
        info,
        f"{path} row 60001, column range_rate_mps: expected a finite float or empty, got 'fast'",
    )


def test_an_earlier_bad_value_is_reported_before_a_later_unparsable_cell(
    tmp_path: Path, sensors: SensorTable
) -> None:
    rows = [
        GOOD_DETECTION,
        {**GOOD_DETECTION, "elevation_deg": "95"},
        GOOD_DETECTION,
        {**GOOD_DETECTION, "t_s": "soon"},
    ]
    path = write_text(tmp_path / "d.csv", csv_text(DETECTION_HEADER, rows))
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info, f"{path} row 2, column elevation_deg: expected a finite float in [-90, 90], got 95.0"
    )


def test_not_a_number_in_a_parquet_string_column(tmp_path: Path) -> None:
    columns = {c: pa.array([1.0, 2.0, 3.0]) for c in TRUTH_HEADER}
    columns["object_id"] = columns["kind"] = pa.array(["a", "b", "c"])
    columns["vy_mps"] = pa.array(["1", "2", "1,5"])
    pq.write_table(pa.table(columns), tmp_path / "truth.parquet")
    with pytest.raises(DataError) as info:
        read_truth(tmp_path / "truth.parquet")
    raises_data_error(
        info,
        f"{tmp_path / 'truth.parquet'} row 3, column vy_mps: expected a finite float, got '1,5'",
    )


@pytest.mark.parametrize("text", ["NA", "N/A", "null"])
def test_null_spellings_are_not_empty_cells(
    tmp_path: Path, sensors: SensorTable, text: str
) -> None:
    path = detections_file(tmp_path, {"range_rate_mps": text})
    with pytest.raises(DataError, match=f"row 3, column range_rate_mps: .* got '{text}'"):
        read_detections(path, sensors)


@pytest.mark.parametrize(("text", "got"), [("inf", "inf"), ("-inf", "-inf"), ("nan", "nan")])
def test_non_finite_where_required(
    tmp_path: Path, sensors: SensorTable, text: str, got: str
) -> None:
    path = detections_file(tmp_path, {"t_s": text})
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info,
        f"{path} row 3, column t_s: expected a finite float in [-1e+11, 1e+11], "
        f"got {got}",
    )


def test_a_time_beyond_any_clock_is_refused(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"t_s": "1e300"})
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info,
        f"{path} row 3, column t_s: expected a finite float in [-1e+11, 1e+11], "
        "got 1e+300",
    )


def test_infinite_in_an_optional_column(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"range_rate_mps": "inf"})
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info, f"{path} row 3, column range_rate_mps: expected a finite float or empty, got inf"
    )


def test_empty_where_required(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"sensor_alt_m": ""})
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info, f"{path} row 3, column sensor_alt_m: expected a finite float, got empty"
    )


def test_empty_text_where_required(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", csv_text(TRUTH_HEADER, [{**GOOD_TRUTH, "object_id": ""}]))
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(
        info,
        f"{path} row 1, column object_id: expected a non-empty string without line breaks, "
        "got empty",
    )


def test_unknown_sensor_id(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"sensor_id": "R9"})
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info,
        f"{path} row 3, column sensor_id: expected a sensor_id of the sensors table "
        "('I1', 'R1', 'R2'), got 'R9'",
    )


def test_duplicate_sensor_id(tmp_path: Path) -> None:
    rows = [SENSOR_ROWS["R1"], SENSOR_ROWS["I1"], SENSOR_ROWS["R1"].replace("JPN", "USA")]
    path = sensors_csv(tmp_path, rows)
    with pytest.raises(DataError) as info:
        read_sensors(path)
    raises_data_error(
        info,
        f"{path} row 3, column sensor_id: expected a sensor_id that no other row uses, "
        "got 'R1', already on row 1",
    )


def test_unknown_sensor_kind(tmp_path: Path) -> None:
    path = sensors_csv(tmp_path, [SENSOR_ROWS["R1"], SENSOR_ROWS["R2"].replace("radar", "sonar")])
    with pytest.raises(DataError) as info:
        read_sensors(path)
    raises_data_error(
        info, f"{path} row 2, column kind: expected one of 'radar', 'ir', got 'sonar'"
    )


def test_a_track_covariance_no_filter_makes_is_refused(tmp_path: Path) -> None:
    """Position variances 9 with a covariance of 10 between x and y: an eigenvalue of -1."""
    path = write_text(
        tmp_path / "k.csv", csv_text(TRACK_HEADER, [GOOD_TRACK, {**GOOD_TRACK, "cov_xy": "10"}])
    )
    with pytest.raises(DataError) as info:
        read_tracks(path)
    raises_data_error(
        info,
        f"{path} row 2, column cov_xy: expected a symmetric positive semi-definite covariance "
        "(cov_xx ... cov_zz), got an eigenvalue of -1",
    )


def test_unknown_track_status(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "k.csv", csv_text(TRACK_HEADER, [GOOD_TRACK, {**GOOD_TRACK, "status": "lost"}])
    )
    with pytest.raises(DataError) as info:
        read_tracks(path)
    raises_data_error(
        info,
        f"{path} row 2, column status: expected one of 'tentative', 'confirmed', 'coasting', "
        "'deleted', got 'lost'",
    )


IMPOSSIBLE = [
    # table, column, value, expected, got
    ("detections", "azimuth_deg", "360", "a finite float in [0, 360)", "360.0"),
    ("detections", "azimuth_deg", "-0.5", "a finite float in [0, 360)", "-0.5"),
    ("detections", "elevation_deg", "90.5", "a finite float in [-90, 90]", "90.5"),
    ("detections", "range_m", "-1", "a finite float >= 0 or empty", "-1.0"),
    ("detections", "sensor_lat_deg", "-91", "a finite float in [-90, 90]", "-91.0"),
    ("detections", "sensor_lon_deg", "180.5", "a finite float in [-180, 180]", "180.5"),
    ("sensors", "lat_deg", "90.01", "a finite float in [-90, 90]", "90.01"),
    ("sensors", "lon_deg", "-181", "a finite float in [-180, 180]", "-181.0"),
    ("sensors", "sigma_azimuth_deg", "-0.1", "a finite float > 0", "-0.1"),
    ("sensors", "sigma_range_m", "0", "a finite float > 0 or empty", "0.0"),
    ("sensors", "sigma_range_rate_mps", "-2", "a finite float > 0 or empty", "-2.0"),
    ("sensors", "max_range_m", "0", "a finite float > 0", "0.0"),
    ("sensors", "scan_period_s", "-10", "a finite float > 0", "-10.0"),
    ("sensors", "p_detect", "1.5", "a finite float in [0, 1] or empty", "1.5"),
    ("sensors", "clutter_per_scan", "-1", "a finite float >= 0 or empty", "-1.0"),
    ("sensors", "nation", "jp", "an ISO 3166-1 alpha-3 code in capitals (such as JPN)", "'jp'"),
    ("tracks", "cov_yy", "-4", "a finite float >= 0", "-4.0"),
    (
        "tracks",
        "nations",
        "JPN USA",
        "';'-separated ISO 3166-1 alpha-3 codes (such as JPN;USA) or empty",
        "'JPN USA'",
    ),
]


@pytest.mark.parametrize(("table", "column", "value", "expected", "got"), IMPOSSIBLE)
def test_impossible_values(
    tmp_path: Path,
    sensors: SensorTable,
    table: str,
    column: str,
    value: str,
    expected: str,
    got: str,
) -> None:
    good = {"detections": GOOD_DETECTION, "sensors": GOOD_SENSOR, "tracks": GOOD_TRACK}[table]
    rows = [good, {**good, column: value, "sensor_id": "R1" if table != "sensors" else "R7"}]
    path = write_text(tmp_path / f"{table}.csv", csv_text(TABLE_COLUMNS[table], rows))
    read = {
        "detections": lambda p: read_detections(p, sensors),
        "sensors": read_sensors,
        "tracks": read_tracks,
    }[table]
    with pytest.raises(DataError) as info:
        read(path)
    raises_data_error(info, f"{path} row 2, column {column}: expected {expected}, got {got}")


@pytest.mark.parametrize(
    ("bad", "column", "expected", "got"),
    [
        (
            {"range_m": ""},
            "range_m",
            "a finite float >= 0 (the sensor is a radar)",
            "empty for sensor 'R1'",
        ),
        (
            {"sensor_id": "I1", "range_rate_mps": ""},
            "range_m",
            "empty (the sensor is an ir sensor, which measures no range)",
            "120000.0 for sensor 'I1'",
        ),
        (
            {"sensor_id": "R2"},
            "range_rate_mps",
            "empty (the sensor reports no range rate: its sigma_range_rate_mps is empty)",
            "-20.0 for sensor 'R2'",
        ),
    ],
)
def test_measurements_the_sensor_cannot_make(
    tmp_path: Path, sensors: SensorTable, bad: dict[str, str], column: str, expected: str, got: str
) -> None:
    path = detections_file(tmp_path, bad)
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(info, f"{path} row 3, column {column}: expected {expected}, got {got}")


def test_sensor_sigmas_that_do_not_fit_the_kind(tmp_path: Path) -> None:
    path = sensors_csv(tmp_path, [SENSOR_ROWS["R2"].replace(",80,", ",,")])
    with pytest.raises(DataError) as info:
        read_sensors(path)
    raises_data_error(
        info,
        f"{path} row 1, column sigma_range_m: expected a finite float > 0 for a radar, got empty",
    )
    path = sensors_csv(tmp_path, [SENSOR_ROWS["I1"].replace(",20,,", ",20,5,")])
    with pytest.raises(DataError) as info:
        read_sensors(path)
    raises_data_error(
        info,
        f"{path} row 1, column sigma_range_m: expected empty for an ir sensor (it measures no "
        "range), got 5.0",
    )


def test_truncated_file(tmp_path: Path, sensors: SensorTable) -> None:
    good = detections_file(tmp_path, {}, good_rows=40).read_bytes()
    path = tmp_path / "cut.csv"
    path.write_bytes(good[:-30])
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info,
        f"{path} row 41: expected 9 comma-separated fields, as in the header, got 3 fields in the "
        "last line, which ends without a line break (the file looks truncated): "
        "'1700000000.5,R1,12000'",
    )


def test_row_with_too_many_fields(tmp_path: Path, sensors: SensorTable) -> None:
    path = detections_file(tmp_path, {"sensor_alt_m": "40,7"}, good_rows=4)
    with open(path, "a") as stream:
        stream.write(",".join(GOOD_DETECTION.values()) + "\n")
    with pytest.raises(DataError) as info:
        read_detections(path, sensors)
    raises_data_error(
        info,
        f"{path} row 5: expected 9 comma-separated fields, as in the header, got 10 fields: "
        "'1700000000.5,R1,120000,45.5,3.25,-20,35.6,139.7,40,7'",
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_file(tmp_path: Path, fmt: str) -> None:
    path = write_text(tmp_path / f"truth.{fmt}", "")
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(info, f"{path}: expected a header row and data rows, got an empty file")


def test_binary_file_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(b"PAR1\x15\x04\x15\xff\xfe\x00\x01\n\x00\x00")
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(
        info, f"{path} row 0: expected a UTF-8 CSV header line, got binary data (is it a CSV file?)"
    )


def test_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_bytes(",".join(TRUTH_HEADER).encode() + b"\n1,caf\xe9,uav,1,2,3,4,5,6\n")
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(info, f"{path} row 1, column object_id: expected UTF-8 text, got b'caf\\xe9'")


def test_blank_header_line(tmp_path: Path) -> None:
    path = write_text(tmp_path / "truth.csv", "\ufeff\n")
    with pytest.raises(DataError) as info:
        read_truth(path)
    raises_data_error(
        info, f"{path} row 0: expected a header row naming the columns, got an empty first line"
    )


def test_text_file_named_csv(tmp_path: Path) -> None:
    path = write_text(tmp_path / "truth.csv", "Dear reader,\nthis is a letter.\n")
    with pytest.raises(
        DataError,
        match=r"column t_s: expected a column named t_s .* got a header "
        r"without it: 'Dear reader', ''",
    ):
        read_truth(path)


def test_text_file_named_parquet(tmp_path: Path) -> None:
    path = write_text(tmp_path / "truth.parquet", ",".join(TRUTH_HEADER) + "\n")
    with pytest.raises(DataError) as info:
        read_truth(path)
    assert str(info.value).startswith(f"{path}: expected a Parquet file, got a file that is not ")
    assert info.value.row is None


def test_unknown_extension_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        read_truth(tmp_path / "truth.xlsx")
    raises_data_error(
        info,
        f"{tmp_path / 'truth.xlsx'}: expected a file name ending in .csv or .parquet, "
        "got 'truth.xlsx'",
    )
    with pytest.raises(DataError) as info:
        read_truth(tmp_path / "none.csv")
    raises_data_error(info, f"{tmp_path / 'none.csv'}: expected an existing file, got no such file")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match="expected a file, got a directory"):
        read_truth(tmp_path / "dir.csv")


def test_wrong_column_type_in_parquet(tmp_path: Path) -> None:
    columns = {c: pa.array([1.0]) for c in TRUTH_HEADER}
    columns["object_id"] = columns["kind"] = pa.array(["a"])
    columns["x_m"] = pa.array([True])
    pq.write_table(pa.table(columns), tmp_path / "truth.parquet")
    with pytest.raises(DataError) as info:
        read_truth(tmp_path / "truth.parquet")
    raises_data_error(
        info,
        f"{tmp_path / 'truth.parquet'}, column x_m: expected a column of floats, got a column of "
        "type bool",
    )


def test_bad_chunk_rows(tmp_path: Path, sensors: SensorTable) -> None:
    with pytest.raises(ConfigError, match="chunk_rows: expected an integer >= 1, got 0"):
        iter_detections(tmp_path / "d.csv", sensors, chunk_rows=0)


def test_file_and_header_are_checked_before_iterating(tmp_path: Path, sensors: SensorTable) -> None:
    with pytest.raises(DataError, match="expected an existing file, got no such file"):
        iter_detections(tmp_path / "d.csv", sensors)
    path = write_text(tmp_path / "d.csv", "t_s,sensor_id\n1,R1\n")
    with pytest.raises(DataError, match="column range_m: expected a column named range_m"):
        iter_detections(path, sensors)


# ------------------------------------------------------------------------------------------
# writers
# ------------------------------------------------------------------------------------------


def test_writer_rejects_values_the_contract_forbids(tmp_path: Path, sensors: SensorTable) -> None:
    det = random_detections(np.random.default_rng(6), 10, sensors)
    azimuth = det.azimuth_rad.copy()
    azimuth[4] = -0.25
    path = tmp_path / "detections.csv"
    with pytest.raises(DataError) as info:
        write_detections(path, dataclasses.replace(det, azimuth_rad=azimuth), sensors)
    raises_data_error(
        info,
        f"{path} (writing) row 5, column azimuth_deg: expected a finite float in [0, 360), "
        f"got {float(np.rad2deg(-0.25))!r}",
    )
    assert not path.exists() and not list(tmp_path.glob("*.partial"))


def test_writer_rejects_unknown_sensor_index(tmp_path: Path, sensors: SensorTable) -> None:
    det = random_detections(np.random.default_rng(7), 4, sensors)
    index = det.sensor_index.copy()
    index[2] = 3
    with open_table_writer(tmp_path / "d.parquet", "detections", sensors=sensors) as writer:
        writer.write(det)
        with pytest.raises(DataError) as info:
            writer.write(dataclasses.replace(det, sensor_index=index))
    raises_data_error(
        info,
        f"{tmp_path / 'd.parquet'} (writing) row 7, column sensor_id: expected a sensor_index in "
        "[0, 3) of the sensors table, got 3",
    )
    assert len(read_detections(tmp_path / "d.parquet", sensors)) == 4


def test_writer_failure_inside_with_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    with pytest.raises(RuntimeError), open_table_writer(path, "truth", buffer_rows=1) as writer:
        writer.write(random_truth(np.random.default_rng(8), 5))
        assert (tmp_path / "truth.csv.partial").exists()
        raise RuntimeError("simulator crashed")
    assert not path.exists() and not (tmp_path / "truth.csv.partial").exists()


def test_writer_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match="key table: expected one of 'sensors', 'detections', 'truth', 'tracks', 'impacts', "
        "'alerts', got 'plots'",
    ):
        open_table_writer(tmp_path / "x.csv", "plots")
    with pytest.raises(ConfigError, match="key sensors"):
        open_table_writer(tmp_path / "x.csv", "detections")
    with pytest.raises(DataError, match="expected a file name ending in .csv or .parquet"):
        open_table_writer(tmp_path / "x.txt", "truth")
    with open_table_writer(tmp_path / "x.csv", "truth") as writer:
        with pytest.raises(TypeError, match="expected a Truth chunk"):
            writer.write(TrackRows.empty())  # type: ignore[arg-type]
    assert read_truth(tmp_path / "x.csv").x.shape == (0, 6)


def test_writer_checks_sensor_ids_across_chunks(tmp_path: Path, sensors: SensorTable) -> None:
    with pytest.raises(DataError, match=r"row 4, column sensor_id: .* got 'I1', already on row 1"):
        with open_table_writer(tmp_path / "s.csv", "sensors") as writer:
            writer.write(sensors)
            writer.write(SensorTable((sensors[0],)))


# ------------------------------------------------------------------------------------------
# scenario directories
# ------------------------------------------------------------------------------------------


def test_find_scenario_files(tmp_path: Path) -> None:
    for name in ("sensors.csv", "detections.parquet", "truth.csv", "notes.txt"):
        (tmp_path / name).touch()
    files = find_scenario_files(tmp_path)
    assert files == ScenarioFiles(
        tmp_path, tmp_path / "sensors.csv", tmp_path / "detections.parquet", tmp_path / "truth.csv"
    )
    (tmp_path / "truth.parquet").touch()
    with pytest.raises(DataError) as info:
        find_scenario_files(tmp_path)
    raises_data_error(info, f"{tmp_path}: expected one of truth.csv or truth.parquet, got both")
    (tmp_path / "detections.parquet").unlink()
    with pytest.raises(DataError) as info:
        find_scenario_files(tmp_path)
    raises_data_error(
        info,
        f"{tmp_path}: expected a scenario directory with detections.csv or detections.parquet "
        "(needed: sensors and detections; optional: truth and biases), got neither; the "
        "directory holds 'notes.txt', 'sensors.csv', 'truth.csv', 'truth.parquet'",
    )
    with pytest.raises(DataError, match="expected a scenario directory, got no such directory"):
        find_scenario_files(tmp_path / "nowhere")
