"""The wire schema: round trips, and every kind of bad input rejected as a MessageError."""

from __future__ import annotations

import math
from dataclasses import replace

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.errors import DataError
from airpicture.net import (
    MAX_MESSAGE_BYTES,
    MAX_NATIONS,
    SCHEMA_VERSION,
    CoordinationAction,
    DetectionBatch,
    Envelope,
    Heartbeat,
    LabelSpace,
    MessageError,
    PictureDelta,
    decode_message,
    encode_message,
)
from airpicture.tables import ROW_SEQ_BITS, Detections, TrackRows
from tests.net.synthetic import sensor_table

SENSORS = sensor_table()
SPACE = LabelSpace(("AUS", "JPN", "USA"))


def _detections(n: int, seed: int = 0) -> tuple[Detections, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(SENSORS), n).astype(np.int32)
    radar = np.array([SENSORS[int(i)].has_range for i in index], dtype=bool)
    dets = Detections(
        t_s=1.79e9 + rng.uniform(0, 100, n),
        sensor_index=index,
        range_m=np.where(radar, rng.uniform(1e3, 4e5, n), np.nan),
        azimuth_rad=rng.uniform(0, 2 * math.pi, n),
        elevation_rad=rng.uniform(-0.1, 1.5, n),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=rng.uniform(0.6, 0.7, n),
        sensor_lon_rad=rng.uniform(2.3, 2.4, n),
        sensor_alt_m=rng.uniform(0, 100, n),
        row=np.zeros(n, np.int64),
    )
    arrival = dets.t_s + rng.uniform(0, 2, n)
    seq = rng.integers(0, 1 << 20, n)
    return dets, arrival, seq


def _labels(n: int, seed: int = 0) -> np.ndarray:
    """Labels over the three nations: a random full field, the threat field adding the first
    nation, the coarse field the same (the fields nest)."""
    full = np.random.default_rng(seed).integers(0, 8, n).astype(np.uint64)
    threat = full | np.uint64(1)
    return full | threat << np.uint64(MAX_NATIONS) | threat << np.uint64(2 * MAX_NATIONS)


def _batch(n: int = 5, seed: int = 0, recipient: str = "USA") -> DetectionBatch:
    dets, arrival, seq = _detections(n, seed)
    clock = float(arrival.max()) if n else 1.79e9
    return DetectionBatch.from_detections(
        dets,
        SENSORS,
        recipient=recipient,
        clock_s=clock,
        arrival_s=arrival,
        sensor_seq=seq,
        label=_labels(n, seed),
        label_nations=SPACE.nations,
    )


def _spd_upper(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random position covariances (as a filter makes them: symmetric positive-definite), as
    the (n, 6) upper-triangle columns."""
    a = rng.normal(0, 30.0, (n, 3, 3))
    P = a @ np.swapaxes(a, 1, 2) + np.eye(3)
    i, j = np.triu_indices(3)
    return P[:, i, j]


def _rows(n: int) -> TrackRows:
    rng = np.random.default_rng(n)
    rows = TrackRows(
        t_s=1.79e9 + np.arange(n, dtype=float),
        track_id=np.array([f"T{i:06d}" for i in range(n)], dtype=str),
        x=rng.normal(0, 1e6, (n, 6)),
        cov_pos=_spd_upper(rng, n),
        kind=np.array(["unknown"] * n, dtype=str),
        status=np.array(["tentative", "confirmed", "coasting", "deleted"] * n, dtype=str)[:n],
        nations=np.array(["JPN", "JPN;USA", "AUS;JPN;USA"] * n, dtype=str)[:n],
    )
    return rows


def _encode(kind, payload, **overrides):
    fields = {"sender": "jpn-node", "nation": "JPN", "seq": 12, "sent_ns": 1}
    fields.update(overrides)
    return encode_message(kind, payload, **fields)


def _raw_envelope(**fields) -> bytes:
    base = {
        "version": SCHEMA_VERSION,
        "kind": "hb",
        "sender": "jpn-node",
        "nation": "JPN",
        "seq": 1,
        "sent_ns": 1,
        "payload": msgspec.msgpack.encode(Heartbeat(recipient="USA", clock_s=1.0)),
        "signature": b"",
    }
    base.update(fields)
    return msgspec.msgpack.encode(list(base.values()))


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("n", [0, 1, 17, 300])
def test_detection_batch_round_trip_keeps_every_column_and_derives_the_row(n):
    dets, arrival, seq = _detections(n, seed=n)
    batch = DetectionBatch.from_detections(
        dets,
        SENSORS,
        recipient="USA",
        clock_s=float(arrival.max()) if n else 0.0,
        arrival_s=arrival,
        sensor_seq=seq,
        label=_labels(n, seed=n),
        label_nations=SPACE.nations,
    )
    envelope, payload = decode_message(_encode("det", batch))
    assert (envelope.kind, envelope.sender, envelope.nation, envelope.seq) == (
        "det",
        "jpn-node",
        "JPN",
        12,
    )
    assert envelope.signature == b""
    back = payload.to_detections(SENSORS, SPACE)
    np.testing.assert_array_equal(back.release, _labels(n, seed=n))
    for name in (
        "t_s",
        "range_m",
        "azimuth_rad",
        "elevation_rad",
        "range_rate_mps",
        "sensor_lat_rad",
        "sensor_lon_rad",
        "sensor_alt_m",
    ):
        np.testing.assert_array_equal(getattr(back, name), getattr(dets, name))
    np.testing.assert_array_equal(back.sensor_index, dets.sensor_index)
    np.testing.assert_array_equal(
        back.row, (dets.sensor_index.astype(np.int64) << ROW_SEQ_BITS) | seq
    )
    np.testing.assert_array_equal(payload.arrival(), arrival)


def test_detections_cost_bytes_not_objects():
    """About 8 bytes per column per detection: the batch is columnar."""
    data = _encode("det", _batch(1000))
    assert len(data) < 1000 * (9 * 8 + 8 + 8 + 2) + 500  # floats, sequence, label, sensor


@pytest.mark.parametrize("n", [0, 1, 9])
def test_picture_delta_round_trip(n):
    rows = _rows(n)
    delta = PictureDelta.from_rows(rows, nation="USA", through_s=1.79e9 + 5, final=n == 9)
    _, payload = decode_message(_encode("pic", delta, nation="USA"))
    back = payload.to_rows()
    for name in ("t_s", "x", "cov_pos", "track_id", "kind", "status", "nations"):
        np.testing.assert_array_equal(getattr(back, name), getattr(rows, name))
    assert payload.final == (n == 9) and payload.through_s == 1.79e9 + 5


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("hb", Heartbeat(recipient="AUS", clock_s=1.79e9)),
        ("hb", Heartbeat(recipient="AUS", clock_s=math.inf, final=True)),
    ],
)
def test_small_kinds_round_trip(kind, payload):
    envelope, back = decode_message(_encode(kind, payload))
    assert envelope.kind == kind and back == payload


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**63 - 1),
    sent_ns=st.integers(0, 2**63 - 1),
    sender=st.text(min_size=1, max_size=64),
)
def test_round_trip_property(n, seed, seq, sent_ns, sender):
    batch = _batch(n, seed)
    envelope, back = decode_message(_encode("det", batch, seq=seq, sent_ns=sent_ns, sender=sender))
    assert back == batch
    assert (envelope.seq, envelope.sent_ns, envelope.sender) == (seq, sent_ns, sender)


# ---------------------------------------------------------------------------- rejections
def _reason(data: bytes) -> MessageError:
    with pytest.raises(MessageError) as info:
        decode_message(data, source="air.det.JPN.USA #7")
    assert isinstance(info.value, DataError)
    assert str(info.value).startswith("air.det.JPN.USA #7")
    return info.value


def test_unknown_version_is_named():
    err = _reason(_raw_envelope(version=1))
    assert err.reason == "version"
    assert f"expected schema version {SCHEMA_VERSION}, got 1" in str(err)


def test_a_future_envelope_shape_still_reports_its_version():
    err = _reason(msgspec.msgpack.encode([9, "hb", "x", "JPN", 1, 1, b"", b"", "new field"]))
    assert err.reason == "version"


def test_unknown_kind_is_named():
    err = _reason(_raw_envelope(kind="track"))
    assert err.reason == "kind" and "'track'" in str(err)


def test_every_truncation_is_rejected():
    data = _encode("det", _batch(3))
    for cut in range(len(data)):
        assert _reason(data[:cut]).reason in ("truncated", "malformed")
    assert _reason(data[:-1]).reason == "truncated"


def test_oversized_message():
    err = _reason(b"\x00" * (MAX_MESSAGE_BYTES + 1))
    assert err.reason == "size"


def test_wrong_column_length():
    batch = _batch(4)
    bad = msgspec.structs.replace(batch, t_s=batch.t_s[:-8])
    err = _reason(_encode("det", bad))
    assert (err.reason, err.column) == ("length", "t_s")
    assert "expected 4 values of 8 bytes, got 24 bytes" in str(err)
    odd = msgspec.structs.replace(batch, sensor_ref=batch.sensor_ref + b"\x00")
    assert _reason(_encode("det", odd)).reason == "length"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("t_s", math.nan, "non-finite"),
        ("azimuth_rad", math.inf, "non-finite"),
        ("sensor_alt_m", -math.inf, "non-finite"),
        ("range_m", math.inf, "non-finite"),
        ("azimuth_rad", 7.0, "range"),
        ("elevation_rad", 2.0, "range"),
        ("range_m", -5.0, "range"),
        ("arrival_s", 3e9, "range"),
        # the detections table's rules, as in files
        ("azimuth_rad", 2 * math.pi, "range"),
        ("azimuth_rad", 1e308, "range"),  # too large for degrees: refused, not an overflow
        ("elevation_rad", math.nan, "non-finite"),
        ("sensor_lon_rad", 3.5, "range"),
        ("range_rate_mps", -math.inf, "non-finite"),
    ],
)
def test_bad_values(column, value, reason):
    batch = _batch(3, seed=1)
    values = np.frombuffer(getattr(batch, column), "<f8").copy()
    values[1] = value
    bad = msgspec.structs.replace(batch, **{column: values.astype("<f8").tobytes()})
    err = _reason(_encode("det", bad))
    assert (err.reason, err.column) == (reason, column)
    if column.endswith("_rad"):  # the rule is told in the file's degrees
        assert f"(as {column.removesuffix('_rad')}_deg)" in err.expected


def test_nan_range_is_allowed_for_angle_only_sensors():
    batch = _batch(3, seed=2)
    values = np.frombuffer(batch.range_m, "<f8").copy()
    values[:] = np.nan
    decode_message(_encode("det", msgspec.structs.replace(batch, range_m=values.tobytes())))


def test_bad_clock_and_references():
    batch = _batch(3)
    assert (
        _reason(_encode("det", msgspec.structs.replace(batch, clock_s=math.nan))).reason
        == "non-finite"
    )
    ref = np.frombuffer(batch.sensor_ref, "<u2").copy()
    ref[0] = len(batch.sensor_ids)
    assert (
        _reason(_encode("det", msgspec.structs.replace(batch, sensor_ref=ref.tobytes()))).reason
        == "range"
    )
    seq = np.full(3, 1 << ROW_SEQ_BITS, "<u8")
    assert (
        _reason(_encode("det", msgspec.structs.replace(batch, sensor_seq=seq.tobytes()))).reason
        == "range"
    )
    assert (
        _reason(_encode("hb", Heartbeat(recipient="USA", clock_s=math.inf))).reason == "non-finite"
    )


def test_unknown_sensor_is_reported_on_unpacking():
    batch = msgspec.structs.replace(_batch(3), sensor_ids=["XXX-9"] * len(_batch(3).sensor_ids))
    _, payload = decode_message(_encode("det", batch))
    with pytest.raises(MessageError, match="XXX-9") as info:
        payload.to_detections(SENSORS, SPACE, source="batch")
    assert info.value.reason == "sensor"


def test_payload_of_the_wrong_shape():
    envelope = Envelope(
        version=SCHEMA_VERSION,
        kind="det",
        sender="a",
        nation="JPN",
        seq=1,
        sent_ns=1,
        payload=msgspec.msgpack.encode(Heartbeat(recipient="USA", clock_s=1.0)),
    )
    err = _reason(msgspec.msgpack.encode(envelope))
    assert err.reason == "malformed" and err.column == "payload"


@pytest.mark.parametrize(
    ("kind", "payload", "nation", "column", "got"),
    [
        ("hb", Heartbeat(recipient="jpn", clock_s=1.0), "JPN", "recipient", "'jpn'"),
        ("hb", Heartbeat(recipient="USA", clock_s=1.0), "ÉÄÖ", "nation", "'ÉÄÖ'"),
    ],
)
def test_a_name_that_is_no_nation_code_is_refused_where_it_is(kind, payload, nation, column, got):
    """The payload types' constraints (a nation code's pattern) name the field and the value."""
    err = _reason(_encode(kind, payload, nation=nation))
    assert (err.reason, err.column, err.got) == ("range", column, got)
    assert "[A-Z]{3}" in err.expected


def test_bad_picture_delta():
    rows = _rows(3)
    delta = PictureDelta.from_rows(rows, nation="USA", through_s=1.0)
    assert (
        _reason(_encode("pic", msgspec.structs.replace(delta, track_id=["T1"]))).reason == "length"
    )
    assert (
        _reason(_encode("pic", msgspec.structs.replace(delta, status_labels=["lost"] * 4))).reason
        == "range"
    )
    # the values are checked by the tracks table's schema, as a tracks file would be
    bad_x = np.frombuffer(delta.x, "<f8").copy()
    bad_x[4] = np.inf
    err = _reason(_encode("pic", msgspec.structs.replace(delta, x=bad_x.tobytes())))
    assert (err.reason, err.column) == ("non-finite", "vy_mps")
    err = _reason(_encode("pic", msgspec.structs.replace(delta, nations_labels=["JPN", "jpn"])))
    assert (err.reason, err.column) == ("range", "nations")
    network = replace(
        rows, local_id=rows.track_id, sources=np.full(3, "JPN:plots"), quality=np.full(3, 7)
    )
    ok = PictureDelta.from_rows(network, nation="USA", through_s=1.0)
    err = _reason(_encode("pic", msgspec.structs.replace(ok, quality=bytes([7, 16, 7]))))
    assert (err.reason, err.column) == ("range", "quality")


def test_encoding_a_mismatched_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind"):
        encode_message(
            "det", Heartbeat(recipient="USA", clock_s=1.0), sender="a", nation="JPN", seq=1
        )


# ---------------------------------------------------------------------------- fuzzing
@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_message_errors(data):
    try:
        decode_message(data)
    except MessageError:
        pass


_VALID = [
    _encode("det", _batch(4)),
    _encode("hb", Heartbeat(recipient="USA", clock_s=1.0)),
    _encode("pic", PictureDelta.from_rows(_rows(2), nation="USA", through_s=1.0)),
    _encode(
        "coord",
        CoordinationAction(
            recipient="USA",
            origin="JPN",
            operator="alice",
            action_id="JPN-1",
            t_s=1.0,
            action="note",
            track_id="JPN1-7",
            note="two launchers",
        ),
    ),
]


@settings(max_examples=400)
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_corrupted_messages_raise_only_message_errors(data, flips):
    mutable = bytearray(data)
    for position, value in flips:
        mutable[position % len(mutable)] = value
    try:
        decode_message(bytes(mutable))
    except MessageError:
        pass
