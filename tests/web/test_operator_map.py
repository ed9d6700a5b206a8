"""The operator's map in a real browser: the alert panel, decluttering at raid density, the
legend, hover block, search, filters, flags, the end of input, the tools and units.

One run of the Sea of Japan raid (cut to 320 s: its missiles' alerts are issued from about 200 s
on and stay in force until the input ends) serves the tests in order: its alerts come in while
it plays; the end of input, the alert log, the decluttered picture
and the tools are checked on what it leaves. An in-process store gives the cases that must be
exact (the cue of a new alert, muting, acknowledging, implausible tracks, a track inside an area).
"""

from __future__ import annotations

import math
import time

import pytest

from airpicture.web import Alert, PictureStore

from ._synthetic import flights
from .conftest import DemoProcess, PageWatch

pytest.importorskip("starlette")

AP = "window.__airpicture"
STATE = f"{AP}.state"


def _utc(t: float) -> str:
    return time.strftime("%H:%M:%SZ", time.gmtime(t))


def _view(page, nation: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"#nations button[data-nation={nation}]")
    page.wait_for_function(
        f"{STATE}.nation === {nation!r} && !{STATE}.viewPending && {STATE}.alertLogReady",
        timeout=20_000,
    )


def _drawn(page):  # type: ignore[no-untyped-def]
    """Wait for the track layer to draw again; its labels, symbol size and symbol positions."""
    page.evaluate(
        f"new Promise(r => {{ {AP}.trackLayer.onDrawn = r; {AP}.trackLayer.request(); }})"
    )
    return page.evaluate(
        f"""() => {{ const tl = {AP}.trackLayer; const size = {AP}.map.getSize();
          const shown = [...tl.screen].filter(
            ([, [x, y]]) => x >= 0 && y >= 0 && x <= size.x && y <= size.y);
          return {{labels: tl.labels, size: tl.size, fanned: tl.fanned, drawn: {STATE}.stats.drawn,
                   screen: Object.fromEntries(shown)}}; }}"""
    )


def _overlap(a, b) -> bool:  # type: ignore[no-untyped-def]
    return a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1]


# ------------------------------------------------------------------------------------ the raid
@pytest.fixture(scope="module")
def raid(browser):  # type: ignore[no-untyped-def]
    demo = DemoProcess(
        "--scenario", "sea-of-japan-raid", "--duration", "320", "--speed", "12", "--port", "0"
    )
    watch = PageWatch(browser, width=1600, height=1000)  # the size the map was judged at
    try:
        watch.open(demo.url)
        yield watch, demo
    finally:
        watch.close()
        demo.stop()


def test_raid_alerts_are_ordered_by_time_to_impact_with_absolute_times(raid) -> None:  # type: ignore[no-untyped-def]
    watch, _ = raid
    page = watch.page
    # Read at once: alerts come and go while the raid plays.
    rows = page.wait_for_function(
        f"""() => {{ const lis = [...document.querySelectorAll('#alerts li.alert')];
          if (lis.length < 2) return null;
          const box = document.querySelector('#alerts').getBoundingClientRect();
          return lis.map(li => {{
            const a = {STATE}.alerts.get(li.dataset.alert); const b = li.getBoundingClientRect();
            return {{id: li.dataset.alert, impact: a.impact_t_s, issued: a.issued_t_s,
                     text: li.innerText, whole: b.top >= box.top && b.bottom <= box.bottom + 0.5}};
          }}); }}""",
        timeout=180_000,
    ).json_value()
    watch.shot("operator-1-raid-alerts")
    impacts = [r["impact"] for r in rows]
    assert impacts == sorted(impacts), rows  # the most urgent first
    for r in rows:
        assert (
            f"impact {_utc(r['impact'])}" in r["text"]
            and f"issued {_utc(r['issued'])}" in r["text"]
        )
        assert "passed" not in r["text"]
        assert r["whole"], f"alert {r['id']} is cut off"
    cues = page.evaluate(f"{STATE}.cues")
    assert cues["flashes"] >= 1 and cues["beeps"] >= 1  # a new alert flashes and beeps
    # Acknowledged in the page (the first alert listed now), kept in this browser.
    first, cls, text = page.evaluate(
        """() => { const li = document.querySelector('#alerts li.alert');
          const id = li.dataset.alert;
          li.querySelector('button.ack').click();
          const now = document.querySelector(`#alerts li.alert[data-alert="${CSS.escape(id)}"]`);
          return [id, now.className, now.innerText]; }"""
    )
    assert "acked" in cls.split() and "ACK " in text
    acks = page.evaluate("JSON.parse(localStorage.getItem('airpicture.alerts.acknowledged'))")
    assert first in acks["JPN"]


def test_raid_end_of_input_and_the_alert_log_across_views_and_reloads(raid) -> None:  # type: ignore[no-untyped-def]
    watch, _ = raid
    page = watch.page
    page.wait_for_function(
        "document.querySelector('[data-testid=mode]').textContent === 'INPUT ENDED'",
        timeout=180_000,
    )
    assert "ended" in (page.get_attribute("[data-testid=mode]", "class") or "")
    assert page.inner_text("#date") == "input ended"
    ended = {
        a["alert_id"]
        for a in page.evaluate("fetch('api/alerts?nation=JPN').then(r => r.json())")["alerts"]
        if a["state"] == "cancelled"
    }
    assert ended, "the raid's alerts were not cancelled at the end of input"
    logged = (
        "new Set([...document.querySelectorAll('#alerts li.cancelled')]"
        f".map(e => e.dataset.alert)).size === {len(ended)}"
    )
    page.wait_for_function(logged, timeout=10_000)
    assert "input ended" in page.inner_text("#alerts li.cancelled")
    _view(page, "USA")
    _view(page, "JPN")
    page.wait_for_function(logged, timeout=10_000)
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_function(logged, timeout=10_000)
    page.wait_for_function(
        "document.querySelector('[data-testid=mode]').textContent === 'INPUT ENDED'",
        timeout=10_000,
    )


def test_raid_labels_declutter_and_stacked_missiles_fan_out(raid) -> None:  # type: ignore[no-untyped-def]
    watch, _ = raid
    page = watch.page
    page.evaluate(f"void {AP}.map.setView([38.5, 134.5], 6, {{animate: false}})")
    page.click("#lay-tentative")  # the raid's tentative tracks too: about twice the density
    d = _drawn(page)
    assert d["drawn"] > 100  # labels used to switch themselves off above 60
    labels = d["labels"]
    assert len(labels) > 60, len(labels)
    half = d["size"] * 0.75
    symbols = [[x - half, y - half, x + half, y + half] for x, y in d["screen"].values()]
    for i, a in enumerate(labels):
        assert not any(_overlap(a["box"], b["box"]) for b in labels[i + 1 :]), a
        assert not any(_overlap(a["box"], s) for s in symbols), a
    assert "-0.0km" not in " ".join(label["text"] for label in labels)
    assert any(label["leader"] for label in labels)  # some stand off on a leader line
    watch.shot("operator-2-raid-decluttered")
    page.click("#lay-labels")  # off: only a selected track's label
    assert _drawn(page)["labels"] == []
    page.click("#lay-labels")
    page.click("#lay-tentative")
    # The missiles: zoomed out until the two closest stack, they are fanned out round their spot.
    pair = page.evaluate(
        f"""() => {{ const m = [...{STATE}.tracks.values()].filter(r => {STATE}.passes(r)
            && ['ballistic', 'cruise'].includes(r.kind));
          let best = null;
          for (let i = 0; i < m.length; i++) for (let j = i + 1; j < m.length; j++) {{
            const d = Math.hypot(m[i].lat - m[j].lat, m[i].lon - m[j].lon);
            if (!best || d < best[0]) best = [d, m[i], m[j]]; }}
          return best && [best[1].id, best[2].id,
                          (best[1].lat + best[2].lat) / 2, (best[1].lon + best[2].lon) / 2]; }}"""
    )
    assert pair, "fewer than two missile tracks in the raid's picture"
    a, b, lat, lon = pair
    sep = d["size"] * 1.6
    for zoom in range(10, 1, -1):
        page.evaluate(f"void {AP}.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})")
        true_px = page.evaluate(
            f"""() => {{ const m = {AP}.map; const p = id => {{ const r = {STATE}.tracks.get(id);
              return m.latLngToContainerPoint([r.lat, r.lon]); }};
              return p({a!r}).distanceTo(p({b!r})); }}"""
        )
        if true_px < sep / 2:
            break
    d = _drawn(page)
    assert d["fanned"] >= 1
    (xa, ya), (xb, yb) = d["screen"][a], d["screen"][b]
    assert math.hypot(xa - xb, ya - yb) >= sep * 0.99, (true_px, d["screen"][a], d["screen"][b])


def test_raid_filters_legend_search_and_hover(raid) -> None:  # type: ignore[no-untyped-def]
    watch, _ = raid
    page = watch.page
    page.evaluate(f"void {AP}.map.setView([38.5, 134.5], 6, {{animate: false}})")
    kinds = f"[...{AP}.trackLayer.screen.keys()].map(id => {STATE}.tracks.get(id).kind)"

    def table_column(n: int) -> list[str]:
        return page.eval_on_selector_all(
            "#track-rows tr", f"rows => rows.map(r => r.children[{n}].textContent)"
        )

    # The table's words filter the map too; "missile" finds ballistic and cruise missiles.
    page.fill("[data-testid=filter]", "missile")
    _drawn(page)
    assert set(page.evaluate(kinds)) <= {"ballistic", "cruise"} and page.evaluate(kinds)
    assert set(table_column(3)) <= {"ballistic", "cruise"}
    page.fill("[data-testid=filter]", "")
    # The filters' selectors: kind, altitude band, nation, identity.
    page.select_option("[data-testid=f-kind]", "missile")
    _drawn(page)
    assert set(page.evaluate(kinds)) <= {"ballistic", "cruise"} and page.evaluate(kinds)
    page.select_option("[data-testid=f-kind]", "")
    page.select_option("[data-testid=f-alt]", "high")
    _drawn(page)
    alts = page.evaluate(
        f"[...{AP}.trackLayer.screen.keys()].map(id => {STATE}.tracks.get(id).alt)"
    )
    assert alts and min(alts) >= 15_000
    page.select_option("[data-testid=f-alt]", "")
    page.select_option("[data-testid=f-nation]", "AUS")
    _drawn(page)
    nats = page.evaluate(
        f"[...{AP}.trackLayer.screen.keys()].map(id => {STATE}.tracks.get(id).nat)"
    )
    assert nats and all("AUS" in n.split(";") for n in nats)
    page.select_option("[data-testid=f-nation]", "")
    page.select_option("[data-testid=f-idn]", "S")
    page.wait_for_function("document.querySelectorAll('#track-rows tr').length > 0")
    classes = page.eval_on_selector_all("#track-rows tr", "rows => rows.map(r => r.className)")
    assert all("id-S" in c for c in classes)
    page.select_option("[data-testid=f-idn]", "")
    # The legend.
    page.click("[data-testid=legend-toggle]")
    legend = page.inner_text("[data-testid=legend]")
    for entry in (
        "coasting",
        "predicted impact",
        "warning area under alert",
        "coverage",
        "launch point",
    ):
        assert entry in legend
    assert page.locator("[data-testid=legend] svg").count() >= 15
    watch.shot("operator-3-legend")
    page.click("[data-testid=legend-toggle]")
    assert page.is_hidden("[data-testid=legend]")
    # Go to a track by its number.
    target = page.evaluate(
        f"[...{STATE}.tracks.values()].find(r => {STATE}.passes(r) && r.kind === 'ballistic').id"
    )
    page.fill("[data-testid=goto]", target.lower())
    page.press("[data-testid=goto]", "Enter")
    page.wait_for_function(f"{STATE}.selected === {target!r}")
    centre = page.evaluate(
        f"(() => {{ const c = {AP}.map.getCenter(); return [c.lat, c.lng]; }})()"
    )
    rec = page.evaluate(f"{STATE}.tracks.get({target!r})")
    assert centre == pytest.approx([rec["lat"], rec["lon"]], abs=0.05)
    page.fill("[data-testid=goto]", "no-such-track")
    page.press("[data-testid=goto]", "Enter")
    assert page.inner_text("#goto-note") == "no track matches"
    # The hover block over the selected missile.
    d = _drawn(page)
    x, y = d["screen"][target]
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.wait_for_selector("[data-testid=hover]:not([hidden])")
    hover = page.inner_text("[data-testid=hover]")
    assert target in hover and "ballistic" in hover and "km/h" in hover
    page.evaluate(f"{AP}.select(null)")


def test_raid_tools_units_replay_speed_and_alert_framing(raid) -> None:  # type: ignore[no-untyped-def]
    watch, _ = raid
    page = watch.page
    page.evaluate(f"void {AP}.map.setView([38.5, 134.5], 6, {{animate: false}})")
    box = page.locator("#map").bounding_box()
    # Range and bearing between two points, and the cursor position.
    a, b = (37.0, 133.0), (39.5, 136.0)
    pts = page.evaluate(
        f"[[{a[0]}, {a[1]}], [{b[0]}, {b[1]}]].map(p => {{"
        f" const c = {AP}.map.latLngToContainerPoint(p); return [c.x, c.y]; }})"
    )
    page.click("[data-testid=measure]")
    for x, y in pts:
        page.mouse.click(box["x"] + x, box["y"] + y)
    result = page.evaluate(f"{AP}.measure.result")
    p1, p2, dl = math.radians(a[0]), math.radians(b[0]), math.radians(b[1] - a[1])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    metres = 2 * 6371008.8 * math.asin(math.sqrt(h))
    bearing = math.degrees(
        math.atan2(
            math.sin(dl) * math.cos(p2),
            math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl),
        )
    )
    assert result["m"] == pytest.approx(metres, rel=0.01)
    assert result["deg"] == pytest.approx(bearing, abs=1.0)
    assert result["text"] == f"{result['m'] / 1000:.0f} km · {round(result['deg']):03d}°"
    # one label (the rubber band's fades out)
    page.wait_for_function("document.querySelectorAll('.measure-tip').length === 1")
    lat_text, lon_text = page.inner_text("[data-testid=cursor]").split()
    assert lat_text.endswith("°N") and lon_text.endswith("°E")
    assert [float(lat_text[:-2]), float(lon_text[:-2])] == pytest.approx(b, abs=0.02)
    watch.shot("operator-4-range-bearing")
    page.keyboard.press("Escape")
    page.wait_for_function("document.querySelectorAll('.measure-tip').length === 0")
    # Units: ft / FL and kt / NM, kept over a reload.
    assert page.inner_text("[data-testid=scale]").endswith(" km")
    page.select_option("[data-testid=unit-alt]", "ft")
    page.select_option("[data-testid=unit-spd]", "kt")
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_function(f"{STATE}.tracks.size > 0")
    assert page.input_value("[data-testid=unit-alt]") == "ft"
    assert page.inner_text("#track-table th[data-key=alt]") == "Alt FL"
    assert page.inner_text("#track-table th[data-key=spd]") == "kt"
    assert page.inner_text("[data-testid=scale]").endswith(" NM")
    texts = [label["text"] for label in _drawn(page)["labels"]]
    assert any("FL" in t for t in texts) and not any("km" in t for t in texts)
    page.select_option("[data-testid=unit-alt]", "m")
    page.select_option("[data-testid=unit-spd]", "kmh")
    # A replay at x10 is at x1 again once back to live.
    page.select_option("[data-testid=speed]", "10")
    page.click("[data-testid=play]")  # pause
    page.click("[data-testid=play]")  # play back
    assert "REPLAY ×10" in page.inner_text("[data-testid=mode]")
    page.click("[data-testid=live]")
    assert page.input_value("[data-testid=speed]") == "1" and page.evaluate(f"{STATE}.speed") == 1
    # An alert of the log, clicked: its area and its missile framed together.
    page.evaluate(f"void {AP}.map.setView([30, 150], 6, {{animate: false}})")
    li = page.locator("#alerts li.cancelled").first
    track, area = li.get_attribute("data-track"), li.get_attribute("data-area")
    li.click()
    page.wait_for_timeout(600)  # the map's flight
    framed = page.evaluate(
        f"""() => {{ const m = {AP}.map; const bounds = m.getBounds(); const st = {STATE};
          const r = st.tracks.get({track!r});
          const f = st.areas.features.find(x => x.properties.id === {area!r});
          const g = f.geometry;
          const ring = (g.type === 'Polygon' ? g.coordinates : g.coordinates[0])[0];
          return [r ? bounds.contains([r.lat, r.lon]) : null,
                  ring.every(([lon, lat]) => bounds.contains([lat, lon]))]; }}"""
    )
    assert framed == [True, True]
    assert page.evaluate(f"{STATE}.selected") == track
    page.evaluate(f"{AP}.select(null)")
    assert watch.foreign_requests() == []
    assert watch.errors == []


# ------------------------------------------------------------------------------------ exact cases
@pytest.fixture(scope="module")
def store_page(browser):  # type: ignore[no-untyped-def]
    from airpicture.web import create_app, start_server

    from .test_browser import AREAS

    store = PictureStore(nations=["JPN", "USA"])
    store.info = {"scenario": "injected", "center": [38.5, 136.0], "zoom": 6}
    store.set_areas(AREAS)
    for t in (1000.0, 1005.0):
        store.apply("JPN", flights(t, [37.3, 36.0], [133.0, 134.0], t0_s=1000.0))
        # inside the Niigata area; below the surface; too high and fast for an aircraft; at -10 m
        store.apply("JPN", flights(t, [37.8], [139.0], ids=["IN-AREA"], t0_s=1000.0, speed_mps=0.0))
        store.apply("JPN", flights(t, [36.5], [135.0], ids=["DEEP"], alt_m=-3900.0, t0_s=1000.0))
        store.apply(
            "JPN",
            flights(t, [36.8], [136.0], ids=["FAST"], alt_m=80e3, speed_mps=3500.0, t0_s=1000.0),
        )
        store.apply("JPN", flights(t, [35.5], [136.5], ids=["SEA"], alt_m=-10.0, t0_s=1000.0))
        store.apply(
            "JPN",
            flights(t, [39.5], [129.0], ids=["B1"], kind="ballistic", alt_m=80e3, t0_s=1000.0),
        )
    server = start_server(create_app(store), port=0)
    watch = PageWatch(browser)
    watch.open(server.url)
    watch.page.wait_for_function(f"{STATE}.tracks.size === 7 && {STATE}.alertLogReady")
    yield store, watch
    watch.close()
    server.stop()


def test_a_new_alert_flashes_and_beeps_unless_muted_and_is_acknowledged(store_page) -> None:  # type: ignore[no-untyped-def]
    store, watch = store_page
    page = watch.page
    assert page.evaluate(f"{STATE}.cues") == {"flashes": 0, "beeps": 0}
    store.set_alert("JPN", Alert("A-LATE", "niigata", "B1", "active", 1005.0, impact_t_s=1400.0))
    store.set_alert("JPN", Alert("A-SOON", "niigata", "B1", "active", 1005.0, impact_t_s=1300.0))
    page.wait_for_function("document.querySelectorAll('#alerts li.alert').length === 2")
    assert page.evaluate(f"{STATE}.cues.beeps") >= 1
    assert "flash" in (page.get_attribute(".alerts-panel", "class") or "")
    order = page.eval_on_selector_all("#alerts li.alert", "els => els.map(e => e.dataset.alert)")
    assert order == ["A-SOON", "A-LATE"]
    assert "T−295 s" in page.inner_text("#alerts li.alert[data-alert='A-SOON']")
    # Muted: the next new alert flashes, silently; the choice is kept.
    page.click("[data-testid=alerts-mute]")
    cues = page.evaluate(f"{STATE}.cues")
    store.set_alert("JPN", Alert("A-NEXT", "niigata", "B1", "active", 1005.0, impact_t_s=1350.0))
    page.wait_for_function(f"{STATE}.cues.flashes > {cues['flashes']}")
    assert page.evaluate(f"{STATE}.cues.beeps") == cues["beeps"]
    # An update of an alert already shown is no new alert.
    store.set_alert("JPN", Alert("A-NEXT", "niigata", "B1", "active", 1006.0, impact_t_s=1351.0))
    page.wait_for_function(f"{STATE}.alerts.get('A-NEXT').impact_t_s === 1351")
    assert page.evaluate(f"{STATE}.cues.flashes") == cues["flashes"] + 1
    # Acknowledged through the one function that does it, by the button or by a caller.
    page.click("#alerts li.alert[data-alert='A-SOON'] button.ack")
    page.evaluate(f"{AP}.acknowledgeAlert('JPN', 'A-LATE')")
    assert "3 ACTIVE ALERTS · 1 TO ACK" in page.inner_text("[data-testid=alert-banner]")
    watch.shot("operator-5-alert-panel")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("document.querySelectorAll('#alerts li.alert').length === 3")
    assert page.locator("#alerts li.alert.acked").count() == 2
    assert page.inner_text("[data-testid=alerts-mute]") == "♪ off"
    # Clicking an alert frames its area and its missile, far from it.
    page.click("#alerts li.alert[data-alert='A-NEXT']")
    page.wait_for_timeout(600)
    bounds = page.evaluate(
        f"[[39.5, 129.0], [37.0, 138.2], [38.5, 140.0]].map(p => {AP}.map.getBounds().contains(p))"
    )
    assert bounds == [True, True, True]
    for alert_id in ("A-LATE", "A-SOON", "A-NEXT"):
        store.set_alert(
            "JPN", Alert(alert_id, "niigata", "B1", "cancelled", 1007.0, reason="clear")
        )
    page.wait_for_function("document.querySelectorAll('#alerts li.cancelled').length === 3")
    assert page.inner_text("#alerts li.cancelled").splitlines()[1] == "cleared"
    page.evaluate(f"{AP}.select(null)")


def test_implausible_tracks_are_flagged_and_a_track_in_an_area_is_picked(store_page) -> None:  # type: ignore[no-untyped-def]
    _, watch = store_page
    page = watch.page
    page.evaluate(f"void {AP}.map.setView([37.0, 136.0], 6, {{animate: false}})")
    labels = {label["id"]: label["text"] for label in _drawn(page)["labels"]}
    assert "NEG ALT" in labels["DEEP"] and "-3.9km" in labels["DEEP"]
    assert "ALT?" in labels["FAST"] and "SPD?" in labels["FAST"]
    assert "0.0km" in labels["SEA"] and "-0.0" not in labels["SEA"] and "⚠" not in labels["SEA"]
    assert "⚠" not in labels["B1"]  # 80 km is no height for an aircraft, but is for a missile
    flagged = page.eval_on_selector_all(
        "#track-rows tr.flagged", "rows => rows.map(r => r.dataset.id)"
    )
    assert sorted(flagged) == ["DEEP", "FAST"]
    page.click("#track-rows tr[data-id=DEEP]")
    assert "altitude below the surface" in page.inner_text("[data-testid=details-flags]")
    # A click on a track inside a warning area selects the track; the area is named on hover
    # where no track is.
    d = _drawn(page)
    x, y = d["screen"]["IN-AREA"]
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function(f"{STATE}.selected === 'IN-AREA'")
    assert page.locator(".leaflet-tooltip").count() == 0
    assert "IN-AREA" in page.inner_text("[data-testid=hover]")
    page.mouse.move(box["x"] + x + 40, box["y"] + y + 30)
    page.wait_for_function(
        "document.querySelector('[data-testid=hover]').textContent.includes('Niigata prefecture')"
    )
    assert watch.errors == [] and watch.foreign_requests() == []


def test_a_live_picture_without_updates_is_flagged(store_page) -> None:  # type: ignore[no-untyped-def]
    store, watch = store_page
    page = watch.page
    mode = "document.querySelector('[data-testid=mode]')"
    assert page.inner_text("[data-testid=mode]") == "LIVE"
    page.evaluate(f"{STATE}.lastDataAt -= 60_000")  # as if the last update came a minute ago
    page.wait_for_function(f"{mode}.textContent.startsWith('LIVE · NO DATA ')")
    assert "warn" in (page.get_attribute("[data-testid=mode]", "class") or "")
    store.apply("JPN", flights(1010.0, [37.3], [133.0], t0_s=1000.0))
    page.wait_for_function(f"{mode}.textContent === 'LIVE'")
