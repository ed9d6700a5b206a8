"""The assessment's messages (alert changes, impact predictions): round trips, and every kind of
bad content rejected as a counted MessageError, never another exception."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.net import (
    SCHEMA_VERSION,
    AlertMessage,
    ImpactMessage,
    MessageError,
    decode_message,
    encode_message,
)
from airpicture.tables import AlertRows, ImpactRows

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _impacts(n: int, seed: int = 0) -> ImpactRows:
    rng = np.random.default_rng(seed)
    major = rng.uniform(100.0, 1e5, n)
    return ImpactRows(
        t_s=1.79e9 + np.arange(n, dtype=float),
        track_id=np.array([f"T{i:06d}" for i in range(n)], dtype=str),
        impact_t_s=1.79e9 + rng.uniform(100, 600, n),
        impact_lat_rad=rng.uniform(-1.5, 1.5, n),
        impact_lon_rad=rng.uniform(-3.1, 3.1, n),
        semi_major_m=major,
        semi_minor_m=major * rng.uniform(0.0, 1.0, n),
        orientation_rad=rng.uniform(0.0, math.pi, n),
        confidence=np.full(n, 0.95),
        launch_t_s=np.where(rng.random(n) < 0.5, np.nan, 1.79e9),
        launch_lat_rad=rng.uniform(-1.5, 1.5, n),
        launch_lon_rad=rng.uniform(-3.1, 3.1, n),
        launch_sd_t_s=rng.uniform(0.0, 60.0, n),
        launch_semi_major_m=major * 3.0,
        launch_semi_minor_m=major,
        launch_orientation_rad=rng.uniform(0.0, math.pi, n),
    )


def _alerts(n: int, seed: int = 0) -> AlertRows:
    rng = np.random.default_rng(seed)
    cancelled = rng.random(n) < 0.4
    reasons = np.array(["clear", "down", "not-ballistic", "end-of-input"])
    return AlertRows(
        t_s=1.79e9 + np.arange(n, dtype=float),
        alert_id=np.array([f"T{i}:niigata-coast:1" for i in range(n)], dtype=str),
        area_id=np.full(n, "niigata-coast"),
        track_id=np.array([f"T{i}" for i in range(n)], dtype=str),
        state=np.where(cancelled, "cancelled", "active"),
        event=np.where(cancelled, "cancelled", np.where(rng.random(n) < 0.5, "issued", "updated")),
        reason=np.where(cancelled, reasons[rng.integers(0, 4, n)], ""),
        impact_t_s=np.where(rng.random(n) < 0.2, np.nan, 1.79e9 + 500.0),
    )


def _encode(kind: str, payload: AlertMessage | ImpactMessage) -> bytes:
    return encode_message(kind, payload, sender="jpn-node", nation="JPN", seq=3, sent_ns=1)


def _same(a: ImpactRows | AlertRows, b: ImpactRows | AlertRows) -> None:
    """Equal rows; a column ``b`` does not carry (None) arrives as NaN."""
    assert len(a) == len(b)
    for name in a.__dataclass_fields__:
        expected = getattr(b, name)
        if expected is None:
            expected = np.full(len(b), np.nan)
        np.testing.assert_array_equal(getattr(a, name), expected, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 30), seed=st.integers(0, 2**32 - 1))
def test_round_trips(n: int, seed: int) -> None:
    impacts, alerts = _impacts(n, seed), _alerts(n, seed)
    envelope, back = decode_message(
        _encode("impact", ImpactMessage.from_rows(impacts, nation="JPN"))
    )
    assert envelope.kind == "impact" and isinstance(back, ImpactMessage) and back.nation == "JPN"
    _same(back.to_rows(), impacts)
    without = ImpactRows(**{**impacts.__dict__, "launch_sd_t_s": None})
    _, back = decode_message(_encode("impact", ImpactMessage.from_rows(without, nation="JPN")))
    assert isinstance(back, ImpactMessage)
    _same(back.to_rows(), without)
    envelope, again = decode_message(_encode("alert", AlertMessage.from_rows(alerts, nation="JPN")))
    assert envelope.kind == "alert" and isinstance(again, AlertMessage) and len(again) == n
    _same(again.to_rows(), alerts)


def _reject(kind: str, payload: AlertMessage | ImpactMessage) -> MessageError:
    with pytest.raises(MessageError) as info:
        decode_message(_encode(kind, payload), source="air.x.JPN #9")
    assert str(info.value).startswith(f"air.x.JPN #9 ({kind} from jpn-node)")
    return info.value


@pytest.mark.parametrize(
    ("column", "value", "reason", "blamed"),
    [
        ("impact_lat_rad", 2.0, "range", "impact_lat_rad"),
        ("impact_lon_rad", math.nan, "non-finite", "impact_lon_rad"),
        ("semi_major_m", 0.0, "range", "semi_minor_m"),  # below the semi-minor axis
        ("semi_minor_m", -1.0, "range", "semi_minor_m"),
        ("orientation_rad", 4.0, "range", "orientation_rad"),
        ("impact_lon_rad", -1e308, "non-finite", "impact_lon_rad"),  # -inf degrees, no overflow
        ("confidence", 1.5, "range", "confidence"),
        ("t_s", math.inf, "non-finite", "t_s"),
        ("launch_t_s", math.inf, "non-finite", "launch_t_s"),
        ("launch_lon_rad", 7.0, "range", "launch_lon_rad"),
    ],
)
def test_bad_impacts(column: str, value: float, reason: str, blamed: str) -> None:
    rows = _impacts(3)
    bad = getattr(rows, column).copy()
    bad[1] = value
    payload = ImpactMessage.from_rows(rows, nation="JPN")
    payload = msgspec.structs.replace(payload, **{column: bad.astype("<f8").tobytes()})
    error = _reject("impact", payload)
    assert (error.reason, error.column) == (reason, blamed)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("state", "raised", "range"),
        ("event", "escalated", "range"),
        ("reason", "bored", "range"),
        ("reason", "", "range"),  # a cancelled alert without a reason
        ("t_s", math.nan, "non-finite"),
        ("impact_t_s", -math.inf, "non-finite"),
    ],
)
def test_bad_alerts(column: str, value: object, reason: str) -> None:
    rows = _alerts(1)
    rows = AlertRows(
        **{**rows.__dict__, "state": np.array(["cancelled"]), "reason": np.array(["down"])}
    )
    payload = AlertMessage.from_rows(rows, nation="JPN")
    if isinstance(value, float):
        payload = msgspec.structs.replace(payload, **{column: np.array([value], "<f8").tobytes()})
    else:
        payload = msgspec.structs.replace(payload, **{column: [value]})
    error = _reject("alert", payload)
    assert (error.reason, error.column) == (reason, column)


def test_columns_of_different_lengths() -> None:
    alert = AlertMessage.from_rows(_alerts(3), nation="JPN")
    assert _reject("alert", msgspec.structs.replace(alert, track_id=["T1"])).reason == "length"
    assert _reject("alert", msgspec.structs.replace(alert, t_s=b"\0" * 9)).reason == "length"
    impact = ImpactMessage.from_rows(_impacts(3), nation="JPN")
    assert _reject("impact", msgspec.structs.replace(impact, confidence=b"")).reason == "length"
    assert (
        _reject("impact", msgspec.structs.replace(impact, track_id=["T1"] * 4)).reason == "length"
    )


_VALID = [
    _encode("impact", ImpactMessage.from_rows(_impacts(4), nation="JPN")),
    _encode("alert", AlertMessage.from_rows(_alerts(4), nation="JPN")),
]
_edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)


@_SETTINGS
@given(st.sampled_from(_VALID), _edits, st.none() | st.integers(0, 10**6))
def test_mutated_messages_raise_only_message_errors(data: bytes, edits, cut) -> None:  # type: ignore[no-untyped-def]
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    if cut is not None:
        out = out[: cut % (len(out) + 1)]
    try:
        decode_message(bytes(out))
    except MessageError:
        pass


@_SETTINGS
@given(
    st.sampled_from(["alert", "impact"]),
    st.lists(
        st.one_of(
            st.floats(allow_nan=True),
            st.text(max_size=20),
            st.binary(max_size=40),
            st.lists(st.text(max_size=8), max_size=3),
            st.none(),
        ),
        max_size=14,
    ),
)
def test_structured_garbage_raises_only_message_errors(kind: str, fields: list) -> None:
    envelope = [SCHEMA_VERSION, kind, "jpn-node", "JPN", 1, 1, msgspec.msgpack.encode(fields), b""]
    try:
        decode_message(msgspec.msgpack.encode(envelope))
    except MessageError:
        pass
