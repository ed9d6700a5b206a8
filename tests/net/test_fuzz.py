"""Bounded fuzzing of every edge that parses outside input: the message decoder, the signature
verifier and the data-contract file readers. Hostile input may be refused with the project's
errors (a ``MessageError``, ``DataError`` or ``ConfigError``) and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.errors import AirpictureError
from airpicture.io import (
    iter_detections,
    read_sensors,
    read_tracks,
    read_truth,
    write_tracks,
    write_truth,
)
from airpicture.net import (
    Heartbeat,
    MessageError,
    Signer,
    Trust,
    Verifier,
    decode_message,
    encode_message,
    init_keys,
    load_signing_key,
    nation_paths,
)
from airpicture.tables import Truth
from tests.net.synthetic import synthetic_scenario

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SCENARIO = synthetic_scenario(n_targets=2, duration_s=6.0, seed=1)
_KEYS = Path(tempfile.mkdtemp(prefix="airpicture-fuzz-keys-")) / "keys"
init_keys(_KEYS, ["JPN", "USA"])
_SIGNER = Signer("USA", "usa-node", load_signing_key(nation_paths(_KEYS, "USA").signing_key))
_VERIFIER = Verifier(Trust.load(_KEYS / "trust.json"))
_VALID_HB = Heartbeat(recipient="JPN", clock_s=1.0)
_VALID = [
    encode_message(
        "hb",
        _VALID_HB,
        sender="usa-node",
        nation="USA",
        seq=1,
        subject="air.hb.USA.JPN",
        signer=_SIGNER.sign,
    )
]


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    if cut is not None:
        out = out[: cut % (len(out) + 1)]
    return bytes(out)


_edits = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)


@_SETTINGS
@given(st.binary(max_size=2048))
def test_decoder_and_verifier_refuse_random_bytes_cleanly(data):
    for check in (lambda: decode_message(data), lambda: _VERIFIER.verify(data, "air.hb.USA.JPN")):
        try:
            check()
        except MessageError:
            pass


@_SETTINGS
@given(st.sampled_from(_VALID), _edits, st.none() | st.integers(0, 10**6))
def test_decoder_and_verifier_refuse_mutated_messages_cleanly(data, edits, cut):
    mutated = _mutate(data, edits, cut)
    try:
        decode_message(mutated)
    except MessageError:
        pass
    try:
        _VERIFIER.verify(mutated, "air.hb.USA.JPN")
    except MessageError:
        return
    # Whatever verifies is the genuine message (a signature forbids any change).
    assert mutated == data


@_SETTINGS
@given(
    st.lists(
        st.one_of(
            st.integers(-(2**63), 2**64 - 1),
            st.floats(allow_nan=True),
            st.text(max_size=20),
            st.binary(max_size=40),
            st.none(),
            st.booleans(),
        ),
        max_size=9,
    )
)
def test_decoder_refuses_structured_garbage_cleanly(fields):
    try:
        decode_message(msgspec.msgpack.encode(fields))
    except MessageError:
        pass


# ---------------------------------------------------------------------------- file readers
def _samples() -> dict[str, bytes]:
    folder = Path(tempfile.mkdtemp(prefix="airpicture-fuzz-"))
    _SCENARIO.write(folder)
    rows = np.arange(3, dtype=float)
    truth = Truth(
        t_s=rows,
        object_id=np.array(["a", "a", "b"]),
        kind=np.array(["aircraft"] * 3),
        x=np.tile([4e6, 3e6, 4e6, 100.0, 0.0, 0.0], (3, 1)),
    )
    write_truth(folder / "truth.csv", truth)
    from airpicture.tracker import Tracker, TrackerConfig

    picture = Tracker(_SCENARIO.sensors, TrackerConfig()).run([_SCENARIO.detections])
    write_tracks(folder / "tracks.csv", picture.take(np.arange(min(20, len(picture)))))
    detections = (folder / "detections.csv").read_bytes().splitlines(keepends=True)[:40]
    return {
        "sensors": (folder / "sensors.csv").read_bytes(),
        "detections": b"".join(detections),
        "truth": (folder / "truth.csv").read_bytes(),
        "tracks": (folder / "tracks.csv").read_bytes(),
    }


_SAMPLES = _samples()
_WORK = Path(tempfile.mkdtemp(prefix="airpicture-fuzz-files-"))


def _load(kind: str, data: bytes) -> int:
    """Read ``data`` as a file of ``kind``; the number of rows read (raises what the reader
    raises)."""
    path = _WORK / f"{kind}.csv"
    path.write_bytes(data)
    if kind == "sensors":
        return len(read_sensors(path))
    if kind == "detections":
        return sum(len(c) for c in iter_detections(path, _SCENARIO.sensors, chunk_rows=7))
    if kind == "truth":
        return len(read_truth(path))
    return len(read_tracks(path))


def _read(kind: str, data: bytes) -> None:
    """Read ``data`` as a file of ``kind``; a refusal with the project's errors is fine."""
    try:
        _load(kind, data)
    except AirpictureError:
        pass


def test_the_message_seeds_decode_and_verify_and_garbage_does_not():
    # The mutation tests start from these: were they refused already, every mutant would be too.
    for data in _VALID:
        envelope, payload = decode_message(data)
        assert (envelope.kind, envelope.nation, payload) == ("hb", "USA", _VALID_HB)
        assert _VERIFIER.verify(data, "air.hb.USA.JPN") == envelope
    for garbage in (b"", b"\x93garbage", _VALID[0][:-9], bytes(reversed(_VALID[0]))):
        with pytest.raises(MessageError):
            decode_message(garbage)
        with pytest.raises(MessageError):
            _VERIFIER.verify(garbage, "air.hb.USA.JPN")


@pytest.mark.parametrize("kind", sorted(_SAMPLES))
def test_the_samples_are_valid_and_garbage_is_refused(kind):
    # The mutation tests start from these: were they refused already, every mutant would be too.
    lines = _SAMPLES[kind].count(b"\n") - 1  # a header, then one row per line
    assert lines > 1 and _load(kind, _SAMPLES[kind]) == lines
    header = _SAMPLES[kind].split(b"\n", 1)[0] + b"\n"
    for garbage in (b"", b"\x93garbage\n", header + b"garbage\n", header + b"1,x,nan,y\n"):
        with pytest.raises(AirpictureError):
            _load(kind, garbage)


# pyarrow decodes a rejected row as UTF-8 before calling the reader's invalid-row handler; on
# invalid UTF-8 that fails inside pyarrow ("exception ignored"), and the reader still ends with a
# DataError. The ignored exception is pyarrow's, so it is not an error here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_SAMPLES)), _edits, st.none() | st.integers(0, 10**6))
def test_file_readers_refuse_mutated_files_cleanly(kind, edits, cut):
    _read(kind, _mutate(_SAMPLES[kind], edits, cut))


_csv_bytes = st.lists(
    st.sampled_from(
        [
            b",",
            b"\n",
            b"\r",
            b'"',
            b"nan",
            b"inf",
            b"-1e309",
            b"1",
            b"JPN-R1",
            b"\x00",
            b"\xff",
            b"radar",
            b" ",
        ]
    ),
    max_size=60,
).map(b"".join)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_SAMPLES)), _csv_bytes)
def test_file_readers_refuse_garbage_after_a_valid_header_cleanly(kind, tail):
    header = _SAMPLES[kind].split(b"\n", 1)[0] + b"\n"
    _read(kind, header + tail)


def test_coverage_guided_fuzzing_of_the_decoder(tmp_path):
    """libFuzzer through atheris, from valid messages of several kinds, for a bounded run."""
    pytest.importorskip("atheris")
    import subprocess
    import sys

    from tests.net.test_messages import _VALID as SEEDS

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, data in enumerate([*SEEDS, *_VALID]):
        (corpus / f"seed-{i}").write_bytes(data)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.net.fuzz_decoder",
            "-runs=200000",
            "-max_len=65536",
            "-seed=1",
            str(corpus),
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 200000 runs" in done.stderr
