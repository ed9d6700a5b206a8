// What the map and the table show: the filters by kind, nation, altitude band and identity, and
// the words of the table's filter box; one test for both, so the map and the table always agree.
import { IDENTITY_NAMES, THREAT_KINDS, identityOf } from "./symbols.js";

export const KIND_FILTERS = {
  missile: { label: "missiles", kinds: THREAT_KINDS },
  ballistic: { label: "ballistic", kinds: new Set(["ballistic"]) },
  cruise: { label: "cruise", kinds: new Set(["cruise", "missile"]) },
  aircraft: { label: "fixed wing", kinds: new Set(["aircraft", "fighter", "airliner", "civil"]) },
  helicopter: { label: "rotary wing", kinds: new Set(["helicopter"]) },
  uav: { label: "UAV", kinds: new Set(["uav", "drone"]) },
};

// Altitude bands, m: [lowest, highest).
export const ALT_BANDS = {
  low: { label: "low (< 3 km · FL100)", range: [-Infinity, 3000] },
  medium: { label: "medium (3-15 km · FL100-490)", range: [3000, 15000] },
  high: { label: "high (> 15 km · FL490)", range: [15000, Infinity] },
};

// The words a track is found by: its numbers, kind ("missile" for every missile), status,
// nations, sources, identity, callsign, squawk, Mode S address, emergency.
function words(r) {
  const missile = THREAT_KINDS.has(r.kind) ? " missile" : "";
  return `${r.id} ${r.kind}${missile} ${r.st} ${r.nat} ${r.src} ${r.lid} ${IDENTITY_NAMES[identityOf(r)]} ${r.cs || ""} ${r.sq || ""} ${r.ms || ""} ${r.em ? "emergency " + r.em : ""}`.toLowerCase();
}

// Whether a record passes the filters {kind, nation, alt, idn} (empty: any) and the text.
export function matches(rec, filters, text) {
  if (filters.kind && !KIND_FILTERS[filters.kind].kinds.has(rec.kind)) return false;
  if (filters.nation && !(rec.nat || "").split(";").includes(filters.nation)) return false;
  if (filters.alt) {
    const [lo, hi] = ALT_BANDS[filters.alt].range;
    if (rec.alt == null || rec.alt < lo || rec.alt >= hi) return false;
  }
  if (filters.idn && identityOf(rec) !== filters.idn) return false;
  const q = text.trim().toLowerCase();
  if (!q) return true;
  const hay = words(rec);
  return q.split(/\s+/).every((w) => hay.includes(w));
}
