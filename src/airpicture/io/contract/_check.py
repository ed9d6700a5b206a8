"""Validation of record batches against a table's schema, and how problems show their values.

Every contract column of a batch is converted to its file type and checked cell by cell,
vectorised: a float must be finite (or empty, where its cells may be) and inside its interval; a
text non-empty (where required), without line breaks, and one of its choices or matching its
pattern; a boolean ``true`` or ``false``. The first problem of a batch, lowest row first and then
by the column's contract position, becomes a :class:`~airpicture.errors.DataError` naming the
file, the 1-based data row, the column, what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airpicture.errors import DataError
from airpicture.io.contract._schema import _Bool, _Float, _Schema, _Text

_GOT_MAX_CHARS: Final = 80


# --------------------------------------------------------------------------------------------
# Values in messages
# --------------------------------------------------------------------------------------------


def _clip(text: str) -> str:
    """Shorten a value for a message."""
    return text if len(text) <= _GOT_MAX_CHARS else text[: _GOT_MAX_CHARS - 3] + "..."


def _got_text(value: object) -> str:
    """A cell's text as the *got* part of a message (``'abc'``, or ``empty``)."""
    if value is None or value == "":
        return "empty"
    return _clip(repr(value))


def _got_float(value: float) -> str:
    """A float as the *got* part of a message (``400.0``, ``nan``, ``-inf``)."""
    return repr(float(value))


def _got_float_of(values: np.ndarray) -> Callable[[int], str]:
    """The *got* part of a message for row ``i`` of a float column."""
    return lambda i: _got_float(values[i])


def _list_names(names: Sequence[str], limit: int = 12) -> str:
    """Names for a message, cut after ``limit``."""
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown or "none"


def _to_bool_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as a NumPy mask, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


# --------------------------------------------------------------------------------------------
# Validation of one record batch
# --------------------------------------------------------------------------------------------


class _Problems:
    """The first problem of a batch: lowest row first, then the column's contract position."""

    def __init__(self, schema: _Schema) -> None:
        self._schema = schema
        self._key: tuple[int, int] | None = None
        self._what: tuple[str, str, str] = ("", "", "")

    def add(self, bad: np.ndarray, column: str, expected: str, got: Callable[[int], str]) -> None:
        """Record the first row of mask ``bad`` if it precedes the problem kept so far."""
        if not bad.any():
            return
        index = int(np.argmax(bad))
        key = (index, self._schema.position(column))
        if self._key is None or key < self._key:
            self._key = key
            self._what = (column, expected, got(index))

    def raise_first(self, source: str, first_row: int) -> None:
        """Raise the kept problem, numbering rows from ``first_row`` (0-based, global)."""
        if self._key is None:
            return
        column, expected, got = self._what
        raise DataError(
            source, row=first_row + self._key[0] + 1, column=column, expected=expected, got=got
        )


class _Unconvertible(Exception):
    """A cell that does not convert (internal, becomes a DataError naming its row)."""

    def __init__(self, index: int, got: str, expected: str | None = None) -> None:
        super().__init__(index, got, expected)
        self.index = index
        self.got = got
        self.expected = expected


def _type_error(source: str, column: str, expected: str, arrow_type: pa.DataType) -> DataError:
    return DataError(source, column=column, expected=expected, got=f"a column of type {arrow_type}")


def _first_failure(arr: pa.Array, target: pa.DataType) -> int:
    """Index of the first element of ``arr`` that does not cast to ``target`` (one must exist)."""
    low, high = 0, len(arr)  # the first failure lies in [low, high)
    while high - low > 1:
        mid = (low + high) // 2
        try:
            pc.cast(arr.slice(low, mid - low), target)
        except pa.ArrowInvalid:
            high = mid
        else:
            low = mid
    return low


def _is_text_type(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    )


def _utf8(arr: pa.Array) -> pa.Array:
    """A string or binary column as UTF-8 strings (``_Unconvertible`` at the first bad bytes)."""
    if pa.types.is_string(arr.type):
        return arr
    try:
        return pc.cast(arr, pa.string())
    except pa.ArrowInvalid:
        index = _first_failure(arr, pa.string())
        raise _Unconvertible(index, _clip(repr(arr[index].as_py())), "UTF-8 text") from None


def _as_float64(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as float64 (``_Unconvertible`` at the first cell that is not a number)."""
    arrow_type = arr.type
    if pa.types.is_float64(arrow_type):
        return arr
    if (
        pa.types.is_floating(arrow_type)
        or pa.types.is_integer(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return pc.cast(arr, pa.float64(), safe=False)
    if pa.types.is_null(arrow_type):
        return pa.nulls(len(arr), pa.float64())
    if pa.types.is_dictionary(arrow_type):
        return _as_float64(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        # The CSV reader's own float parser trims blanks and reads a blank cell as empty.
        utf8 = _utf8(arr)
        text = pc.utf8_trim_whitespace(utf8)
        text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, text.type), text)
        try:
            return pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            index = _first_failure(text, pa.float64())
            raise _Unconvertible(index, _got_text(utf8[index].as_py())) from None
    raise _type_error(source, column, "a column of floats", arrow_type)


def _as_text(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as an Arrow string array (``_Unconvertible`` at bytes that are not UTF-8)."""
    arrow_type = arr.type
    if pa.types.is_dictionary(arrow_type):
        return _as_text(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        return _utf8(arr)
    if pa.types.is_integer(arrow_type) or pa.types.is_null(arrow_type):
        return pc.cast(arr, pa.string())
    raise _type_error(source, column, "a column of strings", arrow_type)


def _as_bool(arr: pa.Array, source: str, column: str) -> pa.Array:
    """Column ``arr`` as Arrow booleans, or as text to be checked for ``true`` and ``false``."""
    arrow_type = arr.type
    if pa.types.is_boolean(arrow_type):
        return arr
    if pa.types.is_null(arrow_type):
        return pa.nulls(len(arr), pa.bool_())
    if pa.types.is_dictionary(arrow_type):
        return _as_bool(arr.dictionary_decode(), source, column)
    if _is_text_type(arrow_type):
        return _utf8(arr)
    raise _type_error(source, column, "a column of booleans (true or false)", arrow_type)


@dataclass(frozen=True)
class _Checked:
    """The contract columns of one batch after the per-column checks.

    Floats are float64 arrays with NaN for empty cells; texts are Arrow string arrays; bools are
    NumPy bool arrays (bad cells read False: they are problems).
    """

    floats: dict[str, np.ndarray]
    texts: dict[str, pa.Array]
    bools: dict[str, np.ndarray]
    problems: _Problems


def _check_float(
    values: np.ndarray, nulls: np.ndarray | None, col: _Float, problems: _Problems
) -> np.ndarray:
    """Add the problems of one float column; return it with empty cells as NaN."""

    def got(i: int) -> str:
        return "empty" if nulls is not None and nulls[i] else _got_float(values[i])

    finite = np.isfinite(values)
    if col.optional:
        # NaN in an optional column means "empty"; infinities are errors.
        problems.add(np.isinf(values), col.name, col.expected(), got)
    else:
        problems.add(~finite, col.name, col.expected(), got)
    problems.add(col.outside(values), col.name, col.expected(), got)
    return values


def _check_text(arr: pa.Array, col: _Text, problems: _Problems) -> pa.Array:
    """Add the problems of one text column; return it with nulls as empty strings."""
    arr = pc.fill_null(arr, "")
    if col.lookup:
        return arr

    def got(i: int) -> str:
        return _got_text(arr[i].as_py())

    empty = _to_bool_numpy(pc.equal(pc.utf8_length(arr), 0))
    if not col.allow_empty:
        problems.add(empty, col.name, col.expected(), got)
    if not (col.choices or col.pattern):
        breaks = _to_bool_numpy(pc.match_substring_regex(arr, r"[\r\n]"))
        problems.add(breaks, col.name, col.expected(), got)
    if col.choices:
        known = _to_bool_numpy(pc.is_in(arr, value_set=pa.array(col.choices, pa.string())))
        problems.add(~known & ~empty, col.name, col.expected(), got)
    if col.pattern:
        matches = _to_bool_numpy(pc.match_substring_regex(arr, f"^(?:{col.pattern})$"))
        problems.add(~matches & ~empty, col.name, col.expected(), got)
    return arr


def _check_bool(arr: pa.Array, col: _Bool, problems: _Problems) -> np.ndarray:
    """Add the problems of one boolean column (empty, or text other than true or false)."""
    if pa.types.is_boolean(arr.type):
        bad = _to_bool_numpy(arr.is_null())
        problems.add(bad, col.name, col.expected(), lambda i: "empty")
        return _to_bool_numpy(arr)
    word = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
    true = _to_bool_numpy(pc.equal(word, "true"))
    false = _to_bool_numpy(pc.equal(word, "false"))
    problems.add(~(true | false), col.name, col.expected(), lambda i: _got_text(arr[i].as_py()))
    return true


def _check_columns(
    batch: pa.RecordBatch,
    schema: _Schema,
    source: str,
    first_row: int,
    recheck: Callable[[pa.RecordBatch, int], object],
) -> _Checked:
    """Convert and check every contract column of ``batch``.

    ``recheck`` is the table's full check, run on the rows before an unparsable cell so that an
    earlier problem of another kind is reported first.
    """
    columns = schema.present(batch.schema.names)
    converted: dict[str, pa.Array] = {}
    first_bad: tuple[int, int, _Unconvertible] | None = None
    for position, col in enumerate(columns):
        arr = batch.column(col.name)
        try:
            if isinstance(col, _Float):
                converted[col.name] = _as_float64(arr, source, col.name)
            elif isinstance(col, _Bool):
                converted[col.name] = _as_bool(arr, source, col.name)
            else:
                converted[col.name] = _as_text(arr, source, col.name)
        except _Unconvertible as bad:
            if first_bad is None or (bad.index, position) < first_bad[:2]:
                first_bad = (bad.index, position, bad)
    if first_bad is not None:
        index, position, cell = first_bad
        if index > 0:
            recheck(batch.slice(0, index), first_row)
        col = columns[position]
        raise DataError(
            source,
            row=first_row + index + 1,
            column=col.name,
            expected=cell.expected or col.expected(),
            got=cell.got,
        )

    problems = _Problems(schema)
    floats: dict[str, np.ndarray] = {}
    texts: dict[str, pa.Array] = {}
    bools: dict[str, np.ndarray] = {}
    for col in columns:
        arr = converted[col.name]
        if isinstance(col, _Float):
            nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
            values = arr.to_numpy(zero_copy_only=False, writable=True)
            floats[col.name] = _check_float(values, nulls, col, problems)
        elif isinstance(col, _Bool):
            bools[col.name] = _check_bool(arr, col, problems)
        else:
            texts[col.name] = _check_text(arr, col, problems)
    return _Checked(floats, texts, bools, problems)
