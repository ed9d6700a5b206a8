// MIL-STD-2525C symbols (letter SIDCs, air dimension) for tracks, drawn once per kind and
// identity and kept as bitmaps.
import { ms, letterair } from "../node_modules/milsymbol/index.mjs";

ms.addIcons([letterair]);

const FUNCTION_BY_KIND = {
  aircraft: "MF----",
  fighter: "MFF---",
  airliner: "CF----",
  civil: "CF----",
  helicopter: "MH----",
  uav: "MFQ---",
  drone: "MFQ---",
  cruise: "WM----",
  missile: "WM----",
  ballistic: "WMSS--",
};

export const THREAT_KINDS = new Set(["ballistic", "cruise", "missile"]);

// Identities operators assigned to tracks of the view shown (track id -> 2525 letter), kept by
// the coordination panel (operators.js); an operator's decision comes before any other.
export const assignedIdentity = new Map();

export const IDENTITY_LETTERS = { pending: "P", unknown: "U", "assumed friend": "A", friend: "F", neutral: "N", suspect: "S", hostile: "H" };

// Standard identity letter: as an operator assigned it; else pending while tentative, suspect
// for missiles, unknown otherwise; a record may carry its own identity (`idn`, one 2525
// letter) once identification provides it.
export function identityOf(rec) {
  const assigned = assignedIdentity.get(rec.id);
  if (assigned) return assigned;
  if (rec.idn) return rec.idn;
  if (rec.st === "tentative") return "P";
  if (THREAT_KINDS.has(rec.kind)) return "S";
  return "U";
}

export function sidcOf(rec) {
  const fn = FUNCTION_BY_KIND[rec.kind] || "------";
  const status = rec.st === "coasting" ? "A" : "P";
  return `S${identityOf(rec)}A${status}${fn}-----`;
}

export const IDENTITY_NAMES = { P: "pending", U: "unknown", S: "suspect", H: "hostile", F: "friend", N: "neutral", A: "assumed friend" };

const cache = new Map();

// { canvas, ax, ay, w, h } in CSS pixels for a SIDC at a size; cached.
export function sprite(sidc, size, dpr) {
  const key = `${sidc}|${size}|${dpr}`;
  let s = cache.get(key);
  if (!s) {
    const sym = new ms.Symbol(sidc, {
      size,
      outlineWidth: 3,
      outlineColor: "rgba(0,0,0,0.85)",
      strokeWidth: 3,
    });
    const canvas = sym.asCanvas(dpr);
    const anchor = sym.getAnchor();
    const dims = sym.getSize();
    // Drawn at the device pixel ratio and blitted 1:1 at whole pixels (no resampling per frame).
    s = { canvas, image: canvas, ax: anchor.x, ay: anchor.y, w: dims.width, h: dims.height, valid: sym.isValid() };
    if (typeof createImageBitmap === "function") {
      createImageBitmap(canvas).then((bitmap) => {
        s.image = bitmap;
      });
    }
    cache.set(key, s);
  }
  return s;
}

export function symbolSvg(sidc, size) {
  return new ms.Symbol(sidc, { size, outlineWidth: 3, outlineColor: "rgba(0,0,0,0.85)", strokeWidth: 3 }).asSVG();
}
