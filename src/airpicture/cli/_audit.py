"""The ``audit`` subcommand: check the hash chain of a node's audit log."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airpicture.cli import _LazySubcommands

__all__ = ["add_audit"]


def add_audit(sub: _LazySubcommands) -> None:
    sub.add_lazy("audit", _audit_options, help="check a node's audit log")


def _audit_options(p: argparse.ArgumentParser) -> None:
    from airpicture.cli import _subcommands

    actions = _subcommands(p, "action", "ACTION")
    actions.add_lazy(
        "verify",
        _verify_options,
        help="check an audit log's hash chain and report its first broken line",
        description="Check that every line of FILE (a node's audit log) carries the hash of the "
        "line before it. Exit 0 when the chain holds, 1 at the first line that breaks it (an "
        "edited, removed, inserted or moved line). Lines cut from the end, or every line "
        "rewritten from some point on, show only against a head noted earlier (--head).",
    )


def _verify_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the audit log (JSON lines)")
    p.add_argument("--head", metavar="HASH", help="the head the log must end with")
    p.set_defaults(func=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> int:
    from airpicture.net._security import verify_audit_log

    check = verify_audit_log(args.file, expected_head=args.head)
    if check.intact:
        print(f"{check.path}: {check.entries} entries, chain intact, head {check.head}")
        return 0
    print(
        f"{check.path}: line {check.broken_line} breaks the chain: {check.problem} "
        f"({check.entries} entries before it intact)"
    )
    return 1
