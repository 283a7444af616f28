"""Snapshot tests of the Raft core (raft-rs test_raft_snap.rs and the restore / request-snapshot tests of
test_raft.rs). Snapshots are the log compaction of §7 of the Raft paper (InstallSnapshot).
"""

from __future__ import annotations

import pytest

from raftstore.raft import (
    INVALID_ID,
    INVALID_INDEX,
    Entry,
    Message,
    MessageType,
    ProgressState,
    RequestSnapshotDroppedError,
    Snapshot,
    StateRole,
)
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    Interface,
    Network,
    new_message,
    new_message_with_entries,
    new_snapshot,
    new_test_learner_raft,
    new_test_raft,
    new_test_raft_with_prevote,
    new_storage,
)


def snap_11_11() -> Snapshot:
    """testing_snap is the snapshot at index 11, term 11 with voters 1 and 2."""
    return new_snapshot(11, 11, [1, 2])


def clone_snap(s: Snapshot) -> Snapshot:
    """clone_snap copies s (protobuf messages are mutable)."""
    c = Snapshot()
    c.CopyFrom(s)
    return c


def clone_entry(e: Entry) -> Entry:
    """clone_entry copies e."""
    c = Entry()
    c.CopyFrom(e)
    return c


def voter_ids(r: Interface) -> set[int]:
    """voter_ids is the set of voters (incoming and outgoing) of r's configuration."""
    return set(r.raft.prs.conf().voters.ids())


def learner_ids(r: Interface) -> set[int]:
    """learner_ids is the set of learners of r's configuration."""
    return set(r.raft.prs.conf().learners)


def leader_with_snapshot() -> Interface:
    """leader_with_snapshot is node 1 of [1, 2] restored from testing_snap and elected leader."""
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.raft.restore(snap_11_11())
    sm.persist()
    sm.raft.become_candidate()
    sm.raft.become_leader()
    return sm


# -- test_raft_snap.rs ---------------------------------------------------------------------------


def test_sending_snapshot_set_pending_snapshot() -> None:
    """§7 a follower behind the first index gets a snapshot; its progress records the pending index."""
    sm = leader_with_snapshot()
    # Node 2's next is the first index: it needs a snapshot.
    sm.raft.prs.get(2).next_idx = sm.raft.raft_log.first_index()
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = sm.raft.prs.get(2).next_idx - 1
    m.reject = True
    sm.step(m)
    assert sm.raft.prs.get(2).pending_snapshot == 11


def test_pending_snapshot_pause_replication() -> None:
    """A follower with a pending snapshot gets no MsgAppend."""
    sm = leader_with_snapshot()
    sm.raft.prs.get(2).become_snapshot(11)
    sm.step(new_message(1, 1, MessageType.MsgPropose, 1))
    assert sm.read_messages() == []


@pytest.mark.parametrize("reject, want_next", [(True, 1), (False, 12)], ids=["failure", "succeed"])
def test_snapshot_status_report(reject: bool, want_next: int) -> None:
    """A snapshot report moves the follower to Probe, paused: next unchanged on failure, snapshot index + 1 on success."""
    sm = leader_with_snapshot()
    sm.raft.prs.get(2).next_idx = 1
    sm.raft.prs.get(2).become_snapshot(11)
    m = new_message(2, 1, MessageType.MsgSnapStatus, 0)
    m.reject = reject
    sm.step(m)
    pr = sm.raft.prs.get(2)
    assert pr.pending_snapshot == 0
    assert pr.next_idx == want_next
    assert pr.paused


def test_snapshot_abort() -> None:
    """An append response at or above the pending snapshot index aborts the pending snapshot."""
    sm = leader_with_snapshot()
    sm.raft.prs.get(2).next_idx = 1
    sm.raft.prs.get(2).become_snapshot(11)
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    assert sm.raft.prs.get(2).pending_snapshot == 0
    assert sm.raft.prs.get(2).next_idx == 12


@pytest.mark.parametrize("pre_vote", [True, False])
def test_snapshot_with_min_term(pre_vote: bool) -> None:
    """A storage initialized from a snapshot at term 1 serves a snapshot to an empty peer."""
    s = new_storage()
    s.apply_snapshot(new_snapshot(1, 1, [1, 2]))
    n1 = new_test_raft_with_prevote(1, [1, 2], 10, 1, s, pre_vote)
    n2 = new_test_raft_with_prevote(2, [], 10, 1, new_storage(), pre_vote)
    nt = Network.new([n1, n2])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    # 1 is elected and sends 2 a snapshot and then the empty entry of its term.
    assert nt.peers[2].raft.raft_log.first_index() == 2
    assert nt.peers[2].raft.raft_log.last_index() == 2


def test_request_snapshot() -> None:
    """A follower's request snapshot gets a snapshot; refused without leader, on term mismatch, on a leader."""
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.raft.restore(snap_11_11())
    sm.persist()

    # No leader.
    with pytest.raises(RequestSnapshotDroppedError):
        sm.raft.request_snapshot()

    term = sm.raft.term
    sm.raft.become_follower(term + 1, 2)
    # The last entry's term differs from the current term.
    with pytest.raises(RequestSnapshotDroppedError):
        sm.raft.request_snapshot()

    sm.raft.become_candidate()
    sm.raft.become_leader()
    # A leader cannot request a snapshot.
    with pytest.raises(RequestSnapshotDroppedError):
        sm.raft.request_snapshot()

    # Advance matched.
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    assert sm.raft.prs.get(2).state == ProgressState.REPLICATE

    request_snapshot_idx = sm.raft.raft_log.committed
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    m.reject = True
    m.reject_hint = INVALID_INDEX
    m.request_snapshot = request_snapshot_idx

    # Out-of-order requests are ignored.
    out_of_order = Message()
    out_of_order.CopyFrom(m)
    out_of_order.index = 9
    sm.step(out_of_order)
    assert sm.raft.prs.get(2).state == ProgressState.REPLICATE

    sm.step(m)
    pr = sm.raft.prs.get(2)
    assert pr.state == ProgressState.SNAPSHOT
    assert pr.pending_snapshot == 11
    assert pr.next_idx == 12
    assert pr.is_paused()
    snap = sm.raft.msgs.pop()
    assert snap.msg_type == MessageType.MsgSnapshot, snap
    assert snap.snapshot.metadata.index == request_snapshot_idx, snap

    # Appends and heartbeats do not move it out of Snapshot.
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = 11
    sm.step(m)
    pr = sm.raft.prs.get(2)
    assert pr.state == ProgressState.SNAPSHOT
    assert pr.pending_snapshot == 11
    assert pr.next_idx == 12
    assert pr.is_paused()

    # A snapshot status report does.
    sm.step(new_message(2, 1, MessageType.MsgSnapStatus, 0))
    pr = sm.raft.prs.get(2)
    assert pr.state == ProgressState.PROBE
    assert pr.pending_snapshot == 0
    assert pr.next_idx == 12
    assert pr.is_paused()


# -- restore (test_raft.rs) ----------------------------------------------------------------------


def test_restore() -> None:
    """§7 restore replaces the log and the configuration with the snapshot's; the same snapshot twice is refused."""
    s = new_snapshot(11, 11, [1, 2, 3])
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    assert sm.raft.restore(clone_snap(s))
    assert sm.raft.raft_log.last_index() == s.metadata.index
    assert sm.raft.raft_log.term(s.metadata.index) == s.metadata.term
    assert voter_ids(sm) == set(s.metadata.conf_state.voters)
    assert not sm.raft.restore(clone_snap(s))


def test_restore_ignore_snapshot() -> None:
    """§7 a snapshot covered by the log is ignored, though it may fast-forward the commit index."""
    previous_ents = [Entry(term=1, index=1), Entry(term=1, index=2), Entry(term=1, index=3)]
    commit = 1
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.raft.raft_log.append(previous_ents)
    sm.raft.raft_log.commit_to(commit)

    s = new_snapshot(commit, 1, [1, 2])
    assert not sm.raft.restore(clone_snap(s))
    assert sm.raft.raft_log.committed == commit

    s.metadata.index = commit + 1
    assert not sm.raft.restore(clone_snap(s))
    assert sm.raft.raft_log.committed == commit + 1


def test_provide_snap() -> None:
    """§7 the leader sends a snapshot to a follower whose next entry is compacted."""
    sm = new_test_raft(1, [1], 10, 1, new_storage())
    sm.raft.restore(new_snapshot(11, 11, [1, 2]))
    sm.persist()
    sm.raft.become_candidate()
    sm.raft.become_leader()

    sm.raft.prs.get(2).next_idx = sm.raft.raft_log.first_index()
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.index = sm.raft.prs.get(2).next_idx - 1
    m.reject = True
    sm.step(m)
    msgs = sm.read_messages()
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgSnapshot


def test_ignore_providing_snapshot() -> None:
    """The leader sends no snapshot to a follower that is not recently active."""
    sm = new_test_raft(1, [1], 10, 1, new_storage())
    sm.raft.restore(new_snapshot(11, 11, [1, 2]))
    sm.persist()
    sm.raft.become_candidate()
    sm.raft.become_leader()

    sm.raft.prs.get(2).next_idx = sm.raft.raft_log.first_index() - 1
    sm.raft.prs.get(2).recent_active = False
    sm.step(new_message(1, 1, MessageType.MsgPropose, 1))
    assert sm.read_messages() == []


def test_restore_from_snap_msg() -> None:
    """§7 a MsgSnapshot of a higher term makes its sender the leader."""
    sm = new_test_raft(2, [1, 2], 10, 1, new_storage())
    m = new_message(1, 0, MessageType.MsgSnapshot, 0)
    m.term = 2
    m.snapshot.CopyFrom(new_snapshot(11, 11, [1, 2]))
    sm.step(m)
    assert sm.raft.leader_id == 1


def test_slow_node_restore() -> None:
    """§7 a node that fell behind a compaction catches up through a snapshot."""
    nt = Network.new([None, None, None])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    nt.isolate(3)
    for _ in range(100):
        nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    leader = nt.peers[1].raft
    # next_ents: persist and apply the leader's committed entries.
    unstable = [clone_entry(e) for e in leader.raft_log.unstable_entries()]
    if unstable:
        leader.raft_log.stable_entries(unstable[-1].index, unstable[-1].term)
        nt.storage[1].append(unstable)
        leader.on_persist_entries(unstable[-1].index, unstable[-1].term)
    leader.raft_log.next_entries()
    leader.commit_apply(leader.raft_log.committed)
    nt.storage[1].commit_to(leader.raft_log.applied)
    nt.storage[1].compact(leader.raft_log.applied)

    nt.recover()
    # Heartbeats until the leader knows node 3 is active again.
    for _ in range(100):
        nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
        if nt.peers[1].raft.prs.get(3).recent_active:
            break
    assert nt.peers[1].raft.prs.get(3).recent_active

    # Trigger a snapshot, then a commit.
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    assert nt.peers[3].raft.raft_log.committed == nt.peers[1].raft.raft_log.committed


def test_restore_with_learner() -> None:
    """§7 a snapshot with learners restores them as learners."""
    s = new_snapshot(11, 11, [1, 2])
    s.metadata.conf_state.learners.append(3)
    sm = new_test_learner_raft(3, [1, 2], [3], 10, 1, new_storage())
    assert not sm.raft.promotable()
    assert sm.raft.restore(clone_snap(s))
    assert sm.raft.raft_log.last_index() == 11
    assert sm.raft.raft_log.term(11) == 11
    assert voter_ids(sm) == {1, 2}
    assert learner_ids(sm) == {3}
    for node in s.metadata.conf_state.voters:
        assert sm.raft.prs.get(node) is not None
        assert node not in learner_ids(sm)
    for node in s.metadata.conf_state.learners:
        assert sm.raft.prs.get(node) is not None
        assert node in learner_ids(sm)
    assert not sm.raft.restore(clone_snap(s))


def test_restore_with_voters_outgoing() -> None:
    """A snapshot taken in a joint configuration restores both halves of it."""
    s = new_snapshot(11, 11, [2, 3, 4])
    s.metadata.conf_state.voters_outgoing.extend([1, 2, 3])
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    assert sm.raft.restore(clone_snap(s))
    assert sm.raft.raft_log.last_index() == s.metadata.index
    assert sm.raft.raft_log.term(s.metadata.index) == s.metadata.term
    assert voter_ids(sm) == {1, 2, 3, 4}
    assert not sm.raft.restore(clone_snap(s))


def test_restore_depromote_voter() -> None:
    """A snapshot can demote a voter to a learner."""
    s = new_snapshot(11, 11, [1, 2])
    s.metadata.conf_state.learners.append(3)
    sm = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    assert sm.raft.promotable()
    assert sm.raft.restore(s)


def test_restore_learner() -> None:
    """An uninitialized peer restored as a learner stays not promotable."""
    s = new_snapshot(11, 11, [1, 2])
    s.metadata.conf_state.learners.append(3)
    sm = new_test_raft(3, [], 10, 1, new_storage())
    assert not sm.raft.promotable()
    assert sm.raft.restore(s)
    assert not sm.raft.promotable()


def test_restore_learner_promotion() -> None:
    """A learner restored from a snapshot that lists it as a voter becomes promotable."""
    s = new_snapshot(11, 11, [1, 2, 3])
    sm = new_test_learner_raft(3, [1, 2], [3], 10, 1, new_storage())
    assert not sm.raft.promotable()
    assert sm.raft.restore(s)
    assert sm.raft.promotable()


def test_restore_not_in_conf_state_is_ignored() -> None:
    """A snapshot whose ConfState does not contain the node is refused."""
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    assert not sm.raft.restore(new_snapshot(11, 11, [2, 3]))
    assert sm.raft.raft_log.last_index() == 0


def test_restore_on_non_follower_is_refused() -> None:
    """A non-follower never restores a snapshot: it steps down into the next term instead."""
    sm = new_test_raft(1, [1, 2], 10, 1, new_storage())
    sm.raft.become_candidate()
    term = sm.raft.term
    assert not sm.raft.restore(new_snapshot(11, 11, [1, 2]))
    assert sm.raft.state == StateRole.FOLLOWER
    assert sm.raft.term == term + 1
    assert sm.raft.raft_log.last_index() == 0


def test_learner_receive_snapshot() -> None:
    """§7 a learner catches up from the leader's snapshot."""
    s = new_snapshot(11, 11, [1])
    s.metadata.conf_state.learners.append(2)
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    n1.raft.restore(s)
    n1.persist()
    n1.raft.commit_apply(n1.raft.raft_log.committed)

    network = Network.new([n1, n2])
    timeout = network.peers[1].raft.election_timeout()
    network.peers[1].raft.set_randomized_election_timeout(timeout)
    for _ in range(timeout):
        network.peers[1].raft.tick()

    msg = Message(msg_type=MessageType.MsgBeat, to=1)
    msg.from_ = 1
    network.send([msg])
    assert network.peers[1].raft.raft_log.committed == network.peers[2].raft.raft_log.committed


# -- request snapshot (test_raft.rs) -------------------------------------------------------------


def _index_term_11(id_: int, ids: list[int]) -> Interface:
    store = MemStorage()
    store.apply_snapshot(new_snapshot(11, 11, ids))
    raft = new_test_raft(id_, ids, 5, 1, store)
    raft.raft.reset(11)
    return raft


def prepare_request_snapshot() -> tuple[Network, Snapshot]:
    """prepare_request_snapshot is a 3-node cluster at index 11 with 1 leading, committed 15, and
    a snapshot of node 1's storage at 14."""
    nt = Network.new([_index_term_11(1, [1, 2, 3]), _index_term_11(2, [1, 2, 3]), _index_term_11(3, [1, 2, 3])])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    def prop() -> Message:
        return new_message_with_entries(1, 1, MessageType.MsgPropose, [Entry(data=b"testdata")])

    nt.send([prop(), prop()])
    assert nt.peers[1].raft.raft_log.committed == 14
    assert nt.peers[2].raft.raft_log.committed == 14

    ents = [clone_entry(e) for e in nt.peers[1].raft.raft_log.unstable_entries()]
    nt.storage[1].append(ents)
    nt.storage[1].commit_to(14)
    nt.peers[1].raft.raft_log.applied = 14

    nt.send([prop()])
    s = nt.storage[1].snapshot(0, 0)
    return nt, s


def test_follower_request_snapshot() -> None:
    """An up-to-date follower can request a snapshot; replication to it pauses until the report."""
    nt, s = prepare_request_snapshot()
    prev_snapshot_idx = s.metadata.index
    request_idx = nt.peers[1].raft.raft_log.committed
    assert prev_snapshot_idx < request_idx
    nt.peers[2].raft.request_snapshot()

    req_snap = nt.peers[2].raft.msgs.pop()
    assert req_snap.msg_type == MessageType.MsgAppendResponse, req_snap
    assert req_snap.reject, req_snap
    assert req_snap.request_snapshot == request_idx, req_snap
    nt.peers[1].step(req_snap)

    # New proposals are not replicated to 2.
    msg = new_message_with_entries(1, 1, MessageType.MsgPropose, [Entry(data=b"testdata")])
    msg2 = Message()
    msg2.CopyFrom(msg)
    nt.send([msg])
    assert nt.peers[1].raft.raft_log.committed == 16
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.SNAPSHOT
    assert nt.peers[2].raft.raft_log.committed == 15

    nt.send([new_message(2, 1, MessageType.MsgSnapStatus, 0)])
    nt.send([new_message(2, 1, MessageType.MsgHeartbeatResponse, 0)])
    nt.send([msg2])
    assert nt.peers[1].raft.raft_log.committed == 17
    assert nt.peers[2].raft.raft_log.committed == 17


def test_request_snapshot_unavailable() -> None:
    """A request snapshot makes progress after SnapshotTemporarilyUnavailable."""
    nt, s = prepare_request_snapshot()
    request_idx = nt.peers[1].raft.raft_log.committed
    assert s.metadata.index < request_idx
    nt.peers[2].raft.request_snapshot()

    req_snap = nt.peers[2].raft.msgs.pop()
    assert req_snap.msg_type == MessageType.MsgAppendResponse
    assert req_snap.reject
    assert req_snap.request_snapshot == request_idx

    def step_copy() -> None:
        c = Message()
        c.CopyFrom(req_snap)
        nt.peers[1].step(c)

    # Still probing: the snapshot is temporarily unavailable.
    nt.storage[1].trigger_snap_unavailable()
    step_copy()
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.PROBE

    nt.storage[1].trigger_snap_unavailable()
    step_copy()
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.PROBE

    # Available now; the request must not be taken as stale even though reject != next - 1.
    step_copy()
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.SNAPSHOT


def test_request_snapshot_matched_change() -> None:
    """An out-of-order request snapshot is ignored; the follower re-sends it on the next heartbeat."""
    nt, _ = prepare_request_snapshot()
    # Let matched be greater than committed.
    nt.peers[2].raft.raft_log.committed -= 1

    nt.peers[2].raft.request_snapshot()
    req_snap = nt.peers[2].raft.msgs.pop()
    nt.peers[1].step(req_snap)
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.REPLICATE

    for _ in range(nt.peers[1].raft.heartbeat_timeout()):
        nt.peers[1].raft.tick()
    msg_hb = next(m for m in nt.peers[1].raft.msgs if m.to == 2)
    c = Message()
    c.CopyFrom(msg_hb)
    nt.peers[2].step(c)
    req_snap = nt.peers[2].raft.msgs.pop()
    nt.peers[1].step(req_snap)
    assert nt.peers[1].raft.prs.get(2).state == ProgressState.SNAPSHOT


def test_request_snapshot_none_replicate() -> None:
    """A request snapshot on a non-replicating progress is recorded as pending."""
    nt, _ = prepare_request_snapshot()
    nt.peers[1].raft.prs.get(2).state = ProgressState.PROBE
    nt.peers[2].raft.request_snapshot()
    req_snap = nt.peers[2].raft.msgs.pop()
    nt.peers[1].step(req_snap)
    assert nt.peers[1].raft.prs.get(2).pending_request_snapshot != 0


def test_request_snapshot_step_down() -> None:
    """A pending request snapshot is dropped when the follower learns of a new leader."""
    nt, _ = prepare_request_snapshot()
    nt.isolate(2)
    nt.send([new_message_with_entries(1, 1, MessageType.MsgPropose, [Entry(data=b"testdata")])])
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    assert nt.peers[3].raft.state == StateRole.LEADER

    nt.recover()
    nt.peers[2].raft.request_snapshot()
    nt.send([new_message(3, 3, MessageType.MsgBeat, 0)])
    assert nt.peers[2].raft.pending_request_snapshot == INVALID_INDEX


def test_request_snapshot_on_role_change() -> None:
    """become_follower keeps a pending request snapshot; become_candidate drops it."""
    nt, _ = prepare_request_snapshot()
    nt.peers[2].raft.request_snapshot()

    term, id_ = nt.peers[1].raft.term, nt.peers[1].raft.id
    nt.peers[2].raft.become_follower(term, id_)
    assert nt.peers[2].raft.pending_request_snapshot != INVALID_INDEX

    nt.peers[2].raft.become_candidate()
    assert nt.peers[2].raft.pending_request_snapshot == INVALID_INDEX


def test_request_snapshot_after_term_change() -> None:
    """A term change drops a pending request snapshot."""
    nt, _ = prepare_request_snapshot()
    nt.peers[2].raft.request_snapshot()
    assert nt.peers[2].raft.pending_request_snapshot != INVALID_INDEX
    term = nt.peers[1].raft.term
    nt.peers[2].raft.reset(term + 1)
    assert nt.peers[2].raft.pending_request_snapshot == INVALID_INDEX


def test_request_snapshot_after_restore() -> None:
    """A restored snapshot satisfies a pending request snapshot, and the follower may request again."""
    nt, _ = prepare_request_snapshot()
    nt.peers[2].raft.request_snapshot()
    req_snap = nt.peers[2].raft.msgs.pop()
    nt.peers[1].step(req_snap)
    msgs = [m for m in nt.peers[1].read_messages() if m.msg_type == MessageType.MsgSnapshot]
    assert len(msgs) == 1
    assert msgs[0].to == 2
    nt.peers[2].step(msgs[0])
    assert nt.peers[2].raft.pending_request_snapshot == INVALID_INDEX
    assert nt.peers[2].raft.raft_log.last_index() == msgs[0].snapshot.metadata.index
    nt.peers[2].persist()
    nt.peers[2].read_messages()
    # With a leader and the last entry of the current term (12), a new request is accepted.
    nt.peers[2].raft.become_follower(nt.peers[2].raft.term, 1)
    assert nt.peers[2].raft.raft_log.last_term() == nt.peers[2].raft.term == 12
    nt.peers[2].raft.request_snapshot()
    assert nt.peers[2].raft.pending_request_snapshot == msgs[0].snapshot.metadata.index


def test_request_snapshot_refused_with_pending_request() -> None:
    """A second request snapshot while one is pending is refused."""
    nt, _ = prepare_request_snapshot()
    nt.peers[2].raft.request_snapshot()
    with pytest.raises(RequestSnapshotDroppedError):
        nt.peers[2].raft.request_snapshot()


def test_follower_with_pending_request_answers_append_with_request() -> None:
    """While a request snapshot is pending, appends and heartbeats are answered with the request."""
    nt, _ = prepare_request_snapshot()
    r2 = nt.peers[2]
    r2.raft.request_snapshot()
    pending = r2.raft.pending_request_snapshot
    r2.read_messages()
    hb = new_message(1, 2, MessageType.MsgHeartbeat, 0)
    hb.term = nt.peers[1].raft.term
    r2.step(hb)
    msgs = r2.read_messages()
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppendResponse
    assert msgs[0].reject
    assert msgs[0].request_snapshot == pending
    assert msgs[0].to == 1
    assert r2.raft.leader_id != INVALID_ID
