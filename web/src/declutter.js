// Decluttering of the track layer, in screen pixels: symbols stacked at one spot are fanned out
// round it, and labels are placed where they overlap no other label, symbol or sensor name,
// pulled away from their symbol on a leader line when the places next to it are taken.

const CELL = 64;
const MAX_FAN = 12; // a larger crowd is left as it is (zoom in to separate it)

// Boxes [x0, y0, x1, y1] in a uniform grid, to find overlaps among thousands quickly.
export class BoxGrid {
  constructor() {
    this.cells = new Map();
  }

  add(box) {
    const [x0, y0, x1, y1] = box;
    for (let cx = Math.floor(x0 / CELL), cx1 = Math.floor(x1 / CELL); cx <= cx1; cx++) {
      for (let cy = Math.floor(y0 / CELL), cy1 = Math.floor(y1 / CELL); cy <= cy1; cy++) {
        const k = cx * 65536 + cy;
        const cell = this.cells.get(k);
        if (cell) cell.push(box);
        else this.cells.set(k, [box]);
      }
    }
  }

  hits(x0, y0, x1, y1) {
    for (let cx = Math.floor(x0 / CELL), cx1 = Math.floor(x1 / CELL); cx <= cx1; cx++) {
      for (let cy = Math.floor(y0 / CELL), cy1 = Math.floor(y1 / CELL); cy <= cy1; cy++) {
        const cell = this.cells.get(cx * 65536 + cy);
        if (!cell) continue;
        for (let i = 0; i < cell.length; i++) {
          const b = cell[i];
          if (x0 < b[2] && x1 > b[0] && y0 < b[3] && y1 > b[1]) return true;
        }
      }
    }
    return false;
  }
}

// Spreads symbols closer than `sep` pixels to each other on a circle round their centre. `items`
// are [rec, x, y, ...] entries whose x, y are moved; returns the number of groups fanned out.
export function fanOut(items, sep) {
  const parent = items.map((_, i) => i);
  const root = (i) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const cells = new Map();
  items.forEach((it, i) => {
    const k = Math.floor(it[1] / sep) * 65536 + Math.floor(it[2] / sep);
    const cell = cells.get(k);
    if (cell) cell.push(i);
    else cells.set(k, [i]);
  });
  items.forEach((it, i) => {
    const cx = Math.floor(it[1] / sep);
    const cy = Math.floor(it[2] / sep);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const j of cells.get((cx + dx) * 65536 + cy + dy) || []) {
          if (j > i && (items[j][1] - it[1]) ** 2 + (items[j][2] - it[2]) ** 2 < sep * sep) parent[root(j)] = root(i);
        }
      }
    }
  });
  const groups = new Map();
  items.forEach((it, i) => {
    const r = root(i);
    const group = groups.get(r);
    if (group) group.push(it);
    else groups.set(r, [it]);
  });
  let fanned = 0;
  for (const group of groups.values()) {
    const n = group.length;
    if (n < 2 || n > MAX_FAN) continue;
    fanned++;
    group.sort((a, b) => (a[0].id < b[0].id ? -1 : 1)); // the same place for each track every frame
    const cx = group.reduce((s, it) => s + it[1], 0) / n;
    const cy = group.reduce((s, it) => s + it[2], 0) / n;
    const radius = Math.max(sep, (n * sep) / (2 * Math.PI));
    group.forEach((it, k) => {
      const a = -Math.PI / 2 + (2 * Math.PI * k) / n;
      it[1] = cx + radius * Math.cos(a);
      it[2] = cy + radius * Math.sin(a);
    });
  }
  return fanned;
}

// Where a label of w x h may go round a symbol at (x, y): the box for a direction and distance,
// and the point of the box nearest the symbol (the end of its leader line).
const DIRECTIONS = [
  [1, 0],
  [-1, 0],
  [1, -1],
  [1, 1],
  [-1, -1],
  [-1, 1],
  [0, -1],
  [0, 1],
];
function candidate(x, y, w, h, [dx, dy], d) {
  const k = dx && dy ? Math.SQRT1_2 : 1;
  const ax = x + dx * d * k;
  const ay = y + dy * d * k;
  const x0 = dx > 0 ? ax : dx < 0 ? ax - w : ax - w / 2;
  const y0 = dy > 0 ? ay : dy < 0 ? ay - h : ay - h / 2;
  return [x0, y0, x0 + w, y0 + h, ax, ay];
}

// Places labels in priority order. `labels`: [{x, y, w, h, force}] (force: the selected track's,
// placed even when nothing is free); `obstacles`: boxes no label may cover (symbols, sensor names).
// Returns, per label, [x0, y0, x1, y1, leader] or null (left out); leader is [x, y] of the line's
// far end when the label stands off its symbol.
export function placeLabels(labels, obstacles, { near, steps }) {
  const grid = new BoxGrid();
  for (const b of obstacles) grid.add(b);
  return labels.map(({ x, y, w, h, force }) => {
    for (let s = 0; s < steps; s++) {
      const d = near + s * 22;
      for (const dir of DIRECTIONS) {
        const c = candidate(x, y, w, h, dir, d);
        if (grid.hits(c[0], c[1], c[2], c[3])) continue;
        const box = c.slice(0, 4);
        grid.add(box);
        return [...box, s > 0 ? [c[4], c[5]] : null];
      }
    }
    if (!force) return null;
    const c = candidate(x, y, w, h, DIRECTIONS[0], near);
    grid.add(c.slice(0, 4));
    return [...c.slice(0, 4), null];
  });
}
