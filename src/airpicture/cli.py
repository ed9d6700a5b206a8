"""The ``airpicture`` command: thin subcommands over the public API.

Each subcommand is a function ``_cmd_<name>(args) -> int`` registered in :func:`build_parser`.
Errors of airpicture (bad data, bad configuration) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys

from airpicture import __version__
from airpicture.errors import AirpictureError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="airpicture", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"airpicture {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Subcommands register here, one block each.
    _add_track(sub)
    return parser


def _add_track(sub: argparse._SubParsersAction) -> None:
    from dataclasses import fields

    from airpicture.tracker import TrackerConfig

    p = sub.add_parser(
        "track",
        help="track a scenario directory's detections into a tracks table",
        description="Track the detections of SCENARIO_DIR (sensors and detections tables, CSV or "
        "Parquet) and write the picture as the data contract's tracks table.",
    )
    p.add_argument("scenario_dir", metavar="SCENARIO_DIR")
    p.add_argument("-o", "--output", required=True, help="tracks table to write (.csv or .parquet)")
    p.add_argument("--config", help="TOML file with tracker settings ([tracker] table)")
    for f in fields(TrackerConfig):
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type=int if f.type == "int" else float,
            default=None,
            help=f"tracker setting (default {f.default})",
        )
    p.set_defaults(func=_cmd_track)


def _cmd_track(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from airpicture.batch import track_scenario
    from airpicture.tracker import TrackerConfig

    values = {}
    source = "command line"
    if args.config:
        from airpicture.config import load_toml

        data = load_toml(args.config)
        values = dict(data.get("tracker", data))
        source = f"{args.config} and command line"
    for f in fields(TrackerConfig):
        flag = getattr(args, f.name)
        if flag is not None:
            values[f.name] = flag
    config = TrackerConfig.from_mapping(values, source=source)
    with _progress_bar("detections") as bar:
        stats = track_scenario(args.scenario_dir, args.output, config=config, progress=bar)
    print(
        f"tracked {stats.processed} detections: {stats.initiated} tracks started, "
        f"{stats.confirmed} confirmed, {stats.late} late ({stats.late_used} used); "
        f"wrote {args.output}"
    )
    for example in stats.late_examples[:5]:
        print(f"  late report not used: {example}")
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


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except AirpictureError as exc:
        print(f"airpicture {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"airpicture {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
