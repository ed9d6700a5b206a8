"""The network picture: numbers, track-to-track fusion and partners' tracks, with real trackers
exchanging their shared tracks frame by frame (as nodes do over the bus)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.net.synthetic import synthetic_scenario

from airpicture.assess import AssessConfig, Assessor, read_warning_areas
from airpicture.codes import TRACK_KINDS
from airpicture.fusion import CommonPicture, TrackReports
from airpicture.tables import STATUS_NAMES, Detections, SensorSequence, TrackRows
from airpicture.tracker import Tracker, TrackerConfig

_FIRM = ("confirmed", "coasting")


class _Nation:
    """One nation's tracker and network picture, fed the detections it may see."""

    def __init__(self, nation, sensors, radars):
        self.nation = nation
        self.sensors = sensors
        self.radars = radars
        self.tracker = Tracker(sensors, TrackerConfig(latency_window_s=4.0))
        self.assessor = Assessor(AssessConfig(), areas=read_warning_areas())
        self.picture = CommonPicture(nation, sensors)
        self.rows: list[TrackRows] = []
        self.outbox: list[TrackReports] = []

    def feed(self, detections: Detections) -> None:
        ids = [self.sensors.index_of(s) for s in self.radars]
        chunk = detections.take(np.isin(detections.sensor_index, ids))

        def on_frame(rows, t_s):
            result, reports = self.picture.step(self.assessor, self.tracker, rows, t_s)
            self.rows.append(result.rows)
            self.outbox.append(reports)

        if len(chunk):
            self.tracker.process(chunk, on_frame=on_frame)

    def send(self) -> TrackReports:
        out = TrackReports.concat(self.outbox)
        self.outbox = []
        return out

    def table(self) -> TrackRows:
        rows = TrackRows.concat([r for r in self.rows if len(r)])
        assert set(rows.status) <= set(STATUS_NAMES) and set(rows.kind) <= set(TRACK_KINDS)
        return rows


def _run(nations, share, *, seed=3, duration_s=120.0):
    """Feed every nation its detections in 1-s arrival steps; after each step, each nation's
    new firm tracks go to the nations in ``share[nation]`` (arriving one step later)."""
    sc = synthetic_scenario(n_targets=14, duration_s=duration_s, seed=seed)
    dets = SensorSequence(len(sc.sensors)).network_rows(sc.detections)
    by = {n.nation: n for n in nations}
    step = np.floor(sc.arrival_s - sc.arrival_s.min()).astype(int)
    in_flight: list[tuple[str, str, TrackReports]] = []
    for k in range(int(step.max()) + 1):
        for sender, recipient, reports in in_flight:
            by[recipient].picture.receive(sender, reports)
        in_flight = []
        chunk = dets.take(step == k)
        if len(chunk) == 0:
            continue
        for n in nations:
            n.feed(chunk)
            # a nation with nothing to track this step still shows its partners' tracks
            if not any(np.isin(chunk.sensor_index, [sc.sensors.index_of(s) for s in n.radars])):
                rows = TrackRows.empty()
                result, _ = n.picture.step(n.assessor, n.tracker, rows, float(chunk.t_s.max()))
                n.rows.append(result.rows)
        for n in nations:
            out = n.send()
            recipients = share.get(n.nation, ())
            for recipient in recipients:
                if len(out):
                    in_flight.append((n.nation, recipient, out))
            # what a node knows of where its numbers go (a node keeps it from its shares)
            seen = dict(n.picture.shared_with)
            for number in out.rows.track_id:
                seen[str(number)] = frozenset(recipients)
            n.picture.shared_with = seen
    return sc


def _numbers_of_the_same_objects(a: TrackRows, b: TrackRows) -> list[tuple[str, str]]:
    """Pairs of numbers of firm tracks of two pictures within 3 km of each other, 10 s before
    the end of the shorter one."""
    end = min(a.t_s.max(), b.t_s.max()) - 10.0

    def firm_at(rows: TrackRows) -> dict[str, int]:
        last = {str(rows.track_id[i]): i for i in np.flatnonzero(rows.t_s <= end)}
        return {k: i for k, i in last.items() if rows.status[i] in _FIRM}

    fa, fb = firm_at(a), firm_at(b)
    return [
        (k, m)
        for k, i in fa.items()
        for m, j in fb.items()
        if np.linalg.norm(a.x[i, :3] - b.x[j, :3]) < 3_000.0
    ]


def _latest(rows: TrackRows) -> dict[str, int]:
    """Each number's last row index."""
    return {str(t): i for i, t in enumerate(rows.track_id)}


def test_nations_with_the_same_detections_issue_the_same_numbers():
    sc = synthetic_scenario(n_targets=14, duration_s=90.0, seed=5)
    radars = ("JPN-R1", "USA-R1", "AUS-R1")
    a = _Nation("JPN", sc.sensors, radars)
    b = _Nation("USA", sc.sensors, radars)
    _run([a, b], {"JPN": ("USA",), "USA": ("JPN",)}, seed=5, duration_s=90.0)
    ra, rb = a.table(), b.table()
    firm_a = set(ra.track_id[np.isin(ra.status, _FIRM)])
    firm_b = set(rb.track_id[np.isin(rb.status, _FIRM)])
    assert firm_a == firm_b and len(firm_a) >= 10
    assert all(str(t).split("-")[0][:3] in {"JPN", "USA", "AUS"} for t in firm_a)
    # the same detections: nothing had to be merged or adopted
    assert a.picture.stats.merged == b.picture.stats.merged == 0
    assert a.picture.stats.fused_rows > 0  # each fuses the other's track of every object


def test_a_nation_without_the_plots_holds_its_partners_tracks_under_their_numbers():
    sc = synthetic_scenario(n_targets=14, duration_s=120.0, seed=3)
    jpn = _Nation("JPN", sc.sensors, ("JPN-R1", "USA-R1"))
    phl = _Nation("PHL", sc.sensors, ())  # no sensors: partners' tracks only
    _run([jpn, phl], {"JPN": ("PHL",)})
    rj, rp = jpn.table(), phl.table()
    firm_j = set(rj.track_id[np.isin(rj.status, _FIRM)])
    live_p = set(rp.track_id[rp.status != "deleted"])
    assert firm_j and firm_j <= live_p | set(rp.track_id)
    assert set(rp.sources[rp.status != "deleted"]) == {"JPN:track"}
    assert set(rp.local_id) == {""}
    # the partner's picture follows the owner's: same number, position within its spread
    last_j, last_p = _latest(rj), _latest(rp)
    for number in firm_j:
        i, j = last_j[number], last_p[number]
        if rj.status[i] == "deleted" or rp.status[j] == "deleted":
            continue
        dist = np.linalg.norm(rj.x[i, :3] - rp.x[j, :3])
        assert dist < 2_000.0 + 50.0 * abs(rj.t_s[i] - rp.t_s[j]) * 300.0
    assert rp.quality.min() >= 0 and rp.quality.max() <= 15


def test_partial_pictures_converge_on_one_number_per_object():
    """JPN sees JPN and USA radars, AUS sees AUS and USA radars, and they share tracks both ways:
    objects both hold end up under one number at both, fused from plots and the other's track."""
    sc = synthetic_scenario(n_targets=14, duration_s=150.0, seed=11)
    jpn = _Nation("JPN", sc.sensors, ("JPN-R1", "USA-R1"))
    aus = _Nation("AUS", sc.sensors, ("AUS-R1", "USA-R1"))
    _run([jpn, aus], {"JPN": ("AUS",), "AUS": ("JPN",)}, seed=11, duration_s=150.0)
    rj, ra = jpn.table(), aus.table()
    # at the end: every firm own track of one nation that the other also tracks itself shows
    # the same number at both (matched by position)
    both = _numbers_of_the_same_objects(rj, ra)
    assert len(both) >= 5
    same = sum(k == m for k, m in both)
    assert same / len(both) >= 0.9, both
    fused = ra.sources[np.char.find(ra.sources.astype(str), "JPN:track") >= 0]
    assert any("AUS:plots" in s or "USA:plots" in s for s in fused)


def test_a_bad_covariance_is_refused_and_counted():
    sc = synthetic_scenario(n_targets=2, duration_s=10.0)
    picture = CommonPicture("AUS", sc.sensors)
    n = 2
    rows = TrackRows(
        t_s=np.full(n, 1.0),
        track_id=np.array(["JPN1-1", "JPN1-2"]),
        x=np.tile([-3.6e6, 3.8e6, 3.7e6, 100, 0, 0], (n, 1)),
        cov_pos=np.zeros((n, 6)),
        kind=np.full(n, "aircraft"),
        status=np.full(n, "confirmed"),
        nations=np.full(n, "JPN"),
    )
    cov = np.stack([np.eye(7) * 100.0, -np.eye(7)])
    state = np.zeros((n, 7))
    state[:, :6] = rows.x
    refused = picture.receive("JPN", TrackReports(rows, state, cov, np.full(n, 5), np.full(n, 0.0)))
    assert refused == {"JPN1-2": "not positive-definite"}
    assert picture.stats.rejected == {"not positive-definite": 1}
    assert picture.stats.received == 1
    with pytest.raises(ValueError, match="own"):
        picture.receive("AUS", TrackReports.empty())


def test_a_nation_takes_the_number_of_a_partner_that_cannot_see_its_track():
    """AUS tracks on the USA's radar only and shares with JPN; JPN (JPN and USA radars) does not
    share back, so AUS can never learn JPN's numbers: JPN takes AUS's numbers, even where its
    own go back further (its first report was often JPN's radar's, earlier)."""
    sc = synthetic_scenario(n_targets=14, duration_s=150.0, seed=11)
    jpn = _Nation("JPN", sc.sensors, ("JPN-R1", "USA-R1"))
    aus = _Nation("AUS", sc.sensors, ("USA-R1",))
    _run([jpn, aus], {"AUS": ("JPN",)}, seed=11, duration_s=150.0)
    pairs = _numbers_of_the_same_objects(jpn.table(), aus.table())
    assert len(pairs) >= 5
    assert sum(k == m for k, m in pairs) / len(pairs) >= 0.9, pairs
    assert jpn.picture.stats.merged > 0  # it gave up some of its own numbers
