"""Payloads of UDP (and TCP) packets in a classic libpcap capture file, with their capture times.

Link types: Ethernet (1, with 802.1Q tags), raw IPv4 (101, 228) and Linux cooked capture (113).
IPv4 only; fragments other than the first are skipped and counted. pcapng files are refused
with a clear error (convert them with ``editcap -F pcap``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from airpicture.errors import DataError
from airpicture.interop._report import DecodeReport

__all__ = ["Packet", "iter_pcap"]

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


@dataclass(frozen=True, slots=True)
class Packet:
    """One packet's transport payload: capture time (s since the epoch), byte offset of the
    payload in the file, destination port, protocol (``"udp"`` or ``"tcp"``)."""

    t_s: float
    offset: int
    port: int
    protocol: str
    payload: bytes


def is_pcap(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts a classic pcap file."""
    return head[:4] in _MAGICS


def iter_pcap(data: bytes, *, source: str, report: DecodeReport) -> Iterator[Packet]:
    """The UDP and TCP payloads of a pcap file's bytes, in capture order.

    Raises
    ------
    DataError
        If ``data`` is not a classic pcap file (pcapng included) or has an unsupported link
        type.
    """
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        raise DataError(source, expected="a classic pcap file", got="a pcapng file")
    if data[:4] not in _MAGICS or len(data) < 24:
        raise DataError(source, expected="a pcap file", got=f"first bytes {data[:4].hex()}")
    endian, tick = _MAGICS[data[:4]]
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype not in (1, 101, 113, 228):
        raise DataError(
            source,
            expected="link type Ethernet (1), raw IP (101, 228) or Linux cooked (113)",
            got=f"link type {linktype}",
        )
    header = struct.Struct(endian + "IIII")
    pos = 24
    while pos < len(data):
        if pos + 16 > len(data):
            report.skip(source, pos, "truncated packet", "packet header cut short")
            return
        sec, frac, incl, _orig = header.unpack_from(data, pos)
        start = pos + 16
        end = start + incl
        if end > len(data):
            report.skip(
                source, pos, "truncated packet", f"{incl} bytes announced, {len(data) - start} left"
            )
            return
        pos = end
        packet = _transport(data, start, end, linktype, sec + frac * tick, source, report)
        if packet is not None:
            yield packet


def _transport(
    data: bytes,
    start: int,
    end: int,
    linktype: int,
    t_s: float,
    source: str,
    report: DecodeReport,
) -> Packet | None:
    p = start
    if linktype == 1:
        if end - p < 14:
            report.skip(source, start, "truncated packet", "Ethernet header cut short")
            return None
        ethertype = int.from_bytes(data[p + 12 : p + 14], "big")
        p += 14
        while ethertype == 0x8100 and end - p >= 4:
            ethertype = int.from_bytes(data[p + 2 : p + 4], "big")
            p += 4
        if ethertype != 0x0800:
            report.ignore("non-IPv4 packet")
            return None
    elif linktype == 113:
        if end - p < 16:
            report.skip(source, start, "truncated packet", "Linux cooked header cut short")
            return None
        if int.from_bytes(data[p + 14 : p + 16], "big") != 0x0800:
            report.ignore("non-IPv4 packet")
            return None
        p += 16
    if end - p < 20 or data[p] >> 4 != 4:
        report.ignore("non-IPv4 packet")
        return None
    ihl = (data[p] & 0x0F) * 4
    frag = int.from_bytes(data[p + 6 : p + 8], "big") & 0x1FFF
    proto = data[p + 9]
    if frag:
        report.skip(source, start, "IP fragment", "a fragment other than the first")
        return None
    p += ihl
    if proto == 17 and end - p >= 8:
        port = int.from_bytes(data[p + 2 : p + 4], "big")
        length = int.from_bytes(data[p + 4 : p + 6], "big")
        payload_end = min(end, p + max(length, 8))
        return Packet(t_s, p + 8, port, "udp", data[p + 8 : payload_end])
    if proto == 6 and end - p >= 20:
        port = int.from_bytes(data[p + 2 : p + 4], "big")
        offset = (data[p + 12] >> 4) * 4
        if end - p - offset <= 0:
            return None
        return Packet(t_s, p + offset, port, "tcp", data[p + offset : end])
    report.ignore("non-UDP/TCP packet")
    return None
