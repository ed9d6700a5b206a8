"""Mode S downlink messages written from fields, and the Beast and AVR receiver framings: what a
receiver would have recorded of given aircraft (DO-260B airborne position and identification
squelches, DF5 identity replies; the CRC of ICAO Annex 10 Vol. IV, 3.1.2.3.3).

Used to turn simulated traffic into receiver recordings (and by the tests, which read them
back with ``pyModeS``, an independent decoder).
"""

from __future__ import annotations

import math

__all__ = [
    "adsb_identification",
    "adsb_position",
    "beast_frame",
    "identity_reply",
    "modes_crc",
]

_GENERATOR = 0x1FFF409
_CHARS = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def modes_crc(bits: int, n_bits: int) -> int:
    """The 24-bit Mode S parity of the first ``n_bits - 24`` bits of ``bits`` (an ``n_bits``
    message whose last 24 bits are zero or are ignored)."""
    data = (bits >> 24) << 24
    for i in range(n_bits - 1, 23, -1):
        if data & (1 << i):
            data ^= _GENERATOR << (i - 24)
    return data & 0xFFFFFF


def _df17(address: str, me: int) -> str:
    msg = (17 << 83) | (5 << 80) | (int(address, 16) << 56) | me
    msg = (msg << 24) | 0
    msg |= modes_crc(msg, 112)
    return f"{msg:028X}"


def adsb_identification(address: str, callsign: str, *, category: int = 0) -> str:
    """A DF17 identification message (type code 4) of an aircraft, as 28 hex characters."""
    text = callsign.upper()[:8].ljust(8)
    chars = 0
    for ch in text:
        code = _CHARS.find(ch)
        if code < 1 and ch != " ":
            raise ValueError(f"callsign {callsign!r}: expected A-Z, 0-9 or space, got {ch!r}")
        chars = (chars << 6) | (32 if ch == " " else code)
    return _df17(address, (4 << 51) | ((category & 7) << 48) | chars)


def _nl(lat: float) -> int:
    if abs(lat) >= 87.0:
        return 1
    a = 1 - math.cos(math.pi / 30)
    b = math.cos(math.pi / 180 * abs(lat)) ** 2
    return int(math.floor(2 * math.pi / math.acos(1 - a / b)))


def _cpr(lat: float, lon: float, odd: int) -> tuple[int, int]:
    dlat = 360.0 / (60 - odd)
    yz = math.floor(2**17 * (lat % dlat) / dlat + 0.5)
    rlat = dlat * (yz / 2**17 + math.floor(lat / dlat))
    ni = _nl(rlat) - odd
    dlon = 360.0 / ni if ni > 0 else 360.0
    xz = math.floor(2**17 * (lon % dlon) / dlon + 0.5)
    return yz % 2**17, xz % 2**17


def adsb_position(
    address: str,
    lat_deg: float,
    lon_deg: float,
    altitude_ft: float,
    *,
    odd: int,
    type_code: int = 11,
) -> str:
    """A DF17 airborne position message (barometric altitude in 25 ft steps), even
    (``odd=0``) or odd (``odd=1``) CPR frame, as 28 hex characters (DO-260B A.1.7.2)."""
    n = round((altitude_ft + 1000.0) / 25.0)
    if not 0 <= n < 2**11:
        raise ValueError(f"altitude {altitude_ft} ft: expected -1000 to 50175 ft")
    alt = ((n >> 4) << 5) | (1 << 4) | (n & 0xF)
    yz, xz = _cpr(lat_deg, lon_deg, odd)
    me = (type_code << 51) | (alt << 36) | ((odd & 1) << 34) | (yz << 17) | xz
    return _df17(address, me)


def _gillham_id(squawk: str) -> int:
    a, b, c, d = (int(ch) for ch in squawk)
    bit = lambda v, k: (v >> k) & 1  # noqa: E731
    order = [
        bit(c, 0),
        bit(a, 0),
        bit(c, 1),
        bit(a, 1),
        bit(c, 2),
        bit(a, 2),
        0,
        bit(b, 0),
        bit(d, 0),
        bit(b, 1),
        bit(d, 1),
        bit(b, 2),
        bit(d, 2),
    ]
    value = 0
    for v in order:
        value = (value << 1) | v
    return value


def identity_reply(address: str, squawk: str) -> str:
    """A DF5 surveillance identity reply (14 hex characters): the squawk, and the address
    overlaid on the parity (address/parity field)."""
    if len(squawk) != 4 or any(ch not in "01234567" for ch in squawk):
        raise ValueError(f"squawk {squawk!r}: expected four octal digits")
    msg = (5 << 51) | (_gillham_id(squawk) << 24)
    parity = modes_crc(msg, 56) ^ int(address, 16)
    return f"{msg | parity:014X}"


def beast_frame(hex_message: str, t_s: float, *, signal: int = 0x80) -> bytes:
    """A Beast binary frame of a message: type, 12 MHz timestamp of ``t_s`` (seconds from the
    recording's start), signal level, message; 0x1A bytes doubled."""
    data = bytes.fromhex(hex_message)
    kind = {7: b"2", 14: b"3"}[len(data)]
    ticks = round(t_s * 12_000_000) & 0xFFFFFFFFFFFF
    body = ticks.to_bytes(6, "big") + bytes([signal]) + data
    return b"\x1a" + kind + body.replace(b"\x1a", b"\x1a\x1a")
