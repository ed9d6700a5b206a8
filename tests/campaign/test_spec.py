"""Campaign files: the grid they define, and clear errors naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from airpicture.campaign import CampaignSpec
from airpicture.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"


def test_the_shipped_campaigns_load():
    smoke = CampaignSpec.load(EXAMPLES / "smoke.toml")
    assert [r.run_id for r in smoke.runs()] == [
        "drill-s1-default",
        "drill-s1-tight-gate",
        "drill-s2-default",
        "drill-s2-tight-gate",
    ]
    assert smoke.runs()[1].setting.tracker_config().gate_probability == 0.99
    gate = CampaignSpec.load(EXAMPLES / "gate.toml")
    assert len(gate.runs()) == 8 and {r.scenario.label for r in gate.runs()} == {"drill", "reentry"}


def test_a_seed_range_and_a_scenario_file_relative_to_the_campaign(tmp_path):
    scenario = tmp_path / "scenarios" / "mine.toml"
    scenario.parent.mkdir()
    scenario.write_text("name = 'mine'\n")
    (tmp_path / "c.toml").write_text(
        "seeds = { first = 10, count = 3 }\n"
        "[[scenarios]]\nfile = 'scenarios/mine.toml'\nduration_s = 30\n"
    )
    spec = CampaignSpec.load(tmp_path / "c.toml")
    assert spec.seeds == (10, 11, 12) and spec.name == "c"
    assert [r.run_id for r in spec.runs()] == [
        "mine-s10-default",
        "mine-s11-default",
        "mine-s12-default",
    ]
    assert spec.scenarios[0].source == str(scenario.resolve())
    assert spec.scenarios[0].duration_s == 30.0


def test_a_randomised_family_draws_a_scenario_per_seed(tmp_path):
    from airpicture.campaign._run import _simulate

    spec = CampaignSpec.from_mapping(
        {
            "seeds": [3, 4],
            "scenarios": [
                {"name": "drill"},
                {"name": "drill", "randomize": True, "duration_s": 60},
            ],
        },
        source="c.toml",
    )
    assert [r.run_id for r in spec.runs()] == [
        "drill-s3-default",
        "drill-s4-default",
        "drill-random-s3-default",
        "drill-random-s4-default",
    ]
    runs = spec.runs()
    assert not runs[0].scenario.randomize and runs[2].scenario.randomize
    # the randomised run simulates the family's scenario of its seed, not the drill reseeded
    duration_s, truth = _simulate(runs[2], tmp_path / "r")
    assert duration_s == 60.0
    # the family's airliners, not the drill's meandering aircraft
    ids = set(truth.object_id.tolist())
    assert any(i.startswith("AL") for i in ids) and not any(i.startswith("AC") for i in ids)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"scenarios": [{"name": "drill"}], "sedes": [1]}, "sedes"),
        ({"scenarios": [{"name": "nowhere"}]}, "scenarios[0].name"),
        ({"scenarios": [{"name": "drill", "file": "x.toml"}]}, "scenarios[0]"),
        ({"scenarios": [{"file": "missing.toml"}]}, "scenarios[0].file"),
        ({"scenarios": [{"name": "drill", "duration_s": -5}]}, "scenarios[0].duration_s"),
        ({"scenarios": [{"name": "drill", "randomize": "yes"}]}, "scenarios[0].randomize"),
        ({"scenarios": [{"name": "drill"}, {"name": "drill"}]}, "scenarios"),
        ({"scenarios": [{"name": "drill"}], "seeds": [1, 1]}, "seeds"),
        ({"scenarios": [{"name": "drill"}], "seeds": {"first": 1}}, "seeds"),
        ({"scenarios": [{"name": "drill"}], "seeds": [-1]}, "seeds"),
        ({"scenarios": [{"name": "drill"}], "mode": "cloud"}, "mode"),
        (
            {"scenarios": [{"name": "drill"}], "settings": [{"tracker": {"gate_probability": 2}}]},
            "gate_probability",
        ),
        ({"scenarios": [{"name": "drill"}], "settings": [{"label": "a b"}]}, "settings[0].label"),
        ({"scenarios": [{"name": "drill"}], "metrics": {"c_m": 0}}, "metrics.c_m"),
        ({"scenarios": [{"name": "drill"}], "metrics": {"p": 0.5}}, "metrics.p"),
        ({"scenarios": [{"name": "drill"}], "nodes": {"nations": ["Jpn"]}}, "nodes.nations"),
        ({"scenarios": [{"name": "drill"}], "nodes": {"release": "some"}}, "nodes.release"),
        ({"seeds": [1]}, "scenarios"),
        (
            {
                "scenarios": [{"name": "drill"}],
                "mode": "nodes",
                "settings": [{"assess": {"confidence": 0.9}}],
            },
            "settings.assess",
        ),
    ],
)
def test_a_bad_campaign_names_the_key(data, key, tmp_path):
    with pytest.raises(ConfigError) as info:
        CampaignSpec.from_mapping(data, source="c.toml", base=tmp_path)
    assert key in info.value.key and str(info.value).startswith("c.toml")
