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
import { IDENTITY_NAMES, identityOf, sidcOf, symbolSvg } from "./symbols.js";
import { TrackLayer } from "./tracklayer.js";

const $ = (sel) => document.querySelector(sel);
const NATION_COLOURS = ["#ffb347", "#7fb8ff", "#8be28b", "#e59cff", "#ffd966", "#7ee0d0"];
const TRAIL_STEP_S = 5;
const TABLE_LIMIT = 200;
const CANCELLED_SHOWN_S = 120; // a cancelled alert stays in the list this long (picture time)
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
  sort: { key: "id", dir: 1 },
  connected: false,
  stats: { messages: 0, deltas: 0, snapshots: 0, lastDrawMs: 0, drawn: 0, bytes: 0 },
  passes(rec) {
    return this.layers.tentative || rec.st !== "tentative";
  },
};
window.__airpicture = { state };

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
    })
      .bindTooltip(`${f.properties.name}${alert ? " — ALERT" : ""}`, { sticky: true, className: "tip" })
      .addTo(areaLayer);
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
  refreshAll();
}

function applyDelta(msg) {
  state.stats.deltas++;
  if (msg.t_s != null) state.tLive = Math.max(state.tLive || 0, msg.t_s);
  if (state.tMin == null && msg.t_s != null) state.tMin = msg.t_s;
  if (state.mode !== "live") {
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
    state.alerts.set(a.alert_id, a); // cancelled ones are listed for a while, then forgotten
    overlays = true;
  }
  for (const [id, a] of state.alerts) {
    if (a.state !== "active" && msg.t_s != null && a.t_s < msg.t_s - CANCELLED_SHOWN_S) state.alerts.delete(id);
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
function fmtTime(t) {
  if (t == null) return "—";
  return new Date(t * 1000).toISOString().slice(11, 19) + "Z";
}
function fmtDate(t) {
  if (t == null) return "—";
  return new Date(t * 1000).toISOString().slice(0, 10);
}
function fmtLatLon(lat, lon) {
  const ns = lat >= 0 ? "N" : "S";
  const l = ((((lon + 180) % 360) + 360) % 360) - 180;
  const ew = l >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(4)}°${ns} ${Math.abs(l).toFixed(4)}°${ew}`;
}
const num = (v, d = 0) => (v == null ? "—" : v.toFixed(d));
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

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
  const shown = confirmed + coasting + (state.layers.tentative ? tentative : 0);
  $("#counts").innerHTML = `<b data-testid="track-count">${shown}</b> tracks · ${confirmed} confirmed · ${coasting} coasting · ${tentative} tentative${state.layers.tentative ? "" : " (hidden)"}`;
}

function sortedFilteredTracks() {
  const q = state.filter.trim().toLowerCase();
  const out = [];
  for (const r of state.tracks.values()) {
    if (!state.passes(r)) continue;
    if (q) {
      const hay = `${r.id} ${r.kind} ${r.st} ${r.nat} ${r.src} ${r.lid} ${IDENTITY_NAMES[identityOf(r)]} ${r.cs || ""} ${r.sq || ""} ${r.ms || ""} ${r.em ? "emergency " + r.em : ""}`.toLowerCase();
      if (!q.split(/\s+/).every((w) => hay.includes(w))) continue;
    }
    out.push(r);
  }
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
      const cls = `${r.id === state.selected ? "sel " : ""}st-${r.st} id-${identityOf(r)}${r.em ? " em" : ""}`;
      const src = sourcesOf(r);
      const sq = r.sq ? `<span title="${esc(r.em ? "emergency: " + r.em : "squawk")}">${esc(r.sq)}</span>` : "";
      return `<tr class="${cls}" data-id="${esc(r.id)}"><td>${esc(r.id)}</td><td data-testid="row-callsign">${esc(r.cs || "")}</td><td class="sq">${sq}</td><td>${esc(r.kind)}</td><td>${esc(r.st)}</td><td class="n">${num(r.alt == null ? null : r.alt / 1000, 1)}</td><td class="n">${num(r.spd)}</td><td class="n">${num(r.crs)}</td><td>${esc(r.nat)}</td><td title="${esc(src.map(sourceLine).join("\n"))}">${esc(src.map(sourceShort).join(" "))}</td></tr>`;
    })
    .join("");
  $("#table-note").textContent = rows.length > TABLE_LIMIT ? `showing ${TABLE_LIMIT} of ${rows.length} — filter to narrow` : `${rows.length} shown`;
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
    ${rec.em ? `<div class="det-emergency" data-testid="details-emergency">EMERGENCY · ${esc(rec.em)} · squawk ${esc(rec.sq || "—")}</div>` : ""}
    <dl>
      ${rec.cs ? `<dt>Callsign</dt><dd data-testid="details-callsign">${esc(rec.cs)}</dd>` : ""}
      ${rec.sq ? `<dt>Squawk</dt><dd data-testid="details-squawk">${esc(rec.sq)}</dd>` : ""}
      ${rec.ms ? `<dt>Mode S</dt><dd data-testid="details-modes">${esc(rec.ms)}</dd>` : ""}
      <dt>Position</dt><dd>${fmtLatLon(rec.lat, rec.lon)}</dd>
      <dt>Altitude</dt><dd>${num(rec.alt)} m (±${num(rec.sz)} m)</dd>
      <dt>Course / speed</dt><dd>${num(rec.crs)}° / ${num(rec.spd)} m/s (${num(rec.spd == null ? null : rec.spd * 1.943844)} kt)</dd>
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

function renderAlerts() {
  const active = [...state.alerts.values()].filter((a) => a.state === "active").sort((a, b) => b.t_s - a.t_s);
  const list = $("#alerts");
  const names = new Map((state.areas ? state.areas.features : []).map((f) => [f.properties.id, f.properties.name]));
  $("#alert-banner").hidden = active.length === 0;
  $("#alert-banner").textContent = `⚠ ${active.length} ACTIVE ALERT${active.length === 1 ? "" : "S"}`;
  $("#alerts-title").textContent = `Alerts (${active.length} active)`;
  const cancelled = [...state.alerts.values()].filter((a) => a.state !== "active").sort((a, b) => b.t_s - a.t_s);
  const none = active.length ? "" : `<li class="none">No active alerts</li>`;
  const live = active.map((a) => {
    const tgo = a.impact_t_s != null && state.tS != null ? a.impact_t_s - state.tS : null;
    return `<li class="alert" data-alert="${esc(a.alert_id)}" data-track="${esc(a.track_id)}" data-area="${esc(a.area_id)}">
        <div><b>${esc(names.get(a.area_id) || a.area_id)}</b><span class="tgo">${tgo != null ? (tgo >= 0 ? `impact in ${tgo.toFixed(0)} s` : "impact time passed") : ""}</span></div>
        <div class="sub">${esc(a.alert_id)} · track ${esc(a.track_id)} · since ${fmtTime(a.t_s)}</div></li>`;
  });
  const ended = cancelled.map(
    (a) => `<li class="cancelled" data-alert="${esc(a.alert_id)}" data-track="${esc(a.track_id)}" data-area="${esc(a.area_id)}">
        <div><b>${esc(names.get(a.area_id) || a.area_id)}</b><span class="tgo">cancelled${a.reason ? ` (${esc(a.reason)})` : ""}</span></div>
        <div class="sub">${esc(a.alert_id)} · track ${esc(a.track_id)} · at ${fmtTime(a.t_s)}</div></li>`,
  );
  list.innerHTML = none + live.join("") + ended.join("");
}

function select(id) {
  state.selected = id;
  if (id == null) historyLayer.clearLayers();
  renderDetails();
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
  $("#clock").textContent = fmtTime(t);
  $("#date").textContent = fmtDate(t);
  const behind = state.mode !== "live" && hi != null && t != null ? hi - t : 0;
  $("#mode").textContent = state.mode === "live" ? "LIVE" : state.mode === "paused" ? `PAUSED −${behind.toFixed(0)} s` : `REPLAY ×${state.speed} −${behind.toFixed(0)} s`;
  $("#mode").className = `pill ${state.mode === "live" ? "ok" : "warn"}`;
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
    const li = ev.target.closest("li[data-track]");
    if (!li) return;
    select(li.dataset.track);
    const f = state.areas && state.areas.features.find((x) => x.properties.id === li.dataset.area);
    if (f) map.fitBounds(L.polygon(placeGeometry(f.geometry).map(toLatLngs)).getBounds(), { maxZoom: 7, padding: [40, 40] });
  };
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
  map.on("click", (ev) => {
    const id = trackLayer.pick(ev.containerPoint.x, ev.containerPoint.y);
    if (id) select(id);
  });
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

// ------------------------------------------------------------------------------------ boot
async function boot() {
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
  replayTick(performance.now());
  await loadBasemap();
  document.body.dataset.ready = "1";
}

boot().catch((err) => {
  console.error(err);
  $("#counts").textContent = `Failed to start: ${err}`;
});
