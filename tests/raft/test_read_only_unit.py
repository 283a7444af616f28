"""ReadOnly, ReadState, ReadOnlyOption: unit tests of raft-rs read_only.rs semantics (the leader's queue of
ReadIndex requests, Raft thesis 6.4)."""

from __future__ import annotations

import dataclasses

import pytest

from raftstore.raft import Entry, InvariantError, Message, MessageType, ReadOnly, ReadOnlyOption, ReadState


def read_index(ctx: bytes, from_: int = 1) -> Message:
    m = Message(msg_type=MessageType.MsgReadIndex, from_=from_)
    m.entries.append(Entry(data=ctx))
    return m


def test_option_default_and_members() -> None:
    assert ReadOnly().option is ReadOnlyOption.SAFE
    assert {o.name for o in ReadOnlyOption} == {"SAFE", "LEASE_BASED"}


def test_read_state_is_a_frozen_value() -> None:
    rs = ReadState(3, b"ctx")
    assert (rs.index, rs.request_ctx) == (3, b"ctx")
    assert rs == ReadState(index=3, request_ctx=b"ctx")
    assert rs != ReadState(4, b"ctx")
    assert hash(rs) == hash(ReadState(3, b"ctx"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        rs.index = 4  # type: ignore[misc]
    assert not hasattr(rs, "__dict__")


def test_add_request_queues_once_per_context() -> None:
    ro = ReadOnly(ReadOnlyOption.SAFE)
    ro.add_request(5, read_index(b"a"), 1)
    ro.add_request(6, read_index(b"b"), 1)
    ro.add_request(7, read_index(b"a"), 1)  # duplicate context: ignored
    assert list(ro.read_index_queue) == [b"a", b"b"]
    assert ro.pending_read_count() == 2
    assert ro.pending_read_index[b"a"].index == 5
    assert ro.pending_read_index[b"a"].acks == {1}
    assert ro.last_pending_request_ctx() == b"b"


def test_add_request_copies_the_message() -> None:
    ro = ReadOnly()
    m = read_index(b"a", from_=2)
    ro.add_request(1, m, 1)
    m.entries[0].data = b"changed"
    m.from_ = 9
    req = ro.pending_read_index[b"a"].req
    assert req.entries[0].data == b"a" and req.from_ == 2


def test_recv_ack_collects_acks_or_returns_none() -> None:
    ro = ReadOnly()
    assert ro.recv_ack(2, b"a") is None
    ro.add_request(1, read_index(b"a"), 1)
    assert ro.recv_ack(2, b"a") == {1, 2}
    assert ro.recv_ack(2, b"a") == {1, 2}
    assert ro.recv_ack(3, b"a") == {1, 2, 3}
    assert ro.recv_ack(3, b"missing") is None


def test_advance_dequeues_up_to_and_including_ctx() -> None:
    ro = ReadOnly()
    for i, ctx in enumerate([b"a", b"b", b"c"]):
        ro.add_request(10 + i, read_index(ctx), 1)
    rss = ro.advance(b"b")
    assert [(bytes(rs.req.entries[0].data), rs.index) for rs in rss] == [(b"a", 10), (b"b", 11)]
    assert list(ro.read_index_queue) == [b"c"]
    assert set(ro.pending_read_index) == {b"c"}
    assert ro.last_pending_request_ctx() == b"c"


def test_advance_unknown_ctx_is_a_no_op() -> None:
    ro = ReadOnly()
    ro.add_request(1, read_index(b"a"), 1)
    assert ro.advance(b"zz") == []
    assert ro.pending_read_count() == 1
    assert ReadOnly().advance(b"a") == []


def test_advance_everything_empties_the_queue() -> None:
    ro = ReadOnly()
    ro.add_request(1, read_index(b"a"), 1)
    ro.add_request(2, read_index(b"b"), 1)
    assert len(ro.advance(b"b")) == 2
    assert ro.pending_read_count() == 0
    assert ro.pending_read_index == {}
    assert ro.last_pending_request_ctx() is None


def test_advance_with_broken_invariant_raises() -> None:
    ro = ReadOnly()
    ro.add_request(1, read_index(b"a"), 1)
    del ro.pending_read_index[b"a"]
    with pytest.raises(InvariantError):
        ro.advance(b"a")


def test_contexts_given_as_bytes_like_match() -> None:
    ro = ReadOnly()
    ro.add_request(1, read_index(b"a"), 1)
    assert ro.recv_ack(2, bytearray(b"a")) == {1, 2}
    assert len(ro.advance(memoryview(b"a"))) == 1  # type: ignore[arg-type]
