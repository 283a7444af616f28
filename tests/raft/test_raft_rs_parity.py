"""Parity tests: behaviours of raft-rs's raft.rs / raw_node.rs / raft_log.rs checked one by one.

Each test names the raft-rs function (or raft-rs test) whose observable behaviour it pins: messages and
their fields, state, terms, commit / applied indexes, errors. Some are ports of raft-rs integration tests
that had no counterpart here (test_group_commit, test_group_commit_consistent, test_snapshot_failure,
test_snapshot_succeed of harness/tests/integration_cases).
"""

from __future__ import annotations

import pytest

from raftstore.raft import (
    HardState,
    Raft,
    MessageType,
    StateRole,
)
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    add_node,
    empty_entry,
    new_message,
    new_snapshot,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
)


# ---------------------------------------------------------------------------------------- group commit



def add_matched_peers(sm: Raft, matches: list[int], group_ids: list[int]) -> list[tuple[int, int]]:
    """add_matched_peers adds peers 1..n (the ones sm lacks) with the given matched indexes, and returns
    the (id, group) pairs of those with a commit group."""
    groups = []
    for j, (m, g) in enumerate(zip(matches, group_ids)):
        id_ = j + 1
        if sm.prs.get(id_) is None:
            sm.apply_conf_change(add_node(id_))
            pr = sm.prs.get(id_)
            pr.matched = m
            pr.next_idx = m + 1
        if g != 0:
            groups.append((id_, g))
    return groups


@pytest.mark.parametrize(
    "matches, group_ids, g_w, q_w",
    [
        # Single
        ([1], [0], 1, 1),
        ([1], [1], 1, 1),
        # Odd
        ([2, 2, 1], [1, 2, 1], 2, 2),
        ([2, 2, 1], [1, 1, 2], 1, 2),
        ([2, 2, 1], [1, 0, 1], 1, 2),
        ([2, 2, 1], [0, 0, 0], 1, 2),
        # Even
        ([4, 2, 1, 3], [0, 0, 0, 0], 1, 2),
        ([4, 2, 1, 3], [1, 0, 0, 0], 1, 2),
        ([4, 2, 1, 3], [0, 1, 0, 2], 2, 2),
        ([4, 2, 1, 3], [0, 2, 1, 0], 1, 2),
        ([4, 2, 1, 3], [1, 1, 1, 1], 2, 2),
        ([4, 2, 1, 3], [1, 1, 2, 1], 1, 2),
        ([4, 2, 1, 3], [1, 2, 1, 1], 2, 2),
        ([4, 2, 1, 3], [4, 3, 2, 1], 2, 2),
    ],
)
def test_group_commit(matches: list[int], group_ids: list[int], g_w: int, q_w: int) -> None:
    """raft-rs test_group_commit: Raft.assign_commit_groups / enable_group_commit commit (through
    maybe_commit) only on a leader, with the group-commit index while enabled and the quorum index once
    disabled."""
    store = MemStorage.new_with_conf_state(([1], []))
    logs = [empty_entry(1, i) for i in range(min(matches), max(matches) + 1)]
    store.wl().append(logs)
    store.wl().set_hardstate(HardState(term=1))
    sm = new_test_raft_with_config(new_test_config(1, 5, 1), store)
    groups = add_matched_peers(sm, matches, group_ids)
    sm.enable_group_commit(True)
    sm.assign_commit_groups(groups)
    assert sm.raft_log.committed == 0, "follower group committed"
    sm.state = StateRole.LEADER
    sm.assign_commit_groups(groups)
    assert sm.raft_log.committed == g_w, "leader group committed"
    sm.enable_group_commit(False)
    assert sm.raft_log.committed == q_w, "quorum committed"


@pytest.mark.parametrize(
    "matches, group_ids, committed, applied, role, exp",
    [
        # Single node is not using group commit
        ([8], [0], 8, 6, StateRole.LEADER, False),
        ([8], [1], 8, 5, StateRole.LEADER, None),
        ([8], [1], 8, 6, StateRole.FOLLOWER, None),
        # Not commit to current term should return None, as old leader may have reach consistent.
        ([8, 2, 0], [1, 2, 1], 2, 2, StateRole.LEADER, None),
        ([8, 2, 6], [1, 1, 2], 6, 6, StateRole.LEADER, True),
        # Not apply to current term should return None, as there maybe pending conf change.
        ([8, 2, 6], [1, 1, 2], 6, 5, StateRole.LEADER, None),
        # It should be false when not using group commit.
        ([8, 6, 6], [0, 0, 0], 6, 6, StateRole.LEADER, False),
        # It should be false when there is only one group.
        ([8, 6, 6], [1, 1, 1], 6, 6, StateRole.LEADER, False),
        ([8, 6, 6], [1, 1, 0], 6, 6, StateRole.LEADER, False),
        # Only leader knows what's the current state.
        ([8, 2, 6], [1, 1, 2], 6, 6, StateRole.FOLLOWER, None),
        ([8, 2, 6], [1, 1, 2], 6, 6, StateRole.CANDIDATE, None),
        ([8, 2, 6], [1, 1, 2], 6, 6, StateRole.PRE_CANDIDATE, None),
    ],
)
def test_group_commit_consistent(
    matches: list[int], group_ids: list[int], committed: int, applied: int, role: StateRole, exp: bool | None
) -> None:
    """raft-rs test_group_commit_consistent: Raft.check_group_commit_consistent is None unless a leader
    applied to its term, else whether group commit is on and decided the committed index."""
    logs = [empty_entry(1, i) for i in range(1, 6)] + [empty_entry(2, i) for i in range(6, 9)]
    store = MemStorage.new_with_conf_state(([1], []))
    store.wl().append(logs)
    store.wl().set_hardstate(HardState(term=2, commit=committed))
    cfg = new_test_config(1, 5, 1)
    cfg.applied = applied
    sm = new_test_raft_with_config(cfg, store)
    sm.state = role
    groups = add_matched_peers(sm, matches, group_ids)
    sm.assign_commit_groups(groups)
    if exp is True:
        assert sm.check_group_commit_consistent() is False
    sm.enable_group_commit(True)
    assert sm.check_group_commit_consistent() == exp


# ---------------------------------------------------------------------------------------- snapshot status


def _leader_with_peer_in_snapshot():
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.restore(new_snapshot(11, 11, [1, 2]))
    sm.persist()
    sm.become_candidate()
    sm.become_leader()
    pr = sm.prs.get(2)
    pr.next_idx = 1
    pr.become_snapshot(11)
    return sm


def test_snapshot_failure() -> None:
    """raft-rs test_snapshot_failure / handle_snapshot_status: a rejected MsgSnapStatus forgets the
    pending snapshot, probes from matched + 1 and pauses."""
    sm = _leader_with_peer_in_snapshot()
    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    m.reject = True
    sm.step(m)
    pr = sm.prs.get(2)
    assert pr.pending_snapshot == 0
    assert pr.next_idx == 1
    assert pr.paused


def test_snapshot_succeed() -> None:
    """raft-rs test_snapshot_succeed / handle_snapshot_status: an accepted MsgSnapStatus probes from
    the snapshot index + 1 and pauses until the follower answers."""
    sm = _leader_with_peer_in_snapshot()
    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    m.reject = False
    sm.step(m)
    pr = sm.prs.get(2)
    assert pr.pending_snapshot == 0
    assert pr.next_idx == 12
    assert pr.paused


# ---------------------------------------------------------------------------------------- message fields


def _follower_with_log(terms: list[int], committed: int = 0):
    store = new_storage()
    store.initialize_with_conf_state(([1, 2, 3], []))
    store.wl().append([empty_entry(t, i + 1) for i, t in enumerate(terms)])
    store.wl().set_hardstate(HardState(term=terms[-1], commit=committed))
    sm = new_test_raft_with_config(new_test_config(2, 10, 1), store)
    return sm


def test_handle_append_entries_rejection_fields() -> None:
    """raft-rs handle_append_entries: a mismatching MsgAppend is rejected with index = m.index,
    reject_hint / log_term from find_conflict_by_term(min(m.index, last), m.log_term) and commit."""
    sm = _follower_with_log([1, 3, 3, 4, 4, 5], committed=1)
    m = new_message(1, 2, MessageType.MsgAppend, 0)
    m.term = 5
    m.index = 8
    m.log_term = 3
    m.commit = 1
    sm.step(m)
    [resp] = sm.read_messages()
    assert resp.msg_type == MessageType.MsgAppendResponse
    assert (resp.to, resp.term, resp.index, resp.reject) == (1, 5, 8, True)
    assert (resp.reject_hint, resp.log_term, resp.commit) == (3, 3, 1)


def test_handle_append_entries_below_commit() -> None:
    """raft-rs handle_append_entries: m.index < committed answers (index, commit) = committed, no reject."""
    sm = _follower_with_log([1, 1, 1], committed=3)
    m = new_message(1, 2, MessageType.MsgAppend, 0)
    m.term = 1
    m.index = 1
    m.log_term = 1
    sm.step(m)
    [resp] = sm.read_messages()
    assert (resp.index, resp.commit, resp.reject, resp.reject_hint, resp.log_term) == (3, 3, False, 0, 0)


def test_send_request_snapshot_fields() -> None:
    """raft-rs request_snapshot / send_request_snapshot: a rejected MsgAppendResponse to the leader with
    index = committed, reject_hint = last index, log_term = its term, request_snapshot = last index."""
    sm = _follower_with_log([1, 1, 2], committed=2)
    sm.become_follower(2, 1)
    sm.request_snapshot()
    [m] = sm.read_messages()
    assert m.msg_type == MessageType.MsgAppendResponse
    assert (m.to, m.term, m.index, m.reject) == (1, 2, 2, True)
    assert (m.reject_hint, m.log_term, m.request_snapshot) == (3, 2, 3)
    # Appends and heartbeats are answered with the request again while it is pending.
    hb = new_message(1, 2, MessageType.MsgHeartbeat, 0)
    hb.term = 2
    hb.commit = 3
    sm.step(hb)
    [m2] = sm.read_messages()
    assert sm.raft_log.committed == 3
    assert (m2.msg_type, m2.index, m2.reject, m2.request_snapshot) == (MessageType.MsgAppendResponse, 3, True, 3)


def test_vote_rejection_carries_commit_info() -> None:
    """raft-rs step (MsgRequestVote): a rejected vote carries reject, our term and (commit, commit_term)."""
    sm = _follower_with_log([1, 2, 2], committed=2)
    m = new_message(3, 2, MessageType.MsgRequestVote, 0)
    m.term = 3
    m.index = 2
    m.log_term = 2
    sm.step(m)
    [resp] = sm.read_messages()
    assert resp.msg_type == MessageType.MsgRequestVoteResponse
    assert (resp.reject, resp.term, resp.commit, resp.commit_term) == (True, 3, 2, 2)
    assert sm.vote == 0


def test_lower_term_append_answered_with_check_quorum() -> None:
    """raft-rs step: with check_quorum (or pre_vote) a lower-term MsgAppend / MsgHeartbeat is answered
    with an empty MsgAppendResponse of our term; without them it is ignored."""
    for check_quorum, want in ((True, 1), (False, 0)):
        sm = _follower_with_log([1, 2, 3])
        sm.check_quorum = check_quorum
        m = new_message(1, 2, MessageType.MsgHeartbeat, 0)
        m.term = 2
        sm.step(m)
        msgs = sm.read_messages()
        assert len(msgs) == want
        if msgs:
            assert (msgs[0].msg_type, msgs[0].term, msgs[0].index, msgs[0].reject) == (
                MessageType.MsgAppendResponse,
                3,
                0,
                False,
            )


def test_handle_snapshot_ignored_answers_commit() -> None:
    """raft-rs handle_snapshot: a snapshot older than the commit index is answered with index = committed."""
    sm = _follower_with_log([1, 1, 1, 1], committed=4)
    m = new_message(1, 2, MessageType.MsgSnapshot, 0)
    m.term = 1
    m.snapshot.CopyFrom(new_snapshot(3, 1, [1, 2, 3]))
    sm.step(m)
    [resp] = sm.read_messages()
    assert (resp.msg_type, resp.index, resp.reject, resp.commit) == (MessageType.MsgAppendResponse, 4, False, 0)
