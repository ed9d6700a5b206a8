"""A recorded picture (a tracks table, with its tracks' identity) as a store for the map."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np

from airpicture.tables import SensorTable, TrackRows
from airpicture.web._overlays import sites_from_table
from airpicture.web._store import PictureStore

__all__ = ["store_of_tracks"]


def store_of_tracks(
    rows: TrackRows,
    *,
    identity: Mapping[str, Any] | None = None,
    sensors: SensorTable | None = None,
    title: str = "recorded picture",
) -> PictureStore:
    """A picture store holding a tracks table, played in as its frames came, for the map.

    Parameters
    ----------
    rows : TrackRows
        The picture (a tracks table, any order).
    identity : mapping of track id to identity, optional
        Each track's ``callsign``, ``squawk``, ``address``, ``emergency`` (a mapping, or an
        object with those attributes such as :class:`airpicture.interop.TrackIdentity`).
    sensors : SensorTable, optional
        The sensors, drawn with their coverage.
    title : str
        What the page's title says.

    Returns
    -------
    PictureStore
        One view, the nation that contributed most rows (``JPN`` for an empty table); its
        history spans the whole table, so the map can scrub through it.
    """
    nations = [n for value in np.asarray(rows.nations).astype(str) for n in value.split(";") if n]
    nation = max(sorted(set(nations)), key=nations.count) if nations else "JPN"
    t = np.asarray(rows.t_s, dtype=float)
    span = float(t.max() - t.min()) if len(t) else 0.0
    store = PictureStore(
        nations=[nation], history_s=span + 60.0, max_history_rows=max(len(rows), 1)
    )
    table: dict[str, Mapping[str, Any]] = {}
    for track_id, ident in (identity or {}).items():
        fields = asdict(ident) if is_dataclass(ident) and not isinstance(ident, type) else ident
        table[str(track_id)] = {k: v for k, v in dict(fields).items() if isinstance(v, str)}
    store.set_identity(nation, table)
    if sensors is not None:
        store.set_sensors(sites_from_table(sensors))
    order = np.argsort(t, kind="stable")
    if len(order):
        times = t[order]
        cuts = np.flatnonzero(np.diff(times)) + 1
        for part in np.split(order, cuts):
            store.apply(nation, rows.take(part))
    store.info = {"title": title, "scenario": title, "default_nation": nation}
    if len(rows):
        from airpicture.geo import ecef2geodetic

        x = np.asarray(rows.x, dtype=float)
        lat, lon, _ = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])
        store.info["center"] = [
            float(np.degrees(np.median(lat))),
            float(np.degrees(np.median(lon))),
        ]
        store.info["zoom"] = 7
    return store
