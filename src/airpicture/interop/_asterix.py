"""ASTERIX framing and records: datablocks, FSPEC, the item layouts of CAT021/034/048/062.

Written against the EUROCONTROL specifications (CAT048 v1.21, CAT034 v1.27, CAT021 v2.4,
CAT062 v1.18; Part 1 for the general structure). A datablock is ``CAT (1 byte) | LEN (2 bytes,
big-endian, the whole block) | records``; a record is an FSPEC (bytes whose low bit says
another follows, seven item bits each, in field reference number order) and the items it
names, each of one of five layouts:

- fixed: a given number of bytes;
- extended: units of a given size, the low bit of each unit's last byte saying another follows;
- repetitive: a count byte, then that many units of a given size;
- explicit: a length byte (counting itself), then the data;
- compound: a primary subfield (extended, one bit per subfield) and the subfields it names.

A record whose layout cannot be followed (an item beyond the datablock's end, an FSPEC naming an
item the category does not define) loses the framing of the rest of its datablock: the rest is
skipped and counted; the next datablock starts afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

from airpicture.interop._report import DecodeReport

__all__ = [
    "CATEGORIES",
    "AsterixError",
    "AsterixRecord",
    "compound_subfields",
    "encode_datablock",
    "encode_record",
    "iter_datablocks",
    "iter_records",
]


class AsterixError(ValueError):
    """A record whose layout cannot be followed; ``reason`` is the counted short phrase."""

    def __init__(self, reason: str, detail: str, offset: int) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.offset = offset


# Item layouts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    size: int


@dataclass(frozen=True)
class Extended:
    unit: int = 1


@dataclass(frozen=True)
class Repetitive:
    unit: int


@dataclass(frozen=True)
class Explicit:
    pass


@dataclass(frozen=True)
class Compound:
    """Subfields in primary-subfield bit order (None: a spare bit)."""

    subfields: tuple[tuple[str, Layout] | None, ...]


Layout = Union[Fixed, Extended, Repetitive, Explicit, Compound]  # noqa: UP007

_F1, _F2, _F3, _F4, _F6, _F7, _F8 = (Fixed(n) for n in (1, 2, 3, 4, 6, 7, 8))

_CAT048: tuple[tuple[str, Layout] | None, ...] = (
    ("010", _F2), ("140", _F3), ("020", Extended()), ("040", _F4), ("070", _F2), ("090", _F2),
    ("130", Compound(tuple((n, _F1) for n in ("SRL", "SRR", "SAM", "PRL", "PAM", "RPD", "APD")))),
    ("220", _F3), ("240", _F6), ("250", Repetitive(8)), ("161", _F2), ("042", _F4),
    ("200", _F4), ("170", Extended()),
    ("210", _F4), ("030", Extended()), ("080", _F2), ("100", _F4), ("110", _F2),
    ("120", Compound((("CAL", _F2), ("RDS", Repetitive(6))))), ("230", _F2),
    ("260", _F7), ("055", _F1), ("050", _F2), ("065", _F1), ("060", _F2), ("SP", Explicit()),
    ("RE", Explicit()),
)  # fmt: skip

_CAT034_STATUS = Compound((("COM", _F1), None, None, ("PSR", _F1), ("SSR", _F1), ("MDS", _F2)))
_CAT034_MODE = Compound((("COM", _F1), None, None, ("PSR", _F1), ("SSR", _F1), ("MDS", _F1)))
_CAT034: tuple[tuple[str, Layout] | None, ...] = (
    ("010", _F2), ("000", _F1), ("030", _F3), ("020", _F1), ("041", _F2), ("050", _CAT034_STATUS),
    ("060", _CAT034_MODE), ("070", Repetitive(2)), ("100", _F8), ("110", _F1), ("120", _F8),
    ("090", _F2), ("RE", Explicit()), ("SP", Explicit()),
)  # fmt: skip

_CAT021: tuple[tuple[str, Layout] | None, ...] = (
    ("010", _F2), ("040", Extended()), ("161", _F2), ("015", _F1), ("071", _F3), ("130", _F6),
    ("131", _F8),
    ("072", _F3), ("150", _F2), ("151", _F2), ("080", _F3), ("073", _F3), ("074", _F4),
    ("075", _F3),
    ("076", _F4), ("140", _F2), ("090", Extended()), ("210", _F1), ("070", _F2), ("230", _F2),
    ("145", _F2),
    ("152", _F2), ("200", _F1), ("155", _F2), ("157", _F2), ("160", _F4), ("165", _F2),
    ("077", _F3),
    ("170", _F6), ("020", _F1),
    ("220", Compound((("WS", _F2), ("WD", _F2), ("TMP", _F2), ("TRB", _F1)))),
    ("146", _F2), ("148", _F2), ("110", Compound((("TIS", Extended()), ("TID", Repetitive(15))))),
    ("016", _F1),
    ("008", _F1), ("271", Extended()), ("132", _F1), ("250", Repetitive(8)), ("260", _F7),
    ("400", _F1), ("295", Compound(tuple((f"A{i:02d}", _F1) for i in range(23)))),
    None, None, None, None, None, ("RE", Explicit()), ("SP", Explicit()),
)  # fmt: skip

_CAT062_ADR = Compound((
    ("ADR", _F3), ("ID", _F6), ("MHG", _F2), ("IAS", _F2), ("TAS", _F2), ("SAL", _F2),
    ("FSS", _F2), ("TIS", _F1), ("TID", Repetitive(15)), ("COM", _F2), ("SAB", _F2),
    ("ACS", _F7), ("BVR", _F2), ("GVR", _F2), ("RAN", _F2), ("TAR", _F2), ("TAN", _F2),
    ("GSP", _F2), ("VUN", _F1), ("MET", _F8), ("EMC", _F1), ("POS", _F6), ("GAL", _F2),
    ("PUN", _F1), ("MB", Repetitive(8)), ("IAR", _F2), ("MAC", _F2), ("BPS", _F2),
))  # fmt: skip
_CAT062_AGES = Compound((
    ("TRK", _F1), ("PSR", _F1), ("SSR", _F1), ("MDS", _F1), ("ADS", _F2), ("ES", _F1),
    ("VDL", _F1), ("UAT", _F1), ("LOP", _F1), ("MLT", _F1),
))  # fmt: skip
_CAT062_DATA_AGES = Compound(tuple((f"A{i:02d}", _F1) for i in range(31)))
_CAT062_FPL = Compound((
    ("TAG", _F2), ("CSN", _F7), ("IFI", _F4), ("FCT", _F1), ("TAC", _F4), ("WTC", _F1),
    ("DEP", _F4), ("DST", _F4), ("RDS", _F3), ("CFL", _F2), ("CTL", _F2),
    ("TOD", Repetitive(4)), ("AST", _F6), ("STS", _F1), ("STD", _F7), ("STA", _F7),
    ("PEM", _F2), ("PEC", _F7),
))  # fmt: skip
_CAT062_MODE5 = Compound((
    ("SUM", _F1), ("PMN", _F4), ("POS", _F6), ("GA", _F2), ("EM1", _F2), ("TOS", _F1),
    ("XP", _F1),
))  # fmt: skip
_CAT062_ACCURACY = Compound((
    ("APC", _F4), ("COV", _F2), ("APW", _F4), ("AGA", _F1), ("ABA", _F1), ("ATV", _F2),
    ("AA", _F2), ("ARC", _F1),
))  # fmt: skip
_CAT062_MEASURED = Compound((
    ("SID", _F2), ("POS", _F4), ("HEI", _F2), ("MDC", _F2), ("MDA", _F2), ("TYP", _F1),
))  # fmt: skip
_CAT062: tuple[tuple[str, Layout] | None, ...] = (
    ("010", _F2), None, ("015", _F1), ("070", _F3), ("105", _F8), ("100", _F6), ("185", _F4),
    ("210", _F2), ("060", _F2), ("245", _F7), ("380", _CAT062_ADR), ("040", _F2),
    ("080", Extended()), ("290", _CAT062_AGES),
    ("200", _F1), ("295", _CAT062_DATA_AGES), ("136", _F2), ("130", _F2), ("135", _F2),
    ("220", _F2), ("390", _CAT062_FPL),
    ("270", Extended()), ("300", _F1), ("110", _CAT062_MODE5), ("120", _F2),
    ("510", Extended(3)), ("500", _CAT062_ACCURACY), ("340", _CAT062_MEASURED),
    None, None, None, None, None, ("RE", Explicit()), ("SP", Explicit()),
)  # fmt: skip

CATEGORIES: dict[int, tuple[tuple[str, Layout] | None, ...]] = {
    21: _CAT021,
    34: _CAT034,
    48: _CAT048,
    62: _CAT062,
}
"""The user application profile (items in field reference number order) of each category."""

_INDEX = {
    cat: {e[0]: i for i, e in enumerate(uap) if e is not None} for cat, uap in CATEGORIES.items()
}


@dataclass(frozen=True)
class AsterixRecord:
    """One decoded record: its category, its items' raw bytes by item name (``"040"``,
    ``"SP"``), and the byte ``offset`` of its FSPEC in the source (with ``block_offset``, that
    of its datablock). :mod:`airpicture.interop` reads the items' fields from the bytes."""

    category: int
    items: dict[str, bytes]
    offset: int
    block_offset: int
    time_hint_s: float | None = None


def _layout_size(layout: Layout, data: bytes, pos: int, end: int, name: str) -> int:
    """Bytes that the item of ``layout`` at ``data[pos:]`` takes (checked against ``end``)."""
    if isinstance(layout, Fixed):
        n = layout.size
    elif isinstance(layout, Extended):
        n = 0
        while True:
            n += layout.unit
            if pos + n > end:
                raise AsterixError("truncated item", f"I{name}: extension runs past the end", pos)
            if not data[pos + n - 1] & 1:
                break
    elif isinstance(layout, Repetitive):
        if pos >= end:
            raise AsterixError("truncated item", f"I{name}: no repetition count", pos)
        n = 1 + data[pos] * layout.unit
    elif isinstance(layout, Explicit):
        if pos >= end:
            raise AsterixError("truncated item", f"I{name}: no length byte", pos)
        n = data[pos]
        if n < 1:
            raise AsterixError("bad length", f"I{name}: explicit length 0", pos)
    else:
        n = _compound_size(layout, data, pos, end, name)
    if pos + n > end:
        raise AsterixError(
            "truncated item", f"I{name}: expected {n} bytes, {end - pos} left in the datablock", pos
        )
    return n


def _primary_bits(data: bytes, pos: int, end: int, name: str) -> tuple[list[int], int]:
    """Set bits (0-based, in order) of an FSPEC or compound primary subfield, and its size."""
    bits: list[int] = []
    n = 0
    while True:
        if pos + n >= end:
            raise AsterixError(
                "truncated item", f"{name}: field specification runs past the end", pos
            )
        byte = data[pos + n]
        for b in range(7):
            if byte & (0x80 >> b):
                bits.append(7 * n + b)
        n += 1
        if not byte & 1:
            return bits, n


def _compound_size(layout: Compound, data: bytes, pos: int, end: int, name: str) -> int:
    bits, n = _primary_bits(data, pos, end, f"I{name}")
    for b in bits:
        sub = layout.subfields[b] if b < len(layout.subfields) else None
        if sub is None:
            raise AsterixError("unknown item", f"I{name}: subfield {b + 1} is not defined", pos)
        n += _layout_size(sub[1], data, pos + n, end, f"{name}/{sub[0]}")
    return n


def compound_subfields(category: int, name: str, raw: bytes) -> dict[str, bytes]:
    """The subfields of a compound item's raw bytes, by subfield name."""
    entry = CATEGORIES[category][_INDEX[category][name]]
    assert entry is not None and isinstance(entry[1], Compound)  # noqa: S101 (a known item)
    layout = entry[1]
    bits, pos = _primary_bits(raw, 0, len(raw), f"I{name}")
    out: dict[str, bytes] = {}
    for b in bits:
        sub = layout.subfields[b]
        if sub is None:  # the record parser refused these already
            continue
        size = _layout_size(sub[1], raw, pos, len(raw), f"{name}/{sub[0]}")
        out[sub[0]] = raw[pos : pos + size]
        pos += size
    return out


def _parse_record(category: int, data: bytes, pos: int, end: int) -> tuple[dict[str, bytes], int]:
    uap = CATEGORIES[category]
    bits, n = _primary_bits(data, pos, end, "FSPEC")
    items: dict[str, bytes] = {}
    p = pos + n
    for b in bits:
        entry = uap[b] if b < len(uap) else None
        if entry is None:
            raise AsterixError(
                "unknown item",
                f"FSPEC names item {b + 1} that CAT{category:03d} does not define",
                pos,
            )
        name, layout = entry
        size = _layout_size(layout, data, p, end, name)
        items[name] = data[p : p + size]
        p += size
    return items, p


def iter_datablocks(
    data: bytes, *, source: str, report: DecodeReport, base_offset: int = 0
) -> Iterator[tuple[int, int, int]]:
    """``(category, start, end)`` of each datablock in ``data`` (records between start and end).

    A length under 3 or past the end of ``data`` loses the framing: the rest of ``data`` is
    skipped and counted once (the next packet or chunk starts afresh).
    """
    pos = 0
    size = len(data)
    while pos < size:
        if size - pos < 3:
            report.skip(source, base_offset + pos, "truncated datablock",
                        f"{size - pos} bytes left, a datablock header takes 3")  # fmt: skip
            return
        length = int.from_bytes(data[pos + 1 : pos + 3], "big")
        if length < 3 or pos + length > size:
            report.skip(source, base_offset + pos, "bad length",
                        f"datablock length {length}, {size - pos} bytes left; "
                        "the rest is skipped")  # fmt: skip
            return
        yield data[pos], pos + 3, pos + length
        pos += length


def iter_records(
    data: bytes,
    *,
    source: str,
    report: DecodeReport,
    base_offset: int = 0,
    categories: frozenset[int] | None = None,
    time_hint_s: float | None = None,
) -> Iterator[AsterixRecord]:
    """Every record of the datablocks in ``data`` (a file's bytes, a UDP payload).

    Parameters
    ----------
    data : bytes
        Whole datablocks, back to back.
    source : str
        Name of the source in skip reports (a file name, ``udp://127.0.0.1:4000``).
    report : DecodeReport
        Counts what is skipped: unknown categories (the whole datablock), records whose layout
        cannot be followed (the rest of their datablock), broken framing (the rest of ``data``).
    base_offset : int
        Offset of ``data`` in its source, for the places reported.
    categories : frozenset of int, optional
        Categories wanted; datablocks of other known categories are counted as not used.
    time_hint_s : float, optional
        A time near the records' (a capture time, s since the epoch), carried on each record.
    """
    for category, start, end in iter_datablocks(
        data, source=source, report=report, base_offset=base_offset
    ):
        block_offset = base_offset + start - 3
        if category not in CATEGORIES:
            report.skip(source, block_offset, "unsupported category",
                        f"CAT{category:03d} ({end - start + 3} bytes)")  # fmt: skip
            continue
        if categories is not None and category not in categories:
            report.ignore(f"CAT{category:03d} datablock")
            continue
        pos = start
        if pos == end:
            report.skip(source, block_offset, "empty datablock", "no record after the header")
        while pos < end:
            try:
                items, after = _parse_record(category, data, pos, end)
            except AsterixError as exc:
                report.skip(source, base_offset + exc.offset, exc.reason,
                            f"CAT{category:03d} record at byte {base_offset + pos}: {exc.detail};"
                            f" {end - pos} bytes to the datablock's end skipped")  # fmt: skip
                break
            yield AsterixRecord(category, items, base_offset + pos, block_offset, time_hint_s)
            pos = after


# Encoding ------------------------------------------------------------------------------------


def encode_record(category: int, items: dict[str, bytes]) -> bytes:
    """One record: the FSPEC of ``items`` (raw item bytes by name) and the items in UAP order.

    Raises
    ------
    ValueError
        If an item name is not in the category's profile, or an item's bytes do not follow its
        layout.
    """
    index = _INDEX[category]
    unknown = sorted(set(items) - set(index))
    if unknown:
        raise ValueError(f"CAT{category:03d}: expected items of its profile, got {unknown}")
    frns = sorted(index[name] for name in items)
    n_bytes = frns[-1] // 7 + 1 if frns else 1
    fspec = bytearray(n_bytes)
    for frn in frns:
        fspec[frn // 7] |= 0x80 >> (frn % 7)
    for i in range(n_bytes - 1):
        fspec[i] |= 1
    body = bytearray()
    uap = CATEGORIES[category]
    for frn in frns:
        entry = uap[frn]
        assert entry is not None  # noqa: S101 (index holds defined items only)
        name, layout = entry
        raw = items[name]
        if _layout_size(layout, raw, 0, len(raw), name) != len(raw):
            raise ValueError(f"CAT{category:03d} I{name}: bytes do not follow the item's layout")
        body += raw
    return bytes(fspec) + bytes(body)


def encode_datablock(category: int, records: list[bytes]) -> bytes:
    """A datablock of encoded records (at most 65,535 bytes; split larger sets yourself)."""
    length = 3 + sum(len(r) for r in records)
    if length > 0xFFFF:
        raise ValueError(f"CAT{category:03d} datablock: expected at most 65535 bytes, got {length}")
    return bytes([category]) + length.to_bytes(2, "big") + b"".join(records)
