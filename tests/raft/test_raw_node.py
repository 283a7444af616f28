"""Tests of RawNode, Ready and LightReady: raft-rs's harness/tests/integration_cases/test_raw_node.rs,
re-expressed in Python on MemStorage and RawNode (the Network tests use raftstore.raft.testing).

The sections of the Raft paper (Ongaro & Ousterhout, 2014) behind them: §5.3 log replication and commit,
§5.4.2 committing entries of the current term, §6 membership changes (joint consensus), §7 snapshots,
§8 read-only queries; the async-ready tests check the thesis §10.2.1 rule that a leader may send its
appends before persisting them while everyone else sends only after persisting.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import pytest

from raftstore.raft import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ProposalDroppedError,
    RaftError,
    RequestSnapshotDroppedError,
    Snapshot,
    StepLocalMsgError,
    StepPeerNotFoundError,
)
from raftstore.raft.config import Config
from raftstore.raft.raft import SoftState, StateRole
from raftstore.raft.raw_node import (
    LightReady,
    RawNode,
    Ready,
    SnapshotStatus,
    conf_change_as_v2,
    is_local_msg,
)
from raftstore.raft.read_only import ReadState
from raftstore.raft.storage import GetEntriesContext, MemStorage, RaftState
from raftstore.raft.testing import (
    SOME_DATA,
    Network,
    conf_change_v2,
    conf_state,
    conf_state_v2,
    empty_entry,
    hard_state,
    new_entry,
    new_message,
    new_message_with_entries,
    new_snapshot,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
    remove_node,
    soft_state,
)
from raftstore.raft.util import NO_LIMIT

# -- helpers -----------------------------------------------------------------------------------------


def conf_change(t: int, node_id: int) -> ConfChange:
    """conf_change: a v1 ConfChange of type t for node_id."""
    return ConfChange(change_type=t, node_id=node_id)


def new_conf_change_single(node_id: int, t: int) -> ConfChangeSingle:
    """new_conf_change_single: one step of a ConfChangeV2."""
    return ConfChangeSingle(node_id=node_id, change_type=t)


def enter_joint(cc: ConfChangeV2) -> bool | None:
    """enter_joint: raft-rs's ConfChangeV2::enter_joint: None for a simple change, else auto-leave."""
    if cc.transition != ConfChangeTransition.Auto or len(cc.changes) > 1:
        return cc.transition in (ConfChangeTransition.Auto, ConfChangeTransition.Implicit)
    return None


def must_cmp_ready(
    r: Ready,
    ss: SoftState | None,
    hs: HardState | None,
    entries: Sequence[Entry],
    committed_entries: Sequence[Entry],
    snapshot: Snapshot | None,
    msg_is_empty: bool,
    persisted_msg_is_empty: bool,
    must_sync: bool,
) -> None:
    """must_cmp_ready: compares every part of a Ready with expectations (read states must be empty)."""
    assert r.ss == ss
    assert r.hs == hs
    assert list(r.entries) == list(entries)
    assert list(r.committed_entries) == list(committed_entries)
    assert r.must_sync == must_sync
    assert not r.read_states
    assert r.snapshot == (snapshot if snapshot is not None else Snapshot())
    assert (len(r.messages) == 0) == msg_is_empty
    assert (len(r.persisted_messages) == 0) == persisted_msg_is_empty


def new_raw_node_with_config(peers: Sequence[int], config: Config, storage: MemStorage) -> RawNode:
    """new_raw_node_with_config: a RawNode on storage; an uninitialized storage with peers first gets the
    snapshot (1, 1, peers)."""
    initialized = storage.initial_state().initialized()
    if initialized and not peers:
        raise AssertionError("new_raw_node with empty peers on initialized store")
    if peers and not initialized:
        storage.wl().apply_snapshot(new_snapshot(1, 1, peers))
    return RawNode(config, storage)


def new_raw_node(
    id: int, peers: Sequence[int], election_tick: int, heartbeat_tick: int, storage: MemStorage
) -> RawNode:
    """new_raw_node: new_raw_node_with_config with new_test_config(id, election, heartbeat)."""
    return new_raw_node_with_config(peers, new_test_config(id, election_tick, heartbeat_tick), storage)


def decode_cc(e: Entry) -> ConfChange | ConfChangeV2 | None:
    """decode_cc: the conf change carried by entry e, None for a normal entry."""
    if e.entry_type == EntryType.EntryConfChange:
        return ConfChange.FromString(e.data)
    if e.entry_type == EntryType.EntryConfChangeV2:
        return ConfChangeV2.FromString(e.data)
    return None


def new_append(
    from_id: int, to: int, entries: Sequence[Entry], *, term: int, index: int, log_term: int, commit: int
) -> Message:
    """new_append is a MsgAppend of entries after (index, log_term), sent at term with commit."""
    msg = new_message_with_entries(from_id, to, MessageType.MsgAppend, entries)
    msg.term = term
    msg.index = index
    msg.log_term = log_term
    msg.commit = commit
    return msg


def new_snapshot_message(from_id: int, to: int, term: int, snapshot: Snapshot) -> Message:
    """new_snapshot_message is a MsgSnapshot carrying snapshot, sent at term."""
    msg = new_message(from_id, to, MessageType.MsgSnapshot, 0)
    msg.term = term
    msg.snapshot.CopyFrom(snapshot)
    return msg


def persist_hard_state_and_entries(s: MemStorage, rd: Ready) -> None:
    """persist_hard_state_and_entries writes rd's (required) hard state and its entries to s."""
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    s.wl().append(rd.entries)


def assert_only_committed(light_rd: LightReady, committed: Sequence[Entry]) -> None:
    """assert_only_committed: light_rd carries exactly the committed entries, no commit index and no messages."""
    assert light_rd.commit_index is None
    assert list(light_rd.committed_entries) == list(committed)
    assert not light_rd.messages


def become_leader_loop(raw_node: RawNode, s: MemStorage) -> None:
    """become_leader_loop: campaigns and handles Readies until one reports this node as leader."""
    raw_node.campaign()
    while True:
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        if rd.ss is not None and rd.ss.leader_id == raw_node.raft.id:
            raw_node.advance(rd)
            return
        raw_node.advance(rd)


# -- step ----------------------------------------------------------------------------------------------


def test_is_local_msg() -> None:
    """is_local_msg is true exactly for MsgHup, MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum."""
    local = {
        MessageType.MsgHup,
        MessageType.MsgBeat,
        MessageType.MsgUnreachable,
        MessageType.MsgSnapStatus,
        MessageType.MsgCheckQuorum,
    }
    for t in MessageType.values():
        assert is_local_msg(t) == (t in local), MessageType.Name(t)


@pytest.mark.parametrize("msg_t", MessageType.values(), ids=MessageType.keys())
def test_raw_node_step(msg_t: int) -> None:
    """RawNode.step refuses local messages with StepLocalMsgError and never breaks on the others."""
    s = new_storage()
    s.wl().set_hardstate(hard_state(1, 1, 0))
    # The non-local messages (e.g. votes) must be ignored without tripping invariants.
    s.wl().append([new_entry(1, 1, None)])
    s.wl().apply_snapshot(new_snapshot(1, 1, [1]))

    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    if is_local_msg(msg_t):
        with pytest.raises(StepLocalMsgError):
            raw_node.step(new_message(0, 0, msg_t, 0))
    else:
        try:
            raw_node.step(new_message(0, 0, msg_t, 0))
        except RaftError:
            pass


def test_raw_node_step_response_from_unknown_peer() -> None:
    """RawNode.step refuses responses from peers not in the tracker with StepPeerNotFoundError."""
    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    for t in (
        MessageType.MsgAppendResponse,
        MessageType.MsgRequestVoteResponse,
        MessageType.MsgHeartbeatResponse,
        MessageType.MsgRequestPreVoteResponse,
    ):
        with pytest.raises(StepPeerNotFoundError):
            raw_node.step(new_message(7, 1, t, 0))
    # A request from an unknown peer is stepped (a new peer may talk before it is known).
    m = new_message(7, 1, MessageType.MsgHeartbeat, 0)
    m.term = 5
    raw_node.step(m)
    assert raw_node.raft.term == 5


# -- read index ---------------------------------------------------------------------------------------


def test_raw_node_read_index_to_old_leader() -> None:
    """§8: a MsgReadIndex to a follower is forwarded to the leader without a term, and forwarded again
    by an old leader to the new one."""
    r1 = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    r3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    nt = Network.new([r1, r2, r3])

    # elect r1 as leader
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    test_entries = Entry(data=b"testdata")

    # send readindex request to r2 (follower)
    nt.peers[2].step(new_message_with_entries(2, 2, MessageType.MsgReadIndex, [test_entries]))

    # r2 forwards it to r1 (leader) with no term set
    assert len(nt.peers[2].msgs) == 1
    read_index_msg1 = new_message_with_entries(2, 1, MessageType.MsgReadIndex, [test_entries])
    assert nt.peers[2].msgs[0] == read_index_msg1

    # send readindex request to r3 (follower)
    nt.peers[3].step(new_message_with_entries(3, 3, MessageType.MsgReadIndex, [test_entries]))

    assert len(nt.peers[3].msgs) == 1
    read_index_msg2 = new_message_with_entries(3, 1, MessageType.MsgReadIndex, [test_entries])
    assert nt.peers[3].msgs[0] == read_index_msg2

    # now elect r3 as leader
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])

    # r1 steps the two messages it got from r2 and r3
    nt.peers[1].step(read_index_msg1)
    nt.peers[1].step(read_index_msg2)

    # r1 (now a follower) forwards them again to r3 (the new leader)
    assert len(nt.peers[1].msgs) == 2
    assert nt.peers[1].msgs[0] == new_message_with_entries(
        2, 3, MessageType.MsgReadIndex, [test_entries]
    )
    assert nt.peers[1].msgs[1] == new_message_with_entries(
        3, 3, MessageType.MsgReadIndex, [test_entries]
    )


def test_raw_node_read_index() -> None:
    """§8: RawNode.read_index yields a ReadState with the request context; it is cleared after advance."""
    wrequest_ctx = b"somedata"
    wrs = [ReadState(index=2, request_ctx=wrequest_ctx)]

    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    become_leader_loop(raw_node, s)
    # Once leader, issue a read index request.
    raw_node.read_index(wrequest_ctx)

    # The read states can be read out.
    assert raw_node.raft.read_states
    assert raw_node.has_ready()
    rd = raw_node.ready()
    assert list(rd.read_states) == wrs
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    # raft.read_states is reset after advance.
    assert not raw_node.has_ready()
    assert not raw_node.raft.read_states


# -- conf changes --------------------------------------------------------------------------------------


def _propose_and_conf_change_cases() -> list[tuple[ConfChange | ConfChangeV2, ConfState, ConfState | None]]:
    """_propose_and_conf_change_cases: (conf change, ConfState after it, ConfState after leaving joint)."""
    cases: list[tuple[ConfChange | ConfChangeV2, ConfState, ConfState | None]] = []
    # V1 config change.
    cases.append((conf_change(ConfChangeType.AddNode, 2), conf_state([1, 2], []), None))
    # The same as a V2 change works just the same, without entering a joint config.
    cases.append(
        (
            conf_change_v2([new_conf_change_single(2, ConfChangeType.AddNode)]),
            conf_state([1, 2], []),
            None,
        )
    )
    # Ditto if we add it as a learner instead.
    cases.append(
        (
            conf_change_v2([new_conf_change_single(2, ConfChangeType.AddLearnerNode)]),
            conf_state([1], [2]),
            None,
        )
    )
    # Joint consensus asked for explicitly.
    cc = conf_change_v2([new_conf_change_single(2, ConfChangeType.AddLearnerNode)])
    cc.transition = ConfChangeTransition.Explicit
    cases.append((cc, conf_state_v2([1], [2], [1], [], False), conf_state([1], [2])))
    # Ditto, with an implicit transition.
    cc = conf_change_v2([new_conf_change_single(2, ConfChangeType.AddLearnerNode)])
    cc.transition = ConfChangeTransition.Implicit
    cases.append((cc, conf_state_v2([1], [2], [1], [], True), conf_state([1], [2])))
    # Add a new node and demote n1: needs joint consensus and LearnersNext.
    demote = [
        new_conf_change_single(2, ConfChangeType.AddNode),
        new_conf_change_single(1, ConfChangeType.AddLearnerNode),
        new_conf_change_single(3, ConfChangeType.AddLearnerNode),
    ]
    cases.append(
        (conf_change_v2(demote), conf_state_v2([2], [3], [1], [1], True), conf_state([2], [1, 3]))
    )
    cc = conf_change_v2(demote)
    cc.transition = ConfChangeTransition.Explicit
    cases.append((cc, conf_state_v2([2], [3], [1], [1], False), conf_state([2], [1, 3])))
    cc = conf_change_v2(demote)
    cc.transition = ConfChangeTransition.Implicit
    cases.append((cc, conf_state_v2([2], [3], [1], [1], True), conf_state([2], [1, 3])))
    return cases


def propose_until_conf_change_applies(
    raw_node: RawNode,
    s: MemStorage,
    cc: ConfChange | ConfChangeV2,
    apply_cc: Callable[[RawNode, Entry], ConfState | None],
) -> ConfState:
    """propose_until_conf_change_applies handles Readies; once leader, raw_node proposes a command and cc.
    apply_cc sees every committed entry; the loop stops with the last ConfState it returned."""
    proposed = False
    cs: ConfState | None = None

    def handle_committed_entries(rn: RawNode, committed: list[Entry]) -> None:
        nonlocal cs
        for e in committed:
            applied = apply_cc(rn, e)
            if applied is not None:
                cs = applied

    while cs is None:
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        handle_committed_entries(raw_node, rd.take_committed_entries())
        is_leader = rd.ss is not None and rd.ss.leader_id == raw_node.raft.id

        light_rd = raw_node.advance(rd)
        handle_committed_entries(raw_node, light_rd.take_committed_entries())
        raw_node.advance_apply()

        # Once leader, propose a command and a ConfChange.
        if not proposed and is_leader:
            raw_node.propose(b"", b"somedata")
            raw_node.propose_conf_change(b"", cc)
            proposed = True
    return cs


def assert_stable_tail_is_command_and(s: MemStorage, cc: ConfChange | ConfChangeV2) -> int:
    """assert_stable_tail_is_command_and: the last two stable entries are exactly the command b"somedata"
    and the conf change cc, down to the bits; it returns the last index."""
    last_index = s.last_index()
    entries = s.entries(last_index - 1, last_index + 1, NO_LIMIT, GetEntriesContext.empty(False))
    assert len(entries) == 2
    assert entries[0].data == b"somedata"
    if isinstance(cc, ConfChange):
        assert entries[1].entry_type == EntryType.EntryConfChange
    else:
        assert entries[1].entry_type == EntryType.EntryConfChangeV2
    assert entries[1].data == cc.SerializeToString()
    return last_index


@pytest.mark.parametrize("case", range(8))
def test_raw_node_propose_and_conf_change(case: int) -> None:
    """§6: a simple or joint conf change proposed through RawNode applies to the expected ConfState,
    and a joint one is left automatically (auto_leave) or by an explicit empty ConfChangeV2."""
    cc, exp, exp2 = _propose_and_conf_change_cases()[case]
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()

    def apply_cc(rn: RawNode, e: Entry) -> ConfState | None:
        decoded = decode_cc(e)
        return None if decoded is None else rn.apply_conf_change(decoded)

    # Propose the ConfChange, wait until it applies, save the resulting ConfState.
    cs = propose_until_conf_change_applies(raw_node, s, cc, apply_cc)

    last_index = assert_stable_tail_is_command_and(s, cc)
    assert cs == exp

    v2 = conf_change_as_v2(cc)
    # An auto-leaving joint change appended the leaving entry (not yet in stable storage).
    conf_index = last_index + 1 if enter_joint(v2) is True else last_index
    assert raw_node.raft.pending_conf_index == conf_index

    # Move along: a simple change is done; a joint one is left automatically or by hand.
    rd = raw_node.ready()
    context = b""
    if not exp.auto_leave:
        assert not rd.entries
        if exp2 is None:
            return
        context = b"manual"
        leave = conf_change_v2([])
        leave.context = context
        raw_node.propose_conf_change(b"", leave)
        rd = raw_node.ready()
    # The right ConfChange comes out.
    assert len(rd.entries) == 1
    assert rd.entries[0].entry_type == EntryType.EntryConfChangeV2
    leave_cc = ConfChangeV2.FromString(rd.entries[0].data)
    assert leave_cc.context == context
    # Pretend it applied: it cannot commit, as the joint quorum needs a node that does not run.
    assert raw_node.apply_conf_change(leave_cc) == exp2


def test_raw_node_joint_auto_leave() -> None:
    """§6: an auto-leave joint config is left only once the node leads again and has applied it."""
    test_cc = conf_change_v2([new_conf_change_single(2, ConfChangeType.AddLearnerNode)])
    test_cc.transition = ConfChangeTransition.Implicit
    exp_cs = conf_state_v2([1], [2], [1], [], True)
    exp_cs2 = conf_state([1], [2])

    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()

    def step_down_and_apply_cc(rn: RawNode, e: Entry) -> ConfState | None:
        if e.entry_type != EntryType.EntryConfChangeV2:
            return None
        cc = ConfChangeV2.FromString(e.data)
        # Force it to step down.
        msg = new_message(1, 1, MessageType.MsgHeartbeatResponse, 0)
        msg.term = rn.raft.term + 1
        rn.step(msg)
        return rn.apply_conf_change(cc)

    cs = propose_until_conf_change_applies(raw_node, s, test_cc, step_down_and_apply_cc)

    assert_stable_tail_is_command_and(s, test_cc)
    assert cs == exp_cs
    assert raw_node.raft.pending_conf_index == 0

    # It must not leave joint as a follower.
    rd = raw_node.ready()
    assert not rd.entries
    raw_node.advance(rd)

    # Leader again: it leaves joint automatically after moving its apply index.
    raw_node.campaign()
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    rd = raw_node.ready()
    s.wl().append(rd.entries)

    assert len(rd.entries) == 1
    assert rd.entries[0].entry_type == EntryType.EntryConfChangeV2
    leave_cc = ConfChangeV2.FromString(rd.entries[0].data)
    assert leave_cc.context == b""
    assert raw_node.apply_conf_change(leave_cc) == exp_cs2


def test_raw_node_propose_add_duplicate_node() -> None:
    """§6: proposing to add the same node twice does not disturb a later addition of another node."""
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    become_leader_loop(raw_node, s)

    def handle_committed_entries(rn: RawNode, committed: list[Entry]) -> None:
        for e in committed:
            if e.entry_type == EntryType.EntryConfChange:
                rn.apply_conf_change(ConfChange.FromString(e.data))

    def propose_conf_change_and_apply(cc: ConfChange) -> None:
        raw_node.propose_conf_change(b"", cc)
        rd = raw_node.ready()
        s.wl().append(rd.entries)
        handle_committed_entries(raw_node, rd.take_committed_entries())
        light_rd = raw_node.advance(rd)
        handle_committed_entries(raw_node, light_rd.take_committed_entries())
        raw_node.advance_apply()

    cc1 = conf_change(ConfChangeType.AddNode, 1)
    ccdata1 = cc1.SerializeToString()
    propose_conf_change_and_apply(cc1)
    # Try to add the same node again.
    propose_conf_change_and_apply(cc1)
    # Adding a new node is fine.
    cc2 = conf_change(ConfChangeType.AddNode, 2)
    ccdata2 = cc2.SerializeToString()
    propose_conf_change_and_apply(cc2)

    last_index = s.last_index()
    # The last three entries are: cc1, cc1, cc2.
    entries = s.entries(last_index - 2, last_index + 1, None, GetEntriesContext.empty(False))
    assert len(entries) == 3
    assert entries[0].data == ccdata1
    assert entries[2].data == ccdata2


def test_raw_node_propose_add_learner_node() -> None:
    """§6: adding a learner through RawNode commits the conf change and yields voters [1], learners [2]."""
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], [], None, True, True, False)
    raw_node.advance(rd)

    become_leader_loop(raw_node, s)

    raw_node.propose_conf_change(b"", conf_change(ConfChangeType.AddLearnerNode, 2))
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    light_rd = raw_node.advance(rd)

    assert len(light_rd.committed_entries) == 1, "should commit the conf change entry"
    e = light_rd.committed_entries[0]
    assert e.entry_type == EntryType.EntryConfChange
    cs = raw_node.apply_conf_change(ConfChange.FromString(e.data))
    assert list(cs.voters) == [1]
    assert list(cs.learners) == [2]


# -- start / restart -------------------------------------------------------------------------------


def test_raw_node_start() -> None:
    """§5.2/§5.3: a bootstrapped single node campaigns, persists its empty entry of term 2, commits and
    hands out committed entries only through the LightReady after persisting."""
    store = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], [], None, True, True, False)
    raw_node.advance(rd)

    raw_node.campaign()
    rd = raw_node.ready()
    must_cmp_ready(
        rd,
        soft_state(1, StateRole.LEADER),
        hard_state(2, 1, 1),
        [new_entry(2, 2, None)],
        [],
        None,
        True,
        True,
        True,
    )
    store.wl().append(rd.entries)
    light_rd = raw_node.advance(rd)
    assert light_rd.commit_index == 2
    assert list(light_rd.committed_entries) == [new_entry(2, 2, None)]
    assert not raw_node.has_ready()

    raw_node.propose(b"", b"somedata")
    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [new_entry(2, 3, SOME_DATA)], [], None, True, True, True)
    store.wl().append(rd.entries)
    light_rd = raw_node.advance(rd)
    assert light_rd.commit_index == 3
    assert list(light_rd.committed_entries) == [new_entry(2, 3, SOME_DATA)]
    assert not raw_node.has_ready()


def test_raw_node_restart() -> None:
    """A restarted node hands out its stable committed entries and no state change."""
    entries = [empty_entry(1, 1), new_entry(1, 2, "foo")]
    store = new_storage()
    store.wl().set_hardstate(hard_state(1, 1, 0))
    store.wl().append(entries)
    raw_node = new_raw_node(1, [], 10, 1, store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], entries[:1], None, True, True, False)
    raw_node.advance(rd)
    assert not raw_node.has_ready()


def test_raw_node_restart_from_snapshot() -> None:
    """§7: a node restarted from a snapshot hands out the committed entries after it."""
    snap = new_snapshot(2, 1, [1, 2])
    entries = [new_entry(1, 3, "foo")]
    store = new_storage()
    store.wl().apply_snapshot(snap)
    store.wl().append(entries)
    store.wl().set_hardstate(hard_state(1, 3, 0))
    raw_node = RawNode(new_test_config(1, 10, 1), store)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], entries, None, True, True, False)
    raw_node.advance(rd)
    assert not raw_node.has_ready()


# -- runtime settings --------------------------------------------------------------------------------


def test_skip_bcast_commit() -> None:
    """§5.3: with skip_bcast_commit, a commit index reaches followers only with the next append or
    heartbeat, except for conf changes; the setting can be changed at run time."""
    config = new_test_config(1, 10, 1)
    config.skip_bcast_commit = True
    s = MemStorage.new_with_conf_state(conf_state([1, 2, 3], []))
    r1 = new_test_raft_with_config(config, s)
    r2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    r3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    nt = Network.new([r1, r2, r3])

    # elect r1 as leader
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])

    # Without bcast commit, followers do not learn the commit index at once.
    test_entries = Entry(data=b"testdata")
    msg = new_message_with_entries(1, 1, MessageType.MsgPropose, [test_entries])
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 2
    assert nt.peers[2].raft_log.committed == 1
    assert nt.peers[3].raft_log.committed == 1

    # After a heartbeat broadcast, they are told the commit index.
    for _ in range(nt.peers[1].randomized_election_timeout):
        nt.peers[1].tick()
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[2].raft_log.committed == 2
    assert nt.peers[3].raft_log.committed == 2

    # The feature can be switched at run time.
    nt.peers[1].skip_bcast_commit(False)
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 3
    assert nt.peers[2].raft_log.committed == 3
    assert nt.peers[3].raft_log.committed == 3

    nt.peers[1].skip_bcast_commit(True)

    # A later proposal commits the former one.
    nt.send([msg])
    nt.send([msg])
    assert nt.peers[1].raft_log.committed == 5
    assert nt.peers[2].raft_log.committed == 4
    assert nt.peers[3].raft_log.committed == 4

    # When committing a conf change, the leader always broadcasts the commit.
    cc = ConfChange(change_type=ConfChangeType.RemoveNode, node_id=3)
    cc_entry = Entry(entry_type=EntryType.EntryConfChange, data=cc.SerializeToString())
    nt.send([new_message_with_entries(1, 1, MessageType.MsgPropose, [cc_entry])])
    assert nt.peers[1].should_bcast_commit()
    assert nt.peers[2].should_bcast_commit()
    assert nt.peers[3].should_bcast_commit()

    assert nt.peers[1].raft_log.committed == 6
    assert nt.peers[2].raft_log.committed == 6
    assert nt.peers[3].raft_log.committed == 6


def test_raw_node_skip_bcast_commit_setter() -> None:
    """RawNode.skip_bcast_commit switches the Raft's setting at run time."""
    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    raw_node.skip_bcast_commit(True)
    assert not raw_node.raft.should_bcast_commit()
    raw_node.skip_bcast_commit(False)
    assert raw_node.raft.should_bcast_commit()


def test_set_priority() -> None:
    """RawNode.set_priority sets the Raft's priority."""
    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    for p in [0, 1, 5, 10, 10000]:
        raw_node.set_priority(p)
        assert raw_node.raft.priority == p


def test_bounded_uncommitted_entries_growth_with_partition() -> None:
    """max_uncommitted_size bounds a leader's uncommitted log: proposals beyond it are dropped until
    the earlier ones commit."""
    config = Config(1, max_uncommitted_size=12)
    s = new_storage()
    raw_node = new_raw_node_with_config([1], config, s)

    # wait for the node to lead
    raw_node.campaign()
    while True:
        rd = raw_node.ready()
        assert rd.hs is not None
        s.wl().set_hardstate(rd.hs)
        s.wl().append(rd.entries)
        if rd.ss is not None and rd.ss.leader_id == raw_node.raft.leader_id:
            raw_node.advance(rd)
            break
        raw_node.advance(rd)

    data = b"hello world!"
    # accepted
    raw_node.propose(b"", data)
    # dropped
    with pytest.raises(ProposalDroppedError):
        raw_node.propose(b"", data)

    # accepted again once the first one is committed
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)
    raw_node.propose(b"", data)


def test_disable_proposal_forwarding() -> None:
    """With disable_proposal_forwarding a follower drops proposals instead of forwarding them."""
    n1 = new_test_raft_with_config(
        Config(1, heartbeat_tick=1, election_tick=10, disable_proposal_forwarding=False),
        MemStorage.new_with_conf_state(conf_state([1, 2, 3], [])),
    )
    n2 = new_test_raft_with_config(
        Config(2, heartbeat_tick=1, election_tick=10, disable_proposal_forwarding=False),
        MemStorage.new_with_conf_state(conf_state([1, 2, 3], [])),
    )
    n3 = new_test_raft_with_config(
        Config(3, heartbeat_tick=1, election_tick=10, disable_proposal_forwarding=True),
        MemStorage.new_with_conf_state(conf_state([1, 2, 3], [])),
    )
    network = Network.new([n1, n2, n3])

    # node 1 campaigns
    network.send([new_message(1, 1, MessageType.MsgHup, 0)])

    # n2 (forwarding allowed) forwards the proposal
    network.peers[2].step(new_message(2, 2, MessageType.MsgPropose, 1))
    assert len(network.peers[2].msgs) == 1

    # n3 (forwarding disabled) drops it
    with pytest.raises(ProposalDroppedError):
        network.peers[3].step(new_message(3, 3, MessageType.MsgPropose, 1))
    assert not network.peers[3].msgs


# -- async entries -------------------------------------------------------------------------------------


def prepare_async_entries(raw_node: RawNode, s: MemStorage) -> None:
    """prepare_async_entries: node 1 leads a 2-node group, has 10 entries of 1000 B unsent to a
    probing node 2, makes the log temporarily unavailable and then turns node 2 to replicate."""
    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()

    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    data = b"\x01" * 1000
    for _ in range(10):
        raw_node.propose(b"", data)

    rd = raw_node.ready()
    entries = list(rd.entries)
    assert len(entries) == 10
    s.wl().append(entries)
    msgs = rd.messages
    # The first append carries two entries: the empty entry of the election and the first proposal
    # (probe state sends one message).
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgAppend
    assert len(msgs[0].entries) == 2
    raw_node.advance_append(rd)

    s.wl().trigger_log_unavailable(True)

    # Node 2 becomes replicating.
    append_response = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    append_response.term = 2
    append_response.index = 2
    raw_node.step(append_response)


def _async_config() -> Config:
    """_async_config: new_test_config(1, 10, 1) with max_size_per_msg 2048 (two 1000 B entries)."""
    cfg = new_test_config(1, 10, 1)
    cfg.max_size_per_msg = 2048
    return cfg


def test_raw_node_with_async_entries() -> None:
    """Entries fetched asynchronously are sent once on_entries_fetched is called with the context."""
    s = new_storage()
    raw_node = new_raw_node_with_config([1, 2], _async_config(), s)
    prepare_async_entries(raw_node, s)

    # No entries are sent while they are temporarily unavailable.
    rd = raw_node.ready()
    s.wl().append(list(rd.entries))
    assert len(rd.messages) == 0
    raw_node.advance_append(rd)

    # They are sent when on_entries_fetched reports them ready.
    s.wl().trigger_log_unavailable(False)
    context = s.wl().take_get_entries_context()
    assert context is not None
    raw_node.on_entries_fetched(context)
    rd = raw_node.ready()
    s.wl().append(list(rd.entries))
    msgs = rd.messages
    assert len(msgs) == 5
    assert msgs[0].msg_type == MessageType.MsgAppend
    assert len(msgs[0].entries) == 2
    raw_node.advance_append(rd)


def assert_fetched_entries_not_sent(raw_node: RawNode, s: MemStorage) -> None:
    """assert_fetched_entries_not_sent: once the pending async fetch completes, the next Ready is empty."""
    s.wl().trigger_log_unavailable(False)
    context = s.wl().take_get_entries_context()
    assert context is not None
    raw_node.on_entries_fetched(context)
    rd = raw_node.ready()
    assert len(rd.entries) == 0
    assert len(rd.messages) == 0
    raw_node.advance_append(rd)


def test_raw_node_with_async_entries_to_removed_node() -> None:
    """§6: entries fetched asynchronously for a peer removed meanwhile are not sent."""
    s = new_storage()
    raw_node = new_raw_node_with_config([1, 2], _async_config(), s)
    prepare_async_entries(raw_node, s)

    raw_node.apply_conf_change(remove_node(2))

    assert_fetched_entries_not_sent(raw_node, s)


def test_raw_node_with_async_entries_on_follower() -> None:
    """Entries fetched asynchronously are not sent when the leader stepped down meanwhile."""
    s = new_storage()
    raw_node = new_raw_node_with_config([1, 2], _async_config(), s)
    prepare_async_entries(raw_node, s)

    # Make node 2 recently inactive so that the check quorum steps the leader down.
    raw_node.raft.prs.get(2).recent_active = False
    msg = Message(to=1, msg_type=MessageType.MsgCheckQuorum)
    raw_node.raft.step(msg)
    assert raw_node.raft.state != StateRole.LEADER

    assert_fetched_entries_not_sent(raw_node, s)


def test_raw_node_async_entries_with_leader_change() -> None:
    """Entries fetched asynchronously are not sent when the term changed meanwhile (even if leader)."""
    s = new_storage()
    raw_node = new_raw_node_with_config([1, 2], _async_config(), s)
    prepare_async_entries(raw_node, s)

    raw_node.raft.become_follower(raw_node.raft.term + 1, 2)
    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()

    s.wl().trigger_log_unavailable(False)
    context = s.wl().take_get_entries_context()
    assert context is not None
    raw_node.on_entries_fetched(context)
    rd = raw_node.ready()
    assert len(rd.entries) == 1  # the new term's empty entry
    assert len(rd.messages) == 0
    raw_node.advance_append(rd)


def test_on_entries_fetched_non_async_context() -> None:
    """on_entries_fetched with a context that cannot be asynchronous is a broken invariant."""
    from raftstore.raft import InvariantError

    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    raw_node.on_entries_fetched(GetEntriesContext.empty(True))
    with pytest.raises(InvariantError):
        raw_node.on_entries_fetched(GetEntriesContext.empty(False))


# -- async apply / ready ------------------------------------------------------------------------------


def test_raw_node_with_async_apply() -> None:
    """Committed entries are handed out once whatever the applied index reported with advance_apply_to."""
    rng = random.Random(7)
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1]))

    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()
    rd = raw_node.ready()
    # A single node becomes leader.
    assert rd.ss is not None and rd.ss.leader_id == raw_node.raft.leader_id
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    last_index = raw_node.raft.raft_log.last_index()
    data = b"hello world!"
    for _ in range(1, 10):
        cnt = rng.randrange(10) + 1
        for _ in range(cnt):
            raw_node.propose(b"", data)

        rd = raw_node.ready()
        entries = list(rd.entries)
        assert entries[0].index == last_index + 1
        assert entries[-1].index == last_index + cnt
        must_cmp_ready(rd, None, None, entries, [], None, True, True, True)

        s.wl().append(entries)

        light_rd = raw_node.advance_append(rd)
        assert list(light_rd.committed_entries) == entries
        assert light_rd.commit_index == last_index + cnt

        # However the applied index moves, the next committed entries stay the same.
        raw_node.advance_apply_to(last_index + 1)
        assert not raw_node.has_ready()

        last_index += cnt


def test_raw_node_entries_after_snapshot() -> None:
    """§7: a follower given a snapshot and then committed entries after it hands out no committed
    entries with the snapshot, and the persisted ones afterwards."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1, 2]))
    raw_node = new_raw_node(1, [1, 2], 10, 1, s)

    entries = [new_entry(2, i, "hello") for i in range(2, 20)]
    raw_node.step(new_append(2, 1, entries, term=2, index=1, log_term=1, commit=5))

    rd = raw_node.ready()
    must_cmp_ready(
        rd, soft_state(2, StateRole.FOLLOWER), hard_state(2, 5, 0), entries, [], None, True, False, True
    )
    persist_hard_state_and_entries(s, rd)
    light_rd = raw_node.advance(rd)
    assert_only_committed(light_rd, entries[:4])

    snapshot = new_snapshot(10, 3, [1, 2])
    raw_node.step(new_snapshot_message(2, 1, 3, snapshot))

    entries = [new_entry(3, i, "hello") for i in range(11, 14)]
    raw_node.step(new_append(2, 1, entries, term=3, index=10, log_term=3, commit=12))

    rd = raw_node.ready()
    # With a snapshot there are no committed entries.
    must_cmp_ready(rd, None, hard_state(3, 12, 0), entries, [], snapshot, True, False, True)
    assert rd.persisted_messages[0].msg_type == MessageType.MsgAppendResponse
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    s.wl().apply_snapshot(rd.snapshot)
    s.wl().append(rd.entries)

    light_rd = raw_node.advance(rd)
    assert_only_committed(light_rd, entries[:2])


def test_raw_node_overwrite_entries() -> None:
    """§5.3: committed entries handed out are the persisted ones when a new leader overwrote a tail."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1, 2, 3]))
    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, s)

    entries = [new_entry(2, 2, "hello"), new_entry(2, 3, "hello"), new_entry(2, 4, "hello")]
    raw_node.step(new_append(2, 1, entries, term=2, index=1, log_term=1, commit=1))

    rd = raw_node.ready()
    must_cmp_ready(
        rd, soft_state(2, StateRole.FOLLOWER), hard_state(2, 1, 0), entries, [], None, True, False, True
    )
    assert rd.persisted_messages[0].msg_type == MessageType.MsgAppendResponse
    persist_hard_state_and_entries(s, rd)

    light_rd = raw_node.advance(rd)
    assert_only_committed(light_rd, [])

    entries_2 = [new_entry(3, 4, "hello"), new_entry(3, 5, "hello"), new_entry(3, 6, "hello")]
    raw_node.step(new_append(3, 1, entries_2, term=3, index=3, log_term=2, commit=5))

    rd = raw_node.ready()
    must_cmp_ready(
        rd,
        soft_state(3, StateRole.FOLLOWER),
        hard_state(3, 5, 0),
        entries_2,
        entries[:2],
        None,
        True,
        False,
        True,
    )
    assert rd.persisted_messages[0].msg_type == MessageType.MsgAppendResponse
    persist_hard_state_and_entries(s, rd)

    light_rd = raw_node.advance(rd)
    assert_only_committed(light_rd, entries_2[:2])


def test_async_ready_leader() -> None:
    """Thesis §10.2.1: a leader sends appends before persisting; its commit advances with followers'
    acks and with on_persist_ready of its own Readies, never past what it persisted plus a quorum."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1, 2, 3]))

    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, s)
    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()
    rd = raw_node.ready()
    assert rd.ss is not None and rd.ss.leader_id == raw_node.raft.leader_id
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    assert raw_node.raft.term == 2
    first_index = raw_node.raft.raft_log.last_index()

    data = b"hello world!"

    # Node 2 replicates.
    pr2 = raw_node.raft.prs.get(2)
    pr2.matched = 1
    pr2.become_replicate()
    for i in range(10):
        for _ in range(10):
            raw_node.propose(b"", data)

        rd = raw_node.ready()
        assert rd.number == i + 2
        entries = list(rd.entries)
        assert entries[0].index == first_index + i * 10 + 1
        assert entries[-1].index == first_index + i * 10 + 10
        # A leader's messages can be sent at once.
        must_cmp_ready(rd, None, None, entries, [], None, False, True, True)
        for msg in rd.take_messages():
            assert msg.msg_type == MessageType.MsgAppend

        s.wl().append(entries)
        raw_node.advance_append_async(rd)

    # Readies 2..11 are not persisted yet.
    raw_node.on_persist_ready(4)
    # No new committed entries: node 2 has not acked.
    assert not raw_node.has_ready()

    # The uncommitted entries span [first_index, first_index + 100].
    append_response = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    append_response.term = 2
    append_response.index = first_index + 100
    raw_node.step(append_response)

    # The ack moves the commit index up to what the leader persisted.
    rd = raw_node.ready()
    assert rd.hs == hard_state(2, first_index + 30, 1)
    assert rd.committed_entries[0].index == first_index
    assert rd.committed_entries[-1].index == first_index + 30
    assert rd.messages
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    raw_node.advance_append_async(rd)

    # Persisting more Readies moves it further.
    raw_node.on_persist_ready(8)
    rd = raw_node.ready()
    assert rd.hs == hard_state(2, first_index + 70, 1)
    assert rd.committed_entries[0].index == first_index + 31
    assert rd.committed_entries[-1].index == first_index + 70
    assert rd.messages
    assert not rd.persisted_messages
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)

    # Persisting the last Ready commits everything.
    light_rd = raw_node.advance_append(rd)
    assert light_rd.commit_index == first_index + 100
    assert light_rd.committed_entries[0].index == first_index + 71
    assert light_rd.committed_entries[-1].index == first_index + 100
    assert light_rd.messages

    # Two followers ack entries the leader has not persisted yet.
    first_index += 100
    for _ in range(10):
        raw_node.propose(b"", data)

    rd = raw_node.ready()
    assert rd.number == 14
    entries = list(rd.entries)
    assert entries[0].index == first_index + 1
    assert entries[-1].index == first_index + 10
    must_cmp_ready(rd, None, None, entries, [], None, False, True, True)
    for msg in rd.take_messages():
        assert msg.msg_type == MessageType.MsgAppend
    s.wl().append(entries)
    raw_node.advance_append_async(rd)

    append_response = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    append_response.term = 2
    append_response.index = first_index + 9
    raw_node.step(append_response)

    append_response = new_message(3, 1, MessageType.MsgAppendResponse, 0)
    append_response.term = 2
    append_response.index = first_index + 10
    raw_node.step(append_response)

    rd = raw_node.ready()
    # Appends go out and the commit index is first_index + 9 (a quorum of followers).
    must_cmp_ready(rd, None, hard_state(2, first_index + 9, 1), [], [], None, False, True, False)
    for msg in rd.take_messages():
        assert msg.msg_type == MessageType.MsgAppend
        assert msg.commit == first_index + 9

    # The leader's own persisted entries move the commit index to first_index + 10.
    light_rd = raw_node.advance_append(rd)
    assert light_rd.commit_index == first_index + 10
    assert light_rd.committed_entries[0].index == first_index + 1
    assert light_rd.committed_entries[-1].index == first_index + 10
    assert light_rd.messages


def test_async_ready_follower() -> None:
    """Thesis §10.2.1: a follower sends its acks only after persisting; committed entries come out
    only up to what it persisted, also across a snapshot."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1, 2]))

    raw_node = new_raw_node(1, [1, 2], 10, 1, s)
    first_index = 1
    rd_number = 0
    for cnt in range(3):
        for i in range(10):
            entries = [
                new_entry(2, first_index + i * 3 + 1, "hello"),
                new_entry(2, first_index + i * 3 + 2, "hello"),
                new_entry(2, first_index + i * 3 + 3, "hello"),
            ]
            raw_node.step(
                new_append(2, 1, entries, term=2, index=first_index + i * 3, log_term=1 if cnt == 0 and i == 0 else 2, commit=first_index + i * 3 + 3)
            )

            rd = raw_node.ready()
            assert rd.number == rd_number + i + 1
            assert rd.hs == hard_state(2, first_index + i * 3 + 3, 0)
            assert list(rd.entries) == entries
            assert list(rd.committed_entries) == []
            assert not rd.messages
            assert rd.persisted_messages[0].msg_type == MessageType.MsgAppendResponse

            assert rd.hs is not None
            s.wl().set_hardstate(rd.hs)
            s.wl().append(rd.entries)
            raw_node.advance_append_async(rd)

        # Readies [1, 10] of this round are not persisted yet.
        raw_node.on_persist_ready(rd_number + 4)
        rd = raw_node.ready()
        assert rd.hs is None
        assert rd.committed_entries[0].index == first_index + 1
        assert rd.committed_entries[-1].index == first_index + 3 * 3 + 3
        assert not rd.messages
        assert not rd.persisted_messages

        light_rd = raw_node.advance_append(rd)
        assert light_rd.commit_index is None
        assert light_rd.committed_entries[0].index == first_index + 3 * 3 + 4
        assert light_rd.committed_entries[-1].index == first_index + 10 * 3
        assert not light_rd.messages

        first_index += 10 * 3
        rd_number += 11

    snapshot = new_snapshot(first_index + 5, 2, [1, 2])
    raw_node.step(new_snapshot_message(2, 1, 2, snapshot))

    rd = raw_node.ready()
    assert rd.number == rd_number + 1
    must_cmp_ready(rd, None, hard_state(2, first_index + 5, 0), [], [], snapshot, True, False, True)

    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    s.wl().apply_snapshot(snapshot)
    s.wl().append(rd.entries)
    raw_node.advance_append_async(rd)

    entries = [new_entry(2, first_index + 5 + i, "hello") for i in range(1, 10)]
    raw_node.step(
        new_append(2, 1, entries, term=2, index=first_index + 5, log_term=2, commit=first_index + 5 + 3)
    )

    rd = raw_node.ready()
    assert rd.number == rd_number + 2
    must_cmp_ready(
        rd, None, hard_state(2, first_index + 5 + 3, 0), entries, [], None, True, False, True
    )
    persist_hard_state_and_entries(s, rd)
    raw_node.advance_append_async(rd)

    raw_node.on_persist_ready(rd_number + 1)
    assert raw_node.raft.raft_log.persisted == first_index + 5
    raw_node.advance_apply_to(first_index + 5)

    raw_node.on_persist_ready(rd_number + 2)

    rd = raw_node.ready()
    must_cmp_ready(rd, None, None, [], entries[:3], None, True, True, False)


def reject_stale_vote(raw_node: RawNode, candidate: int, ready_number: int) -> None:
    """reject_stale_vote steps a term-6 vote request with a stale log (4/4) from candidate into raw_node
    and checks that ready number ready_number only carries the rejection, which waits for persistence."""
    vote_request = new_message(candidate, 1, MessageType.MsgRequestVote, 0)
    vote_request.term = 6
    vote_request.log_term = 4
    vote_request.index = 4
    raw_node.step(vote_request)

    rd = raw_node.ready()
    assert rd.number == ready_number
    must_cmp_ready(rd, None, None, [], [], None, True, False, False)
    assert rd.persisted_messages[0].msg_type == MessageType.MsgRequestVoteResponse
    raw_node.advance_append_async(rd)


def test_async_ready_become_leader() -> None:
    """Thesis §10.2.1: a candidate's vote messages wait for persistence; once it leads, its appends
    go out at once and the earlier unpersisted records are dropped."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(5, 5, [1, 2, 3]))

    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, s)
    for _ in range(1, raw_node.raft.election_timeout() * 2):
        raw_node.raft.tick_election()
    rd = raw_node.ready()
    assert rd.number == 1
    must_cmp_ready(
        rd, soft_state(0, StateRole.CANDIDATE), hard_state(6, 5, 1), [], [], None, True, False, True
    )
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)

    for msg in rd.persisted_messages:
        assert msg.msg_type == MessageType.MsgRequestVote

    raw_node.advance_append(rd)

    # Node 1 rejects the vote of node 2.
    reject_stale_vote(raw_node, 2, ready_number=2)

    # Node 1 rejects the vote of node 3.
    reject_stale_vote(raw_node, 3, ready_number=3)

    # Node 1 receives the vote of node 2.
    vote_response_2 = new_message(2, 1, MessageType.MsgRequestVoteResponse, 0)
    vote_response_2.term = 6
    vote_response_2.reject = False
    raw_node.step(vote_response_2)

    rd = raw_node.ready()
    assert rd.number == 4
    assert len(rd.entries) == 1
    must_cmp_ready(
        rd, soft_state(1, StateRole.LEADER), None, list(rd.entries), [], None, False, True, True
    )
    assert len(rd.messages) == 2
    for msg in rd.take_messages():
        assert msg.msg_type == MessageType.MsgAppend

    s.wl().append(rd.entries)

    light_rd = raw_node.advance_append(rd)
    assert_only_committed(light_rd, [])


def test_async_ready_multiple_snapshot() -> None:
    """§7: two snapshots in a row through async readies: persistence of the first, then the second."""
    s = new_storage()
    s.wl().apply_snapshot(new_snapshot(1, 1, [1, 2]))

    raw_node = new_raw_node(1, [1, 2], 10, 1, s)

    snapshot = new_snapshot(10, 2, [1, 2])
    raw_node.step(new_snapshot_message(2, 1, 2, snapshot))

    entries = [new_entry(2, i, "hello") for i in range(11, 14)]
    raw_node.step(new_append(2, 1, entries, term=2, index=10, log_term=2, commit=12))

    rd = raw_node.ready()
    assert rd.number == 1
    # With a snapshot there are no committed entries.
    must_cmp_ready(
        rd,
        soft_state(2, StateRole.FOLLOWER),
        hard_state(2, 12, 0),
        entries,
        [],
        snapshot,
        True,
        False,
        True,
    )
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    s.wl().apply_snapshot(rd.snapshot)
    s.wl().append(rd.entries)

    raw_node.advance_append_async(rd)

    snapshot = new_snapshot(20, 1, [1, 2])
    raw_node.step(new_snapshot_message(2, 1, 2, snapshot))

    raw_node.on_persist_ready(1)

    assert raw_node.raft.raft_log.persisted == 13

    raw_node.advance_apply_to(10)

    rd = raw_node.ready()
    assert rd.number == 2
    must_cmp_ready(rd, None, hard_state(2, 20, 0), [], [], snapshot, True, False, True)
    assert rd.hs is not None
    s.wl().set_hardstate(rd.hs)
    s.wl().apply_snapshot(rd.snapshot)

    light_rd = raw_node.advance_append(rd)
    assert_only_committed(light_rd, [])

    raw_node.advance_apply_to(20)


# -- pagination -----------------------------------------------------------------------------------------


def test_committed_entries_pagination() -> None:
    """max_committed_size_per_ready pages committed entries (at least one per Ready); unpersisted
    committed entries are not handed out."""
    s = new_storage()
    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, s)

    entries = [new_entry(1, i, None) for i in range(2, 10)]
    raw_node.step(new_append(3, 1, entries, term=1, index=1, log_term=1, commit=9))

    # Unpersisted entries are not fetched.
    rd = raw_node.ready()
    assert not rd.committed_entries
    assert raw_node.has_ready()

    # Persist the entries.
    assert rd.entries
    raw_node.store().wl().append(rd.entries)

    # 0 as the limit still yields one entry (limit_size keeps the first).
    raw_node.raft.set_max_committed_size_per_ready(0)
    light_rd = raw_node.advance(rd)
    assert len(light_rd.committed_entries) == 1

    # Without a limit the rest comes in one Ready.
    assert raw_node.has_ready()
    raw_node.raft.set_max_committed_size_per_ready(NO_LIMIT)
    rd = raw_node.ready()
    assert len(rd.committed_entries) == 7

    assert not raw_node.has_ready()


class IgnoreSizeHintMemStorage:
    """IgnoreSizeHintMemStorage: a MemStorage whose entries() ignores max_size (a storage that
    returns more than asked)."""

    def __init__(self) -> None:
        self.inner = MemStorage()

    def initial_state(self) -> RaftState:
        return self.inner.initial_state()

    def entries(
        self,
        low: int,
        high: int,
        max_size: int | None = None,
        context: GetEntriesContext | None = None,
    ) -> list[Entry]:
        return self.inner.entries(low, high, NO_LIMIT, context)

    def term(self, idx: int) -> int:
        return self.inner.term(idx)

    def first_index(self) -> int:
        return self.inner.first_index()

    def last_index(self) -> int:
        return self.inner.last_index()

    def snapshot(self, request_index: int, to: int) -> Snapshot:
        return self.inner.snapshot(request_index, to)


def test_committed_entries_pagination_after_restart() -> None:
    """Pagination after a restart never skips an entry, even when Storage ignores the size hint (the
    applied cursor follows what was handed out, not the commit index)."""
    s = IgnoreSizeHintMemStorage()
    s.inner.wl().apply_snapshot(new_snapshot(1, 1, [1, 2, 3]))

    entries = []
    size = 0
    for i in range(2, 11):
        e = new_entry(1, i, "test data")
        size += e.ByteSize()
        entries.append(e)
    s.inner.wl().append(entries)
    s.inner.wl().mut_hard_state().commit = 10

    s.inner.wl().append([new_entry(1, 11, "boom")])

    raw_node = RawNode(new_test_config(1, 10, 1), s)

    # The storage ignores max_committed_size_per_ready, RaftLog.slice does not.
    raw_node.raft.set_max_committed_size_per_ready(size - 1)

    highest_applied = 1
    while highest_applied != 11:
        rd = raw_node.ready()
        committed = rd.take_committed_entries()
        assert committed, "a Ready without committed entries"
        assert committed[0].index == highest_applied + 1
        highest_applied = committed[-1].index
        raw_node.raft.raft_log.commit_to(11)


# -- RawNode extras (not in raft-rs's test file) -------------------------------------------------------


def _single_leader() -> tuple[RawNode, MemStorage]:
    """_single_leader: a single-voter RawNode that leads and has applied its empty entry."""
    s = new_storage()
    raw_node = new_raw_node(1, [1], 10, 1, s)
    raw_node.campaign()
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    light = raw_node.advance(rd)
    assert light.commit_index == 2
    raw_node.advance_apply()
    assert not raw_node.has_ready()
    return raw_node, s


def test_propose_batch() -> None:
    """propose_batch appends one entry per item in one MsgPropose; they commit together, in order."""
    raw_node, s = _single_leader()
    datas = [f"cmd{i}".encode() for i in range(100)]
    raw_node.propose_batch(datas)
    rd = raw_node.ready()
    assert [e.data for e in rd.entries] == datas
    assert [e.index for e in rd.entries] == list(range(3, 103))
    assert all(e.term == 2 for e in rd.entries)
    s.wl().append(rd.entries)
    light = raw_node.advance(rd)
    assert light.commit_index == 102
    assert [e.data for e in light.committed_entries] == datas
    # An empty batch does nothing.
    raw_node.propose_batch([])
    assert not raw_node.has_ready()


def test_propose_batch_all_or_nothing() -> None:
    """propose_batch drops the whole batch when there is no leader or the uncommitted log is full."""
    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, new_storage())
    with pytest.raises(ProposalDroppedError):
        raw_node.propose_batch([b"a", b"b"])
    assert raw_node.raft.raft_log.last_index() == 1

    s = new_storage()
    node = new_raw_node_with_config([1], Config(1, max_uncommitted_size=12), s)
    become_leader_loop(node, s)
    node.propose(b"", b"x" * 10)
    last = node.raft.raft_log.last_index()
    with pytest.raises(ProposalDroppedError):
        node.propose_batch([b"y" * 4, b"z"])
    assert node.raft.raft_log.last_index() == last


def test_propose_context_kept() -> None:
    """propose keeps the context of the entry; propose_conf_change keeps the conf change entry's context."""
    raw_node, s = _single_leader()
    raw_node.propose(b"ctx", b"data")
    raw_node.propose_conf_change(b"cc-ctx", conf_change(ConfChangeType.AddLearnerNode, 2))
    rd = raw_node.ready()
    assert [(e.context, e.entry_type) for e in rd.entries] == [
        (b"ctx", EntryType.EntryNormal),
        (b"cc-ctx", EntryType.EntryConfChange),
    ]


def test_ready_numbers_and_records() -> None:
    """Ready numbers grow by one per ready(); advance_append persists all readies handed out so far."""
    raw_node, s = _single_leader()
    numbers = []
    for i in range(3):
        raw_node.propose(b"", bytes([i]))
        rd = raw_node.ready()
        numbers.append(rd.number)
        s.wl().append(rd.entries)
        raw_node.advance_append_async(rd)
    assert numbers == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    # Nothing is committed before the entries are reported persisted.
    assert raw_node.raft.raft_log.committed == 2
    raw_node.on_persist_ready(numbers[1])
    assert raw_node.raft.raft_log.committed == 4
    raw_node.on_persist_ready(numbers[2])
    assert raw_node.raft.raft_log.committed == 5
    rd = raw_node.ready()
    assert [e.index for e in rd.committed_entries] == [3, 4, 5]
    light = raw_node.advance(rd)
    assert light.commit_index is None
    assert not raw_node.has_ready()


def test_advance_out_of_order_is_invariant_error() -> None:
    """advance_append of a Ready that is not the last one handed out is a broken invariant."""
    from raftstore.raft import InvariantError

    raw_node, s = _single_leader()
    raw_node.propose(b"", b"a")
    rd1 = raw_node.ready()
    raw_node.propose(b"", b"b")
    raw_node.ready()
    with pytest.raises(InvariantError):
        raw_node.advance_append(rd1)


def test_ready_take_methods() -> None:
    """Ready.take_* return the parts and leave them empty; messages and persisted_messages are
    exclusive by role."""
    raw_node = new_raw_node(1, [1, 2, 3], 10, 1, new_storage())
    raw_node.campaign()
    rd = raw_node.ready()
    # A candidate's vote requests wait for persistence.
    assert not rd.messages
    assert len(rd.persisted_messages) == 2
    assert rd.take_messages() == []
    msgs = rd.take_persisted_messages()
    assert [m.msg_type for m in msgs] == [MessageType.MsgRequestVote] * 2
    assert not rd.persisted_messages
    assert rd.take_entries() == []
    assert rd.take_read_states() == []


def test_status() -> None:
    """status() reports id, hard state, soft state and applied index; progress only on a leader."""
    raw_node = new_raw_node(1, [1, 2], 10, 1, new_storage())
    st = raw_node.status()
    assert st.id == 1
    assert st.hs == hard_state(1, 1, 0)
    assert st.ss == soft_state(0, StateRole.FOLLOWER)
    assert st.applied == 1
    assert st.progress is None

    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()
    st = raw_node.status()
    assert st.ss == soft_state(1, StateRole.LEADER)
    assert st.hs == hard_state(2, 1, 1)
    assert st.progress is not None
    assert st.progress.get(1) is not None and st.progress.get(2) is not None
    assert st.progress.get(1).matched == raw_node.raft.prs.get(1).matched


def test_request_snapshot_dropped() -> None:
    """request_snapshot raises RequestSnapshotDroppedError on a leader or without a leader, and sends
    a request to the leader otherwise (§7)."""
    raw_node, _ = _single_leader()
    with pytest.raises(RequestSnapshotDroppedError):
        raw_node.request_snapshot()

    follower = new_raw_node(2, [1, 2], 10, 1, new_storage())
    with pytest.raises(RequestSnapshotDroppedError):
        follower.request_snapshot()

    # A follower that knows its leader and whose last entry is of the current term may ask.
    s = new_storage()
    follower = new_raw_node(2, [1, 2], 10, 1, s)
    follower.step(new_append(1, 2, [new_entry(2, 2, None)], term=2, index=1, log_term=1, commit=1))
    rd = follower.ready()
    s.wl().append(rd.entries)
    follower.advance(rd)
    follower.request_snapshot()
    assert follower.raft.pending_request_snapshot == 2
    rd = follower.ready()
    msgs = list(rd.persisted_messages) + list(rd.messages)
    assert any(
        m.msg_type == MessageType.MsgAppendResponse and m.request_snapshot == 2 and m.reject
        for m in msgs
    )
    follower.advance(rd)
    # A second request while one is pending is dropped.
    with pytest.raises(RequestSnapshotDroppedError):
        follower.request_snapshot()


def test_report_unreachable_and_snapshot() -> None:
    """report_unreachable turns a replicating peer to probe; report_snapshot(FAILURE) ends a pending
    snapshot and probes again (§7)."""
    from raftstore.raft.tracker import ProgressState

    raw_node = new_raw_node(1, [1, 2], 10, 1, new_storage())
    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()
    pr2 = raw_node.raft.prs.get(2)
    pr2.matched = 1
    pr2.become_replicate()
    raw_node.report_unreachable(2)
    assert raw_node.raft.prs.get(2).state == ProgressState.PROBE

    pr2 = raw_node.raft.prs.get(2)
    pr2.become_snapshot(1)
    raw_node.report_snapshot(2, SnapshotStatus.FAILURE)
    pr2 = raw_node.raft.prs.get(2)
    assert pr2.state == ProgressState.PROBE
    assert pr2.pending_snapshot == 0

    pr2.become_snapshot(1)
    raw_node.report_snapshot(2, SnapshotStatus.FINISH)
    pr2 = raw_node.raft.prs.get(2)
    assert pr2.state == ProgressState.PROBE
    assert pr2.pending_snapshot == 0
    # Reports for unknown peers are ignored.
    raw_node.report_unreachable(9)
    raw_node.report_snapshot(9, SnapshotStatus.FINISH)


def test_transfer_leader() -> None:
    """transfer_leader to an up-to-date follower sends it MsgTimeoutNow (§3.10 of the thesis)."""
    s = new_storage()
    raw_node = new_raw_node(1, [1, 2], 10, 1, s)
    raw_node.raft.become_candidate()
    raw_node.raft.become_leader()
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)
    resp = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    resp.term = 2
    resp.index = raw_node.raft.raft_log.last_index()
    raw_node.step(resp)
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    raw_node.advance(rd)

    raw_node.transfer_leader(2)
    assert raw_node.raft.lead_transferee == 2
    rd = raw_node.ready()
    assert any(m.msg_type == MessageType.MsgTimeoutNow and m.to == 2 for m in rd.messages)
    # Proposals are dropped during the transfer.
    raw_node.advance(rd)
    with pytest.raises(ProposalDroppedError):
        raw_node.propose(b"", b"x")


def test_tick_elects_single_node() -> None:
    """§5.2: ticking a single voter past its election timeout makes it leader."""
    raw_node = new_raw_node(1, [1], 10, 1, new_storage())
    for _ in range(raw_node.raft.randomized_election_timeout):
        raw_node.tick()
    assert raw_node.raft.state == StateRole.LEADER
    assert raw_node.has_ready()
    rd = raw_node.ready()
    assert rd.ss == soft_state(1, StateRole.LEADER)


def test_light_ready_take() -> None:
    """LightReady.take_committed_entries / take_messages empty the LightReady."""
    raw_node, s = _single_leader()
    raw_node.propose(b"", b"v")
    rd = raw_node.ready()
    s.wl().append(rd.entries)
    light = raw_node.advance_append(rd)
    assert isinstance(light, LightReady)
    ents = light.take_committed_entries()
    assert [e.data for e in ents] == [b"v"]
    assert not light.committed_entries
    assert light.take_messages() == []


def test_apply_conf_change_v1_and_v2_equivalent() -> None:
    """apply_conf_change accepts a ConfChange (converted to V2) and a ConfChangeV2 alike."""
    a = new_raw_node(1, [1], 10, 1, new_storage())
    b = new_raw_node(1, [1], 10, 1, new_storage())
    cs_a = a.apply_conf_change(conf_change(ConfChangeType.AddNode, 2))
    cs_b = b.apply_conf_change(conf_change_v2([new_conf_change_single(2, ConfChangeType.AddNode)]))
    assert cs_a == cs_b == conf_state([1, 2], [])


def test_propose_conf_change_rejects_other_types() -> None:
    """propose_conf_change raises TypeError for anything but ConfChange / ConfChangeV2."""
    raw_node, _ = _single_leader()
    with pytest.raises(TypeError):
        raw_node.propose_conf_change(b"", Entry())


def test_seed_makes_election_timeouts_reproducible() -> None:
    """RawNode(seed=...) gives the Raft a seeded random.Random: same seed, same randomized timeouts."""
    a = RawNode(new_test_config(1, 10, 1), MemStorage.new_with_conf_state(conf_state([1, 2, 3], [])), seed=42)
    b = RawNode(new_test_config(1, 10, 1), MemStorage.new_with_conf_state(conf_state([1, 2, 3], [])), seed=42)
    seq_a, seq_b = [], []
    for _ in range(20):
        a.raft.reset_randomized_election_timeout()
        b.raft.reset_randomized_election_timeout()
        seq_a.append(a.raft.randomized_election_timeout)
        seq_b.append(b.raft.randomized_election_timeout)
    assert seq_a == seq_b
    assert all(10 <= t < 20 for t in seq_a)


def test_peer_and_snapshot_status() -> None:
    """Peer carries an id and an optional context; SnapshotStatus has FINISH and FAILURE."""
    from raftstore.raft import Peer

    assert Peer(3).context is None
    assert Peer(3, b"addr").context == b"addr"
    assert {s.name for s in SnapshotStatus} == {"FINISH", "FAILURE"}


def test_config_id_zero_is_invariant_error() -> None:
    """RawNode refuses a config with id 0 (raft-rs asserts config.id != 0)."""
    from raftstore.raft import InvariantError

    with pytest.raises(InvariantError):
        RawNode(Config(0), MemStorage.new_with_conf_state(conf_state([1], [])))


def test_ready_has_snapshot_is_not_changed_by_reading_snapshot() -> None:
    """Reading rd.snapshot on a Ready without one (an empty Snapshot) does not make has_snapshot() true."""
    s = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    node = RawNode(Config(id=1, election_tick=10, heartbeat_tick=1), s)
    node.campaign()
    rd = node.ready()
    assert rd.snapshot == Snapshot()
    assert not rd.has_snapshot()


def _msg_to_1(
    from_id: int, t: int, term: int, *, index: int = 0, log_term: int = 0, commit: int = 0
) -> Message:
    """_msg_to_1: a message of type t from from_id to node 1 at term, with the given log fields."""
    m = new_message(from_id, 1, t, 0)
    m.term, m.index, m.log_term, m.commit = term, index, log_term, commit
    return m


@pytest.mark.parametrize(
    ("m", "whs", "wmust_sync"),
    [
        # A vote granted in the current term changes only the vote: it must be durable before the
        # response leaves, or a restart could vote twice in the term.
        (
            _msg_to_1(2, MessageType.MsgRequestVote, 2, index=2, log_term=1),
            HardState(term=2, vote=2, commit=1),
            True,
        ),
        # A new term (from a leader's heartbeat) must be durable too.
        (_msg_to_1(3, MessageType.MsgHeartbeat, 3, commit=1), HardState(term=3, vote=0, commit=1), True),
        # A commit index alone can be recovered from the leader: no sync needed.
        (_msg_to_1(2, MessageType.MsgHeartbeat, 2, commit=2), HardState(term=2, vote=0, commit=2), False),
    ],
    ids=["vote", "term", "commit"],
)
def test_ready_must_sync_on_hard_state_change(m: Message, whs: HardState, wmust_sync: bool) -> None:
    """§5.1 / Figure 2: currentTerm and votedFor are persistent state, updated on stable storage before
    responding; so a Ready whose hard state changes term or vote must be synced even with no entry and
    no snapshot, while a commit-only change need not (etcd's MustSync, raft-rs's Ready::must_sync)."""
    s = MemStorage.new_with_conf_state(conf_state([1, 2, 3], []))
    s.wl().append([empty_entry(1, 1), empty_entry(1, 2)])
    s.wl().set_hardstate(HardState(term=2, commit=1))
    cfg = new_test_config(1, 10, 1)
    cfg.applied = 1
    raw_node = RawNode(cfg, s)
    assert not raw_node.has_ready()

    raw_node.step(m)
    rd = raw_node.ready()
    assert rd.hs == whs
    assert (list(rd.entries), rd.has_snapshot()) == ([], False)
    assert rd.must_sync == wmust_sync
