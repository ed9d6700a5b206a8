// Geometry for a Pacific-centred map.
//
// The map shows longitudes in [LON_MIN, LON_MIN + 360): the western Pacific and the Sea of Japan
// sit in the middle and the antimeridian is an ordinary meridian (180° is drawn right of 179°,
// not at the far left). Every ring of the world atlas is first unwrapped so that no step between
// consecutive points exceeds 180° of longitude, then moved by a whole turn so that its centre
// falls in the range. Rings that go round a pole (Antarctica) cannot be unwrapped closed; they
// are closed along the pole and drawn twice, a turn apart, to cover the whole range.

export const LON_MIN = -25;
const EARTH_RADIUS_M = 6371008.8;
const DEG = Math.PI / 180;

// A longitude moved by whole turns into [LON_MIN, LON_MIN + 360).
export function normLon(lon) {
  return ((((lon - LON_MIN) % 360) + 360) % 360) + LON_MIN;
}

// A longitude moved by whole turns to within 180° of a reference longitude.
export function nearLon(lon, ref) {
  return lon + 360 * Math.round((ref - lon) / 360);
}

// Copy of a ring of [lon, lat] positions without jumps of more than 180° between neighbours.
export function unwrapRing(ring) {
  const out = new Array(ring.length);
  let offset = 0;
  out[0] = [ring[0][0], ring[0][1]];
  for (let i = 1; i < ring.length; i++) {
    const d = ring[i][0] - ring[i - 1][0];
    if (d > 180) offset -= 360;
    else if (d < -180) offset += 360;
    out[i] = [ring[i][0] + offset, ring[i][1]];
  }
  return out;
}

function lonSpan(ring) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of ring) {
    if (p[0] < lo) lo = p[0];
    if (p[0] > hi) hi = p[0];
  }
  return [lo, hi];
}

function shiftRing(ring, dLon) {
  return ring.map((p) => [p[0] + dLon, p[1]]);
}

// True when an unwrapped ring does not close: it goes once round a pole.
export function encirclesPole(unwrapped) {
  return Math.abs(unwrapped[unwrapped.length - 1][0] - unwrapped[0][0]) > 180;
}

// Polygons (arrays of [lon, lat] rings, outer first) placed on the Pacific-centred map.
export function placePolygon(rings) {
  const outer = unwrapRing(rings[0]);
  if (encirclesPole(outer)) {
    const first = outer[0];
    const last = outer[outer.length - 1];
    const poleLat = first[1] < 0 ? -89.999 : 89.999;
    const closed = [...outer, [last[0], poleLat], [first[0], poleLat], first];
    const [lo] = lonSpan(closed);
    const k = Math.floor((LON_MIN - lo) / 360);
    const base = shiftRing(closed, 360 * k);
    return [[base], [shiftRing(base, 360)], [shiftRing(base, 720)]];
  }
  const [lo, hi] = lonSpan(outer);
  const centre = (lo + hi) / 2;
  const shift = normLon(centre) - centre;
  const placed = [shiftRing(outer, shift)];
  const ref = centre + shift;
  for (let r = 1; r < rings.length; r++) {
    const hole = unwrapRing(rings[r]);
    const [hlo, hhi] = lonSpan(hole);
    const hc = (hlo + hhi) / 2;
    placed.push(shiftRing(hole, nearLon(hc, ref) - hc));
  }
  return [placed];
}

// A line (array of [lon, lat]) placed on the Pacific-centred map.
export function placeLine(line) {
  const un = unwrapRing(line);
  const [lo, hi] = lonSpan(un);
  const centre = (lo + hi) / 2;
  return shiftRing(un, normLon(centre) - centre);
}

// Polygons of a GeoJSON Polygon/MultiPolygon geometry, placed; each a list of [lon, lat] rings.
export function placeGeometry(geometry) {
  if (!geometry) return [];
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  const out = [];
  for (const p of polys) out.push(...placePolygon(p));
  return out;
}

// Rings as Leaflet latlngs ([lat, lng]).
export function toLatLngs(rings) {
  return rings.map((ring) => ring.map((p) => [p[1], p[0]]));
}

// Point at a distance and initial bearing from a start point, on a sphere. The longitude stays
// continuous with the start's (no wrapping), so shapes around the antimeridian stay whole.
export function destination(latDeg, lonDeg, bearingDeg, distanceM) {
  const phi1 = latDeg * DEG;
  const theta = bearingDeg * DEG;
  const delta = distanceM / EARTH_RADIUS_M;
  const sinPhi2 = Math.sin(phi1) * Math.cos(delta) + Math.cos(phi1) * Math.sin(delta) * Math.cos(theta);
  const phi2 = Math.asin(Math.max(-1, Math.min(1, sinPhi2)));
  const dLambda = Math.atan2(
    Math.sin(theta) * Math.sin(delta) * Math.cos(phi1),
    Math.cos(delta) - Math.sin(phi1) * Math.sin(phi2),
  );
  return [phi2 / DEG, lonDeg + dLambda / DEG];
}

// Outline of an ellipse on the ground: semi-axes in metres, orientation of the first axis as a
// bearing in degrees. Returns [lat, lng] points (Leaflet order).
export function ellipseLatLngs(latDeg, lonDeg, semiMajorM, semiMinorM, orientationDeg, n = 64) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const u = semiMajorM * Math.cos(t); // along the major axis
    const v = semiMinorM * Math.sin(t); // along the minor axis (90° clockwise from it)
    const dist = Math.hypot(u, v);
    const bearing = orientationDeg + Math.atan2(v, u) / DEG;
    out.push(destination(latDeg, lonDeg, bearing, dist));
  }
  return out;
}

// Coverage of a sensor: a circle of the given range, or a sector (from, to clockwise, degrees).
export function coverageLatLngs(latDeg, lonDeg, rangeM, sector, n = 96) {
  if (!sector) return ellipseLatLngs(latDeg, lonDeg, rangeM, rangeM, 0, n);
  let [a, b] = sector;
  if (b <= a) b += 360;
  const steps = Math.max(8, Math.round((n * (b - a)) / 360));
  const out = [[latDeg, lonDeg]];
  for (let i = 0; i <= steps; i++) out.push(destination(latDeg, lonDeg, a + ((b - a) * i) / steps, rangeM));
  return out;
}
