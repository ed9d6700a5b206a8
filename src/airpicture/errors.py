"""The exception hierarchy of airpicture.

::

    AirpictureError                 base of everything airpicture raises on purpose
     ├── DataError                  bad input data: files, messages (where, what, expected, got)
     └── ConfigError                bad configuration: TOML files, flags, keyword arguments

Every message has the shape *where*: *what*: expected *this*, got *that*, e.g.
``detections.csv row 17, column azimuth_deg: expected a finite float in [0, 360), got 'abc'``.
"""

from __future__ import annotations

__all__ = ["AirpictureError", "ConfigError", "DataError"]


class AirpictureError(Exception):
    """Base class of every error airpicture raises on purpose."""


def _where(source: str, row: int | None, column: str | None) -> str:
    parts = [source]
    if row is not None:
        parts.append(f"row {row}")
    where = " ".join(parts)
    if column is not None:
        where += f", column {column}"
    return where


class DataError(AirpictureError):
    """Input data that cannot be used.

    Parameters
    ----------
    source : str
        The file name or message source the data came from.
    row : int or None
        1-based data row (the header is row 0), or None when the whole source is at fault.
    column : str or None
        The column or field at fault, or None.
    expected : str
        What was expected, in words.
    got : str
        What was found (already formatted for the message).
    """

    def __init__(
        self,
        source: str,
        *,
        row: int | None = None,
        column: str | None = None,
        expected: str,
        got: str,
    ) -> None:
        self.source = source
        self.row = row
        self.column = column
        self.expected = expected
        self.got = got
        super().__init__(f"{_where(source, row, column)}: expected {expected}, got {got}")


class ConfigError(AirpictureError):
    """Configuration that cannot be used.

    Parameters
    ----------
    source : str
        The file, flag set or object the configuration came from.
    key : str
        The dotted key at fault (``tracker.gate_probability``).
    expected : str
        What was expected, in words.
    got : str
        What was found.
    """

    def __init__(self, source: str, *, key: str, expected: str, got: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        self.got = got
        super().__init__(f"{source}, key {key}: expected {expected}, got {got}")
