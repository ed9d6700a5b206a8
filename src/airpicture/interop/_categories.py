"""The fields of CAT048, CAT034, CAT021 and CAT062 records, read from their items' bytes, and
CAT062 and CAT048 records written from fields (EUROCONTROL specifications, units and LSBs as
there; converted here to SI: metres, m/s, seconds, degrees at this edge)."""

from __future__ import annotations

from dataclasses import dataclass

from airpicture.interop._asterix import AsterixRecord, compound_subfields, encode_record

__all__ = [
    "AdsbReport",
    "RadarPlot",
    "RadarService",
    "SystemTrack",
    "decode_callsign",
    "encode_callsign",
    "encode_cat048",
    "encode_cat062",
    "read_cat021",
    "read_cat034",
    "read_cat048",
    "read_cat062",
]

NM_M = 1852.0
FT_M = 0.3048
# code 0 (no character, as transponders send for unused places) reads as a space
_CHARS = " ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def decode_callsign(raw: bytes) -> str:
    """Eight 6-bit ICAO characters (6 bytes) as text, trailing spaces removed; '#' marks a
    code that is no character (code 0 reads as a space)."""
    value = int.from_bytes(raw[:6], "big")
    return "".join(_CHARS[(value >> (42 - 6 * i)) & 0x3F] for i in range(8)).rstrip()


def encode_callsign(text: str) -> bytes:
    """Up to eight characters (A-Z, 0-9, space) as six bytes of 6-bit ICAO characters."""
    text = text.upper()[:8].ljust(8)
    value = 0
    for ch in text:
        code = 32 if ch == " " else _CHARS.find(ch)
        if code <= 0 or ch == "#":
            raise ValueError(f"callsign {text!r}: expected A-Z, 0-9 or space, got {ch!r}")
        value = (value << 6) | code
    return value.to_bytes(6, "big")


def _signed(raw: bytes) -> int:
    return int.from_bytes(raw, "big", signed=True)


def _unsigned(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _time_of_day(raw: bytes) -> float:
    return _unsigned(raw[:3]) / 128.0


def _squawk(raw: bytes) -> str:
    return f"{_unsigned(raw[:2]) & 0x0FFF:04o}"


@dataclass(frozen=True, slots=True)
class RadarPlot:
    """A CAT048 target report (a monoradar plot).

    ``kind`` is ``"psr"`` (primary only), ``"ssr"``, ``"ssr+psr"``, ``"modes"`` or
    ``"modes+psr"`` (from I048/020 TYP). ``flight_level`` is the Mode C pressure altitude in
    flight levels (hundreds of feet, 1013.25 hPa datum), None when absent or not valid;
    ``height_m`` a 3-D radar's measured height (I048/110), None when absent.
    """

    sac: int
    sic: int
    time_of_day_s: float
    range_m: float
    azimuth_deg: float
    kind: str
    mode3a: str | None
    flight_level: float | None
    height_m: float | None
    address: str | None
    callsign: str | None
    track_number: int | None
    simulated: bool
    test: bool


_TYP = ("none", "psr", "ssr", "ssr+psr", "modes", "modes", "modes+psr", "modes+psr")


def read_cat048(record: AsterixRecord) -> RadarPlot | None:
    """The plot of a CAT048 record, or None when it carries no position (I048/040) or time."""
    it = record.items
    if "040" not in it or "140" not in it:
        return None
    sac, sic = (it["010"][0], it["010"][1]) if "010" in it else (0, 0)
    typ = it.get("020", b"\x00")
    test = len(typ) > 1 and bool(typ[1] & 0x80)
    mode3a = None
    if "070" in it and not it["070"][0] & 0x80:  # V = 0: code validated
        mode3a = _squawk(it["070"])
    fl = None
    if "090" in it and not it["090"][0] & 0x80:
        v = _unsigned(it["090"]) & 0x3FFF
        fl = (v - 0x4000 if v & 0x2000 else v) / 4.0
    height = None
    if "110" in it:
        v = _unsigned(it["110"]) & 0x3FFF
        height = (v - 0x4000 if v & 0x2000 else v) * 25.0 * FT_M
    return RadarPlot(
        sac=sac,
        sic=sic,
        time_of_day_s=_time_of_day(it["140"]),
        range_m=_unsigned(it["040"][:2]) / 256.0 * NM_M,
        azimuth_deg=_unsigned(it["040"][2:4]) * 360.0 / 65536.0,
        kind=_TYP[typ[0] >> 5],
        mode3a=mode3a,
        flight_level=fl,
        height_m=height,
        address=f"{_unsigned(it['220']):06X}" if "220" in it else None,
        callsign=(decode_callsign(it["240"]) or None) if "240" in it else None,
        track_number=_unsigned(it["161"]) & 0x0FFF if "161" in it else None,
        simulated=bool(typ[0] & 0x10),
        test=test,
    )


@dataclass(frozen=True, slots=True)
class RadarService:
    """A CAT034 service message: ``message`` is ``"north-marker"``, ``"sector-crossing"``,
    ``"geographical-filtering"`` or ``"jamming-strobe"``; ``rotation_period_s`` from I034/041."""

    sac: int
    sic: int
    time_of_day_s: float | None
    message: str
    sector_deg: float | None
    rotation_period_s: float | None


_CAT034_TYPES = {
    1: "north-marker",
    2: "sector-crossing",
    3: "geographical-filtering",
    4: "jamming-strobe",
}


def read_cat034(record: AsterixRecord) -> RadarService | None:
    """The service message of a CAT034 record (None without a message type)."""
    it = record.items
    if "000" not in it:
        return None
    sac, sic = (it["010"][0], it["010"][1]) if "010" in it else (0, 0)
    return RadarService(
        sac=sac,
        sic=sic,
        time_of_day_s=_time_of_day(it["030"]) if "030" in it else None,
        message=_CAT034_TYPES.get(it["000"][0], f"type-{it['000'][0]}"),
        sector_deg=it["020"][0] * 360.0 / 256.0 if "020" in it else None,
        rotation_period_s=_unsigned(it["041"]) / 128.0 if "041" in it else None,
    )


_EMERGENCY = {
    0: None,
    1: "general",
    2: "medical",
    3: "minimum-fuel",
    4: "no-communications",
    5: "unlawful-interference",
    6: "downed",
}


@dataclass(frozen=True, slots=True)
class AdsbReport:
    """A CAT021 ADS-B target report: WGS-84 position, geometric height (m above the WGS-84
    ellipsoid per DO-260B, None when absent), flight level, identity and ``emergency``
    (I021/200 PS: ``"general"``, ``"no-communications"``, ``"unlawful-interference"``, ...)."""

    sac: int
    sic: int
    time_of_day_s: float
    lat_deg: float
    lon_deg: float
    height_m: float | None
    flight_level: float | None
    address: str | None
    callsign: str | None
    mode3a: str | None
    emergency: str | None
    ground_speed_mps: float | None
    track_deg: float | None


def read_cat021(record: AsterixRecord) -> AdsbReport | None:
    """The report of a CAT021 record, or None when it has no position or no time."""
    it = record.items
    if "131" in it:
        lat = _signed(it["131"][:4]) * 180.0 / 2**30
        lon = _signed(it["131"][4:]) * 180.0 / 2**30
    elif "130" in it:
        lat = _signed(it["130"][:3]) * 180.0 / 2**23
        lon = _signed(it["130"][3:]) * 180.0 / 2**23
    else:
        return None
    tod = next((_time_of_day(it[k]) for k in ("071", "073", "077") if k in it), None)
    if tod is None:
        return None
    sac, sic = (it["010"][0], it["010"][1]) if "010" in it else (0, 0)
    gs = trk = None
    if "160" in it:
        gs = (_unsigned(it["160"][:2]) & 0x7FFF) * 2.0**-14 * NM_M
        trk = _unsigned(it["160"][2:]) * 360.0 / 65536.0
    return AdsbReport(
        sac=sac,
        sic=sic,
        time_of_day_s=tod,
        lat_deg=lat,
        lon_deg=lon,
        height_m=_signed(it["140"]) * 6.25 * FT_M if "140" in it else None,
        flight_level=_signed(it["145"]) / 4.0 if "145" in it else None,
        address=f"{_unsigned(it['080']):06X}" if "080" in it else None,
        callsign=decode_callsign(it["170"]) if "170" in it else None,
        mode3a=_squawk(it["070"]) if "070" in it else None,
        emergency=_EMERGENCY.get((it["200"][0] >> 2) & 0x07) if "200" in it else None,
        ground_speed_mps=gs,
        track_deg=trk,
    )


@dataclass(frozen=True, slots=True)
class SystemTrack:
    """A CAT062 system track: WGS-84 position, velocity east/north/up (m/s), heights, identity,
    ``sigma_east_m``/``sigma_north_m`` from I062/500 APC (None when absent), ``tentative``
    (I062/080 CNF) and ``ended`` (TSE, the track's last message)."""

    sac: int
    sic: int
    track_number: int
    time_of_day_s: float
    lat_deg: float
    lon_deg: float
    height_m: float | None
    flight_level: float | None
    v_east_mps: float | None
    v_north_mps: float | None
    v_up_mps: float | None
    address: str | None
    callsign: str | None
    mode3a: str | None
    sigma_east_m: float | None
    sigma_north_m: float | None
    sigma_height_m: float | None
    tentative: bool
    ended: bool


def read_cat062(record: AsterixRecord) -> SystemTrack | None:
    """The track of a CAT062 record, or None without a WGS-84 position (I062/105), time
    (I062/070) or track number (I062/040)."""
    it = record.items
    if "105" not in it or "070" not in it or "040" not in it:
        return None
    sac, sic = (it["010"][0], it["010"][1]) if "010" in it else (0, 0)
    adr = compound_subfields(62, "380", it["380"]) if "380" in it else {}
    acc = compound_subfields(62, "500", it["500"]) if "500" in it else {}
    status = it.get("080", b"\x00")
    fl = None
    if "136" in it:
        fl = _signed(it["136"]) / 4.0
    elif "135" in it:
        v = _unsigned(it["135"]) & 0x7FFF
        fl = (v - 0x8000 if v & 0x4000 else v) / 4.0
    callsign = None
    if "245" in it:
        callsign = decode_callsign(it["245"][1:])
    elif "ID" in adr:
        callsign = decode_callsign(adr["ID"])
    ve = vn = None
    if "185" in it:
        ve = _signed(it["185"][:2]) * 0.25
        vn = _signed(it["185"][2:]) * 0.25
    return SystemTrack(
        sac=sac,
        sic=sic,
        track_number=_unsigned(it["040"]),
        time_of_day_s=_time_of_day(it["070"]),
        lat_deg=_signed(it["105"][:4]) * 180.0 / 2**25,
        lon_deg=_signed(it["105"][4:]) * 180.0 / 2**25,
        height_m=_signed(it["130"]) * 6.25 * FT_M if "130" in it else None,
        flight_level=fl,
        v_east_mps=ve,
        v_north_mps=vn,
        v_up_mps=_signed(it["220"]) * 6.25 * FT_M / 60.0 if "220" in it else None,
        address=f"{_unsigned(adr['ADR']):06X}" if "ADR" in adr else None,
        callsign=callsign,
        mode3a=_squawk(it["060"]) if "060" in it else None,
        sigma_east_m=_unsigned(acc["APC"][:2]) * 0.5 if "APC" in acc else None,
        sigma_north_m=_unsigned(acc["APC"][2:]) * 0.5 if "APC" in acc else None,
        sigma_height_m=acc["AGA"][0] * 6.25 * FT_M if "AGA" in acc else None,
        tentative=bool(status[0] & 0x02),
        ended=len(status) > 1 and bool(status[1] & 0x40),
    )


# Encoding ------------------------------------------------------------------------------------


def _int(value: float, nbytes: int, *, signed: bool = True) -> bytes:
    lo = -(1 << (8 * nbytes - 1)) if signed else 0
    hi = (1 << (8 * nbytes - 1)) - 1 if signed else (1 << (8 * nbytes)) - 1
    n = round(value)
    if not lo <= n <= hi:
        raise ValueError(f"{value} does not fit {nbytes} bytes")
    return n.to_bytes(nbytes, "big", signed=signed)


def _tod(time_of_day_s: float) -> bytes:
    return _int(round(time_of_day_s * 128.0) % (86_400 * 128), 3, signed=False)  # [0, 24 h)


def _squawk_bytes(code: str) -> bytes:
    return _int(int(code, 8), 2, signed=False)


def _compound(subfields: list[tuple[int, bytes]]) -> bytes:
    """A compound item from (0-based subfield bit, bytes) pairs in ascending bit order."""
    top = max(b for b, _ in subfields)
    primary = bytearray(top // 7 + 1)
    for b, _ in subfields:
        primary[b // 7] |= 0x80 >> (b % 7)
    for i in range(len(primary) - 1):
        primary[i] |= 1
    return bytes(primary) + b"".join(raw for _, raw in subfields)


def encode_cat062(track: SystemTrack, *, service_id: int = 1) -> bytes:
    """One CAT062 record of a system track (items 010, 015, 070, 105, 185, 060, 245, 380 ADR
    and ID, 040, 080, 130, 136, 220, 500 APC/AGA, as the track has them).

    A value out of an item's range (a height above 204,000 ft) leaves that item out.
    """
    items: dict[str, bytes] = {
        "010": bytes([track.sac, track.sic]),
        "015": bytes([service_id & 0xFF]),
        "070": _tod(track.time_of_day_s),
        "105": _int(track.lat_deg * 2**25 / 180.0, 4) + _int(track.lon_deg * 2**25 / 180.0, 4),
        "040": _int(track.track_number, 2, signed=False),
        # I062/080: MON 0 (multisensor), SRC 0, CNF (tentative), FX; then TSE (last message)
        "080": bytes([(0x02 if track.tentative else 0) | 0x01, 0x40 if track.ended else 0x00]),
    }
    if track.v_east_mps is not None and track.v_north_mps is not None:
        try:
            items["185"] = _int(track.v_east_mps * 4, 2) + _int(track.v_north_mps * 4, 2)
        except ValueError:
            pass
    if track.mode3a is not None:
        items["060"] = _squawk_bytes(track.mode3a)
    if track.callsign:
        items["245"] = b"\x00" + encode_callsign(track.callsign)
    adr: list[tuple[int, bytes]] = []
    if track.address is not None:
        adr.append((0, int(track.address, 16).to_bytes(3, "big")))
    if track.callsign:
        adr.append((1, encode_callsign(track.callsign)))
    if adr:
        items["380"] = _compound(adr)
    for key, value, scale in (
        ("130", track.height_m, 1 / (6.25 * FT_M)),
        ("136", track.flight_level, 4.0),
        ("220", track.v_up_mps, 60.0 / (6.25 * FT_M)),
    ):
        if value is not None:
            try:
                items[key] = _int(value * scale, 2)
            except ValueError:
                pass
    acc: list[tuple[int, bytes]] = []
    if track.sigma_east_m is not None and track.sigma_north_m is not None:
        se = min(track.sigma_east_m / 0.5, 0xFFFF)
        sn = min(track.sigma_north_m / 0.5, 0xFFFF)
        acc.append((0, _int(se, 2, signed=False) + _int(sn, 2, signed=False)))
    if track.sigma_height_m is not None:
        acc.append((3, _int(min(track.sigma_height_m / (6.25 * FT_M), 255), 1, signed=False)))
    if acc:
        items["500"] = _compound(acc)
    return encode_record(62, items)


def encode_cat048(plot: RadarPlot) -> bytes:
    """One CAT048 record of a plot (items 010, 140, 020, 040, 070, 090, 110, 220, 240, 161)."""
    typ = {"none": 0, "psr": 1, "ssr": 2, "ssr+psr": 3, "modes": 5, "modes+psr": 7}[plot.kind]
    items: dict[str, bytes] = {
        "010": bytes([plot.sac, plot.sic]),
        "140": _tod(plot.time_of_day_s),
        "020": bytes([(typ << 5) | (0x10 if plot.simulated else 0)]),
        "040": _int(plot.range_m / NM_M * 256.0, 2, signed=False)
        + _int(round(plot.azimuth_deg % 360.0 * 65536.0 / 360.0) % 65536, 2, signed=False),
    }
    if plot.mode3a is not None:
        items["070"] = _squawk_bytes(plot.mode3a)
    if plot.flight_level is not None:
        items["090"] = (round(plot.flight_level * 4.0) & 0x3FFF).to_bytes(2, "big")
    if plot.height_m is not None:
        items["110"] = (round(plot.height_m / (25.0 * FT_M)) & 0x3FFF).to_bytes(2, "big")
    if plot.address is not None:
        items["220"] = int(plot.address, 16).to_bytes(3, "big")
    if plot.callsign:
        items["240"] = encode_callsign(plot.callsign)
    if plot.track_number is not None:
        items["161"] = _int(plot.track_number & 0x0FFF, 2, signed=False)
    return encode_record(48, items)
