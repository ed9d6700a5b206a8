"""Mode S and ADS-B downlink: receiver formats (Beast binary, AVR hex lines, SBS/BaseStation
CSV) to position reports with identity, decoded with ``pyModeS``.

Airborne positions (ADS-B type codes 9-18, barometric altitude; 20-22, GNSS height) come as
Compact Position Reporting (CPR) frames, even or odd, each ambiguous on its own
(DO-260B A.1.7). :class:`CprResolver` resolves them in this order:

1. *global*: an even and an odd frame of the same aircraft within ``pair_window_s`` (10 s), the
   newer frame's zone giving the position (DO-260B A.1.7.3);
2. *local to the aircraft*: a frame within ``local_window_s`` of that aircraft's last resolved
   position, against it as the reference (A.1.7.5: valid within 180 NM, here 10 s of flight);
3. *local to the receiver*: against the receiver's position, only when the receiver's range is
   under 180 NM so the answer is unique, and the result inside that range.

A resolved position more than ``max_speed_mps`` (Mach 3) of flight from the aircraft's last one
is refused (counted) and the aircraft's pair state dropped: it comes from a pair that straddled
a zone boundary or a corrupted frame. Callsigns (type codes 1-4) and squawks (DF5/DF21 replies,
ADS-B type code 28) become the aircraft's identity, carried on its next position reports;
DF4/5/20/21 replies, whose address is only the parity overlay, are believed only for aircraft
already heard on DF11/17/18. Squawks 7500, 7600 and 7700 and ADS-B emergency states mark
emergencies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from airpicture.interop._report import DecodeReport

__all__ = [
    "CprResolver",
    "ModeSDecoder",
    "ModeSReport",
    "RawMessage",
    "emergency_of_squawk",
    "iter_avr",
    "iter_beast",
    "iter_sbs",
]

BEAST_CLOCK_HZ = 12_000_000.0
_FT_M = 0.3048
_NM_M = 1852.0
_SQUAWK_EMERGENCY = {
    "7500": "unlawful-interference",
    "7600": "no-communications",
    "7700": "general",
}
_ADSB_EMERGENCY = {
    1: "general",
    2: "medical",
    3: "minimum-fuel",
    4: "no-communications",
    5: "unlawful-interference",
    6: "downed",
}


def emergency_of_squawk(squawk: str | None) -> str | None:
    """The emergency a squawk declares: 7500 unlawful interference, 7600 no communications,
    7700 general emergency; None otherwise."""
    return _SQUAWK_EMERGENCY.get(squawk or "")


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One Mode S message from a receiver stream: hex text, time (s since the epoch, or None
    when the stream carries none), byte or line ``offset`` in the source."""

    hex: str
    t_s: float | None
    offset: int


@dataclass(frozen=True, slots=True)
class ModeSReport:
    """A resolved aircraft position with identity.

    ``altitude_m`` is the reported altitude in metres and ``altitude_kind`` says which:
    ``"baro"`` (pressure altitude, 1013.25 hPa datum) or ``"gnss"`` (height above the WGS-84
    ellipsoid). ``emergency`` as :func:`emergency_of_squawk` or the ADS-B emergency state.
    """

    t_s: float
    address: str
    lat_deg: float
    lon_deg: float
    altitude_m: float | None
    altitude_kind: str
    callsign: str | None
    squawk: str | None
    emergency: str | None
    ground_speed_mps: float | None = None
    track_deg: float | None = None


# Receiver formats ----------------------------------------------------------------------------


def iter_avr(
    lines: Iterable[tuple[int, str]],
    *,
    source: str,
    report: DecodeReport,
    start_t_s: float | None = None,
) -> Iterator[RawMessage]:
    """Messages of AVR text lines (``(line number, text)`` pairs).

    Accepted lines: ``*HEX;`` (no time), ``@TTTTTTTTTTTTHEX;`` (a 12 MHz counter, seconds
    from ``start_t_s``), and ``EPOCH,HEX`` or ``EPOCH HEX`` (seconds since the epoch first, as
    logging tools write). Blank lines are passed over; anything else is skipped and counted.
    """
    for number, raw in lines:
        line = raw.strip()
        if not line:
            continue
        t_s: float | None = None
        text = line
        if line[0] == "@":
            body = line[1:].rstrip(";")
            if len(body) < 12 + 14:
                report.skip(source, number, "bad line", f"line {number}: {line[:40]!r}")
                continue
            try:
                ticks = int(body[:12], 16)
            except ValueError:
                report.skip(source, number, "bad line", f"line {number}: bad timestamp")
                continue
            t_s = (start_t_s or 0.0) + ticks / BEAST_CLOCK_HZ
            text = body[12:]
        elif line[0] in "*:":
            text = line[1:].rstrip(";")
        else:
            parts = line.replace(",", " ").split()
            if len(parts) != 2:
                report.skip(source, number, "bad line", f"line {number}: {line[:40]!r}")
                continue
            try:
                t_s = float(parts[0])
            except ValueError:
                report.skip(source, number, "bad line", f"line {number}: bad time {parts[0]!r}")
                continue
            if not math.isfinite(t_s):
                report.skip(source, number, "bad line", f"line {number}: bad time {parts[0]!r}")
                continue
            text = parts[1].lstrip("*").rstrip(";")
        yield RawMessage(text, t_s, number)


def iter_beast(
    data: bytes,
    *,
    source: str,
    report: DecodeReport,
    start_t_s: float | None = None,
    base_offset: int = 0,
) -> Iterator[RawMessage]:
    """Messages of a Beast binary stream (``0x1A`` escapes doubled inside frames).

    Frame types ``'2'`` (Mode S short) and ``'3'`` (Mode S long) are returned; ``'1'`` (Mode
    A/C) and ``'4'`` (status) are counted as not used. The 6-byte timestamp (12 MHz counter) is
    seconds from ``start_t_s``; with no ``start_t_s`` the times are None. Bytes between frames
    that do not start one are skipped and counted once per run.
    """
    sizes = {0x31: 2, 0x32: 7, 0x33: 14, 0x34: 14}
    pos = 0
    n = len(data)
    while pos < n:
        if data[pos] != 0x1A:
            start = pos
            while pos < n and data[pos] != 0x1A:
                pos += 1
            report.skip(
                source, base_offset + start, "no frame start", f"{pos - start} bytes without 0x1A"
            )
            continue
        if pos + 1 >= n:
            report.skip(source, base_offset + pos, "truncated frame", "stream ends after 0x1A")
            return
        kind = data[pos + 1]
        if kind not in sizes:
            report.skip(source, base_offset + pos, "unknown frame type", f"type 0x{kind:02x}")
            pos += 1
            continue
        want = 7 + sizes[kind]
        body = bytearray()
        p = pos + 2
        while len(body) < want and p < n:
            b = data[p]
            if b == 0x1A:
                if p + 1 < n and data[p + 1] == 0x1A:
                    p += 2
                    body.append(0x1A)
                    continue
                break  # an unescaped 0x1A starts the next frame: this one is cut short
            body.append(b)
            p += 1
        if len(body) < want:
            report.skip(
                source,
                base_offset + pos,
                "truncated frame",
                f"type '{chr(kind)}': {len(body)} of {want} bytes",
            )
            pos = p
            continue
        offset = base_offset + pos
        pos = p
        if kind in (0x31, 0x34):
            report.ignore("Mode A/C or status frame")
            continue
        ticks = int.from_bytes(body[:6], "big")
        t_s = None if start_t_s is None else start_t_s + ticks / BEAST_CLOCK_HZ
        yield RawMessage(body[7:].hex().upper(), t_s, offset)


def iter_sbs(
    lines: Iterable[tuple[int, str]], *, source: str, report: DecodeReport
) -> Iterator[ModeSReport]:
    """Position reports of SBS/BaseStation CSV lines (``MSG,3,...`` rows with a position).

    The receiver resolved the positions already; identity (columns 11 callsign, 18 squawk,
    20 emergency) is carried from earlier rows of the same aircraft. Times are the generated
    date and time (columns 7-8, taken as UTC). Rows of other transmission types update the
    identity only; bad rows are skipped and counted.
    """
    identity: dict[str, tuple[str | None, str | None]] = {}
    for number, raw in lines:
        line = raw.strip()
        if not line:
            continue
        cells = line.split(",")
        if cells[0] != "MSG" or len(cells) < 22:
            if cells[0] in ("SEL", "ID", "AIR", "STA", "CLK"):
                report.ignore(f"SBS {cells[0]} row")
            else:
                report.skip(
                    source,
                    number,
                    "bad line",
                    f"line {number}: expected 22 MSG columns, got {line[:40]!r}",
                )
            continue
        address = cells[4].strip().upper()
        if len(address) != 6 or any(c not in "0123456789ABCDEF" for c in address):
            report.skip(source, number, "bad address", f"line {number}: {cells[4]!r}")
            continue
        callsign, squawk = identity.get(address, (None, None))
        if cells[10].strip():
            callsign = cells[10].strip()
        if cells[17].strip():
            squawk = cells[17].strip()
        identity[address] = (callsign, squawk)
        if not (cells[14].strip() and cells[15].strip()):
            report.ignore("SBS row without position")
            continue
        try:
            stamp = datetime.strptime(f"{cells[6]} {cells[7]}", "%Y/%m/%d %H:%M:%S.%f")
            t_s = stamp.replace(tzinfo=UTC).timestamp()
            lat, lon = float(cells[14]), float(cells[15])
            alt_ft = float(cells[11]) if cells[11].strip() else None
            gs = float(cells[12]) * _NM_M / 3600.0 if cells[12].strip() else None
            trk = float(cells[13]) if cells[13].strip() else None
        except ValueError as exc:
            report.skip(source, number, "bad value", f"line {number}: {exc}")
            continue
        if not (abs(lat) <= 90 and abs(lon) <= 180) or (
            alt_ft is not None and not math.isfinite(alt_ft)
        ):
            report.skip(source, number, "bad value", f"line {number}: position {lat}, {lon}")
            continue
        emergency = emergency_of_squawk(squawk)
        if emergency is None and cells[19].strip() in ("-1", "1"):
            emergency = "general"
        report.records += 1
        yield ModeSReport(
            t_s=t_s,
            address=address,
            lat_deg=lat,
            lon_deg=lon,
            altitude_m=None if alt_ft is None else alt_ft * _FT_M,
            altitude_kind="baro",
            callsign=callsign,
            squawk=squawk,
            emergency=emergency,
            ground_speed_mps=gs,
            track_deg=trk,
        )


# CPR -----------------------------------------------------------------------------------------


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class _Aircraft:
    frames: dict[int, tuple[int, int, float]] = field(default_factory=dict)
    last: tuple[float, float, float] | None = None  # lat, lon, t


@dataclass
class CprResolver:
    """Resolves airborne CPR frames to positions, per aircraft (see the module docstring).

    Parameters
    ----------
    reference : (lat_deg, lon_deg), optional
        The receiver's position, for decoding single frames locally to it.
    receiver_range_m : float
        How far the receiver hears; local decoding to the receiver needs it under 180 NM.
    pair_window_s, local_window_s, max_speed_mps : float
        The even/odd pairing window, the age limit of an aircraft's own last position as a
        reference, and the fastest flight believed between two positions.
    """

    reference: tuple[float, float] | None = None
    receiver_range_m: float = 300_000.0
    pair_window_s: float = 10.0
    local_window_s: float = 10.0
    max_speed_mps: float = 1000.0
    _aircraft: dict[str, _Aircraft] = field(default_factory=dict, repr=False)

    def resolve(
        self, address: str, t_s: float, odd: int, cpr_lat: int, cpr_lon: int
    ) -> tuple[float, float, float] | str:
        """``(lat_deg, lon_deg, t_s)`` of one frame (of the newer frame of a pair, when a pair
        resolved it), or the reason it cannot be resolved yet (a short phrase:
        ``"waiting for the other CPR frame"``, ``"inconsistent CPR position"``)."""
        from pyModeS.position import airborne_position_pair, airborne_position_with_ref

        ac = self._aircraft.setdefault(address, _Aircraft())
        ac.frames = {k: v for k, v in ac.frames.items() if abs(t_s - v[2]) <= self.pair_window_s}
        ac.frames[odd] = (cpr_lat, cpr_lon, t_s)
        position: tuple[float, float] | None = None
        t_pos = t_s
        if ac.last is not None and 0 <= t_s - ac.last[2] <= self.local_window_s:
            position = airborne_position_with_ref(odd, cpr_lat, cpr_lon, ac.last[0], ac.last[1])
        elif 0 in ac.frames and 1 in ac.frames:
            even, other = ac.frames[0], ac.frames[1]
            t_pos = max(even[2], other[2])
            position = airborne_position_pair(
                even[0], even[1], other[0], other[1], even_is_newer=even[2] >= other[2]
            )
            if position is None:
                ac.frames = {odd: ac.frames[odd]}
                return "CPR pair across a zone boundary"
        elif self.reference is not None and self.receiver_range_m < 180 * _NM_M:
            position = airborne_position_with_ref(
                odd, cpr_lat, cpr_lon, self.reference[0], self.reference[1]
            )
            if _distance_m(*self.reference, *position) > self.receiver_range_m:
                return "CPR position beyond the receiver's range"
        if position is None:
            return "waiting for the other CPR frame"
        lat, lon = position
        if ac.last is not None:
            dt = abs(t_pos - ac.last[2])
            if _distance_m(ac.last[0], ac.last[1], lat, lon) > self.max_speed_mps * dt + 500.0:
                ac.last = None
                ac.frames = {odd: ac.frames[odd]}
                return "inconsistent CPR position"
        ac.last = (lat, lon, t_pos)
        return lat, lon, t_pos


# Decoder -------------------------------------------------------------------------------------


@dataclass
class _Identity:
    callsign: str | None = None
    squawk: str | None = None
    emergency: str | None = None
    ground_speed_mps: float | None = None
    track_deg: float | None = None


class ModeSDecoder:
    """Decodes Mode S messages (hex) into :class:`ModeSReport` with ``pyModeS``, one stream.

    Parameters
    ----------
    report : DecodeReport
        Counts what is skipped (bad hex or length, CRC errors, unresolvable CPR) and what is
        not used (surveillance replies, velocities: they update identity only).
    reference, receiver_range_m :
        As :class:`CprResolver`.
    source : str
        The source's name in skip reports.
    """

    def __init__(
        self,
        *,
        report: DecodeReport,
        source: str,
        reference: tuple[float, float] | None = None,
        receiver_range_m: float = 300_000.0,
    ) -> None:
        import pyModeS

        self._decode = pyModeS.decode
        self._errors = (pyModeS.DecodeError, ValueError)
        self.report = report
        self.source = source
        self.cpr = CprResolver(reference=reference, receiver_range_m=receiver_range_m)
        self._ids: dict[str, _Identity] = {}
        self._heard: set[str] = set()

    def feed(self, message: RawMessage) -> ModeSReport | None:
        """Decode one message; the position report it completes, if any."""
        report, source = self.report, self.source
        if message.t_s is None:
            report.skip(source, message.offset, "no time", "a message without a timestamp")
            return None
        try:
            d = self._decode(message.hex)
        except self._errors as exc:
            report.skip(source, message.offset, "bad message", f"{message.hex[:28]!r}: {exc}")
            return None
        if not isinstance(d, dict) or "error" in d:
            report.skip(source, message.offset, "bad message", f"{message.hex[:28]!r}")
            return None
        df = d.get("df")
        address = d.get("icao")
        if not isinstance(address, str):
            report.ignore(f"DF{df} without address")
            return None
        if d.get("crc_valid") is False:
            report.skip(source, message.offset, "CRC error", f"DF{df} {message.hex}")
            return None
        if df in (11, 17, 18):
            self._heard.add(address)
        elif address not in self._heard:
            report.ignore(f"DF{df} from an address not heard on DF11/17/18")
            return None
        ident = self._ids.setdefault(address, _Identity())
        if isinstance(d.get("squawk"), str):
            ident.squawk = d["squawk"]
            ident.emergency = emergency_of_squawk(ident.squawk) or ident.emergency
        if isinstance(d.get("emergency_state"), int) and d["emergency_state"]:
            ident.emergency = _ADSB_EMERGENCY.get(d["emergency_state"], "general")
        if isinstance(d.get("callsign"), str):
            ident.callsign = d["callsign"].strip("_ #") or None
        if d.get("groundspeed") is not None and d.get("track") is not None:
            ident.ground_speed_mps = float(d["groundspeed"]) * _NM_M / 3600.0
            ident.track_deg = float(d["track"])
        tc = d.get("typecode")
        if df not in (17, 18) or not isinstance(tc, int) or not (9 <= tc <= 18 or 20 <= tc <= 22):
            report.ignore(f"DF{df} TC{tc}" if df in (17, 18) else f"DF{df}")
            return None
        if d.get("cpr_lat") is None or d.get("cpr_lon") is None:
            report.skip(source, message.offset, "bad message", f"no CPR fields: {message.hex}")
            return None
        resolved = self.cpr.resolve(
            address, message.t_s, int(d["cpr_format"]), int(d["cpr_lat"]), int(d["cpr_lon"])
        )
        if isinstance(resolved, str):
            if resolved == "waiting for the other CPR frame":
                report.ignore(resolved)
            else:
                report.skip(source, message.offset, resolved, f"{address} at {message.t_s:.3f}")
            return None
        alt = d.get("altitude")
        report.records += 1
        return ModeSReport(
            t_s=resolved[2],
            address=address,
            lat_deg=resolved[0],
            lon_deg=resolved[1],
            altitude_m=None if alt is None else float(alt) * _FT_M,
            altitude_kind="gnss" if tc >= 20 else "baro",
            callsign=ident.callsign,
            squawk=ident.squawk,
            emergency=ident.emergency,
            ground_speed_mps=ident.ground_speed_mps,
            track_deg=ident.track_deg,
        )

    def decode(self, messages: Iterable[RawMessage]) -> Iterator[ModeSReport]:
        """:meth:`feed` over a stream of messages."""
        for message in messages:
            out = self.feed(message)
            if out is not None:
                yield out
