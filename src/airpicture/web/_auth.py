"""Operators of the map: who they are (:class:`Operator`: a name, a nation and a role), how they
prove it (an :class:`Authenticator`; :class:`Accounts`, local accounts with scrypt-hashed
passwords in a TOML file, is the one shipped) and how long a login lasts (:class:`Sessions`).

An organisation's single sign-on replaces :class:`Accounts` by any object with the
:class:`Authenticator` method ``authenticate(name, password) -> Operator | None``; the map checks
every request against the :class:`Operator` it returns, whoever made it.

Roles (:data:`ROLES`): a ``viewer`` sees the picture of their nation; an ``operator`` also
assigns identities, attaches notes and acknowledges alerts; a ``supervisor`` also hands over the
responsibility for reporting a track (:data:`ROLE_ACTIONS`).

The accounts file::

    [operators.alice]
    nation = "JPN"
    role = "operator"
    password = "scrypt$16384$8$1$<salt, base64>$<hash, base64>"

is written by ``airpicture operators add`` (:func:`add_account`), mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from airpicture.codes import COORDINATION_ACTIONS, is_nation_code
from airpicture.errors import ConfigError

__all__ = [
    "ROLES",
    "ROLE_ACTIONS",
    "Accounts",
    "Authenticator",
    "Operator",
    "Sessions",
    "add_account",
    "check_password",
    "hash_password",
]

ROLES = ("viewer", "operator", "supervisor")
"""Operators' roles, each allowed what the one before it is, and more."""

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "operator": frozenset({"identity", "note", "acknowledge"}),
    "supervisor": frozenset(COORDINATION_ACTIONS),
}
"""The coordination actions each role may take (:data:`~airpicture.codes.COORDINATION_ACTIONS`)."""

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_SCRYPT = (2**14, 8, 1)  # n, r, p: 16 MiB and some 50 ms per hash
_SALT_BYTES = 16
_HASH_BYTES = 32


@dataclass(frozen=True)
class Operator:
    """Who is logged in: an account name, a nation and a role (:data:`ROLES`)."""

    name: str
    nation: str
    role: str

    def may(self, action: str) -> bool:
        """Whether the role allows the coordination action ``action``."""
        return action in ROLE_ACTIONS.get(self.role, frozenset())

    def as_dict(self) -> dict[str, object]:
        """The operator as the page gets it (name, nation, role, the actions allowed)."""
        return {
            "name": self.name,
            "nation": self.nation,
            "role": self.role,
            "actions": sorted(ROLE_ACTIONS[self.role]),
        }


class Authenticator(Protocol):
    """What the map asks to log an operator in: local accounts or an organisation's SSO."""

    def authenticate(self, name: str, password: str) -> Operator | None:
        """The operator when ``password`` proves ``name``; None otherwise."""
        ...


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A password's scrypt hash with a random salt, as the accounts file holds it:
    ``scrypt$N$r$p$<salt>$<hash>`` (base64)."""
    n, r, p = _SCRYPT
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_HASH_BYTES)
    return "$".join(("scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash of :func:`hash_password` (compared in constant
    time); False for a hash that is not of that form."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(v) for v in parts[1:4])
        salt, digest = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        found = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(digest)
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(found, digest)


class Accounts:
    """Local operators' accounts: an :class:`Authenticator` over an accounts file.

    Parameters
    ----------
    operators : mapping of str to (Operator, str)
        Each account name's operator and password hash (:func:`hash_password`).
    """

    def __init__(self, operators: Mapping[str, tuple[Operator, str]]) -> None:
        self._operators = dict(operators)
        # an unknown name costs a hash too, so timing does not tell which names exist
        self._dummy = hash_password(secrets.token_urlsafe(16))

    def __len__(self) -> int:
        return len(self._operators)

    def operators(self) -> list[Operator]:
        """Every account's operator, by name."""
        return [self._operators[k][0] for k in sorted(self._operators)]

    def authenticate(self, name: str, password: str) -> Operator | None:
        """The account's operator when ``password`` is its password; None otherwise."""
        found = self._operators.get(name)
        if found is None:
            check_password(password, self._dummy)
            return None
        return found[0] if check_password(password, found[1]) else None

    @classmethod
    def load(cls, path: str | Path) -> Accounts:
        """Read an accounts file (the module docstring gives its form).

        Raises
        ------
        ConfigError
            A file that cannot be read, or an account without a valid nation, role or
            password hash, or with an unknown key.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                str(path), key="(file)", expected="an accounts file", got=str(exc)
            ) from None
        source = str(path)
        table = data.get("operators", {})
        if set(data) - {"operators"} or not isinstance(table, dict):
            raise ConfigError(source, key="(top)", expected="[operators.NAME] tables", got="other")
        operators: dict[str, tuple[Operator, str]] = {}
        for name, values in table.items():
            key = f"operators.{name}"
            if not _NAME.fullmatch(name) or not isinstance(values, dict):
                raise ConfigError(
                    source, key=key, expected="a name of [A-Za-z0-9_.-], a table", got=repr(name)
                )
            if set(values) != {"nation", "role", "password"}:
                raise ConfigError(
                    source,
                    key=key,
                    expected="nation, role and password",
                    got=", ".join(sorted(values)),
                )
            operator = _operator(name, values["nation"], values["role"], source, key)
            stored = values["password"]
            if not isinstance(stored, str) or not stored.startswith("scrypt$"):
                raise ConfigError(
                    source, key=key + ".password", expected="an scrypt hash", got="other"
                )
            operators[name] = (operator, stored)
        return cls(operators)


def _operator(name: str, nation: object, role: object, source: str, key: str) -> Operator:
    if not is_nation_code(nation):
        raise ConfigError(source, key=key + ".nation", expected="a nation code", got=repr(nation))
    if role not in ROLES:
        raise ConfigError(
            source, key=key + ".role", expected="one of " + ", ".join(ROLES), got=repr(role)
        )
    return Operator(name, str(nation), str(role))


_ADD_LOCK = threading.Lock()


def add_account(path: str | Path, name: str, *, nation: str, role: str, password: str) -> Operator:
    """Add an account to an accounts file (created, mode 0600, when missing), or replace the
    account of that name.

    Raises
    ------
    ConfigError
        A name, nation or role that is not valid, an empty password, or an existing file that
        is not an accounts file.
    """
    path = Path(path)
    if not _NAME.fullmatch(name):
        raise ConfigError("operators add", key="name", expected="[A-Za-z0-9_.-]", got=repr(name))
    operator = _operator(name, nation, role, "operators add", "account")
    if not password:
        raise ConfigError("operators add", key="password", expected="a password", got="none")
    with _ADD_LOCK:
        accounts = Accounts.load(path)._operators if path.exists() else {}
        accounts[name] = (operator, hash_password(password))
        lines = ["# airpicture operators' accounts (airpicture operators add)"]
        for key in sorted(accounts):
            op, stored = accounts[key]
            lines += [
                "",
                f"[operators.{key}]",
                f'nation = "{op.nation}"',
                f'role = "{op.role}"',
                f'password = "{stored}"',
            ]
        temporary = path.with_name(path.name + ".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        os.replace(temporary, path)
    return operator


class Sessions:
    """Logged-in operators by session token; a session ends ``ttl_s`` after the login, or
    ``idle_s`` after its last use, whichever comes first.

    Parameters
    ----------
    ttl_s : float
        Longest session, s (8 h: a shift).
    idle_s : float
        Longest time without a request, s.
    """

    def __init__(self, *, ttl_s: float = 8 * 3600.0, idle_s: float = 1800.0) -> None:
        for key, value in (("ttl_s", ttl_s), ("idle_s", idle_s)):
            if not (isinstance(value, int | float) and 0 < value < float("inf")):
                raise ConfigError(
                    "sessions", key=key, expected="a positive number", got=repr(value)
                )
        self.ttl_s = float(ttl_s)
        self.idle_s = float(idle_s)
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Operator, float, float]] = {}

    def open(self, operator: Operator) -> str:
        """A new session of ``operator``; its token (the cookie's value)."""
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._open = {k: v for k, v in self._open.items() if self._alive(v, now)}
            self._open[token] = (operator, now + self.ttl_s, now)
        return token

    def get(self, token: str | None) -> Operator | None:
        """The session's operator (its idle time starts again); None when it has ended."""
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            found = self._open.get(token)
            if found is None:
                return None
            if not self._alive(found, now):
                del self._open[token]
                return None
            self._open[token] = (found[0], found[1], now)
            return found[0]

    def remaining_s(self, token: str) -> float:
        """Time until the session ends if it stays in use, s (0 when it has ended)."""
        with self._lock:
            found = self._open.get(token)
        if found is None:
            return 0.0
        return max(0.0, found[1] - time.monotonic())

    def close(self, token: str | None) -> None:
        """End a session (a logout)."""
        with self._lock:
            self._open.pop(token or "", None)

    def _alive(self, entry: tuple[Operator, float, float], now: float) -> bool:
        return now < entry[1] and now - entry[2] < self.idle_s
