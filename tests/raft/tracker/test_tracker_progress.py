"""Tests of raftstore.raft.tracker: raft-rs's progress.rs unit tests, plus Progress snapshot requests
and update_state, and ProgressTracker votes, quorum and apply_conf."""

from __future__ import annotations

import pytest

from raftstore.raft import (
    INVALID_INDEX,
    Changer,
    ConfChangeType,
    InvariantError,
    MapChangeType,
    Progress,
    ProgressState,
    ProgressTracker,
    VoteResult,
    new_conf_change_single,
    parse_conf_change,
)


def new_progress(
    state: ProgressState, matched: int, next_idx: int, pending_snapshot: int, ins_size: int
) -> Progress:
    p = Progress(next_idx, ins_size)
    p.state = state
    p.matched = matched
    p.pending_snapshot = pending_snapshot
    return p


# ---------------------------------------------------------------------------------------------- Progress


def test_progress_defaults() -> None:
    """A new Progress probes from next_idx with nothing matched, pending or in flight."""
    p = Progress(7, 16)
    assert (p.matched, p.next_idx, p.state) == (0, 7, ProgressState.PROBE)
    assert not p.paused and not p.recent_active
    assert p.pending_snapshot == 0 and p.pending_request_snapshot == INVALID_INDEX
    assert p.ins.count() == 0 and not p.ins.full() and p.ins.cap == 16
    assert p.commit_group_id == 0 and p.committed_index == 0
    assert str(ProgressState.PROBE) == "StateProbe"
    assert str(ProgressState.REPLICATE) == "StateReplicate"
    assert str(ProgressState.SNAPSHOT) == "StateSnapshot"


@pytest.mark.parametrize(
    "state, paused, want",
    [
        (ProgressState.PROBE, False, False),
        (ProgressState.PROBE, True, True),
        (ProgressState.REPLICATE, False, False),
        (ProgressState.REPLICATE, True, False),
        (ProgressState.SNAPSHOT, False, True),
        (ProgressState.SNAPSHOT, True, True),
    ],
)
def test_progress_is_paused(state: ProgressState, paused: bool, want: bool) -> None:
    """is_paused: PROBE follows `paused`, REPLICATE ignores it (window not full), SNAPSHOT always."""
    p = new_progress(state, 0, 0, 0, 256)
    p.paused = paused
    assert p.is_paused() == want


def test_progress_is_paused_replicate_full_window() -> None:
    """In REPLICATE the progress is paused exactly when the inflights window is full."""
    p = new_progress(ProgressState.REPLICATE, 0, 1, 0, 2)
    p.update_state(1)
    assert not p.is_paused()
    p.update_state(2)
    assert p.is_paused()
    p.ins.free_to(1)
    assert not p.is_paused()


def test_progress_resume() -> None:
    """maybe_decr_to and maybe_update both clear `paused`."""
    p = Progress(2, 256)
    p.paused = True
    p.maybe_decr_to(1, 1, INVALID_INDEX)
    assert not p.paused
    p.paused = True
    p.maybe_update(2)
    assert not p.paused


@pytest.mark.parametrize(
    "progress, want_next",
    [
        (new_progress(ProgressState.REPLICATE, 1, 5, 0, 256), 2),
        # snapshot finished: probe past the snapshot
        (new_progress(ProgressState.SNAPSHOT, 1, 5, 10, 256), 11),
        # snapshot failed: probe from matched + 1
        (new_progress(ProgressState.SNAPSHOT, 1, 5, 0, 256), 2),
    ],
)
def test_progress_become_probe(progress: Progress, want_next: int) -> None:
    """become_probe keeps matched and restarts at matched + 1, or past a sent snapshot."""
    progress.become_probe()
    assert progress.state is ProgressState.PROBE
    assert progress.matched == 1
    assert progress.next_idx == want_next
    assert progress.pending_snapshot == 0


def test_progress_become_replicate() -> None:
    """become_replicate sends from matched + 1."""
    p = new_progress(ProgressState.PROBE, 1, 5, 0, 256)
    p.become_replicate()
    assert p.state is ProgressState.REPLICATE
    assert p.matched == 1
    assert p.next_idx == p.matched + 1


def test_progress_become_snapshot() -> None:
    """become_snapshot records the snapshot index and keeps matched."""
    p = new_progress(ProgressState.PROBE, 1, 5, 0, 256)
    p.become_snapshot(10)
    assert p.state is ProgressState.SNAPSHOT
    assert p.matched == 1
    assert p.pending_snapshot == 10
    assert not p.is_snapshot_caught_up()
    p.matched = 10
    assert p.is_snapshot_caught_up()
    p.snapshot_failure()
    assert p.pending_snapshot == 0


def test_progress_reset_state_clears_window() -> None:
    """Changing state unpauses, forgets the pending snapshot and empties the inflights window."""
    p = new_progress(ProgressState.REPLICATE, 3, 4, 0, 8)
    for i in range(4, 7):
        p.update_state(i)
    assert p.ins.count() == 3 and p.next_idx == 7
    p.become_snapshot(9)
    assert p.ins.count() == 0 and p.pending_snapshot == 9
    p.paused = True
    p.become_replicate()
    assert not p.paused and p.pending_snapshot == 0 and p.next_idx == 4


PREV_M, PREV_N = 3, 5


@pytest.mark.parametrize(
    "update, want_m, want_n, want_ok",
    [
        (PREV_M - 1, PREV_M, PREV_N, False),
        (PREV_M, PREV_M, PREV_N, False),
        (PREV_M + 1, PREV_M + 1, PREV_N, True),
        (PREV_M + 2, PREV_M + 2, PREV_N + 1, True),
    ],
)
def test_progress_update(update: int, want_m: int, want_n: int, want_ok: bool) -> None:
    """maybe_update only moves matched forward, and next_idx to at least update + 1."""
    p = Progress(PREV_N, 256)
    p.matched = PREV_M
    assert p.maybe_update(update) == want_ok
    assert p.matched == want_m
    assert p.next_idx == want_n


@pytest.mark.parametrize(
    "state, m, n, rejected, last, want, want_n",
    [
        # replicate, rejected not greater than match: stale
        (ProgressState.REPLICATE, 5, 10, 5, 5, False, 10),
        (ProgressState.REPLICATE, 5, 10, 4, 4, False, 10),
        # replicate, rejected greater than match: back to match + 1
        (ProgressState.REPLICATE, 5, 10, 9, 9, True, 6),
        # probe, next - 1 != rejected: stale
        (ProgressState.PROBE, 0, 0, 0, 0, False, 0),
        (ProgressState.PROBE, 0, 10, 5, 5, False, 10),
        # probe, next > 1: decremented by one
        (ProgressState.PROBE, 0, 10, 9, 9, True, 9),
        (ProgressState.PROBE, 0, 2, 1, 1, True, 1),
        # probe, next <= 1: stays at 1
        (ProgressState.PROBE, 0, 1, 0, 0, True, 1),
        # probe: down to min(rejected, last + 1)
        (ProgressState.PROBE, 0, 10, 9, 2, True, 3),
        # probe, last + 1 below 1: reset to 1
        (ProgressState.PROBE, 0, 10, 9, 0, True, 1),
    ],
)
def test_progress_maybe_decr(
    state: ProgressState, m: int, n: int, rejected: int, last: int, want: bool, want_n: int
) -> None:
    """maybe_decr_to ignores stale rejections and otherwise lowers next_idx, never below match + 1."""
    p = new_progress(state, m, n, 0, 0)
    assert p.maybe_decr_to(rejected, last, 0) == want
    assert p.matched == m
    assert p.next_idx == want_n


def test_progress_maybe_decr_request_snapshot() -> None:
    """A rejection carrying a snapshot request records it instead of lowering next_idx: in REPLICATE
    whenever rejected >= matched, otherwise even when stale, and only the first request is kept."""
    p = new_progress(ProgressState.REPLICATE, 5, 10, 0, 16)
    assert not p.maybe_decr_to(4, 4, 7)
    assert p.maybe_decr_to(5, 5, 7)
    assert p.pending_request_snapshot == 7 and p.next_idx == 10
    assert p.maybe_decr_to(6, 6, 8)
    assert p.pending_request_snapshot == 8

    q = new_progress(ProgressState.PROBE, 0, 10, 0, 16)
    q.paused = True
    assert q.maybe_decr_to(3, 3, 7)
    assert q.pending_request_snapshot == 7 and q.next_idx == 10 and not q.paused
    assert q.maybe_decr_to(9, 9, 8)
    assert q.pending_request_snapshot == 7 and q.next_idx == 10


def test_progress_update_state() -> None:
    """update_state: REPLICATE sends optimistically and records the inflight, PROBE pauses, SNAPSHOT
    is an invariant violation (raft-rs panics)."""
    p = new_progress(ProgressState.REPLICATE, 3, 4, 0, 8)
    p.update_state(9)
    assert p.next_idx == 10 and p.ins.count() == 1
    probe = new_progress(ProgressState.PROBE, 3, 4, 0, 8)
    probe.update_state(9)
    assert probe.paused and probe.next_idx == 4
    snap = new_progress(ProgressState.SNAPSHOT, 3, 4, 9, 8)
    with pytest.raises(InvariantError, match="unhandled state"):
        snap.update_state(9)


def test_progress_update_committed_and_reset() -> None:
    """update_committed only raises committed_index; reset forgets everything but the window size."""
    p = new_progress(ProgressState.REPLICATE, 3, 4, 0, 8)
    p.update_committed(5)
    p.update_committed(4)
    assert p.committed_index == 5
    p.update_state(6)
    p.recent_active = True
    p.pending_request_snapshot = 2
    p.reset(20)
    expected = Progress(20, 8)
    expected.committed_index = 5
    assert p == expected


# -------------------------------------------------------------------------------------- ProgressTracker


def tracker_with(voters: str, max_inflight: int = 256, next_idx: int = 1) -> ProgressTracker:
    """tracker_with builds a tracker from space-separated ops ("v1 v2 l3"), one simple change each."""
    tr = ProgressTracker(max_inflight)
    for cc in parse_conf_change(voters):
        cfg, changes = Changer(tr).simple([cc])
        tr.apply_conf(cfg, changes, next_idx)
    return tr


def joint_tracker(base: str, changes: str) -> ProgressTracker:
    tr = tracker_with(base)
    cfg, chg = Changer(tr).enter_joint(False, parse_conf_change(changes))
    tr.apply_conf(cfg, chg, 1)
    return tr


def test_tracker_iteration_and_get() -> None:
    """The tracker iterates (id, Progress) pairs over voters and learners; get is None for others."""
    tr = tracker_with("v1 v2 l3", max_inflight=7, next_idx=4)
    assert sorted(id for id, _ in tr) == [1, 2, 3]
    assert sorted(id for id, _ in tr.iter()) == [1, 2, 3]
    pr = tr.get(3)
    assert pr is not None and pr.next_idx == 4 and pr.ins.cap == 7 and pr.recent_active
    assert tr.get(4) is None
    assert set(tr.conf().voters.ids()) == {1, 2} and tr.conf().learners == {3}
    assert tr.conf_voters() is tr.conf().voters and tr.conf_learners() == {3}
    assert set(tr.progress) == {1, 2, 3}


def test_tracker_votes() -> None:
    """record_vote keeps the first vote; tally_votes counts voters only; the result needs a quorum."""
    tr = tracker_with("v1 v2 v3 l4")
    assert tr.tally_votes() == (0, 0, VoteResult.PENDING)
    tr.record_vote(1, True)
    tr.record_vote(1, False)
    tr.record_vote(4, True)  # a learner's vote is not counted
    tr.record_vote(9, False)  # neither is a stranger's
    assert tr.votes == {1: True, 4: True, 9: False}
    assert tr.tally_votes() == (1, 0, VoteResult.PENDING)
    tr.record_vote(2, False)
    assert tr.tally_votes() == (1, 1, VoteResult.PENDING)
    tr.record_vote(3, True)
    assert tr.tally_votes() == (2, 1, VoteResult.WON)
    assert tr.vote_result({2: False, 3: False}) is VoteResult.LOST
    tr.reset_votes()
    assert tr.votes == {}


def test_tracker_votes_joint() -> None:
    """In a joint config an election must be won in both halves."""
    tr = joint_tracker("v1 v2 v3", "r1 v4")
    assert tr.vote_result({1: True, 2: True}) is VoteResult.PENDING
    assert tr.vote_result({1: True, 4: True}) is VoteResult.PENDING
    assert tr.vote_result({2: True, 3: True}) is VoteResult.WON
    assert tr.vote_result({4: False, 3: False}) is VoteResult.LOST


def test_tracker_has_quorum_and_singleton() -> None:
    """has_quorum needs a majority of every half; is_singleton means one voter, not joint."""
    assert tracker_with("v1 l2").is_singleton()
    assert not tracker_with("v1 v2").is_singleton()
    tr = joint_tracker("v1 v2 v3", "r3 v4")
    assert not tr.is_singleton()
    assert tr.has_quorum({1, 2})
    assert not tr.has_quorum({1, 3})
    assert not tr.has_quorum({3, 4})
    assert not tr.has_quorum({1, 4})
    assert tr.has_quorum({2, 3, 4})


def test_tracker_quorum_recently_active() -> None:
    """quorum_recently_active counts the leader and recently active peers, then clears the flags of
    all but the leader."""
    tr = tracker_with("v1 v2 v3 l4")
    for _, pr in tr:
        pr.recent_active = False
    tr.progress[4].recent_active = True
    assert not tr.quorum_recently_active(1)
    assert tr.progress[1].recent_active and not tr.progress[4].recent_active
    tr.progress[3].recent_active = True
    assert tr.quorum_recently_active(1)
    assert [id for id, pr in sorted(tr) if pr.recent_active] == [1]


def test_tracker_maximal_committed_index() -> None:
    """maximal_committed_index is the quorum's matched index; with group commit it also needs two
    groups to have it."""
    tr = tracker_with("v1 v2 v3")
    for id, matched in ((1, 5), (2, 3), (3, 2)):
        tr.progress[id].matched = matched
    assert tr.maximal_committed_index() == (3, False)
    tr.enable_group_commit(True)
    assert tr.group_commit()
    for id, gid in ((1, 1), (2, 1), (3, 2)):
        tr.progress[id].commit_group_id = gid
    assert tr.maximal_committed_index() == (2, True)
    tr.progress[3].commit_group_id = 1
    assert tr.maximal_committed_index() == (3, False)


def test_tracker_apply_conf() -> None:
    """apply_conf installs the config, adds recently active Progresses at next_idx and drops removed
    ones."""
    tr = tracker_with("v1 v2")
    cfg, changes = Changer(tr).simple(
        [
            new_conf_change_single(2, ConfChangeType.RemoveNode),
            new_conf_change_single(3, ConfChangeType.AddLearnerNode),
        ]
    )
    assert changes == [(2, MapChangeType.REMOVE), (3, MapChangeType.ADD)]
    tr.apply_conf(cfg, changes, 9)
    assert tr.conf() is cfg
    assert sorted(tr.progress) == [1, 3]
    pr = tr.get(3)
    assert pr is not None and pr.next_idx == 9 and pr.recent_active


def test_tracker_clone_and_clear() -> None:
    """clone is deep; clear empties progress, config and votes."""
    tr = tracker_with("v1 v2")
    tr.record_vote(1, True)
    cp = tr.clone()
    tr.progress[1].matched = 9
    assert cp.progress[1].matched == 0
    tr.clear()
    assert not tr.progress and not tr.votes and not tr.conf().voters.ids()
    assert sorted(cp.progress) == [1, 2] and cp.votes == {1: True}
