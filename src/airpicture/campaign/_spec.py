"""A campaign file: the grid of scenarios x seeds x settings to run, and how to score it.

.. code-block:: toml

    name = "smoke"
    mode = "batch"                 # "batch" (one tracker) or "nodes" (a node per nation)
    seeds = [1, 2]                 # or seeds = { first = 1, count = 100 }

    [metrics]                      # optional: evaluate_picture's parameters
    c_m = 10000.0

    [[scenarios]]
    name = "drill"                 # a library scenario, or file = "my.toml" (relative to this file)
    duration_s = 90                # optional: only its first 90 s

    [[scenarios]]
    name = "sea-of-japan-raid"
    randomize = true               # each seed draws its own scenario of the randomised family

    [[settings]]
    label = "default"

    [[settings]]
    label = "tight-gate"
    tracker = { gate_probability = 0.99 }   # TrackerConfig fields
    assess = { confidence = 0.9 }           # AssessConfig fields

    [nodes]                        # mode = "nodes" only
    nations = ["JPN", "USA", "AUS"]
    release = "threats"            # a release preset; omitted: everything to everyone
    speed = 50.0

Every run is one (scenario, seed, setting); its id ``<scenario>-s<seed>-<setting>`` names its
results and the command that runs it again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airpicture.assess import AssessConfig
from airpicture.codes import is_nation_code
from airpicture.config import load_toml
from airpicture.errors import ConfigError
from airpicture.tracker import TrackerConfig

__all__ = ["MODES", "CampaignSpec", "NodeOptions", "RunSpec", "ScenarioRef", "Setting"]

MODES = ("batch", "nodes")
"""How a run is tracked: by one tracker over every detection, or by a node per nation on the
in-process bus (each nation's picture scored, and their commonality)."""

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
_TOP_KEYS = ("name", "mode", "seeds", "metrics", "scenarios", "settings", "nodes")
_METRIC_KEYS = ("c_m", "p", "association_distance_m")
_MAX_RUNS = 100_000


@dataclass(frozen=True)
class ScenarioRef:
    """One scenario of the grid: a library name or a scenario file, and an optional duration.

    With ``randomize``, each seed of the grid draws its own scenario of the randomised family
    around it (:func:`airpicture.sim.randomized_scenario`) instead of reseeding it.
    """

    label: str
    source: str
    duration_s: float | None = None
    randomize: bool = False


@dataclass(frozen=True)
class Setting:
    """One tracker setting of the grid: ``TrackerConfig`` and ``AssessConfig`` fields."""

    label: str
    tracker: dict[str, Any] = field(default_factory=dict)
    assess: dict[str, Any] = field(default_factory=dict)

    def tracker_config(self) -> TrackerConfig:
        return TrackerConfig.from_mapping(self.tracker, source=f"setting {self.label!r}")

    def assess_config(self) -> AssessConfig:
        return AssessConfig.from_mapping(dict(self.assess), source=f"setting {self.label!r}")


@dataclass(frozen=True)
class NodeOptions:
    """How runs of ``mode = "nodes"`` are networked."""

    nations: tuple[str, ...] = ("JPN", "USA", "AUS")
    release: str | None = None
    speed: float = 50.0


@dataclass(frozen=True)
class RunSpec:
    """One run of a campaign: everything a worker needs, nothing it must read from the client."""

    run_id: str
    scenario: ScenarioRef
    seed: int
    setting: Setting
    mode: str
    metrics: dict[str, float]
    nodes: NodeOptions


@dataclass(frozen=True)
class CampaignSpec:
    """A parsed, checked campaign file (:meth:`load`)."""

    name: str
    mode: str
    seeds: tuple[int, ...]
    scenarios: tuple[ScenarioRef, ...]
    settings: tuple[Setting, ...]
    metrics: dict[str, float]
    nodes: NodeOptions
    source: str = "campaign"

    def runs(self) -> list[RunSpec]:
        """Every run of the grid, scenario by scenario, then seed, then setting."""
        return [
            RunSpec(
                f"{sc.label}-s{seed}-{st.label}",
                sc,
                seed,
                st,
                self.mode,
                dict(self.metrics),
                self.nodes,
            )
            for sc in self.scenarios
            for seed in self.seeds
            for st in self.settings
        ]

    @classmethod
    def load(cls, path: str | Path) -> CampaignSpec:
        """Read and check a campaign file.

        Raises
        ------
        ConfigError
            Naming the file and the key: an unknown key, a wrong type, a duplicate label, a
            scenario that is neither a library name nor a file, settings the tracker refuses.
        """
        path = Path(path)
        return cls.from_mapping(dict(load_toml(path)), source=str(path), base=path.parent)

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any], *, source: str = "campaign", base: Path | None = None
    ) -> CampaignSpec:
        """A campaign from the contents of a campaign file (relative scenario files from
        ``base``)."""
        _known(data, _TOP_KEYS, source, "")
        name = data.get("name", Path(source).stem)
        if not isinstance(name, str) or not _LABEL.fullmatch(name):
            raise ConfigError(source, key="name", expected=_LABEL_TEXT, got=repr(name))
        mode = data.get("mode", "batch")
        if mode not in MODES:
            raise ConfigError(source, key="mode", expected=f"one of {MODES}", got=repr(mode))
        seeds = _seeds(data.get("seeds", [1]), source)
        scenarios = tuple(
            _scenario(item, source, f"scenarios[{i}]", base)
            for i, item in enumerate(_tables(data, "scenarios", source))
        )
        settings = tuple(
            _setting(item, source, f"settings[{i}]")
            for i, item in enumerate(_tables(data, "settings", source, default=[{}]))
        )
        for what, labels in (
            ("scenarios", [s.label for s in scenarios]),
            ("settings", [s.label for s in settings]),
        ):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            if dup:
                raise ConfigError(
                    source, key=what, expected="distinct labels", got=f"{dup[0]!r} twice"
                )
        if mode == "nodes" and any(st.assess for st in settings):
            raise ConfigError(
                source,
                key="settings.assess",
                expected="no assessment settings with mode = 'nodes' (nodes assess with theirs)",
                got=repr(next(st.assess for st in settings if st.assess)),
            )
        metrics = _metrics(data.get("metrics", {}), source)
        nodes = _nodes(data.get("nodes", {}), source)
        n_runs = len(scenarios) * len(seeds) * len(settings)
        if n_runs > _MAX_RUNS:
            raise ConfigError(
                source, key="seeds", expected=f"at most {_MAX_RUNS} runs", got=f"{n_runs} runs"
            )
        return cls(name, mode, seeds, scenarios, settings, metrics, nodes, source)


_LABEL_TEXT = "a label of letters, digits and _.+- (at most 64, starting with a letter or digit)"


def _known(table: dict[str, Any], keys: tuple[str, ...], source: str, prefix: str) -> None:
    for key in table:
        if key not in keys:
            raise ConfigError(
                source, key=prefix + key, expected="one of " + ", ".join(keys), got="an unknown key"
            )


def _tables(
    data: dict[str, Any], key: str, source: str, default: list[Any] | None = None
) -> list[dict[str, Any]]:
    items = data.get(key, default)
    if items is None:
        raise ConfigError(source, key=key, expected=f"at least one [[{key}]] table", got="none")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ConfigError(
            source, key=key, expected=f"a non-empty list of [[{key}]] tables", got=repr(items)
        )
    return items


def _seeds(value: Any, source: str) -> tuple[int, ...]:
    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if isinstance(value, dict):
        _known(value, ("first", "count"), source, "seeds.")
        first, count = value.get("first", 1), value.get("count", 0)
        if not whole(first) or not whole(count) or count < 1:
            raise ConfigError(
                source,
                key="seeds",
                expected="{ first = seed >= 0, count = number of seeds >= 1 }",
                got=repr(value),
            )
        return tuple(range(first, first + count))
    if not isinstance(value, list) or not value or not all(whole(v) for v in value):
        raise ConfigError(
            source,
            key="seeds",
            expected="a non-empty list of seeds (integers >= 0)",
            got=repr(value),
        )
    if len(set(value)) != len(value):
        raise ConfigError(source, key="seeds", expected="distinct seeds", got=repr(value))
    return tuple(value)


def _scenario(item: dict[str, Any], source: str, where: str, base: Path | None) -> ScenarioRef:
    from airpicture.sim import is_library_scenario, list_scenarios

    _known(item, ("name", "file", "label", "duration_s", "randomize"), source, where + ".")
    if ("name" in item) == ("file" in item):
        raise ConfigError(
            source, key=where, expected="either name (a library scenario) or file", got=repr(item)
        )
    if "name" in item:
        if not isinstance(item["name"], str) or not is_library_scenario(item["name"]):
            names = [n for n, _ in list_scenarios()]
            raise ConfigError(
                source,
                key=where + ".name",
                expected="one of " + ", ".join(names),
                got=repr(item["name"]),
            )
        ref, label = str(item["name"]), str(item["name"])
    else:
        if not isinstance(item["file"], str):
            raise ConfigError(
                source, key=where + ".file", expected="a path", got=repr(item["file"])
            )
        path = Path(item["file"])
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ConfigError(
                source, key=where + ".file", expected="a scenario file", got=f"{path}: not a file"
            )
        ref, label = str(path.resolve()), path.stem
    randomize = item.get("randomize", False)
    if not isinstance(randomize, bool):
        raise ConfigError(
            source, key=where + ".randomize", expected="true or false", got=repr(randomize)
        )
    label = item.get("label", f"{label}-random" if randomize else label)
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise ConfigError(source, key=where + ".label", expected=_LABEL_TEXT, got=repr(label))
    duration = item.get("duration_s")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not (math.isfinite(duration) and duration > 0)
    ):
        raise ConfigError(
            source, key=where + ".duration_s", expected="a duration > 0, s", got=repr(duration)
        )
    return ScenarioRef(label, ref, None if duration is None else float(duration), randomize)


def _setting(item: dict[str, Any], source: str, where: str) -> Setting:
    _known(item, ("label", "tracker", "assess"), source, where + ".")
    label = item.get("label", "default")
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise ConfigError(source, key=where + ".label", expected=_LABEL_TEXT, got=repr(label))
    tracker, assess = item.get("tracker", {}), item.get("assess", {})
    for key, value in (("tracker", tracker), ("assess", assess)):
        if not isinstance(value, dict):
            raise ConfigError(
                source, key=f"{where}.{key}", expected="a table of settings", got=repr(value)
            )
    setting = Setting(label, dict(tracker), dict(assess))
    # checked now, not in a worker an hour into the campaign
    TrackerConfig.from_mapping(setting.tracker, source=f"{source}, {where}.tracker")
    AssessConfig.from_mapping(dict(setting.assess), source=f"{source}, {where}.assess")
    return setting


def _metrics(value: Any, source: str) -> dict[str, float]:
    """The ``[metrics]`` table, checked by the rules :func:`~airpicture.evaluate.evaluate_picture`
    applies (so that no run fails on them)."""
    from airpicture.evaluate._gospa import _check_parameters

    if not isinstance(value, dict):
        raise ConfigError(source, key="metrics", expected="a table", got=repr(value))
    _known(value, _METRIC_KEYS, source, "metrics.")
    try:
        _check_parameters(
            source,
            value.get("c_m", 10_000.0),
            value.get("p", 2.0),
            2.0,
            value.get("association_distance_m"),
        )
    except ConfigError as exc:
        raise ConfigError(
            source, key=f"metrics.{exc.key}", expected=exc.expected, got=exc.got
        ) from None
    return {key: float(v) for key, v in value.items()}


def _nodes(value: Any, source: str) -> NodeOptions:
    from airpicture.net import RELEASE_PRESETS

    if not isinstance(value, dict):
        raise ConfigError(source, key="nodes", expected="a table", got=repr(value))
    _known(value, ("nations", "release", "speed"), source, "nodes.")
    defaults = NodeOptions()
    nations = value.get("nations", list(defaults.nations))
    if (
        not isinstance(nations, list)
        or not nations
        or not all(is_nation_code(n) for n in nations)
        or len(set(nations)) != len(nations)
    ):
        raise ConfigError(
            source, key="nodes.nations", expected="distinct nation codes (JPN)", got=repr(nations)
        )
    release = value.get("release")
    if release is not None and release not in RELEASE_PRESETS:
        raise ConfigError(
            source,
            key="nodes.release",
            expected="one of " + ", ".join(sorted(RELEASE_PRESETS)),
            got=repr(release),
        )
    speed = value.get("speed", defaults.speed)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0:
        raise ConfigError(source, key="nodes.speed", expected="a speed > 0", got=repr(speed))
    return NodeOptions(tuple(nations), release, float(speed))
