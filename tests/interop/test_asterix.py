"""airpicture's ASTERIX codec against the real other side: the sample recordings that the
third-party ``asterix-decoder`` ships (read in place from its installed package, not copied:
they are under its GPL), decoded by both and compared field by field; and what airpicture
encodes (CAT062, CAT048) read back by ``asterix-decoder``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from airpicture.interop import (
    DecodeReport,
    RadarPlot,
    SystemTrack,
    encode_cat048,
    encode_cat062,
    encode_datablock,
    iter_pcap,
    iter_records,
    read_cat034,
    read_cat048,
    read_cat062,
)
from tests.interop.conftest import asterix_decoder

NM_M = 1852.0


def _records(data: bytes, name: str = "sample"):
    report = DecodeReport()
    return list(iter_records(data, source=name, report=report)), report


def _pcap_payloads(path: str) -> list[bytes]:
    report = DecodeReport()
    payloads = [p.payload for p in iter_pcap(Path(path).read_bytes(), source=path, report=report)]
    assert report.n_skipped == 0
    return payloads


def _compare_cat048(ours, theirs):
    plot = read_cat048(ours)
    if plot is None:  # a track-only record (no plot position): nothing to compare
        assert "I040" not in theirs
        return
    assert (plot.sac, plot.sic) == (theirs["I010"]["SAC"]["val"], theirs["I010"]["SIC"]["val"])
    assert plot.time_of_day_s == pytest.approx(theirs["I140"]["ToD"]["val"], abs=1 / 128)
    assert plot.range_m / NM_M == pytest.approx(theirs["I040"]["RHO"]["val"], abs=1 / 256)
    assert plot.azimuth_deg == pytest.approx(theirs["I040"]["THETA"]["val"], abs=360 / 2**16)
    if "I070" in theirs and theirs["I070"]["V"]["val"] == 0:
        assert plot.mode3a == theirs["I070"]["Mode3A"]["val"]
    if "I090" in theirs and theirs["I090"]["V"]["val"] == 0:
        assert plot.flight_level == pytest.approx(theirs["I090"]["FL"]["val"], abs=0.25)
    if "I220" in theirs:
        assert plot.address == theirs["I220"]["ACAddr"]["val"]
    if "I240" in theirs:
        assert (plot.callsign or "") == theirs["I240"]["TId"]["val"].rstrip()
    if "I161" in theirs:
        assert plot.track_number == theirs["I161"]["Tn"]["val"]


def test_cat048_sample_file_field_for_field():
    asterix = asterix_decoder()
    data = Path(asterix.get_sample_file("cat048.raw")).read_bytes()
    ours, report = _records(data)
    theirs = asterix.parse(data)
    assert report.n_skipped == 0 and len(ours) == len(theirs) == 1
    _compare_cat048(ours[0], theirs[0])
    plot = read_cat048(ours[0])
    assert (plot.callsign, plot.address, plot.mode3a, plot.flight_level) == (
        "DLH65A",
        "3C660C",
        "1000",
        330.0,
    )


def test_cat034_and_cat048_capture_every_record_field_for_field():
    asterix = asterix_decoder()
    n = {34: 0, 48: 0}
    for payload in _pcap_payloads(asterix.get_sample_file("cat_034_048.pcap")):
        ours, report = _records(payload)
        theirs = asterix.parse(payload)
        assert report.n_skipped == 0
        assert [r.category for r in ours] == [t["category"] for t in theirs]
        for mine, other in zip(ours, theirs, strict=True):
            n[mine.category] += 1
            assert sorted(mine.items) == sorted(k[1:] for k in other if k.startswith("I"))
            if mine.category == 48:
                _compare_cat048(mine, other)
            else:
                service = read_cat034(mine)
                assert service is not None
                assert service.time_of_day_s == pytest.approx(other["I030"]["ToD"]["val"])
                if "I020" in other:
                    assert service.sector_deg == pytest.approx(other["I020"]["Azi"]["val"])
    assert n == {34: 34, 48: 128}


def test_cat062_capture_field_for_field():
    asterix = asterix_decoder()
    payloads = _pcap_payloads(asterix.get_sample_file("cat_062_065.pcap"))
    checked = 0
    for payload in payloads:
        ours, report = _records(payload)
        assert report.skipped == {"unsupported category": 1}  # the CAT065 block
        theirs = [t for t in asterix.parse(payload) if t["category"] == 62]
        for mine, other in zip(ours, theirs, strict=True):
            tr = read_cat062(mine)
            assert tr is not None
            assert tr.track_number == other["I040"]["TrkN"]["val"]
            assert tr.lat_deg == pytest.approx(other["I105"]["Lat"]["val"], abs=1e-9)
            assert tr.lon_deg == pytest.approx(other["I105"]["Lon"]["val"], abs=1e-9)
            assert tr.v_east_mps == pytest.approx(other["I185"]["Vx"]["val"])
            assert tr.v_north_mps == pytest.approx(other["I185"]["Vy"]["val"])
            assert tr.mode3a == other["I060"]["Mode3A"]["val"]
            assert tr.height_m / 0.3048 == pytest.approx(other["I130"]["Alt"]["val"], abs=0.01)
            assert tr.flight_level == pytest.approx(other["I136"]["MFL"]["val"] / 100)  # ft
            if "I380" in other:
                assert tr.address == other["I380"]["ADR"]["ADR"]["val"]
            checked += 1
    assert checked == 2


def _track(**changes) -> SystemTrack:
    base = dict(
        sac=25,
        sic=7,
        track_number=4321,
        time_of_day_s=45_000.5,
        lat_deg=35.123456,
        lon_deg=139.654321,
        height_m=10_500.0,
        flight_level=340.0,
        v_east_mps=-120.25,
        v_north_mps=201.5,
        v_up_mps=-5.0,
        address="86D2A1",
        callsign="JAL123",
        mode3a="7700",
        sigma_east_m=55.5,
        sigma_north_m=80.0,
        sigma_height_m=38.1,
        tentative=False,
        ended=False,
    )
    base.update(changes)
    return SystemTrack(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "track",
    [
        _track(),
        _track(tentative=True, callsign=None, address=None),
        _track(ended=True, lat_deg=-33.9, lon_deg=-151.2, v_up_mps=None, sigma_height_m=None),
    ],
)
def test_cat062_written_by_airpicture_reads_back_in_asterix_decoder(track):
    asterix = asterix_decoder()
    data = encode_datablock(62, [encode_cat062(track)])
    (other,) = asterix.parse(data)
    assert other["category"] == 62 and other["len"] == len(data) - 3
    assert (other["I010"]["SAC"]["val"], other["I010"]["SIC"]["val"]) == (25, 7)
    assert other["I040"]["TrkN"]["val"] == 4321
    assert other["I070"]["ToT"]["val"] == pytest.approx(track.time_of_day_s, abs=1 / 128)
    assert other["I105"]["Lat"]["val"] == pytest.approx(track.lat_deg, abs=180 / 2**25)
    assert other["I105"]["Lon"]["val"] == pytest.approx(track.lon_deg, abs=180 / 2**25)
    assert other["I185"]["Vx"]["val"] == pytest.approx(track.v_east_mps, abs=0.125)
    assert other["I185"]["Vy"]["val"] == pytest.approx(track.v_north_mps, abs=0.125)
    assert other["I130"]["Alt"]["val"] == pytest.approx(track.height_m / 0.3048, abs=3.125)
    # asterix-decoder gives the measured flight level in feet
    assert other["I136"]["MFL"]["val"] / 100 == pytest.approx(track.flight_level, abs=0.125)
    assert other["I060"]["Mode3A"]["val"] == track.mode3a
    assert other["I080"]["CNF"]["val"] == int(track.tentative)
    assert other["I080"]["TSE"]["val"] == int(track.ended)
    if track.callsign:
        assert other["I245"]["TId"]["val"].rstrip() == track.callsign
        assert other["I380"]["ID"]["ACID"]["val"].rstrip() == track.callsign
        assert other["I380"]["ADR"]["ADR"]["val"] == track.address
    else:
        assert "I245" not in other and "I380" not in other
    assert other["I500"]["APC"]["APC_X"]["val"] == pytest.approx(track.sigma_east_m, abs=0.25)
    assert other["I500"]["APC"]["APC_Y"]["val"] == pytest.approx(track.sigma_north_m, abs=0.25)
    if track.v_up_mps is not None:
        assert other["I220"]["RoC"]["val"] == pytest.approx(track.v_up_mps / 0.3048 * 60, abs=3.2)
    # and airpicture reads its own output back the same
    (mine,), report = _records(data)
    back = read_cat062(mine)
    assert report.n_skipped == 0 and back is not None
    assert back.callsign == track.callsign and back.address == track.address
    assert back.tentative == track.tentative and back.ended == track.ended


def test_cat048_written_by_airpicture_reads_back_in_asterix_decoder():
    asterix = asterix_decoder()
    plot = RadarPlot(
        sac=25,
        sic=1,
        time_of_day_s=3_600.25,
        range_m=123_456.0,
        azimuth_deg=271.5,
        kind="modes",
        mode3a="7600",
        flight_level=-2.5,
        height_m=None,
        address="A1B2C3",
        callsign="UAL837",
        track_number=77,
        simulated=False,
        test=False,
    )
    data = encode_datablock(48, [encode_cat048(plot)])
    (other,) = asterix.parse(data)
    (mine,), _ = _records(data)
    _compare_cat048(mine, other)
    assert other["I090"]["FL"]["val"] == -2.5
    assert other["I020"]["TYP"]["val"] == 5


def test_pcap_times_give_the_day_of_asterix_times_of_day(tmp_path):
    asterix = asterix_decoder()
    from airpicture.interop import SiteConfig, ingest
    from airpicture.io import read_detections, read_sensors

    site = SiteConfig("R1", "NLD", 52.0, 5.0, 10.0)  # any site: the sample names none
    result = ingest(
        asterix.get_sample_file("cat_034_048.pcap"), tmp_path, fmt="asterix", sites=[site]
    )
    sensors = read_sensors(tmp_path / "sensors.csv")
    det = read_detections(tmp_path / "detections.csv", sensors)
    capture_t = 1462433756.95  # the capture's last packet, 2016-05-05
    assert len(det) == result.n_detections > 0
    assert np.all(np.abs(det.t_s - capture_t) < 600)
    assert result.report.skipped.keys() <= {"no height"}
    assert math.isclose(result.report.records, len(det))


def test_angles_and_times_wrap_at_their_ends():
    plot = RadarPlot(
        1, 2, 86_399.999, 1000.0, 359.9999, "psr", None, None, None, None, None, None, False, False
    )
    (record,), _ = _records(encode_datablock(48, [encode_cat048(plot)]))
    back = read_cat048(record)
    assert back is not None and back.azimuth_deg == 0.0 and back.time_of_day_s == 0.0
