"""Release policy: which of a nation's sensors may be seen by which nations.

A policy belongs to one owning nation. For each of the owner's sensors it lists the nations its
detections are released to; sensors not listed get ``default``. The owner always sees its own
sensors, and a node never releases another nation's sensors (no re-release). The decision is a
pure function of (sensor, recipient nation, policy): :func:`releasable` for one detection and
:func:`release_mask` for a whole batch.

In a node's TOML file::

    [release]
    default = ["USA", "AUS"]        # every own sensor not listed below; "*" means every nation
    [release.sensors]
    JPN-ASR-2 = ["USA"]             # this sensor goes to the USA only

Example
-------
>>> policy = ReleasePolicy(owner="JPN", default=frozenset({"USA", "AUS"}),
...                        sensors={"JPN-ASR-2": frozenset({"USA"})})
>>> releasable("JPN-ASR-2", "AUS", policy), releasable("JPN-ASR-1", "AUS", policy)
(False, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airpicture.errors import ConfigError
from airpicture.tables import SensorTable

__all__ = ["ALL_NATIONS", "ReleasePolicy", "release_mask", "releasable"]

ALL_NATIONS = "*"
"""In a policy, the recipient that stands for every nation."""


@dataclass(frozen=True)
class ReleasePolicy:
    """Release rules of one owning nation.

    Attributes
    ----------
    owner : str
        The nation whose sensors the policy governs.
    default : frozenset of str
        Nations that receive the owner's sensors not listed in ``sensors`` (may hold ``"*"``).
    sensors : mapping of str to frozenset of str
        Per sensor id, the nations that receive it (may hold ``"*"``).
    """

    owner: str
    default: frozenset[str] = frozenset({ALL_NATIONS})
    sensors: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def recipients(self, sensor_id: str) -> frozenset[str]:
        """The nations a sensor of the owner is released to (``"*"`` for every nation)."""
        return self.sensors.get(sensor_id, self.default)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, owner: str, own_sensors: tuple[str, ...], source: str
    ) -> ReleasePolicy:
        """A policy from a ``[release]`` table (see the module docstring).

        Raises
        ------
        ConfigError
            On unknown keys, a sensor that is not the owner's, or a nation that is not a string.
        """
        unknown = set(values) - {"default", "sensors"}
        if unknown:
            raise ConfigError(
                source,
                key="release." + sorted(unknown)[0],
                expected="'default' or 'sensors'",
                got="an unknown key",
            )
        default = _nations(values.get("default", [ALL_NATIONS]), source, "release.default")
        table = values.get("sensors", {})
        if not isinstance(table, Mapping):
            raise ConfigError(
                source, key="release.sensors", expected="a table of sensor ids", got=repr(table)
            )
        rules = {}
        for sensor_id, nations in table.items():
            if sensor_id not in own_sensors:
                raise ConfigError(
                    source,
                    key=f"release.sensors.{sensor_id}",
                    expected="one of this nation's sensors (" + ", ".join(own_sensors) + ")",
                    got=repr(sensor_id),
                )
            rules[sensor_id] = _nations(nations, source, f"release.sensors.{sensor_id}")
        return cls(owner=owner, default=default, sensors=rules)


def _nations(value: Any, source: str, key: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            source, key=key, expected='a list of nation codes (or "*")', got=repr(value)
        )
    return frozenset(value)


def releasable(
    sensor_id: str,
    recipient_nation: str,
    policy: ReleasePolicy,
    *,
    sensor_nation: str | None = None,
) -> bool:
    """True when a detection of ``sensor_id`` may be sent to ``recipient_nation``.

    Parameters
    ----------
    sensor_id : str
        The detecting sensor.
    recipient_nation : str
        The nation that would receive it.
    policy : ReleasePolicy
        The sending nation's policy.
    sensor_nation : str, optional
        The nation owning the sensor; when given and not the policy's owner, nothing is released.
    """
    if sensor_nation is not None and sensor_nation != policy.owner:
        return False
    if recipient_nation == policy.owner:
        return True
    allowed = policy.recipients(sensor_id)
    return ALL_NATIONS in allowed or recipient_nation in allowed


def release_mask(
    sensor_index: np.ndarray, sensors: SensorTable, recipient_nation: str, policy: ReleasePolicy
) -> np.ndarray:
    """Which detections of a batch may be sent to ``recipient_nation``.

    Parameters
    ----------
    sensor_index : ndarray of int, shape (n,)
        Each detection's sensor, indexing ``sensors``.
    sensors : SensorTable
        The shared sensor table (gives each sensor's id and owning nation).
    recipient_nation : str
        The receiving nation.
    policy : ReleasePolicy
        The sending nation's policy; sensors of other nations are never released.

    Returns
    -------
    ndarray of bool, shape (n,)
        Elementwise :func:`releasable`, decided once per sensor then gathered.
    """
    per_sensor = np.array(
        [
            releasable(s.sensor_id, recipient_nation, policy, sensor_nation=s.nation)
            for s in sensors
        ],
        dtype=bool,
    )
    if len(per_sensor) == 0:
        return np.zeros(len(sensor_index), dtype=bool)
    return per_sensor[np.asarray(sensor_index, dtype=np.int64)]
