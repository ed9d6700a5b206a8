"""One node's network picture: its own tracks and its partners' shared tracks under network
track numbers, fused where both hold an object.

:class:`CommonPicture` sits after a node's tracker and classification, frame by frame. Its own
tracks come from the node's tracker (built on the detections the node receives, its own and
its partners'); its partners' tracks come as :class:`TrackReports` (each partner shares its own
tracks, never what it received, so nothing echoes back). Per frame it

1. numbers every new own track from its first report that every nation holds
   (:mod:`airpicture.fusion._numbers`), again at confirmation and, for aircraft, later when such
   a report joins it;
2. associates its firm tracks with the partners' tracks, grouped by network number: exact
   chi-square distance over position and velocity, one global assignment, a wider gate for a
   track and the partner track that already carries its number (hysteresis: a pair does not
   flap on one poor update);
3. settles numbers: a track just confirmed takes the number of the partner track it matches;
   two numbers found on one object for ``merge_after`` frames in a row are resolved to the one
   that goes back furthest, the other retired for good; a track whose number's partner track
   has failed even the wide gate ``decorrelate_after`` times in a row is another object and
   falls back to its own number;
4. writes the rows: an own track fused with the partners' tracks of its number (covariance
   intersection: no double counting of what they share), a partners'-only track as they gave
   it (several partners fused); every row lists its sources (``JPN:plots;USA:track``) and its
   quality 0-15.

The rules are in ``docs/network.md`` ("Network track numbers").
"""

from __future__ import annotations

import collections
import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from scipy.stats import chi2

from airpicture.assess import Assessment, Assessor, TrackStates
from airpicture.association._assignment import gnn_assign
from airpicture.fusion._config import FusionConfig
from airpicture.fusion._frames import (
    FusionStats,
    LocalFrame,
    NetworkFrame,
    TrackReports,
    _empty_network_rows,
    _Report,
)
from airpicture.fusion._numbers import NumberBlocks, precedes
from airpicture.fusion._t2t import (
    covariance_intersection,
    pair_distances,
    predict_tracks,
    spd_problems,
    track_quality,
)
from airpicture.tables import (
    RELEASE_ALL,
    AlertRows,
    SensorTable,
    TrackRows,
    cov_pos_from_matrix,
    cov_pos_to_matrix,
)
from airpicture.tracker import Tracker

__all__ = [
    "CommonPicture",
    "FusionConfig",
    "FusionStats",
    "LocalFrame",
    "NetworkFrame",
    "TrackReports",
]

_FIRM = ("confirmed", "coasting")
_LATE_RENUMBER_KINDS = ("aircraft", "helicopter/uav")
"""Kinds whose firm tracks still take the number of a report every nation holds."""


class CommonPicture:
    """A node's network picture (see the module docstring).

    Parameters
    ----------
    nation : str
        The node's nation.
    sensors : SensorTable
        Every sensor of the network (the same table on every node: it defines the numbers).
    config : FusionConfig, optional
    """

    def __init__(
        self, nation: str, sensors: SensorTable, config: FusionConfig | None = None
    ) -> None:
        self.nation = nation
        self.config = config if config is not None else FusionConfig()
        self.stats = FusionStats()
        self._blocks = NumberBlocks(sensors)
        self._gate = float(chi2.ppf(self.config.gate_probability, 6))
        self._keep_gate = float(chi2.ppf(self.config.keep_probability, 6))
        self._number: dict[str, str] = {}  # own tracker's id -> network number
        self._own: dict[str, str] = {}  # own tracker's id -> the number its first report issued
        self._origin_row: dict[str, int] = {}  # own tracker's id -> the report it came from
        self._firm: set[str] = set()  # own tracker ids seen firm
        self._key: dict[str, float] = {}  # network number -> time of its first report
        self._retired: dict[str, str] = {}  # retired number -> the number that replaced it
        self._reports: dict[tuple[str, str], _Report] = {}  # (owner, number) -> report in use
        # (owner, number as sent) -> reports not yet in use, in time order
        self._pending: dict[tuple[str, str], collections.deque[_Report]] = {}
        self._streak: dict[tuple[str, str], int] = {}  # (own id, other number) -> frames met
        self._missed: dict[str, int] = {}  # own id -> frames its number's partner track missed
        # partners' numbers joined to an own track of another number (own id), and last frame's
        self._absorbed: dict[str, str] = {}
        self._absorbed_before: dict[str, str] = {}
        self._shown: dict[str, tuple[float, np.ndarray, np.ndarray]] = {}  # live in the output
        # per number of this node's own tracks, the partners it is shared with (the node keeps
        # it up to date; nothing is shared in a batch run)
        self.shared_with: Mapping[str, frozenset[str]] = {}

    # ------------------------------------------------------------------ input
    def number_of(self, local_id: str) -> str | None:
        """The network number of one of this node's own tracks (None if never seen)."""
        return self._number.get(local_id)

    def resolve(self, number: str) -> str:
        """The number in use for ``number`` (itself unless it was retired)."""
        seen = set()
        while number in self._retired and number not in seen:
            seen.add(number)
            number = self._retired[number]
        return number

    def receive(self, owner: str, reports: TrackReports) -> dict[str, str]:
        """Take a partner's shared tracks; rows that cannot be fused are refused.

        A row is refused when its state is not finite or its covariance is not symmetric
        positive-definite of a sane size (:func:`~airpicture.fusion.spd_problems`).

        Returns
        -------
        dict of str to str
            The refused rows' network numbers and why (also counted in :attr:`stats`).
        """
        if owner == self.nation:
            raise ValueError(f"CommonPicture.receive: reports of {owner} are this node's own")
        problems = spd_problems(reports.cov)
        bad_state = ~np.isfinite(reports.state).all(axis=1)
        problems[bad_state & (problems == "")] = "state not finite"
        refused: dict[str, str] = {}
        rows = reports.rows
        quality = track_quality(reports.cov[:, :3, :3])
        for i in range(len(reports)):
            number = str(rows.track_id[i])
            if problems[i]:
                refused[number] = str(problems[i])
                self.stats.rejected[problems[i]] = self.stats.rejected.get(problems[i], 0) + 1
                continue
            self.stats.received += 1
            self._key.setdefault(number, float(reports.first_t_s[i]))
            self._pending.setdefault((owner, number), collections.deque()).append(
                _Report(
                    owner=owner,
                    t_s=float(rows.t_s[i]),
                    state=reports.state[i].copy(),
                    cov=reports.cov[i].copy(),
                    kind=str(rows.kind[i]),
                    status=str(rows.status[i]),
                    nations=str(rows.nations[i]),
                    hits=int(reports.hits[i]),
                    quality=int(quality[i]),
                    release=int(rows.release[i]) if rows.release is not None else RELEASE_ALL,
                )
            )
        return refused

    def report_span(self) -> tuple[float, float]:
        """The oldest and newest times of the partners' reports held, in use or waiting
        (inf and -inf when there are none)."""
        times = [r.t_s for r in self._reports.values()]
        times += [r.t_s for queue in self._pending.values() for r in queue]
        return (min(times), max(times)) if times else (math.inf, -math.inf)

    def _apply(self, upto_s: float) -> None:
        """Partners' reports up to ``upto_s`` take effect, in their time order (a deleted row
        ends its track), so the picture follows the partners' tracks in scenario time whatever
        the network's timing."""
        for key, queue in list(self._pending.items()):
            while queue and queue[0].t_s <= upto_s:
                report = queue.popleft()
                current = (report.owner, self.resolve(key[1]))
                if report.status == "deleted":
                    self._reports.pop(current, None)
                else:
                    self._reports[current] = report
            if not queue:
                del self._pending[key]

    # ------------------------------------------------------------------ the frame
    def step(
        self, assessor: Assessor, tracker: Tracker, rows: TrackRows, t_s: float
    ) -> tuple[Assessment, TrackReports]:
        """Classify, number, fuse and warn on one tracker frame: what a node (or a batch run)
        does after every frame.

        Returns the network frame as an :class:`~airpicture.assess.Assessment` (rows, impacts
        and alert changes under network numbers; the alerts of a retired number cancelled as
        ``renumbered``) and this node's own tracks to share.
        """
        return self.step_local(assessor, LocalFrame.take(assessor, tracker, rows, t_s))

    def step_local(self, assessor: Assessor, local: LocalFrame) -> tuple[Assessment, TrackReports]:
        """:meth:`step` on a frame taken earlier (:meth:`LocalFrame.take`): a node takes its
        frames as its tracker makes them and steps them once its partners' tracks up to them
        have arrived."""
        net = self.frame(local)
        t_s = local.t_s
        changes = []
        if net.renumbered and assessor.alert_book is not None:
            old = [o for o, _ in net.renumbered]
            changes.append(assessor.alert_book.cancel_tracks(t_s, old, "renumbered"))
            assessor.forget(np.array(old, dtype=str))
        impacts, alerts = assessor.warn(net.states, t_s)
        assessor.forget(net.rows.track_id[net.rows.status == "deleted"])
        parts = [a for a in (*changes, alerts) if len(a)]
        all_alerts = AlertRows.concat(parts) if parts else AlertRows.empty()
        return Assessment(net.rows, impacts, all_alerts), net.reports

    def frame(self, frame: LocalFrame) -> NetworkFrame:
        """Turn one classified tracker frame into network rows."""
        rows, states, t_s = frame.rows, frame.states, frame.t_s
        local = np.asarray(rows.track_id, dtype=str)
        live = frame.live
        self._number_new(local[live], frame.first_row[live], frame.t_first_s[live])
        firm = live & np.isin(rows.status, _FIRM)
        groups = self._groups(t_s)
        reissued = self._reissue(local, firm, frame)
        renumbered = reissued + self._settle(local[firm], np.flatnonzero(firm), frame, groups, t_s)
        for lid in local[firm]:
            self._firm.add(str(lid))
        out, out_states = self._own_rows(rows, local, live, firm, frame, states, groups)
        reports = self._own_reports(rows, local, states)
        ended = {self._number.get(str(i), "") for i in local[rows.status == "deleted"]}
        for lid in local[rows.status == "deleted"]:
            self._forget_own(str(lid))
        own = set(self._number.values())
        shown = {n: g for n, g in groups.items() if n not in self._absorbed}
        partner, partner_states = self._partner_rows(shown, own, ended)
        gone = self._gone_rows(own | set(shown), t_s)
        parts = [p for p in (out, partner, gone) if len(p)]
        return NetworkFrame(
            TrackRows.concat(parts) if parts else _empty_network_rows(),
            TrackStates.concat([out_states, partner_states]),
            reports,
            renumbered,
        )

    # ------------------------------------------------------------------ steps
    def _number_new(self, local: np.ndarray, first_row: np.ndarray, first_t: np.ndarray) -> None:
        new = np.array([str(i) not in self._number for i in local], dtype=bool)
        if len(new) == 0:
            return
        if not new.any():
            return
        numbers = self._blocks.issue(first_row[new])
        for lid, number, t in zip(local[new], numbers, first_t[new], strict=True):
            self._number[str(lid)] = self._own[str(lid)] = str(number)
            self._key.setdefault(str(number), float(t))
            self.stats.issued += 1

    def _reissue(
        self, local: np.ndarray, firm: np.ndarray, frame: LocalFrame
    ) -> tuple[tuple[str, str], ...]:
        """Tracks whose report every nation holds has changed (one joined them since they
        started) take the number issued from it: at confirmation any track, later only an
        aircraft's (a threat keeps the number its alerts and operators know)."""
        idx = np.flatnonzero(firm)
        changed = [
            i
            for i in idx
            if int(frame.first_row[i]) != self._origin_row.get(str(local[i]), -1)
            and (str(local[i]) not in self._firm or frame.rows.kind[i] in _LATE_RENUMBER_KINDS)
        ]
        for i in idx:
            self._origin_row.setdefault(str(local[i]), int(frame.first_row[i]))
        if not changed:
            return ()
        out = []
        sel = np.array(changed, dtype=np.int64)
        numbers = self._blocks.issue(frame.first_row[sel])
        for i, number, t in zip(sel, numbers, frame.t_first_s[sel], strict=True):
            lid, number = str(local[i]), str(number)
            self._origin_row[lid] = int(frame.first_row[i])
            if number == self._own[lid]:
                continue
            self._key.setdefault(number, float(t))
            if self._number[lid] == self._own[lid]:
                firm_before = lid in self._firm
                out.append(self._renumber(lid, number, retire=firm_before))
            self._own[lid] = number
        return tuple(out)

    def _groups(self, t_s: float) -> dict[str, list[_Report]]:
        """Partners' live reports by number in use at ``t_s`` (those ``partner_lag_s`` old and
        older), those too old dropped."""
        upto = t_s - self.config.partner_lag_s
        self._apply(upto)
        oldest = upto - self.config.max_report_age_s
        groups: dict[str, list[_Report]] = {}
        for (owner, number), report in list(self._reports.items()):
            if report.t_s < oldest:
                del self._reports[(owner, number)]
                continue
            groups.setdefault(self.resolve(number), []).append(report)
        return groups

    def _predicted(
        self, reports: list[list[_Report]], t_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each group's reports brought to its time and fused: states (k, 6), covs (k, 6, 6)."""
        k = len(reports)
        m = max((len(g) for g in reports), default=1)
        x = np.zeros((k, m, 6))
        P = np.broadcast_to(np.eye(6), (k, m, 6, 6)).copy()
        valid = np.zeros((k, m), dtype=bool)
        flat = [(g, j, r) for g, group in enumerate(reports) for j, r in enumerate(group)]
        if not flat:
            return np.empty((0, 6)), np.empty((0, 6, 6))
        gi = np.array([g for g, _, _ in flat])
        ji = np.array([j for _, j, _ in flat])
        xs = np.array([r.state for _, _, r in flat])
        Ps = np.array([r.cov for _, _, r in flat])
        dt = t_s[gi] - np.array([r.t_s for _, _, r in flat])
        free = np.array([r.kind == "ballistic" for _, _, r in flat], dtype=bool)
        xs, Ps = predict_tracks(xs, Ps, dt, free, self.config.q_mps2)
        x[gi, ji], P[gi, ji], valid[gi, ji] = xs, Ps, True
        return covariance_intersection(x, P, valid)

    def _settle(
        self,
        local: np.ndarray,
        idx: np.ndarray,
        frame: LocalFrame,
        groups: dict[str, list[_Report]],
        t_s: float,
    ) -> tuple[tuple[str, str], ...]:
        """Associate firm own tracks with partners' tracks and settle their numbers."""
        cfg = self.config
        if len(local) == 0 or not groups:
            return ()
        numbers = list(groups)
        at = np.full(len(numbers), t_s)
        xg, Pg = self._predicted([groups[n] for n in numbers], at)
        xl, Pl = predict_tracks(
            frame.x[idx],
            frame.P[idx],
            t_s - frame.t_state_s[idx],
            frame.rows.kind[idx] == "ballistic",
            cfg.q_mps2,
        )
        ia, ib, d2 = pair_distances(xl, Pl, xg, Pg, self._keep_gate)
        own_number = np.array([self._number[str(i)] for i in local])
        same = own_number[ia] == np.array(numbers, dtype=str)[ib] if len(ia) else np.empty(0, bool)
        ok = same | (d2 <= self._gate)
        ia, ib, d2, same = ia[ok], ib[ok], d2[ok], same[ok]
        # the pair already carrying one number is kept over a new one (hysteresis)
        cost = np.where(same, d2 - self._keep_gate, d2)
        ta, tb = gnn_assign(ia, ib, cost, len(local), len(numbers))
        match = dict(zip(ta.tolist(), tb.tolist(), strict=True))
        held = set(own_number.tolist())
        self._absorb(local, own_number, ia, ib, d2, set(tb.tolist()), numbers, held)
        renumbered: list[tuple[str, str]] = []
        joined: dict[str, list[str]] = {}
        for number, owner_lid in self._absorbed.items():
            joined.setdefault(owner_lid, []).append(number)

        def blind(number: str, mine: str) -> bool:
            """Whether a partner holding ``number`` cannot see this node's track ``mine``."""
            owners = {r.owner for r in groups[number]}
            return not owners <= self.shared_with.get(mine, frozenset())

        for i, lid in enumerate(local.tolist()):
            mine = own_number[i]
            j = match.get(i)
            other = numbers[j] if j is not None else None
            if other == mine:
                self._missed.pop(lid, None)
            elif other is not None and lid not in self._firm and other not in held:
                # just confirmed: take the number the partners already show
                renumbered.append(self._renumber(lid, other, retire=False))
                held.add(other)
                self.stats.adopted += 1
                continue
            # A partner that cannot see this node's track cannot come to its number: the node
            # takes the partner's (the oldest of several such), and keeps a number that such a
            # partner holds. Between partners that see each other, the oldest number stays.
            anchored = mine in groups and blind(mine, mine)
            seen_here = [other] if other is not None else []
            candidates = [c for c in seen_here + joined.get(lid, []) if c != mine]
            blind_ones = [c for c in candidates if blind(c, mine)]
            target = None
            if blind_ones and not anchored:
                target = min(blind_ones, key=lambda c: (self._key.get(c, math.inf), c))
            elif (
                other is not None
                and other != mine
                and not anchored
                and precedes(
                    (self._key.get(other, math.inf), other),
                    (self._key.get(mine, math.inf), mine),
                )
            ):
                target = other
            if target is not None and target not in held:
                streak = self._streak.get((lid, target), 0) + 1
                self._streak[(lid, target)] = streak
                if streak >= cfg.merge_after:
                    renumbered.append(self._renumber(lid, target, retire=True))
                    held.add(target)
                    self.stats.merged += 1
                    continue
            if mine in groups and other != mine:
                missed = self._missed.get(lid, 0) + 1
                self._missed[lid] = missed
                # a number issued for this track's own first report stays: the partners' tracks
                # of it started on the same report
                if missed >= cfg.decorrelate_after and self._own[lid] != mine:
                    renumbered.append(self._renumber(lid, self._own[lid], retire=False))
                    self.stats.decorrelated += 1
        return tuple(r for r in renumbered if r[0] != r[1])

    def _absorb(
        self,
        local: np.ndarray,
        own_number: np.ndarray,
        ia: np.ndarray,
        ib: np.ndarray,
        d2: np.ndarray,
        assigned: set[int],
        numbers: list[str],
        held: set[str],
    ) -> None:
        """Partners' tracks of an object this node holds under another number, left over by
        the one-to-one assignment (several partners that cannot see each other's tracks, each
        with its own number): they join the node's track (fused into it, not shown apart)."""
        best: dict[int, tuple[float, int]] = {}
        for a, b, d in zip(ia.tolist(), ib.tolist(), d2.tolist(), strict=True):
            if b in assigned or numbers[b] in held:
                continue
            if b not in best or d < best[b][0]:
                best[b] = (d, a)
        seen = {str(lid) for lid in local}
        for number, lid in list(self._absorbed.items()):
            if lid in seen:  # looked at again below
                del self._absorbed[number]
        for b, (d, a) in best.items():
            lid = str(local[a])
            kept = self._absorbed_before.get(numbers[b]) == lid
            if d <= self._gate or (kept and d <= self._keep_gate):
                self._absorbed[numbers[b]] = lid
        self._absorbed_before = dict(self._absorbed)

    def _renumber(self, lid: str, number: str, *, retire: bool) -> tuple[str, str]:
        old = self._number[lid]
        self._number[lid] = number
        if retire:
            self._retired[old] = number
        for key in [k for k in self._streak if k[0] == lid]:
            del self._streak[key]
        self._missed.pop(lid, None)
        return old, number

    def _own_rows(
        self,
        rows: TrackRows,
        local: np.ndarray,
        live: np.ndarray,
        firm: np.ndarray,
        frame: LocalFrame,
        states: TrackStates,
        groups: dict[str, list[_Report]],
    ) -> tuple[TrackRows, TrackStates]:
        """The frame's own rows under network numbers, fused with partners' tracks."""
        number = np.array([self._number.get(str(i), "") for i in local], dtype=object)
        keep = number != ""
        deleted = rows.status == "deleted"
        # An own track that ends while its number lives on does not end the number: partners
        # still hold it (it goes on as theirs), or another own track does (the tentative
        # branches of one report above the aircraft ceiling share their first report's number).
        if deleted.any():
            ending = {str(lid) for lid in local[deleted]}
            others = {n for lid, n in self._number.items() if lid not in ending}
            lives_on = deleted & np.array(
                [str(k) in groups or str(k) in others for k in number], dtype=bool
            )
            keep &= ~lives_on
        x = rows.x.copy()
        cov = rows.cov_pos.copy()
        own_nations = [str(s) for s in rows.nations]
        sources = np.array([_plots(s) for s in own_nations], dtype=object)
        nations = np.array(own_nations, dtype=object)
        joined: dict[str, list[_Report]] = {}
        for n, lid in self._absorbed.items():
            if n in groups:
                joined.setdefault(lid, []).extend(groups[n])
        own_groups = [
            groups.get(str(k), []) + joined.get(str(lid), [])
            for k, lid in zip(number, local, strict=True)
        ]
        fuse = np.flatnonzero(firm & keep & np.array([bool(g) for g in own_groups], dtype=bool))
        if len(fuse):
            reps = [own_groups[i] for i in fuse]
            t_l = frame.t_state_s[fuse]
            xg, Pg = self._predicted(reps, t_l)
            xs = np.stack([frame.x[fuse, :6], xg], axis=1)
            Ps = np.stack([frame.P[fuse, :6, :6], Pg], axis=1)
            xf, Pf = covariance_intersection(xs, Ps, np.ones((len(fuse), 2), bool))
            x[fuse], cov[fuse] = xf, cov_pos_from_matrix(Pf)
            for f, group in zip(fuse, reps, strict=True):
                sources[f] = _join(sources[f], *(f"{r.owner}:track" for r in group))
                nations[f] = _union(
                    nations[f], *(r.nations for r in group), *(r.owner for r in group)
                )
            self.stats.fused_rows += len(fuse)
        out = replace(
            rows,
            track_id=number.astype(str),
            x=x,
            cov_pos=cov,
            nations=nations.astype(str),
            local_id=local.copy(),
            number=None,  # the network number is the id now
            sources=sources.astype(str),
            quality=track_quality(cov_pos_to_matrix(cov)[:, :3, :3]),
            release=(
                rows.release.copy()
                if rows.release is not None
                else np.full(len(rows), RELEASE_ALL, np.uint64)
            ),
        ).take(np.flatnonzero(keep))
        for i in np.flatnonzero(keep):
            k = str(number[i])
            if rows.status[i] == "deleted":
                self._shown.pop(k, None)
            else:
                self._shown[k] = (float(rows.t_s[i]), x[i], cov[i])
        # the states the assessment takes, under network numbers: of a track partners hold too,
        # the best one (highest quality: the reporting responsibility of coalition links), so
        # that every nation predicts the impact of one missile from the same state
        pos = {str(lid): j for j, lid in enumerate(states.track_id)}
        sel = [pos[str(lid)] for lid in local[live & keep] if str(lid) in pos]
        st = states.take(np.array(sel, dtype=np.int64))
        at = {str(lid): k for k, lid in enumerate(st.track_id)}
        if len(fuse):
            own_q = track_quality(frame.P[fuse, :3, :3])
            x7, P7, t7, hits = st.x.copy(), st.P.copy(), st.t_s.copy(), st.hits.copy()
            for f, q, group in zip(fuse, own_q, reps, strict=True):
                j = at.get(str(local[f]))
                best = max(group, key=lambda r: (r.quality, r.hits, r.owner))
                if j is not None and best.quality > q:
                    x7[j], P7[j], t7[j], hits[j] = best.state, best.cov, best.t_s, best.hits
            st = replace(st, x=x7, P=P7, t_s=t7, hits=hits)
        st = replace(st, track_id=np.array([self._number[str(i)] for i in st.track_id], dtype=str))
        return out, st

    def _partner_rows(
        self, groups: dict[str, list[_Report]], own: set[str], ended: set[str]
    ) -> tuple[TrackRows, TrackStates]:
        """Rows of tracks only partners hold: those with a new report, and those this node's
        own track of the number ended in the frame."""
        numbers = [
            n for n, g in groups.items() if n not in own and (n in ended or any(r.fresh for r in g))
        ]
        if not numbers:
            return _empty_network_rows(), TrackStates.concat([])
        reps = [groups[n] for n in numbers]
        t = np.array([max(r.t_s for r in g) for g in reps])
        x, P = self._predicted(reps, t)
        best = [max(g, key=lambda r: (r.quality, r.hits, r.owner)) for g in reps]
        for g in reps:
            for r in g:
                r.fresh = False
        cov = cov_pos_from_matrix(P)
        rows = TrackRows(
            t_s=t,
            track_id=np.array(numbers, dtype=str),
            x=x,
            cov_pos=cov,
            kind=np.array([b.kind for b in best], dtype=str),
            status=np.array([b.status for b in best], dtype=str),
            nations=np.array(
                [_union("", *(r.nations for r in g), *(r.owner for r in g)) for g in reps],
                dtype=str,
            ),
            local_id=np.full(len(numbers), "", dtype=str),
            sources=np.array(
                [_join("", *(f"{r.owner}:track" for r in g)) for g in reps], dtype=str
            ),
            quality=track_quality(P[:, :3, :3]),
            release=np.array(
                [np.bitwise_and.reduce([r.release for r in g]) for g in reps], dtype=np.uint64
            ),
        )
        for k, n in enumerate(numbers):
            self._shown[n] = (float(t[k]), x[k], cov[k])
        self.stats.partner_only_rows += len(numbers)
        states = TrackStates(
            track_id=np.array(numbers, dtype=str),
            t_s=np.array([b.t_s for b in best]),
            x=np.array([b.state for b in best]),
            P=np.array([b.cov for b in best]),
            hits=np.array([b.hits for b in best], dtype=np.int64),
            kind=np.array([b.kind for b in best], dtype=str),
            firm=np.isin([b.status for b in best], _FIRM),
        )
        return rows, states

    def _gone_rows(self, held: set[str], t_s: float) -> TrackRows:
        """Deleted rows for numbers that left the picture without one."""
        gone = [n for n in self._shown if n not in held]
        if not gone:
            return _empty_network_rows()
        last = [self._shown.pop(n) for n in gone]
        return TrackRows(
            t_s=np.full(len(gone), t_s),
            track_id=np.array(gone, dtype=str),
            x=np.array([s[1] for s in last]),
            cov_pos=np.array([s[2] for s in last]),
            kind=np.full(len(gone), "unknown"),
            status=np.full(len(gone), "deleted"),
            nations=np.full(len(gone), "", dtype=str),
            local_id=np.full(len(gone), "", dtype=str),
            sources=np.full(len(gone), "", dtype=str),
            quality=np.zeros(len(gone), np.int8),
            release=np.full(len(gone), RELEASE_ALL, np.uint64),
        )

    def _own_reports(self, rows: TrackRows, local: np.ndarray, states: TrackStates) -> TrackReports:
        """This node's firm tracks of the frame (and the firm ones that ended), to share."""
        shared = np.array([str(i) in self._firm for i in local], dtype=bool) & (
            np.isin(rows.status, _FIRM) | (rows.status == "deleted")
        )
        sel = np.flatnonzero(shared)
        if len(sel) == 0:
            return TrackReports.empty()
        pos = {str(lid): j for j, lid in enumerate(states.track_id)}
        state = np.zeros((len(sel), 7))
        cov = np.broadcast_to(np.eye(7), (len(sel), 7, 7)).copy()
        hits = np.zeros(len(sel), np.int64)
        for k, i in enumerate(sel):
            j = pos.get(str(local[i]))
            if j is not None:
                state[k], cov[k], hits[k] = states.x[j], states.P[j], states.hits[j]
            else:  # an ended track: its last row
                state[k, :6] = rows.x[i]
        numbers = np.array([self._number[str(local[i])] for i in sel], dtype=str)
        out = replace(rows.take(sel), track_id=numbers, number=None)
        first = np.array([self._key.get(str(n), math.nan) for n in numbers])
        return TrackReports(out, state, cov, hits, first)

    def _forget_own(self, lid: str) -> None:
        self._origin_row.pop(lid, None)
        for number in [n for n, owner in self._absorbed.items() if owner == lid]:
            del self._absorbed[number]
        self._number.pop(lid, None)
        self._own.pop(lid, None)
        self._firm.discard(lid)
        self._missed.pop(lid, None)
        for key in [k for k in self._streak if k[0] == lid]:
            del self._streak[key]


# ---------------------------------------------------------------------------- helpers
def _plots(nations: str) -> str:
    return ";".join(f"{n}:plots" for n in nations.split(";") if n)


def _join(*parts: str) -> str:
    seen: dict[str, None] = {}
    for part in parts:
        for item in part.split(";"):
            if item:
                seen[item] = None
    return ";".join(seen)


def _union(*parts: str) -> str:
    names = {n for part in parts for n in part.split(";") if n}
    return ";".join(sorted(names))
