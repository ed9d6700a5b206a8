"""Pictures of an evaluation: a map of truth and tracks, and GOSPA over time.

matplotlib is an optional dependency (the ``plot`` extra) and is imported only inside
:func:`plot_evaluation`, which draws with the Agg renderer on its own figure (no pyplot, no global
backend change). :func:`load_coastlines` needs only NumPy: the land outlines are shipped in the
package (``airpicture/data/coastline_50m.json``, Natural Earth 1:50m, clipped to lon 100..180 E,
lat 0..60 N) and never downloaded.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.evaluate._metrics import Evaluation
from airpicture.geo import ecef2geodetic
from airpicture.tables import SensorTable, TrackRows, Truth

__all__ = ["load_coastlines", "plot_evaluation"]

logger = logging.getLogger(__name__)

_COASTLINE_FILE = "coastline_50m.json"
_PICTURE_STATUS = ("confirmed", "coasting")


def load_coastlines() -> list[np.ndarray]:
    """Land outlines shipped with the package, as closed lon/lat rings.

    Natural Earth 1:50m land, clipped to lon 100..180 E, lat 0..60 N: where land was cut by the
    region's edge, its ring runs along that edge.

    Returns
    -------
    list of ndarray, each of shape (n, 2)
        Rings ``[lon_deg, lat_deg]`` (WGS-84, degrees, longitudes in [100, 180]), first point
        repeated last; exteriors and holes alike.
    """
    return _coastline_data()[0]


def _coastline_data() -> tuple[list[np.ndarray], tuple[float, float, float, float]]:
    """The shipped rings and the box they were clipped to (lon_min, lat_min, lon_max, lat_max)."""
    source = resources.files("airpicture").joinpath("data").joinpath(_COASTLINE_FILE)
    data = json.loads(source.read_text(encoding="utf-8"))
    rings = [np.asarray(ring, dtype=np.float64) for poly in data["coordinates"] for ring in poly]
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in data["bbox"])
    return rings, (lon_min, lat_min, lon_max, lat_max)


def _import_matplotlib() -> tuple[Any, Any, Any, Any, Any]:
    """(Figure, LineCollection, PolyCollection, Line2D, MaxNLocator), or ConfigError."""
    try:
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ConfigError(
            "airpicture.evaluate.plot",
            key="matplotlib",
            expected="the optional plotting dependency (pip install 'airpicture[plot]')",
            got=f"it is not installed ({exc})",
        ) from exc
    return Figure, LineCollection, PolyCollection, Line2D, MaxNLocator


def _lon_lat_deg(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude in degrees of ECEF positions (n, 3+)."""
    lat, lon, _ = ecef2geodetic(x[:, 0], x[:, 1], x[:, 2])
    return np.degrees(lon), np.degrees(lat)


def _polylines(
    key: np.ndarray, t_s: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> list[np.ndarray]:
    """One (n, 2) lon/lat polyline per distinct key, points in time order."""
    if key.shape[0] == 0:
        return []
    order = np.lexsort((t_s, key))
    key_sorted = key[order]
    cuts = np.flatnonzero(key_sorted[1:] != key_sorted[:-1]) + 1
    points = np.column_stack([lon[order], lat[order]])
    return np.split(points, cuts)


def _coast_edges(ring: np.ndarray, bbox: tuple[float, float, float, float]) -> np.ndarray:
    """A ring with NaN breaks where it runs along the clipping box (not a real coastline)."""
    lon_min, lat_min, lon_max, lat_max = bbox
    on_edge = np.zeros(ring.shape[0] - 1, dtype=bool)
    for axis, value in ((0, lon_min), (0, lon_max), (1, lat_min), (1, lat_max)):
        on_edge |= (ring[:-1, axis] == value) & (ring[1:, axis] == value)
    if not on_edge.any():
        return ring
    pieces = []
    start: int | np.integer = 0
    for i in np.flatnonzero(on_edge):
        if i + 1 - start >= 2:
            pieces.append(ring[start : i + 1])
        start = i + 1
    if ring.shape[0] - start >= 2:
        pieces.append(ring[start:])
    gap = np.full((1, 2), np.nan)
    return np.concatenate([p for piece in pieces for p in (piece, gap)]) if pieces else gap


_MAX_SITE_ALT_M = 100_000.0
"""Sensors higher than this (satellites) are left off the map."""


def plot_evaluation(
    truth: Truth,
    tracks: TrackRows,
    evaluation: Evaluation,
    path: str | os.PathLike[str],
    *,
    sensors: SensorTable | None = None,
) -> Path:
    """Draw truth, tracks and GOSPA over time into a PNG file.

    Left: a longitude/latitude map (equirectangular, aspect corrected at the mid latitude) of
    every truth trajectory (grey) and every track trajectory while ``confirmed`` or ``coasting``
    (colours), over the shipped coastlines, with sensor sites if given. Right, top: GOSPA over
    time split into its localisation, missed and false parts in metres
    (:attr:`Evaluation.gospa_parts_m`, stacked: the top edge is the GOSPA); right, bottom: the
    number of truth objects scored (the detectable ones when the evaluation scored only those),
    picture tracks, missed objects and false tracks.

    Parameters
    ----------
    truth : Truth
        Truth rows, ``x`` (n, 6) ECEF m, m/s.
    tracks : TrackRows
        Track rows, ``x`` (k, 6) ECEF m, m/s.
    evaluation : Evaluation
        :func:`airpicture.evaluate.evaluate_picture` of the same tables.
    path : str or path-like
        Output file (PNG); missing parent folders are created.
    sensors : SensorTable, optional
        Sensor sites to mark on the map.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        If matplotlib (the ``plot`` extra) is not installed.
    """
    Figure, LineCollection, PolyCollection, Line2D, MaxNLocator = _import_matplotlib()
    out = Path(path)

    x_truth = np.asarray(truth.x, dtype=np.float64)
    truth_lon, truth_lat = _lon_lat_deg(x_truth)
    picture = np.isin(np.asarray(tracks.status).astype(str), _PICTURE_STATUS)
    x_track = np.asarray(tracks.x, dtype=np.float64).reshape(-1, 6)[picture]
    track_lon, track_lat = _lon_lat_deg(x_track)
    if sensors is not None and len(sensors):
        # Sites in the air or on the ground; a satellite's sub-point would stretch the map.
        near = sensors.column("alt_m").astype(np.float64) < _MAX_SITE_ALT_M
        site_lon = np.degrees(sensors.column("lon_rad").astype(np.float64))[near]
        site_lat = np.degrees(sensors.column("lat_rad").astype(np.float64))[near]
        shown_sensors = [s for s, keep in zip(sensors.sensors, near, strict=True) if keep]
    else:
        shown_sensors = []
        site_lon = site_lat = np.empty(0)

    # One continuous longitude range: across the antimeridian, use [0, 360).
    all_lon = np.concatenate([truth_lon, track_lon, site_lon])
    if all_lon.size and all_lon.min() < -90.0 and all_lon.max() > 90.0:
        truth_lon, track_lon, site_lon = (a % 360.0 for a in (truth_lon, track_lon, site_lon))
        all_lon = all_lon % 360.0
    all_lat = np.concatenate([truth_lat, track_lat, site_lat])

    fig = Figure(figsize=(15.0, 6.8), dpi=100, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1.1, 1.0), height_ratios=(2.2, 1.0))
    ax_map = fig.add_subplot(grid[:, 0])
    ax_gospa = fig.add_subplot(grid[0, 1])
    ax_count = fig.add_subplot(grid[1, 1], sharex=ax_gospa)

    # ---- map
    lon_lo, lon_hi = float(all_lon.min()), float(all_lon.max())
    lat_lo, lat_hi = float(all_lat.min()), float(all_lat.max())
    margin = max(0.08 * max(lon_hi - lon_lo, lat_hi - lat_lo), 0.5)
    lon_lo, lon_hi = lon_lo - margin, lon_hi + margin
    lat_lo, lat_hi = lat_lo - margin, lat_hi + margin
    aspect = 1.0 / max(float(np.cos(np.radians(0.5 * (lat_lo + lat_hi)))), 0.05)
    # widen the shorter side so that the map fills its panel (about 0.85 high per unit wide)
    panel_ratio = 0.85
    lon_span, lat_span = lon_hi - lon_lo, lat_hi - lat_lo
    if lat_span * aspect < panel_ratio * lon_span:
        grow = 0.5 * (panel_ratio * lon_span / aspect - lat_span)
        lat_lo, lat_hi = max(lat_lo - grow, -90.0), min(lat_hi + grow, 90.0)
    else:
        grow = 0.5 * (lat_span * aspect / panel_ratio - lon_span)
        lon_lo, lon_hi = lon_lo - grow, lon_hi + grow
    ax_map.set_facecolor("#dbe9f4")
    rings, bbox = _coastline_data()
    ax_map.add_collection(PolyCollection(rings, facecolors="#f2efe6", edgecolors="none", zorder=0))
    ax_map.add_collection(
        LineCollection(
            [_coast_edges(r, bbox) for r in rings], colors="#8a8574", linewidths=0.6, zorder=1
        )
    )

    truth_lines = _polylines(
        np.asarray(truth.object_id).astype(str), np.asarray(truth.t_s), truth_lon, truth_lat
    )
    ax_map.add_collection(
        LineCollection(truth_lines, colors="0.25", linewidths=2.2, alpha=0.35, zorder=2)
    )
    ends = np.array([line[-1] for line in truth_lines]) if truth_lines else np.empty((0, 2))
    ax_map.plot(ends[:, 0], ends[:, 1], "o", ms=3, color="0.25", alpha=0.6, zorder=2)

    track_ids = np.asarray(tracks.track_id).astype(str)[picture]
    track_lines = _polylines(track_ids, np.asarray(tracks.t_s)[picture], track_lon, track_lat)
    palette = [f"C{i}" for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]  # C7 is grey, like the truth
    colours = [palette[i % len(palette)] for i in range(len(track_lines))]
    ax_map.add_collection(LineCollection(track_lines, colors=colours, linewidths=1.0, zorder=3))
    if track_lines:  # last positions, so that a track that never moved still shows
        last = np.array([line[-1] for line in track_lines])
        ax_map.scatter(last[:, 0], last[:, 1], s=9, c=colours, zorder=3)

    handles = [
        Line2D([], [], color="0.25", lw=2.2, alpha=0.35, label=f"truth ({len(truth_lines)})"),
        Line2D(
            [], [], color="C0", lw=1.0, label=f"tracks, confirmed/coasting ({len(track_lines)})"
        ),
    ]
    if site_lon.size:
        ax_map.plot(site_lon, site_lat, "^", ms=8, color="crimson", mec="k", mew=0.6, zorder=4)
        for sensor, lo, la in zip(shown_sensors, site_lon, site_lat, strict=True):
            ax_map.annotate(
                sensor.sensor_id,
                (lo, la),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                zorder=5,
            )
        handles.append(
            Line2D([], [], ls="none", marker="^", color="crimson", mec="k", label="sensors")
        )
    ax_map.set_xlim(lon_lo, lon_hi)
    ax_map.set_ylim(lat_lo, lat_hi)
    ax_map.set_aspect(aspect)  # equal distances east and north at the mid latitude
    ax_map.set_xlabel("longitude [deg]")
    ax_map.set_ylabel("latitude [deg]")
    ax_map.set_title("truth and track trajectories")
    ax_map.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    ax_map.grid(True, lw=0.3, color="0.6", alpha=0.6)

    # ---- GOSPA over time
    t0 = float(evaluation.t_s[0]) if evaluation.t_s.size else 0.0
    t_rel = evaluation.t_s - t0
    loc_m, missed_m, false_m = evaluation.gospa_parts_m
    ax_gospa.stackplot(
        t_rel,
        loc_m,
        missed_m,
        false_m,
        labels=("localisation", "missed", "false"),
        colors=("#4c72b0", "#dd8452", "#c44e52"),
        alpha=0.75,
    )
    dot = "o" if t_rel.size == 1 else None  # a single time draws no line: mark it
    ax_gospa.plot(t_rel, evaluation.gospa, color="k", lw=1.0, marker=dot, label="GOSPA")
    summary = evaluation.summary()
    ax_gospa.set_title(
        f"GOSPA (c = {evaluation.c_m:g} m, p = {evaluation.p:g}): "
        f"mean {summary['gospa_m']:.0f} m, completeness {summary['completeness']:.2f}, "
        f"track-number changes {summary['id_changes_total']:.0f}",
        fontsize=10,
    )
    ax_gospa.set_ylabel("GOSPA and parts [m]")
    top = float(np.max(evaluation.gospa)) if evaluation.gospa.size else 0.0
    ax_gospa.set_ylim(0.0, 1.2 * top if top > 0.0 else 1.0)  # room for the legend
    ax_gospa.legend(loc="upper right", fontsize=8, ncol=4)
    ax_gospa.grid(True, lw=0.3)

    ax_count.plot(
        t_rel,
        evaluation.n_truth,
        color="0.25",
        lw=1.2,
        marker=dot,
        label="detectable objects" if evaluation.detectable_only else "truth objects",
    )
    ax_count.plot(
        t_rel, evaluation.n_tracks, color="C0", lw=1.2, marker=dot, label="picture tracks"
    )
    ax_count.plot(t_rel, evaluation.n_missed, color="#dd8452", lw=1.0, marker=dot, label="missed")
    ax_count.plot(t_rel, evaluation.n_false, color="#c44e52", lw=1.0, marker=dot, label="false")
    changed = evaluation.id_changes > 0
    if changed.any():
        ax_count.plot(
            t_rel[changed],
            evaluation.id_changes[changed],
            "x",
            color="purple",
            label="track-number changes",
        )
    start = datetime.fromtimestamp(t0, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    ax_count.set_xlabel(f"time since {start} [s]")
    ax_count.set_ylabel("count")
    ax_count.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(int(evaluation.n_truth.max()), int(evaluation.n_tracks.max()), 1)
    ax_count.set_ylim(0.0, 1.6 * top)  # room for the legend
    ax_count.legend(loc="upper right", fontsize=8, ncol=3)
    ax_count.grid(True, lw=0.3)

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    logger.info("wrote %s", out)
    return out
