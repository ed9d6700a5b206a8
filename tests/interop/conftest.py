"""The sample recordings (a Mode S radar's ASTERIX and an ADS-B receiver's Beast file of the same
aircraft), ingested and tracked once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from airpicture.interop import IngestResult, ingest
from airpicture.interop._sample import SampleRecordings, write_sample_recordings


@dataclass(frozen=True)
class Picture:
    recordings: SampleRecordings
    ingested: IngestResult
    tracks: Path


@pytest.fixture(scope="session")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Picture:
    from airpicture.batch import track_scenario

    folder = tmp_path_factory.mktemp("interop")
    rec = write_sample_recordings(folder / "recordings", duration_s=160.0)
    result = ingest(
        [(rec.asterix, "asterix"), (rec.beast, "beast")],
        folder / "scenario",
        sites=list(rec.sites),
        date=rec.date,
        start_t_s=rec.start_t_s,
    )
    tracks = folder / "tracks.csv"
    track_scenario(folder / "scenario", tracks)
    return Picture(rec, result, tracks)


def asterix_decoder():  # type: ignore[no-untyped-def]
    """The third-party ``asterix-decoder`` package (skips the test without it)."""
    asterix = pytest.importorskip("asterix")
    if not hasattr(asterix, "get_sample_file"):
        pytest.skip("the installed 'asterix' package is not asterix-decoder")
    return asterix
