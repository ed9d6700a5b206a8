"""The map in a real browser (Debian's chromium through Playwright).

Two servers: the ``airpicture demo`` command on the ``drill`` scenario (tracks appear and move,
the nation selector, track details, a clean Ctrl-C), and an in-process server whose store the
test drives through the PictureStore API (alerts, impact ellipses, warning areas, the
antimeridian, scrubbing back in time, track sources, the selection across views, the sensors a
view does not receive). Every request of every page must stay on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from airpicture.web import Alert, Impact, PictureStore, SensorSite

from ._synthetic import flights
from .conftest import DemoProcess, PageWatch

pytest.importorskip("starlette")

STATE = "window.__airpicture.state"


def _tracks(page):  # type: ignore[no-untyped-def]
    return page.evaluate(f"[...{STATE}.tracks.values()].map(r => [r.id, r.lat, r.lon, r.t, r.st])")


# ------------------------------------------------------------------------------------ the demo
@pytest.fixture(scope="module")
def demo_page(browser, demo):  # type: ignore[no-untyped-def]
    watch = PageWatch(browser)
    watch.open(demo.url)
    yield watch, demo
    watch.close()


def test_demo_tracks_appear_and_move(demo_page) -> None:  # type: ignore[no-untyped-def]
    watch, _ = demo_page
    page = watch.page
    page.wait_for_function(
        f"[...{STATE}.tracks.values()].some(r => r.st === 'confirmed')", timeout=40_000
    )
    watch.shot("demo-1-tracks")
    first = {tid: (lat, lon, t) for tid, lat, lon, t, st in _tracks(page) if st == "confirmed"}
    page.wait_for_function(
        f"(ids) => ids.some(([id, t]) => {{"
        f" const r = {STATE}.tracks.get(id); return r && r.t > t; }})",
        arg=[[tid, v[2]] for tid, v in first.items()],
        timeout=40_000,
    )
    moved = [
        tid
        for tid, lat, lon, t, _ in _tracks(page)
        if tid in first and t > first[tid][2] and (lat, lon) != first[tid][:2]
    ]
    assert moved, "no confirmed track changed position"
    assert int(page.inner_text("[data-testid=track-count]")) > 0
    assert page.locator("#track-rows tr").count() > 0


def test_demo_nation_selector_changes_the_picture(demo_page) -> None:  # type: ignore[no-untyped-def]
    watch, _ = demo_page
    page = watch.page
    assert page.evaluate(f"{STATE}.nation") == "JPN"
    # Under the demo's default release policy Australia's sensors do not reach Japan's picture.
    off_in_jpn = page.locator(".sensor-icon.sensor-off").count()
    assert off_in_jpn > 0
    assert "JPN: no plots from AUS-DDG" in page.inner_text("[data-testid=view-feeds]")
    jpn = {r[0]: (round(r[1], 3), round(r[2], 3)) for r in _tracks(page)}
    page.click("#nations button[data-nation=USA]")
    page.wait_for_function(
        f"{STATE}.nation === 'USA' && {STATE}.stats.snapshots >= 2", timeout=20_000
    )
    page.wait_for_function(f"{STATE}.tracks.size > 0", timeout=20_000)
    assert page.inner_text("#view-label").startswith("United States")
    assert "active" in (page.get_attribute("#nations button[data-nation=USA]", "class") or "")
    assert page.locator(".sensor-icon.sensor-off").count() == 0  # every sensor reaches the USA
    assert page.inner_text("[data-testid=view-feeds]") == "USA: receives every sensor's plots"
    usa = {r[0]: (round(r[1], 3), round(r[2], 3)) for r in _tracks(page)}
    assert usa != jpn
    watch.shot("demo-2-view-USA")
    page.click("#nations button[data-nation=AUS]")
    page.wait_for_function(f"{STATE}.nation === 'AUS'", timeout=20_000)
    watch.shot("demo-3-view-AUS")
    page.click("#nations button[data-nation=JPN]")
    page.wait_for_function(f"{STATE}.nation === 'JPN'", timeout=20_000)


def test_demo_selecting_a_track_opens_its_details(demo_page) -> None:  # type: ignore[no-untyped-def]
    watch, _ = demo_page
    page = watch.page
    # On the map: click where the track layer drew a track inside the map and under no map
    # control (once it has: the demo's first tracks may still be tentative, or drawn near the
    # edge).
    target = page.wait_for_function(
        """() => { const ap = window.__airpicture; const size = ap.map.getSize();
          const at = ap.map.getContainer().getBoundingClientRect();
          for (const [id, [x, y]] of ap.trackLayer.screen) {
            const el = document.elementFromPoint(at.left + x, at.top + y);
            if (x > 60 && y > 60 && x < size.x - 60 && y < size.y - 60
                && el && !el.closest('.leaflet-control')) return [id, x, y]; }
          return null; }""",
        timeout=40_000,
    ).json_value()
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + target[1], box["y"] + target[2])
    page.wait_for_selector("[data-testid=details-id]", timeout=10_000)
    clicked = page.inner_text("[data-testid=details-id]")
    assert clicked == page.evaluate(f"{STATE}.selected")
    details = page.inner_text("#details")
    for label in ("Position", "Altitude", "Course / speed", "Contributing", "Sources", "TQ "):
        assert label in details
    watch.shot("demo-4-details")
    # From the table: the row's track opens. The table is redrawn as the picture changes (its
    # first row may be another track a moment later), so the row is read and clicked at once.
    row_id = page.evaluate(
        "() => { const row = document.querySelector('#track-rows tr[data-id]');"
        " row.click(); return row.dataset.id; }"
    )
    page.wait_for_function(
        f"document.querySelector('[data-testid=details-id]')?.textContent === {row_id!r}"
    )


def test_demo_requests_stay_on_loopback_and_stop_cleanly(demo_page) -> None:  # type: ignore[no-untyped-def]
    watch, demo = demo_page
    assert watch.requests, "the page made no request at all"
    assert watch.foreign_requests() == []
    assert watch.errors == []
    assert demo.stop() == 0
    assert any("drill" in line and "tracks held" in line for line in demo.output), "".join(
        demo.output
    )


# ------------------------------------------------------------------------------------ missiles
@pytest.fixture(scope="module")
def raid_page(browser):  # type: ignore[no-untyped-def]
    # The built-in raid, cut to 5 minutes: its ballistic missiles are predicted to come down in
    # the shipped warning areas about 3.5 minutes in, so alerts are issued; the input ends
    # before they are down, so they are cancelled at the end.
    raid = DemoProcess(
        "--scenario", "sea-of-japan-raid", "--duration", "260", "--speed", "12", "--port", "0"
    )
    watch = PageWatch(browser)
    try:
        watch.open(raid.url)
        yield watch, raid
    finally:
        watch.close()
        raid.stop()


def test_demo_shows_impacts_launch_points_areas_and_alerts(raid_page) -> None:  # type: ignore[no-untyped-def]
    watch, raid = raid_page
    page = watch.page
    page.wait_for_function("window.__airpicture.areasDrawn?.total >= 10", timeout=30_000)
    assert page.locator("path.area").count() >= 10  # the shipped areas
    page.wait_for_selector("path.impact-ellipse", timeout=120_000)
    page.wait_for_function(
        f"[...{STATE}.impacts.values()].some(i => i.launch_lat != null)", timeout=120_000
    )
    page.wait_for_selector("#alerts li.alert", timeout=120_000)
    assert page.is_visible("[data-testid=alert-banner]")
    assert page.locator("path.area-alert").count() >= 1
    threatened = page.get_attribute("#alerts li.alert", "data-track")
    assert page.evaluate(f"{STATE}.impacts.has({threatened!r})")
    watch.shot("raid-1-alert")
    # the end of the input cancels what is still in force; the list says why
    page.wait_for_selector("#alerts li.cancelled", timeout=120_000)
    watch.shot("raid-2-cancelled")
    assert watch.foreign_requests() == [] and watch.errors == []
    assert raid.stop() == 0
    summary = [line for line in raid.output if "alerts:" in line]
    assert summary and "JPN 0" not in summary[-1], "".join(raid.output)


# ------------------------------------------------------------------------------------ injected
NETWORK_ID = "JPN2-1342"
AREAS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"id": "niigata", "name": "Niigata prefecture"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[138.2, 37.0], [140.0, 37.0], [140.0, 38.5], [138.2, 38.5], [138.2, 37.0]]
                ],
            },
        },
        {
            "type": "Feature",
            "properties": {"id": "dateline", "name": "Sea area across 180°"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[178.0, 48.0], [-178.0, 48.0], [-178.0, 53.0], [178.0, 53.0], [178.0, 48.0]]
                ],
            },
        },
    ],
}


@pytest.fixture(scope="module")
def injected(browser):  # type: ignore[no-untyped-def]
    from airpicture.web import create_app, start_server

    store = PictureStore(nations=["JPN", "USA", "AUS"])
    store.info = {
        "scenario": "injected",
        "nation_names": {"JPN": "Japan", "USA": "United States", "AUS": "Australia"},
        "center": [40.0, 150.0],
        "zoom": 4,
        "release": "threats",
    }
    store.set_areas(AREAS)
    # Japan's radar does not reach Australia's picture, Australia's ship not Japan's.
    store.set_sensors(
        [
            SensorSite(
                "JPN-R1",
                "JPN",
                "radar",
                37.36,
                136.93,
                560.0,
                450e3,
                platform="ground",
                views=("JPN", "USA"),
            ),
            SensorSite(
                "AUS-S1",
                "AUS",
                "radar",
                37.4,
                133.2,
                25.0,
                400e3,
                platform="ship",
                views=("AUS", "USA"),
            ),
        ]
    )
    for t in range(0, 121, 5):
        store.apply(
            "JPN", flights(1000.0 + t, [38.0, 39.0, 50.5], [131.0, 133.0, 179.8], t0_s=1000.0)
        )
        store.apply(
            "JPN",
            flights(
                1000.0 + t,
                [39.5],
                [129.0],
                ids=["B1"],
                kind="ballistic",
                speed_mps=1500.0,
                alt_m=80e3,
                t0_s=1000.0,
            ),
        )
        # One object under its network track number in the USA's and Australia's pictures (not
        # Japan's), from different sources in each; an Australian-only track besides.
        store.apply(
            "USA",
            flights(
                1000.0 + t,
                [41.0],
                [134.0],
                ids=[NETWORK_ID],
                t0_s=1000.0,
                sources="JPN:plots;USA:plots",
                quality=12,
                local_id="T000031",
            ),
        )
        store.apply(
            "AUS",
            flights(
                1000.0 + t,
                [41.0, 36.0],
                [134.0, 132.0],
                ids=[NETWORK_ID, "AUS1-5"],
                t0_s=1000.0,
                sources=["AUS:plots;USA:track", "AUS:plots"],
                quality=[9, 11],
                local_id=["T000007", "T000002"],
            ),
        )
    server = start_server(create_app(store), port=0)
    watch = PageWatch(browser)
    watch.open(server.url)
    yield store, watch
    watch.close()
    server.stop()


def test_alert_appears_and_clears_with_its_area_highlighted(injected) -> None:  # type: ignore[no-untyped-def]
    store, watch = injected
    page = watch.page
    page.wait_for_function(f"{STATE}.tracks.size === 4", timeout=20_000)
    assert page.is_hidden("[data-testid=alert-banner]")
    assert page.locator("path.area-alert").count() == 0
    store.set_impact(
        "JPN",
        Impact(
            "B1",
            1120.0,
            37.7,
            139.0,
            1400.0,
            40e3,
            15e3,
            45.0,
            launch_lat_deg=40.0,
            launch_lon_deg=128.0,
            launch_t_s=900.0,
        ),
    )
    store.set_alert("JPN", Alert("JPN-A1", "niigata", "B1", "active", 1120.0, impact_t_s=1400.0))
    page.wait_for_selector("#alerts li.alert[data-alert='JPN-A1']", timeout=10_000)
    assert page.is_visible("[data-testid=alert-banner]")
    assert "1 ACTIVE ALERT" in page.inner_text("[data-testid=alert-banner]")
    assert "Niigata prefecture" in page.inner_text("#alerts")
    assert page.locator("path.area-alert").count() == 1
    assert page.locator("path.impact-ellipse").count() == 1
    page.click("#alerts li.alert")  # selects the threatening track and shows its impact
    page.wait_for_timeout(700)  # let the map finish flying to the area
    page.wait_for_function(
        "document.querySelector('[data-testid=details-id]')?.textContent === 'B1'"
    )
    assert "predicted impact" in page.inner_text("#details").lower()
    watch.shot("injected-1-alert")
    store.set_alert("JPN", Alert("JPN-A1", "niigata", "B1", "cancelled", 1125.0, reason="down"))
    page.wait_for_selector("#alerts li.none", timeout=10_000)
    # the cancelled alert goes to the log, with its reason (down: the missile came down)
    assert "impacted" in page.inner_text("#alerts li.cancelled[data-alert='JPN-A1']")
    assert page.is_hidden("[data-testid=alert-banner]")
    assert page.locator("path.area-alert").count() == 0
    # Alerts belong to a view: another nation's alert does not show in Japan's. Japan's view
    # gets one delta after it (its cancellation again, no change) and only that one: once it is
    # in, the USA's alert would have been too (one ordered stream per page).
    deltas = page.evaluate(f"{STATE}.stats.deltas")
    store.set_alert("USA", Alert("USA-A1", "niigata", "B1", "active", 1125.0))
    store.set_alert("JPN", Alert("JPN-A1", "niigata", "B1", "cancelled", 1125.0, reason="down"))
    page.wait_for_function(f"{STATE}.stats.deltas > {deltas}", timeout=10_000)
    assert page.evaluate(f"{STATE}.stats.deltas") == deltas + 1
    assert not page.evaluate(f"{STATE}.alerts.has('USA-A1')")
    assert page.locator("#alerts li.alert").count() == 0


def test_antimeridian_geometry_is_whole(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    page = watch.page
    # The basemap: no ring or line jumps across the map (the 50m atlas crosses 180° in Russia,
    # Fiji and Antarctica).
    assert page.evaluate("window.__airpicture.basemap.maxLonStep") < 20.0
    # A warning area across 180° is 4° wide, not 356°.
    span = page.evaluate(
        """() => { const g = window.__airpicture.geo;
          const polys = g.placeGeometry({type: 'Polygon',
            coordinates: [[[178, 48], [-178, 48], [-178, 53], [178, 53], [178, 48]]]});
          const lons = polys.flat(3).filter((_, i) => i % 2 === 0);
          return [polys.length, Math.min(...lons), Math.max(...lons)]; }"""
    )
    assert span[0] == 1 and span[2] - span[1] == pytest.approx(4.0)
    # On screen too: the drawn area is a few degrees wide at the zoom shown.
    page.evaluate("void window.__airpicture.map.setView([50.5, 180], 5, {animate: false})")
    page.wait_for_timeout(300)
    width_px = page.evaluate("document.querySelector('path.area-id-dateline').getBBox().width")
    degree_px = page.evaluate(
        "(() => { const m = window.__airpicture.map;"
        " return m.latLngToContainerPoint([50, 181]).x"
        " - m.latLngToContainerPoint([50, 180]).x; })()"
    )
    assert width_px == pytest.approx(4 * degree_px, abs=3.0)
    # The track just west of 180° is drawn next to the area, not at the far side of the world.
    xy = page.evaluate("window.__airpicture.trackLayer.screen.get('T000002')")
    size = page.evaluate(
        "[window.__airpicture.map.getSize().x, window.__airpicture.map.getSize().y]"
    )
    assert 0 < xy[0] < size[0] and 0 < xy[1] < size[1]
    watch.shot("injected-2-antimeridian")


def test_scrubbing_back_shows_the_past_picture_and_live_returns(injected) -> None:  # type: ignore[no-untyped-def]
    store, watch = injected
    page = watch.page
    page.evaluate("void window.__airpicture.map.setView([39, 133], 6, {animate: false})")
    live_t = page.evaluate(f"{STATE}.tS")
    assert live_t == 1120.0
    page.evaluate(
        """() => { const s = document.querySelector('#scrub'); s.value = '1030';
          s.dispatchEvent(new Event('input', {bubbles: true})); }"""
    )
    page.wait_for_function(f"{STATE}.mode === 'paused' && {STATE}.tS === 1030", timeout=10_000)
    assert "PAUSED" in page.inner_text("[data-testid=mode]")
    past = {r[0]: r[3] for r in _tracks(page)}
    assert set(past.values()) == {1030.0}
    assert page.evaluate(f"{STATE}.tLive") == live_t
    # New data keeps arriving while paused (the live time moves on); the display stays in the
    # past.
    store.apply("JPN", flights(1125.0, [38.0], [131.0], ids=["T000000"], t0_s=1000.0))
    page.wait_for_function(f"{STATE}.tLive === 1125", timeout=10_000)
    assert page.evaluate(f"{STATE}.tracks.get('T000000').t") == 1030.0
    watch.shot("injected-3-paused")
    page.click("[data-testid=live]")
    page.wait_for_function(
        f"{STATE}.mode === 'live' && {STATE}.tracks.get('T000000').t === 1125", timeout=10_000
    )
    assert "LIVE" in page.inner_text("[data-testid=mode]")


def test_injected_requests_stay_on_loopback(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    assert watch.foreign_requests() == []
    assert watch.errors == []


def test_track_table_sorts_and_filters(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    page = watch.page
    page.fill("[data-testid=filter]", "ballistic")
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length === 1")
    assert page.get_attribute("#track-rows tr", "data-id") == "B1"
    page.fill("[data-testid=filter]", "")
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length === 4")
    page.click("#track-table th[data-key=alt]")  # ascending
    page.click("#track-table th[data-key=alt]")  # descending: the missile at 80 km first
    ids = page.eval_on_selector_all("#track-rows tr", "rows => rows.map(r => r.dataset.id)")
    assert ids[0] == "B1" and len(ids) == 4


def _view(page, nation: str) -> None:  # type: ignore[no-untyped-def]
    """Switch to a nation's view and wait for its picture."""
    page.click(f"#nations button[data-nation={nation}]")
    page.wait_for_function(
        f"{STATE}.nation === {nation!r} && !{STATE}.viewPending && {STATE}.tracks.size > 0",
        timeout=10_000,
    )


def test_track_details_show_sources_quality_and_local_number(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    page = watch.page
    _view(page, "USA")
    page.click(f"#track-rows tr[data-id='{NETWORK_ID}']")
    page.wait_for_selector("[data-testid=details-sources]")
    assert page.inner_text("[data-testid=details-sources]").splitlines() == [
        "JPN — plots",
        "USA — own plots",
    ]
    assert page.inner_text("[data-testid=details-tq]") == "TQ 12/15"
    assert page.inner_text("[data-testid=details-lid]") == "T000031"
    watch.shot("injected-4-sources")
    # The table's source column and its filter.
    _view(page, "AUS")
    page.fill("[data-testid=filter]", "usa:track")
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length === 1")
    row = page.locator(f"#track-rows tr[data-id='{NETWORK_ID}'] td").nth(9)  # the Src column
    assert row.inner_text() == "AUS ⇄USA"
    page.fill("[data-testid=filter]", "")
    page.click("#track-table th[data-key=src]")
    ids = page.eval_on_selector_all("#track-rows tr", "rows => rows.map(r => r.dataset.id)")
    assert ids == ["AUS1-5", NETWORK_ID]  # "AUS:plots" before "AUS:plots;USA:track"
    page.evaluate("window.__airpicture.select(null)")
    _view(page, "JPN")


def test_selection_follows_the_network_number_across_views(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    page = watch.page
    _view(page, "USA")
    page.click(f"#track-rows tr[data-id='{NETWORK_ID}']")
    page.wait_for_selector("[data-testid=details-id]")
    # Japan's picture does not hold the object: the panel says so, the selection stays.
    _view(page, "JPN")
    page.wait_for_selector("[data-testid=details-missing]")
    assert page.inner_text("#details") == f"{NETWORK_ID} is not held in JPN's picture."
    assert page.evaluate(f"{STATE}.selected") == NETWORK_ID
    watch.shot("injected-5-not-held")
    # Australia's does, from other sources: the same number is selected there.
    _view(page, "AUS")
    page.wait_for_function(
        f"document.querySelector('[data-testid=details-id]')?.textContent === {NETWORK_ID!r}"
    )
    assert page.inner_text("[data-testid=details-sources]").splitlines() == [
        "AUS — own plots",
        "USA — shared track",
    ]
    assert page.inner_text("[data-testid=details-tq]") == "TQ 9/15"
    assert page.get_attribute("#track-rows tr.sel", "data-id") == NETWORK_ID
    # And back through Japan's picture to the USA's.
    _view(page, "JPN")
    page.wait_for_selector("[data-testid=details-missing]")
    _view(page, "USA")
    page.wait_for_function(
        f"document.querySelector('[data-testid=details-id]')?.textContent === {NETWORK_ID!r}"
    )
    page.evaluate("window.__airpicture.select(null)")
    _view(page, "JPN")
    assert watch.errors == []


def test_header_says_which_sensors_a_view_does_not_receive(injected) -> None:  # type: ignore[no-untyped-def]
    _, watch = injected
    page = watch.page
    feeds = "[data-testid=view-feeds]"
    _view(page, "AUS")
    assert page.inner_text(feeds).split("\n") == [
        "AUS: no plots from JPN-R1",
        "(tracks of threats only)",
    ]
    assert "missing" in (page.get_attribute(feeds, "class") or "")
    watch.shot("injected-6-feeds-AUS")
    _view(page, "USA")
    assert page.inner_text(feeds) == "USA: receives every sensor's plots"
    _view(page, "JPN")
    assert page.inner_text(feeds).startswith("JPN: no plots from AUS-S1")
