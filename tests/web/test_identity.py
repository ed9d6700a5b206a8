"""Identity on the map: a recorded picture of radar and ADS-B tracks (the interop sample
recordings, ingested and tracked) served with its tracks' identity; the table and the details
show callsign, squawk and Mode S address, civil aircraft are neutral, an emergency squawk is
flagged."""

from __future__ import annotations

import pytest

from airpicture.tables import TrackRows
from airpicture.web import PictureStore, store_of_tracks
from tests.web.conftest import PageWatch


def _rows() -> TrackRows:
    import numpy as np

    from airpicture.geo import geodetic2ecef

    x, y, z = geodetic2ecef(np.radians([35.0, 35.2]), np.radians([139.0, 139.3]), [9000.0, 10000.0])
    state = np.column_stack([x, y, z, np.full(2, 100.0), np.zeros(2), np.zeros(2)])
    return TrackRows(
        t_s=np.array([100.0, 100.0]),
        track_id=np.array(["JPN2-1", "JPN2-2"]),
        x=state,
        cov_pos=np.tile([100.0, 0, 0, 100.0, 0, 100.0], (2, 1)),
        kind=np.array(["aircraft", "aircraft"]),
        status=np.array(["confirmed", "confirmed"]),
        nations=np.array(["JPN", "JPN"]),
    )


def test_store_carries_identity_on_deltas_snapshots_and_history():
    store = PictureStore(nations=["JPN"])
    sent: list[dict] = []
    store.subscribe(sent.append)
    store.apply("JPN", _rows())
    store.set_identity(
        "JPN",
        {
            "JPN2-1": {
                "callsign": "UAL837",
                "squawk": "7700",
                "address": "A1B2C3",
                "emergency": "general",
            }
        },
    )
    # the live track concerned is sent again with its identity
    (rec,) = sent[-1]["tracks"]
    assert rec["id"] == "JPN2-1" and rec["cs"] == "UAL837" and rec["idn"] == "N"
    assert (rec["sq"], rec["ms"], rec["em"]) == ("7700", "A1B2C3", "general")
    snap = {r["id"]: r for r in store.snapshot("JPN")["tracks"]}
    assert snap["JPN2-1"]["cs"] == "UAL837" and "cs" not in snap["JPN2-2"]
    past = {r["id"]: r for r in store.snapshot("JPN", t_s=100.0)["tracks"]}
    assert past["JPN2-1"]["sq"] == "7700"
    assert store.track_history("JPN", "JPN2-1")["rows"][0]["cs"] == "UAL837"
    store.apply("JPN", _rows())
    assert {r["id"]: r.get("cs") for r in sent[-1]["tracks"]} == {
        "JPN2-1": "UAL837",
        "JPN2-2": None,
    }
    # replaced: the identity a track no longer has goes from it
    store.set_identity("JPN", {})
    assert all("cs" not in r for r in store.snapshot("JPN")["tracks"])


@pytest.fixture(scope="module")
def recorded(browser, tmp_path_factory):  # type: ignore[no-untyped-def]
    from airpicture.batch import track_scenario
    from airpicture.interop import identify_tracks, ingest, read_identity
    from airpicture.interop._sample import write_sample_recordings
    from airpicture.io import read_detections, read_sensors, read_tracks
    from airpicture.web import create_app, start_server

    folder = tmp_path_factory.mktemp("recorded")
    rec = write_sample_recordings(folder / "rec", duration_s=160.0)
    ingest(
        [(rec.asterix, "asterix"), (rec.beast, "beast")],
        folder / "scn",
        sites=list(rec.sites),
        date=rec.date,
        start_t_s=rec.start_t_s,
    )
    track_scenario(folder / "scn", folder / "tracks.csv")
    sensors = read_sensors(folder / "scn" / "sensors.csv")
    rows = read_tracks(folder / "tracks.csv")
    found = identify_tracks(
        rows,
        read_detections(folder / "scn" / "detections.csv", sensors),
        read_identity(folder / "scn" / "identity.csv"),
    )
    store = store_of_tracks(rows, identity={k: v[0] for k, v in found.items()}, sensors=sensors)
    server = start_server(create_app(store), port=0)
    watch = PageWatch(browser)
    watch.open(server.url)
    yield watch
    watch.close()
    server.stop()


def test_table_and_details_show_identity_and_emergency(recorded) -> None:  # type: ignore[no-untyped-def]
    page = recorded.page
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length === 6")
    calls = sorted(page.locator("[data-testid=row-callsign]").all_inner_texts())
    # the primary-only aircraft has no callsign
    assert calls == ["", "ANA456", "EIN9", "JAL123", "SKY77", "UAL837"]
    emergency = page.locator("#track-rows tr.em")
    assert emergency.count() == 1 and "UAL837" in emergency.inner_text()
    assert "7700" in emergency.inner_text()
    # civil aircraft with a Mode S address are neutral
    assert page.locator("#track-rows tr.id-N").count() == 5
    emergency.click()
    page.wait_for_selector("[data-testid=details-emergency]")
    assert page.inner_text("[data-testid=details-callsign]") == "UAL837"
    assert page.inner_text("[data-testid=details-squawk]") == "7700"
    assert page.inner_text("[data-testid=details-modes]") == "A1B2C3"
    assert "neutral" in page.inner_text(".det-sub")
    page.fill("[data-testid=filter]", "emergency")
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length === 1")
    page.fill("[data-testid=filter]", "")
    recorded.shot("recorded-identity")
    assert recorded.foreign_requests() == [] and recorded.errors == []
