"""Mode S / ADS-B: known messages with their published decodings (The 1090 MHz Riddle,
Sun 2021, the examples pyModeS documents), CPR resolution by pairs and by references, the
receiver framings, and airpicture's message writer read back by pyModeS (an independent
decoder)."""

from __future__ import annotations

import math

import pytest

from airpicture.interop import (
    CprResolver,
    DecodeReport,
    ModeSDecoder,
    RawMessage,
    adsb_identification,
    adsb_position,
    beast_frame,
    emergency_of_squawk,
    identity_reply,
    iter_avr,
    iter_beast,
    iter_sbs,
)

pyModeS = pytest.importorskip("pyModeS")

EVEN = "8D40621D58C382D690C8AC2863A7"
ODD = "8D40621D58C386435CC412692AD6"


def _decoder(**kw) -> tuple[ModeSDecoder, DecodeReport]:
    report = DecodeReport()
    return ModeSDecoder(report=report, source="test", **kw), report


def test_published_identification_and_position_pair():
    decoder, report = _decoder()
    assert decoder.feed(RawMessage("8D4840D6202CC371C32CE0576098", 0.0, 0)) is None
    # the book's pair: the even frame is the newer, at t = 1457996402, the odd at ...400
    assert decoder.feed(RawMessage(ODD, 1457996400.0, 1)) is None
    rep = decoder.feed(RawMessage(EVEN, 1457996402.0, 2))
    assert rep is not None
    assert (rep.lat_deg, rep.lon_deg) == pytest.approx((52.2572, 3.9194), abs=1e-4)
    assert rep.altitude_m == pytest.approx(38000 * 0.3048)
    assert rep.t_s == 1457996402.0 and rep.address == "40621D"
    assert report.records == 1 and report.n_skipped == 0


def test_pair_order_by_time_not_arrival():
    decoder, _ = _decoder()
    decoder.feed(RawMessage(EVEN, 1457996402.0, 0))
    rep = decoder.feed(RawMessage(ODD, 1457996400.0, 1))  # arrives later, is older
    assert rep is not None and rep.t_s == 1457996402.0
    assert (rep.lat_deg, rep.lon_deg) == pytest.approx((52.2572, 3.9194), abs=1e-4)


def test_single_frame_against_the_receiver_reference():
    decoder, _ = _decoder(reference=(52.258, 3.918), receiver_range_m=200_000.0)
    rep = decoder.feed(RawMessage(EVEN, 10.0, 0))
    assert rep is not None
    assert (rep.lat_deg, rep.lon_deg) == pytest.approx((52.2572, 3.9194), abs=1e-4)


def test_no_receiver_reference_beyond_180_nm():
    # a receiver that may hear past 180 NM cannot decode one frame alone: it waits for a pair
    decoder, report = _decoder(reference=(52.258, 3.918), receiver_range_m=400_000.0)
    assert decoder.feed(RawMessage(EVEN, 10.0, 0)) is None
    assert report.ignored["waiting for the other CPR frame"] == 1


def test_pairs_too_far_apart_in_time_are_not_paired():
    decoder, report = _decoder()
    decoder.feed(RawMessage(ODD, 0.0, 0))
    assert decoder.feed(RawMessage(EVEN, 11.0, 1)) is None
    assert report.ignored["waiting for the other CPR frame"] == 2


@pytest.mark.parametrize(
    ("lat", "lon"), [(35.5, 139.7), (-33.9, 151.2), (0.01, -0.01), (64.1, -21.9), (52.2, 179.99)]
)
def test_written_positions_read_back_by_pymodes_and_resolved(lat, lon):
    even = adsb_position("ABCDEF", lat, lon, 31_000, odd=0)
    odd = adsb_position("ABCDEF", lat, lon, 31_000, odd=1)
    for msg in (even, odd):
        d = pyModeS.decode(msg, reference=(lat + 0.5, lon - 0.5))
        assert d["crc_valid"] is True and d["altitude"] == 31_000
        assert (d["latitude"], d["longitude"]) == pytest.approx((lat, lon), abs=2e-4)
    decoder, _ = _decoder()
    decoder.feed(RawMessage(even, 100.0, 0))
    rep = decoder.feed(RawMessage(odd, 100.5, 1))
    assert rep is not None and (rep.lat_deg, rep.lon_deg) == pytest.approx((lat, lon), abs=2e-4)


def test_written_identification_and_reply_read_back_by_pymodes():
    assert adsb_identification("4840D6", "KLM1023") == "8D4840D6202CC371C32CE0576098"
    reply = identity_reply("4840D6", "7700")
    d = pyModeS.decode(reply)
    assert d["df"] == 5 and d["squawk"] == "7700" and d["icao"] == "4840D6"


def test_identity_and_emergency_ride_on_positions():
    decoder, report = _decoder()
    # a DF5 reply from an address never heard on DF11/17/18 is not believed
    assert decoder.feed(RawMessage(identity_reply("40621D", "7500"), 0.0, 0)) is None
    assert report.ignored["DF5 from an address not heard on DF11/17/18"] == 1
    decoder.feed(RawMessage(adsb_identification("40621D", "TEST12"), 0.5, 1))
    decoder.feed(RawMessage(identity_reply("40621D", "7700"), 1.0, 2))
    decoder.feed(RawMessage(ODD, 1.0, 3))
    rep = decoder.feed(RawMessage(EVEN, 1.5, 4))
    assert rep is not None
    assert (rep.callsign, rep.squawk, rep.emergency) == ("TEST12", "7700", "general")


def test_emergency_squawks():
    assert [emergency_of_squawk(s) for s in ("7500", "7600", "7700", "2000", None)] == [
        "unlawful-interference",
        "no-communications",
        "general",
        None,
        None,
    ]


def test_bad_messages_are_counted_with_their_place():
    decoder, report = _decoder()
    for i, text in enumerate(["zz", "8D4840D6", "8D4840D6202CC371C32CE0576099"]):
        assert decoder.feed(RawMessage(text, 1.0, i)) is None
    assert report.skipped == {"bad message": 2, "CRC error": 1}
    assert [e.offset for e in report.examples] == [0, 1, 2]


def test_inconsistent_positions_are_refused():
    cpr = CprResolver()
    e = adsb_position("ABCDEF", 35.0, 139.0, 30_000, odd=0)
    o = adsb_position("ABCDEF", 35.0, 139.0, 30_000, odd=1)
    d_e, d_o = pyModeS.decode(e), pyModeS.decode(o)
    assert isinstance(cpr.resolve("ABCDEF", 0.0, 0, d_e["cpr_lat"], d_e["cpr_lon"]), str)
    assert isinstance(cpr.resolve("ABCDEF", 0.5, 1, d_o["cpr_lat"], d_o["cpr_lon"]), tuple)
    far = pyModeS.decode(adsb_position("ABCDEF", 36.0, 139.0, 30_000, odd=0))
    # 111 km in one second: refused, and the aircraft starts afresh
    assert cpr.resolve("ABCDEF", 1.5, 0, far["cpr_lat"], far["cpr_lon"]) == (
        "inconsistent CPR position"
    )


def test_beast_framing_with_escapes_and_damage():
    msg = adsb_position("1A1A1A", 35.0, 139.0, 30_000, odd=0)  # the address holds 0x1A bytes
    good = beast_frame(msg, 1.5)
    assert good.count(b"\x1a\x1a") >= 3
    report = DecodeReport()
    data = b"junk" + good + good[:9] + good + b"\x1a\x39" + beast_frame(msg, 2.0)
    out = list(iter_beast(data, source="b", report=report, start_t_s=100.0))
    assert [m.hex for m in out] == [msg, msg, msg]
    assert [m.t_s for m in out] == pytest.approx([101.5, 101.5, 102.0])
    # "junk", and the byte after the unknown frame type
    assert report.skipped == {"no frame start": 2, "truncated frame": 1, "unknown frame type": 1}


def test_avr_line_forms():
    report = DecodeReport()
    lines = [
        "*8D4840D6202CC371C32CE0576098;",
        "@0000005B8D808D4840D6202CC371C32CE0576098;",
        "1457996400.25,8D4840D6202CC371C32CE0576098",
        "",
        "hello world !",
    ]
    out = list(iter_avr(enumerate(lines, 1), source="a", report=report, start_t_s=10.0))
    assert [m.t_s for m in out] == [None, pytest.approx(10.0 + 0x5B8D80 / 12e6), 1457996400.25]
    assert {m.hex for m in out} == {"8D4840D6202CC371C32CE0576098"}
    assert report.skipped == {"bad line": 1}


def test_sbs_rows():
    rows = [
        "MSG,1,1,1,4840D6,1,2026/12/07,19:20:00.000,2026/12/07,19:20:00.000,KLM1023,,,,,,,,,,,0",
        "MSG,6,1,1,4840D6,1,2026/12/07,19:20:00.500,2026/12/07,19:20:00.500,,,,,,,,7600,0,1,0,0",
        "MSG,3,1,1,4840D6,1,2026/12/07,19:20:01.000,2026/12/07,19:20:01.000,,38000,,,"
        "52.2572,3.9194,,,0,0,0,0",
        "MSG,3,1,1,XYZ,1,2026/12/07,19:20:01.000,2026/12/07,19:20:01.000,,38000,,,1,2,,,,,,",
        "MSG,3,1,1,4840D6,1,2026/12/07,19:20:02.000,2026/12/07,19:20:02.000,,38000,,,"
        "95.0,3.9,,,0,0,0,0",
        "not,a,row",
    ]
    report = DecodeReport()
    (rep,) = list(iter_sbs(enumerate(rows, 1), source="s", report=report))
    assert (rep.callsign, rep.squawk, rep.emergency) == ("KLM1023", "7600", "no-communications")
    assert rep.t_s == pytest.approx(1796671201.0)
    assert (rep.lat_deg, rep.lon_deg, rep.altitude_m) == (52.2572, 3.9194, 38000 * 0.3048)
    assert report.skipped == {"bad address": 1, "bad value": 1, "bad line": 1}
    assert math.isclose(rep.altitude_m or 0, 11582.4)
