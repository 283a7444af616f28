"""raftstore.raft.tracker.inflights: Inflights, the window of appends sent to a peer but not yet acked."""

from __future__ import annotations

from ..errors import InvariantError

__all__ = ["Inflights"]


class Inflights:
    """Inflights is a ring buffer of the last indexes of in-flight append messages (raft-rs semantics).

    Invariants: 0 <= count() <= cap (while `incoming_cap` is pending, count may exceed it until freed);
    the `count()` live entries sit at buffer[start], buffer[start+1 mod cap], ... in increasing order;
    len(buffer) <= cap and buffer only grows by appending at its end. The buffer's storage is tracked as
    raft-rs's Vec capacity (`buffer_capacity()`): allocated with `cap` slots on creation, released by
    `reset()` and `maybe_free_buffer()`, reallocated lazily by `add()`.

    `set_cap` changes the capacity: growing applies at once; shrinking while entries are in flight is
    deferred in `incoming_cap` until the window drains (`free_to` to empty, or `reset`).
    """

    __slots__ = ("start", "_count", "buffer", "cap", "incoming_cap", "_buffer_cap")

    def __init__(self, cap: int) -> None:
        # start is the ring position of the oldest in-flight index.
        self.start: int = 0
        # _count is the number of in-flight indexes (raft-rs's `count` field; see count()).
        self._count: int = 0
        # buffer holds the ring; only its first len(buffer) slots exist.
        self.buffer: list[int] = []
        # cap is the window size: full() once count reaches it.
        self.cap: int = cap
        # incoming_cap is a smaller cap waiting for the window to drain, else None.
        self.incoming_cap: int | None = None
        # _buffer_cap mirrors the Vec capacity of raft-rs's buffer (0: not allocated).
        self._buffer_cap: int = cap

    @classmethod
    def from_parts(
        cls,
        start: int,
        count: int,
        buffer: list[int],
        cap: int,
        incoming_cap: int | None = None,
        buffer_capacity: int | None = None,
    ) -> Inflights:
        """from_parts builds an Inflights from raw fields (for tests). buffer_capacity defaults to
        len(buffer), as for a Rust `vec![...]` literal."""
        ins = cls(cap)
        ins.start = start
        ins._count = count
        ins.buffer = list(buffer)
        ins.incoming_cap = incoming_cap
        ins._buffer_cap = len(buffer) if buffer_capacity is None else buffer_capacity
        return ins

    def clone(self) -> Inflights:
        """clone is an independent copy, buffer capacity included."""
        return Inflights.from_parts(
            self.start, self._count, self.buffer, self.cap, self.incoming_cap, self._buffer_cap
        )

    def set_cap(self, incoming_cap: int) -> None:
        """set_cap adjusts the window size; 0 stops replication. Growing is immediate (the ring is
        unrolled into a new buffer if it wraps); shrinking is immediate only when nothing is in flight,
        otherwise deferred to when the window drains. Never call it between full() and add()."""
        if self.cap == incoming_cap:
            self.incoming_cap = None
        elif self.cap < incoming_cap:
            if self.start + self._count <= self.cap:
                if self._buffer_cap > 0:
                    self._reserve(incoming_cap - len(self.buffer))
            else:
                # The ring wraps: unroll it so that the extra slots come after its end.
                wrapped = self._count - (self.cap - self.start)
                self.buffer = self.buffer[self.start :] + self.buffer[:wrapped]
                self._buffer_cap = max(incoming_cap, len(self.buffer))
                self.start = 0
            self.cap = incoming_cap
            self.incoming_cap = None
        elif self._count == 0:
            self.cap = incoming_cap
            self.incoming_cap = None
            self.start = 0
            if self._buffer_cap > 0:
                self.buffer = []
                self._buffer_cap = incoming_cap
        else:
            self.incoming_cap = incoming_cap

    def _reserve(self, additional: int) -> None:
        # _reserve grows the capacity as Rust's Vec::reserve does (amortized doubling).
        required = len(self.buffer) + additional
        if self._buffer_cap < required:
            self._buffer_cap = max(self._buffer_cap * 2, required)

    def full(self) -> bool:
        """full tells whether no more message may be sent: count reached cap (or a pending smaller
        incoming_cap)."""
        count = self._count
        if count == self.cap:
            return True
        incoming = self.incoming_cap
        return incoming is not None and count >= incoming

    def add(self, inflight: int) -> None:
        """add records inflight (the last index of a sent message; indexes must be added in increasing
        order). Raises InvariantError when full."""
        if self.full():
            raise InvariantError("cannot add into a full inflights")
        if self._buffer_cap == 0:
            self.buffer = []
            self._buffer_cap = self.cap
        nxt = self.start + self._count
        if nxt >= self.cap:
            nxt -= self.cap
        buffer = self.buffer
        if nxt > len(buffer):
            raise InvariantError(f"inflights ring position {nxt} is past the buffer end {len(buffer)}")
        if nxt == len(buffer):
            if len(buffer) >= self._buffer_cap:
                # Growing past the allocation doubles it, as a Rust Vec push does.
                self._buffer_cap = max(self._buffer_cap * 2, len(buffer) + 1, 4)
            buffer.append(inflight)
        else:
            buffer[nxt] = inflight
        self._count += 1

    def free_to(self, to: int) -> None:
        """free_to frees every in-flight index <= to. When the window drains and a smaller cap is
        pending, the cap is applied and the buffer reallocated."""
        count = self._count
        buffer = self.buffer
        if count == 0 or to < buffer[self.start]:
            # Out of the left side of the window.
            return
        cap = self.cap
        idx = self.start
        i = 0
        while i < count:
            if to < buffer[idx]:
                break
            idx += 1
            if idx >= cap:
                idx -= cap
            i += 1
        self._count = count - i
        self.start = idx
        if self._count == 0 and self.incoming_cap is not None:
            self.start = 0
            self.cap = self.incoming_cap
            self.incoming_cap = None
            self.buffer = []
            self._buffer_cap = self.cap

    def free_first_one(self) -> None:
        """free_first_one frees the oldest in-flight index, if any."""
        if self._count > 0:
            self.free_to(self.buffer[self.start])

    def reset(self) -> None:
        """reset frees everything, releases the buffer and applies a pending incoming_cap."""
        self._count = 0
        self.start = 0
        self.buffer = []
        self._buffer_cap = 0
        if self.incoming_cap is not None:
            self.cap = self.incoming_cap
            self.incoming_cap = None

    def count(self) -> int:
        """count is the number of in-flight messages."""
        return self._count

    def buffer_capacity(self) -> int:
        """buffer_capacity is the allocated size of the ring (raft-rs's Vec capacity)."""
        return self._buffer_cap

    def buffer_is_allocated(self) -> bool:
        """buffer_is_allocated tells whether the ring's storage is allocated."""
        return self._buffer_cap > 0

    def maybe_free_buffer(self) -> None:
        """maybe_free_buffer releases the ring's storage when nothing is in flight."""
        if self._count == 0:
            self.start = 0
            self.buffer = []
            self._buffer_cap = 0

    def __eq__(self, other: object) -> bool:
        # __eq__ compares the fields raft-rs's PartialEq does (buffer contents, not its capacity).
        if not isinstance(other, Inflights):
            return NotImplemented
        return (
            self.start == other.start
            and self._count == other._count
            and self.buffer == other.buffer
            and self.cap == other.cap
            and self.incoming_cap == other.incoming_cap
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Inflights(start={self.start}, count={self._count}, buffer={self.buffer!r}, "
            f"cap={self.cap}, incoming_cap={self.incoming_cap})"
        )
