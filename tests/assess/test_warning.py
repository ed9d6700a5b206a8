"""Warning areas: GeoJSON checks, ellipse-polygon intersection, the alert state machine."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from airpicture.assess import (
    AlertBook,
    WarningAreas,
    ellipses_meet_areas,
    read_warning_areas,
)
from airpicture.assess._impact import ellipse_scale
from airpicture.errors import DataError

R_M = 6_371_000.0  # sphere of the test geometry; the module's radius differs by < 0.3 %


def feature(area_id: str, rings: list[list[list[float]]]) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": area_id},
        "geometry": {"type": "Polygon", "coordinates": rings},
    }


def areas_of(*features: dict) -> WarningAreas:
    return WarningAreas.from_geojson({"type": "FeatureCollection", "features": list(features)})


def square(lon0: float, lat0: float, half_deg: float) -> list[list[float]]:
    return [
        [lon0 - half_deg, lat0 - half_deg],
        [lon0 + half_deg, lat0 - half_deg],
        [lon0 + half_deg, lat0 + half_deg],
        [lon0 - half_deg, lat0 + half_deg],
        [lon0 - half_deg, lat0 - half_deg],
    ]


def circle_cov(radius_m: float, confidence: float = 0.95) -> np.ndarray:
    """Covariance whose ``confidence`` ellipse is a circle of ``radius_m``."""
    return np.eye(2) * (radius_m / ellipse_scale(confidence)) ** 2


def meets(areas: WarningAreas, lat_deg: float, lon_deg: float, cov: np.ndarray) -> np.ndarray:
    return ellipses_meet_areas(
        areas, np.radians([lat_deg]), np.radians([lon_deg]), cov[None], 0.95
    )[0]


def test_shipped_areas_are_valid_and_hold_the_raid_impacts() -> None:
    areas = read_warning_areas()
    assert len(areas) >= 8 and len(set(areas.ids)) == len(areas)
    assert areas.geojson["features"][0]["properties"]["name"]
    impacts = {(40.30, 134.80): "sea-of-japan-north-central", (39.80, 135.20): "yamato-bank"}
    for (lat, lon), area in impacts.items():
        hit = meets(areas, lat, lon, circle_cov(1.0))
        assert [a for a, h in zip(areas.ids, hit, strict=True) if h] == [area]


def test_circle_against_a_square_edge() -> None:
    areas = areas_of(feature("sq", [square(135.0, 38.0, 0.1)]))
    edge_lon = 135.1
    for gap_m, radius_m, expected in [(5_000.0, 4_900.0, False), (5_000.0, 5_100.0, True)]:
        lon = edge_lon + math.degrees(gap_m / (R_M * math.cos(math.radians(38.0))))
        assert meets(areas, 38.0, lon, circle_cov(radius_m))[0] == expected
    assert meets(areas, 38.0, 135.0, circle_cov(10.0))[0]  # small circle inside


def test_elongated_ellipse_reaches_along_its_major_axis_only() -> None:
    areas = areas_of(feature("sq", [square(135.0, 38.0, 0.05)]))
    # centre 20 km north of the square's north edge
    lat = 38.05 + math.degrees(20_000.0 / R_M)
    k = ellipse_scale(0.95)
    north_south = np.diag([(2_000.0 / k) ** 2, (25_000.0 / k) ** 2])  # 25 km semi-axis north-south
    east_west = np.diag([(25_000.0 / k) ** 2, (2_000.0 / k) ** 2])
    assert meets(areas, lat, 135.0, north_south)[0]
    assert not meets(areas, lat, 135.0, east_west)[0]
    # rotated by 45 deg it reaches 25 km * cos 45 = 17.7 km north-south: no longer
    c, s = math.cos(math.pi / 4), math.sin(math.pi / 4)
    rot = np.array([[c, -s], [s, c]])
    assert not meets(areas, lat, 135.0, rot @ north_south @ rot.T)[0]


def test_hole_and_multipolygon() -> None:
    holed = feature("ring", [square(135.0, 38.0, 0.5), square(135.0, 38.0, 0.2)])
    areas = areas_of(holed)
    assert not meets(areas, 38.0, 135.0, circle_cov(5_000.0))[0]  # inside the hole, clear of it
    assert meets(areas, 38.0, 135.0, circle_cov(25_000.0))[0]  # reaches across the hole's edge
    assert meets(areas, 38.0, 135.35, circle_cov(100.0))[0]  # in the ring itself
    multi = {
        "type": "Feature",
        "id": "two",
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [[square(135.0, 38.0, 0.1)], [square(137.0, 38.0, 0.1)]],
        },
    }
    two = areas_of(multi)
    assert two.ids == ("two",) and meets(two, 38.0, 137.0, circle_cov(10.0))[0]
    assert not meets(two, 38.0, 136.0, circle_cov(10_000.0))[0]


@pytest.mark.parametrize("lons", [[179.8, -179.8], [179.8, 180.2]])
def test_antimeridian(lons: list[float]) -> None:
    a, b = lons
    ring = [[a, 10.0], [b, 10.0], [b, 10.4], [a, 10.4], [a, 10.0]]
    areas = areas_of(feature("dateline", [ring]))
    for lon in (179.9, -179.9, 180.1 - 360.0):
        assert meets(areas, 10.2, lon, circle_cov(100.0))[0]
    assert not meets(areas, 10.2, 0.0, circle_cov(100.0))[0]
    assert not meets(areas, 10.2, 179.5, circle_cov(10_000.0))[0]  # 33 km west of its edge
    assert meets(areas, 10.2, 179.5, circle_cov(40_000.0))[0]


def _slow_reference(
    ring_deg: list[list[float]], lat0: float, lon0: float, cov: np.ndarray, confidence: float
) -> bool:
    """Sample the ellipse (boundary and inside) and test each point against the polygon."""
    from matplotlib.path import Path

    k = ellipse_scale(confidence)
    L = np.linalg.cholesky(cov)
    th = np.linspace(0, 2 * np.pi, 720)
    pts = [k * r * (L @ np.stack([np.cos(th), np.sin(th)])) for r in np.linspace(0, 1, 30)]
    en = np.concatenate(pts, axis=1).T
    lat = lat0 + np.degrees(en[:, 1] / R_M)
    lon = lon0 + np.degrees(en[:, 0] / (R_M * np.cos(np.radians(lat0))))
    return bool(Path(np.array(ring_deg)).contains_points(np.stack([lon, lat], axis=-1)).any())


def test_random_cases_against_sampling() -> None:
    rng = np.random.default_rng(0)
    agree = 0
    for _ in range(60):
        lon0, lat0 = 135.0 + rng.uniform(-0.3, 0.3), 38.0 + rng.uniform(-0.3, 0.3)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
        radii = rng.uniform(0.05, 0.2, 6)
        ring = [
            [135.0 + r * np.cos(t), 38.0 + r * np.sin(t)]
            for r, t in zip(radii, angles, strict=True)
        ]
        ring.append(ring[0])
        A = rng.normal(size=(2, 2)) * rng.uniform(1_000, 15_000)
        cov = A @ A.T + np.eye(2) * 1e4
        fast = meets(areas_of(feature("p", [ring])), lat0, lon0, cov)[0]
        agree += fast == _slow_reference(ring, lat0, lon0, cov, 0.95)
    assert agree >= 58  # sampling misses only grazing contacts


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        ({"type": "Feature"}, "areas.geojson: expected a GeoJSON FeatureCollection, got 'Feature'"),
        (
            {"type": "FeatureCollection", "features": [feature("", [square(0, 0, 1)])]},
            "areas.geojson feature 0, column properties.id: expected a non-empty string id, got ''",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [feature("a", [square(0, 0, 1)]), feature("a", [square(1, 1, 1)])],
            },
            "areas.geojson feature 1, column properties.id: expected a unique id, got 'a' again",
        ),
        (
            {"type": "FeatureCollection", "features": [feature("a", [[[0, 0], [1, 0], [0, 0]]])]},
            "areas.geojson feature 0 ring 0: expected a linear ring of at least 4 positions",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [feature("a", [[[0, 0], [1, 0], [1, 1], [0, 1]]])],
            },
            "areas.geojson feature 0 ring 0: expected a closed ring",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [feature("a", [[[0, 0], [1, 95], [1, 1], [0, 0]]])],
            },
            "areas.geojson feature 0 ring 0 position 1: "
            "expected a finite latitude in \\[-90, 90\\] deg, got 95",
        ),
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": "p",
                        "geometry": {"type": "Point", "coordinates": [0, 0]},
                    }
                ],
            },
            "areas.geojson feature 0, column geometry: "
            "expected a Polygon or MultiPolygon with coordinates, got 'Point'",
        ),
    ],
)
def test_bad_geojson_says_where_what_expected_got(tmp_path, collection: dict, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(collection))
    with pytest.raises(DataError, match=message):
        read_warning_areas(path)


def test_unreadable_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match="expected a readable GeoJSON file"):
        read_warning_areas(tmp_path / "none.geojson")
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(DataError, match="bad.geojson: expected valid JSON, got"):
        read_warning_areas(tmp_path / "bad.geojson")


def test_alert_state_machine() -> None:
    areas = areas_of(
        feature("a", [square(135.0, 38.0, 0.1)]), feature("b", [square(136.0, 38.0, 0.1)])
    )
    book = AlertBook(areas, update_m=1_000.0, update_s=2.0, down_margin_s=5.0)
    lat, lon = np.radians([38.0]), np.radians([135.0])

    def step(
        t: float,
        hit: list[bool],
        impact_t: float = 500.0,
        dlat: float = 0.0,
        keep: list[bool] | None = None,
    ):  # type: ignore[no-untyped-def]
        dlat = dlat if t < 103.0 else 2_000.0 / R_M  # the prediction moves 2 km north at 103 s
        m = np.array([hit])
        k = m if keep is None else np.array([keep])
        return book.update(t, ["T1"], m, k, np.array([impact_t]), lat + dlat, lon)

    rows = step(100.0, [True, False])
    assert (
        list(rows.alert_id) == ["T1:a:1"]
        and list(rows.event) == ["issued"]
        and rows.state[0] == "active"
    )
    assert len(step(101.0, [True, False], impact_t=501.0)) == 0  # small change: no row
    rows = step(102.0, [True, False], impact_t=503.0)  # impact time moved 3 s
    assert list(rows.event) == ["updated"] and rows.impact_t_s[0] == 503.0
    rows = step(103.0, [True, False], impact_t=503.0)  # moved 2 km
    assert list(rows.event) == ["updated"]
    rows = step(104.0, [False, True], impact_t=503.0, keep=[True, True])  # hysteresis keeps "a"
    assert list(zip(rows.alert_id, rows.event, strict=True)) == [("T1:b:1", "issued")]
    rows = step(105.0, [False, True], impact_t=503.0)
    assert list(zip(rows.alert_id, rows.event, rows.reason, strict=True)) == [
        ("T1:a:1", "cancelled", "clear")
    ]
    rows = step(106.0, [True, True], impact_t=503.0)
    assert list(rows.alert_id) == ["T1:a:2"]  # a new alert for the same pair gets a new id
    assert book.active() == [("T1:a:2", "a", "T1"), ("T1:b:1", "b", "T1")]
    assert len(book.tick(507.0)) == 0  # within the margin after the predicted impact
    rows = book.tick(508.0)
    assert (
        list(rows.reason) == ["down", "down"]
        and set(rows.state) == {"cancelled"}
        and len(book) == 0
    )
    step(600.0, [True, False])
    rows = book.cancel_tracks(601.0, ["T1"], "not-ballistic")
    assert list(rows.reason) == ["not-ballistic"] and len(book) == 0
