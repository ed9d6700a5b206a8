// Plausibility and quality flags of a track record: what the map marks on the label, in the
// table, the hover block and the details, so that an operator does not take a wrong number for a
// real one.

// Highest altitude (m) and speed (m/s) a track of a kind can plausibly have.
const LIMITS = {
  ballistic: { alt: 2000e3, spd: 8000 },
  cruise: { alt: 30e3, spd: 3000 },
  missile: { alt: 30e3, spd: 3000 },
};
const AIRCRAFT_LIMITS = { alt: 25e3, spd: 1000 };
const BELOW_GROUND_M = -300; // below the lowest land and sea surface, with the altitude's error
const LOW_TQ = 3; // track quality 0-15: at or below this the position is hardly usable
const K95 = Math.sqrt(-2 * Math.log(0.05));

export const FLAG_TEXT = {
  "NEG ALT": "altitude below the surface",
  "ALT?": "altitude implausible for the kind",
  "SPD?": "speed implausible for the kind",
  "LOW Q": "poor position quality",
};

// The flags of a record, most serious first: [] when nothing is wrong.
export function flagsOf(rec) {
  const out = [];
  const lim = LIMITS[rec.kind] || AIRCRAFT_LIMITS;
  if (rec.alt != null && rec.alt < BELOW_GROUND_M) out.push("NEG ALT");
  else if (rec.alt != null && rec.alt > lim.alt) out.push("ALT?");
  if (rec.spd != null && rec.spd > lim.spd) out.push("SPD?");
  if (rec.tq != null && rec.tq <= LOW_TQ) out.push("LOW Q");
  return out;
}

// The 95 % horizontal position error (m, the ellipse's semi-major axis), or null.
export function positionError95(rec) {
  return rec.sa == null ? null : rec.sa * K95;
}
