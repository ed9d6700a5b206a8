"""The optional ``detectable`` column of the truth table: in memory, on disk, and its errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.errors import DataError
from airpicture.io import TABLE_COLUMNS, open_table_writer, read_truth, write_truth
from airpicture.tables import AlertRows, Detections, ImpactRows, TrackRows, Truth

FORMATS = ("csv", "parquet")
TRUTH_HEADER = ",".join(TABLE_COLUMNS["truth"])
HEADER = TRUTH_HEADER + ",detectable"
ROW = "10,T1,aircraft,1,2,3,4,5,6"


def make_truth(n: int, *, detectable: bool, seed: int = 0) -> Truth:
    rng = np.random.default_rng(seed)
    return Truth(
        t_s=np.sort(rng.uniform(0, 1e9, n)),
        object_id=np.array([f"T{i % 5}" for i in range(n)], dtype=str),
        kind=rng.choice(np.array(["aircraft", "cruise", "ballistic"]), n),
        x=rng.normal(0, 6e6, (n, 6)),
        detectable=rng.random(n) < 0.4 if detectable else None,
    )


def assert_same(a: Truth, b: Truth) -> None:
    for field in dataclasses.fields(Truth):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if x is None or y is None:
            assert x is None and y is None, field.name
        else:
            assert x.dtype.kind == y.dtype.kind, field.name
            np.testing.assert_array_equal(x, y, err_msg=field.name)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_error(path: Path) -> str:
    with pytest.raises(DataError) as info:
        read_truth(path)
    return str(info.value)


# ------------------------------------------------------------------------------------------
# Truth in memory: the optional field and the take / concat helpers
# ------------------------------------------------------------------------------------------


def test_truth_without_detectable_is_the_four_column_table():
    truth = Truth(np.zeros(2), np.array(["a", "b"]), np.array(["uav", "uav"]), np.zeros((2, 6)))
    assert truth.detectable is None
    assert len(truth) == 2
    assert truth.take(np.array([1])).detectable is None
    assert Truth.concat([truth, truth]).detectable is None


def test_take_and_concat_carry_detectable():
    truth = make_truth(6, detectable=True)
    part = truth.take(truth.detectable)
    assert part.detectable.all() and len(part) == int(truth.detectable.sum())
    assert truth.take(slice(2, 4)).detectable.tolist() == truth.detectable[2:4].tolist()
    both = Truth.concat([truth, part])
    assert both.detectable.dtype == bool
    np.testing.assert_array_equal(both.detectable, np.r_[truth.detectable, part.detectable])


def test_concat_refuses_parts_with_and_without_detectable():
    with pytest.raises(ValueError, match="carry column detectable or none, got 1 with it and 1"):
        Truth.concat([make_truth(2, detectable=True), make_truth(3, detectable=False)])


def test_concat_of_no_parts_is_an_empty_table():
    for table in (Truth, Detections, TrackRows, ImpactRows, AlertRows):
        empty, reference = table.concat([]), table.empty()
        assert len(empty) == 0
        for name, column in vars(reference).items():
            got = getattr(empty, name)
            assert (got is None) if column is None else got.dtype == column.dtype, name


# ------------------------------------------------------------------------------------------
# round trips
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("detectable", [True, False])
def test_round_trip_with_and_without_the_column(tmp_path: Path, fmt: str, detectable: bool):
    truth = make_truth(300, detectable=detectable, seed=3)
    path = tmp_path / f"truth.{fmt}"
    write_truth(path, truth)
    assert_same(read_truth(path), truth)
    names = pq.read_schema(path).names if fmt == "parquet" else path.read_text().split("\n")[0]
    assert ("detectable" in names) == detectable


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_table_keeps_its_columns(tmp_path: Path, fmt: str):
    for detectable in (True, False):
        path = tmp_path / f"t{detectable}.{fmt}"
        write_truth(path, make_truth(0, detectable=detectable))
        again = read_truth(path)
        assert len(again) == 0
        assert (again.detectable is not None) == detectable
        if detectable:
            assert again.detectable.dtype == bool


def test_csv_cells_are_true_and_false_after_the_state(tmp_path: Path):
    truth = make_truth(2, detectable=False)
    truth = dataclasses.replace(truth, detectable=np.array([True, False]))
    write_truth(tmp_path / "truth.csv", truth)
    lines = (tmp_path / "truth.csv").read_text().splitlines()
    assert lines[0] == HEADER
    assert lines[1].endswith(",true") and lines[2].endswith(",false")


def test_older_files_without_the_column_still_read(tmp_path: Path):
    path = write(tmp_path / "truth.csv", [TRUTH_HEADER, ROW])
    truth = read_truth(path)
    assert truth.detectable is None and len(truth) == 1


def test_letter_case_blanks_and_column_order_are_accepted(tmp_path: Path):
    header = "detectable,note," + TRUTH_HEADER
    rows = [f"{word},x,{ROW}" for word in ("true", "FALSE", " True ", "false")]
    truth = read_truth(write(tmp_path / "truth.csv", [header, *rows]))
    assert truth.detectable.tolist() == [True, False, True, False]


def test_parquet_boolean_and_string_columns(tmp_path: Path):
    base = {name: pa.array([1.0, 2.0]) for name in TABLE_COLUMNS["truth"]}
    base |= {"object_id": pa.array(["a", "b"]), "kind": pa.array(["uav", "uav"])}
    for column in (
        pa.array([True, False]),
        pa.array(["TRUE", "false"]),
        pa.array(["true", "false"]).dictionary_encode(),
    ):
        pq.write_table(pa.table({**base, "detectable": column}), tmp_path / "truth.parquet")
        assert read_truth(tmp_path / "truth.parquet").detectable.tolist() == [True, False]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(flags=st.lists(st.booleans(), max_size=20), fmt=st.sampled_from(FORMATS))
def test_any_flags_round_trip(tmp_path: Path, flags: list[bool], fmt: str):
    truth = dataclasses.replace(
        make_truth(len(flags), detectable=False), detectable=np.array(flags, dtype=bool)
    )
    path = tmp_path / f"prop.{fmt}"
    write_truth(path, truth)
    assert_same(read_truth(path), truth)


# ------------------------------------------------------------------------------------------
# errors: file, row, column, expected, got
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "got"),
    [("yes", "'yes'"), ("1", "'1'"), ("", "empty"), ("truth", "'truth'")],
)
def test_bad_cell_names_file_row_and_column(tmp_path: Path, cell: str, got: str):
    path = write(tmp_path / "truth.csv", [HEADER, ROW + ",true", ROW + ",false", ROW + f",{cell}"])
    assert read_error(path) == (
        f"{path} row 3, column detectable: expected true or false, got {got}"
    )


def test_first_problem_wins_by_row_then_by_contract_position(tmp_path: Path):
    bad_state = "10,T1,aircraft,x,2,3,4,5,6"
    path = write(tmp_path / "a.csv", [HEADER, ROW + ",true", ROW + ",maybe", bad_state + ",true"])
    assert read_error(path).startswith(f"{path} row 2, column detectable: expected true or false")
    path = write(tmp_path / "b.csv", [HEADER, ROW + ",true", bad_state + ",maybe"])
    assert read_error(path) == f"{path} row 2, column x_m: expected a finite float, got 'x'"
    path = write(tmp_path / "c.csv", [HEADER, "10,T1,aircraft,1,2,3,4,5,inf,maybe"])
    assert read_error(path) == f"{path} row 1, column vz_mps: expected a finite float, got inf"


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_cell_far_into_a_big_file(tmp_path: Path, fmt: str):
    truth = make_truth(150_000, detectable=True, seed=9)
    path = tmp_path / f"big.{fmt}"
    write_truth(path, truth)
    if fmt == "csv":
        lines = path.read_text().splitlines()
        lines[123_457] = lines[123_457].rsplit(",", 1)[0] + ",nope"
        path.write_text("\n".join(lines) + "\n")
    else:
        table = pq.read_table(path)
        words = np.where(truth.detectable, "true", "false").astype(object)
        words[123_456] = "nope"
        column = table.schema.get_field_index("detectable")
        pq.write_table(table.set_column(column, "detectable", pa.array(words, pa.string())), path)
    assert read_error(path) == (
        f"{path} row 123457, column detectable: expected true or false, got 'nope'"
    )


def test_parquet_null_and_wrong_type(tmp_path: Path):
    truth = make_truth(3, detectable=True)
    write_truth(tmp_path / "truth.parquet", truth)
    table = pq.read_table(tmp_path / "truth.parquet")
    column = table.schema.get_field_index("detectable")
    path = tmp_path / "nulls.parquet"
    pq.write_table(table.set_column(column, "detectable", pa.array([True, None, False])), path)
    assert read_error(path) == f"{path} row 2, column detectable: expected true or false, got empty"
    path = tmp_path / "ints.parquet"
    pq.write_table(table.set_column(column, "detectable", pa.array([1, 0, 1])), path)
    assert read_error(path) == (
        f"{path}, column detectable: expected a column of booleans (true or false), got a column "
        "of type int64"
    )


def test_repeated_column_is_an_error(tmp_path: Path):
    path = write(tmp_path / "truth.csv", [HEADER + ",detectable", ROW + ",true,true"])
    assert read_error(path) == (
        f"{path}, column detectable: expected the column once, got 2 columns so named"
    )


# ------------------------------------------------------------------------------------------
# writers
# ------------------------------------------------------------------------------------------


def test_writer_refuses_flags_that_are_not_one_bool_per_row(tmp_path: Path):
    truth = make_truth(3, detectable=False)
    for flags in (np.array([1, 0, 1]), np.array([True, False])):
        with pytest.raises(ValueError, match=r"Truth.detectable: expected a bool array of shape"):
            write_truth(tmp_path / "truth.csv", dataclasses.replace(truth, detectable=flags))
    assert not (tmp_path / "truth.csv").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_streaming_writer_keeps_the_columns_of_its_first_chunk(tmp_path: Path, fmt: str):
    with_flags, without = make_truth(4, detectable=True), make_truth(4, detectable=False)
    path = tmp_path / f"truth.{fmt}"
    with open_table_writer(path, "truth", buffer_rows=2) as writer:
        writer.write(with_flags)
        writer.write(with_flags.take(slice(0, 0)))
        writer.write(with_flags)
    assert read_truth(path).detectable.tolist() == 2 * with_flags.detectable.tolist()
    with pytest.raises(ValueError, match="expected a chunk with the columns of the first one"):
        with open_table_writer(tmp_path / f"mixed.{fmt}", "truth") as writer:
            writer.write(without)
            writer.write(with_flags)
    assert not list(tmp_path.glob("mixed*"))  # aborted: no file, no partial file


def test_required_columns_are_unchanged():
    assert TABLE_COLUMNS["truth"] == (
        "t_s", "object_id", "kind", "x_m", "y_m", "z_m", "vx_mps", "vy_mps", "vz_mps"
    )  # fmt: skip
