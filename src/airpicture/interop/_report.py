"""What a decoder skipped, and why: counts by reason and the first examples with their place."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["DecodeReport", "SkippedRecord"]

_log = logging.getLogger("airpicture.interop")

_EXAMPLES_KEPT = 20
_LOGGED_PER_REASON = 3


@dataclass(frozen=True)
class SkippedRecord:
    """One skipped record: where it was (``source``, byte ``offset``), why (``reason``, a short
    fixed phrase that is counted) and what exactly was wrong (``detail``)."""

    source: str
    offset: int
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.source} byte {self.offset}: {self.reason}: {self.detail}"


@dataclass
class DecodeReport:
    """Counts of what a decoder read and what it skipped, by reason, with examples.

    Every decoder of :mod:`airpicture.interop` takes one and carries on after a bad record: the
    record is counted under a short reason (``"truncated item"``, ``"unknown category"``, ...),
    logged (the first few of each reason at WARNING, the rest at DEBUG) and skipped.

    Attributes
    ----------
    records : int
        Records decoded and used.
    skipped : collections.Counter
        Skipped records by reason.
    ignored : collections.Counter
        Records read but not used, by reason (a CAT034 north marker, an ADS-B velocity message
        that carries no position): not errors.
    examples : list of SkippedRecord
        The first skipped records (at most 20), with their place and detail.
    """

    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    examples: list[SkippedRecord] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        """All skipped records."""
        return sum(self.skipped.values())

    def skip(self, source: str, offset: int, reason: str, detail: str) -> None:
        """Count, log and keep (among the first examples) one skipped record."""
        self.skipped[reason] += 1
        example = SkippedRecord(source, offset, reason, detail)
        if len(self.examples) < _EXAMPLES_KEPT:
            self.examples.append(example)
        level = logging.WARNING if self.skipped[reason] <= _LOGGED_PER_REASON else logging.DEBUG
        _log.log(level, "skipped: %s", example)

    def ignore(self, reason: str, n: int = 1) -> None:
        """Count records read but not used (not an error)."""
        self.ignored[reason] += n

    def merge(self, other: DecodeReport) -> None:
        """Add another report's counts and examples to this one."""
        self.records += other.records
        self.skipped.update(other.skipped)
        self.ignored.update(other.ignored)
        room = _EXAMPLES_KEPT - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])

    def summary(self) -> str:
        """One line: records used, skipped by reason, ignored by reason."""
        parts = [f"{self.records} records used"]
        if self.skipped:
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items()))
            parts.append(f"{self.n_skipped} skipped ({reasons})")
        else:
            parts.append("0 skipped")
        if self.ignored:
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.ignored.items()))
            parts.append(f"{sum(self.ignored.values())} not used ({reasons})")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """The counts as plain data (JSON-ready)."""
        return {
            "records": self.records,
            "skipped": dict(self.skipped),
            "ignored": dict(self.ignored),
            "examples": [str(e) for e in self.examples],
        }
