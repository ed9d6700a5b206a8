"""Pid files: how ``airpicture network up`` finds, and stops, processes restarted by hand.

A process that ``network up`` starts holds a pid file in the run's work folder (a node through
:func:`hold_pid_file`, ``airpicture node --pid-file``; ``nats-server`` through its ``pid_file``
setting), and so does the same command when someone runs it again by hand. The file alone is
not trusted: :func:`owned_pid` accepts its process only while that process runs the expected
command (its arguments after the program name, read from ``/proc``, so on Linux), so a stale
file whose number the system has given to another process never leads to a signal.

Elsewhere than Linux, :func:`owned_pid` finds nothing: only the processes ``network up``
started itself are stopped there.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["hold_pid_file", "owned_pid", "read_pid_file", "stop_owned"]


@contextmanager
def hold_pid_file(path: str | Path) -> Iterator[None]:
    """Write this process's id to ``path`` for the duration of the block, then its exit status.

    The file holds ``<pid>`` while the block runs and ``<pid>`` plus a line ``exit <status>``
    after it: 0 when the block ends normally, the code of a :class:`SystemExit`, 130 on
    :class:`KeyboardInterrupt`, 1 on any other exception (which propagates).

    Parameters
    ----------
    path : path
        The pid file (its folder must exist).
    """
    path = Path(path)
    pid = os.getpid()
    _write(path, f"{pid}\n")
    status = 1
    try:
        yield
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
        raise
    except KeyboardInterrupt:
        status = 130
        raise
    finally:
        _write(path, f"{pid}\nexit {status}\n")


def read_pid_file(path: str | Path) -> tuple[int, int | None] | None:
    """A pid file's process id and the exit status it records (:func:`hold_pid_file`).

    Returns
    -------
    tuple of int and (int or None), or None
        The process id and its exit status (None while it runs, or when it ended without
        recording one: killed, or a program that writes only its id); None when the file is
        missing or holds no process id.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        pid = int(lines[0])
    except (OSError, ValueError):
        return None
    for line in lines[1:]:
        word, _, value = line.partition(" ")
        if word == "exit" and value.lstrip("-").isdigit():
            return pid, int(value)
    return pid, None


def owned_pid(path: str | Path, command: Sequence[str]) -> int | None:
    """The process named in a pid file, if it is alive and runs ``command``.

    Parameters
    ----------
    path : path
        A pid file (its first line the process id).
    command : sequence of str
        The expected command line; its arguments after the program name must equal the
        process's (the program itself may be named differently, such as through a link).

    Returns
    -------
    int or None
        The process id; None when the file is missing or unreadable, or its process has ended
        (or is a zombie) or runs something else.
    """
    read = read_pid_file(path)
    if read is None:
        return None
    try:
        raw = Path(f"/proc/{read[0]}/cmdline").read_bytes()
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in raw.split(b"\0")[:-1]]
    return read[0] if args[1:] == list(command[1:]) else None


def stop_owned(
    path: str | Path, command: Sequence[str], grace_s: float = 10.0, *, asked: bool = False
) -> int | None:
    """Stop the process of a pid file if it runs ``command``: SIGTERM, SIGKILL after ``grace_s``.

    Parameters
    ----------
    path : path
        The pid file.
    command : sequence of str
        The expected command line (see :func:`owned_pid`).
    grace_s : float
        How long the process has to stop after SIGTERM, s.
    asked : bool
        The caller has sent the SIGTERM already: only wait, and SIGKILL after ``grace_s``. A
        second SIGTERM could reach a process that, stopping, no longer handles it.

    Returns
    -------
    int or None
        The id of the process stopped; None when there was none of ours.
    """
    pid = owned_pid(path, command)
    if pid is None:
        return None
    if not asked:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while owned_pid(path, command) == pid:
        if time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return pid


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:  # it ended on its own meanwhile
        pass


def _write(path: Path, text: str) -> None:
    """Replace the file at once, so a reader never sees it half written."""
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)
