"""Where bytes come from: files (raw or pcap), UDP datagrams, TCP streams; in chunks that hold
whole records (whole ASTERIX datablocks, whole Beast frames, whole lines as far as possible)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Generator
from pathlib import Path
from urllib.parse import urlsplit

from airpicture.errors import ConfigError, DataError
from airpicture.interop._pcap import is_pcap, iter_pcap
from airpicture.interop._report import DecodeReport

__all__ = ["open_source", "parse_address"]

_CHUNK = 1 << 20
Chunks = Generator[tuple[bytes, float | None, int], None, None]


def parse_address(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``udp://HOST:PORT``, ``tcp://HOST:PORT`` or
    ``tcp-listen://HOST:PORT``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("udp", "tcp", "tcp-listen") or not parts.hostname or port is None:
        raise ConfigError(
            url,
            key="source",
            expected="udp://HOST:PORT, tcp://HOST:PORT or tcp-listen://HOST:PORT",
            got=repr(url),
        )
    return parts.scheme, parts.hostname, port


def _asterix_split(buf: bytes) -> int:
    """Bytes of ``buf`` made of whole datablocks (the rest waits for more data)."""
    pos = 0
    while len(buf) - pos >= 3:
        length = int.from_bytes(buf[pos + 1 : pos + 3], "big")
        if length < 3:
            return len(buf)  # broken framing: let the decoder count it
        if pos + length > len(buf):
            break
        pos += length
    return pos


def _beast_split(buf: bytes) -> int:
    """Bytes of ``buf`` before the last frame start (that frame may be incomplete)."""
    i = len(buf) - 2
    while i >= 0:
        if buf[i] == 0x1A and buf[i + 1] in b"1234" and (i == 0 or buf[i - 1] != 0x1A):
            return i
        i -= 1
    return 0


def _split(fmt: str, buf: bytes) -> int:
    if fmt == "asterix":
        return _asterix_split(buf)
    if fmt == "beast":
        return _beast_split(buf)
    cut = buf.rfind(b"\n")
    return cut + 1


def _file_chunks(
    path: Path, fmt: str, report: DecodeReport, progress: Callable[[int], None] | None
) -> Chunks:
    try:
        with path.open("rb") as f:
            head = f.read(4)
            f.seek(0)
            if is_pcap(head) or head == b"\x0a\x0d\x0d\x0a":
                data = f.read()
                done = 0
                for packet in iter_pcap(data, source=str(path), report=report):
                    if progress is not None:
                        progress(packet.offset - done)
                        done = packet.offset
                    yield packet.payload, packet.t_s, packet.offset
                if progress is not None:
                    progress(len(data) - done)
                return
            if fmt == "beast":  # frames cannot be cut safely without reading them
                data = f.read()
                if progress is not None:
                    progress(len(data))
                yield data, None, 0
                return
            offset = 0
            pending = b""
            while block := f.read(_CHUNK):
                buf = pending + block
                cut = _split(fmt, buf)
                if cut:
                    yield buf[:cut], None, offset
                offset += cut
                pending = buf[cut:]
                if progress is not None:
                    progress(len(block))
            if pending:
                yield pending, None, offset
    except OSError as exc:
        raise DataError(
            str(path), expected="a readable file", got=exc.strerror or str(exc)
        ) from None


def _udp_chunks(
    host: str, port: int, duration_s: float | None, progress: Callable[[int], None] | None
) -> Chunks:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DataError(
            f"udp://{host}:{port}", expected="a UDP port to listen on", got=exc.strerror or str(exc)
        ) from None
    sock.settimeout(0.2)
    end = None if duration_s is None else time.monotonic() + duration_s
    offset = 0
    try:
        while end is None or time.monotonic() < end:
            try:
                data = sock.recv(65_535)
            except TimeoutError:
                continue
            if progress is not None:
                progress(len(data))
            yield data, time.time(), offset
            offset += len(data)
    finally:
        sock.close()


def _tcp_chunks(
    scheme: str,
    host: str,
    port: int,
    fmt: str,
    duration_s: float | None,
    progress: Callable[[int], None] | None,
) -> Chunks:
    name = f"{scheme}://{host}:{port}"
    end = None if duration_s is None else time.monotonic() + duration_s
    server = None
    try:
        if scheme == "tcp":
            conn = socket.create_connection((host, port), timeout=5.0)
        else:
            server = socket.create_server((host, port))
            server.settimeout(0.2)
            while True:
                if end is not None and time.monotonic() >= end:
                    return
                try:
                    conn, _ = server.accept()
                    break
                except TimeoutError:
                    continue
    except OSError as exc:
        if server is not None:
            server.close()
        raise DataError(name, expected="a TCP feed", got=exc.strerror or str(exc)) from None
    conn.settimeout(0.2)
    pending = b""
    offset = 0
    try:
        while end is None or time.monotonic() < end:
            try:
                block = conn.recv(65_536)
            except TimeoutError:
                continue
            if not block:
                break
            if progress is not None:
                progress(len(block))
            buf = pending + block
            cut = _split(fmt, buf)
            if cut:
                yield buf[:cut], time.time(), offset
            offset += cut
            pending = buf[cut:]
        if pending:
            yield pending, time.time(), offset
    finally:
        conn.close()
        if server is not None:
            server.close()


def open_source(
    source: str | Path,
    *,
    fmt: str,
    report: DecodeReport,
    duration_s: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> Chunks:
    """Chunks ``(bytes, time, offset)`` of a file, a pcap capture or a live feed.

    ``time`` is a pcap packet's capture time or a live chunk's arrival time (s since the
    epoch), None for a plain file; ``offset`` the chunk's place in its source. Close the
    generator to stop a live source early.
    """
    text = str(source)
    if "://" in text:
        scheme, host, port = parse_address(text)
        if scheme == "udp":
            return _udp_chunks(host, port, duration_s, progress)
        return _tcp_chunks(scheme, host, port, fmt, duration_s, progress)
    path = Path(source)
    if not path.is_file():
        raise DataError(str(path), expected="a recording file", got="no such file")
    return _file_chunks(path, fmt, report, progress)
