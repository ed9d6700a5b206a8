"""Release policy: a pure function of (sensor, area, kind, recipient), the same one detection at a
time and batched; release labels; the TOML form and its errors."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.errors import ConfigError
from airpicture.geo import geodetic2ecef
from airpicture.net import (
    COARSE,
    FULL,
    MAX_NATIONS,
    NONE,
    THREAT,
    LabelSpace,
    ReleaseArea,
    ReleasePolicy,
    TrackSharing,
    coarsen,
    detection_labels,
    detection_positions,
    invalid_labels,
    preset_tables,
    releasable,
    threat_mask,
    track_levels,
)
from airpicture.tables import Detections, TrackRows
from tests.net.synthetic import sensor_table

SENSORS = sensor_table()
NATIONS = ("AUS", "JPN", "USA", "GBR")
SPACE = LabelSpace(NATIONS)
OWN = ("JPN-IR1", "JPN-R1")
NORTH = ReleaseArea.box("north", ["USA"], lat_deg=(36.0, 40.0), lon_deg=(130.0, 140.0))


def _policy(table: dict, owner: str = "JPN", own: tuple[str, ...] = OWN) -> ReleasePolicy:
    return ReleasePolicy.from_mapping(table, owner=owner, own_sensors=own, source="jpn.toml")


def _ir_detections(sensor_ids: list[str], lat_deg: list[float], lon_deg: list[float]) -> Detections:
    """Angle-only detections: placed at their sensor, which sits where we say."""
    n = len(sensor_ids)
    return Detections(
        t_s=np.zeros(n),
        sensor_index=np.array([SENSORS.index_of(s) for s in sensor_ids], np.int32),
        range_m=np.full(n, np.nan),
        azimuth_rad=np.zeros(n),
        elevation_rad=np.zeros(n),
        range_rate_mps=np.full(n, np.nan),
        sensor_lat_rad=np.radians(lat_deg),
        sensor_lon_rad=np.radians(lon_deg),
        sensor_alt_m=np.zeros(n),
        row=np.arange(n, dtype=np.int64),
    )


def _tracks(
    kinds: list[str], lat_deg: list[float], lon_deg: list[float], labels, alt_m=3e3
) -> TrackRows:
    n = len(kinds)
    x = np.zeros((n, 6))
    x[:, 0], x[:, 1], x[:, 2] = geodetic2ecef(np.radians(lat_deg), np.radians(lon_deg), alt_m)
    x[:, 3:] = 250.0
    return TrackRows(
        t_s=np.zeros(n),
        track_id=np.array([f"T{i:06d}" for i in range(n)]),
        x=x,
        cov_pos=np.tile([100.0, 0, 0, 100.0, 0, 100.0], (n, 1)),
        kind=np.array(kinds),
        status=np.full(n, "confirmed"),
        nations=np.full(n, "JPN;USA"),
        release=np.asarray(labels, dtype=np.uint64),
    )


# ---------------------------------------------------------------------------- per sensor
def test_defaults_release_everything_own_to_everyone():
    policy = ReleasePolicy(owner="JPN")
    assert all(releasable("JPN-R1", n, policy) for n in NATIONS)


def test_plots_go_only_where_plots_says_and_always_to_the_owner():
    policy = _policy({"default": ["*"], "plots": ["USA"], "tracks": {"to": ["*"]}})
    assert policy.sends_plots("JPN") and policy.sends_plots("USA")
    assert not policy.sends_plots("AUS")
    assert policy.reach() == {
        "det": frozenset({"JPN", "USA"}),
        "trk": frozenset({"*"}),
        "coord": frozenset({"*"}),
    }
    tracks_only = _policy({"default": ["USA"], "plots": []})
    assert tracks_only.reach()["det"] == frozenset() and tracks_only.sends_plots("JPN")
    # releasing still follows the rules: tracks built on the plots may go where they are
    assert releasable("JPN-R1", "USA", tracks_only)
    assert ReleasePolicy(owner="JPN").sends_plots("AUS")  # every nation by default


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
    dets = _ir_detections(list(SENSORS.ids), [0.0] * len(SENSORS), [0.0] * len(SENSORS))
    labels = detection_labels(dets, SENSORS, policy, SPACE)
    assert [bool(v) for v in labels] == [s.nation == "JPN" for s in SENSORS]


# ---------------------------------------------------------------------------- per area
def test_a_detection_inside_an_area_goes_only_to_its_nations_and_the_owner():
    policy = ReleasePolicy(owner="JPN", areas=(NORTH,))
    inside, outside = (math.radians(38.0), math.radians(135.0)), (math.radians(30.0), 2.3)
    assert releasable("JPN-R1", "USA", policy, lat_rad=inside[0], lon_rad=inside[1])
    assert releasable("JPN-R1", "JPN", policy, lat_rad=inside[0], lon_rad=inside[1])
    assert not releasable("JPN-R1", "AUS", policy, lat_rad=inside[0], lon_rad=inside[1])
    assert releasable("JPN-R1", "AUS", policy, lat_rad=outside[0], lon_rad=outside[1])
    # An unknown position is inside every area: the most restrictive answer.
    assert not releasable("JPN-R1", "AUS", policy)


def test_areas_narrow_sensor_rules_and_each_other():
    south = ReleaseArea.box("south", ["USA", "AUS"], lat_deg=(30.0, 38.5), lon_deg=(130.0, 140.0))
    policy = ReleasePolicy(
        owner="JPN", sensors={"JPN-R1": frozenset({"AUS"})}, areas=(NORTH, south)
    )
    lat, lon = math.radians(38.2), math.radians(135.0)  # inside both areas
    assert [releasable("JPN-R1", n, policy, lat_rad=lat, lon_rad=lon) for n in NATIONS] == [
        False,
        True,
        False,
        False,
    ]
    lat = math.radians(33.0)  # inside south only
    assert releasable("JPN-R1", "AUS", policy, lat_rad=lat, lon_rad=lon)
    assert not releasable("JPN-IR1", "AUS", ReleasePolicy(owner="JPN", areas=(NORTH,)))


def test_radar_detections_are_placed_where_they_were_measured_ir_at_their_sensor():
    site = SENSORS[SENSORS.index_of("JPN-R1")]
    dets = Detections(
        t_s=np.zeros(2),
        sensor_index=np.full(2, SENSORS.index_of("JPN-R1"), np.int32),
        range_m=np.array([300e3, np.nan]),
        azimuth_rad=np.zeros(2),  # due north
        elevation_rad=np.zeros(2),
        range_rate_mps=np.full(2, np.nan),
        sensor_lat_rad=np.full(2, site.lat_rad),
        sensor_lon_rad=np.full(2, site.lon_rad),
        sensor_alt_m=np.full(2, site.alt_m),
        row=np.arange(2, dtype=np.int64),
    )
    lat, lon = detection_positions(dets)
    assert math.degrees(lat[0]) == pytest.approx(math.degrees(site.lat_rad) + 2.7, abs=0.05)
    assert lon[1] == site.lon_rad and lat[1] == site.lat_rad
    # JPN-R1 sits at 35.6 N: its detection 300 km north is in NORTH, the angle-only one is not.
    labels = detection_labels(dets, SENSORS, ReleasePolicy(owner="JPN", areas=(NORTH,)), SPACE)
    assert SPACE.full(labels[0]) == {"JPN", "USA"} and SPACE.full(labels[1]) == set(NATIONS)


def test_box_polygon_and_geojson_areas(tmp_path):
    box = ReleaseArea.box("b", ["USA"], lat_deg=(-10.0, 10.0), lon_deg=(170.0, -170.0))
    lat = np.radians([0.0, 0.0, 0.0, 20.0])
    assert box.contains(lat, np.radians([175.0, -175.0, 160.0, 175.0])).tolist() == [
        True,
        True,
        False,
        False,
    ]
    triangle = ReleaseArea.polygon("t", ["USA"], [(0, 0), (0, 10), (10, 10)])
    assert triangle.contains(np.radians([1.0, 5.0]), np.radians([5.0, 2.0])).tolist() == [
        True,
        False,
    ]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
            for ring in (
                [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
                [[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]],  # overlaps the first: still inside
            )
        ],
    }
    (tmp_path / "a.geojson").write_text(json.dumps(doc))
    area = ReleaseArea.from_mapping(
        {"name": "g", "to": ["USA"], "geojson": "a.geojson"},
        source="jpn.toml",
        key="release.areas[0]",
        base_dir=tmp_path,
    )
    inside = area.contains(np.radians([1.5, 0.5, 2.5, 4.0]), np.radians([1.5, 0.5, 2.5, 4.0]))
    assert inside.tolist() == [True, True, True, False]


# ---------------------------------------------------------------------------- batched = scalar
_PLACES = st.tuples(st.floats(30.0, 42.0), st.floats(128.0, 142.0))


@given(
    st.sampled_from(["JPN", "USA", "AUS"]),
    st.frozensets(st.sampled_from((*NATIONS, "*"))),
    st.dictionaries(st.sampled_from(SENSORS.ids), st.frozensets(st.sampled_from((*NATIONS, "*")))),
    st.frozensets(st.sampled_from(NATIONS)),
    st.frozensets(st.sampled_from((*NATIONS, "*"))),
    st.booleans(),
    st.sampled_from(NATIONS),
    st.lists(st.tuples(st.integers(0, len(SENSORS) - 1), _PLACES), max_size=30),
)
def test_batched_labels_equal_the_one_at_a_time_rule(
    owner, default, rules, coarse, threats, with_area, recipient, items
):
    policy = ReleasePolicy(
        owner=owner,
        default=default,
        sensors=rules,
        coarse=coarse,
        threats=threats,
        areas=(NORTH,) if with_area else (),
    )
    ids = [SENSORS[i].sensor_id for i, _ in items]
    dets = _ir_detections(ids, [p[0] for _, p in items], [p[1] for _, p in items])
    labels = detection_labels(dets, SENSORS, policy, SPACE)
    got = SPACE.level(labels, recipient) == FULL
    expected = [
        releasable(
            SENSORS[i].sensor_id,
            recipient,
            policy,
            sensor_nation=SENSORS[i].nation,
            lat_rad=math.radians(lat),
            lon_rad=math.radians(lon),
        )
        for i, (lat, lon) in items
    ]
    assert got.tolist() == expected
    # The fields nest (full in threat in coarse) and never exceed the owner's lists.
    assert not invalid_labels(labels, len(NATIONS)).any()
    granted = SPACE.label((), coarse=coarse, threat=threats)
    for label, (i, _) in zip(labels, items, strict=True):
        assert SPACE.full(label) <= SPACE.threat(label) <= SPACE.coarse(label)
        if SENSORS[i].nation == owner:
            assert SPACE.threat(label) <= SPACE.full(label) | SPACE.threat(granted)
            assert SPACE.coarse(label) <= SPACE.full(label) | SPACE.coarse(granted)


# ---------------------------------------------------------------------------- labels
def test_label_space_bits_levels_and_remapping():
    label = SPACE.label({"JPN", "USA"}, coarse={"AUS"}, threat={"GBR"})
    assert SPACE.full(label) == {"JPN", "USA"} and SPACE.threat(label) == {"GBR", "JPN", "USA"}
    assert SPACE.coarse(label) == {"AUS", "GBR", "JPN", "USA"}
    # Full bits 0-20, threat bits 21-41, coarse bits 42-62 (AUS, JPN, USA, GBR: bits 0-3).
    assert label == 0b0110 | 0b1110 << 21 | 0b1111 << 42
    levels = [SPACE.level(np.array([label]), n)[0] for n in ("USA", "GBR", "AUS", "KOR")]
    assert levels == [FULL, THREAT, COARSE, NONE]
    other = LabelSpace(("USA", "KOR", "JPN"))
    moved = other.remap(np.array([label], np.uint64), SPACE.nations)[0]
    assert other.full(moved) == {"JPN", "USA"} and other.threat(moved) == {"JPN", "USA"}
    assert other.coarse(moved) == {"JPN", "USA"}
    assert SPACE.full(SPACE.label({"*"})) == set(NATIONS) == SPACE.coarse(SPACE.label({"*"}))
    assert len(LabelSpace(tuple(f"N{i:02d}" for i in range(MAX_NATIONS))).nations) == 21
    with pytest.raises(ConfigError, match="expected at most 21 distinct nations"):
        LabelSpace(tuple(f"N{i:02d}" for i in range(MAX_NATIONS + 1)))


_SPACES = st.lists(
    st.sampled_from([f"N{i:02d}" for i in range(30)]), max_size=MAX_NATIONS, unique=True
)


@given(
    _SPACES,
    st.lists(st.tuples(*[st.sets(st.sampled_from([f"N{i:02d}" for i in range(30)]))] * 3)),
    st.randoms(use_true_random=False),
)
def test_labels_nest_and_remap_there_and_back(nations, grants, random):
    space = LabelSpace(tuple(nations))
    labels = np.array([space.label(f, coarse=c, threat=t) for f, t, c in grants], np.uint64)
    assert not invalid_labels(labels, len(nations)).any()
    for label, (f, t, c) in zip(labels, grants, strict=True):
        held = set(nations)
        assert space.full(label) == f & held
        assert space.threat(label) == (f | t) & held
        assert space.coarse(label) == (f | t | c) & held
    shuffled = LabelSpace(tuple(random.sample(nations, len(nations))))
    back = space.remap(shuffled.remap(labels, space.nations), shuffled.nations)
    np.testing.assert_array_equal(back, labels)
    # A smaller space keeps exactly the fields' nations it holds, nested still.
    fewer = LabelSpace(tuple(nations[::2]))
    moved = fewer.remap(labels, space.nations)
    assert not invalid_labels(moved, len(fewer.nations)).any()
    for label, m in zip(labels, moved, strict=True):
        for get in ("full", "threat", "coarse"):
            assert getattr(fewer, get)(m) == getattr(space, get)(label) & set(fewer.nations)
    # The AND of labels is a label: nested, each field the intersection.
    if len(labels):
        fused = np.bitwise_and.reduce(labels)
        assert not invalid_labels(np.array([fused]), len(nations)).any()
        assert space.threat(fused) == set.intersection(*(set(space.threat(v)) for v in labels))


def test_malformed_labels_are_told_apart():
    ok = SPACE.label({"JPN"}, coarse={"AUS"}, threat={"USA"})
    bad = [
        1 << 4,  # full bit past the four nations
        1 << (21 + 4) | 1 << (42 + 4),  # threat bit past them
        1 << 63,  # beyond every field
        1 | 1 << 42,  # full outside threat
        1 << 21,  # threat outside coarse
    ]
    got = invalid_labels(np.array([ok, 0, *bad], np.uint64), len(NATIONS))
    assert got.tolist() == [False, False] + [True] * len(bad)


def test_the_and_of_labels_releases_only_to_nations_entitled_to_every_contributor():
    a = SPACE.label({"JPN", "USA", "AUS"}, coarse={"GBR"})
    b = SPACE.label({"JPN", "USA"}, coarse={"AUS", "GBR"})
    fused = a & b
    assert SPACE.full(fused) == {"JPN", "USA"} and SPACE.coarse(fused) == {
        "JPN",
        "USA",
        "AUS",
        "GBR",
    }
    # The threat grant survives the AND only where every contributor's owner made it.
    c = SPACE.label({"JPN"}, threat={"*"})
    assert SPACE.threat(a & c) == {"JPN", "USA", "AUS"} and SPACE.threat(b & c) == {"JPN", "USA"}


# ---------------------------------------------------------------------------- tracks
def test_tracks_are_not_shared_unless_the_policy_says_so_and_never_with_the_owner():
    every = SPACE.label({"*"})
    rows = _tracks(["aircraft"], [30.0], [135.0], [every])
    assert track_levels(rows, "USA", ReleasePolicy(owner="JPN"), SPACE).tolist() == [NONE]
    sharing = ReleasePolicy(owner="JPN", tracks=TrackSharing(to=frozenset({"*"})))
    assert track_levels(rows, "USA", sharing, SPACE).tolist() == [FULL]
    assert track_levels(rows, "JPN", sharing, SPACE).tolist() == [NONE]
    unlabelled = TrackRows(
        *(getattr(rows, f) for f in ("t_s", "track_id", "x", "cov_pos")),
        rows.kind,
        rows.status,
        rows.nations,
    )
    assert track_levels(unlabelled, "USA", sharing, SPACE).tolist() == [NONE]


def test_kind_rules_ballistic_to_everyone_aircraft_to_the_usa_only():
    policy = _policy({"tracks": {"to": ["*"], "kinds": {"aircraft": ["USA"]}}})
    every = SPACE.label({"*"})
    rows = _tracks(["ballistic", "aircraft", "cruise"], [30.0] * 3, [135.0] * 3, [every] * 3)
    assert track_levels(rows, "AUS", policy, SPACE).tolist() == [FULL, NONE, FULL]
    assert track_levels(rows, "USA", policy, SPACE).tolist() == [FULL, FULL, FULL]


def test_area_and_label_and_downgrade_combine():
    every = SPACE.label({"*"})
    usa_only = SPACE.label({"JPN", "USA"}, coarse={"AUS"})
    rows = _tracks(
        ["ballistic", "ballistic", "ballistic"],
        [38.0, 30.0, 30.0],  # inside NORTH, outside, outside
        [135.0, 135.0, 135.0],
        [every, every, usa_only],
    )
    withhold = ReleasePolicy(owner="JPN", areas=(NORTH,), tracks=TrackSharing(to=frozenset({"*"})))
    assert track_levels(rows, "USA", withhold, SPACE).tolist() == [FULL, FULL, FULL]
    assert track_levels(rows, "AUS", withhold, SPACE).tolist() == [NONE, FULL, NONE]
    assert track_levels(rows, "GBR", withhold, SPACE).tolist() == [NONE, FULL, NONE]
    downgrade = ReleasePolicy(
        owner="JPN",
        areas=(NORTH,),
        tracks=TrackSharing(to=frozenset({"*"}), downgrade="position-only"),
    )
    # Position-only only where the contributors' owners allowed it (AUS, not GBR), and never
    # past an area or kind rule of the sharing node.
    assert track_levels(rows, "AUS", downgrade, SPACE).tolist() == [NONE, FULL, COARSE]
    assert track_levels(rows, "GBR", downgrade, SPACE).tolist() == [NONE, FULL, NONE]
    no_ballistic = ReleasePolicy(
        owner="JPN",
        tracks=TrackSharing(
            to=frozenset({"*"}),
            kinds={"ballistic": frozenset({"USA"})},
            downgrade="position-only",
        ),
    )
    assert track_levels(rows, "AUS", no_ballistic, SPACE).tolist() == [NONE, NONE, NONE]


def test_threats_are_missiles_unknown_objects_above_the_ceiling_and_alerted_tracks():
    every = SPACE.label({"*"})
    kinds = ["ballistic", "cruise", "aircraft", "unknown", "unknown", "helicopter/uav"]
    heights = [3e3, 3e3, 3e3, 3e3, 45e3, 3e3]
    rows = _tracks(kinds, [36.0] * 6, [135.0] * 6, [every] * 6, alt_m=np.array(heights))
    assert threat_mask(rows).tolist() == [True, True, False, False, True, False]
    # The ceiling is the tracker's default (30 km) unless given.
    assert threat_mask(rows, ceiling_m=50e3).tolist() == [True, True, False, False, False, False]
    # The ceiling counts for unknown objects only: an aircraft is a threat by an alert alone.
    assert threat_mask(rows, ceiling_m=1e3).tolist() == [True, True, False, True, True, False]
    alerted = threat_mask(rows, alerted={"T000002", "T000005", "T999999"})
    assert alerted.tolist() == [True, True, True, False, True, True]
    assert threat_mask(TrackRows.empty()).tolist() == []


def test_the_threat_grant_releases_tracks_of_threats_in_full():
    # JPN's detections: in full to JPN and the USA, tracks of threats to everyone, AUS
    # position-only.
    label = SPACE.label({"JPN", "USA"}, coarse={"AUS"}, threat={"GBR"})
    rows = _tracks(["ballistic", "aircraft", "ballistic"], [30.0] * 3, [135.0] * 3, [label] * 3)
    threat = np.array([True, False, True])
    sharing = ReleasePolicy(owner="JPN", tracks=TrackSharing(to=frozenset({"*"})))
    assert track_levels(rows, "GBR", sharing, SPACE, threat).tolist() == [FULL, NONE, FULL]
    assert track_levels(rows, "USA", sharing, SPACE, threat).tolist() == [FULL, FULL, FULL]
    assert track_levels(rows, "AUS", sharing, SPACE, threat).tolist() == [NONE, NONE, NONE]
    # Without a threat mask no row is a threat (the call of nodes that do not compute one).
    assert track_levels(rows, "GBR", sharing, SPACE).tolist() == [NONE, NONE, NONE]
    # A nation of the threat field gets what is not a threat position-only, like the coarse one.
    downgrade = replace(sharing, tracks=replace(sharing.tracks, downgrade="position-only"))
    assert track_levels(rows, "GBR", downgrade, SPACE, threat).tolist() == [FULL, COARSE, FULL]
    assert track_levels(rows, "AUS", downgrade, SPACE, threat).tolist() == [COARSE] * 3
    # Every rule of the sharing node still narrows the grant: recipients, kinds, areas.
    narrow = ReleasePolicy(
        owner="JPN",
        areas=(NORTH,),
        tracks=TrackSharing(to=frozenset({"GBR", "USA"}), kinds={"ballistic": frozenset({"USA"})}),
    )
    assert track_levels(rows, "GBR", narrow, SPACE, threat).tolist() == [NONE, NONE, NONE]
    inside = _tracks(["cruise"], [38.0], [135.0], [label])  # in NORTH: to the USA at most
    to_gbr = replace(narrow, tracks=TrackSharing(to=frozenset({"GBR"})))
    assert track_levels(inside, "GBR", to_gbr, SPACE, np.array([True])).tolist() == [NONE]
    anywhere = replace(to_gbr, areas=())
    assert track_levels(inside, "GBR", anywhere, SPACE, np.array([True])).tolist() == [FULL]


def test_only_threats_shares_threats_only_and_withdraws_a_track_that_stops_being_one():
    every = SPACE.label({"*"})
    rows = _tracks(["ballistic", "aircraft", "unknown"], [30.0] * 3, [135.0] * 3, [every] * 3)
    only = ReleasePolicy(
        owner="JPN",
        tracks=TrackSharing(to=frozenset({"*"}), downgrade="position-only", only="threats"),
    )
    threat = threat_mask(rows, alerted={"T000002"})
    assert track_levels(rows, "USA", only, SPACE, threat).tolist() == [FULL, NONE, FULL]
    # The alert is cancelled: the unknown track is no longer shared (the node then drops it
    # at the recipient, as any track that stops being releasable).
    assert track_levels(rows, "USA", only, SPACE, threat_mask(rows)).tolist() == [FULL, NONE, NONE]
    assert track_levels(rows, "USA", only, SPACE).tolist() == [NONE, NONE, NONE]


@pytest.mark.parametrize("nations", [("JPN", "USA", "AUS"), ("JPN", "AUS")])
def test_presets_give_every_nation_a_valid_release_table(nations):
    hub = "USA" in nations
    assert preset_tables("full", nations) == {n: {"default": ["*"]} for n in nations}
    hub_tables = preset_tables("hub", nations)
    threats = preset_tables("threats", nations)
    for n in nations:
        if hub:
            assert hub_tables[n] == {"default": ["*"] if n == "USA" else ["USA"]}
        else:
            assert hub_tables[n] == {"default": ["*"]}
        plots = hub_tables[n]["default"] if hub else []
        assert threats[n] == {
            "default": plots,
            "threats": ["*"],
            "tracks": {"to": ["*"]},
        }
        own = tuple(s.sensor_id for s in SENSORS if s.nation == n)
        policy = ReleasePolicy.from_mapping(threats[n], owner=n, own_sensors=own, source="t")
        assert policy.threats == {"*"} and policy.tracks.to == {"*"}
    with pytest.raises(
        ConfigError, match="network up, key --release: expected one of hub, full, threats"
    ):
        preset_tables("open", nations, source="network up", key="--release")


def test_coarsened_rows_hold_a_snapped_position_only():
    every = SPACE.label({"*"})
    rows = _tracks(["aircraft", "ballistic"], [37.123, 35.987], [135.456, 136.789], [every] * 2)
    out = coarsen(rows, 10_000.0, np.array([True, False]))
    assert np.linalg.norm(out.x[0, :3] - rows.x[0, :3]) < 10_000.0
    assert not np.array_equal(out.x[0, :3], rows.x[0, :3])
    assert out.x[0, 3:].tolist() == [0.0, 0.0, 0.0]
    assert out.kind.tolist() == ["unknown", "ballistic"] and out.nations.tolist() == ["", "JPN;USA"]
    assert out.cov_pos[0].tolist() == [1e8, 0, 0, 1e8, 0, 1e8]
    np.testing.assert_array_equal(out.x[1], rows.x[1])
    np.testing.assert_array_equal(out.release, rows.release)
    # Nearby positions fall on the same grid point.
    near = _tracks(["aircraft"], [37.124], [135.457], [every])
    np.testing.assert_array_equal(coarsen(near, 10_000.0).x[0, :3], out.x[0, :3])


# ---------------------------------------------------------------------------- TOML
def test_from_mapping_reads_every_rule(tmp_path):
    policy = _policy(
        {
            "default": ["USA", "AUS"],
            "coarse": ["GBR"],
            "threats": ["*"],
            "sensors": {"JPN-R1": ["USA"]},
            "areas": [
                {"name": "north", "to": ["USA"], "box": {"lat": [36, 40], "lon": [130, 140]}},
                {"name": "tri", "to": [], "polygon": [[0, 0], [0, 10], [10, 10]]},
            ],
            "tracks": {
                "to": ["*"],
                "kinds": {"aircraft": ["USA"]},
                "downgrade": "position-only",
                "coarse_m": 5000,
                "only": "threats",
            },
        }
    )
    assert policy.recipients("JPN-R1") == {"USA"} and policy.recipients("JPN-IR1") == {"USA", "AUS"}
    assert policy.coarse == {"GBR"} and [a.name for a in policy.areas] == ["north", "tri"]
    assert policy.threats == {"*"}
    assert policy.tracks == TrackSharing(
        to=frozenset({"*"}),
        kinds={"aircraft": frozenset({"USA"})},
        downgrade="position-only",
        coarse_m=5000.0,
        only="threats",
    )
    assert _policy({}).threats == frozenset() and _policy({}).tracks.only is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"sensors": {"USA-R1": ["AUS"]}},
            "jpn.toml, key release.sensors.USA-R1: expected one of this nation's sensors",
        ),
        ({"default": "USA"}, "key release.default: expected a list of nation codes"),
        ({"coarse": [1]}, "key release.coarse: expected a list of nation codes"),
        (
            {"defaults": ["USA"]},
            "key release.defaults: expected 'default', 'sensors', 'coarse', 'threats', 'plots', "
            "'areas' or 'tracks', got an unknown key",
        ),
        ({"threats": "*"}, "key release.threats: expected a list of nation codes"),
        ({"plots": "USA"}, "key release.plots: expected a list of nation codes"),
        ({"areas": {"name": "x"}}, "key release.areas: expected an array of tables"),
        (
            {"areas": [{"name": "x", "to": ["USA"]}]},
            r"key release.areas\[0\]: expected exactly one of box, polygon, geojson, got none",
        ),
        (
            {"areas": [{"name": "x", "to": ["USA"], "box": {}, "polygon": []}]},
            r"key release.areas\[0\]: expected exactly one of box, polygon, geojson, got box, "
            "polygon",
        ),
        (
            {"areas": [{"to": ["USA"], "box": {"lat": [1, 2], "lon": [1, 2]}}]},
            r"key release.areas\[0\].name: expected a name, got None",
        ),
        (
            {"areas": [{"name": "x", "box": {"lat": [1, 2], "lon": [1, 2]}}]},
            r"key release.areas\[0\].to: expected a list of nation codes",
        ),
        (
            {"areas": [{"name": "x", "to": [], "box": {"lat": [2, 1], "lon": [1, 2]}}]},
            r"key release.areas\[0\].box.lat: expected \[south, north\] with south < north",
        ),
        (
            {"areas": [{"name": "x", "to": [], "box": {"lat": [1, 2], "lon": [1, 200]}}]},
            r"key release.areas\[0\].box.lon: expected a number in \[-180, 180\], degrees, got 200",
        ),
        (
            {"areas": [{"name": "x", "to": [], "box": [1, 2, 3, 4]}]},
            r"key release.areas\[0\].box: expected a table \{lat = \[south, north\]",
        ),
        (
            {"areas": [{"name": "x", "to": [], "polygon": [[0, 0], [1, 1]]}]},
            r"key release.areas\[0\].polygon: expected at least three \[lat, lon\] points",
        ),
        (
            {"areas": [{"name": "x", "to": [], "polygon": [[0, 0], [1, 1], [95, 1]]}]},
            r"key release.areas\[0\].polygon\[2\]: expected a number in \[-90, 90\]",
        ),
        (
            {"areas": [{"name": "x", "to": [], "geojson": "missing.geojson"}]},
            r"key release.areas\[0\].geojson: expected a readable GeoJSON file",
        ),
        (
            {"areas": [{"name": "x", "to": [], "shape": "round"}]},
            r"key release.areas\[0\].shape: expected name, to and one of box, polygon, geojson",
        ),
        (
            {"tracks": {"to": ["*"], "kinds": {"submarine": ["USA"]}}},
            "key release.tracks.kinds.submarine: expected a track kind",
        ),
        (
            {"tracks": {"downgrade": "blur"}},
            "key release.tracks.downgrade: expected 'none' or 'position-only', got 'blur'",
        ),
        ({"tracks": {"coarse_m": 0}}, r"key release.tracks.coarse_m: expected a number in \[1,"),
        ({"tracks": {"share": True}}, "key release.tracks.share: expected to, kinds, downgrade"),
        (
            {"tracks": {"only": "missiles"}},
            r"key release.tracks.only: expected 'threats' \(or no key: tracks of every kind\), "
            "got 'missiles'",
        ),
        ({"tracks": ["USA"]}, "key release.tracks: expected a table"),
    ],
)
def test_from_mapping_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        _policy(table)


def test_a_bad_geojson_area_names_the_key_and_the_fault(tmp_path):
    (tmp_path / "bad.geojson").write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}')
    with pytest.raises(ConfigError, match=r"release.areas\[0\].geojson: expected a linear ring"):
        ReleasePolicy.from_mapping(
            {"areas": [{"name": "x", "to": [], "geojson": "bad.geojson"}]},
            owner="JPN",
            own_sensors=OWN,
            source="jpn.toml",
            base_dir=tmp_path,
        )
