// airpicture operator map: boots the map, keeps the client-side picture and wires the panels.
import L from "leaflet";
import { feature, mesh } from "topojson-client";
import {
  LON_MIN,
  coverageLatLngs,
  ellipseLatLngs,
  encirclesPole,
  nearLon,
  normLon,
  placeGeometry,
  placeLine,
  toLatLngs,
  unwrapRing,
} from "./geo.js";
import { acknowledgeAlert, initAlerts, loadAlertLog, noteAlerts, renderAlerts } from "./alerts.js";
import { ALT_BANDS, KIND_FILTERS, matches } from "./filters.js";
import { altUnit, altValue, esc, fmtAlt, fmtDate, fmtDist, fmtLatLon, fmtSpd, fmtTime, num, setUnits, spdUnit, spdValue, units } from "./format.js";
import { FLAG_TEXT, flagsOf, positionError95 } from "./quality.js";
import { ensureLogin, initOperators, onOperatorMessage, renderTrackActions } from "./operators.js";
import { IDENTITY_NAMES, identityOf, sidcOf, symbolSvg } from "./symbols.js";
import { areaFinder, initTools } from "./tools.js";
import { TrackLayer } from "./tracklayer.js";

const $ = (sel) => document.querySelector(sel);
const NATION_COLOURS = ["#ffb347", "#7fb8ff", "#8be28b", "#e59cff", "#ffd966", "#7ee0d0"];
const TRAIL_STEP_S = 5;
const TABLE_LIMIT = 200;
const INFO_POLL_MS = 5000; // how often the page asks whether the input has ended
const STALE_S = 30; // a live picture that no update has reached for this long is flagged
const THREAT_TRACK_RELEASES = new Set(["threats"]); // presets under which partners share tracks of threats

// ------------------------------------------------------------------------------------ state
const state = {
  info: null,
  nations: [],
  nation: null,
  colours: {},
  tracks: new Map(),
  trails: new Map(),
  impacts: new Map(),
  alerts: new Map(),
  sensors: [],
  areas: null,
  tS: null,
  tMin: null,
  tLive: null,
  mode: "live", // live | paused | replay (playing back the history)
  replayT: null,
  speed: 1,
  selected: null, // a track id, kept across views (network track numbers are the same in every view)
  viewPending: false, // the view was switched and its first picture has not arrived yet
  layers: { trails: true, leaders: true, ellipses: "selected", coverage: true, areas: true, tentative: false, labels: true },
  leaderS: 0,
  trailS: 180,
  filter: "",
  filters: { kind: "", nation: "", alt: "", idn: "" }, // the map's and the table's filters
  lastDataAt: null, // performance.now() of the last picture data received
  sort: { key: "id", dir: 1 },
  connected: false,
  stats: { messages: 0, deltas: 0, snapshots: 0, lastDrawMs: 0, drawn: 0, bytes: 0 },
  passes(rec) {
    return (this.layers.tentative || rec.st !== "tentative") && matches(rec, this.filters, this.filter);
  },
};
window.__airpicture = { state, acknowledgeAlert };

// ------------------------------------------------------------------------------------ map
const map = L.map("map", {
  center: [38.5, 136],
  zoom: 5,
  minZoom: 2,
  maxZoom: 12,
  zoomControl: true,
  attributionControl: true,
  preferCanvas: true,
  worldCopyJump: false,
  zoomSnap: 0.5,
});
map.attributionControl.setPrefix(false);
map.attributionControl.addAttribution("Coastlines: Natural Earth 1:50m via world-atlas");
map.createPane("basemap").style.zIndex = 200;
map.createPane("coverage").style.zIndex = 350;
map.createPane("areas").style.zIndex = 380;
map.createPane("impacts").style.zIndex = 420;
map.createPane("sensors").style.zIndex = 450;
const baseRenderer = L.canvas({ pane: "basemap", padding: 0.5 });
const coverageRenderer = L.canvas({ pane: "coverage", padding: 0.3 });
const areaRenderer = L.svg({ pane: "areas", padding: 0.3 });
const impactRenderer = L.svg({ pane: "impacts", padding: 0.3 });

const graticule = L.layerGroup().addTo(map);
function drawGraticule() {
  const lines = [];
  for (let lat = -80; lat <= 80; lat += 10) lines.push([[lat, LON_MIN], [lat, LON_MIN + 360]]);
  for (let lon = LON_MIN + 5; lon <= LON_MIN + 360; lon += 10) lines.push([[-85, lon], [85, lon]]);
  L.polyline(lines, { renderer: baseRenderer, color: "#1c3142", weight: 0.6, interactive: false }).addTo(graticule);
}

async function loadBasemap() {
  const topo = await (await fetch("static/countries-50m.json")).json();
  const land = feature(topo, topo.objects.land);
  const polys = [];
  for (const f of land.features || [land]) {
    for (const rings of placeGeometry(f.geometry)) polys.push(toLatLngs(rings));
  }
  L.polygon(polys, { renderer: baseRenderer, stroke: false, fillColor: "#1d2a36", fillOpacity: 1, interactive: false, smoothFactor: 0.6 }).addTo(map);
  const coast = mesh(topo, topo.objects.land);
  const borders = mesh(topo, topo.objects.countries, (a, b) => a !== b);
  const asLines = (m) => m.coordinates.filter((l) => l.length > 1).map((l) => placeLine(l).map((p) => [p[1], p[0]]));
  L.polyline(asLines(coast), { renderer: baseRenderer, color: "#5b7a91", weight: 1, interactive: false, smoothFactor: 0.6 }).addTo(map);
  L.polyline(asLines(borders), { renderer: baseRenderer, color: "#6f6a86", weight: 0.8, dashArray: "4 3", interactive: false, smoothFactor: 0.6 }).addTo(map);
  let maxLonStep = 0;
  const steps = (rings) => {
    // Edges along a pole (closing Antarctica) lie outside the Mercator map and do not count.
    for (const ring of rings) {
      for (let i = 1; i < ring.length; i++) {
        if (Math.abs(ring[i][0]) >= 89.9 && Math.abs(ring[i - 1][0]) >= 89.9) continue;
        maxLonStep = Math.max(maxLonStep, Math.abs(ring[i][1] - ring[i - 1][1]));
      }
    }
  };
  for (const p of polys) steps(p);
  steps(asLines(coast));
  steps(asLines(borders));
  window.__airpicture.basemap = { polygons: polys.length, maxLonStep };
}

const trackLayer = new TrackLayer(map, state);
let tools = null; // the map tools (initTools), once the page has its info
window.__airpicture.map = map;
window.__airpicture.trackLayer = trackLayer;
window.__airpicture.geo = { unwrapRing, placeGeometry, placeLine, encirclesPole, normLon, nearLon, LON_MIN };

// ------------------------------------------------------------------------------------ overlays
const sensorLayer = L.layerGroup().addTo(map);
const coverageLayer = L.layerGroup().addTo(map);
const areaLayer = L.layerGroup().addTo(map);
const impactLayer = L.layerGroup().addTo(map);
const historyLayer = L.layerGroup().addTo(map);

function nationColour(code) {
  return state.colours[code] || "#bbbbbb";
}

function drawSensors() {
  sensorLayer.clearLayers();
  coverageLayer.clearLayers();
  const centre = map.getCenter().lng;
  for (const s of state.sensors) {
    const feeds = s.views.length === 0 || s.views.includes(state.nation);
    const colour = nationColour(s.nation);
    const lon = nearLon(s.lon, centre);
    if (state.layers.coverage && feeds) {
      L.polygon(coverageLatLngs(s.lat, lon, s.max_range_m, s.sector_deg), {
        renderer: coverageRenderer,
        color: colour,
        weight: 1,
        opacity: 0.4,
        fillColor: colour,
        fillOpacity: 0.025,
        dashArray: s.kind === "ir" ? "2 4" : null,
        interactive: false,
      }).addTo(coverageLayer);
    }
    const glyph = s.kind === "ir" ? "◆" : s.platform === "ship" ? "▼" : s.platform === "airborne" ? "✈" : "▲";
    const icon = L.divIcon({
      className: `sensor-icon${feeds ? "" : " sensor-off"}`,
      html: `<span style="color:${colour}">${glyph}</span><b>${s.sensor_id}</b>`,
      iconSize: null,
      iconAnchor: [6, 8],
    });
    L.marker([s.lat, lon], { icon, pane: "sensors", keyboard: false, title: `${s.sensor_id} (${s.nation} ${s.kind}${feeds ? "" : ", not released to " + state.nation})` }).addTo(sensorLayer);
  }
}

// What the view's picture does not receive: the sensors whose detections do not reach it.
function renderFeeds() {
  const el = $("#view-feeds");
  const n = state.nation;
  const known = state.sensors.filter((s) => s.views.length);
  const missing = known.filter((s) => !s.views.includes(n)).map((s) => s.sensor_id);
  let list = "";
  let note = "";
  if (missing.length) {
    list = `${n}: no plots from ${missing.join(", ")}`;
    if (THREAT_TRACK_RELEASES.has(state.info.release)) note = "(tracks of threats only)";
  } else if (known.length) list = `${n}: receives every sensor's plots`;
  el.innerHTML = `<span class="feeds-list">${esc(list)}</span>${note ? ` <span class="feeds-note">${esc(note)}</span>` : ""}`;
  el.title = note ? `${list} ${note}` : list;
  el.classList.toggle("missing", missing.length > 0);
}

function activeAreaIds() {
  const ids = new Set();
  for (const a of state.alerts.values()) if (a.state === "active") ids.add(a.area_id);
  return ids;
}

function drawAreas() {
  areaLayer.clearLayers();
  if (!state.areas || !state.layers.areas) return;
  const active = activeAreaIds();
  for (const f of state.areas.features) {
    const id = f.properties.id;
    const alert = active.has(id);
    const polys = placeGeometry(f.geometry).map(toLatLngs);
    L.polygon(polys, {
      renderer: areaRenderer,
      className: `area area-id-${String(id).replace(/[^A-Za-z0-9_-]/g, "_")}${alert ? " area-alert" : ""}`,
      color: alert ? "#ff4d4d" : "#c9a227",
      weight: alert ? 2.5 : 1.2,
      dashArray: alert ? null : "6 4",
      fillColor: alert ? "#ff3030" : "#c9a227",
      fillOpacity: alert ? 0.28 : 0.05,
      interactive: false, // the hover block names the area (a tooltip would cover the tracks in it)
    }).addTo(areaLayer);
  }
  window.__airpicture.areasDrawn = { total: state.areas.features.length, alerting: [...active] };
}

// Impact ellipses longer than this (semi-major axis, m) are drawn as faint outlines.
const UNCERTAIN_ELLIPSE_M = 100e3;

function drawImpacts() {
  impactLayer.clearLayers();
  const centre = map.getCenter().lng;
  for (const imp of state.impacts.values()) {
    const lon = nearLon(imp.impact_lon, centre);
    // An early prediction can spread over half the sea: outline it faintly so it informs
    // without hiding the picture underneath.
    const uncertain = imp.semi_major_m > UNCERTAIN_ELLIPSE_M;
    L.polygon(ellipseLatLngs(imp.impact_lat, lon, imp.semi_major_m, imp.semi_minor_m, imp.orientation_deg), {
      renderer: impactRenderer,
      className: uncertain ? "impact-ellipse uncertain" : "impact-ellipse",
      color: "#ff9f1a",
      weight: uncertain ? 1 : 2,
      dashArray: uncertain ? "6 6" : null,
      opacity: uncertain ? 0.6 : 1,
      fillColor: "#ff9f1a",
      fillOpacity: uncertain ? 0.03 : 0.18,
    })
      .bindTooltip(
        `Impact ${imp.track_id} · ${Math.round(imp.confidence * 100)} % · ${fmtTime(imp.impact_t_s)}` +
          (uncertain ? ` · uncertain (${(imp.semi_major_m / 1000).toFixed(0)} km)` : ""),
        { className: "tip" },
      )
      .addTo(impactLayer);
    L.circleMarker([imp.impact_lat, lon], { renderer: impactRenderer, radius: 3, color: "#ff9f1a", fillOpacity: 1 }).addTo(impactLayer);
    if (imp.launch_lat != null && imp.launch_lon != null) {
      const llon = nearLon(imp.launch_lon, lon);
      L.polyline([[imp.launch_lat, llon], [imp.impact_lat, lon]], { renderer: impactRenderer, color: "#ff9f1a", weight: 1, dashArray: "3 5", opacity: 0.8 }).addTo(impactLayer);
      L.circleMarker([imp.launch_lat, llon], { renderer: impactRenderer, radius: 5, color: "#ff9f1a", weight: 2, fill: false })
        .bindTooltip(`Launch point ${imp.track_id}${imp.launch_t_s ? " · " + fmtTime(imp.launch_t_s) : ""}`, { className: "tip" })
        .addTo(impactLayer);
    }
  }
}

// ------------------------------------------------------------------------------------ picture
function addTrailPoint(rec) {
  let tr = state.trails.get(rec.id);
  if (!tr) {
    tr = { lon: [], lat: [], t: [] };
    state.trails.set(rec.id, tr);
  }
  const n = tr.t.length;
  if (n && rec.t - tr.t[n - 1] < TRAIL_STEP_S) return;
  const lon = n ? nearLon(rec.lon, tr.lon[n - 1]) : rec.lon;
  tr.lon.push(lon);
  tr.lat.push(rec.lat);
  tr.t.push(rec.t);
  let drop = 0;
  while (drop < tr.t.length && tr.t[drop] < rec.t - state.trailS) drop++;
  if (drop) {
    tr.lon.splice(0, drop);
    tr.lat.splice(0, drop);
    tr.t.splice(0, drop);
  }
}

function applySnapshot(msg) {
  state.tracks.clear();
  state.trails.clear();
  state.impacts.clear();
  state.alerts.clear();
  for (const rec of msg.tracks) state.tracks.set(rec.id, rec);
  for (const [id, flat] of Object.entries(msg.trails || {})) {
    const tr = { lon: [], lat: [], t: [] };
    let prev = null;
    for (let i = 0; i < flat.length; i += 2) {
      const lon = prev == null ? flat[i] : nearLon(flat[i], prev);
      tr.lon.push(lon);
      tr.lat.push(flat[i + 1]);
      tr.t.push(-Infinity); // times are not sent for snapshot trails; they age out as new points come
      prev = lon;
    }
    state.trails.set(id, tr);
  }
  for (const imp of msg.impacts || []) state.impacts.set(imp.track_id, imp);
  for (const a of msg.alerts || []) state.alerts.set(a.alert_id, a);
  state.tS = msg.t_s;
  state.viewPending = false;
  if (msg.t_min != null) state.tMin = msg.t_min;
  if (msg.live) state.tLive = msg.t_s;
  state.stats.snapshots++;
  if (msg.live) state.lastDataAt = performance.now();
  if (msg.live) loadAlertLog();
  refreshAll();
}

function applyDelta(msg) {
  state.stats.deltas++;
  state.lastDataAt = performance.now();
  if (msg.t_s != null) state.tLive = Math.max(state.tLive || 0, msg.t_s);
  if (state.tMin == null && msg.t_s != null) state.tMin = msg.t_s;
  noteAlerts(msg.alerts || []); // a new alert is announced whatever time is shown
  if (state.mode !== "live") {
    if (msg.alerts) renderAlerts();
    updateTimeBar();
    return;
  }
  for (const rec of msg.tracks || []) {
    state.tracks.set(rec.id, rec);
    addTrailPoint(rec);
  }
  for (const id of msg.deleted || []) {
    state.tracks.delete(id);
    state.trails.delete(id);
  }
  let overlays = false;
  for (const imp of msg.impacts || []) {
    state.impacts.set(imp.track_id, imp);
    overlays = true;
  }
  for (const id of msg.impacts_removed || []) {
    state.impacts.delete(id);
    overlays = true;
  }
  for (const a of msg.alerts || []) {
    state.alerts.set(a.alert_id, a);
    overlays = true;
  }
  if (msg.t_s != null) state.tS = msg.t_s;
  if (overlays) {
    drawImpacts();
    drawAreas();
    renderAlerts();
  }
  trackLayer.request();
  scheduleTable();
}

// ------------------------------------------------------------------------------------ WebSocket
let socket = null;
let retryMs = 500;
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/ws?nation=${encodeURIComponent(state.nation)}`);
  socket.onopen = () => {
    state.connected = true;
    retryMs = 500;
    updateStatus();
  };
  socket.onmessage = (ev) => {
    state.stats.messages++;
    state.stats.bytes += ev.data.length;
    const msg = JSON.parse(ev.data);
    onOperatorMessage(msg);
    if (msg.type === "snapshot") {
      if (msg.nation !== state.nation) return;
      if (state.mode === "live") applySnapshot(msg);
      else {
        state.tLive = msg.t_s;
        updateTimeBar();
      }
    } else if (msg.type === "delta") {
      if (msg.nation === state.nation) applyDelta(msg);
    } else if (msg.type === "sensors") {
      state.sensors = msg.sensors;
      drawSensors();
      renderFeeds();
    } else if (msg.type === "areas") {
      state.areas = msg.areas;
      drawAreas();
    } else if (msg.type === "error") {
      console.warn("server:", msg.error && msg.error.message);
    }
  };
  socket.onclose = () => {
    state.connected = false;
    updateStatus();
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

function send(obj) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
}

// ------------------------------------------------------------------------------------ formatting
// A record's sources (`JPN:plots;AUS:track`) as [nation, what] pairs.
function sourcesOf(rec) {
  return rec.src ? rec.src.split(";").map((entry) => entry.split(":")) : [];
}
// One readable line per source, as the view's nation sees it.
function sourceLine([who, what]) {
  if (what === "plots") return `${who} — ${who === state.nation ? "own plots" : "plots"}`;
  if (what === "track") return `${who} — shared track`;
  return `${who} — ${what}`;
}
// The table's short form: plots by nation, a partner's shared track marked ⇄.
function sourceShort([who, what]) {
  return what === "track" ? `⇄${who}` : who;
}

// ------------------------------------------------------------------------------------ panels
function updateStatus() {
  const el = $("#conn");
  el.textContent = state.connected ? "LINK" : "NO LINK";
  el.className = state.connected ? "pill ok" : "pill bad";
}

function updateCounts() {
  let confirmed = 0;
  let tentative = 0;
  let coasting = 0;
  for (const r of state.tracks.values()) {
    if (r.st === "confirmed") confirmed++;
    else if (r.st === "tentative") tentative++;
    else if (r.st === "coasting") coasting++;
  }
  let shown = 0;
  for (const r of state.tracks.values()) if (state.passes(r)) shown++;
  $("#counts").innerHTML = `<b data-testid="track-count">${shown}</b> tracks · ${confirmed} confirmed · ${coasting} coasting · ${tentative} tentative${state.layers.tentative ? "" : " (hidden)"}`;
}

function sortedFilteredTracks() {
  const out = [];
  for (const r of state.tracks.values()) if (state.passes(r)) out.push(r);
  const { key, dir } = state.sort;
  out.sort((a, b) => {
    const va = a[key];
    const vb = b[key];
    if (va == null && vb == null) return 0;
    if (va == null) return 1;
    if (vb == null) return -1;
    return (va < vb ? -1 : va > vb ? 1 : 0) * dir;
  });
  return out;
}

let tableTimer = null;
function scheduleTable() {
  if (tableTimer) return;
  tableTimer = setTimeout(() => {
    tableTimer = null;
    renderTable();
    renderDetails();
    renderAlerts(); // the times to impact count down
    updateCounts();
    updateTimeBar();
  }, 400);
}

function renderTable() {
  const rows = sortedFilteredTracks();
  const body = $("#track-rows");
  const shown = rows.slice(0, TABLE_LIMIT);
  body.innerHTML = shown
    .map((r) => {
      const flags = flagsOf(r);
      const cls = `${r.id === state.selected ? "sel " : ""}st-${r.st} id-${identityOf(r)}${r.em ? " em" : ""}${flags.length ? " flagged" : ""}`;
      const e95 = positionError95(r);
      const q = `<td class="n q" title="${esc([r.tq != null ? `track quality ${r.tq}/15` : "", e95 != null ? `95 % position ±${fmtDist(e95)}` : "", ...flags.map((f) => FLAG_TEXT[f])].filter(Boolean).join("\n"))}">${r.tq ?? ""}${flags.length ? `<span class="flag">⚠${esc(flags.join(" "))}</span>` : ""}</td>`;
      const src = sourcesOf(r);
      const sq = r.sq ? `<span title="${esc(r.em ? "emergency: " + r.em : "squawk")}">${esc(r.sq)}</span>` : "";
      return `<tr class="${cls}" data-id="${esc(r.id)}"><td>${esc(r.id)}</td><td data-testid="row-callsign">${esc(r.cs || "")}</td><td class="sq">${sq}</td><td>${esc(r.kind)}</td><td>${esc(r.st)}</td><td class="n">${num(altValue(r.alt), units.alt === "ft" ? 0 : 1)}</td><td class="n">${num(spdValue(r.spd))}</td><td class="n">${num(r.crs)}</td><td>${esc(r.nat)}</td><td title="${esc(src.map(sourceLine).join("\n"))}">${esc(src.map(sourceShort).join(" "))}</td>${q}</tr>`;
    })
    .join("");
  $("#table-note").textContent = rows.length > TABLE_LIMIT ? `showing ${TABLE_LIMIT} of ${rows.length} — filter to narrow` : `${rows.length} shown`;
  $("#track-table th[data-key=alt]").textContent = `Alt ${altUnit()}`;
  $("#track-table th[data-key=spd]").textContent = spdUnit();
  for (const th of document.querySelectorAll("#track-table th")) {
    th.classList.toggle("sorted", th.dataset.key === state.sort.key);
    th.dataset.dir = th.dataset.key === state.sort.key ? (state.sort.dir > 0 ? "▲" : "▼") : "";
  }
}

function renderDetails() {
  const panel = $("#details");
  const rec = state.selected ? state.tracks.get(state.selected) : null;
  if (!state.selected) {
    panel.classList.add("empty");
    panel.innerHTML = `<div class="hint">Select a track on the map or in the table.</div>`;
    return;
  }
  panel.classList.remove("empty");
  if (!rec) {
    // The selection stays: the track is selected again in a view (or at a time) that holds it.
    const where = `${esc(state.nation)}'s picture`;
    panel.innerHTML = state.viewPending
      ? `<div class="hint">Waiting for ${where}…</div>`
      : `<div class="hint" data-testid="details-missing"><b>${esc(state.selected)}</b> is not held in ${where}${state.mode === "live" ? "" : ` at ${fmtTime(state.tS)}`}.</div>`;
    return;
  }
  const idn = identityOf(rec);
  const imp = state.impacts.get(rec.id);
  const age = state.tS != null && rec.t != null ? Math.max(0, state.tS - rec.t) : null;
  let impactHtml = "";
  if (imp) {
    const tgo = state.tS != null ? imp.impact_t_s - state.tS : null;
    impactHtml = `<h4>Predicted impact</h4><dl>
      <dt>Point</dt><dd>${fmtLatLon(imp.impact_lat, imp.impact_lon)}</dd>
      <dt>Time</dt><dd>${fmtTime(imp.impact_t_s)}${tgo != null ? ` (T${tgo >= 0 ? "−" : "+"}${Math.abs(tgo).toFixed(0)} s)` : ""}</dd>
      <dt>Ellipse ${Math.round(imp.confidence * 100)} %</dt><dd>${(imp.semi_major_m / 1000).toFixed(1)} × ${(imp.semi_minor_m / 1000).toFixed(1)} km @ ${imp.orientation_deg.toFixed(0)}°</dd>
      ${imp.launch_lat != null ? `<dt>Launch point</dt><dd>${fmtLatLon(imp.launch_lat, imp.launch_lon)}${imp.launch_t_s ? " " + fmtTime(imp.launch_t_s) : ""}</dd>` : ""}
    </dl>`;
  }
  panel.innerHTML = `
    <div class="det-head"><span class="sym">${symbolSvg(sidcOf(rec), 26)}</span>
      <div><div class="det-id" data-testid="details-id">${esc(rec.id)}</div>
      <div class="det-sub">${esc(rec.kind)} · ${esc(IDENTITY_NAMES[idn] || idn)} · <span class="st-${rec.st}">${esc(rec.st)}</span></div></div>
      <button id="det-close" title="Close">✕</button></div>
    ${flagsOf(rec).length ? `<div class="det-flags" data-testid="details-flags">⚠ ${flagsOf(rec).map((f) => esc(FLAG_TEXT[f])).join("; ")}</div>` : ""}
    ${rec.em ? `<div class="det-emergency" data-testid="details-emergency">EMERGENCY · ${esc(rec.em)} · squawk ${esc(rec.sq || "—")}</div>` : ""}
    <dl>
      ${rec.cs ? `<dt>Callsign</dt><dd data-testid="details-callsign">${esc(rec.cs)}</dd>` : ""}
      ${rec.sq ? `<dt>Squawk</dt><dd data-testid="details-squawk">${esc(rec.sq)}</dd>` : ""}
      ${rec.ms ? `<dt>Mode S</dt><dd data-testid="details-modes">${esc(rec.ms)}</dd>` : ""}
      <dt>Position</dt><dd>${fmtLatLon(rec.lat, rec.lon)}</dd>
      <dt>Altitude</dt><dd>${fmtAlt(rec.alt)} (±${fmtAlt(rec.sz)})</dd>
      <dt>Course / speed</dt><dd>${num(rec.crs)}° / ${fmtSpd(rec.spd)}</dd>
      <dt>Vertical speed</dt><dd>${num(rec.vz)} m/s</dd>
      <dt>Position 95 %</dt><dd>${rec.sa == null ? "—" : `${num(rec.sa * 2.4477)} × ${num(rec.sb * 2.4477)} m @ ${num(rec.ori)}°`}</dd>
      <dt>Contributing</dt><dd>${esc(rec.nat || "—")}</dd>
      ${rec.src ? `<dt>Sources</dt><dd data-testid="details-sources">${sourcesOf(rec).map((s) => esc(sourceLine(s))).join("<br>")}</dd>` : ""}
      ${rec.tq != null ? `<dt>Quality</dt><dd data-testid="details-tq">TQ ${rec.tq}/15</dd>` : ""}
      ${rec.lid ? `<dt>Local track</dt><dd data-testid="details-lid">${esc(rec.lid)}</dd>` : ""}
      <dt>Last update</dt><dd>${fmtTime(rec.t)}${age != null ? ` (${age.toFixed(0)} s ago)` : ""}</dd>
    </dl>${impactHtml}
    <div class="det-actions"><button id="det-centre">Centre</button><button id="det-history">Full history</button></div>`;
  $("#det-close").onclick = () => select(null);
  $("#det-centre").onclick = () => map.panTo([rec.lat, nearLon(rec.lon, map.getCenter().lng)]);
  $("#det-history").onclick = () => showHistory(rec.id);
}

async function showHistory(id) {
  historyLayer.clearLayers();
  const res = await fetch(`api/tracks/${encodeURIComponent(id)}/history?nation=${encodeURIComponent(state.nation)}`);
  if (!res.ok) return;
  const data = await res.json();
  let prev = null;
  const pts = data.rows.map((r) => {
    const lon = prev == null ? nearLon(r.lon, map.getCenter().lng) : nearLon(r.lon, prev);
    prev = lon;
    return [r.lat, lon];
  });
  L.polyline(pts, { color: "#4fd1ff", weight: 2, opacity: 0.9, dashArray: "1 4", interactive: false }).addTo(historyLayer);
}

function select(id) {
  state.selected = id;
  if (id == null) historyLayer.clearLayers();
  renderDetails();
  renderTrackActions();
  renderTable();
  trackLayer.request();
}
window.__airpicture.select = select;

function refreshAll() {
  trackLayer.request();
  drawImpacts();
  drawAreas();
  renderAlerts();
  renderTable();
  renderDetails();
  updateCounts();
  updateTimeBar();
}

// ------------------------------------------------------------------------------------ time
function updateTimeBar() {
  const slider = $("#scrub");
  const lo = state.tMin;
  const hi = state.tLive;
  if (lo != null && hi != null) {
    slider.min = String(lo);
    slider.max = String(Math.max(hi, lo + 1));
    if (!slider.matches(":active")) slider.value = String(state.mode === "live" ? hi : state.replayT ?? hi);
  }
  const t = state.mode === "live" ? state.tS : state.replayT;
  // When the input has ended the live picture no longer moves: the header says so.
  const ended = state.info && state.info.status === "finished";
  $("#clock").textContent = fmtTime(t);
  $("#date").textContent = ended && state.mode === "live" ? "input ended" : fmtDate(t);
  const behind = state.mode !== "live" && hi != null && t != null ? hi - t : 0;
  // A feed that says nothing of its end: a live picture no update has reached for a while.
  const quiet = state.lastDataAt == null ? 0 : (performance.now() - state.lastDataAt) / 1000;
  const stale = !ended && state.connected && quiet > STALE_S;
  const live = ended ? "INPUT ENDED" : stale ? `LIVE · NO DATA ${quiet.toFixed(0)} s` : "LIVE";
  $("#mode").textContent = state.mode === "live" ? live : state.mode === "paused" ? `PAUSED −${behind.toFixed(0)} s` : `REPLAY ×${state.speed} −${behind.toFixed(0)} s`;
  $("#mode").className = `pill ${state.mode === "live" ? (ended ? "ended" : stale ? "warn" : "ok") : "warn"}`;
  $("#play").textContent = state.mode === "replay" || state.mode === "live" ? "❚❚" : "▶";
  $("#play").title = state.mode === "paused" ? "Play back from here" : "Pause";
}

let fetchBusy = false;
let fetchNext = null; // a time asked for while a fetch was under way: fetched after it
async function fetchPictureAt(t) {
  if (fetchBusy) {
    fetchNext = t;
    return;
  }
  fetchBusy = true;
  try {
    const res = await fetch(`api/picture?nation=${encodeURIComponent(state.nation)}&t_s=${t}`);
    if (res.ok) {
      const snap = await res.json();
      if (state.mode !== "live" && snap.nation === state.nation) {
        const live = state.tLive;
        applySnapshot(snap);
        state.tLive = live;
        updateTimeBar();
      }
    }
  } finally {
    fetchBusy = false;
    if (fetchNext != null) {
      const next = fetchNext;
      fetchNext = null;
      fetchPictureAt(next);
    }
  }
}

function goLive() {
  state.mode = "live";
  state.replayT = null;
  state.speed = 1; // a replay starts at ×1 again
  $("#speed").value = "1";
  send({ type: "view", nation: state.nation });
  updateTimeBar();
}

function pause() {
  state.mode = "paused";
  state.replayT = state.tS;
  updateTimeBar();
}

let lastTick = null;
function replayTick(now) {
  if (state.mode === "replay") {
    if (lastTick != null) {
      state.replayT += ((now - lastTick) / 1000) * state.speed;
      if (state.tLive != null && state.replayT >= state.tLive) {
        goLive();
      } else {
        fetchPictureAt(state.replayT);
        updateTimeBar();
      }
    }
    lastTick = now;
  } else lastTick = null;
  setTimeout(() => replayTick(performance.now()), 250);
}

// ------------------------------------------------------------------------------------ UI wiring
function buildNationSelector() {
  const box = $("#nations");
  box.innerHTML = state.nations
    .map((n) => `<button class="nation" data-nation="${esc(n)}" style="--c:${nationColour(n)}" title="The picture as ${esc((state.info.nation_names || {})[n] || n)} holds it">${esc(n)}</button>`)
    .join("");
  box.onclick = (ev) => {
    const btn = ev.target.closest("button[data-nation]");
    if (btn) setNation(btn.dataset.nation);
  };
  markNation();
}

function markNation() {
  for (const b of document.querySelectorAll("#nations button")) b.classList.toggle("active", b.dataset.nation === state.nation);
  $("#view-label").textContent = `${(state.info.nation_names || {})[state.nation] || state.nation} picture`;
  renderFeeds();
}

function setNation(n) {
  if (n === state.nation) return;
  state.nation = n;
  state.tracks.clear();
  state.trails.clear();
  state.viewPending = true;
  historyLayer.clearLayers();
  markNation();
  drawSensors();
  if (state.mode === "live") send({ type: "view", nation: n });
  else fetchPictureAt(state.replayT);
  state.alertLog.clear();
  state.alertLogReady = false;
  loadAlertLog();
  refreshAll();
  const url = new URL(location.href);
  url.searchParams.set("nation", n);
  history.replaceState(null, "", url);
}

function wire() {
  $("#track-rows").onclick = (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    if (tr) select(tr.dataset.id);
  };
  $("#track-rows").ondblclick = (ev) => {
    const tr = ev.target.closest("tr[data-id]");
    const rec = tr && state.tracks.get(tr.dataset.id);
    if (rec) map.panTo([rec.lat, nearLon(rec.lon, map.getCenter().lng)]);
  };
  for (const th of document.querySelectorAll("#track-table th")) {
    th.onclick = () => {
      const key = th.dataset.key;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      renderTable();
    };
  }
  $("#filter").oninput = (ev) => {
    state.filter = ev.target.value;
    renderTable();
  };
  $("#alerts").onclick = (ev) => {
    const ack = ev.target.closest("button[data-ack]");
    if (ack) return acknowledgeAlert(state.nation, ack.dataset.ack);
    const li = ev.target.closest("li[data-track]");
    if (!li) return;
    select(li.dataset.track);
    // Frame the area, the missile and its predicted impact together.
    const centre = map.getCenter().lng;
    const bounds = L.latLngBounds([]);
    const f = state.areas && state.areas.features.find((x) => x.properties.id === li.dataset.area);
    if (f) bounds.extend(L.polygon(placeGeometry(f.geometry).map(toLatLngs)).getBounds());
    const rec = state.tracks.get(li.dataset.track);
    if (rec) bounds.extend([rec.lat, nearLon(rec.lon, centre)]);
    const imp = state.impacts.get(li.dataset.track);
    if (imp) bounds.extend([imp.impact_lat, nearLon(imp.impact_lon, centre)]);
    if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 8, padding: [60, 60] });
  };
  wireFilters();
  const toggles = { "lay-trails": "trails", "lay-leaders": "leaders", "lay-coverage": "coverage", "lay-areas": "areas", "lay-tentative": "tentative", "lay-labels": "labels" };
  for (const [id, key] of Object.entries(toggles)) {
    const el = document.getElementById(id);
    el.checked = state.layers[key];
    el.onchange = () => {
      state.layers[key] = el.checked;
      if (key === "coverage") drawSensors();
      if (key === "areas") drawAreas();
      trackLayer.request();
      scheduleTable();
    };
  }
  $("#lay-ellipses").value = state.layers.ellipses;
  $("#lay-ellipses").onchange = (ev) => {
    state.layers.ellipses = ev.target.value;
    trackLayer.request();
  };
  $("#leader").value = String(state.leaderS);
  $("#leader").onchange = (ev) => {
    state.leaderS = Number(ev.target.value);
    trackLayer.request();
  };
  $("#play").onclick = () => {
    if (state.mode === "live" || state.mode === "replay") pause();
    else {
      state.mode = "replay";
      updateTimeBar();
    }
  };
  $("#live").onclick = goLive;
  $("#speed").onchange = (ev) => {
    state.speed = Number(ev.target.value);
    updateTimeBar();
  };
  $("#scrub").oninput = (ev) => {
    const t = Number(ev.target.value);
    if (state.tLive != null && t >= state.tLive - 0.5) {
      goLive();
      return;
    }
    if (state.mode === "live") state.mode = "paused";
    state.replayT = t;
    updateTimeBar();
    fetchPictureAt(t);
  };
  map.on("moveend", () => {
    // Shapes are placed near the view centre; re-place them when it moves far.
    drawSensors();
    drawImpacts();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
    if (ev.key === " ") {
      ev.preventDefault();
      $("#play").click();
    } else if (ev.key === "Escape") select(null);
  });
}

// The map's and the table's filters, and the units.
function wireFilters() {
  const opts = (entries) => `<option value="">any</option>${entries.map(([v, label]) => `<option value="${esc(v)}">${esc(label)}</option>`).join("")}`;
  $("#f-kind").innerHTML = opts(Object.entries(KIND_FILTERS).map(([k, v]) => [k, v.label]));
  $("#f-nation").innerHTML = opts(state.nations.map((n) => [n, n]));
  $("#f-alt").innerHTML = opts(Object.entries(ALT_BANDS).map(([k, v]) => [k, v.label]));
  $("#f-idn").innerHTML = opts(Object.entries(IDENTITY_NAMES).map(([k, v]) => [k, v]));
  for (const key of ["kind", "nation", "alt", "idn"]) {
    $(`#f-${key}`).onchange = (ev) => {
      state.filters[key] = ev.target.value;
      trackLayer.request();
      renderTable();
      updateCounts();
    };
  }
  for (const key of ["alt", "spd"]) {
    $(`#unit-${key}`).value = units[key];
    $(`#unit-${key}`).onchange = (ev) => {
      setUnits({ [key]: ev.target.value });
      tools.updateScale();
      trackLayer.request();
      renderTable();
      renderDetails();
    };
  }
}

// Whether the input has ended (the demo's status in /api/info), asked while the page is open.
async function pollInfo() {
  try {
    const res = await fetch("api/info");
    if (res.ok) {
      state.info = await res.json();
      updateTimeBar();
    }
  } finally {
    setTimeout(pollInfo, INFO_POLL_MS);
  }
}

// ------------------------------------------------------------------------------------ boot
async function boot() {
  state.operator = await ensureLogin(); // null on an open map
  const info = await (await fetch("api/info")).json();
  state.info = info;
  state.nations = info.nations;
  info.nations.forEach((n, i) => {
    state.colours[n] = (info.nation_colours || {})[n] || NATION_COLOURS[i % NATION_COLOURS.length];
  });
  const wanted = new URL(location.href).searchParams.get("nation");
  state.nation = info.nations.includes(wanted) ? wanted : info.default_nation && info.nations.includes(info.default_nation) ? info.default_nation : info.nations[0];
  document.title = `airpicture — ${info.title || "common operational picture"}`;
  $("#scenario").textContent = info.scenario ? `${info.scenario}` : "";
  if (info.center) map.setView([info.center[0], info.center[1]], info.zoom || 5);
  drawGraticule();
  // actions change the alert list, and an assigned identity the symbols and the table
  initOperators(state, () => {
    renderAlerts();
    scheduleTable();
    trackLayer.request();
  });
  initAlerts(state);
  window.__airpicture.areaAt = areaFinder(state, activeAreaIds);
  tools = initTools({ map, state, trackLayer, select, areaAt: window.__airpicture.areaAt });
  buildNationSelector();
  wire();
  updateStatus();
  const [sensors, areas] = await Promise.all([fetch("api/sensors").then((r) => r.json()), fetch("api/areas").then((r) => r.json())]);
  state.sensors = sensors.sensors;
  state.areas = areas;
  drawSensors();
  renderFeeds();
  drawAreas();
  connect();
  loadAlertLog();
  setTimeout(pollInfo, INFO_POLL_MS);
  replayTick(performance.now());
  await loadBasemap();
  document.body.dataset.ready = "1";
}

boot().catch((err) => {
  console.error(err);
  $("#counts").textContent = `Failed to start: ${err}`;
});
