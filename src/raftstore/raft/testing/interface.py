"""raftstore.raft.testing.interface: Interface, a Raft facade for tests (raft-rs harness Interface).

An Interface holds either a Raft or None. With None it is a "nop stepper": a dead node or a black hole
that swallows every message, produces none and persists nothing. With a Raft, attribute reads and writes
that are not the Interface's own (`raft`) are forwarded to the Raft, so a test can write `r.term`,
`r.raft_log.committed = 3` or `r.become_leader()` as raft-rs's tests do through Deref.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ...proto.eraftpb_pb2 import Entry, Message, Snapshot

if TYPE_CHECKING:
    from ..raft import Raft
    from ..storage import MemStorage

__all__ = ["Interface"]


class Interface:
    """Interface wraps a Raft (or None for a nop stepper) and forwards attribute access to it.

    Invariant: `raft` is the only attribute stored on the Interface itself; every other attribute lives
    on the wrapped Raft. Accessing a forwarded attribute of a nop stepper raises AttributeError (raft-rs
    panics on the unwrap).
    """

    __slots__ = ("raft",)

    raft: Raft | None

    def __init__(self, raft: Raft | None = None) -> None:
        object.__setattr__(self, "raft", raft)

    def __getattr__(self, name: str) -> Any:
        # __getattr__ runs only when normal lookup fails, i.e. for everything but `raft` and the methods.
        raft = object.__getattribute__(self, "raft")
        if raft is None:
            raise AttributeError(f"Interface(None) has no raft: cannot read {name!r}")
        return getattr(raft, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "raft":
            object.__setattr__(self, name, value)
            return
        raft = object.__getattribute__(self, "raft")
        if raft is None:
            raise AttributeError(f"Interface(None) has no raft: cannot set {name!r}")
        setattr(raft, name, value)

    def __repr__(self) -> str:
        if self.raft is None:
            return "Interface(None)"
        return f"Interface(raft id={self.raft.id}, term={self.raft.term}, state={self.raft.state!r})"

    def step(self, m: Message) -> None:
        """step steps the raft with m; a nop stepper drops m. Errors of Raft.step propagate."""
        if self.raft is not None:
            self.raft.step(m)

    def read_messages(self) -> list[Message]:
        """read_messages drains and returns the raft's outgoing messages ([] for a nop stepper)."""
        if self.raft is None:
            return []
        msgs = list(self.raft.msgs)
        self.raft.msgs.clear()
        return msgs

    def persist(self) -> None:
        """persist stables the unstable snapshot and entries into the raft's MemStorage, as raft-rs's
        harness does: a pending snapshot is applied to the storage, reported with on_persist_snap and
        marked applied with commit_apply; then the unstable entries are appended to the storage and
        reported with on_persist_entries(last index, last term)."""
        raft = self.raft
        if raft is None:
            return
        raft_log = raft.raft_log
        store = cast("MemStorage", raft_log.store)
        pending: Snapshot | None = raft_log.unstable.snapshot
        if pending is not None:
            snap = Snapshot()
            snap.CopyFrom(pending)
            index = snap.metadata.index
            raft_log.stable_snap(index)
            store.apply_snapshot(snap)
            raft.on_persist_snap(index)
            raft.commit_apply(index)
        unstable: list[Entry] = []
        for e in raft_log.unstable_entries():
            c = Entry()
            c.CopyFrom(e)
            unstable.append(c)
        if unstable:
            last_idx, last_term = unstable[-1].index, unstable[-1].term
            raft_log.stable_entries(last_idx, last_term)
            store.append(unstable)
            raft.on_persist_entries(last_idx, last_term)
