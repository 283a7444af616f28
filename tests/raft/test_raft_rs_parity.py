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
    Message,
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
