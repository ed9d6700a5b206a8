"""The whole chain on the sample recordings (a Mode S radar's ASTERIX and an ADS-B receiver's
Beast file): ingested, tracked, identified, and out as CoT (parsed as a TAK client would, over
UDP and TCP through pytak), GeoJSON, KML and CAT062 (read back by asterix-decoder and by
airpicture's own ingest)."""

from __future__ import annotations

import json
import re
import socket
import threading
import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np
import pytest

from airpicture.interop import (
    TrackIdentity,
    cot_events,
    export_tracks,
    identify_tracks,
    ingest,
    picture_at,
    read_identity,
    read_track_identity,
    send_cot,
    write_track_identity,
)
from airpicture.io import read_detections, read_sensors, read_tracks
from tests.interop.conftest import Picture, asterix_decoder

_TYPE = re.compile(r"^[a-z](-[A-Za-z0-9.]+)+$")
_HOW = re.compile(r"^[a-z](-[a-z])+$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def check_cot_event(xml: bytes) -> ET.Element:
    """The rules of the CoT 2.0 event schema (MITRE Event.xsd) a TAK client relies on."""
    event = ET.fromstring(xml)
    assert event.tag == "event" and event.get("version") == "2.0"
    for attr in ("uid", "type", "how", "time", "start", "stale"):
        assert event.get(attr), f"event without {attr}"
    assert _TYPE.match(event.get("type", "")), event.get("type")
    assert _HOW.match(event.get("how", "")), event.get("how")
    times = [event.get(a, "") for a in ("time", "start", "stale")]
    assert all(_TIME.match(t) for t in times), times
    t, start, stale = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in times)
    assert start <= stale and t <= stale
    (point,) = event.findall("point")
    lat, lon = float(point.get("lat", "nan")), float(point.get("lon", "nan"))
    assert -90 <= lat <= 90 and -180 <= lon <= 180
    for attr in ("hae", "ce", "le"):
        assert np.isfinite(float(point.get(attr, "nan")))
    assert float(point.get("ce", "-1")) >= 0 and float(point.get("le", "-1")) >= 0
    assert len(event.findall("detail")) <= 1
    for track in event.iter("track"):
        assert 0 <= float(track.get("course", "nan")) < 360
        assert float(track.get("speed", "nan")) >= 0
    return event


@pytest.fixture(scope="module")
def identified(picture: Picture) -> dict[str, TrackIdentity]:
    scenario = picture.ingested.output_dir
    sensors = read_sensors(scenario / "sensors.csv")
    found = identify_tracks(
        read_tracks(picture.tracks),
        read_detections(scenario / "detections.csv", sensors),
        read_identity(scenario / "identity.csv"),
    )
    return {k: v[0] for k, v in found.items()}


def test_one_picture_of_radar_and_adsb_with_callsigns(picture: Picture, identified):
    rows = read_tracks(picture.tracks)
    now = picture_at(rows)
    callsigns = sorted(identified[str(t)].callsign for t in now.track_id if str(t) in identified)
    # the radar sees five (one of them primary-only, skipped without a height); ADS-B adds
    # SKY77 beyond the radar's reach; EIN9 has no ADS-B, only Mode S plots
    assert callsigns == ["ANA456", "EIN9", "JAL123", "SKY77", "UAL837"]
    by_callsign = {v.callsign: v for v in identified.values()}
    assert by_callsign["UAL837"].squawk == "7700"
    assert by_callsign["UAL837"].emergency == "general"
    assert by_callsign["JAL123"].address == "86D2A1" and by_callsign["JAL123"].emergency == ""
    # the primary-only plots go to a sensor of their own (range and azimuth, a vague height)
    assert picture.ingested.report.n_skipped == 0
    assert "JPN-R1-PSR" in picture.ingested.scan_periods_s
    # tracks sit on the aircraft: each within 300 m of its own truth at the picture's time
    geo_ok = 0
    from airpicture.interop import geo_tracks

    geo = geo_tracks(now)
    assert len(now) == 6
    for i, track_id in enumerate(now.track_id):
        ident = identified.get(str(track_id), TrackIdentity())
        plane = next(a for a in picture.recordings.aircraft if a.callsign == ident.callsign)
        lat, lon, _h = plane.position(np.array([now.t_s[i] - picture.recordings.start_t_s]))
        north = (geo.lat_deg[i] - lat[0]) * 111_000
        east = (geo.lon_deg[i] - lon[0]) * 111_000 * np.cos(np.radians(lat[0]))
        assert np.hypot(north, east) < 300, ident.callsign
        geo_ok += 1
    assert geo_ok == 6


def test_cot_events_follow_the_schema_rules(picture: Picture, identified):
    rows = read_tracks(picture.tracks)
    events = cot_events(picture_at(rows), identified)
    parsed = [check_cot_event(e) for e in events]
    by_call = {e.find("detail/contact").get("callsign"): e for e in parsed}  # type: ignore[union-attr]
    ual = by_call["UAL837"]
    assert ual.get("type") == "a-n-A-C-F" and ual.get("how") == "m-a"
    assert ual.find("detail/_aircot_").get("squawk") == "7700"  # type: ignore[union-attr]
    assert "EMERGENCY general" in (ual.findtext("detail/remarks") or "")
    # every row of the table, deleted ones stale at once
    all_events = cot_events(rows, identified)
    assert len(all_events) == len(rows)


def test_cot_types_by_kind_and_identity():
    from airpicture.interop import cot_type

    assert cot_type("ballistic", None) == "a-h-A-W-M"
    assert cot_type("aircraft", TrackIdentity(callsign="X1")) == "a-n-A-C-F"
    assert cot_type("aircraft", None) == cot_type("unknown", TrackIdentity()) == "a-u-A"


def _udp_listener() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    return sock, sock.getsockname()[1]


def test_cot_to_tak_over_udp_and_tcp(picture: Picture, identified):
    events = cot_events(picture_at(read_tracks(picture.tracks)), identified)
    sock, port = _udp_listener()
    with sock:
        assert send_cot(f"udp://127.0.0.1:{port}", events) == len(events)
        got = [sock.recv(65_535) for _ in events]
    assert sorted(got) == sorted(events)
    for data in got:
        check_cot_event(data)

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65_536):
                received.extend(chunk)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert send_cot(f"tcp://127.0.0.1:{port}", events) == len(events)
        thread.join(10)
    finally:
        server.close()
    stream = bytes(received)
    assert stream == b"".join(events)
    for chunk in re.findall(rb"<event .*?</event>", stream):
        check_cot_event(chunk)


def test_snapshots_geojson_and_kml(picture: Picture, identified, tmp_path):
    rows = read_tracks(picture.tracks)
    out = export_tracks(rows, "geojson", output=tmp_path / "p.geojson", identity=identified)
    doc = json.loads((tmp_path / "p.geojson").read_text())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == out.rows == 6
    for f in doc["features"]:
        lon, lat, h = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Point" and 130 < lon < 145 and 30 < lat < 40
        assert 1000 < h < 12000  # the primary-only aircraft flies at FL80
    emergency = [f for f in doc["features"] if f["properties"].get("emergency")]
    assert [f["properties"]["callsign"] for f in emergency] == ["UAL837"]

    export_tracks(rows, "kml", output=tmp_path / "p.kml", identity=identified)
    kml = ET.parse(tmp_path / "p.kml").getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = sorted(p.findtext("k:name", namespaces=ns) for p in kml.iterfind(".//k:Placemark", ns))
    # the primary-only aircraft has no identity: it is named by its track id
    calls = {"ANA456", "EIN9", "JAL123", "SKY77", "UAL837"}
    assert len(names) == 6 and set(names) >= calls
    assert set(names) - calls <= {str(t) for t in rows.track_id} - set(identified)
    styles = {
        p.findtext("k:name", namespaces=ns): p.findtext("k:styleUrl", namespaces=ns)
        for p in kml.iterfind(".//k:Placemark", ns)
    }
    assert styles["UAL837"] == "#emergency" and styles["JAL123"] == "#a-n-A-C-F"


def test_cat062_out_read_back_by_asterix_decoder_and_by_ingest(
    picture: Picture, identified, tmp_path
):
    asterix = asterix_decoder()
    rows = read_tracks(picture.tracks)
    export_tracks(rows, "asterix062", output=tmp_path / "t.ast", identity=identified, sac=9, sic=2)
    data = (tmp_path / "t.ast").read_bytes()
    theirs = asterix.parse(data)
    assert len(theirs) == len(rows)
    assert {t["I010"]["SAC"]["val"] for t in theirs} == {9}
    calls = {t["I245"]["TId"]["val"].strip() for t in theirs if "I245" in t}
    assert calls == {"ANA456", "EIN9", "JAL123", "SKY77", "UAL837"}
    from airpicture.interop import SiteConfig

    site = SiteConfig("FUSED", "JPN", 35.0, 139.0, 0.0)
    result = ingest(
        tmp_path / "t.ast", tmp_path / "back", fmt="asterix", sites=[site], date="2026-12-07"
    )
    assert result.n_tracks == len(rows) and result.report.n_skipped == 0
    back = read_tracks(tmp_path / "back" / "tracks.csv")
    order = np.argsort(rows.t_s, kind="stable")
    # position within the CAT062 resolution (180/2^25 deg: 0.6 m; heights 6.25 ft)
    assert np.allclose(back.x[:, :3], rows.x[order, :3], atol=3.0)
    assert np.allclose(back.t_s, rows.t_s[order], atol=1 / 128)
    ident = read_track_identity(tmp_path / "back" / "tracks.identity.csv")
    assert {v.callsign for v in ident.values()} == calls


def test_track_identity_table_round_trip(identified, tmp_path):
    full = {k: (v, 1.0, 3) for k, v in identified.items()}
    write_track_identity(tmp_path / "t.identity.csv", full)
    back = read_track_identity(tmp_path / "t.identity.csv")
    assert {k: (v.callsign, v.squawk, v.emergency) for k, v in back.items()} == {
        k: (v.callsign, v.squawk, v.emergency) for k, v in identified.items()
    }


def test_cli_ingest_and_export(picture: Picture, tmp_path, capsys):
    from airpicture.cli import main

    rec = picture.recordings
    code = main(
        [
            "ingest",
            str(rec.asterix),
            str(rec.beast),
            "--format",
            "asterix",
            "--format",
            "beast",
            "-o",
            str(tmp_path / "scn"),
            "--site",
            "JPN-R1,JPN,35,139,50,25,1",
            "--site",
            "JPN-RX1,JPN,35.6,139.8,30",
            "--date",
            rec.date,
            "--start-time",
            str(rec.start_t_s),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "JPN-R1-PSR 4 s" in out and "0 skipped" in out
    code = main(
        [
            "ingest",
            str(rec.asterix),
            "--format",
            "asterix",
            "-o",
            str(tmp_path / "scn2"),
            "--site",
            "JPN-R1,JPN,35,139,50,25,1",
            "--date",
            rec.date,
            "--no-primary",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "skipped (40 no height)" in out and "skipped: " in out
    assert (tmp_path / "scn" / "identity.csv").is_file()
    code = main(
        [
            "export",
            str(picture.tracks),
            "--format",
            "kml",
            "--scenario",
            str(picture.ingested.output_dir),
            "-o",
            str(tmp_path / "p.kml"),
        ]
    )
    assert code == 0 and "5 identified" in capsys.readouterr().out
    # bad input: one line, exit 2
    code = main(
        [
            "ingest",
            str(rec.asterix),
            "--format",
            "asterix",
            "-o",
            str(tmp_path / "x"),
            "--site",
            "R,JPN,95,139,0",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "lat_deg" in err and "[-90, 90]" in err
    code = main(
        [
            "ingest",
            str(rec.asterix),
            "--format",
            "asterix",
            "-o",
            str(tmp_path / "y"),
            "--site",
            "R,JPN,35,139,0",
        ]
    )
    assert code == 2 and "--date YYYY-MM-DD" in capsys.readouterr().err


def test_live_udp_feed(picture: Picture, tmp_path):
    from airpicture.interop import SiteConfig
    from airpicture.interop._live import open_source  # noqa: F401 (the path under test)

    rec = picture.recordings
    data = rec.asterix.read_bytes()
    blocks = []
    pos = 0
    while pos < len(data):
        n = int.from_bytes(data[pos + 1 : pos + 3], "big")
        blocks.append(data[pos : pos + n])
        pos += n
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    radar = SiteConfig("JPN-R1", "JPN", 35.0, 139.0, 50.0, sac=25, sic=1)
    result: list = []

    def listen() -> None:
        result.append(
            ingest(
                f"udp://127.0.0.1:{port}",
                tmp_path / "live",
                fmt="asterix",
                sites=[radar],
                duration_s=3.0,
            )
        )

    thread = threading.Thread(target=listen)
    thread.start()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    import time

    time.sleep(0.5)
    with sender:
        for block in blocks[:40]:
            sender.sendto(block, ("127.0.0.1", port))
        sender.sendto(b"\x30\x00\x09garbage", ("127.0.0.1", port))
    thread.join(10)
    (res,) = result
    # the arrival time gives the day; the recording's times of day are kept
    assert res.n_detections > 50
    assert res.report.skipped["truncated item"] + res.report.skipped["unknown item"] >= 1


def test_track_writes_the_tracks_identity_next_to_the_tracks(picture: Picture, identified):
    beside = picture.tracks.with_name("tracks.identity.csv")
    written = read_track_identity(beside)
    assert {k: v.callsign for k, v in written.items()} == {
        k: v.callsign for k, v in identified.items()
    }


def test_an_unreachable_tak_address_is_a_clear_error():
    from airpicture.errors import DataError

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens there now
    with pytest.raises(DataError, match="a reachable TAK address"):
        send_cot(f"tcp://127.0.0.1:{port}", [b"<event/>"])
