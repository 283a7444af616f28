"""Tests of raftstore.raft.describe: the one-line descriptions used by logs and tests."""

from __future__ import annotations

from raftstore.raft import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from raftstore.raft.describe import (
    describe_conf_state,
    describe_entries,
    describe_entry,
    describe_hard_state,
    describe_message,
    describe_ready,
    describe_snapshot,
)
from raftstore.raft.raw_node import RawNode
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import conf_state, new_snapshot, new_test_config


def _append(first: int, last: int) -> Message:
    """_append: a MsgAppend 1->2 at term 3 after (5, 2) with commit 5 and entries first..last."""
    m = Message(msg_type=MessageType.MsgAppend, from_=1, to=2, term=3, log_term=2, index=5, commit=5)
    for i in range(first, last + 1):
        m.entries.append(Entry(index=i, term=3, data=b"x"))
    return m


def test_describe_message_append() -> None:
    """A MsgAppend shows sender, receiver, term, log_term, index, commit and its entry range."""
    assert describe_message(_append(6, 8)) == (
        "MsgAppend 1->2 term=3 log_term=2 index=5 commit=5 entries=[6..8]"
    )


def test_describe_message_append_shows_zero_commit() -> None:
    """A MsgAppend shows log_term, index and commit even when they are 0; no entries, no range."""
    m = Message(msg_type=MessageType.MsgAppend, from_=1, to=2, term=1)
    assert describe_message(m) == "MsgAppend 1->2 term=1 log_term=0 index=0 commit=0"


def test_describe_message_reject_and_snapshot() -> None:
    """A rejection shows its hint; a MsgSnapshot shows the snapshot's index@term and voters."""
    m = Message(
        msg_type=MessageType.MsgAppendResponse, from_=2, to=1, term=3, index=8, reject=True, reject_hint=4
    )
    assert describe_message(m) == "MsgAppendResponse 2->1 term=3 index=8 rejected hint=4"
    s = Message(msg_type=MessageType.MsgSnapshot, from_=1, to=3, term=3)
    s.snapshot.CopyFrom(new_snapshot(10, 3, [1, 2, 3]))
    assert describe_message(s) == "MsgSnapshot 1->3 term=3 snapshot=10@3 voters=[1,2,3]"


def test_describe_message_proposal() -> None:
    """Entries without indexes (proposals) are counted."""
    m = Message(msg_type=MessageType.MsgPropose, from_=1, to=1)
    m.entries.add(data=b"a")
    m.entries.add(data=b"b")
    assert describe_message(m) == "MsgPropose 1->1 term=0 entries=[2 entries]"


def test_describe_entries() -> None:
    """Entry lists: empty, one, a contiguous range, and indexless entries."""
    assert describe_entries([]) == "[]"
    assert describe_entries([Entry(index=6, term=1)]) == "[6]"
    assert describe_entries([Entry(index=i) for i in range(6, 9)]) == "[6..8]"
    assert describe_entries([Entry(), Entry(), Entry()]) == "[3 entries]"
    assert describe_entries([Entry()]) == "[1 entry]"


def test_describe_entry() -> None:
    """Entries show index@term, kind, data preview, context, and decoded conf changes."""
    assert describe_entry(Entry(index=6, term=3, data=b"put x 1")) == "6@3 normal data=b'put x 1'"
    assert describe_entry(Entry(index=6, term=3)) == "6@3 normal"
    long = describe_entry(Entry(index=1, term=1, data=b"a" * 100, context=b"c"))
    assert long == "1@1 normal data=b'aaaaaaaaaaaaaaaa'...(100B) context=b'c'"
    cc = ConfChange(change_type=ConfChangeType.AddNode, node_id=2)
    e = Entry(index=7, term=3, entry_type=EntryType.EntryConfChange, data=cc.SerializeToString())
    assert describe_entry(e) == "7@3 conf_change v2"
    cc2 = ConfChangeV2(transition=ConfChangeTransition.Explicit)
    cc2.changes.append(ConfChangeSingle(change_type=ConfChangeType.AddNode, node_id=4))
    cc2.changes.append(ConfChangeSingle(change_type=ConfChangeType.AddLearnerNode, node_id=5))
    e2 = Entry(index=8, term=3, entry_type=EntryType.EntryConfChangeV2, data=cc2.SerializeToString())
    assert describe_entry(e2) == "8@3 conf_change_v2 v4 l5 transition=explicit"
    leave = Entry(
        index=9, term=3, entry_type=EntryType.EntryConfChangeV2, data=ConfChangeV2().SerializeToString()
    )
    assert describe_entry(leave) == "9@3 conf_change_v2"
    leave_ctx = Entry(
        index=9,
        term=3,
        entry_type=EntryType.EntryConfChangeV2,
        data=ConfChangeV2(context=b"m").SerializeToString(),
    )
    assert describe_entry(leave_ctx) == "9@3 conf_change_v2 leave_joint"
    bad = Entry(index=1, term=1, entry_type=EntryType.EntryConfChange, data=b"\xff\xff")
    assert describe_entry(bad) == "1@1 conf_change <undecodable>"


def test_describe_states() -> None:
    """Hard states, conf states and snapshots have compact forms."""
    assert describe_hard_state(HardState(term=2, vote=1, commit=3)) == "term=2,vote=1,commit=3"
    cs = conf_state([1, 2], [3])
    cs.voters_outgoing.extend([1])
    cs.auto_leave = True
    assert describe_conf_state(cs) == "voters=[1,2] learners=[3] voters_outgoing=[1] auto_leave"
    assert describe_snapshot(Snapshot()) == "empty"


def test_describe_ready() -> None:
    """A Ready lists what it carries: number, soft and hard state, entries, messages, must_sync."""
    s = MemStorage.new_with_conf_state(conf_state([1], []))
    node = RawNode(new_test_config(1, 10, 1), s)
    node.campaign()
    rd = node.ready()
    assert describe_ready(rd) == "Ready#1 ss=leader(1) hs=term=1,vote=1,commit=0 entries=[1] must_sync"
    s.wl().append(rd.entries)
    light = node.advance(rd)
    assert describe_ready(light) == "LightReady commit=1 committed=[1]"
    assert repr(light) == "<LightReady commit=1 committed=[1]>"
