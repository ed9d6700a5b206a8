"""The payloads of the wire schema (:mod:`airpicture.net._messages`): one msgspec struct per
message kind, packed from and unpacked into the tables of :mod:`airpicture.tables` as
little-endian column buffers, and :class:`MessageError`, what a message that cannot be used
raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any

import msgspec
import numpy as np

from airpicture.codes import NATION_CODE
from airpicture.errors import DataError
from airpicture.fusion import TrackReports
from airpicture.net._release import MAX_NATIONS, LabelSpace
from airpicture.tables import (
    ROW_SEQ_BITS,
    AlertRows,
    Detections,
    ImpactRows,
    SensorTable,
    TrackRows,
)

__all__ = [
    "AlertMessage",
    "CoordinationAction",
    "DetectionBatch",
    "Heartbeat",
    "ImpactMessage",
    "MessageError",
    "PictureDelta",
    "TrackShare",
]

_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Nation = Annotated[str, msgspec.Meta(pattern=f"^{NATION_CODE.pattern}$")]
_LabelNations = Annotated[list[_Nation], msgspec.Meta(max_length=MAX_NATIONS)]
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
_Label = Annotated[str, msgspec.Meta(max_length=32)]


class MessageError(DataError):
    """A message that cannot be used; ``reason`` is a short code for counting rejections.

    Reasons: ``size``, ``truncated``, ``malformed``, ``version``, ``kind``, ``length``,
    ``non-finite``, ``range``, ``sensor``, ``label``; from :mod:`airpicture.net._security` also
    ``unsigned``, ``unknown-sender``, ``signature``, ``stale``, ``future``.
    """

    def __init__(
        self, source: str, *, reason: str, column: str | None, expected: str, got: str
    ) -> None:
        self.reason = reason
        super().__init__(source, column=column, expected=expected, got=got)


class DetectionBatch(msgspec.Struct, array_like=True, frozen=True):
    """Detections of one sender released to one recipient nation, as column arrays.

    ``sensor_ids`` lists the sensors referenced; ``sensor_ref`` (uint16) indexes it per row.
    ``sensor_seq`` (uint64) numbers each sensor's detections in its arrival order; together with
    the sensor it gives the row's globally unique tracker ``row``. ``arrival_s`` is when each
    detection reached the sender (its source clock); ``clock_s`` promises that every detection of
    the sender for this recipient that arrived at or before it has been sent.
    The other columns are float64 in the units of :class:`~airpicture.tables.Detections`
    (NaN ``range_m`` for IR, NaN ``range_rate_mps`` when not measured).
    ``label`` (uint64) is each detection's release label over the nations ``label_nations``
    (at most :data:`~airpicture.net.MAX_NATIONS`; see :mod:`airpicture.net._release`): every
    nation that may see it, not just the recipient.
    """

    recipient: _Nation
    clock_s: float
    sensor_ids: Annotated[list[_Name], msgspec.Meta(max_length=65535)]
    sensor_ref: bytes
    sensor_seq: bytes
    arrival_s: bytes
    t_s: bytes
    range_m: bytes
    azimuth_rad: bytes
    elevation_rad: bytes
    range_rate_mps: bytes
    sensor_lat_rad: bytes
    sensor_lon_rad: bytes
    sensor_alt_m: bytes
    label_nations: _LabelNations
    label: bytes

    def __len__(self) -> int:
        return len(self.sensor_ref) // 2

    @classmethod
    def from_detections(
        cls,
        detections: Detections,
        sensors: SensorTable,
        *,
        recipient: str,
        clock_s: float,
        arrival_s: np.ndarray,
        sensor_seq: np.ndarray,
        label: np.ndarray,
        label_nations: Sequence[str],
    ) -> DetectionBatch:
        """Pack detections for the wire.

        Parameters
        ----------
        detections : Detections
            n detections; ``sensor_index`` indexes ``sensors``.
        sensors : SensorTable
            The table ``sensor_index`` refers to.
        recipient : str
            The nation the batch is released to.
        clock_s : float
            The sender's source clock, s (at least every ``arrival_s``).
        arrival_s : ndarray, shape (n,)
            When each detection reached the sender, s.
        sensor_seq : ndarray of int, shape (n,)
            Each detection's per-sensor sequence number (below ``2**ROW_SEQ_BITS``).
        label : ndarray of uint64, shape (n,)
            Each detection's release label.
        label_nations : sequence of str
            The nations the label bits stand for, in bit order.
        """
        used, ref = np.unique(detections.sensor_index, return_inverse=True)
        return cls(
            recipient=recipient,
            clock_s=float(clock_s),
            sensor_ids=[sensors[int(i)].sensor_id for i in used],
            sensor_ref=ref.astype("<u2").tobytes(),
            sensor_seq=np.asarray(sensor_seq).astype("<u8").tobytes(),
            arrival_s=_f8(arrival_s),
            t_s=_f8(detections.t_s),
            range_m=_f8(detections.range_m),
            azimuth_rad=_f8(detections.azimuth_rad),
            elevation_rad=_f8(detections.elevation_rad),
            range_rate_mps=_f8(detections.range_rate_mps),
            sensor_lat_rad=_f8(detections.sensor_lat_rad),
            sensor_lon_rad=_f8(detections.sensor_lon_rad),
            sensor_alt_m=_f8(detections.sensor_alt_m),
            label_nations=list(label_nations),
            label=np.asarray(label, dtype="<u8").tobytes(),
        )

    def to_detections(
        self,
        sensors: SensorTable,
        space: LabelSpace,
        *,
        source: str = "detection batch",
    ) -> Detections:
        """Unpack into a :class:`~airpicture.tables.Detections` table indexed by ``sensors``.

        Each row's ``row`` is ``sensor_index << ROW_SEQ_BITS | sensor_seq``, the same on every
        node that shares the sensor table; ``release`` holds the labels expressed in ``space``
        (the receiving node's nations).

        Raises
        ------
        MessageError
            When a sensor id is not in ``sensors`` (reason ``sensor``).
        """
        index = np.empty(len(self.sensor_ids), dtype=np.int64)
        for k, sensor_id in enumerate(self.sensor_ids):
            try:
                index[k] = sensors.index_of(sensor_id)
            except KeyError:
                raise MessageError(
                    source,
                    reason="sensor",
                    column="sensor_ids",
                    expected="sensors of the shared sensor table",
                    got=repr(sensor_id),
                ) from None
        ref = np.frombuffer(self.sensor_ref, "<u2").astype(np.int64)
        sensor_index = index[ref]
        seq = np.frombuffer(self.sensor_seq, "<u8").astype(np.int64)
        return Detections(
            t_s=_col(self.t_s),
            sensor_index=sensor_index.astype(np.int32),
            range_m=_col(self.range_m),
            azimuth_rad=_col(self.azimuth_rad),
            elevation_rad=_col(self.elevation_rad),
            range_rate_mps=_col(self.range_rate_mps),
            sensor_lat_rad=_col(self.sensor_lat_rad),
            sensor_lon_rad=_col(self.sensor_lon_rad),
            sensor_alt_m=_col(self.sensor_alt_m),
            row=(sensor_index << ROW_SEQ_BITS) | seq,
            release=space.remap(np.frombuffer(self.label, "<u8"), self.label_nations),
        )

    def arrival(self) -> np.ndarray:
        """``arrival_s`` as a float64 array, shape (n,)."""
        return _col(self.arrival_s)


class Heartbeat(msgspec.Struct, array_like=True, frozen=True):
    """The sender's source clock for one recipient; ``final`` (with ``clock_s = inf``) ends it."""

    recipient: _Nation
    clock_s: float
    final: bool = False


class AlertMessage(msgspec.Struct, array_like=True, frozen=True):
    """A node's alert changes, one row per change, as in :class:`~airpicture.tables.AlertRows`.

    ``t_s`` (time of the change) and ``impact_t_s`` (predicted impact time, NaN when unknown) are
    float64 columns; ``state``, ``event`` and ``reason`` hold names of
    :data:`~airpicture.tables.ALERT_STATES`, :data:`~airpicture.tables.ALERT_EVENTS` and
    :data:`~airpicture.assess.CANCEL_REASONS` (``reason`` empty unless cancelled).
    ``nation`` is the node's nation: its alerts go to that nation only (``air.alert.<NATION>``).
    """

    nation: _Nation
    t_s: bytes
    alert_id: list[_Id]
    area_id: list[_Id]
    track_id: list[_Id]
    state: list[_Label]
    event: list[_Label]
    reason: list[_Label]
    impact_t_s: bytes

    def __len__(self) -> int:
        return len(self.alert_id)

    @classmethod
    def from_rows(cls, rows: AlertRows, *, nation: str) -> AlertMessage:
        """Pack alert changes of a node's assessment."""
        return cls(
            nation=nation,
            t_s=_f8(rows.t_s),
            alert_id=[str(v) for v in rows.alert_id],
            area_id=[str(v) for v in rows.area_id],
            track_id=[str(v) for v in rows.track_id],
            state=[str(v) for v in rows.state],
            event=[str(v) for v in rows.event],
            reason=[str(v) for v in rows.reason],
            impact_t_s=_f8(rows.impact_t_s),
        )

    def to_rows(self) -> AlertRows:
        """The changes as :class:`~airpicture.tables.AlertRows`."""
        return AlertRows(
            t_s=_col(self.t_s),
            alert_id=_strings(self.alert_id),
            area_id=_strings(self.area_id),
            track_id=_strings(self.track_id),
            state=_strings(self.state),
            event=_strings(self.event),
            reason=_strings(self.reason),
            impact_t_s=_col(self.impact_t_s),
        )


class ImpactMessage(msgspec.Struct, array_like=True, frozen=True):
    """A node's impact predictions, one row per track update, as in
    :class:`~airpicture.tables.ImpactRows` (every column float64 but ``track_id``).

    Impact point and launch point in geodetic radians, the ellipse's semi-axes in metres
    (``semi_major_m >= semi_minor_m >= 0``), its orientation in radians in [0, pi], its
    confidence in (0, 1); the launch columns are NaN when not estimated. ``nation`` is the
    node's nation (``air.impact.<NATION>``).
    """

    nation: _Nation
    t_s: bytes
    track_id: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]]
    impact_t_s: bytes
    impact_lat_rad: bytes
    impact_lon_rad: bytes
    semi_major_m: bytes
    semi_minor_m: bytes
    orientation_rad: bytes
    confidence: bytes
    launch_t_s: bytes
    launch_lat_rad: bytes
    launch_lon_rad: bytes
    launch_sd_t_s: bytes
    launch_semi_major_m: bytes
    launch_semi_minor_m: bytes
    launch_orientation_rad: bytes

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def from_rows(cls, rows: ImpactRows, *, nation: str) -> ImpactMessage:
        """Pack impact predictions of a node's assessment."""
        return cls(
            nation=nation,
            track_id=[str(v) for v in rows.track_id],
            **{
                name: _f8(_or_nan(getattr(rows, name), len(rows)))
                for name in _IMPACT_FLOAT_COLUMNS
            },
        )

    def to_rows(self) -> ImpactRows:
        """The predictions as :class:`~airpicture.tables.ImpactRows`."""
        return ImpactRows(
            track_id=_strings(self.track_id),
            **{name: _col(getattr(self, name)) for name in _IMPACT_FLOAT_COLUMNS},
        )


class PictureDelta(msgspec.Struct, array_like=True, frozen=True):
    """A node's picture change: one row per track state, a ``deleted`` one when a track ends.

    ``through_s``: every detection the node holds with ``t_s`` before it is in the picture
    (``inf`` once the input has ended, then ``final``). ``x`` and ``cov_pos`` are float64
    (n, 6) as in :class:`~airpicture.tables.TrackRows`; ``kind``, ``status`` and ``nations``
    are dictionary-encoded: labels plus uint16 codes per row.
    """

    nation: _Nation
    through_s: float
    final: bool
    t_s: bytes
    track_id: list[Annotated[str, msgspec.Meta(max_length=64)]]
    x: bytes
    cov_pos: bytes
    kind_labels: list[str]
    kind: bytes
    status_labels: list[str]
    status: bytes
    nations_labels: list[str]
    nations: bytes
    local_id: list[Annotated[str, msgspec.Meta(max_length=64)]] = []
    sources_labels: list[Annotated[str, msgspec.Meta(max_length=1024)]] = []
    sources: bytes = b""
    quality: bytes = b""

    def __len__(self) -> int:
        return len(self.t_s) // 8

    @classmethod
    def from_rows(
        cls,
        rows: TrackRows,
        *,
        nation: str,
        through_s: float,
        final: bool = False,
    ) -> PictureDelta:
        """Pack track rows."""
        kind_labels, kind = _dictionary(rows.kind)
        status_labels, status = _dictionary(rows.status)
        nations_labels, nations = _dictionary(rows.nations)
        network: dict[str, Any] = {}
        if rows.local_id is not None and rows.sources is not None and rows.quality is not None:
            sources_labels, sources = _dictionary(rows.sources)
            network = {
                "local_id": [str(t) for t in rows.local_id],
                "sources_labels": sources_labels,
                "sources": sources,
                "quality": np.asarray(rows.quality).astype("<u1").tobytes(),
            }
        return cls(
            nation=nation,
            through_s=float(through_s),
            final=final,
            t_s=_f8(rows.t_s),
            track_id=[str(t) for t in rows.track_id],
            x=_f8(rows.x),
            cov_pos=_f8(rows.cov_pos),
            kind_labels=kind_labels,
            kind=kind,
            status_labels=status_labels,
            status=status,
            nations_labels=nations_labels,
            nations=nations,
            **network,
        )

    def to_rows(self) -> TrackRows:
        """The rows as :class:`~airpicture.tables.TrackRows`."""
        n = len(self)
        rows = TrackRows(
            t_s=_col(self.t_s),
            track_id=np.asarray(self.track_id, dtype=str) if n else np.empty(0, dtype=str),
            x=_col(self.x).reshape(n, 6),
            cov_pos=_col(self.cov_pos).reshape(n, 6),
            kind=_undictionary(self.kind_labels, self.kind),
            status=_undictionary(self.status_labels, self.status),
            nations=_undictionary(self.nations_labels, self.nations),
        )
        if self.quality or (n and self.local_id):
            rows = replace(
                rows,
                local_id=_strings(self.local_id),
                sources=_undictionary(self.sources_labels, self.sources),
                quality=np.frombuffer(self.quality, "<u1").astype(np.int8),
            )
        return rows


class TrackShare(msgspec.Struct, array_like=True, frozen=True):
    """A node's tracks released to one other nation (``air.trk.<OWNER>.<RECIPIENT>``).

    ``picture`` holds the rows as a :class:`PictureDelta` of the owner's nation; a track no
    longer releasable to the recipient comes as ``deleted``, with the last state it was given
    (as one that ended). ``coarse`` (uint8, 0 or 1) marks position-only rows
    (:func:`airpicture.net.coarsen`: velocity zero); ``label`` (uint64) is each row's
    track label over ``label_nations`` (:mod:`airpicture.net._release`).
    """

    recipient: _Nation
    picture: PictureDelta
    coarse: bytes
    label_nations: _LabelNations
    label: bytes
    state: bytes
    cov: bytes
    hits: bytes
    first_t_s: bytes

    def __len__(self) -> int:
        return len(self.picture)

    @classmethod
    def from_reports(
        cls,
        reports: TrackReports,
        coarse: np.ndarray,
        *,
        owner: str,
        recipient: str,
        through_s: float,
        label_nations: Sequence[str],
        final: bool = False,
    ) -> TrackShare:
        """Pack released tracks (``reports.rows.release`` their labels) and coarse flags."""
        rows = reports.rows
        labels = rows.release if rows.release is not None else np.zeros(len(rows), np.uint64)
        return cls(
            recipient=recipient,
            picture=PictureDelta.from_rows(
                replace(rows, local_id=None, sources=None, quality=None),
                nation=owner,
                through_s=through_s,
                final=final,
            ),
            coarse=np.asarray(coarse).astype("<u1").tobytes(),
            label_nations=list(label_nations),
            label=np.asarray(labels, dtype="<u8").tobytes(),
            state=_f8(reports.state),
            cov=_f8(reports.cov),
            hits=np.asarray(reports.hits).astype("<u4").tobytes(),
            first_t_s=_f8(reports.first_t_s),
        )

    def to_reports(self, space: LabelSpace) -> tuple[TrackReports, np.ndarray]:
        """The tracks (``rows.release`` expressed in ``space``) and coarse flags (bool), each of
        length n."""
        rows = self.picture.to_rows()
        n = len(rows)
        labels = space.remap(np.frombuffer(self.label, "<u8"), self.label_nations)
        reports = TrackReports(
            replace(rows, release=labels),
            _col(self.state).reshape(n, 7),
            _col(self.cov).reshape(n, 7, 7),
            np.frombuffer(self.hits, "<u4").astype(np.int64),
            _col(self.first_t_s),
        )
        return reports, np.frombuffer(self.coarse, "<u1").astype(bool)


class CoordinationAction(msgspec.Struct, array_like=True, frozen=True):
    """One operator's coordination action on a track (``air.coord.<ORIGIN>.<RECIPIENT>``), or
    one a node applied to its nation's view (its output ``air.coord.<NATION>``).

    ``action`` is one of :data:`~airpicture.codes.COORDINATION_ACTIONS`: ``identity`` assigns
    ``identity`` (one of :data:`~airpicture.codes.AFFILIATIONS`) to the track ``track_id`` (a
    network track number), ``note`` attaches ``note``, ``acknowledge`` acknowledges the alert
    ``alert_id`` on the track, ``handover`` hands the responsibility for reporting the track over
    to the nation ``handover_to``. The fields an action does not use are empty. ``origin`` is
    the nation of the operator ``operator`` (on the bus, the sending node's: a node sends only
    its own operators' actions), ``t_s`` when the operator acted (s since the Unix epoch) and
    ``action_id`` its id, the same in every view it reaches.
    """

    recipient: _Nation
    origin: _Nation
    operator: _Name
    action_id: _Id
    t_s: float
    action: _Label
    track_id: _Id
    alert_id: Annotated[str, msgspec.Meta(max_length=256)] = ""
    identity: _Label = ""
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    handover_to: Annotated[str, msgspec.Meta(max_length=3)] = ""

    def __len__(self) -> int:
        return 1

    def record(self) -> dict[str, Any]:
        """The action as the map shows it (JSON-ready; unused fields left out)."""
        fields = msgspec.structs.asdict(self)
        del fields["recipient"]
        return {k: v for k, v in fields.items() if v != ""}


_IMPACT_FLOAT_COLUMNS = (
    "t_s",
    "impact_t_s",
    "impact_lat_rad",
    "impact_lon_rad",
    "semi_major_m",
    "semi_minor_m",
    "orientation_rad",
    "confidence",
    "launch_t_s",
    "launch_lat_rad",
    "launch_lon_rad",
    "launch_sd_t_s",
    "launch_semi_major_m",
    "launch_semi_minor_m",
    "launch_orientation_rad",
)
"""Float columns of an :class:`ImpactMessage`: the first eight required finite, the launch ones NaN
when not estimated (or, for its uncertainty, not carried by the rows sent)."""


def _or_nan(values: np.ndarray | None, n: int) -> np.ndarray:
    """An optional column's values, NaN where the rows do not carry it."""
    return np.full(n, np.nan) if values is None else values


# ---------------------------------------------------------------------------- helpers
def _f8(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


def _col(buffer: bytes) -> np.ndarray:
    """A float64 column decoded from the wire (a writable, native-order copy)."""
    return np.frombuffer(buffer, "<f8").astype(np.float64)


def _dictionary(values: np.ndarray) -> tuple[list[str], bytes]:
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return [str(s) for s in labels], codes.astype("<u2").tobytes()


def _strings(values: list[str]) -> np.ndarray:
    return np.asarray(values, dtype=str) if values else np.empty(0, dtype=str)


def _undictionary(labels: list[str], codes: bytes) -> np.ndarray:
    index = np.frombuffer(codes, "<u2").astype(np.int64)
    if len(index) == 0:
        return np.empty(0, dtype=str)
    return np.asarray(labels, dtype=str)[index]
