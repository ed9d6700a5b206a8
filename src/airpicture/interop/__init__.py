"""Real data in and out: ASTERIX, Mode S / ADS-B, Cursor on Target, GeoJSON and KML.

Inputs (``docs/interop.md``):

- ASTERIX CAT048 (monoradar plots), CAT034 (radar service messages), CAT021 (ADS-B reports)
  and CAT062 (system tracks), by an own codec written against the EUROCONTROL specifications
  (:func:`iter_records`, :func:`read_cat048`, ...); raw datablock files, pcap captures, UDP
  datagrams and TCP streams;
- Mode S and ADS-B in the receivers' formats (Beast binary, AVR lines, SBS/BaseStation CSV),
  decoded with ``pyModeS`` (:class:`ModeSDecoder`; CPR positions by even/odd pairs or a
  reference, :class:`CprResolver`);
- :func:`ingest` turns any of them into the data contract's tables, with an identity table
  (Mode S address, callsign, squawk, emergency) beside the detections.

Outputs: :func:`identify_tracks` (identity of a picture's tracks), :func:`cot_events` and
:func:`send_cot` (CoT to TAK through ``pytak``), :func:`encode_cat062_stream`,
:func:`snapshot_geojson`, :func:`snapshot_kml`, all behind :func:`export_tracks`.

Every decoder is an edge: a malformed record is counted in a :class:`DecodeReport` with its
place and reason, logged and skipped, and the stream goes on. Units: metres, m/s, seconds since
the epoch; degrees at this edge (``*_deg``), as the formats have them.
"""

from airpicture.interop._asterix import (
    CATEGORIES,
    AsterixRecord,
    compound_subfields,
    encode_datablock,
    encode_record,
    iter_datablocks,
    iter_records,
)
from airpicture.interop._categories import (
    AdsbReport,
    RadarPlot,
    RadarService,
    SystemTrack,
    decode_callsign,
    encode_callsign,
    encode_cat048,
    encode_cat062,
    read_cat021,
    read_cat034,
    read_cat048,
    read_cat062,
)
from airpicture.interop._cot import CotSender, cot_events, cot_type, send_cot
from airpicture.interop._export import (
    EXPORT_FORMATS,
    ExportResult,
    encode_cat062_stream,
    export_tracks,
)
from airpicture.interop._feeds import FeedConfig, feed_detections, feeds_from_tables
from airpicture.interop._identity import (
    TRACK_IDENTITY_COLUMNS,
    identify_tracks,
    read_track_identity,
    write_track_identity,
)
from airpicture.interop._ingest import (
    FORMATS,
    IDENTITY_COLUMNS,
    IngestResult,
    SiteConfig,
    ingest,
    read_identity,
)
from airpicture.interop._live import open_source, parse_address
from airpicture.interop._modes import (
    CprResolver,
    ModeSDecoder,
    ModeSReport,
    RawMessage,
    emergency_of_squawk,
    iter_avr,
    iter_beast,
    iter_sbs,
)
from airpicture.interop._modes_encode import (
    adsb_identification,
    adsb_position,
    beast_frame,
    identity_reply,
    modes_crc,
)
from airpicture.interop._pcap import Packet, iter_pcap
from airpicture.interop._report import DecodeReport, SkippedRecord
from airpicture.interop._snapshot import picture_at, snapshot_geojson, snapshot_kml
from airpicture.interop._tracks import GeoTracks, TrackIdentity, geo_tracks

__all__ = [
    "CATEGORIES",
    "EXPORT_FORMATS",
    "FORMATS",
    "IDENTITY_COLUMNS",
    "TRACK_IDENTITY_COLUMNS",
    "AdsbReport",
    "AsterixRecord",
    "CotSender",
    "CprResolver",
    "DecodeReport",
    "ExportResult",
    "FeedConfig",
    "GeoTracks",
    "IngestResult",
    "ModeSDecoder",
    "ModeSReport",
    "Packet",
    "RadarPlot",
    "RadarService",
    "RawMessage",
    "SiteConfig",
    "SkippedRecord",
    "SystemTrack",
    "TrackIdentity",
    "adsb_identification",
    "adsb_position",
    "beast_frame",
    "compound_subfields",
    "cot_events",
    "cot_type",
    "decode_callsign",
    "emergency_of_squawk",
    "encode_callsign",
    "encode_cat048",
    "encode_cat062",
    "encode_cat062_stream",
    "encode_datablock",
    "encode_record",
    "export_tracks",
    "feed_detections",
    "feeds_from_tables",
    "geo_tracks",
    "identify_tracks",
    "identity_reply",
    "ingest",
    "iter_avr",
    "iter_beast",
    "iter_datablocks",
    "iter_pcap",
    "iter_records",
    "iter_sbs",
    "modes_crc",
    "open_source",
    "parse_address",
    "picture_at",
    "read_cat021",
    "read_cat034",
    "read_cat048",
    "read_cat062",
    "read_identity",
    "read_track_identity",
    "send_cot",
    "snapshot_geojson",
    "snapshot_kml",
    "write_track_identity",
]
