"""Build ``src/airpicture/data/coastline_50m.json`` from world-atlas' ``countries-50m.json``.

The source is the npm package ``world-atlas`` (ISC licence; Natural Earth 1:50m data, public
domain), a TopoJSON topology. This script decodes it without any TopoJSON library:

* each arc is a list of quantised positions, the first absolute and the rest deltas from the
  previous one; a position in degrees is ``q * scale + translate`` (TopoJSON spec, section 2.1.3,
  "quantized positions", and 2.2.2.3, "transforms");
* a geometry refers to arcs by index; a negative index ``~i`` means arc ``i`` reversed; the arcs of
  a ring are concatenated, dropping the first position of every arc after the first (it repeats
  the last position of the previous arc).

The rings of the ``land`` object (all countries merged) are then clipped to the region of interest
(by default lon 100..180 E, lat 0..60 N) with the Sutherland-Hodgman algorithm, rounded to
0.001 deg (about 100 m, far below the 1:50m generalisation) and written as a compact GeoJSON
``MultiPolygon`` with a few provenance fields.

Usage::

    cd /tmp && npm install world-atlas topojson-client
    python tools/make_coastline.py /tmp/node_modules/world-atlas/countries-50m.json

Rings that cross the antimeridian (consecutive longitudes more than 180 deg apart) are unwrapped
to continuous longitudes before clipping, so the region's eastern edge at 180 E is clean.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "src" / "airpicture" / "data" / "coastline_50m.json"
DECIMALS = 3


def decode_arcs(topology: dict) -> list[np.ndarray]:
    """All arcs of a quantised topology as (n, 2) arrays of lon/lat in degrees."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        q = np.asarray(arc, dtype=np.float64)
        if transform is not None:
            q = np.cumsum(q, axis=0)  # delta decoding
            q = q * np.asarray(transform["scale"]) + np.asarray(transform["translate"])
        arcs.append(q)
    return arcs


def ring_from_arcs(indices: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """Concatenate the arcs of one ring (negative index ~i = arc i reversed) into (n, 2)."""
    parts = []
    for k, index in enumerate(indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(arc if k == 0 else arc[1:])
    return np.concatenate(parts)


def polygons_of(geometry: dict, arcs: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Polygons (lists of rings, exterior first) of a Polygon or MultiPolygon geometry."""
    kind = geometry["type"]
    if kind == "Polygon":
        return [[ring_from_arcs(r, arcs) for r in geometry["arcs"]]]
    if kind == "MultiPolygon":
        return [[ring_from_arcs(r, arcs) for r in poly] for poly in geometry["arcs"]]
    if kind == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in polygons_of(g, arcs)]
    return []


def unwrap_antimeridian(ring: np.ndarray) -> np.ndarray:
    """Make a ring's longitudes continuous: no step between consecutive points exceeds 180 deg.

    A ring that crosses +-180 deg then runs past it (say to 191 E) instead of jumping back to
    -169; rings that do not cross are unchanged.
    """
    if ring.shape[0] < 2 or not np.any(np.abs(np.diff(ring[:, 0])) > 180.0):
        return ring
    out = ring.copy()
    out[:, 0] = np.unwrap(ring[:, 0], period=360.0)
    return out


def clip_ring(ring: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """Clip a closed ring (n, 2) to an axis-aligned box with Sutherland-Hodgman.

    Sutherland, I. E., Hodgman, G. W. (1974), "Reentrant polygon clipping", Comm. ACM 17(1),
    pp. 32-42. A concave ring that leaves and re-enters the box comes back as one ring joined by
    edges along the box boundary.
    """
    lon_min, lat_min, lon_max, lat_max = bbox
    # (axis, limit, keep points with coordinate >= limit if sign > 0, <= limit if sign < 0)
    planes = ((0, lon_min, 1.0), (0, lon_max, -1.0), (1, lat_min, 1.0), (1, lat_max, -1.0))
    points = ring[:-1] if np.array_equal(ring[0], ring[-1]) else ring
    for axis, limit, sign in planes:
        if points.shape[0] == 0:
            break
        inside = sign * (points[:, axis] - limit) >= 0.0
        prev = np.roll(points, 1, axis=0)
        prev_inside = np.roll(inside, 1)
        out = []
        for p, q, p_in, q_in in zip(prev, points, prev_inside, inside, strict=True):
            if p_in != q_in:  # the edge p -> q crosses the plane: add the crossing point
                t = (limit - p[axis]) / (q[axis] - p[axis])
                cross = p + t * (q - p)
                cross[axis] = limit
                out.append(cross)
            if q_in:
                out.append(q)
        points = np.array(out).reshape(-1, 2)
    if points.shape[0] < 3:
        return np.empty((0, 2))
    return np.vstack([points, points[:1]])


def ring_area_deg2(ring: np.ndarray) -> float:
    """Signed shoelace area of a closed ring in deg^2 (positive counter-clockwise)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def build(source: Path, bbox: tuple[float, float, float, float], object_name: str) -> dict:
    """The clipped land polygons as a GeoJSON-like dict."""
    topology = json.loads(source.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    polygons = []
    for poly in polygons_of(topology["objects"][object_name], arcs):
        poly = [unwrap_antimeridian(ring) for ring in poly]
        # an unwrapped polygon may lie one turn east or west of the box: clip each copy
        for turn in (-1, 0, 1):
            rings = []
            for k, ring in enumerate(poly):
                clipped = np.round(clip_ring(ring + [360.0 * turn, 0.0], bbox), DECIMALS)
                # drop repeated points created by rounding; the ring stays closed
                keep = np.ones(clipped.shape[0], dtype=bool)
                keep[1:] = np.any(clipped[1:] != clipped[:-1], axis=1)
                clipped = clipped[keep]
                if clipped.shape[0] < 4 or abs(ring_area_deg2(clipped)) < 1e-6:
                    if k == 0:
                        break  # the exterior vanished, and with it its holes
                    continue
                rings.append(clipped.tolist())
            if rings:
                polygons.append(rings)
    return {
        "type": "MultiPolygon",
        "bbox": list(bbox),
        "source": (
            f"Natural Earth 1:50m admin-0 countries (public domain), merged as object "
            f"'{object_name}' in world-atlas countries-50m.json (ISC); clipped to bbox, "
            f"rounded to {DECIMALS} decimals of a degree"
        ),
        "coordinates": polygons,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="world-atlas countries-50m.json")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--bbox",
        type=float,
        nargs=4,
        default=(100.0, 0.0, 180.0, 60.0),
        metavar=("LON_MIN", "LAT_MIN", "LON_MAX", "LAT_MAX"),
        help="region in degrees (default: 100 0 180 60)",
    )
    parser.add_argument("--object", default="land", help="topology object (default: land)")
    args = parser.parse_args(argv)
    data = build(args.source, tuple(args.bbox), args.object)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    n_rings = sum(len(p) for p in data["coordinates"])
    n_points = sum(len(r) for p in data["coordinates"] for r in p)
    sys.stdout.write(
        f"{args.output}: {len(data['coordinates'])} polygons, {n_rings} rings, "
        f"{n_points} points, {len(text) / 1e3:.0f} kB\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
