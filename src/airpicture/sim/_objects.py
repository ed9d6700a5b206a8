"""The simulated objects of a scenario: built from ``[[objects]]`` tables, evaluated at any time.

:func:`build_objects` checks the ``[[objects]]`` tables of a scenario file (keys in
``docs/scenarios.md``, section "Objects"), flies every object once on a fixed grid of nodes
(all objects of a kind together, vectorised over objects) and returns an :class:`ObjectSet`,
which gives the true ECEF states of all objects at any time by cubic Hermite interpolation
between the nodes (:mod:`airpicture.sim._trajectory`).

Object kinds (the ``kind`` column of the truth table): ``aircraft``, ``helicopter``, ``uav``,
``cruise`` (waypoint flight, :mod:`airpicture.sim._flight`) and ``ballistic`` (boost and free
flight, :mod:`airpicture.sim._missiles` over :mod:`airpicture.models._ballistic`). Table types
add two generators of aircraft: ``airliners`` (flights between real airports) and
``random_aircraft`` (meandering traffic in a box, for scale).

Times in the tables (``start_s``, ``launch_s``, ``start_window_s``) are seconds after the
scenario start ``t0_s``; times in the API are absolute (seconds since the Unix epoch), like
``t_s`` everywhere. Positions in the tables are degrees and metres above the WGS-84 ellipsoid.

Example
-------
>>> import numpy as np
>>> specs = [{"type": "aircraft", "id": "JAL1", "speed_mps": 230.0,
...           "waypoints": [[35.0, 135.0, 10000.0], [36.0, 136.0, 10000.0]]}]
>>> objects = build_objects(specs, source="demo.toml", t0_s=0.0, duration_s=60.0,
...                         rng=np.random.default_rng(1))
>>> objects.object_id.tolist(), objects.kind.tolist()
(['JAL1'], ['aircraft'])
>>> objects.states_at(30.0).shape
(1, 6)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.models._atmosphere import (
    AIR_DENSITY_SEA_LEVEL_KGPM3,
    AIR_SCALE_HEIGHT_M,
    Atmosphere,
)
from airpicture.sim._flight import FlightLimits, simulate_flights
from airpicture.sim._missiles import MissilePlan, aim_missiles, fly_missiles
from airpicture.sim._routes import (
    AIRPORTS,
    Routes,
    airliner_routes,
    gc_destination,
    gc_distance,
    random_routes,
)
from airpicture.sim._specs import MISSING, SpecReader, show
from airpicture.sim._trajectory import Trajectories
from airpicture.tables import Truth

__all__ = [
    "BALLISTIC_DEFAULTS",
    "FLIGHT_KINDS",
    "FLIGHT_STEP_S",
    "OBJECT_KINDS",
    "MAX_AIM_MISS_M",
    "OBJECT_TYPES",
    "FlightKind",
    "ObjectSet",
    "build_objects",
]

logger = logging.getLogger(__name__)

OBJECT_KINDS = ("aircraft", "helicopter", "uav", "cruise", "ballistic")
"""Object kinds, as written in the truth table."""

OBJECT_TYPES = (
    "aircraft",
    "helicopter",
    "uav",
    "cruise",
    "ballistic",
    "airliners",
    "random_aircraft",
)
"""Values of the ``type`` key of an ``[[objects]]`` table."""

FLIGHT_STEP_S = 2.0
"""Guidance step and node spacing of waypoint flight, s."""

MAX_AIM_MISS_M = 1000.0
"""Largest accepted distance of a ballistic impact from its aim point, m."""


@dataclass(frozen=True)
class FlightKind:
    """Defaults and limits of one kind of waypoint-flying object.

    Attributes
    ----------
    rcs_m2 : float
        Default radar cross section, m^2.
    max_bank_deg, roll_rate_deg_s : float
        Bank limit of coordinated turns and roll rate, degrees and degrees/s.
    max_accel_mps2, max_climb_mps, max_descent_mps, vertical_accel_mps2 : float
        Horizontal acceleration, climb and descent rates, vertical acceleration (m/s^2, m/s).
    speed_range_mps, alt_range_m : tuple of float
        Accepted horizontal speeds (m/s) and waypoint heights (m above the ellipsoid).
    """

    rcs_m2: float
    max_bank_deg: float
    roll_rate_deg_s: float
    max_accel_mps2: float
    max_climb_mps: float
    max_descent_mps: float
    vertical_accel_mps2: float
    speed_range_mps: tuple[float, float]
    alt_range_m: tuple[float, float]


FLIGHT_KINDS: dict[str, FlightKind] = {
    # airliner-like: 25 degrees of bank, 5 degrees/s roll, 15 m/s (3000 ft/min) climb/descent
    "aircraft": FlightKind(10.0, 25.0, 5.0, 1.0, 15.0, 15.0, 1.0, (40.0, 700.0), (0.0, 20000.0)),
    "helicopter": FlightKind(5.0, 30.0, 15.0, 1.5, 8.0, 8.0, 1.0, (10.0, 90.0), (0.0, 6000.0)),
    "uav": FlightKind(0.5, 30.0, 15.0, 1.0, 5.0, 5.0, 0.5, (10.0, 200.0), (0.0, 20000.0)),
    # sea-skimming / terrain-following cruise missile, 60 degrees of bank (2 g turns)
    "cruise": FlightKind(0.1, 60.0, 45.0, 2.0, 10.0, 10.0, 2.0, (150.0, 350.0), (30.0, 200.0)),
}
"""Defaults of the single waypoint-flying kinds; an ``aircraft`` with ``max_bank_deg`` above 30
is taken as a fighter and rolls at 30 degrees/s."""

BALLISTIC_DEFAULTS: dict[str, float] = {
    "rcs_m2": 1.0,
    "thrust_accel_mps2": 40.0,
    "vertical_rise_s": 8.0,
    "burnout_pitch_deg": 25.0,
    "ballistic_coefficient_kg_m2": 5000.0,
    "atmosphere_density_kg_m3": AIR_DENSITY_SEA_LEVEL_KGPM3,
    "atmosphere_scale_height_m": AIR_SCALE_HEIGHT_M,
}
"""Defaults of a ``ballistic`` table."""

_FLIGHT_KEYS = (
    "type", "id", "waypoints", "speed_mps", "start_s", "rcs_m2",
    "max_bank_deg", "max_climb_mps", "max_descent_mps", "max_accel_mps2",
)  # fmt: skip
_AIRLINER_KEYS = (
    "type", "count", "id_prefix", "cities", "start_window_s", "airborne_fraction",
    "alt_m", "speed_mps", "rcs_m2",
)  # fmt: skip
_RANDOM_KEYS = (
    "type", "count", "id_prefix", "box", "alt_m", "speed_mps", "leg_km", "start_window_s",
    "rcs_m2", "max_bank_deg",
)  # fmt: skip
_BALLISTIC_KEYS = (
    "type", "id", "launch", "launch_s", "aim", "azimuth_deg", "range_km", "burn_time_s",
    "thrust_accel_mps2", "vertical_rise_s", "burnout_pitch_deg", "ballistic_coefficient_kg_m2",
    "rcs_m2", "random_accel_q_m2_s3", "atmosphere_density_kg_m3", "atmosphere_scale_height_m",
)  # fmt: skip
_MAX_GROUP = 100_000
_RANGE_KM = (50.0, 3000.0)


@dataclass(frozen=True)
class _Group:
    """Trajectories of some objects of the set, at positions ``rows`` of the set."""

    rows: np.ndarray
    trajectories: Trajectories


@dataclass(frozen=True)
class ObjectSet:
    """k simulated objects as a structure of arrays, evaluated at any time.

    Attributes
    ----------
    object_id : ndarray of str, shape (k,)
        Unique ids.
    kind : ndarray of str, shape (k,)
        One of :data:`OBJECT_KINDS`.
    rcs_m2 : ndarray, shape (k,)
        Mean radar cross section, m^2.
    t_start_s : ndarray, shape (k,)
        First time the object exists (take-off, entry, launch), s since the epoch.
    t_end_s : ndarray, shape (k,)
        Last time it exists, s: the end of its route, its impact (``ballistic``: the state there
        is the impact point at height 0), or its first node at or after the scenario end.
    """

    object_id: np.ndarray
    kind: np.ndarray
    rcs_m2: np.ndarray
    t_start_s: np.ndarray
    t_end_s: np.ndarray
    _burnout_s: np.ndarray = field(repr=False)
    _groups: tuple[_Group, ...] = field(repr=False)

    def __len__(self) -> int:
        return int(self.object_id.shape[0])

    def _times(self, t_s: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(t_s, dtype=float), (len(self),))

    def states_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """True states of all objects at one time, or at one time per object.

        Parameters
        ----------
        t_s : float or ndarray, shape (k,)
            Time, s since the epoch: one for all objects or one per object.

        Returns
        -------
        x : ndarray, shape (k, 6)
            ECEF states ``[x, y, z, vx, vy, vz]``, m and m/s; NaN rows for objects that do not
            exist at their time (before ``t_start_s`` or after ``t_end_s``).
        """
        t = self._times(t_s)
        out = np.full((len(self), 6), np.nan)
        for group in self._groups:
            out[group.rows] = group.trajectories.states_at(t[group.rows])
        return out

    def boosting(self, t_s: np.ndarray | float) -> np.ndarray:
        """Which objects burn a rocket motor (``ballistic`` during boost), for IR sensors.

        Parameters
        ----------
        t_s : float or ndarray, shape (k,)
            Time, s: one for all objects or one per object.

        Returns
        -------
        ndarray of bool, shape (k,)
        """
        t = self._times(t_s)
        with np.errstate(invalid="ignore"):
            return (t >= self.t_start_s) & (t < self._burnout_s)

    def truth(self, times_s: np.ndarray) -> Truth:
        """The truth table (data contract) at the given times, alive objects only.

        Parameters
        ----------
        times_s : ndarray, shape (m,)
            Times, s since the epoch.

        Returns
        -------
        Truth
            One row per alive object per time, ordered by time and then by object.
        """
        t_parts, idx_parts, x_parts = [], [], []
        for t in np.asarray(times_s, dtype=float).reshape(-1):
            x = self.states_at(t)
            alive = np.nonzero(np.isfinite(x[:, 0]))[0]
            t_parts.append(np.full(alive.size, t))
            idx_parts.append(alive)
            x_parts.append(x[alive])
        if not t_parts:
            return Truth(np.empty(0), self.object_id[:0], self.kind[:0], np.empty((0, 6)))
        idx = np.concatenate(idx_parts)
        return Truth(
            t_s=np.concatenate(t_parts),
            object_id=self.object_id[idx],
            kind=self.kind[idx],
            x=np.concatenate(x_parts).reshape(-1, 6),
        )


# --- building ------------------------------------------------------------------------------


@dataclass
class _Pending:
    """Objects read from the tables and not yet flown."""

    ids: list[str] = field(default_factory=list)
    id_keys: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    rcs: list[float] = field(default_factory=list)
    flight_rows: list[np.ndarray] = field(default_factory=list)
    routes: list[Routes] = field(default_factory=list)
    limits: list[FlightLimits] = field(default_factory=list)
    flight_t0: list[np.ndarray] = field(default_factory=list)
    missile_rows: list[int] = field(default_factory=list)
    missiles: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ids: Sequence[str], id_key: str, kind: str, rcs: float) -> np.ndarray:
        start = len(self.ids)
        self.ids.extend(ids)
        self.id_keys.extend([id_key] * len(ids))
        self.kinds.extend([kind] * len(ids))
        self.rcs.extend([rcs] * len(ids))
        return np.arange(start, len(self.ids))


def _limits(
    kind: FlightKind,
    count: int,
    *,
    bank_deg: float,
    climb: float,
    descent: float,
    accel: float,
    roll_deg_s: float,
) -> FlightLimits:
    def full(v: float) -> np.ndarray:
        return np.full(count, float(v))

    return FlightLimits(
        max_bank_rad=full(np.radians(bank_deg)),
        roll_rate_radps=full(np.radians(roll_deg_s)),
        accel_mps2=full(accel),
        climb_mps=full(climb),
        descent_mps=full(descent),
        vertical_accel_mps2=full(kind.vertical_accel_mps2),
    )  # fmt: skip


def _read_flight(
    spec: SpecReader, kind_name: str, pending: _Pending, *, t0_s: float, duration_s: float
) -> None:
    kind = FLIGHT_KINDS[kind_name]
    object_id = spec.identifier("id")
    wps = spec.waypoints("waypoints", alt_lo=kind.alt_range_m[0], alt_hi=kind.alt_range_m[1])
    lat = np.radians([w[0] for w in wps])
    lon = np.radians([w[1] for w in wps])
    gaps = gc_distance(lat[:-1], lon[:-1], lat[1:], lon[1:])
    for i in np.nonzero(gaps < 100.0)[0]:
        raise ConfigError(
            spec.source,
            key=f"{spec.key('waypoints')}[{i + 1}]",
            expected="a waypoint at least 100 m from the one before",
            got=f"{show(spec.data['waypoints'][i + 1])}, {gaps[i]:.0f} m away",
        )
    lo_v, hi_v = kind.speed_range_mps
    raw_speed = spec.data.get("speed_mps")
    if isinstance(raw_speed, list):
        speeds = spec.number_list(
            "speed_mps", length=len(wps), lo=lo_v, hi=hi_v, what="speeds (one per waypoint, m/s)"
        )
    else:
        speeds = [spec.number("speed_mps", lo=lo_v, hi=hi_v)] * len(wps)
    start_s = spec.number("start_s", default=0.0, hi=duration_s, hi_open=True)
    rcs = spec.number("rcs_m2", default=kind.rcs_m2, lo=0.0, hi=1e4, lo_open=True)
    bank = spec.number("max_bank_deg", default=kind.max_bank_deg, lo=5.0, hi=80.0)
    roll = kind.roll_rate_deg_s if (kind_name != "aircraft" or bank <= 30.0) else 30.0
    climb = spec.number("max_climb_mps", default=kind.max_climb_mps, lo=0.5, hi=300.0)
    descent = spec.number("max_descent_mps", default=kind.max_descent_mps, lo=0.5, hi=300.0)
    accel = spec.number("max_accel_mps2", default=kind.max_accel_mps2, lo=0.05, hi=100.0)
    spec.finish(
        _FLIGHT_KEYS,
        f"an {kind_name!r} object" if kind_name[0] in "aeiou" else f"a {kind_name!r} object",
    )
    alt = np.array([w[2] for w in wps])
    routes = Routes.from_waypoints(lat[None], lon[None], alt[None], np.array(speeds)[None])
    rows = pending.add([object_id], spec.key("id"), kind_name, rcs)
    pending.flight_rows.append(rows)
    pending.routes.append(routes)
    pending.limits.append(
        _limits(kind, 1, bank_deg=bank, climb=climb, descent=descent, accel=accel, roll_deg_s=roll)
    )
    pending.flight_t0.append(np.array([t0_s + start_s]))


def _group_ids(prefix: str, count: int) -> list[str]:
    width = len(str(count))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _read_airliners(
    spec: SpecReader, pending: _Pending, *, t0_s: float, duration_s: float, rng: np.random.Generator
) -> None:
    count = spec.integer("count", lo=1, hi=_MAX_GROUP)
    prefix = spec.identifier("id_prefix", default="AL", max_len=32)
    codes = tuple(a.code for a in AIRPORTS)
    cities = tuple(spec.string_list("cities", choices=codes)) if spec.has("cities") else codes
    window = spec.number("start_window_s", default=duration_s, lo=0.0, hi=duration_s)
    airborne = spec.number("airborne_fraction", default=0.7, lo=0.0, hi=1.0)
    alt_range = spec.number_range("alt_m", default=(9000.0, 12000.0), lo=3000.0, hi=13500.0)
    speed_range = spec.number_range("speed_mps", default=(220.0, 260.0), lo=150.0, hi=300.0)
    rcs = spec.number(
        "rcs_m2", default=FLIGHT_KINDS["aircraft"].rcs_m2, lo=0.0, hi=1e4, lo_open=True
    )
    spec.finish(_AIRLINER_KEYS, "an 'airliners' group")
    table = {a.code: a for a in AIRPORTS}
    lat = np.radians([table[c].lat_deg for c in cities])
    lon = np.radians([table[c].lon_deg for c in cities])
    if not np.any(gc_distance(lat[:, None], lon[:, None], lat[None], lon[None]) >= 300e3):
        raise spec.error(
            "cities", "at least two airports 300 km or more apart", spec.data["cities"]
        )
    routes, in_flight = airliner_routes(
        rng, count, codes=cities, alt_range_m=alt_range, speed_range_mps=speed_range,
        airborne_fraction=airborne,
    )  # fmt: skip
    departure = t0_s + rng.uniform(0.0, window, count)
    kind = FLIGHT_KINDS["aircraft"]
    rows = pending.add(_group_ids(prefix, count), spec.key("id_prefix"), "aircraft", rcs)
    pending.flight_rows.append(rows)
    pending.routes.append(routes)
    pending.limits.append(
        _limits(
            kind,
            count,
            bank_deg=kind.max_bank_deg,
            climb=kind.max_climb_mps,
            descent=kind.max_descent_mps,
            accel=kind.max_accel_mps2,
            roll_deg_s=kind.roll_rate_deg_s,
        )
    )
    pending.flight_t0.append(np.where(in_flight, t0_s, departure))


def _read_random(
    spec: SpecReader, pending: _Pending, *, t0_s: float, duration_s: float, rng: np.random.Generator
) -> None:
    count = spec.integer("count", lo=1, hi=_MAX_GROUP)
    prefix = spec.identifier("id_prefix", default="RA", max_len=32)
    box = spec.number_list("box", length=4, what="numbers [lat_min, lat_max, lon_min, lon_max]")
    lat_min, lat_max, lon_min, lon_max = box
    if not (-85.0 <= lat_min < lat_max <= 85.0 and -180.0 <= lon_min < lon_max <= 180.0):
        raise spec.error(
            "box",
            "[lat_min, lat_max, lon_min, lon_max] degrees with -85 <= lat_min < lat_max <= 85 "
            "and -180 <= lon_min < lon_max <= 180",
            spec.data["box"],
        )
    alt_range = spec.number_range("alt_m", default=(1000.0, 12000.0), lo=0.0, hi=20000.0)
    speed_range = spec.number_range("speed_mps", default=(100.0, 260.0), lo=40.0, hi=350.0)
    leg_km = spec.number_range("leg_km", default=(20.0, 150.0), lo=1.0, hi=2000.0)
    window = spec.number("start_window_s", default=0.0, lo=0.0, hi=duration_s)
    kind = FLIGHT_KINDS["aircraft"]
    rcs = spec.number("rcs_m2", default=kind.rcs_m2, lo=0.0, hi=1e4, lo_open=True)
    bank = spec.number("max_bank_deg", default=kind.max_bank_deg, lo=5.0, hi=80.0)
    spec.finish(_RANDOM_KEYS, "a 'random_aircraft' group")
    routes = random_routes(
        rng, count, box_rad=tuple(np.radians(box)), alt_range_m=alt_range,
        speed_range_mps=speed_range, leg_range_m=(leg_km[0] * 1e3, leg_km[1] * 1e3),
        route_length_m=1.1 * speed_range[1] * (duration_s + window) + 2e3 * leg_km[1],
    )  # fmt: skip
    start = t0_s + (rng.uniform(0.0, window, count) if window > 0 else np.zeros(count))
    rows = pending.add(_group_ids(prefix, count), spec.key("id_prefix"), "aircraft", rcs)
    pending.flight_rows.append(rows)
    pending.routes.append(routes)
    roll = kind.roll_rate_deg_s if bank <= 30.0 else 30.0
    pending.limits.append(
        _limits(
            kind,
            count,
            bank_deg=bank,
            climb=kind.max_climb_mps,
            descent=kind.max_descent_mps,
            accel=kind.max_accel_mps2,
            roll_deg_s=roll,
        )
    )
    pending.flight_t0.append(start)


def _read_ballistic(spec: SpecReader, pending: _Pending, *, t0_s: float, duration_s: float) -> None:
    object_id = spec.identifier("id")
    d = BALLISTIC_DEFAULTS
    lat0, lon0, alt0 = spec.point("launch", with_alt=True, alt_lo=-100.0, alt_hi=5000.0)
    launch_s = spec.number("launch_s", default=0.0, hi=duration_s, hi_open=True)
    has_aim = spec.has("aim")
    has_polar = spec.has("azimuth_deg") or spec.has("range_km")
    if has_aim == has_polar:
        raise spec.error(
            "aim",
            "either aim = [lat_deg, lon_deg] or both azimuth_deg and range_km",
            spec.data.get("aim", "neither" if not has_polar else "both"),
        )
    if has_aim:
        aim_lat, aim_lon, _ = spec.point("aim", with_alt=False)
        range_m = float(gc_distance(*np.radians([lat0, lon0, aim_lat, aim_lon])))
        if not _RANGE_KM[0] <= range_m / 1e3 <= _RANGE_KM[1]:
            raise spec.error(
                "aim",
                f"an aim point {_RANGE_KM[0]:g} to {_RANGE_KM[1]:g} km from the launch point",
                f"{spec.data['aim']!r}, {range_m / 1e3:.0f} km away",
            )
        aim_key = "aim"
    else:
        azimuth = spec.number("azimuth_deg", lo=0.0, hi=360.0, hi_open=True)
        range_km = spec.number("range_km", lo=_RANGE_KM[0], hi=_RANGE_KM[1])
        la, lo = gc_destination(
            np.radians(lat0), np.radians(lon0), np.radians(azimuth), range_km * 1e3
        )
        aim_lat, aim_lon = float(np.degrees(la)), float(np.degrees(lo))
        aim_key = "range_km"
    burn = spec.number("burn_time_s", default=None, lo=10.0, hi=900.0)
    thrust = spec.number("thrust_accel_mps2", default=None, lo=12.0, hi=400.0)
    if burn is not None and thrust is not None:
        raise spec.error(
            "burn_time_s",
            "at most one of burn_time_s and thrust_accel_mps2 (the "
            "other is solved to reach the aim point)",
            spec.data["burn_time_s"],
        )
    rise = spec.number("vertical_rise_s", default=d["vertical_rise_s"], lo=1.0, hi=60.0)
    if burn is not None and burn < rise + 5.0:
        raise spec.error(
            "burn_time_s",
            f"a burn time at least vertical_rise_s + 5 = {rise + 5:g} s",
            spec.data["burn_time_s"],
        )
    pitch = spec.number("burnout_pitch_deg", default=d["burnout_pitch_deg"], lo=5.0, hi=85.0)
    beta = spec.number(
        "ballistic_coefficient_kg_m2", default=d["ballistic_coefficient_kg_m2"], lo=50.0, hi=1e6
    )
    rcs = spec.number("rcs_m2", default=d["rcs_m2"], lo=0.0, hi=1e4, lo_open=True)
    random_q = spec.number("random_accel_q_m2_s3", default=0.0, lo=0.0, hi=1e5)
    atmosphere = Atmosphere(
        spec.number(
            "atmosphere_density_kg_m3", default=d["atmosphere_density_kg_m3"], lo=0.1, hi=10.0
        ),
        spec.number(
            "atmosphere_scale_height_m", default=d["atmosphere_scale_height_m"], lo=3000.0,
            hi=20000.0,
        ),
    )  # fmt: skip
    spec.finish(_BALLISTIC_KEYS, "a 'ballistic' object")
    row = pending.add([object_id], spec.key("id"), "ballistic", rcs)
    pending.missile_rows.append(int(row[0]))
    pending.missiles.append({
        "launch": (np.radians(lat0), np.radians(lon0), alt0), "t": t0_s + launch_s,
        "aim": (np.radians(aim_lat), np.radians(aim_lon)), "aim_key": spec.key(aim_key),
        "source": spec.source, "solve_burn": burn is None,
        "burn": burn if burn is not None else 100.0,
        "thrust": thrust if thrust is not None else d["thrust_accel_mps2"],
        "rise": rise, "pitch": np.radians(pitch), "beta": beta, "q": random_q,
        "atmosphere": atmosphere,
    })  # fmt: skip


def _fly_missiles(
    pending: _Pending, *, t0_s: float, rng: np.random.Generator
) -> list[tuple[np.ndarray, Trajectories, np.ndarray]]:
    """Aim and fly the missiles, one batch per atmosphere: (rows, trajectories, burnout times)
    of each batch. Random accelerations act from the later of burnout and the scenario start
    ``t0_s``; they are drawn from ``rng`` after aiming (the aim is that of the mean flight)."""
    batches: dict[Atmosphere, list[int]] = {}
    for k, p in enumerate(pending.missiles):
        batches.setdefault(p["atmosphere"], []).append(k)
    flown = []
    for atmosphere, members in batches.items():
        m = [pending.missiles[k] for k in members]

        def col(name: str, i: int | None = None, m: list[dict[str, Any]] = m) -> np.ndarray:
            return np.array([p[name] if i is None else p[name][i] for p in m], dtype=float)

        plan = MissilePlan(
            launch_lat_rad=col("launch", 0), launch_lon_rad=col("launch", 1),
            launch_alt_m=col("launch", 2), launch_t_s=col("t"),
            azimuth_rad=np.zeros(len(m)), vertical_rise_s=col("rise"), burn_time_s=col("burn"),
            burnout_pitch_rad=col("pitch"), thrust_accel_mps2=col("thrust"),
            beta_kgpm2=col("beta"),
        )  # fmt: skip
        plan, flights, miss = aim_missiles(
            plan, col("aim", 0), col("aim", 1),
            solve_burn_time=np.array([p["solve_burn"] for p in m]), atmosphere=atmosphere,
        )  # fmt: skip
        for i, p in enumerate(m):
            if miss[i] > MAX_AIM_MISS_M:
                raise ConfigError(
                    p["source"], key=p["aim_key"],
                    expected="an aim point within reach of the missile's burn time or thrust "
                    "acceleration",
                    got=f"an impact {miss[i] / 1e3:.1f} km from it" if np.isfinite(miss[i])
                    else "a flight that does not come down",
                )  # fmt: skip
        logger.info(
            "aimed %d ballistic missiles: largest miss %.1f m, burn times %s s",
            len(m), float(miss.max()), np.round(plan.burn_time_s, 1).tolist(),
        )  # fmt: skip
        q = col("q")
        if np.any(q > 0.0):
            flights = fly_missiles(
                plan, atmosphere=atmosphere, random_accel_q=q,
                random_accel_from_s=np.full(len(m), t0_s), rng=rng,
            )  # fmt: skip
        rows = np.array([pending.missile_rows[k] for k in members])
        flown.append((rows, flights.trajectories, flights.burnout_t_s))
    return flown


def build_objects(
    specs: Sequence[Mapping[str, Any]],
    *,
    source: str,
    t0_s: float,
    duration_s: float,
    rng: np.random.Generator,
) -> ObjectSet:
    """Check the ``[[objects]]`` tables of a scenario and fly every object.

    Parameters
    ----------
    specs : sequence of dict
        The ``[[objects]]`` tables as parsed by ``tomllib``; keys in ``docs/scenarios.md``,
        section "Objects".
    source : str
        The scenario file name, for error messages.
    t0_s : float
        Scenario start, s since the epoch; table times are relative to it.
    duration_s : float
        Scenario length, s (positive). Waypoint flights are simulated until the end;
        ballistic missiles until impact.
    rng : numpy.random.Generator
        Randomness of the ``airliners`` and ``random_aircraft`` groups, drawn in table order,
        then of the random accelerations of ``ballistic`` objects: the same generator state
        gives identical objects.

    Returns
    -------
    ObjectSet
        The objects in table order (a group's objects in the order of their ids).

    Raises
    ------
    ConfigError
        For a table that cannot be used: names ``source``, the key (``objects[3].speed_mps``,
        0-based), what was expected and what was found. Unknown keys and duplicate ids are errors.
    """
    pending = _Pending()
    for i, data in enumerate(specs):
        spec = SpecReader(data, source, f"objects[{i}]")
        type_name = spec.data.get("type")
        if type_name not in OBJECT_TYPES:
            raise spec.error(
                "type", f"one of {', '.join(OBJECT_TYPES)}", spec.data.get("type", MISSING)
            )
        if type_name in FLIGHT_KINDS:
            _read_flight(spec, type_name, pending, t0_s=t0_s, duration_s=duration_s)
        elif type_name == "airliners":
            _read_airliners(spec, pending, t0_s=t0_s, duration_s=duration_s, rng=rng)
        elif type_name == "random_aircraft":
            _read_random(spec, pending, t0_s=t0_s, duration_s=duration_s, rng=rng)
        else:
            _read_ballistic(spec, pending, t0_s=t0_s, duration_s=duration_s)
    _check_unique(pending, source)

    k = len(pending.ids)
    groups: list[_Group] = []
    burnout = np.full(k, np.nan)
    if pending.routes:
        rows = np.concatenate(pending.flight_rows)
        trajectories = simulate_flights(
            Routes.concat(pending.routes), FlightLimits.concat(pending.limits),
            t_start_s=np.concatenate(pending.flight_t0), t_stop_s=t0_s + duration_s,
            step_s=FLIGHT_STEP_S,
        )  # fmt: skip
        groups.append(_Group(rows, trajectories))
    for rows, trajectories, burnout_s in _fly_missiles(pending, t0_s=t0_s, rng=rng):
        groups.append(_Group(rows, trajectories))
        burnout[rows] = burnout_s
    t_start = np.full(k, np.nan)
    t_end = np.full(k, np.nan)
    for group in groups:
        t_start[group.rows] = group.trajectories.t_first_s
        t_end[group.rows] = group.trajectories.t_last_s
    logger.info("built %d objects from %s", k, source)
    return ObjectSet(
        object_id=np.array(pending.ids, dtype=str),
        kind=np.array(pending.kinds, dtype=str),
        rcs_m2=np.array(pending.rcs, dtype=float),
        t_start_s=t_start,
        t_end_s=t_end,
        _burnout_s=burnout,
        _groups=tuple(groups),
    )


def _check_unique(pending: _Pending, source: str) -> None:
    seen: dict[str, str] = {}
    for object_id, key in zip(pending.ids, pending.id_keys, strict=True):
        if object_id in seen:
            raise ConfigError(
                source,
                key=key,
                expected=f"ids not used by another object (already used by {seen[object_id]})",
                got=repr(object_id),
            )
        seen[object_id] = key
