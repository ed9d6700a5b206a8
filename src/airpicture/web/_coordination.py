"""The coordination actions each nation's view holds (:class:`CoordinationBoard`): what the
nodes applied to their views (``air.coord.<NATION>``), fanned out to that view's browsers."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from airpicture.errors import DataError

__all__ = ["CoordinationBoard"]

_MAX_ACTIONS = 100_000


class CoordinationBoard:
    """Per nation's view, the coordination actions applied to it, in the order applied.

    Records are :meth:`airpicture.net.CoordinationAction.record` dicts (``action_id``,
    ``origin``, ``operator``, ``t_s``, ``action``, ``track_id`` and the action's own field).
    At most 100,000 are kept per view (the oldest go first).

    Parameters
    ----------
    nations : iterable of str
        The views.
    """

    def __init__(self, nations: Iterable[str]) -> None:
        self.nations = tuple(nations)
        self._lock = threading.Lock()
        self._views: dict[str, deque[dict[str, Any]]] = {
            n: deque(maxlen=_MAX_ACTIONS) for n in self.nations
        }
        self._listeners: list[Callable[[dict[str, Any]], None]] = []

    def apply(self, nation: str, record: dict[str, Any]) -> None:
        """Add an action applied to ``nation``'s view; listeners get
        ``{"type": "coord", "nation", "actions": [record]}``.

        Raises
        ------
        DataError
            A nation that is not a view.
        """
        if nation not in self._views:
            raise DataError(
                "coordination action",
                column="nation",
                expected="one of " + ", ".join(self.nations),
                got=repr(nation),
            )
        with self._lock:
            self._views[nation].append(record)
            listeners = list(self._listeners)
        message = {"type": "coord", "nation": nation, "actions": [record]}
        for listener in listeners:
            listener(message)

    def actions(self, nation: str, track_id: str | None = None) -> list[dict[str, Any]]:
        """The actions applied to a view (of one track only when ``track_id`` is given)."""
        with self._lock:
            records = list(self._views[nation])
        if track_id is None:
            return records
        return [r for r in records if r["track_id"] == track_id]

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``listener`` with every new action's message; returns the unsubscriber."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe
