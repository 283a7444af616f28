"""Tests of raftstore.raft.tracker.Inflights: raft-rs's inflights.rs unit tests, plus full/reset/free."""

from __future__ import annotations

import pytest

from raftstore.raft import Inflights, InvariantError


def filled(cap: int, items: range) -> Inflights:
    ins = Inflights(cap)
    for i in items:
        ins.add(i)
    return ins


def test_inflight_add() -> None:
    """add appends at start+count, wrapping around the ring once the end of the buffer is reached."""
    ins = filled(10, range(5))
    assert ins == Inflights.from_parts(start=0, count=5, buffer=[0, 1, 2, 3, 4], cap=10)

    for i in range(5, 10):
        ins.add(i)
    assert ins == Inflights.from_parts(start=0, count=10, buffer=list(range(10)), cap=10)

    # A window starting in the middle of the buffer wraps to its front.
    ins2 = Inflights(10)
    ins2.start = 5
    ins2.buffer.extend([0] * 5)
    for i in range(5):
        ins2.add(i)
    assert ins2 == Inflights.from_parts(
        start=5, count=5, buffer=[0, 0, 0, 0, 0, 0, 1, 2, 3, 4], cap=10
    )

    for i in range(5, 10):
        ins2.add(i)
    assert ins2 == Inflights.from_parts(
        start=5, count=10, buffer=[5, 6, 7, 8, 9, 0, 1, 2, 3, 4], cap=10
    )


def test_inflight_free_to() -> None:
    """free_to frees every inflight <= to, moving start (and wrapping it around the ring)."""
    ins = filled(10, range(10))
    ins.free_to(4)
    assert ins == Inflights.from_parts(start=5, count=5, buffer=list(range(10)), cap=10)

    ins.free_to(8)
    assert ins == Inflights.from_parts(start=9, count=1, buffer=list(range(10)), cap=10)

    for i in range(10, 15):
        ins.add(i)
    ins.free_to(12)
    assert ins == Inflights.from_parts(
        start=3, count=2, buffer=[10, 11, 12, 13, 14, 5, 6, 7, 8, 9], cap=10
    )

    ins.free_to(14)
    assert ins == Inflights.from_parts(
        start=5, count=0, buffer=[10, 11, 12, 13, 14, 5, 6, 7, 8, 9], cap=10
    )


def test_inflight_free_to_left_of_window() -> None:
    """free_to below the oldest inflight, or on an empty window, changes nothing."""
    ins = filled(10, range(3, 6))
    before = ins.clone()
    ins.free_to(2)
    assert ins == before
    empty = Inflights(10)
    empty.free_to(100)
    assert empty == Inflights(10)


def test_inflight_free_first_one() -> None:
    """free_first_one frees exactly the oldest inflight."""
    ins = filled(10, range(10))
    ins.free_first_one()
    assert ins == Inflights.from_parts(start=1, count=9, buffer=list(range(10)), cap=10)


def test_inflight_full_and_add_panics() -> None:
    """full() is true at cap; adding to a full window is an invariant violation (raft-rs panics)."""
    ins = filled(3, range(2))
    assert not ins.full()
    ins.add(2)
    assert ins.full()
    assert ins.count() == 3
    with pytest.raises(InvariantError, match="cannot add into a full inflights"):
        ins.add(3)
    # A zero-capacity window is always full.
    assert Inflights(0).full()


def test_inflight_reset_and_free_buffer() -> None:
    """reset frees all and releases the buffer; add reallocates it; maybe_free_buffer only frees an
    empty window's buffer."""
    ins = filled(10, range(4))
    assert ins.buffer_is_allocated()
    ins.maybe_free_buffer()
    assert ins.buffer_is_allocated() and ins.count() == 4
    ins.reset()
    assert ins.count() == 0 and ins.start == 0 and not ins.buffer_is_allocated()
    assert not ins.full()
    ins.add(7)
    assert ins.buffer_capacity() == 10 and ins.count() == 1
    ins.free_to(7)
    ins.maybe_free_buffer()
    assert not ins.buffer_is_allocated() and ins.start == 0


def make_set_cap_case(start: int, count: int, buffer_cap: int) -> Inflights:
    ins = Inflights.from_parts(
        start=start, count=0, buffer=[0] * buffer_cap, cap=128, buffer_capacity=buffer_cap
    )
    for i in range(count):
        ins.add(i)
    return ins


def test_inflights_set_cap() -> None:
    """set_cap grows at once (extending or unrolling the ring) and shrinks at once only when empty,
    otherwise via incoming_cap once the window drains or the cap grows again."""
    # 16 inflights starting at ring positions 16, 112 and 120 of a 128-slot window.
    grown: list[Inflights] = []
    for start in (16, 112, 120):
        ins = filled(128, range(start))
        ins.free_to(start - 1)
        for i in range(16):
            ins.add(i)
        assert ins.count() == 16
        assert ins.start == start
        grown.append(ins)

    for i, ins in enumerate(grown):
        ins.set_cap(1024)
        assert ins.cap == 1024
        assert ins.incoming_cap is None
        assert ins.buffer_capacity() == 1024
        if i < 2:
            # Contiguous window: the buffer is extended in place.
            assert ins.start != 0
        else:
            # Wrapped window: the buffer is reallocated and unrolled.
            assert ins.start == 0

    shrunk = [make_set_cap_case(*case) for case in ((1, 0, 0), (1, 0, 128), (1, 8, 128))]
    for i, ins in enumerate(shrunk):
        ins.set_cap(64)
        if i in (0, 1):
            assert ins.cap == 64
            assert ins.incoming_cap is None
            assert ins.start == 0
            assert ins.buffer_capacity() == (0 if i == 0 else 64)
        else:
            assert ins.cap == 128
            assert ins.incoming_cap == 64
            assert ins.start == 1
            assert ins.buffer_capacity() == 128

    # A pending incoming_cap applies once the window is entirely freed.
    ins = shrunk[2].clone()
    ins.free_to(7)
    assert ins.cap == 64
    assert ins.incoming_cap is None
    assert ins.start == 0

    # A pending incoming_cap is dropped when the cap is set back or enlarged.
    for new_cap in (128, 1024):
        ins = shrunk[2].clone()
        ins.set_cap(new_cap)
        assert ins.cap == new_cap
        assert ins.incoming_cap is None


def test_inflights_full_with_pending_incoming_cap() -> None:
    """While a smaller cap is pending, full() already honours it; reset applies it."""
    ins = filled(10, range(6))
    ins.set_cap(4)
    assert ins.cap == 10 and ins.incoming_cap == 4
    assert ins.full()
    ins.free_to(2)
    assert ins.count() == 3 and not ins.full()
    ins.reset()
    assert ins.cap == 4 and ins.incoming_cap is None


@pytest.mark.parametrize(
    "free_to, wcount, wfull",
    [
        # 6 in flight (0..5) under a pending cap of 4: full.
        (-1, 6, True),
        # Exactly the pending cap in flight: still full (count >= incoming_cap).
        (1, 4, True),
        # One below it: room for one more.
        (2, 3, False),
    ],
)
def test_inflights_full_at_pending_incoming_cap(free_to: int, wcount: int, wfull: bool) -> None:
    """Thesis §10.2.2 (pipelining): the window bounds the appends in flight. A shrink deferred by
    set_cap (raft-rs's incoming_cap) bounds it at once: full() holds from exactly incoming_cap in-flight
    messages, and add() then refuses, before the cap itself applies."""
    ins = filled(10, range(6))
    ins.set_cap(4)
    ins.free_to(free_to)
    assert (ins.count(), ins.cap, ins.incoming_cap) == (wcount, 10, 4)
    assert ins.full() == wfull
    if wfull:
        with pytest.raises(InvariantError):
            ins.add(6)
    else:
        ins.add(6)
        assert ins.count() == 4 and ins.full()
