"""bcast_append copies a proposal's entries once and gives each follower its own MsgAppend: the messages
carry the same entries as before (cut to max_size_per_msg), share nothing with each other or with the
leader's log, and keep none of the proposal's own fields."""

from __future__ import annotations

import pytest

from raftstore.raft import ConfState, MemStorage, Message, MessageType
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
