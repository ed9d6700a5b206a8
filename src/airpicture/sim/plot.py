"""A map of a simulated scenario: trajectories, sensor sites, platform paths and coverage.

matplotlib is an optional dependency (the ``plot`` extra), imported only inside
:func:`plot_scenario`, which draws with the Agg renderer on its own figure (no pyplot, no global
backend change). Coastlines come from :func:`airpicture.evaluate.plot.load_coastlines` (shipped
in the package, never downloaded).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.evaluate.plot import load_coastlines
from airpicture.geo import ecef2geodetic
from airpicture.sim._scenario import Scenario, SensorConfig
from airpicture.sim._sensors import effective_earth_radius_m
from airpicture.tables import Truth

__all__ = ["COVERAGE_TARGET_ALT_M", "coverage_radius_m", "plot_scenario"]

logger = logging.getLogger(__name__)

COVERAGE_TARGET_ALT_M = 10000.0
"""Coverage circles are drawn for targets at this height, m (a cruising airliner)."""

_MEAN_RADIUS_M = 6371008.8
_KIND_STYLE = {
    "ballistic": ("#c0392b", 1.6),
    "cruise": ("#e67e22", 1.4),
    "helicopter": ("#27ae60", 1.0),
    "uav": ("#16a085", 1.0),
}
_DEFAULT_STYLE = ("0.35", 0.6)
_PLATFORM_MARKER = {"ground": "^", "ship": "s", "airborne": "D", "space": "*"}


def coverage_radius_m(
    sensor: SensorConfig,
    sensor_lat_rad: float,
    sensor_alt_m: float,
    target_alt_m: float = COVERAGE_TARGET_ALT_M,
) -> float:
    """Ground distance within which a sensor can see a target at a given height, m.

    The smaller of the instrumented range and the k-earth radio horizon
    ``sqrt(2 k R h_sensor) + sqrt(2 k R h_target)``, R the Gaussian radius at the sensor's
    latitude (rad); the elevation and sector limits are not drawn.
    """
    r_eff = float(effective_earth_radius_m(sensor_lat_rad, sensor.refraction_k))
    horizon = math.sqrt(2 * r_eff * max(sensor_alt_m, 0.0)) + math.sqrt(2 * r_eff * target_alt_m)
    return min(sensor.max_range_m, horizon)


def _circle(lat_rad: float, lon_rad: float, radius_m: float) -> np.ndarray:
    """Points (n, 2) [lon_deg, lat_deg] at a great-circle distance around a centre."""
    bearing = np.linspace(0.0, 2.0 * np.pi, 181)
    d = radius_m / _MEAN_RADIUS_M
    lat = np.arcsin(np.sin(lat_rad) * np.cos(d) + np.cos(lat_rad) * np.sin(d) * np.cos(bearing))
    lon = lon_rad + np.arctan2(
        np.sin(bearing) * np.sin(d) * np.cos(lat_rad), np.cos(d) - np.sin(lat_rad) * np.sin(lat)
    )
    return np.column_stack([np.degrees(lon), np.degrees(lat)])


def _import_matplotlib() -> tuple[Any, Any, Any, Any]:
    try:
        from matplotlib.collections import LineCollection, PolyCollection
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError as exc:
        raise ConfigError(
            "airpicture.sim.plot",
            key="matplotlib",
            expected="the optional plotting dependency (pip install 'airpicture[plot]')",
            got=f"it is not installed ({exc})",
        ) from exc
    return Figure, LineCollection, PolyCollection, Line2D


def _trajectories(truth: Truth) -> tuple[list[np.ndarray], list[str]]:
    """One (n, 2) lon/lat polyline per object, in time order, and its kind."""
    if len(truth) == 0:
        return [], []
    lat, lon, _ = ecef2geodetic(truth.x[:, 0], truth.x[:, 1], truth.x[:, 2])
    ids = np.asarray(truth.object_id).astype(str)
    order = np.lexsort((np.asarray(truth.t_s), ids))
    ids = ids[order]
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    points = np.column_stack([np.degrees(lon[order]), np.degrees(lat[order])])
    kinds = np.asarray(truth.kind).astype(str)[order]
    starts = np.concatenate([[0], cuts])
    return np.split(points, cuts), [str(kinds[i]) for i in starts]


def plot_scenario(scenario: Scenario, truth: Truth, path: str | os.PathLike[str]) -> Path:
    """Draw a scenario's map into a PNG file.

    Truth trajectories (coloured by kind), every sensor's site at the start (marker by platform,
    colour by nation), the path a moving platform follows during the scenario, and each
    sensor's coverage circle against targets at :data:`COVERAGE_TARGET_ALT_M`
    (:func:`coverage_radius_m`; space sensors have none drawn), over the shipped coastlines, on
    an equirectangular map corrected for the mid latitude.

    Parameters
    ----------
    scenario : Scenario
    truth : Truth
        Truth rows (``x`` (n, 6), ECEF m and m/s), e.g. :func:`airpicture.io.read_truth`.
    path : str or path-like
        PNG file to write; missing parent folders are created.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        If matplotlib (the ``plot`` extra) is not installed.
    """
    Figure, LineCollection, PolyCollection, Line2D = _import_matplotlib()
    out = Path(path)
    colours = {n.code: (n.colour or f"C{i}") for i, n in enumerate(scenario.nations)}

    lines, kinds = _trajectories(truth)
    times = scenario.t0_s + np.linspace(0.0, scenario.duration_s, 200)
    sites, tracks, circles = [], [], []
    for sensor in scenario.sensors:
        lat, lon, alt = sensor.path.geodetic_at(times)
        sites.append((sensor, math.degrees(lon[0]), math.degrees(lat[0])))
        if sensor.path.is_moving:
            tracks.append((sensor, np.column_stack([np.degrees(lon), np.degrees(lat)])))
        if sensor.platform != "space":
            radius = coverage_radius_m(sensor, float(lat[0]), float(alt[0]))
            circles.append((sensor, _circle(float(lat[0]), float(lon[0]), radius)))

    # Extent: everything drawn except space sensors, with a margin.
    pts = [line for line in lines] + [c for _, c in circles] + [t for _, t in tracks]
    pts += [np.array([[lo, la]]) for s, lo, la in sites if s.platform != "space"]
    allp = np.concatenate(pts) if pts else np.array([[135.0, 38.0]])
    lon_lo, lat_lo = allp.min(axis=0)
    lon_hi, lat_hi = allp.max(axis=0)
    margin = max(0.04 * max(lon_hi - lon_lo, lat_hi - lat_lo), 0.3)
    lon_lo, lon_hi, lat_lo, lat_hi = (
        lon_lo - margin,
        lon_hi + margin,
        lat_lo - margin,
        lat_hi + margin,
    )

    fig = Figure(figsize=(11.0, 9.0), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor("#dbe9f4")
    rings = load_coastlines()
    ax.add_collection(
        PolyCollection(rings, facecolors="#f2efe6", edgecolors="#8a8574", linewidths=0.5, zorder=0)
    )
    for sensor, circle in circles:
        ax.plot(
            circle[:, 0],
            circle[:, 1],
            color=colours[sensor.nation],
            lw=0.8,
            alpha=0.6,
            ls="--",
            zorder=1,
        )
    styles = [_KIND_STYLE.get(kind, _DEFAULT_STYLE) for kind in kinds]
    if lines:
        ax.add_collection(
            LineCollection(
                lines,
                colors=[s[0] for s in styles],
                linewidths=[s[1] for s in styles],
                alpha=0.8,
                zorder=2,
            )
        )
    for sensor, track in tracks:
        ax.plot(track[:, 0], track[:, 1], color=colours[sensor.nation], lw=2.0, zorder=3)
    for sensor, lo, la in sites:
        if sensor.platform == "space":
            continue
        ax.plot(
            lo,
            la,
            _PLATFORM_MARKER[sensor.platform],
            ms=8,
            color=colours[sensor.nation],
            mec="k",
            mew=0.6,
            zorder=4,
        )
        ax.annotate(
            sensor.sensor_id,
            (lo, la),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
            zorder=5,
        )

    handles = []
    present = sorted(set(kinds))
    for kind in present:
        colour, width = _KIND_STYLE.get(kind, _DEFAULT_STYLE)
        count = kinds.count(kind)
        handles.append(Line2D([], [], color=colour, lw=max(width, 1.0), label=f"{kind} ({count})"))
    for platform, marker in _PLATFORM_MARKER.items():
        n = sum(1 for s, _, _ in sites if s.platform == platform)
        if n:
            label = f"{platform} sensors ({n})" + (", not drawn" if platform == "space" else "")
            handles.append(
                Line2D([], [], ls="none", marker=marker, color="0.5", mec="k", label=label)
            )
    for nation in scenario.nations:
        handles.append(Line2D([], [], color=colours[nation.code], lw=2.0, label=nation.name))
    handles.append(
        Line2D(
            [],
            [],
            color="0.4",
            ls="--",
            lw=0.8,
            label=f"coverage at {COVERAGE_TARGET_ALT_M / 1000:g} km altitude",
        )
    )
    ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.85)
    ax.set_xlim(lon_lo, lon_hi)
    ax.set_ylim(lat_lo, lat_hi)
    ax.set_aspect(1.0 / max(math.cos(math.radians(0.5 * (lat_lo + lat_hi))), 0.05))
    ax.set_xlabel("longitude [deg]")
    ax.set_ylabel("latitude [deg]")
    ax.set_title(f"{scenario.name}: {scenario.description}", fontsize=10)
    ax.grid(True, lw=0.3, color="0.6", alpha=0.6)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    logger.info("wrote %s", out)
    return out
