"""Validation of decoded payloads, once, at the edge
(:func:`airpicture.net.decode_payload`): column lengths, finite numbers, ranges, codes
and labels, one validator per message kind; each failure raises
:class:`~airpicture.net.MessageError` with its ``reason`` code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from airpicture.assess._warning import CANCEL_REASONS
from airpicture.codes import AFFILIATIONS, COORDINATION_ACTIONS, is_nation_code
from airpicture.errors import DataError
from airpicture.io import check_column, check_rows
from airpicture.net._payloads import (
    _IMPACT_FLOAT_COLUMNS,
    AlertMessage,
    CoordinationAction,
    DetectionBatch,
    Heartbeat,
    ImpactMessage,
    MessageError,
    PictureDelta,
    TrackShare,
)
from airpicture.net._release import invalid_labels
from airpicture.tables import (
    ROW_SEQ_BITS,
    AlertRows,
    ImpactRows,
    TrackRows,
    covariance_problems,
)


def _validate_detections(batch: DetectionBatch, where: str) -> None:
    n = _length(batch.sensor_ref, 2, "sensor_ref", where)
    _length(batch.sensor_seq, 8, "sensor_seq", where, n)
    for name in _DET_FLOAT_COLUMNS:
        _length(getattr(batch, name), 8, name, where, n)
    if math.isnan(batch.clock_s) or math.isinf(batch.clock_s):
        raise _error(where, "non-finite", "clock_s", "a finite time, s", batch.clock_s)
    if n and not batch.sensor_ids:  # at most 65,535: the payload type's constraint
        raise _error(where, "length", "sensor_ids", "at least one sensor id", 0)
    _validate_labels(batch.label, batch.label_nations, n, where)
    if n == 0:
        return
    ref = np.frombuffer(batch.sensor_ref, "<u2")
    if int(ref.max()) >= len(batch.sensor_ids):
        raise _error(
            where, "range", "sensor_ref", f"indices below {len(batch.sensor_ids)}", int(ref.max())
        )
    seq = np.frombuffer(batch.sensor_seq, "<u8")
    if int(seq.max()) >= 1 << ROW_SEQ_BITS:
        raise _error(
            where, "range", "sensor_seq", f"numbers below 2**{ROW_SEQ_BITS}", int(seq.max())
        )
    _finite(batch.arrival_s, "arrival_s", where)
    for name in _DET_FLOAT_COLUMNS[1:]:  # the detections table's rules
        try:
            check_column("detections", name, np.frombuffer(getattr(batch, name), "<f8"), where)
        except DataError as exc:
            raise _from_contract(exc, where) from None
    arrival = np.frombuffer(batch.arrival_s, "<f8")
    if float(arrival.max()) > batch.clock_s:
        raise _error(
            where,
            "range",
            "arrival_s",
            f"times at or before clock_s ({batch.clock_s!r})",
            float(arrival.max()),
        )


def _validate_labels(label: bytes, nations: list[str], n: int, where: str) -> None:
    """A label column: n uint64 over distinct nations (at most MAX_NATIONS nation codes: the
    payload type's constraint), every field within range and nested
    (:func:`~airpicture.net.invalid_labels`)."""
    _length(label, 8, "label", where, n)
    if len(set(nations)) != len(nations):
        raise _error(where, "label", "label_nations", "distinct nations", nations)
    if n == 0:
        return
    values = np.frombuffer(label, "<u8")
    bad = invalid_labels(values, len(nations))
    if bad.any():
        raise _error(
            where,
            "label",
            "label",
            f"bits of the {len(nations)} label nations, the full field within the threat field "
            "and the threat field within the coarse field",
            f"{int(values[np.flatnonzero(bad)[0]]):#x}",
        )


def _validate_heartbeat(hb: Heartbeat, where: str) -> None:
    if math.isnan(hb.clock_s) or (math.isinf(hb.clock_s) and not (hb.final and hb.clock_s > 0)):
        raise _error(where, "non-finite", "clock_s", "a finite time, or inf with final", hb.clock_s)


def _validate_alert(alert: AlertMessage, where: str) -> None:
    n = len(alert.alert_id)
    _length(alert.t_s, 8, "t_s", where, n)
    _length(alert.impact_t_s, 8, "impact_t_s", where, n)
    for name in ("area_id", "track_id", "state", "event", "reason"):
        if len(getattr(alert, name)) != n:
            raise _error(where, "length", name, f"{n} values", len(getattr(alert, name)))
    _contract(alert.to_rows(), where)
    bad = set(alert.reason) - {"", *CANCEL_REASONS}
    if bad:
        raise _error(where, "range", "reason", "names of " + ", ".join(CANCEL_REASONS), sorted(bad))
    cancelled = np.asarray(alert.state) == "cancelled"
    if n and ((np.asarray(alert.reason) == "") == cancelled).any():
        raise _error(where, "range", "reason", "a reason for a cancelled alert only", "a mismatch")


def _validate_impact(impact: ImpactMessage, where: str) -> None:
    n = len(impact.track_id)
    for name in _IMPACT_FLOAT_COLUMNS:
        _length(getattr(impact, name), 8, name, where, n)
    _contract(impact.to_rows(), where)


def _contract(rows: ImpactRows | AlertRows | TrackRows, where: str) -> None:
    """The values of decoded rows, checked by their table's schema (the files' rules): a
    failure names the wire's column (radians where the file has degrees) and its row index."""
    try:
        check_rows(rows, where)
    except DataError as exc:
        raise _from_contract(exc, where) from None


def _from_contract(exc: DataError, where: str) -> MessageError:
    """A schema's refusal as a message error: the wire's column (radians where the file has
    degrees) and the row index."""
    column, expected = exc.column or "", exc.expected
    if column.endswith("_deg"):
        column, expected = column.removesuffix("_deg") + "_rad", f"{expected} (as {column})"
    reason = "non-finite" if exc.got.split(" ")[0] in ("nan", "inf", "-inf") else "range"
    index = f" at index {exc.row - 1}" if exc.row is not None else ""
    return _error(where, reason, column, expected, f"{exc.got}{index}")


def _validate_picture(delta: PictureDelta, where: str) -> None:
    n = _length(delta.t_s, 8, "t_s", where)
    _length(delta.x, 8 * 6, "x", where, n)
    _length(delta.cov_pos, 8 * 6, "cov_pos", where, n)
    if len(delta.track_id) != n:
        raise _error(where, "length", "track_id", f"{n} track ids", len(delta.track_id))
    if delta.quality or delta.local_id or delta.sources:  # a network picture's columns
        if len(delta.local_id) != n:
            raise _error(where, "length", "local_id", f"{n} local ids", len(delta.local_id))
        _length(delta.quality, 1, "quality", where, n)
        _length(delta.sources, 2, "sources", where, n)
        if n and int(np.frombuffer(delta.sources, "<u2").max()) >= len(delta.sources_labels):
            raise _error(
                where,
                "range",
                "sources",
                f"codes below {len(delta.sources_labels)}",
                int(np.frombuffer(delta.sources, "<u2").max()),
            )
    if math.isnan(delta.through_s):
        raise _error(where, "non-finite", "through_s", "a time or inf", delta.through_s)
    for name in ("kind", "status", "nations"):
        labels = getattr(delta, name + "_labels")
        _length(getattr(delta, name), 2, name, where, n)
        if n and int(np.frombuffer(getattr(delta, name), "<u2").max()) >= len(labels):
            raise _error(
                where,
                "range",
                name,
                f"codes below {len(labels)}",
                int(np.frombuffer(getattr(delta, name), "<u2").max()),
            )
    if n == 0:
        return
    _contract(delta.to_rows(), where)  # the tracks table's rules: its covariances too


def _validate_track_share(share: TrackShare, where: str) -> None:
    _validate_picture(share.picture, where)
    n = len(share.picture)
    _length(share.coarse, 1, "coarse", where, n)
    if n and int(np.frombuffer(share.coarse, "<u1").max()) > 1:
        raise _error(
            where,
            "range",
            "coarse",
            "0 (full) or 1 (position-only)",
            int(np.frombuffer(share.coarse, "<u1").max()),
        )
    _validate_labels(share.label, share.label_nations, n, where)
    _length(share.state, 8 * 7, "state", where, n)
    _length(share.cov, 8 * 49, "cov", where, n)
    _length(share.hits, 4, "hits", where, n)
    _length(share.first_t_s, 8, "first_t_s", where, n)
    for name in ("state", "cov", "first_t_s"):
        _finite(getattr(share, name), name, where)
    _covariances(np.frombuffer(share.cov, "<f8").reshape(n, 7, 7), "cov", where)


_ACTION_FIELDS = {
    "identity": "identity",
    "note": "note",
    "acknowledge": "alert_id",
    "handover": "handover_to",
}
"""The field each coordination action fills (the others stay empty)."""


def _validate_coordination(action: CoordinationAction, where: str) -> None:
    if action.action not in COORDINATION_ACTIONS:
        raise _error(
            where, "range", "action", "one of " + ", ".join(COORDINATION_ACTIONS), action.action
        )
    if not math.isfinite(action.t_s):
        raise _error(where, "non-finite", "t_s", "a finite time, s", action.t_s)
    used = _ACTION_FIELDS[action.action]
    for name in _ACTION_FIELDS.values():
        value = getattr(action, name)
        if (name == used) != (value != ""):
            expected = f"a value for a {action.action} action" if name == used else "nothing"
            raise _error(where, "range", name, expected, value)
    if action.action == "identity" and action.identity not in AFFILIATIONS:
        raise _error(
            where, "range", "identity", "one of " + ", ".join(AFFILIATIONS), action.identity
        )
    if action.action == "handover" and not is_nation_code(action.handover_to):
        raise _error(where, "range", "handover_to", "a nation code", action.handover_to)
    for name in ("operator", "action_id", "track_id", "alert_id", "note"):
        value = getattr(action, name)
        if any((ord(c) < 32 and c != "\n") or ord(c) == 127 for c in value):
            raise _error(where, "range", name, "text without control characters", value)


_VALIDATORS: dict[str, Any] = {
    "det": _validate_detections,
    "hb": _validate_heartbeat,
    "alert": _validate_alert,
    "impact": _validate_impact,
    "pic": _validate_picture,
    "trk": _validate_track_share,
    "coord": _validate_coordination,
}

_DET_FLOAT_COLUMNS = (
    "arrival_s",
    "t_s",
    "range_m",
    "azimuth_rad",
    "elevation_rad",
    "range_rate_mps",
    "sensor_lat_rad",
    "sensor_lon_rad",
    "sensor_alt_m",
)


def _covariances(P: np.ndarray, name: str, where: str) -> None:
    """Covariances (n, d, d) must be symmetric positive semi-definite
    (:func:`~airpicture.tables.covariance_problems`)."""
    problems = covariance_problems(P)
    bad = np.flatnonzero(problems != "")
    if len(bad):
        raise _error(
            where,
            "range",
            name,
            "symmetric positive semi-definite covariances",
            f"{problems[bad[0]]} at index {bad[0]}",
        )


def _length(buffer: bytes, itemsize: int, name: str, where: str, n: int | None = None) -> int:
    size = len(buffer)
    if size % itemsize or (n is not None and size != n * itemsize):
        expected = (
            f"{n} values of {itemsize} bytes"
            if n is not None
            else f"a multiple of {itemsize} bytes"
        )
        raise _error(where, "length", name, expected, f"{size} bytes")
    return size // itemsize


def _finite(buffer: bytes, name: str, where: str) -> None:
    values = np.frombuffer(buffer, "<f8")
    if not np.isfinite(values).all():
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise _error(
            where, "non-finite", name, "finite numbers", f"{values[first]!r} at index {first}"
        )


def _error(where: str, reason: str, column: str, expected: str, got: object) -> MessageError:
    text = got if isinstance(got, str) else _show(got)
    return MessageError(where, reason=reason, column=column, expected=expected, got=text)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
