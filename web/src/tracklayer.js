// The track layer: one canvas over the map with every track's symbol, leader, trail, label and
// (on demand) 95 % position ellipse. Drawn in one pass, only when something changed (new data,
// zoom, end of a pan, a setting). The canvas reaches PAD of the view beyond each edge; while the
// map is dragged it is only shifted (Mercator panning is a pure translation), so panning stays
// smooth however many tracks there are, and it is redrawn when the map comes to rest.
import L from "leaflet";
import { destination, nearLon } from "./geo.js";
import { fanOut, placeLabels } from "./declutter.js";
import { fmtAlt } from "./format.js";
import { flagsOf } from "./quality.js";
import { THREAT_KINDS, sprite, sidcOf } from "./symbols.js";

const DEG = Math.PI / 180;
const PAD = 0.3;
const K95 = Math.sqrt(-2 * Math.log(0.05)); // 2-D Gaussian: 95 % of the mass inside k sigma
const EQUATOR_M = 40075016.686;
const LABEL_FONT = "11px ui-monospace, 'DejaVu Sans Mono', monospace";
const LABEL_H = 12;
const TRAIL_COLOURS = { P: "rgba(255,235,130,0.45)", U: "rgba(255,235,130,0.55)", S: "rgba(255,120,120,0.6)", H: "rgba(255,90,90,0.7)", F: "rgba(120,200,255,0.6)", N: "rgba(140,255,140,0.6)" };

export class TrackLayer {
  constructor(map, state) {
    this.map = map;
    this.state = state;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "track-canvas";
    map.getContainer().appendChild(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.pending = false;
    this.hidden = false;
    this.screen = new Map(); // id -> [x, y] of the last drawing, for picking
    this.labels = []; // the labels of the last drawing: {id, text, box: [x0, y0, x1, y1], leader}
    this.fanned = 0; // groups of stacked symbols fanned out in the last drawing
    this.size = 14; // the symbols' size in the last drawing, px
    this.onDrawn = null;
    this.anchor = null; // the latitude/longitude at the container's top-left at the last draw
    this.shift = [0, 0];
    map.on("move", () => this.follow());
    map.on("moveend zoom resize viewreset", () => this.request());
    map.on("zoomanim", () => {
      this.hidden = true;
      this.clear();
    });
    map.on("zoomend", () => {
      this.hidden = false;
      this.request();
    });
    window.addEventListener("resize", () => this.request());
  }

  // During a pan: move the drawn canvas with the map instead of drawing it again.
  follow() {
    if (!this.anchor || this.hidden) return;
    const p = this.map.latLngToContainerPoint(this.anchor);
    this.shift = [p.x, p.y];
    this.canvas.style.transform = `translate(${p.x}px, ${p.y}px)`;
  }

  request() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  clear() {
    this.ctx.setTransform(1, 0, 0, 1, 0, 0);
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
  }

  resize() {
    const size = this.map.getSize();
    const dpr = window.devicePixelRatio || 1;
    const padX = Math.round(size.x * PAD);
    const padY = Math.round(size.y * PAD);
    const cssW = size.x + 2 * padX;
    const cssH = size.y + 2 * padY;
    const w = Math.round(cssW * dpr);
    const h = Math.round(cssH * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.canvas.style.width = `${cssW}px`;
      this.canvas.style.height = `${cssH}px`;
      this.canvas.style.left = `${-padX}px`;
      this.canvas.style.top = `${-padY}px`;
    }
    return { w: size.x, h: size.y, dpr, padX, padY };
  }

  // Screen position of a latitude/longitude, with the longitude taken nearest the view centre.
  project(lat, lon, centreLon) {
    const p = this.map.latLngToContainerPoint([lat, nearLon(lon, centreLon)]);
    return [p.x, p.y];
  }

  // Spherical-Mercator projection to container pixels without allocations (the same transform
  // Leaflet's EPSG:3857 applies), set up once per frame by `frame()`.
  frame() {
    const zoom = this.map.getZoom();
    const origin = this.map.latLngToContainerPoint([0, 0]);
    this.ox = origin.x;
    this.oy = origin.y;
    this.k = (256 * 2 ** zoom) / 360;
    this.ky = (256 * 2 ** zoom) / (2 * Math.PI);
    this.centreLon = this.map.getCenter().lng;
  }

  px(lon) {
    return this.ox + nearLon(lon, this.centreLon) * this.k;
  }

  py(lat) {
    const c = Math.max(-85.0511287798, Math.min(85.0511287798, lat)) * DEG;
    return this.oy - Math.log(Math.tan(Math.PI / 4 + c / 2)) * this.ky;
  }

  draw() {
    if (this.hidden) return;
    const t0 = performance.now();
    const { w, h, dpr, padX, padY } = this.resize();
    const ctx = this.ctx;
    this.clear();
    this.anchor = this.map.containerPointToLatLng([0, 0]);
    this.shift = [0, 0];
    this.canvas.style.transform = "";
    // Drawing in container pixels; the canvas starts (padX, padY) left of and above the container.
    ctx.setTransform(dpr, 0, 0, dpr, dpr * padX, dpr * padY);
    const st = this.state;
    const layers = st.layers;
    this.frame();
    const zoom = this.map.getZoom();
    const pxPerM = (256 * 2 ** zoom) / EQUATOR_M; // at the equator; divide by cos(lat)
    const marginX = padX + 20;
    const marginY = padY + 20;
    const visible = [];
    this.screen.clear();
    for (const rec of st.tracks.values()) {
      if (!st.passes(rec)) continue;
      const x = this.px(rec.lon);
      const y = this.py(rec.lat);
      this.screen.set(rec.id, [x, y]);
      if (x < -marginX || y < -marginY || x > w + marginX || y > h + marginY) continue;
      visible.push([rec, x, y, x, y]);
    }
    // Symbols stacked at one spot are spread round it: [rec, x, y] is where the symbol is drawn,
    // [x0, y0] (the last two) where the track is.
    const size = visible.length > 1500 ? 9 : visible.length > 300 ? 11 : 14;
    this.size = size;
    this.fanned = fanOut(visible, size * 1.6);
    for (const [rec, x, y] of visible) this.screen.set(rec.id, [x, y]);

    const tA = performance.now();
    // Trails: one path per identity colour.
    if (layers.trails) {
      const paths = new Map();
      for (const [rec, , , x, y] of visible) {
        const trail = st.trails.get(rec.id);
        if (!trail || trail.lon.length === 0) continue;
        const colour = TRAIL_COLOURS[sidcOf(rec)[1]] || TRAIL_COLOURS.U;
        let path = paths.get(colour);
        if (!path) {
          path = new Path2D();
          paths.set(colour, path);
        }
        // Trail longitudes are continuous; shift the whole trail by the turns of its start.
        const shift = nearLon(trail.lon[0], this.centreLon) - trail.lon[0];
        path.moveTo(this.ox + (trail.lon[0] + shift) * this.k, this.py(trail.lat[0]));
        for (let i = 1; i < trail.lon.length; i++) {
          path.lineTo(this.ox + (trail.lon[i] + shift) * this.k, this.py(trail.lat[i]));
        }
        path.lineTo(x, y);
      }
      ctx.lineWidth = 1.5;
      ctx.setLineDash([]);
      for (const [colour, path] of paths) {
        ctx.strokeStyle = colour;
        ctx.stroke(path);
      }
    }

    const tB = performance.now();
    // Position ellipses (95 %).
    if (layers.ellipses !== "off") {
      ctx.lineWidth = 1;
      ctx.strokeStyle = "rgba(120,220,255,0.9)";
      ctx.fillStyle = "rgba(120,220,255,0.10)";
      for (const [rec, , , x, y] of visible) {
        if (layers.ellipses === "selected" && rec.id !== st.selected) continue;
        if (rec.sa == null || rec.sb == null) continue;
        const scale = (pxPerM / Math.cos((rec.lat * Math.PI) / 180)) * K95;
        const rx = Math.max(rec.sa * scale, 0.5);
        const ry = Math.max(rec.sb * scale, 0.5);
        const rot = (((rec.ori || 0) - 90) * Math.PI) / 180;
        ctx.beginPath();
        ctx.ellipse(x, y, rx, ry, rot, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }

    // Leaders: where the track will be after `leaderS` seconds at its present velocity.
    const leaderEnds = []; // [x0, y0, x1, y1] of each leader, which labels keep clear of
    if (layers.leaders) {
      const path = new Path2D();
      for (const [rec, x, y, , y0] of visible) {
        if (!rec.spd) continue;
        if (st.leaderS > 0) {
          const [la, lo] = destination(rec.lat, rec.lon, rec.crs, rec.spd * st.leaderS);
          path.moveTo(x, y);
          path.lineTo(x + (lo - rec.lon) * this.k, y + this.py(la) - y0);
          leaderEnds.push([x, y, x + (lo - rec.lon) * this.k, y + this.py(la) - y0]);
        } else {
          // Speed vector of fixed scale on screen: 10 px + 1 px per 10 m/s, at most 120 px.
          const len = Math.min(10 + rec.spd / 10, 120);
          const a = (rec.crs * Math.PI) / 180;
          path.moveTo(x, y);
          path.lineTo(x + len * Math.sin(a), y - len * Math.cos(a));
          leaderEnds.push([x, y, x + len * Math.sin(a), y - len * Math.cos(a)]);
        }
      }
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "rgba(230,240,255,0.85)";
      ctx.stroke(path);
    }

    const tC = performance.now();
    // Fanned-out symbols: a thin spoke from where the track is to its symbol.
    const spokes = new Path2D();
    for (const [, x, y, x0, y0] of visible) {
      if (x === x0 && y === y0) continue;
      spokes.moveTo(x0, y0);
      spokes.lineTo(x, y);
      spokes.moveTo(x0 + 2, y0);
      spokes.arc(x0, y0, 2, 0, 2 * Math.PI);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(230,240,255,0.7)";
    ctx.stroke(spokes);
    // Symbols, then labels on top.
    for (const [rec, x, y] of visible) {
      const s = sprite(sidcOf(rec), size, dpr);
      if (dpr === 1) ctx.drawImage(s.image, Math.round(x - s.ax), Math.round(y - s.ay));
      else ctx.drawImage(s.image, x - s.ax, y - s.ay, s.w, s.h);
      if (rec.id === st.selected) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#4fd1ff";
        ctx.setLineDash([4, 3]);
        ctx.strokeRect(x - size - 4, y - size - 4, 2 * size + 8, 2 * size + 8);
        ctx.setLineDash([]);
      }
    }
    this.drawLabels(visible, size, leaderEnds);
    const tD = performance.now();
    st.stats.phases = { project: tA - t0, trails: tB - tA, leaders: tC - tB, symbols: tD - tC };
    st.stats.lastDrawMs = performance.now() - t0;
    st.stats.drawn = visible.length;
    if (this.onDrawn) this.onDrawn();
  }

  // Labels: every track's while "labels" is ticked, as many as fit without covering another label,
  // a symbol or a sensor's name (the selected track's, emergencies', threats' and flagged tracks'
  // first); only the selected track's otherwise.
  drawLabels(visible, size, leaderEnds) {
    const ctx = this.ctx;
    const st = this.state;
    const half = size * 0.75;
    this.labels = [];
    const rank = (rec) => (rec.id === st.selected ? 0 : rec.em ? 1 : THREAT_KINDS.has(rec.kind) ? 2 : flagsOf(rec).length ? 3 : 4);
    const wanted = (st.layers.labels ? visible : visible.filter(([rec]) => rec.id === st.selected))
      .map((v) => [rank(v[0]), v])
      .sort((a, b) => a[0] - b[0])
      .map(([, v]) => v);
    if (!wanted.length) return;
    const obstacles = visible.map(([, x, y]) => [x - half, y - half, x + half, y + half]);
    for (const [x0, y0, x1, y1] of leaderEnds) {
      // a leader line as small boxes every 6 px along it
      const n = Math.ceil(Math.hypot(x1 - x0, y1 - y0) / 6);
      for (let i = 1; i <= n; i++) {
        const x = x0 + ((x1 - x0) * i) / n;
        const y = y0 + ((y1 - y0) * i) / n;
        obstacles.push([x - 2, y - 2, x + 2, y + 2]);
      }
    }
    for (const s of st.sensors) {
      const x = this.px(s.lon);
      const y = this.py(s.lat);
      obstacles.push([x - 7, y - 9, x + 16 + 6.5 * s.sensor_id.length, y + 9]);
    }
    ctx.font = LABEL_FONT;
    ctx.textBaseline = "top";
    const texts = wanted.map(([rec]) => labelText(rec));
    const charW = ctx.measureText("0").width; // a monospace font: every character this wide
    const boxes = placeLabels(
      wanted.map(([rec, x, y], i) => ({ x, y, w: texts[i].length * charW + 2, h: LABEL_H, force: rec.id === st.selected })),
      obstacles,
      { near: half + 3, steps: wanted.length > 1500 ? 1 : 3 },
    );
    const leaders = new Path2D();
    wanted.forEach(([rec, x, y], i) => {
      const b = boxes[i];
      if (!b) return;
      this.labels.push({ id: rec.id, text: texts[i], box: b.slice(0, 4), leader: b[4] });
      if (b[4]) {
        const [lx, ly] = b[4];
        const d = Math.hypot(lx - x, ly - y);
        leaders.moveTo(x + ((lx - x) * half) / d, y + ((ly - y) * half) / d);
        leaders.lineTo(lx, ly);
      }
    });
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(180,200,220,0.6)";
    ctx.stroke(leaders);
    wanted.forEach(([rec], i) => {
      const b = boxes[i];
      if (!b) return;
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(4,10,18,0.9)";
      ctx.strokeText(texts[i], b[0] + 1, b[1]);
      ctx.fillStyle = rec.em ? "#ff8040" : rec.id === st.selected ? "#4fd1ff" : flagsOf(rec).length ? "#ffd24d" : "#cfe3f3";
      ctx.fillText(texts[i], b[0] + 1, b[1]);
    });
  }

  // The track nearest a container point, within `radius` pixels, or null.
  pick(x, y, radius = 16) {
    x -= this.shift[0];
    y -= this.shift[1];
    let best = null;
    let bestD = radius * radius;
    for (const [id, [px, py]] of this.screen) {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = id;
      }
    }
    return best;
  }
}

// A track's label: callsign or number, altitude, the emergency squawk and plausibility flags.
function labelText(rec) {
  const flags = flagsOf(rec);
  const em = rec.em ? `  ${rec.sq || "EMER"}!` : "";
  return `${rec.cs || rec.id}  ${rec.alt == null ? "" : fmtAlt(rec.alt, true)}${em}${flags.length ? `  ⚠${flags.join(" ")}` : ""}`;
}

export { L };
