"""A tracks table out to other systems: CoT (file or TAK), ASTERIX CAT062, GeoJSON, KML."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airpicture.errors import ConfigError, DataError
from airpicture.interop._asterix import encode_datablock
from airpicture.interop._categories import encode_cat062
from airpicture.interop._cot import cot_events, send_cot
from airpicture.interop._snapshot import picture_at, snapshot_geojson, snapshot_kml
from airpicture.interop._tracks import TrackIdentity, rows_to_system_tracks
from airpicture.tables import TrackRows

__all__ = ["EXPORT_FORMATS", "ExportResult", "encode_cat062_stream", "export_tracks"]

EXPORT_FORMATS = ("cot", "asterix062", "geojson", "kml")
"""Output formats of :func:`export_tracks`."""

_MAX_BLOCK = 65_535


def encode_cat062_stream(
    rows: TrackRows,
    identity: Mapping[str, TrackIdentity] | None = None,
    *,
    sac: int = 0,
    sic: int = 1,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """ASTERIX CAT062 of every row of a tracks table, one datablock (or more, each at most
    65,535 bytes) per update time, in time order. Track numbers are given to track ids in
    order of first appearance (1, 2, ...)."""
    order = np.argsort(np.asarray(rows.t_s, dtype=float), kind="stable")
    tracks = rows_to_system_tracks(rows.take(order), identity or {}, sac=sac, sic=sic, numbers={})
    out = bytearray()
    block: list[bytes] = []
    size = 3
    last_t = None
    for t_s, track in tracks:
        record = encode_cat062(track)
        if block and (t_s != last_t or size + len(record) > _MAX_BLOCK):
            out += encode_datablock(62, block)
            block, size = [], 3
        block.append(record)
        size += len(record)
        last_t = t_s
        if progress is not None:
            progress(1)
    if block:
        out += encode_datablock(62, block)
    return bytes(out)


@dataclass
class ExportResult:
    """What :func:`export_tracks` wrote: the file (None when sent to TAK only), rows out,
    CoT events sent."""

    output: Path | None
    rows: int
    sent: int = 0


def export_tracks(
    rows: TrackRows,
    fmt: str,
    *,
    output: str | Path | None = None,
    identity: Mapping[str, TrackIdentity] | None = None,
    t_s: float | None = None,
    tak: str | None = None,
    all_rows: bool = False,
    sac: int = 0,
    sic: int = 1,
    stale_s: float = 15.0,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write (or send) a tracks table in another system's format.

    Parameters
    ----------
    rows : TrackRows
        The tracks table.
    fmt : str
        ``cot`` (one event per line; to ``tak`` as well, or only), ``asterix062`` (every row),
        ``geojson`` or ``kml`` (the picture at ``t_s``).
    output : path, optional
        The file to write (needed except for ``cot`` sent to ``tak``).
    identity : mapping, optional
        Track identities (callsign, squawk, ...), from a tracks identity table.
    t_s : float, optional
        Time of the snapshot (geojson, kml, and cot unless ``all_rows``); the table's last.
    tak : str, optional
        ``udp://HOST:PORT`` or ``tcp://HOST:PORT`` of a TAK client or server (cot only).
    all_rows : bool
        cot: every row of the table, in time order, not only the picture at ``t_s``.
    sac, sic : int
        The system area and identification codes of the CAT062 records.
    stale_s : float
        CoT events' stale time after their time.

    Raises
    ------
    ConfigError
        An unknown format, or no output where one is needed.
    DataError
        An output that cannot be written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(
            "export", key="format", expected=f"one of {', '.join(EXPORT_FORMATS)}", got=repr(fmt)
        )
    if output is None and not (fmt == "cot" and tak):
        raise ConfigError("export", key="output", expected="a file to write", got="none")
    if tak and fmt != "cot":
        raise ConfigError("export", key="tak", expected="format cot", got=f"format {fmt}")
    for name, value in (("sac", sac), ("sic", sic)):
        if not 0 <= value <= 255:
            raise ConfigError("export", key=name, expected="0-255", got=repr(value))
    data: bytes
    sent = 0
    if fmt == "asterix062":
        data = encode_cat062_stream(rows, identity, sac=sac, sic=sic, progress=progress)
        n = len(rows)
    elif fmt == "cot":
        if all_rows:
            pic = rows.take(np.argsort(np.asarray(rows.t_s, dtype=float), kind="stable"))
        else:
            pic = picture_at(rows, t_s)
        events = cot_events(pic, identity, stale_s=stale_s)
        data = b"".join(e + b"\n" for e in events)
        n = len(events)
        if tak:
            sent = send_cot(tak, events)
    elif fmt == "geojson":
        data = snapshot_geojson(rows, identity, t_s=t_s).encode()
        n = len(picture_at(rows, t_s))
    else:
        data = snapshot_kml(rows, identity, t_s=t_s).encode()
        n = len(picture_at(rows, t_s))
    path = None
    if output is not None:
        path = Path(output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise DataError(
                str(path), expected="a file that can be written", got=exc.strerror or str(exc)
            ) from None
    return ExportResult(path, n, sent)
