"""Every decoder is an edge: random bytes, truncated and mutated records never raise (only a
pcap file that is no pcap file at all is refused, with a DataError), and everything skipped is
counted with a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.errors import DataError
from airpicture.interop import (
    DecodeReport,
    RadarPlot,
    encode_cat048,
    encode_datablock,
    iter_avr,
    iter_beast,
    iter_pcap,
    iter_records,
    iter_sbs,
    read_cat021,
    read_cat034,
    read_cat048,
    read_cat062,
)
from airpicture.interop._sample import write_sample_recordings

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_READERS = {21: read_cat021, 34: read_cat034, 48: read_cat048, 62: read_cat062}


def _decode_all(data: bytes) -> DecodeReport:
    report = DecodeReport()
    for record in iter_records(data, source="fuzz", report=report):
        _READERS[record.category](record)
    return report


_PLOT = RadarPlot(
    25, 1, 100.0, 50_000.0, 45.0, "modes", "1234", 350.0, None, "ABCDEF", "TEST1", 12, False, False
)
_VALID = encode_datablock(48, [encode_cat048(_PLOT)] * 3)


@_SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    report = _decode_all(data)
    assert all(reason for reason in report.skipped)


@_SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    st.integers(0, 200),
    st.sampled_from([21, 34, 48, 62, 1]),
)
def test_mutated_and_truncated_records(edits, cut, category):
    data = bytearray(_VALID)
    data[0] = category
    for pos, value in edits:
        data[pos % len(data)] = value
    _decode_all(bytes(data[: max(cut, 0)]))
    _decode_all(bytes(data))


def test_each_kind_of_damage_is_counted_with_its_reason():
    report = _decode_all(
        _VALID[:-4]  # the datablock's length runs past the end
        + b""
    )
    assert report.skipped == {"bad length": 1}
    lying = bytearray(_VALID)
    lying[2] -= 4  # the datablock ends inside its last record
    report = _decode_all(bytes(lying[:-4]) + b"\x99\x00\x04\x00")
    assert report.skipped == {"truncated item": 1, "unsupported category": 1}
    spare = encode_datablock(62, [b"\x40"])  # FSPEC names FRN 2, a spare item of CAT062
    assert _decode_all(spare).skipped == {"unknown item": 1}


@_SETTINGS
@given(st.binary(max_size=2048))
def test_beast_and_text_formats(data):
    report = DecodeReport()
    list(iter_beast(data, source="fuzz", report=report, start_t_s=0.0))
    text = data.decode("latin-1").splitlines()
    list(iter_avr(enumerate(text), source="fuzz", report=report))
    list(iter_sbs(enumerate(text), source="fuzz", report=report))


@_SETTINGS
@given(st.binary(max_size=2048))
def test_pcap(data):
    report = DecodeReport()
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    for candidate in (data, header + data):
        try:
            list(iter_pcap(candidate, source="fuzz", report=report))
        except DataError:
            assert candidate is data


def test_ingest_counts_a_damaged_recording_and_keeps_the_rest(tmp_path):
    from airpicture.interop import ingest

    rec = write_sample_recordings(tmp_path / "rec", duration_s=40.0)
    clean = ingest(
        rec.asterix, tmp_path / "clean", fmt="asterix", sites=list(rec.sites), date=rec.date
    )
    data = bytearray(rec.asterix.read_bytes())
    # one datablock made to lie about its length: the rest of that read is lost, counted once
    damaged = tmp_path / "damaged.ast"
    damaged.write_bytes(bytes(data[:-50]) + b"\x30\x00\x02" + bytes(data[-50:]))
    dirty = ingest(damaged, tmp_path / "dirty", fmt="asterix", sites=list(rec.sites), date=rec.date)
    assert dirty.report.skipped["bad length"] == 1
    assert 0 < clean.n_detections - dirty.n_detections <= 3


def test_coverage_guided_fuzzing_of_the_decoders(tmp_path):
    """libFuzzer through atheris over every decoder, for a bounded run."""
    pytest.importorskip("atheris")
    rec = write_sample_recordings(tmp_path / "rec", duration_s=12.0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, (tag, path) in enumerate([(0, rec.asterix), (1, rec.beast)]):
        (corpus / f"seed-{i}").write_bytes(bytes([tag]) + path.read_bytes()[:800])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.interop.fuzz_interop",
            "-runs=3000",
            "-max_len=1024",
            "-seed=1",
            str(corpus),
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 3000 runs" in done.stderr
