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
    del sub
    return parser


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
