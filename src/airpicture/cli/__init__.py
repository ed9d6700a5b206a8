"""The ``airpicture`` command: thin subcommands over the public API.

Each subcommand is a function ``_cmd_<name>(args) -> int`` registered in :func:`build_parser`.
Errors of airpicture (bad data, bad configuration) print one line and exit with status 2.
A subcommand's options are added, and its modules imported, only when that subcommand is
parsed, so ``airpicture --help`` and the other commands do not pay for them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from airpicture import __version__
from airpicture.cli._audit import add_audit
from airpicture.cli._campaign import add_campaign, add_gate, add_report
from airpicture.cli._interop import add_export, add_ingest, add_show
from airpicture.cli._operators import add_operators
from airpicture.errors import AirpictureError

if TYPE_CHECKING:
    from airpicture.tracker._registration import RegistrationEstimate

__all__ = ["build_parser", "main"]


class _LazySubcommands(argparse._SubParsersAction):
    """Subcommands whose options are added when the subcommand is parsed.

    :meth:`add_lazy` registers a subcommand's name, help and description at once (all that the
    parent's ``--help`` shows) and keeps the function that adds its options (and imports what
    they need) until the subcommand is on the command line.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def add_lazy(
        self, name: str, add_options: Callable[[argparse.ArgumentParser], None], **kwargs: Any
    ) -> None:
        self.add_parser(name, **kwargs)
        self._pending[name] = add_options

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        add_options = self._pending.pop(values[0], None)
        if add_options is not None:
            add_options(self._name_parser_map[values[0]])
        super().__call__(parser, namespace, values, option_string)


def _subcommands(parser: argparse.ArgumentParser, dest: str, metavar: str) -> _LazySubcommands:
    sub = parser.add_subparsers(dest=dest, required=True, metavar=metavar, action=_LazySubcommands)
    return cast(_LazySubcommands, sub)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    description = __doc__.splitlines()[0].replace("``", "")
    parser = argparse.ArgumentParser(prog="airpicture", description=description)
    parser.add_argument("--version", action="version", version=f"airpicture {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = _subcommands(parser, "command", "COMMAND")
    # Subcommands register here, one block each.
    _add_simulate(sub)
    _add_evaluate(sub)
    _add_track(sub)
    _add_demo(sub)
    _add_node(sub)
    _add_network(sub)
    _add_keys(sub)
    add_audit(sub)
    add_operators(sub)
    add_campaign(sub)
    add_report(sub)
    add_gate(sub)
    add_ingest(sub)
    add_export(sub)
    add_show(sub)
    return parser


def _add_track(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "track",
        _track_options,
        help="track a scenario directory's detections into a tracks table (and impacts, alerts)",
        description="Track the detections of SCENARIO_DIR (sensors and detections tables, CSV or "
        "Parquet) and write the picture as the data contract's tracks table, with every track's "
        "kind; the predicted impacts of ballistic tracks and the warnings for the areas they "
        "threaten go to impacts and alerts tables next to it, named after it: -o out/run1.csv "
        "also writes out/run1.impacts.csv and out/run1.alerts.csv (out/run1.impacts.parquet "
        "and out/run1.alerts.parquet for -o out/run1.parquet). The output folder is created if "
        "needed and must be writable.",
    )


def _track_options(p: argparse.ArgumentParser) -> None:
    from dataclasses import fields

    from airpicture.tracker import TrackerConfig

    p.add_argument("scenario_dir", metavar="SCENARIO_DIR")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="tracks table to write (.csv or .parquet); the impacts and alerts tables go next "
        "to it as <name>.impacts.<ext> and <name>.alerts.<ext>",
    )
    p.add_argument(
        "--config",
        help="TOML file with tracker settings ([tracker] table) and "
        "assessment settings ([assess] table)",
    )
    p.add_argument(
        "--areas",
        metavar="GEOJSON",
        help="warning areas, a GeoJSON FeatureCollection of polygons (default: the "
        "illustrative Sea of Japan areas shipped with airpicture)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="probability mass of the impact ellipses, which raise alerts (default 0.95)",
    )
    p.add_argument(
        "--no-assess", action="store_true", help="tracks only: no kinds, impacts or alerts"
    )
    for f in fields(TrackerConfig):
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type={"int": int, "float": float}.get(str(f.type), str),
            default=None,
            help=f"tracker setting (default {f.default})",
        )
    p.set_defaults(func=_cmd_track)


def _cmd_track(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from airpicture.assess import AssessConfig, read_warning_areas
    from airpicture.batch import track_scenario
    from airpicture.tracker import TrackerConfig

    values: dict = {}
    assess_values: dict = {}
    source = "command line"
    if args.config:
        from airpicture.config import load_toml

        data = dict(load_toml(args.config))
        assess_values = dict(data.pop("assess", {}))
        values = dict(data.get("tracker", data))
        source = f"{args.config} and command line"
    for f in fields(TrackerConfig):
        flag = getattr(args, f.name)
        if flag is not None:
            values[f.name] = flag
    config = TrackerConfig.from_mapping(values, source=source)
    assess = None
    areas = None
    if not args.no_assess:
        if args.confidence is not None:
            assess_values["confidence"] = args.confidence
            assess_values.setdefault("cancel_confidence", args.confidence)
        assess = AssessConfig.from_mapping(assess_values, source=source)
        areas = read_warning_areas(args.areas)
    output = Path(args.output)
    assessment_outputs = _assessment_outputs(output)
    _prepare_outputs([output] if args.no_assess else [output, *assessment_outputs])
    with _progress_bar("detections") as bar:
        result = track_scenario(
            args.scenario_dir,
            output,
            config=config,
            assess=assess,
            areas=areas,
            progress=bar,
            assessment_outputs=assessment_outputs,
        )
    stats = result.stats
    print(
        f"tracked {stats.processed} detections: {stats.initiated} tracks started, "
        f"{stats.confirmed} confirmed, {stats.late} late ({stats.late_used} used); "
        f"wrote {args.output}"
    )
    print(
        f"  {stats.deleted} tracks ended ({stats.down} down, {stats.implausible} implausible, "
        f"{stats.pruned} sharing a report with a firm track); {stats.branched} salvo branches; "
        f"{stats.initiation_excluded} reports kept from starting duplicates"
    )
    if result.impacts is not None:
        print(
            f"assessed: {result.n_impacts} impact predictions, {result.n_alerts} alert changes; "
            f"wrote {result.impacts} and {result.alerts}"
        )
    for example in stats.late_examples[:5]:
        print(f"  late report not used: {example}")
    _print_registration(result.registration)
    return 0


def _assessment_outputs(output: Path) -> tuple[Path, Path]:
    """The impacts and alerts tables ``track -o OUTPUT`` writes next to OUTPUT, named after it.

    ``out/run1.csv`` gives ``out/run1.impacts.csv`` and ``out/run1.alerts.csv``, so runs into
    one folder under different names keep their own.
    """
    return (
        output.with_name(f"{output.stem}.impacts{output.suffix}"),
        output.with_name(f"{output.stem}.alerts{output.suffix}"),
    )


def _prepare_outputs(paths: list[Path]) -> None:
    """Create the folder of the output tables and check they can be written there.

    Run before any work, so a wrong destination fails at once instead of after the tracking.
    """
    from airpicture.errors import DataError

    for path in paths:
        if path.suffix.lower() not in (".csv", ".parquet"):
            raise DataError(
                str(path), expected="a file name ending in .csv or .parquet", got=repr(path.name)
            )
        if path.is_dir():
            raise DataError(str(path), expected="a file name for an output table", got="a folder")
    _writable_folder(paths[0].parent)


def _writable_folder(folder: Path) -> None:
    """Create ``folder`` if needed and check files can be written there (a clear error naming
    the folder, or the file in the way, otherwise)."""
    import tempfile

    from airpicture.errors import DataError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        blocking = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        got = f"a file at {blocking}" if blocking else (exc.strerror or str(exc)).lower()
        raise DataError(
            str(folder), expected="a folder the output tables can be written into", got=got
        ) from None


def _print_registration(estimate: RegistrationEstimate | None) -> None:
    """The radars' estimated registration offsets, one line each (those with report pairs)."""
    informed = estimate.informed() if estimate is not None else {}
    if not informed:
        return
    print("registration (estimated offsets +- 1 sd; subtracted from every report):")
    for sensor_id, e in informed.items():
        print(
            f"  {sensor_id}: range {e['range_m']:+.1f} +- {e['sd_range_m']:.1f} m, "
            f"azimuth {e['azimuth_deg']:+.4f} +- {e['sd_azimuth_deg']:.4f} deg, "
            f"elevation {e['elevation_deg']:+.4f} +- {e['sd_elevation_deg']:.4f} deg "
            f"({e['pairs']} report pairs)"
        )


def _add_demo(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "demo",
        _demo_options,
        help="play a scenario live through one node per nation and show the picture on a map",
        description="Simulate SCENARIO, play it live through one node per nation on the in-process "
        "bus and serve the common operational picture on http://127.0.0.1:PORT/ until Ctrl-C.",
    )


def _demo_options(p: argparse.ArgumentParser) -> None:
    from airpicture.net._release import RELEASE_PRESETS
    from airpicture.web._server import DEFAULT_PORT

    p.add_argument(
        "--scenario",
        default="sea-of-japan-raid",
        help="library name or TOML file (default sea-of-japan-raid)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="scenario seconds per second (default 1: real time)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}, a free one when taken; 0: any free port)",
    )
    p.add_argument(
        "--release",
        choices=RELEASE_PRESETS,
        default="threats",
        help="threats: detections as in hub, and tracks of threats shared with every partner "
        "(default); hub: every nation shares its detections with the USA, the USA with all; "
        "full: all to all",
    )
    p.add_argument(
        "--areas",
        metavar="GEOJSON",
        help="warning areas of the alerts, a GeoJSON FeatureCollection (default: the "
        "illustrative Sea of Japan areas shipped with airpicture)",
    )
    p.add_argument(
        "--duration", type=float, default=None, help="override the scenario's duration, s"
    )
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--open", action="store_true", help="open the map in the default browser")
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME[:PORT]",
        help="a Host the map answers to besides 127.0.0.1, localhost and [::1] on its port "
        "(the name a reverse proxy forwards, say); repeat for more",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="URL",
        help="an origin (http://name[:port] or https://...) allowed to open the map's "
        "WebSocket besides the map's own; repeat for more",
    )
    p.add_argument(
        "--accounts",
        metavar="TOML",
        help="operators' accounts (airpicture operators add): the map needs a login and "
        "operators coordinate on tracks in their nation's view",
    )
    p.add_argument(
        "--audit-log",
        metavar="JSONL",
        help="the map's audit log (logins, views, track details, actions); each node's goes "
        "next to it (<name>-<NATION>.jsonl)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the map listens on (default 127.0.0.1; another needs --tls-cert, "
        "--tls-key and --accounts)",
    )
    p.add_argument("--tls-cert", metavar="PEM", help="the map's TLS certificate (HTTPS)")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from airpicture.demo import run_demo

    def ready(url: str) -> None:
        print(f"airpicture demo: map on {url}  (Ctrl-C to stop)", flush=True)

    summary = run_demo(
        args.scenario,
        speed=args.speed,
        port=args.port,
        release=args.release,
        areas=args.areas,
        duration_s=args.duration,
        seed=args.seed,
        open_browser=args.open,
        on_ready=ready,
        allowed_hosts=args.allowed_host,
        allowed_origins=args.allowed_origin,
        accounts=args.accounts,
        audit_log=args.audit_log,
        host=args.host,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    tracks = ", ".join(f"{n} {k}" for n, k in summary.tracks.items())
    state = "played to its end" if summary.finished else "stopped"
    alerts = ", ".join(f"{n} {k}" for n, k in summary.alerts.items())
    print(
        f"airpicture demo: {summary.scenario} {state}; tracks held: {tracks}; alerts: {alerts}",
        flush=True,
    )
    return 0


def _add_evaluate(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "evaluate",
        _evaluate_options,
        help="score a tracks table against a scenario's truth (GOSPA, SIAP, RMSE)",
        description="Score TRACKS_FILE (the data contract's tracks table) against the truth table "
        "of SCENARIO_DIR (truth.csv or truth.parquet) at every truth time, and print a summary. "
        "When the truth table has the detectable column, only detectable objects are scored and "
        "tracks on undetectable ones are set aside (neither missed nor false).",
    )


def _evaluate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario_dir", metavar="SCENARIO_DIR")
    p.add_argument("tracks_file", metavar="TRACKS_FILE")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--plot", metavar="PNG", help="also draw a map and GOSPA over time into PNG")
    p.add_argument("--c-m", type=float, default=10_000.0, help="GOSPA cut-off, m (default 10000)")
    p.add_argument("--p", type=float, default=2.0, help="GOSPA order (default 2)")
    p.add_argument(
        "--association-distance-m",
        type=float,
        default=None,
        help="SIAP association gate, m (default: the GOSPA cut-off)",
    )
    p.add_argument(
        "--all-objects",
        action="store_true",
        help="score every truth object, also those no radar could detect (default: only the "
        "rows marked detectable, when the truth table has that column)",
    )
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from airpicture.errors import DataError
    from airpicture.evaluate._metrics import evaluate_picture, format_summary, to_json_dict
    from airpicture.io import find_scenario_files, read_sensors, read_tracks, read_truth

    files = find_scenario_files(args.scenario_dir)
    if files.truth is None:
        raise DataError(
            str(args.scenario_dir),
            expected="a truth table (truth.csv or truth.parquet) to score the tracks against",
            got="none in the scenario directory",
        )
    truth = read_truth(files.truth)
    tracks = read_tracks(args.tracks_file)
    evaluation = evaluate_picture(
        truth,
        tracks,
        c_m=args.c_m,
        p=args.p,
        association_distance_m=args.association_distance_m,
        detectable_only=not args.all_objects,
    )
    if args.json:
        print(json.dumps(to_json_dict(evaluation), indent=2, allow_nan=False))
    else:
        print(format_summary(evaluation))
    if args.plot:
        from airpicture.evaluate.plot import plot_evaluation

        sensors = read_sensors(files.sensors)
        written = plot_evaluation(truth, tracks, evaluation, args.plot, sensors=sensors)
        print(f"wrote {written}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _add_node(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "node",
        _node_options,
        help="run one nation's node (ingest, release, bus, tracker, picture)",
        description="Run the node described by CONFIG (TOML: nation, sensors, source, bus URL, "
        "release policy, tracker settings) until Ctrl-C, or until its input ends when the file "
        "says exit_when_done = true.",
    )


def _node_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG.toml")
    p.add_argument(
        "--pid-file",
        metavar="FILE",
        help="keep the process id in FILE while running, then the exit status",
    )
    p.set_defaults(func=_cmd_node)


def _cmd_node(args: argparse.Namespace) -> int:
    import contextlib

    from airpicture.node import NodeConfig, run_node
    from airpicture.processes import hold_pid_file

    with hold_pid_file(args.pid_file) if args.pid_file else contextlib.nullcontext():
        rows = run_node(NodeConfig.from_toml(args.config))
    logging.getLogger("airpicture.node").info("node stopped with %d track rows", len(rows))
    return 0


def _add_network(sub: _LazySubcommands) -> None:
    sub.add_lazy("network", _network_options, help="run a local network of nodes (one per nation)")


def _network_options(p: argparse.ArgumentParser) -> None:
    actions = _subcommands(p, "action", "ACTION")
    actions.add_lazy(
        "up",
        _network_up_options,
        help="simulate a scenario and run one node per nation on a local NATS server",
        description="Simulate SCENARIO (a library name, a scenario TOML file, or a data-contract "
        "directory), start a local NATS server and one node process per nation fed with its own "
        "sensors, and run until every picture is final or Ctrl-C.",
    )


def _network_up_options(up: argparse.ArgumentParser) -> None:
    up.add_argument(
        "--scenario", required=True, help="library scenario, scenario TOML or scenario directory"
    )
    up.add_argument("--nations", required=True, help="comma-separated nations, e.g. JPN,USA,AUS")
    up.add_argument("--duration", type=float, default=None, help="simulated duration, s")
    up.add_argument(
        "--speed", type=float, default=1.0, help="scenario seconds per second (default 1)"
    )
    up.add_argument("--record", metavar="DIR", help="write each picture to DIR/<NATION>/tracks.csv")
    up.add_argument(
        "--bus", choices=("nats", "memory"), default="nats", help="message bus (default nats)"
    )
    up.add_argument(
        "--cluster",
        type=int,
        default=1,
        metavar="N",
        help="run the NATS bus on N servers, the stream copied to each (default 1)",
    )
    up.add_argument("--seed", type=int, default=None, help="simulation seed")
    up.add_argument("--config", help="TOML file with tracker settings ([tracker] table)")
    up.add_argument(
        "--insecure",
        action="store_true",
        help="no TLS, authentication, subject permissions or signatures (default: secure)",
    )
    up.add_argument("--keys", metavar="DIR", help="keys folder to use (default: fresh keys)")
    up.add_argument(
        "--release",
        metavar="PRESET|FILE",
        help="a preset (hub, full or threats, as in the demo) or a TOML file with one [NATION] "
        "table of release rules per nation (sensors, areas, track sharing); any value other "
        "than a preset name is a file (./hub for a file named hub); default: every nation "
        "releases everything to every other",
    )
    up.set_defaults(func=_cmd_network_up)


def _cmd_network_up(args: argparse.Namespace) -> int:
    from airpicture.net._release import RELEASE_PRESETS
    from airpicture.network import network_up, read_release_file
    from airpicture.tracker import TrackerConfig

    tracker = TrackerConfig.from_toml(args.config) if args.config else None
    release = args.release
    if release is not None and release not in RELEASE_PRESETS:
        release = read_release_file(release)

    def started(info: dict) -> None:
        server = f" (nats-server pid {info['server_pid']})" if info.get("server_pid") else ""
        servers = info.get("servers", {})
        if servers:
            pids = ", ".join(f"{name} pid {v['pid']}" for name, v in servers.items())
            server = f" (nats-server {pids})"
        nodes = ", ".join(
            f"{n} pid {v['pid']}" + (f" {v['health']}" if v["health"] else "")
            for n, v in info["nodes"].items()
        )
        print(f"network up on {info['bus_url']}{server}: {nodes}", flush=True)
        if "work" in info:
            print(f"work folder: {info['work']}")
            if "server_command" in info:
                print(f"restart the server by hand: {info['server_command']}")
            for name, member in servers.items():
                print(f"restart server {name} by hand: {member['command']}")
            for nation, node in info["nodes"].items():
                print(f"restart {nation} by hand: {node['command']}", flush=True)

    result = network_up(
        scenario=args.scenario,
        nations=args.nations.split(","),
        duration_s=args.duration,
        speed=args.speed,
        record_dir=args.record,
        bus=args.bus,
        tracker=tracker,
        seed=args.seed,
        verbose=args.verbose,
        on_started=started,
        insecure=args.insecure,
        keys_dir=args.keys,
        release=release,
        release_source=args.release or "release policies",
        cluster=args.cluster,
    )
    for nation in result.nations:
        record = result.records.get(nation)
        shown = f", picture {record}" if record else ""
        code = result.exit_codes.get(nation)
        print(f"{nation}: exit {'unknown (killed)' if code is None else code}{shown}")
    if result.interrupted:
        print("network stopped by Ctrl-C", flush=True)
        return 130
    return 0 if all(code == 0 for code in result.exit_codes.values()) else 1


def _add_keys(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "keys", _keys_options, help="make the keys of a network (CA, signing keys, certificates)"
    )


def _keys_options(p: argparse.ArgumentParser) -> None:
    actions = _subcommands(p, "action", "ACTION")
    actions.add_lazy(
        "init",
        _keys_init_options,
        help="create a keys folder: local CA, per nation a signing key and a TLS certificate",
        description="Create DIR with a local certificate authority, the NATS server's "
        "certificate, and per nation an Ed25519 signing key, a TLS certificate (SAN 127.0.0.1, "
        "localhost), whose subject is its identity on the NATS server; trust.json lists the public "
        "keys and subjects. Private files are 0600.",
    )
    actions.add_lazy(
        "export",
        _keys_export_options,
        help="copy what one nation's node needs into a folder of its own",
        description="Create DESTINATION with trust.json, ca.crt and NATION/ from KEYS: the "
        "folder to install on that nation's node machine (a node refuses a keys folder holding "
        "anyone else's private files).",
    )
    actions.add_lazy(
        "rotate",
        _keys_nation_options,
        help="give a nation a new signing key and a new certificate (under a new subject)",
        description="Replace NATION's signing key, TLS key and certificate in KEYS; trust.json "
        "then names only the new ones (the old certificate maps to no user, the old key's "
        "messages fail verification). Export the node's folder again and restart the server.",
    )
    actions.add_lazy(
        "revoke",
        _keys_nation_options,
        help="take a nation out of the network (trust.json) and delete its private files",
        description="Remove NATION from KEYS/trust.json and delete KEYS/NATION/: once the server "
        "and the nodes read the new trust.json, its certificate is refused and its messages too.",
    )


def _keys_init_options(init: argparse.ArgumentParser) -> None:
    init.add_argument("--nations", required=True, help="comma-separated nations, e.g. JPN,USA,AUS")
    init.add_argument("directory", metavar="DIR")
    init.set_defaults(func=_cmd_keys_init)


def _cmd_keys_init(args: argparse.Namespace) -> int:
    from airpicture.net._keys import init_keys

    trust = init_keys(args.directory, args.nations.split(","))
    print(f"keys written to {trust.parent} (public keys in {trust.name})")
    return 0


def _keys_export_options(export: argparse.ArgumentParser) -> None:
    export.add_argument("--nation", required=True, help="the node's nation, e.g. JPN")
    export.add_argument("keys", metavar="KEYS", help="the full keys folder")
    export.add_argument("destination", metavar="DESTINATION")
    export.set_defaults(func=_cmd_keys_export)


def _keys_nation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nation", required=True, help="the nation, e.g. JPN")
    p.add_argument("keys", metavar="KEYS", help="the full keys folder (with ca.key)")
    p.set_defaults(func=_cmd_keys_nation)


def _cmd_keys_nation(args: argparse.Namespace) -> int:
    from airpicture.net._keys import revoke_keys, rotate_keys

    nation = args.nation.strip().upper()
    if args.action == "rotate":
        subject = rotate_keys(args.keys, nation)
        print(f"new keys of {nation} in {args.keys} (certificate subject {subject})")
    else:
        revoke_keys(args.keys, nation)
        print(f"{nation} revoked in {args.keys}")
    print("export the nodes' folders again and restart the server with the new trust.json")
    return 0


def _cmd_keys_export(args: argparse.Namespace) -> int:
    from airpicture.net._keys import export_node_keys

    folder = export_node_keys(args.keys, args.nation.strip().upper(), args.destination)
    print(f"keys of the {args.nation.upper()} node written to {folder}")
    return 0


class _progress_bar:
    """A tqdm bar on a terminal, silent otherwise; called with increments."""

    def __init__(self, unit: str) -> None:
        self.unit = unit

    def __enter__(self):  # type: ignore[no-untyped-def]
        from tqdm import tqdm

        self._bar = tqdm(unit=" " + self.unit, unit_scale=True, disable=not sys.stderr.isatty())
        return self._bar.update

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


def _add_simulate(sub: _LazySubcommands) -> None:
    sub.add_lazy(
        "simulate",
        _simulate_options,
        help="simulate a scenario into data-contract tables",
        description="Simulate SCENARIO (a library name or a .toml file) and write sensors.csv, "
        "detections.csv (in arrival order), truth.csv and biases.csv into DIR. With --randomize "
        "SEED, simulate scenario SEED of the randomised family around SCENARIO (by default "
        "sea-of-japan-raid) and write its file as DIR/scenario.toml too.",
    )


def _simulate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="library name or .toml path")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder (created if needed)")
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument(
        "--randomize",
        type=int,
        default=None,
        metavar="SEED",
        help="draw scenario SEED of the randomised family around SCENARIO",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="override the scenario's duration, s",
    )
    p.add_argument("--plot", metavar="PNG", help="also draw a map of the scenario")
    p.add_argument("--list", action="store_true", help="list the library scenarios and exit")
    p.set_defaults(func=_cmd_simulate)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from airpicture.errors import ConfigError
    from airpicture.sim._scenario import list_scenarios, load_scenario

    if args.list:
        entries = list_scenarios()
        width = max(len(name) for name, _ in entries)
        for name, description in entries:
            print(f"{name:<{width}}  {description}")
        return 0
    if args.randomize is not None and args.seed is not None:
        raise ConfigError(
            "command line",
            key="--seed",
            expected="no --seed with --randomize (the scenario's seed is SEED)",
            got=str(args.seed),
        )
    if (args.scenario is None and args.randomize is None) or args.output is None:
        raise ConfigError(
            "command line",
            key="SCENARIO and -o DIR",
            expected="a scenario (or --randomize SEED) and an output folder (or --list)",
            got="-o DIR missing" if args.output is None else "SCENARIO missing",
        )
    from airpicture.sim._run import simulate

    if args.randomize is not None:
        from airpicture.sim._randomize import (
            RANDOMIZED_BASE,
            randomized_scenario,
            write_randomized_scenario,
        )

        base = args.scenario or RANDOMIZED_BASE
        # a bad base, seed or duration writes nothing
        randomized_scenario(args.randomize, base=base).with_overrides(duration_s=args.duration)
        _writable_folder(Path(args.output))
        written = write_randomized_scenario(args.randomize, Path(args.output), base=base)
        print(f"drew scenario {args.randomize} of the family around {base}: wrote {written}")
        scenario = load_scenario(written).with_overrides(duration_s=args.duration)
    else:
        scenario = load_scenario(args.scenario).with_overrides(
            seed=args.seed, duration_s=args.duration
        )
        _writable_folder(Path(args.output))
    with _fraction_bar() as bar:
        summary = simulate(scenario, args.output, progress=bar)
    print(
        f"simulated {summary.scenario} (seed {summary.seed}, {summary.duration_s:g} s): "
        f"{summary.n_objects} objects, {summary.n_detections} detections "
        f"({summary.n_false_detections} false), {summary.n_truth_rows} truth rows "
        f"({summary.n_truth_rows_detectable} detectable); "
        f"wrote {summary.out_dir}"
    )
    if args.plot:
        from airpicture.io import read_truth
        from airpicture.sim.plot import plot_scenario

        truth_path = dict(summary.files)["truth"]
        print(f"wrote {plot_scenario(scenario, read_truth(truth_path), args.plot)}")
    return 0


class _fraction_bar:
    """A tqdm bar from 0 to 100 % on a terminal, silent otherwise; called with the fraction done."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        from tqdm import tqdm

        self._bar = tqdm(
            total=100,
            unit="%",
            bar_format="{l_bar}{bar}| {elapsed}<{remaining}",
            disable=not sys.stderr.isatty(),
        )
        return self.update

    def update(self, fraction: float) -> None:
        target = round(100 * min(max(fraction, 0.0), 1.0))
        if target > self._bar.n:
            self._bar.update(target - self._bar.n)

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


def _drop_tls_eof_notice(record: logging.LogRecord) -> bool:
    """Leave out asyncio's notice that a stream's end on a TLS connection cannot keep the
    connection half open: every TLS stream the bus client closes raises it, and it says nothing
    about the node."""
    return record.getMessage() != "returning true from eof_received() has no effect when using ssl"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    from airpicture.runtime import keep_freed_memory

    args = build_parser().parse_args(argv)
    keep_freed_memory()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("asyncio").addFilter(_drop_tls_eof_notice)
    try:
        return int(args.func(args))
    except AirpictureError as exc:
        print(f"airpicture {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a reader that closed early (head, less)
        return 0
    except KeyboardInterrupt:
        print(f"airpicture {args.command}: interrupted", file=sys.stderr)
        return 130
