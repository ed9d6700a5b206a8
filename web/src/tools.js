// The map's tools: legend, hover data block, search and go-to, range and bearing, scale bar,
// cursor position.
import L from "leaflet";
import { nearLon, placeGeometry } from "./geo.js";
import { esc, fmtAlt, fmtDist, fmtLatLon, fmtSpd, fmtTime, num, units } from "./format.js";
import { FLAG_TEXT, flagsOf, positionError95 } from "./quality.js";
import { IDENTITY_NAMES, identityOf, symbolSvg } from "./symbols.js";

const DEG = Math.PI / 180;
const EARTH_RADIUS_M = 6371008.8;

// Great-circle distance (m) and initial bearing (deg from true north) from a to b.
export function rangeBearing(a, b) {
  const p1 = a.lat * DEG;
  const p2 = b.lat * DEG;
  const dl = (b.lng - a.lng) * DEG;
  const h = Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  const m = 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return { m, deg: ((Math.atan2(y, x) / DEG) % 360 + 360) % 360 };
}

function control(position, className, html) {
  const C = L.Control.extend({
    onAdd() {
      const div = L.DomUtil.create("div", `leaflet-bar map-tool ${className}`);
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    },
  });
  return new C({ position });
}

// The legend's entries: [html of the sample, what it means].
function legendRows() {
  const sym = (sidc) => symbolSvg(sidc, 20);
  const line = (style) => `<svg width="28" height="14"><line x1="2" y1="7" x2="26" y2="7" style="${style}"/></svg>`;
  const box = (style) => `<svg width="28" height="14"><rect x="3" y="2" width="22" height="10" style="${style}"/></svg>`;
  const ring = (style) => `<svg width="28" height="14"><ellipse cx="14" cy="7" rx="11" ry="5" style="${style}"/></svg>`;
  return [
    ["Identity (frame colour)", null],
    [sym("SPAPMF----*****"), "pending (tentative)"],
    [sym("SUAPMF----*****"), "unknown"],
    [sym("SSAPWMSS--*****"), "suspect (missiles)"],
    [sym("SHAPWM----*****"), "hostile"],
    [sym("SFAPMF----*****"), "friend / assumed friend"],
    [sym("SNAPCF----*****"), "neutral (civil)"],
    [sym("SUAAMF----*****"), "dashed frame: coasting (no recent plot)"],
    ["Tracks", null],
    [line("stroke:rgba(230,240,255,0.85);stroke-width:1.5"), "speed leader"],
    [line("stroke:rgba(255,235,130,0.55);stroke-width:1.5"), "trail"],
    [ring("stroke:rgba(120,220,255,0.9);fill:rgba(120,220,255,0.1)"), "95 % position ellipse"],
    [`<span class="legend-flag">⚠</span>`, "implausible or poor: " + Object.keys(FLAG_TEXT).join(", ")],
    [`<svg width="28" height="14"><line x1="4" y1="11" x2="20" y2="4" style="stroke:#ccd;stroke-width:1"/><circle cx="4" cy="11" r="2" style="fill:none;stroke:#ccd"/></svg>`, "fanned out: spoke to where the track is"],
    ["Missile warning", null],
    [ring("stroke:#ff9f1a;stroke-width:2;fill:rgba(255,159,26,0.18)"), "predicted impact, 95 % ellipse"],
    [ring("stroke:#ff9f1a;stroke-dasharray:4 4;fill:none"), "impact ellipse longer than 100 km"],
    [`<svg width="28" height="14"><circle cx="14" cy="7" r="5" style="stroke:#ff9f1a;stroke-width:2;fill:none"/></svg>`, "launch point"],
    [box("stroke:#c9a227;stroke-dasharray:6 4;fill:rgba(201,162,39,0.05)"), "warning area"],
    [box("stroke:#ff4d4d;stroke-width:2.5;fill:rgba(255,48,48,0.28)"), "warning area under alert"],
    ["Sensors", null],
    [`<span class="legend-glyph">▲ ▼ ✈</span>`, "radar: ground, ship, airborne (nation colour)"],
    [`<span class="legend-glyph">◆</span>`, "infrared sensor"],
    [ring("stroke:#7fb8ff;fill:rgba(127,184,255,0.05)"), "radar coverage ring"],
    [ring("stroke:#7fb8ff;stroke-dasharray:2 4;fill:none"), "infrared coverage"],
    [`<span class="legend-glyph sensor-off">▲</span>`, "dimmed: its plots do not reach this view"],
  ];
}

// The map tools. `page`: {map, state, trackLayer, select, areaAt(latlng) -> name or null}.
export function initTools({ map, state, trackLayer, select, areaAt }) {
  // Legend
  const legend = control("topright", "legend", `<button id="legend-toggle" data-testid="legend-toggle" title="Legend">Legend</button><div id="legend" data-testid="legend" hidden></div>`).addTo(map);
  const legendBox = legend.getContainer().querySelector("#legend");
  legendBox.innerHTML = `<table>${legendRows()
    .map(([sample, text]) => (text == null ? `<tr class="legend-head"><th colspan="2">${sample}</th></tr>` : `<tr><td class="legend-sample">${sample}</td><td>${esc(text)}</td></tr>`))
    .join("")}</table>`;
  legend.getContainer().querySelector("#legend-toggle").onclick = () => {
    legendBox.hidden = !legendBox.hidden;
  };

  // Search and go-to by track number (network or local) or callsign
  const search = control("topleft", "goto", `<input id="goto" data-testid="goto" type="search" placeholder="go to: track no. / callsign" list="goto-list"><datalist id="goto-list"></datalist><div id="goto-note" class="goto-note"></div>`).addTo(map);
  const input = search.getContainer().querySelector("#goto");
  const note = search.getContainer().querySelector("#goto-note");
  input.onfocus = () => {
    const names = [...state.tracks.values()].map((r) => r.cs || r.id).sort();
    search.getContainer().querySelector("#goto-list").innerHTML = names.slice(0, 500).map((n) => `<option value="${esc(n)}">`).join("");
  };
  input.onkeydown = (ev) => {
    if (ev.key !== "Enter") return;
    const q = input.value.trim().toLowerCase();
    if (!q) return;
    const recs = [...state.tracks.values()];
    const names = (r) => [r.id, r.lid, r.cs].filter(Boolean).map((s) => s.toLowerCase());
    let found = recs.filter((r) => names(r).includes(q));
    if (!found.length) found = recs.filter((r) => names(r).some((n) => n.includes(q)));
    if (found.length === 1) {
      const r = found[0];
      note.textContent = "";
      select(r.id);
      map.setView([r.lat, nearLon(r.lon, map.getCenter().lng)], Math.max(map.getZoom(), 7));
    } else note.textContent = found.length ? `${found.length} tracks match: ${found.slice(0, 5).map((r) => r.cs || r.id).join(", ")}${found.length > 5 ? " …" : ""}` : "no track matches";
  };

  // Scale bar (km or NM, with the speed unit) and cursor position
  const scale = control("bottomleft", "scale-bar", `<div id="scale" data-testid="scale"><div class="scale-line"></div><span></span></div>`).addTo(map);
  const cursor = control("bottomleft", "cursor-pos", `<span id="cursor" data-testid="cursor">—</span>`).addTo(map);
  const updateScale = () => {
    const size = map.getSize();
    const y = size.y / 2;
    const maxM = map.distance(map.containerPointToLatLng([0, y]), map.containerPointToLatLng([120, y]));
    const unit = units.spd === "kt" ? 1852 : 1000;
    const max = maxM / unit;
    const step = 10 ** Math.floor(Math.log10(max));
    const nice = [5, 2, 1].map((k) => k * step).find((v) => v <= max);
    const el = scale.getContainer().querySelector("#scale");
    el.querySelector(".scale-line").style.width = `${Math.round((120 * nice) / max)}px`;
    el.querySelector("span").textContent = `${nice} ${units.spd === "kt" ? "NM" : "km"}`;
  };
  map.on("zoomend moveend resize", updateScale);
  updateScale();

  // Range and bearing: two clicks on the map; a third starts again; Esc or the button ends.
  const measure = control("topleft", "measure", `<button id="measure" data-testid="measure" title="Range and bearing: click two points">R/B</button>`).addTo(map);
  const measureBtn = measure.getContainer().querySelector("#measure");
  const measureLayer = L.layerGroup().addTo(map);
  const tool = { on: false, from: null, result: null };
  window.__airpicture.measure = tool;
  const stopMeasure = () => {
    tool.on = false;
    tool.from = null;
    measureLayer.clearLayers();
    measureBtn.classList.remove("on");
    map.getContainer().classList.remove("measuring");
  };
  measureBtn.onclick = () => {
    if (tool.on) return stopMeasure();
    tool.on = true;
    tool.result = null;
    measureBtn.classList.add("on");
    map.getContainer().classList.add("measuring");
  };
  const measureLabel = (a, b) => {
    const rb = rangeBearing(a, b);
    return { ...rb, text: `${fmtDist(rb.m)} · ${num(rb.deg).padStart(3, "0")}°` };
  };

  // Hover data block
  const hover = L.DomUtil.create("div", "hover-block", map.getContainer());
  hover.dataset.testid = "hover";
  hover.hidden = true;
  const hoverHtml = (rec) => {
    const flags = flagsOf(rec);
    const imp = state.impacts.get(rec.id);
    const e95 = positionError95(rec);
    return `<div class="hb-head"><b>${esc(rec.cs || rec.id)}</b>${rec.cs ? ` <span>${esc(rec.id)}</span>` : ""}</div>
      <div>${esc(rec.kind)} · ${esc(IDENTITY_NAMES[identityOf(rec)])} · ${esc(rec.st)}</div>
      <div>${fmtAlt(rec.alt)} · ${fmtSpd(rec.spd)} · ${num(rec.crs)}°</div>
      <div>${rec.tq != null ? `TQ ${rec.tq}/15` : ""}${e95 != null ? `${rec.tq != null ? " · " : ""}±${fmtDist(e95)} (95 %)` : ""} · ${esc(rec.nat || "")}</div>
      ${imp ? `<div class="hb-impact">impact ${fmtTime(imp.impact_t_s)}</div>` : ""}
      ${flags.length ? `<div class="hb-flags">⚠ ${flags.map((f) => esc(FLAG_TEXT[f])).join("; ")}</div>` : ""}`;
  };
  const showHover = (html, p) => {
    hover.innerHTML = html;
    hover.hidden = false;
    const size = map.getSize();
    hover.style.left = `${Math.min(p.x + 16, size.x - 240)}px`;
    hover.style.top = `${Math.min(p.y + 12, size.y - 140)}px`;
  };

  map.on("mousemove", (ev) => {
    cursor.getContainer().querySelector("#cursor").textContent = fmtLatLon(ev.latlng.lat, ev.latlng.lng, 3);
    if (tool.on && tool.from && !tool.result) {
      const r = measureLabel(tool.from, ev.latlng);
      measureLayer.clearLayers();
      L.polyline([tool.from, ev.latlng], { color: "#4fd1ff", weight: 2, dashArray: "6 4", interactive: false }).addTo(measureLayer);
      L.tooltip({ permanent: true, className: "tip measure-tip", direction: "right", offset: [10, 0] }).setLatLng(ev.latlng).setContent(r.text).addTo(measureLayer);
    }
    const id = trackLayer.pick(ev.containerPoint.x, ev.containerPoint.y, 10);
    const rec = id && state.tracks.get(id);
    if (rec) return showHover(hoverHtml(rec), ev.containerPoint);
    const area = state.layers.areas ? areaAt(ev.latlng) : null;
    if (area) return showHover(`<div class="hb-area">${esc(area)}</div>`, ev.containerPoint);
    hover.hidden = true;
  });
  map.on("mouseout", () => {
    hover.hidden = true;
  });

  // A click: a measurement point while measuring; otherwise the track under the cursor.
  map.on("click", (ev) => {
    if (tool.on) {
      if (!tool.from || tool.result) {
        measureLayer.clearLayers();
        tool.from = ev.latlng;
        tool.result = null;
        L.circleMarker(ev.latlng, { radius: 3, color: "#4fd1ff", interactive: false }).addTo(measureLayer);
      } else {
        const r = measureLabel(tool.from, ev.latlng);
        tool.result = { from: [tool.from.lat, tool.from.lng], to: [ev.latlng.lat, ev.latlng.lng], m: r.m, deg: r.deg, text: r.text };
        measureLayer.clearLayers();
        L.polyline([tool.from, ev.latlng], { color: "#4fd1ff", weight: 2, interactive: false }).addTo(measureLayer);
        L.tooltip({ permanent: true, className: "tip measure-tip", direction: "right", offset: [10, 0] }).setLatLng(ev.latlng).setContent(r.text).addTo(measureLayer);
      }
      return;
    }
    const id = trackLayer.pick(ev.containerPoint.x, ev.containerPoint.y);
    if (id) select(id);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && tool.on) stopMeasure();
  });
  return { updateScale };
}

// The warning areas at a point, for the hover block (areas are drawn without tooltips of their
// own, which would come up in place of a track's over an area): their names, or null.
export function areaFinder(state, activeAreaIds) {
  return (latlng) => {
    if (!state.areas) return null;
    const alerting = activeAreaIds();
    const names = [];
    for (const f of state.areas.features) {
      const hit = placeGeometry(f.geometry).some((poly) => inside(poly, latlng.lat, nearLon(latlng.lng, poly[0][0][0])));
      if (hit) names.push(`${f.properties.name || f.properties.id}${alerting.has(f.properties.id) ? " — ALERT" : ""}`);
    }
    return names.length ? names.join(", ") : null;
  };
}

// Point in polygon (even-odd over every ring; rings are [lon, lat] points).
function inside(rings, lat, lon) {
  let odd = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) odd = !odd;
    }
  }
  return odd;
}
