// How the page writes times, positions and quantities, in the units the operator chose (kept in
// localStorage): altitude in m/km or ft/FL, speed in km/h or kt (distances follow: km or NM).
const UNITS_KEY = "airpicture.units";
const FT = 0.3048;
const NM = 1852;

export const UNIT_CHOICES = { alt: ["m", "ft"], spd: ["kmh", "kt"] };

function loadUnits() {
  try {
    const saved = JSON.parse(localStorage.getItem(UNITS_KEY) || "{}");
    return {
      alt: UNIT_CHOICES.alt.includes(saved.alt) ? saved.alt : "m",
      spd: UNIT_CHOICES.spd.includes(saved.spd) ? saved.spd : "kmh",
    };
  } catch {
    return { alt: "m", spd: "kmh" };
  }
}

export const units = loadUnits();

export function setUnits(change) {
  Object.assign(units, change);
  localStorage.setItem(UNITS_KEY, JSON.stringify(units));
}

export function fmtTime(t) {
  if (t == null) return "—";
  return new Date(t * 1000).toISOString().slice(11, 19) + "Z";
}

export function fmtDate(t) {
  if (t == null) return "—";
  return new Date(t * 1000).toISOString().slice(0, 10);
}

export function fmtLatLon(lat, lon, digits = 4) {
  const ns = lat >= 0 ? "N" : "S";
  const l = ((((lon + 180) % 360) + 360) % 360) - 180;
  const ew = l >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(digits)}°${ns} ${Math.abs(l).toFixed(digits)}°${ew}`;
}

// A number rounded to `d` decimals, without a sign on a value that rounds to zero ("-0.0").
export const num = (v, d = 0) => (v == null ? "—" : (Math.abs(v) < 0.5 * 10 ** -d ? 0 : v).toFixed(d));

export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Altitude: in full (details: "8250 m", "27067 ft") or short (labels, table: "8.3km", "FL271").
export function fmtAlt(m, short = false) {
  if (m == null) return "—";
  if (units.alt === "ft") return short ? `FL${num(m / FT / 100)}` : `${num(m / FT)} ft`;
  return short ? `${num(m / 1000, 1)}km` : `${num(m)} m`;
}

export const altUnit = () => (units.alt === "ft" ? "FL" : "km");

// The altitude as the table shows it (a number in the column's unit, altUnit()).
export const altValue = (m) => (m == null ? null : units.alt === "ft" ? m / FT / 100 : m / 1000);

export function fmtSpd(mps) {
  if (mps == null) return "—";
  return units.spd === "kt" ? `${num(mps * 3600 / NM)} kt` : `${num(mps * 3.6)} km/h`;
}

export const spdUnit = () => (units.spd === "kt" ? "kt" : "km/h");

export const spdValue = (mps) => (mps == null ? null : units.spd === "kt" ? (mps * 3600) / NM : mps * 3.6);

export function fmtDist(m) {
  if (units.spd === "kt") return `${num(m / NM, m < 10 * NM ? 1 : 0)} NM`;
  return m < 10e3 ? `${num(m / 1000, 2)} km` : `${num(m / 1000, m < 100e3 ? 1 : 0)} km`;
}
