"""The interop subcommands: ``ingest`` (ASTERIX, Beast, AVR, SBS to the data contract) and
``export`` (a tracks table to CoT, CAT062, GeoJSON or KML). Their modules are imported when
they run (``docs/interop.md``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airpicture.cli import _LazySubcommands
    from airpicture.interop import SiteConfig, TrackIdentity

__all__ = ["add_export", "add_ingest", "add_show"]

_FORMATS = ("asterix", "beast", "avr", "sbs")
_EXPORT_FORMATS = ("cot", "asterix062", "geojson", "kml")


def add_ingest(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "ingest",
        _ingest_options,
        help="decode ASTERIX or Mode S / ADS-B recordings or feeds into data-contract tables",
        description="Decode SOURCE (a file: raw ASTERIX datablocks, Beast binary, AVR or SBS "
        "lines, or a pcap capture of them; or a live feed: udp://HOST:PORT, tcp://HOST:PORT, "
        "tcp-listen://HOST:PORT) into DIR: sensors.csv and detections.csv (CAT048 plots, "
        "CAT021 and Mode S ADS-B positions), identity.csv (Mode S address, callsign, squawk, "
        "emergency of the detections), tracks.csv and tracks.identity.csv (CAT062 system "
        "tracks), ingest.json (what was skipped and why). Several sources go into one set of "
        "tables: give --format once for all, or once per source in order. Each sensor is a "
        "--site (or a [[sites]] table of --sites FILE.toml). Bad records are skipped, "
        "counted by reason and the first ones printed. docs/interop.md.",
    )


def _ingest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=_FORMATS,
        required=True,
        help="the format of the sources (once for all, or once per source)",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write into")
    p.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="ID,NATION,LAT,LON,ALT[,SAC,SIC]",
        help="a sensor: its id, nation, position (deg, deg, m) and, for ASTERIX, its SAC and "
        "SIC (without them: the records of no other site; the Mode S receiver)",
    )
    p.add_argument("--sites", metavar="FILE.toml", help="[[sites]] tables of SiteConfig keys")
    p.add_argument("--receiver", metavar="ID", help="the site receiving Mode S / ADS-B")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="day of a raw ASTERIX recording")
    p.add_argument(
        "--start-time",
        type=float,
        metavar="T_S",
        help="epoch seconds of a Beast / AVR recording's counter zero (default 0)",
    )
    p.add_argument("--qnh", type=float, default=1013.25, help="sea-level pressure, hPa")
    p.add_argument(
        "--primary-height",
        type=float,
        default=3000.0,
        metavar="M",
        help="nominal height of primary-only plots, which go to a sensor <radar>-PSR of their "
        "own with a height noise of 3 km (default 3000 m)",
    )
    p.add_argument(
        "--no-primary", action="store_true", help="skip primary-only plots (counted) instead"
    )
    p.add_argument(
        "--adsb-period",
        type=float,
        default=2.0,
        metavar="S",
        help="at most one ADS-B report per aircraft in this period (default 2 s)",
    )
    p.add_argument("--duration", type=float, metavar="S", help="listen to a live feed this long")
    p.set_defaults(func=_cmd_ingest)


def _sites(args: argparse.Namespace) -> list[SiteConfig]:
    from airpicture.errors import ConfigError
    from airpicture.interop import SiteConfig

    sites = []
    for text in args.site:
        cells = [c.strip() for c in text.split(",")]
        if len(cells) not in (5, 7):
            raise ConfigError(
                "--site", key="site", expected="ID,NATION,LAT,LON,ALT[,SAC,SIC]", got=repr(text)
            )
        try:
            numbers = [float(c) for c in cells[2:5]]
            codes = [int(c) for c in cells[5:]]
        except ValueError:
            raise ConfigError(
                "--site", key="site", expected="numbers for LAT,LON,ALT,SAC,SIC", got=repr(text)
            ) from None
        sites.append(
            SiteConfig(
                sensor_id=cells[0],
                nation=cells[1],
                lat_deg=numbers[0],
                lon_deg=numbers[1],
                alt_m=numbers[2],
                sac=codes[0] if codes else None,
                sic=codes[1] if codes else None,
            )
        )
    if args.sites:
        from dataclasses import fields

        from airpicture.config import load_toml

        data = load_toml(args.sites)
        known = {f.name for f in fields(SiteConfig)}
        for i, table in enumerate(data.get("sites", [])):
            unknown = sorted(set(table) - known)
            if unknown:
                raise ConfigError(
                    args.sites,
                    key=f"sites[{i}]",
                    expected=f"keys among {sorted(known)}",
                    got=str(unknown),
                )
            try:
                sites.append(SiteConfig(**table))
            except TypeError as exc:
                raise ConfigError(
                    args.sites, key=f"sites[{i}]", expected="every required key", got=str(exc)
                ) from None
    return sites


def _cmd_ingest(args: argparse.Namespace) -> int:
    from airpicture.errors import ConfigError
    from airpicture.interop import ingest

    formats = args.formats
    if len(formats) == 1:
        formats = formats * len(args.sources)
    if len(formats) != len(args.sources):
        raise ConfigError(
            "command line",
            key="format",
            expected=f"1 or {len(args.sources)} --format options (one per source)",
            got=str(len(args.formats)),
        )
    total = sum(Path(s).stat().st_size for s in args.sources if Path(s).is_file())
    from tqdm import tqdm

    with tqdm(
        total=total or None,
        unit="B",
        unit_scale=True,
        desc="ingest",
        disable=not sys.stderr.isatty(),
    ) as bar:
        result = ingest(
            list(zip(args.sources, formats, strict=True)),
            args.output,
            sites=_sites(args),
            receiver=args.receiver,
            date=args.date,
            start_t_s=args.start_time,
            qnh_hpa=args.qnh,
            primary_height_m=None if args.no_primary else args.primary_height,
            adsb_period_s=args.adsb_period,
            duration_s=args.duration,
            progress=bar.update,
        )
    periods = ", ".join(f"{k} {v:g} s" for k, v in sorted(result.scan_periods_s.items()))
    print(
        f"ingested {result.n_detections} detections ({periods or 'no sensors'}) and "
        f"{result.n_tracks} system track rows into {result.output_dir}"
    )
    print(f"decoded: {result.report.summary()}")
    for example in result.report.examples[:5]:
        print(f"  skipped: {example}")
    return 0


def add_export(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "export",
        _export_options,
        help="write a tracks table as CoT (or send it to TAK), ASTERIX CAT062, GeoJSON or KML",
        description="Write TRACKS (a data-contract tracks table) as Cursor on Target events "
        "(--format cot: the picture at --at, or every row with --all-rows; to a file and/or "
        "--tak udp://HOST:PORT or tcp://HOST:PORT), ASTERIX CAT062 (every row), or a GeoJSON or "
        "KML snapshot of the picture at --at (default: the table's last time). Track identity "
        "(callsign, squawk, Mode S address, emergency) comes from --identity FILE, else from "
        "the identity of the detections of --scenario DIR (an ingested folder), else from "
        "<TRACKS>.identity.csv next to TRACKS when there is one.",
    )


def _export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("tracks", metavar="TRACKS")
    p.add_argument("--format", required=True, choices=_EXPORT_FORMATS)
    p.add_argument("-o", "--output", metavar="FILE", help="file to write")
    p.add_argument("--identity", metavar="FILE", help="a tracks identity table")
    p.add_argument("--scenario", metavar="DIR", help="the ingested folder TRACKS was made from")
    p.add_argument("--at", type=float, metavar="T_S", help="snapshot time, epoch seconds")
    p.add_argument("--all-rows", action="store_true", help="cot: every row, in time order")
    p.add_argument("--tak", metavar="URL", help="cot: send to udp://HOST:PORT or tcp://HOST:PORT")
    p.add_argument("--sac", type=int, default=0, help="CAT062 system area code")
    p.add_argument("--sic", type=int, default=1, help="CAT062 system identification code")
    p.add_argument("--stale", type=float, default=15.0, help="cot: stale after this many s")
    p.set_defaults(func=_cmd_export)


def track_identity(
    tracks_path: Path, identity: str | None, scenario: str | None
) -> dict[str, TrackIdentity]:
    """The identity of a tracks table's tracks, by the export command's rules."""
    from airpicture.interop import identify_tracks, read_identity, read_track_identity
    from airpicture.io import find_scenario_files, read_detections, read_sensors, read_tracks

    if identity:
        return read_track_identity(identity)
    if scenario:
        files = find_scenario_files(scenario)
        ident_path = Path(scenario) / "identity.csv"
        if not ident_path.is_file():
            return {}
        sensors = read_sensors(files.sensors)
        found = identify_tracks(
            read_tracks(tracks_path),
            read_detections(files.detections, sensors),
            read_identity(ident_path),
        )
        return {k: v[0] for k, v in found.items()}
    beside = tracks_path.with_name(f"{tracks_path.stem}.identity.csv")
    return read_track_identity(beside) if beside.is_file() else {}


def _cmd_export(args: argparse.Namespace) -> int:
    from airpicture.interop import export_tracks
    from airpicture.io import read_tracks

    tracks_path = Path(args.tracks)
    rows = read_tracks(tracks_path)
    identity = track_identity(tracks_path, args.identity, args.scenario)
    from tqdm import tqdm

    with tqdm(total=len(rows), unit=" rows", disable=not sys.stderr.isatty()) as bar:
        result = export_tracks(
            rows,
            args.format,
            output=args.output,
            identity=identity,
            t_s=args.at,
            tak=args.tak,
            all_rows=args.all_rows,
            sac=args.sac,
            sic=args.sic,
            stale_s=args.stale,
            progress=bar.update,
        )
    where = [str(result.output)] if result.output else []
    if args.tak:
        where.append(f"{args.tak} ({result.sent} events sent)")
    print(
        f"exported {result.rows} {'rows' if args.format == 'asterix062' else 'tracks'} "
        f"({len(identity)} identified) as {args.format} to {' and '.join(where)}"
    )
    return 0


def add_show(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "show",
        _show_options,
        help="show a tracks table on the live map, with callsigns, squawks and emergencies",
        description="Serve the map (as airpicture demo does) with the picture of TRACKS, "
        "played in frame by frame so the time controls scrub through it, each track with its "
        "identity (as for export: --identity FILE, the detections' identity of --scenario DIR, "
        "or <TRACKS>.identity.csv) and the sensors of --scenario. Ctrl-C stops it.",
    )


def _show_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("tracks", metavar="TRACKS")
    p.add_argument("--identity", metavar="FILE", help="a tracks identity table")
    p.add_argument("--scenario", metavar="DIR", help="the ingested folder TRACKS was made from")
    p.add_argument("--port", type=int, default=None, help="port (default 8765, else a free one)")
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    import time

    from airpicture.io import find_scenario_files, read_sensors, read_tracks
    from airpicture.web import DEFAULT_PORT, create_app, start_server, store_of_tracks

    tracks_path = Path(args.tracks)
    identity = track_identity(tracks_path, args.identity, args.scenario)
    sensors = read_sensors(find_scenario_files(args.scenario).sensors) if args.scenario else None
    store = store_of_tracks(
        read_tracks(tracks_path), identity=identity, sensors=sensors, title=tracks_path.name
    )
    server = start_server(create_app(store), port=DEFAULT_PORT if args.port is None else args.port)
    print(f"map of {tracks_path} ({len(identity)} tracks identified) on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()
    return 0
