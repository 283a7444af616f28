"""bcast_append copies a proposal's entries once and gives each follower its own MsgAppend: the messages
carry the same entries as before (cut to max_size_per_msg), share nothing with each other or with the
leader's log, and keep none of the proposal's own fields."""

from __future__ import annotations

import pytest

from raftstore.raft import ConfState, MemStorage, Message, MessageType, RawNode
from raftstore.raft.testing import new_test_config, new_test_raft_with_config
from raftstore.raft.testing.interface import Interface
from raftstore.raft.util import NO_LIMIT


def _propose(max_size_per_msg: int, datas: list[bytes], next_idx: dict[int, int]) -> tuple[Interface, list[Message]]:
    """_propose: a leader of [1, 2, 3] (its empty entry at index 1) whose followers replicate from next_idx,
    stepping one MsgPropose of datas; returns it and the MsgAppends it sent."""
    storage = MemStorage.new_with_conf_state(ConfState(voters=[1, 2, 3]))
    cfg = new_test_config(1, 10, 1)
    cfg.max_size_per_msg = max_size_per_msg
    r = new_test_raft_with_config(cfg, storage)
    r.become_candidate()
    r.become_leader()
    r.read_messages()
    for id_, nxt in next_idx.items():
        pr = r.prs.get(id_)
        pr.matched = nxt - 1
        pr.become_replicate()
    prop = Message(msg_type=MessageType.MsgPropose, from_=1, context=b"the proposal's own")
    for d in datas:
        prop.entries.add(data=d)
    r.step(prop)
    return r, [m for m in r.read_messages() if m.msg_type == MessageType.MsgAppend]


# Each proposed entry encodes in 14 B, the leader's empty entry in 4 B: a 30 B budget takes two of either
# run. first: the followers' next index (2: exactly the proposal's entries; 1: the empty entry first).
@pytest.mark.parametrize(
    ("max_size", "first", "sent"),
    [(NO_LIMIT, 2, 5), (NO_LIMIT, 1, 6), (0, 2, 1), (0, 1, 1), (30, 2, 2), (30, 1, 2)],
)
def test_followers_get_equal_independent_appends(max_size: int, first: int, sent: int) -> None:
    datas = [bytes([i]) * 8 for i in range(5)]
    r, apps = _propose(max_size, datas, {2: first, 3: first})
    two, three = sorted(apps, key=lambda m: m.to)
    assert (two.to, three.to) == (2, 3)
    log = [(1, 1, b"")] + [(2 + i, 1, datas[i]) for i in range(5)]
    want = log[first - 1 : first - 1 + sent]
    assert [(e.index, e.term, e.data) for e in two.entries] == want
    assert list(two.entries) == list(three.entries)
    fields = (1, MessageType.MsgAppend, 1, first - 1, first - 1 and 1, 0, b"")
    assert (two.from_, two.msg_type, two.term, two.index, two.log_term, two.commit, two.context) == fields
    assert (three.from_, three.msg_type, three.term, three.index, three.log_term, three.commit, three.context) == fields
    two.entries[-1].data = b"changed"  # nothing is shared: not the other follower's, not the log's
    assert three.entries[-1].data == want[-1][2]
    assert [e.data for e in r.raft_log.entries(2, None)] == datas


def test_follower_at_another_index_gets_its_own_entries() -> None:
    _, apps = _propose(NO_LIMIT, [b"a", b"b"], {2: 2, 3: 3})
    by_to = {m.to: [(e.index, e.data) for e in m.entries] for m in apps}
    assert by_to == {2: [(2, b"a"), (3, b"b")], 3: [(3, b"b")]}


# The tests above step a MsgPropose built by the caller. A proposal a RawNode built is raft's own: the first
# follower's MsgAppend is that message itself, sharing the leader's entry objects (the tests below).


def _raw_leader(max_size_per_msg: int = NO_LIMIT) -> RawNode:
    """_raw_leader: node 1 of [1, 2, 3] as leader (its empty entry at index 1), both followers replicating
    from index 2, nothing left to send."""
    storage = MemStorage.new_with_conf_state(ConfState(voters=[1, 2, 3]))
    cfg = new_test_config(1, 10, 1)
    cfg.max_size_per_msg = max_size_per_msg
    node = RawNode(cfg, storage)
    r = node.raft
    r.become_candidate()
    r.become_leader()
    for id_ in (2, 3):
        pr = r.prs.get(id_)
        assert pr is not None
        pr.matched = 1
        pr.become_replicate()
    r.read_messages()
    return node


def test_raw_node_proposal_becomes_first_followers_append_sharing_the_log_entries() -> None:
    node = _raw_leader()
    datas = [bytes([i]) * 8 for i in range(4)]
    node.propose_batch(datas)
    two, three = sorted(node.raft.read_messages(), key=lambda m: m.to)
    log = node.raft.raft_log.unstable.entries[1:]
    assert [(e.index, e.term, e.data) for e in log] == [(2 + i, 1, d) for i, d in enumerate(datas)]
    fields = (1, MessageType.MsgAppend, 1, 1, 1, 0, b"")
    for m, to in ((two, 2), (three, 3)):
        assert (m.to, m.from_, m.msg_type, m.term, m.index, m.log_term, m.commit, m.context) == (to, *fields)
        assert list(m.entries) == log
    # The first follower's entries are the leader's log entries themselves (the proposal, sent on);
    # the second follower's are a copy.
    assert all(a is b for a, b in zip(two.entries, log, strict=True))
    assert not any(a is b for a, b in zip(three.entries, log, strict=True))


def test_caller_built_proposal_is_never_sent_on() -> None:
    node = _raw_leader()
    prop = Message(msg_type=MessageType.MsgPropose, from_=1)
    prop.entries.add(data=b"x")
    node.raft.step(prop)
    apps = node.raft.read_messages()
    assert [m.to for m in apps] == [2, 3] and all(m is not prop for m in apps)
    assert (prop.msg_type, prop.to, [e.data for e in prop.entries]) == (MessageType.MsgPropose, 0, [b"x"])


# Five entries of 8 B encode in 14 B each (70 B together); propose_batch's size bound for them is 230 B, so
# from a 230 B budget on they are sent without sizing each, below it limited entry by entry.
@pytest.mark.parametrize(
    ("max_size", "sent"), [(0, 1), (30, 2), (69, 4), (70, 5), (229, 5), (230, 5), (NO_LIMIT, 5)]
)
def test_raw_node_proposal_is_limited_to_max_size_per_msg(max_size: int, sent: int) -> None:
    node = _raw_leader(max_size)
    datas = [bytes([i]) * 8 for i in range(5)]
    node.propose_batch(datas)
    apps = node.raft.read_messages()
    assert sorted(m.to for m in apps) == [2, 3]
    for m in apps:
        assert [(e.index, e.data) for e in m.entries] == [(2 + i, datas[i]) for i in range(sent)]
        assert sum(e.ByteSize() for e in m.entries) == 14 * sent


def test_raw_node_proposal_cut_to_max_size_still_shares_and_keeps_the_log() -> None:
    node = _raw_leader(30)
    datas = [bytes([i]) * 8 for i in range(5)]
    node.propose_batch(datas)
    two, three = sorted(node.raft.read_messages(), key=lambda m: m.to)
    log = node.raft.raft_log.unstable.entries[1:]
    assert [(e.index, e.data) for e in log] == [(2 + i, d) for i, d in enumerate(datas)]
    assert all(a is b for a, b in zip(two.entries, log[:2], strict=True))
    assert list(three.entries) == log[:2] and not any(a is b for a, b in zip(three.entries, log[:2], strict=True))
