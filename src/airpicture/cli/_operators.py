"""The ``operators`` subcommand: operators' accounts of the map (an accounts file)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airpicture.cli import _LazySubcommands

__all__ = ["add_operators"]


def add_operators(sub: _LazySubcommands) -> None:
    sub.add_lazy("operators", _operators_options, help="manage the map's operators' accounts")


def _operators_options(p: argparse.ArgumentParser) -> None:
    from airpicture.cli import _subcommands

    actions = _subcommands(p, "action", "ACTION")
    actions.add_lazy(
        "add",
        _add_options,
        help="add an operator's account (or set its nation, role and password again)",
        description="Add the account NAME to the accounts FILE (created, mode 0600, when "
        "missing) with its nation and role; the password is asked for twice on a terminal, "
        "or read from the first line of standard input (--password-stdin). Only its scrypt "
        "hash, with a salt of its own, is written.",
    )


def _add_options(p: argparse.ArgumentParser) -> None:
    from airpicture.web._auth import ROLES

    p.add_argument("file", metavar="FILE", help="the accounts file (TOML)")
    p.add_argument("name", metavar="NAME", help="the account's name ([A-Za-z0-9_.-])")
    p.add_argument("--nation", required=True, help="the operator's nation (JPN)")
    p.add_argument("--role", required=True, choices=ROLES, help="what the operator may do")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of asking for it",
    )
    p.set_defaults(func=_cmd_add)


def _cmd_add(args: argparse.Namespace) -> int:
    from airpicture.errors import ConfigError
    from airpicture.web._auth import add_account

    if args.password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("operators add", key="password", expected="the same twice", got="two")
    operator = add_account(
        args.file, args.name, nation=args.nation, role=args.role, password=password
    )
    print(f"{args.file}: {operator.name} ({operator.nation}, {operator.role})")
    return 0
