"""Classification: the envelope likelihood in closed form, typical objects, batch against loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from airpicture.assess._classify import (
    ClassifierConfig,
    TrackFeatures,
    _log_box,
    classify,
    kind_log_likelihoods,
    smooth_log_likelihoods,
    track_features,
)
from airpicture.codes import TRACK_KINDS
from airpicture.errors import ConfigError
from airpicture.geo import enu_rotation, geodetic2ecef


def features(speed, sd_speed, alt, sd_alt, climb, sd_climb):  # type: ignore[no-untyped-def]
    return TrackFeatures(
        *(
            np.atleast_1d(np.asarray(v, dtype=float))
            for v in (speed, sd_speed, alt, sd_alt, climb, sd_climb)
        )
    )


@pytest.mark.parametrize(("value", "sd"), [(50.0, 10.0), (0.0, 30.0), (210.0, 5.0), (100.0, 400.0)])
def test_box_likelihood_is_the_convolution_of_uniform_and_gaussian(value: float, sd: float) -> None:
    low, high = 20.0, 200.0
    ref, _ = integrate.quad(lambda f: norm.pdf(value, f, sd) / (high - low), low, high)
    assert np.exp(_log_box(np.array([value]), np.array([sd]), low, high))[0] == pytest.approx(
        ref, rel=1e-8
    )


@pytest.mark.parametrize(
    ("name", "values", "mu_free", "mu_rocket", "expected"),
    [
        ("missile in free flight", (2100.0, 20.0, 90e3, 300.0, 900.0, 20.0), 0.95, 0.95,
         "ballistic"),
        ("re-entry", (2300.0, 30.0, 15e3, 200.0, -1700.0, 30.0), 0.9, 0.9, "ballistic"),
        ("airliner", (240.0, 3.0, 11_000.0, 300.0, 0.0, 3.0), 0.0, 0.001, "aircraft"),
        ("sea skimmer", (250.0, 4.0, 60.0, 40.0, 0.0, 2.0), 0.0, 0.001, "cruise"),
        ("helicopter", (35.0, 3.0, 600.0, 150.0, 1.0, 2.0), 0.0, 0.001, "helicopter/uav"),
        (
            "new track, velocity unknown",
            (0.0, 700.0, 5_000.0, 2_000.0, 0.0, 700.0),
            0.1,
            0.25,
            "aircraft",
        ),
        # Confirmed tracks of the Sea of Japan raid (seed 1), at their confirmation.
        # Three clutter reports 25 s apart at 60 km, followed by the boost model only.
        ("clutter at 60 km", (1219.0, 360.0, 60447.0, 5310.0, 1183.0, 351.0), 0.0, 1.0, "unknown"),
        # Clutter joined by the turn model far above any aircraft.
        ("clutter in a turn", (3338.0, 77.0, 62374.0, 888.0, 724.0, 44.0), 0.0, 0.0, "unknown"),
        # A missile at burnout, the free-flight model taking over.
        ("missile after burnout", (1967.0, 100.0, 113670.0, 698.0, 1304.0, 120.0), 0.85, 0.93,
         "ballistic"),
    ],
)
def test_typical_objects(
    name: str, values: tuple[float, ...], mu_free: float, mu_rocket: float, expected: str
) -> None:
    cfg = ClassifierConfig()
    kind, confidence, post = classify(
        kind_log_likelihoods(features(*values), np.array([mu_free]), np.array([mu_rocket]), cfg),
        cfg,
    )
    assert kind[0] == expected, name
    assert post.sum() == pytest.approx(1.0)
    assert confidence[0] >= cfg.min_confidence  # unknown too: it is a hypothesis of its own


def test_below_the_confidence_threshold_the_kind_is_unknown() -> None:
    # Low and slow-ish with a poor height: a cruise missile or an aircraft, and not sure which.
    f = features(170.0, 5.0, 300.0, 400.0, 0.0, 3.0)
    loose, strict = ClassifierConfig(), ClassifierConfig(min_confidence=0.99)
    kind, confidence, _ = classify(kind_log_likelihoods(f, np.zeros(1), np.zeros(1), loose), loose)
    assert kind[0] in ("aircraft", "cruise") and confidence[0] < 0.99
    strict_kind = classify(kind_log_likelihoods(f, np.zeros(1), np.zeros(1), strict), strict)[0]
    assert strict_kind[0] == "unknown"


def test_above_the_aircraft_ceiling_only_free_flight_is_ballistic() -> None:
    # One state at 60 km, 1.2 km/s, climbing: only the ballistic (and unknown) envelope holds it.
    # The kind follows the IMM: free flight makes it ballistic; the boost model alone (a
    # rocket under thrust, or reports of clutter joined into a track) leaves it unknown.
    f = features(*(np.full(3, v) for v in (1200.0, 50.0, 60e3, 500.0, 1000.0, 50.0)))
    cfg = ClassifierConfig()
    free = np.array([0.0, 0.2, 0.9])
    kind, _, post = classify(kind_log_likelihoods(f, free, np.ones(3), cfg), cfg)
    assert kind.tolist() == ["unknown", "ballistic", "ballistic"]
    assert (np.diff(post[:, TRACK_KINDS.index("ballistic")]) > 0).all()


def test_batch_equals_loop_and_permutation() -> None:
    rng = np.random.default_rng(0)
    n = 40
    f = features(
        rng.uniform(0, 3000, n), rng.uniform(1, 100, n), rng.uniform(0, 2e5, n),
        rng.uniform(10, 2000, n), rng.uniform(-2000, 2000, n), rng.uniform(1, 100, n),
    )  # fmt: skip
    mu = rng.uniform(0, 1, n)
    free = mu * rng.uniform(0, 1, n)
    cfg = ClassifierConfig()
    batch = kind_log_likelihoods(f, free, mu, cfg)
    for i in range(n):
        one = features(*(getattr(f, name)[i] for name in TrackFeatures.__dataclass_fields__))
        np.testing.assert_allclose(
            kind_log_likelihoods(one, free[i : i + 1], mu[i : i + 1], cfg)[0], batch[i], rtol=1e-12
        )
    perm = rng.permutation(n)
    shuffled = TrackFeatures(
        *(getattr(f, name)[perm] for name in TrackFeatures.__dataclass_fields__)
    )
    np.testing.assert_array_equal(
        kind_log_likelihoods(shuffled, free[perm], mu[perm], cfg), batch[perm]
    )
    # one update never rules a kind out by more than max_update_log_odds
    assert (batch.max(axis=1) - batch.min(axis=1) <= cfg.max_update_log_odds + 1e-9).all()


def test_features_of_a_known_state() -> None:
    lat, lon, alt = np.radians(38.0), np.radians(135.0), 9_000.0
    p = np.array(geodetic2ecef(lat, lon, alt))
    v = enu_rotation(lat, lon).T @ np.array([200.0, 0.0, -10.0])
    P = np.zeros((1, 7, 7))
    P[0, :3, :3] = (
        enu_rotation(lat, lon).T @ np.diag([100.0**2, 100.0**2, 50.0**2]) @ enu_rotation(lat, lon)
    )
    P[0, 3:6, 3:6] = np.eye(3) * 4.0
    f = track_features(np.r_[p, v, 0.0][None], P)
    assert f.speed_mps[0] == pytest.approx(np.hypot(200.0, 10.0))
    assert f.alt_m[0] == pytest.approx(alt, abs=1e-6)
    assert f.climb_mps[0] == pytest.approx(-10.0, abs=1e-9)
    assert f.sd_alt_m[0] == pytest.approx(50.0, rel=1e-9)
    assert f.sd_climb_mps[0] == pytest.approx(2.0, rel=1e-9)
    # speed: 2 m/s along; the 2x2 m/s across adds (8 / (1 + 40100 / 8)) m^2/s^2
    assert f.sd_speed_mps[0] == pytest.approx(np.sqrt(4.0 + 8.0 / (1.0 + 40100.0 / 8.0)), rel=1e-9)


def test_smoothing_recursion() -> None:
    prev = np.array([[0.0, -10.0], [np.nan, np.nan]])
    cur = np.array([[-4.0, 0.0], [-1.0, -2.0]])
    out = smooth_log_likelihoods(prev, cur, np.array([10.0, 3.0]), 10.0)
    w = np.exp(-1.0)
    np.testing.assert_allclose(out[0], w * prev[0] + (1 - w) * cur[0])
    np.testing.assert_array_equal(out[1], cur[1])  # no history: the update itself
    np.testing.assert_array_equal(smooth_log_likelihoods(prev, cur, np.ones(2), 0.0), cur)


def test_config_is_checked() -> None:
    with pytest.raises(
        ConfigError, match="key min_confidence: expected a number in \\[0, 1\\], got 2"
    ):
        ClassifierConfig(min_confidence=2)
    assert TRACK_KINDS[-1] == "unknown" and len(ClassifierConfig().log_prior) == len(TRACK_KINDS)


def _state(lat_deg: float, lon_deg: float, alt_m: float, v_enu: tuple[float, float, float]):  # type: ignore[no-untyped-def]
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    p = np.array(geodetic2ecef(lat, lon, alt_m))
    v = enu_rotation(lat, lon).T @ np.asarray(v_enu, dtype=float)
    return np.concatenate([p, v])


@pytest.mark.parametrize(
    ("alt_m", "speed_mps"), [(0.0, 0.0), (10e3, 250.0), (13e3, 300.0), (120e3, 2500.0)]
)
def test_specific_energy_against_the_point_mass_closed_form(alt_m: float, speed_mps: float) -> None:
    """E = v^2/2 + GM (1/R - 1/(R + h)) with R the distance of the ellipsoid point below: to
    0.5 % of g0 h + v^2/2 at airliner heights (gravity falls by 0.3 % over 10 km), to 1e-5 of
    the closed form at any height (r - h stands for R: the ellipsoid's normal is not quite
    radial), and 0 for a body at rest on the ellipsoid."""
    from airpicture.assess import specific_energy
    from airpicture.geo import STANDARD_GRAVITY_MPS2
    from airpicture.geo._wgs84 import WGS84_GM_M3PS2

    x = _state(38.0, 135.0, alt_m, (speed_mps, 0.0, 0.0))
    e, _ = specific_energy(x[None], np.eye(6)[None])
    ground = np.linalg.norm(_state(38.0, 135.0, 0.0, (0, 0, 0))[:3])
    r = np.linalg.norm(x[:3])
    closed = speed_mps**2 / 2 + WGS84_GM_M3PS2 * (1 / ground - 1 / r)
    assert e[0] == pytest.approx(closed, rel=1e-5, abs=1e-6)
    if alt_m <= 13e3:
        flat = STANDARD_GRAVITY_MPS2 * alt_m + speed_mps**2 / 2
        assert e[0] == pytest.approx(flat, rel=5e-3, abs=1e-6)


def test_the_energy_deviation_matches_sampling() -> None:
    """First-order sd of E against 20,000 samples of a 6-D Gaussian state: within 3 %."""
    from airpicture.assess import specific_energy

    rng = np.random.default_rng(3)
    x = _state(38.0, 135.0, 40e3, (900.0, 300.0, 600.0))
    A = rng.normal(size=(6, 6))
    P = A @ A.T * np.array([400.0, 400.0, 400.0, 25.0, 25.0, 25.0])[:, None] ** 0.5
    P = 0.5 * (P + P.T) + np.diag([1e4, 1e4, 1e4, 100.0, 100.0, 100.0])
    samples = rng.multivariate_normal(x, P, size=20_000)
    e_samples, _ = specific_energy(samples, np.zeros((len(samples), 6, 6)))
    _, sd = specific_energy(x[None], P[None])
    assert sd[0] == pytest.approx(e_samples.std(), rel=0.03)


def test_a_track_that_never_had_free_flight_energy_is_not_ballistic() -> None:
    """An airliner's track whose estimate leaves the aircraft envelope (descending at 60 m/s)
    while the IMM favours free flight: ballistic without the energy evidence, and not with an
    airliner's energy (170 kJ/kg, known to 5 kJ/kg); a missile's 1.5 MJ/kg keeps it
    ballistic."""
    cfg = ClassifierConfig()
    f = features(260.0, 3.0, 6_000.0, 100.0, -60.0, 3.0)
    free, rocket = np.array([0.9]), np.array([0.95])
    assert classify(kind_log_likelihoods(f, free, rocket, cfg), cfg)[0][0] == "ballistic"
    from airpicture.assess._classify import free_flight_energy_probability

    def evidence(energy_jpkg: float, sd_jpkg: float, peak_jpkg: float) -> float:
        e = free_flight_energy_probability(
            np.array([energy_jpkg]), np.array([sd_jpkg]), np.array([peak_jpkg]), cfg
        )
        return float(e[0])

    def kind_with(p: float) -> str:
        return str(classify(kind_log_likelihoods(f, free, rocket, cfg, np.array([p])), cfg)[0][0])

    assert kind_with(evidence(170e3, 5e3, 160e3)) != "ballistic"
    assert kind_with(evidence(1.5e6, 5e3, 1.49e6)) == "ballistic"
    # a new track whose energy is unknown (1 MJ/kg either way) is neither vetoed nor helped
    assert 0.4 < evidence(300e3, 1e6, -1.7e6) < 0.6
    # an uncertain early estimate is not remembered; an energy shown to 2 sigma is
    assert evidence(170e3, 5e3, -1.7e6) < 0.01
    assert evidence(170e3, 5e3, 1.0e6) > 0.99
    # the threshold is the minimum-energy flight of the shortest range in scope: g R / 2
    assert cfg.min_ballistic_energy_jpkg == pytest.approx(9.80665 * 50e3 / 2)


def test_the_energy_deviation_of_an_unknown_velocity_matches_sampling() -> None:
    """A new track: velocity about zero with 300 m/s per axis. The first-order deviation would
    be nearly zero; with the second-order term, within 3 % of 20,000 samples."""
    from airpicture.assess import specific_energy

    rng = np.random.default_rng(4)
    x = _state(38.0, 135.0, 10e3, (5.0, 0.0, 0.0))
    P = np.diag([300.0**2] * 3 + [300.0**2] * 3)
    samples = rng.multivariate_normal(x, P, size=20_000)
    e_samples, _ = specific_energy(samples, np.zeros((len(samples), 6, 6)))
    _, sd = specific_energy(x[None], P[None])
    assert sd[0] == pytest.approx(e_samples.std(), rel=0.03)
