"""Read-only query and check-quorum / leader-lease tests (Raft thesis §6.4 linearizable reads via
ReadIndex and leases, §6.2 check quorum), after the read-only and check-quorum cases of raft-rs's
test_raft.rs, plus the follower's MsgReadIndexResp and no-leader paths of raft-rs's step_follower."""

from __future__ import annotations

import pytest

from raftstore.raft import HardState, Message, MessageType
from raftstore.raft.raft import StateRole
from raftstore.raft.read_only import ReadOnlyOption, ReadState
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    Interface,
    Network,
    add_node,
    conf_state,
    empty_entry,
    new_entry,
    new_message,
    new_message_with_entries,
    new_storage,
    new_test_config,
    new_test_learner_raft,
    new_test_raft,
    new_test_raft_with_config,
    remove_node,
)


def hup(id: int) -> Message:
    """hup is the local MsgHup that makes node id campaign."""
    return new_message(id, id, MessageType.MsgHup, 0)


def read_index(from_: int, to: int, ctx: str) -> Message:
    """read_index is a MsgReadIndex carrying ctx as its request context."""
    return new_message_with_entries(from_, to, MessageType.MsgReadIndex, [new_entry(0, 0, ctx)])


def drain_read_states(r: Interface) -> list[ReadState]:
    """drain_read_states takes and clears r's read states."""
    rss = list(r.read_states)
    r.read_states.clear()
    return rss


def elect_1_with_2_timed_out(nt: Network) -> None:
    """elect_1_with_2_timed_out lets node 2's election_elapsed reach its timeout (so it grants votes
    even under check quorum) without campaigning, then elects node 1."""
    b_election_timeout = nt.peers[2].election_timeout()
    # randomized_election_timeout must exceed election_timeout here, so set it explicitly.
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)
    for _ in range(b_election_timeout):
        nt.peers[2].tick()
    nt.send([hup(1)])
    assert nt.peers[1].state == StateRole.LEADER


def test_raft_frees_read_only_mem() -> None:
    """thesis §6.4: a read request is queued until a quorum acknowledges the heartbeat, then freed."""
    sm = new_test_raft(1, [1, 2], 5, 1, new_storage())
    sm.become_candidate()
    sm.become_leader()
    sm.raft_log.commit_to(sm.raft_log.last_index())

    ctx = b"ctx"

    # The leader starts a linearizable read (dissertation 6.4, step 2).
    sm.step(read_index(2, 1, "ctx"))
    msgs = sm.read_messages()
    assert len(msgs) == 1
    assert msgs[0].msg_type == MessageType.MsgHeartbeat
    assert msgs[0].context == ctx
    assert len(sm.read_only.read_index_queue) == 1
    assert len(sm.read_only.pending_read_index) == 1
    assert ctx in sm.read_only.pending_read_index

    # Heartbeat responses from a majority of followers (1 here) acknowledge the leader's authority
    # (dissertation 6.4, step 3).
    m = new_message(2, 1, MessageType.MsgHeartbeatResponse, 0)
    m.context = ctx
    sm.step(m)
    assert len(sm.read_only.read_index_queue) == 0
    assert len(sm.read_only.pending_read_index) == 0
    assert ctx not in sm.read_only.pending_read_index


def test_read_only_option_safe() -> None:
    """thesis §6.4: ReadIndex reads return the commit index once a quorum confirms leadership."""
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    nt = Network.new([a, b, c])
    elect_1_with_2_timed_out(nt)

    tests = [
        (1, 10, 11, ["ctx1", "ctx11"], False),
        (2, 10, 21, ["ctx2", "ctx22"], False),
        (3, 10, 31, ["ctx3", "ctx33"], False),
        (1, 10, 41, ["ctx4", "ctx44"], True),
        (2, 10, 51, ["ctx5", "ctx55"], True),
        (3, 10, 61, ["ctx6", "ctx66"], True),
    ]
    for i, (id, proposals, wri, wctx, pending) in enumerate(tests):
        for _ in range(proposals):
            nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

        msg1 = read_index(id, id, wctx[0])
        msg2 = read_index(id, id, wctx[1])

        # `pending`: the requests do not pass the quorum check at once and stay queued.
        if pending:
            # Drop heartbeat responses so the leader cannot handle the pending requests this round.
            nt.ignore(MessageType.MsgHeartbeatResponse)
            nt.send([msg1, msg1, msg2])
            nt.recover()
            # A request with the last ctx makes the leader handle the pending ones.
            nt.send([msg2])
        else:
            nt.send([msg1, msg1, msg2])

        read_states = drain_read_states(nt.peers[id])
        assert read_states, f"#{i}: read_states is empty, want non-empty"
        assert len(read_states) == len(wctx)
        for rs, ctx in zip(read_states, wctx):
            assert rs.index == wri, f"#{i}: read_index = {rs.index}, want {wri}"
            assert rs.request_ctx == ctx.encode(), f"#{i}: request_ctx = {rs.request_ctx!r}, want {ctx}"


def check_reads_after_proposals(nt: Network, tests: list[tuple[int, int, int, str]]) -> None:
    """check_reads_after_proposals: per (id, proposals, wri, wctx), after the proposals a read at id
    yields a ReadState at index wri with context wctx."""
    for i, (id, proposals, wri, wctx) in enumerate(tests):
        for _ in range(proposals):
            nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

        nt.send([read_index(id, id, wctx)])

        read_states = drain_read_states(nt.peers[id])
        assert read_states, f"#{i}: read_states is empty, want non-empty"
        rs = read_states[0]
        assert rs.index == wri, f"#{i}: read_index = {rs.index}, want {wri}"
        assert rs.request_ctx == wctx.encode(), f"#{i}: request_ctx = {rs.request_ctx!r}, want {wctx}"


def test_read_only_with_learner() -> None:
    """thesis §6.4: a learner's read is forwarded to the leader and answered with the commit index."""
    a = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    b = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    nt = Network.new([a, b])
    elect_1_with_2_timed_out(nt)
    assert nt.peers[2].state == StateRole.FOLLOWER

    tests = [
        (1, 10, 11, "ctx1"),
        (2, 10, 21, "ctx2"),
        (1, 10, 31, "ctx3"),
        (2, 10, 41, "ctx4"),
    ]
    check_reads_after_proposals(nt, tests)


def test_read_only_option_lease() -> None:
    """thesis §6.4.1: with a leader lease, reads are answered from the commit index without a round."""
    nodes = []
    for id in (1, 2, 3):
        n = new_test_raft(id, [1, 2, 3], 10, 1, new_storage())
        n.read_only.option = ReadOnlyOption.LEASE_BASED
        n.check_quorum = True
        nodes.append(n)
    nt = Network.new(nodes)
    elect_1_with_2_timed_out(nt)

    tests = [
        (1, 10, 11, "ctx1"),
        (2, 10, 21, "ctx2"),
        (3, 10, 31, "ctx3"),
        (1, 10, 41, "ctx4"),
        (2, 10, 51, "ctx5"),
        (3, 10, 61, "ctx6"),
    ]
    check_reads_after_proposals(nt, tests)


def test_read_only_option_lease_without_check_quorum() -> None:
    """thesis §6.4.1: lease-based reads are served even when check quorum is off (raft-rs behaviour)."""
    nodes = []
    for id in (1, 2, 3):
        n = new_test_raft(id, [1, 2, 3], 10, 1, new_storage())
        n.read_only.option = ReadOnlyOption.LEASE_BASED
        nodes.append(n)
    nt = Network.new(nodes)
    nt.send([hup(1)])

    nt.send([read_index(2, 2, "ctx1")])

    read_states = nt.peers[2].read_states
    assert read_states
    rs = read_states[0]
    assert rs.index == 1
    assert rs.request_ctx == b"ctx1"


def test_read_only_for_new_leader() -> None:
    """thesis §6.4: a new leader serves reads only after committing an entry of its own term."""
    heartbeat_ticks = 1
    node_configs = [(1, 1, 1, 0), (2, 2, 2, 2), (3, 2, 2, 2)]
    peers: list[Interface | None] = []
    for id, committed, applied, compact_index in node_configs:
        cfg = new_test_config(id, 10, heartbeat_ticks)
        cfg.applied = applied
        storage = MemStorage.new_with_conf_state(conf_state([1, 2, 3], []))
        storage.append([empty_entry(1, 1), empty_entry(1, 2)])
        storage.set_hardstate(HardState(term=1, commit=committed))
        if compact_index != 0:
            storage.compact(compact_index)
        peers.append(new_test_raft_with_config(cfg, storage))
    nt = Network.new(peers)

    # Drop MsgAppend so that peer 1 commits nothing of its term after it becomes leader.
    nt.ignore(MessageType.MsgAppend)
    # Force peer 1 to become leader
    nt.send([hup(1)])
    assert nt.peers[1].state == StateRole.LEADER

    # Peer 1 drops the read-only request.
    windex = 4
    wctx = "ctx"
    nt.send([read_index(1, 1, wctx)])
    assert len(nt.peers[1].read_states) == 0

    nt.recover()

    # Force peer 1 to commit a log entry at its term.
    for _ in range(heartbeat_ticks):
        nt.peers[1].tick()
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    assert nt.peers[1].raft_log.committed == 4
    assert nt.peers[1].raft_log.term(nt.peers[1].raft_log.committed) == nt.peers[1].term

    # Peer 1 accepts the read-only request once it committed an entry of its term.
    nt.send([read_index(1, 1, wctx)])
    read_states = drain_read_states(nt.peers[1])
    assert len(read_states) == 1
    rs = read_states[0]
    assert rs.index == windex
    assert rs.request_ctx == wctx.encode()


def test_advance_commit_index_by_read_index_response() -> None:
    """thesis §6.4: a follower with a new enough log advances its commit index from MsgReadIndexResp."""
    tt = Network.new([None, None, None, None, None])
    tt.send([hup(1)])

    # don't commit entries
    tt.cut(1, 3)
    tt.cut(1, 4)
    tt.cut(1, 5)
    tt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    tt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    tt.recover()
    tt.cut(1, 2)

    # commit entries for the leader but not for node 2
    tt.send([new_message(3, 1, MessageType.MsgReadIndex, 1)])
    assert tt.peers[1].raft_log.committed == 3
    assert tt.peers[2].raft_log.committed == 1

    tt.recover()
    # LeaseBased, so that the leader sends no MsgHeartbeat to advance node 2's commit index
    tt.peers[1].read_only.option = ReadOnlyOption.LEASE_BASED
    tt.send([new_message(2, 1, MessageType.MsgReadIndex, 1)])
    assert tt.peers[2].raft_log.committed == 3


def test_read_when_quorum_becomes_less() -> None:
    """thesis §6.4 + §4: pending reads complete when a conf change shrinks the quorum."""
    network = Network.new([None, None])

    network.send([Message(from_=1, to=1, msg_type=MessageType.MsgHup)])
    assert network.peers[1].raft_log.committed == 1

    # Read index on the peer.
    m = Message(to=1, msg_type=MessageType.MsgReadIndex)
    m.entries.add(data=b"abcdefg")
    network.dispatch([m])

    # Broadcast heartbeats.
    heartbeats = network.read_messages()
    network.dispatch(heartbeats)

    # Drop the heartbeat response from peer 2.
    heartbeat_responses = network.read_messages()
    assert len(heartbeat_responses) == 1

    network.peers[1].apply_conf_change(remove_node(2))
    assert network.peers[1].read_states


def test_msg_read_index_resp_adds_read_state() -> None:
    """thesis §6.4: a follower turns the leader's MsgReadIndexResp into a ReadState and may commit."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.become_follower(2, 2)
    m = new_message(2, 1, MessageType.MsgAppend, 0)
    m.term = 2
    m.entries.extend([empty_entry(2, 1), empty_entry(2, 2)])
    r.step(m)
    r.persist()
    assert r.raft_log.committed == 0

    resp = new_message_with_entries(2, 1, MessageType.MsgReadIndexResp, [new_entry(0, 0, "ctx")])
    resp.term = 2
    resp.index = 2
    r.step(resp)
    assert r.read_states == [ReadState(index=2, request_ctx=b"ctx")]
    # The index of a MsgReadIndexResp is the leader's commit index, of the leader's term.
    assert r.raft_log.committed == 2


def test_msg_read_index_resp_with_bad_entries_is_ignored() -> None:
    """thesis §6.4: a MsgReadIndexResp that does not carry exactly one entry is ignored."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.become_follower(2, 2)
    for n in (0, 2):
        resp = new_message(2, 1, MessageType.MsgReadIndexResp, n)
        resp.term = 2
        resp.index = 0
        r.step(resp)
        assert r.read_states == [], f"{n} entries: read_states = {r.read_states}"


def test_read_index_without_leader_is_dropped() -> None:
    """thesis §6.4: a follower that knows no leader drops a read request silently."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.step(read_index(1, 1, "ctx"))
    assert r.read_messages() == []
    assert r.read_states == []


def test_read_index_single_node() -> None:
    """thesis §6.4: a single-node leader answers a read at once with its commit index."""
    nt = Network.new([None])
    nt.send([hup(1)])
    nt.send([read_index(1, 1, "ctx")])
    assert nt.peers[1].read_states == [ReadState(index=1, request_ctx=b"ctx")]


@pytest.mark.parametrize(
    ("acks", "wread_states"),
    [
        # One follower's ack and the leader's own make 2 of 5: no quorum yet.
        ([2], [0]),
        # An ack repeated (a duplicated heartbeat response) counts once.
        ([2, 2], [0, 0]),
        # A second follower makes 3 of 5: the read is released, once.
        ([2, 2, 3], [0, 0, 1]),
        ([4, 5, 3], [0, 1, 1]),
    ],
)
def test_read_index_waits_for_quorum_of_five(acks: list[int], wread_states: list[int]) -> None:
    """thesis §6.4 step 3: the leader answers a ReadIndex only after a majority of the voters (3 of 5,
    itself included) acknowledged the heartbeat carrying its context; one follower's ack is a quorum
    only in a 3-voter group."""
    sm = new_test_raft(1, [1, 2, 3, 4, 5], 10, 1, new_storage())
    sm.become_candidate()
    sm.become_leader()
    sm.raft_log.commit_to(sm.raft_log.last_index())
    commit = sm.raft_log.committed

    sm.step(read_index(1, 1, "ctx"))
    heartbeats = sm.read_messages()
    assert sorted((m.to, m.msg_type, m.context) for m in heartbeats) == [
        (id, MessageType.MsgHeartbeat, b"ctx") for id in (2, 3, 4, 5)
    ]

    for ack, want in zip(acks, wread_states, strict=True):
        m = new_message(ack, 1, MessageType.MsgHeartbeatResponse, 0)
        m.term = sm.term
        m.context = b"ctx"
        sm.step(m)
        assert len(sm.read_states) == want, f"after the ack of {ack}"
        assert sm.read_only.pending_read_count() == 1 - want
    if wread_states[-1]:
        assert sm.read_states == [ReadState(index=commit, request_ctx=b"ctx")]


# Check quorum and the leader lease (thesis §6.2).


def test_leader_stepdown_when_quorum_active() -> None:
    """thesis §6.2: a leader that hears from a quorum every election timeout stays leader."""
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())
    sm.check_quorum = True
    sm.become_candidate()
    sm.become_leader()

    for _ in range(sm.election_timeout() + 1):
        m = new_message(2, 0, MessageType.MsgHeartbeatResponse, 0)
        m.term = sm.term
        sm.step(m)
        sm.tick()

    assert sm.state == StateRole.LEADER


def test_leader_stepdown_when_quorum_lost() -> None:
    """thesis §6.2: a leader that hears from no quorum for an election timeout steps down."""
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())
    sm.check_quorum = True
    sm.become_candidate()
    sm.become_leader()
    sm.raft_log.max_apply_unpersisted_log_limit = 100

    for _ in range(sm.election_timeout() + 1):
        sm.tick()

    assert sm.state == StateRole.FOLLOWER
    # Becoming follower resets the limit (raft-rs returns unpersisted committed entries on leaders only).
    assert sm.raft_log.max_apply_unpersisted_log_limit == 0


def test_add_node_check_quorum() -> None:
    """thesis §6.2 + §4: a newly added voter that stays silent makes the leader lose its quorum."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    r.check_quorum = True
    r.become_candidate()
    r.become_leader()

    for _ in range(r.election_timeout() - 1):
        r.tick()

    r.apply_conf_change(add_node(2))

    # This tick reaches the election timeout, which triggers a quorum check.
    r.tick()

    # Node 1 is still the leader after a single tick.
    assert r.state == StateRole.LEADER

    # After another election timeout without hearing from node 2, node 1 steps down.
    for _ in range(r.election_timeout()):
        r.tick()

    assert r.state == StateRole.FOLLOWER


def test_switching_check_quorum() -> None:
    """thesis §6.2: set_check_quorum switches the quorum check on and off at run time."""
    sm = new_test_raft(1, [1, 2, 3], 5, 1, new_storage())

    sm.set_check_quorum(True)
    sm.become_candidate()
    sm.become_leader()
    for _ in range(sm.election_timeout() + 1):
        sm.tick()
    assert sm.state != StateRole.LEADER

    sm.persist()
    sm.set_check_quorum(False)
    sm.become_candidate()
    sm.become_leader()

    for _ in range(sm.election_timeout() + 1):
        sm.tick()
    assert sm.state == StateRole.LEADER
