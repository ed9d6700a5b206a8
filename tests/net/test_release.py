"""Release policy: a pure function, the same one detection at a time and batched."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.errors import ConfigError
from airpicture.net.release import ReleasePolicy, releasable, release_mask
from tests.net.synthetic import sensor_table

SENSORS = sensor_table()
NATIONS = ("AUS", "JPN", "USA", "GBR")


def test_defaults_release_everything_own_to_everyone():
    policy = ReleasePolicy(owner="JPN")
    assert all(releasable("JPN-R1", n, policy) for n in NATIONS)


def test_per_sensor_rules_and_the_owner_always_sees_its_own():
    policy = ReleasePolicy(
        owner="JPN", default=frozenset({"USA"}), sensors={"JPN-IR1": frozenset()}
    )
    assert releasable("JPN-R1", "USA", policy)
    assert not releasable("JPN-R1", "AUS", policy)
    assert not releasable("JPN-IR1", "USA", policy)
    assert releasable("JPN-IR1", "JPN", policy)


def test_another_nations_sensor_is_never_released():
    policy = ReleasePolicy(owner="JPN")
    assert not releasable("USA-R1", "AUS", policy, sensor_nation="USA")
    mask = release_mask(np.arange(len(SENSORS)), SENSORS, "AUS", policy)
    assert mask.tolist() == [s.nation == "JPN" for s in SENSORS]


@given(
    st.sampled_from(["JPN", "USA", "AUS"]),
    st.frozensets(st.sampled_from(NATIONS + ("*",))),
    st.dictionaries(st.sampled_from(SENSORS.ids), st.frozensets(st.sampled_from(NATIONS + ("*",)))),
    st.sampled_from(NATIONS),
    st.lists(st.integers(0, len(SENSORS) - 1), max_size=50),
)
def test_batched_mask_equals_the_one_at_a_time_rule(owner, default, rules, recipient, index):
    policy = ReleasePolicy(owner=owner, default=default, sensors=rules)
    index = np.array(index, dtype=np.int64)
    mask = release_mask(index, SENSORS, recipient, policy)
    expected = [
        releasable(SENSORS[i].sensor_id, recipient, policy, sensor_nation=SENSORS[i].nation)
        for i in index
    ]
    assert mask.tolist() == expected


def test_from_mapping():
    policy = ReleasePolicy.from_mapping(
        {"default": ["USA", "AUS"], "sensors": {"JPN-R1": ["USA"]}},
        owner="JPN",
        own_sensors=("JPN-IR1", "JPN-R1"),
        source="jpn.toml",
    )
    assert policy.recipients("JPN-R1") == {"USA"} and policy.recipients("JPN-IR1") == {"USA", "AUS"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"sensors": {"USA-R1": ["AUS"]}},
            "jpn.toml, key release.sensors.USA-R1: expected one of this nation's sensors",
        ),
        ({"default": "USA"}, "key release.default: expected a list of nation codes"),
        (
            {"defaults": ["USA"]},
            "key release.defaults: expected 'default' or 'sensors', got an unknown key",
        ),
    ],
)
def test_from_mapping_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        ReleasePolicy.from_mapping(
            table, owner="JPN", own_sensors=("JPN-IR1", "JPN-R1"), source="jpn.toml"
        )
