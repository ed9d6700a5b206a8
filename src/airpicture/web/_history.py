"""The memory of one nation's view in :class:`~airpicture.web.PictureStore`.

Every track row the view receives goes, as display floats and small integer codes, into a
bounded history (structure of arrays, append-only, trimmed from the front) from which past
pictures, trails and track histories are rebuilt; the code books turn track ids and text columns
into codes and back. :class:`_View` holds that history with the view's current tracks, impacts
and alerts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from airpicture.codes import STATUS_NAMES
from airpicture.web._display import _records_from_columns

__all__: list[str] = []


# ---------------------------------------------------------------------------------------------
# Bounded row history of one view (structure of arrays, append-only, trimmed from the front)

_HISTORY_FLOATS = ("lat", "lon", "alt", "crs", "spd", "vz", "sa", "sb", "ori", "sz")


class _Interned:
    """Strings to small integer codes and back."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._codes: dict[str, int] = {}

    def codes(self, values: Iterable[str]) -> np.ndarray:
        out = []
        for v in values:
            code = self._codes.get(v)
            if code is None:
                code = len(self.names)
                self._codes[v] = code
                self.names.append(v)
            out.append(code)
        return np.asarray(out, dtype=np.int32)

    def code(self, value: str) -> int | None:
        return self._codes.get(value)

    def names_of(self, codes: np.ndarray) -> list[str]:
        names = self.names
        return [names[i] for i in codes.tolist()]


_TEXT_COLUMNS = ("kind", "nat", "src", "lid")
"""Record keys whose strings a view interns (:attr:`_View.texts`) and its history keeps as codes."""

_HISTORY_COLUMNS: dict[str, Any] = {
    "t": np.float64,  # time of the row, s
    "track": np.int32,  # code in the view's ids
    **dict.fromkeys(_TEXT_COLUMNS, np.int32),  # codes in the view's texts
    "status": np.int8,  # index in STATUS_NAMES
    "tq": np.int8,  # track quality, -1 when not carried
}


class _History:
    """Every row of one view within the retained span, in arrival order: the columns of
    ``_HISTORY_COLUMNS`` and ``f``, the display floats of ``_HISTORY_FLOATS``."""

    def __init__(self, capacity: int = 4096) -> None:
        self._start = 0
        self._end = 0
        self._cols = {k: np.empty(capacity, dtype=d) for k, d in _HISTORY_COLUMNS.items()}
        self._cols["f"] = np.empty((capacity, len(_HISTORY_FLOATS)), dtype=np.float32)

    def __len__(self) -> int:
        return self._end - self._start

    def _make_room(self, n: int) -> None:
        capacity = self._cols["t"].shape[0]
        if self._end + n <= capacity:
            return
        live = self._end - self._start
        while live + n > capacity // 2:
            capacity *= 2
        for key, a in self._cols.items():
            b = np.empty((capacity, *a.shape[1:]), dtype=a.dtype)
            b[:live] = a[self._start : self._end]
            self._cols[key] = b
        self._start, self._end = 0, live

    def append(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append rows: an array per column (every key of ``_HISTORY_COLUMNS`` and ``f``)."""
        n = len(columns["t"])
        self._make_room(n)
        s = slice(self._end, self._end + n)
        for key, a in self._cols.items():
            a[s] = columns[key]
        self._end += n

    def trim(self, *, before_t_s: float, max_rows: int) -> None:
        """Drop rows older than ``before_t_s`` and the oldest beyond ``max_rows``."""
        t = self._cols["t"][self._start : self._end]
        drop = (
            int(np.searchsorted(t, before_t_s, side="left")) if len(t) and t[0] < before_t_s else 0
        )
        # Rows are in arrival order, nearly sorted by time; searchsorted on the nearly-sorted
        # prefix is a good-enough cut for retention.
        drop = max(drop, len(t) - max_rows)
        if drop > 0:
            self._start += drop

    def view(self) -> dict[str, np.ndarray]:
        s = slice(self._start, self._end)
        return {k: a[s] for k, a in self._cols.items()}

    @property
    def t_min(self) -> float | None:
        return float(self._cols["t"][self._start : self._end].min()) if len(self) else None


# ---------------------------------------------------------------------------------------------
# One nation's view


class _View:
    def __init__(self, nation: str) -> None:
        self.nation = nation
        self.current: dict[str, dict[str, Any]] = {}
        self.history = _History()
        self.ids = _Interned()
        self.texts = {key: _Interned() for key in _TEXT_COLUMNS}
        self.t_s: float | None = None
        self.rows_applied = 0
        self.impacts: dict[str, dict[str, Any]] = {}
        self.impact_events: list[tuple[float, str, dict[str, Any] | None]] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self.alert_events: list[tuple[float, dict[str, Any]]] = []
        self.rejected: Counter[str] = Counter()


def _history_records(
    view: _View, h: Mapping[str, np.ndarray], rows: np.ndarray
) -> list[dict[str, Any]]:
    """Display records of rows of a view's history (``h``, :meth:`_History.view`)."""
    f = h["f"][rows].astype(np.float64)
    return _records_from_columns(
        view.ids.names_of(h["track"][rows]),
        h["t"][rows],
        {k: f[:, j] for j, k in enumerate(_HISTORY_FLOATS)},
        {
            "st": [STATUS_NAMES[i] for i in h["status"][rows].tolist()],
            **{k: view.texts[k].names_of(h[k][rows]) for k in _TEXT_COLUMNS},
        },
        h["tq"][rows],
    )
