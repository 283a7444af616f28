"""Property tests of PeerStorage against a model log (a dict index -> entry, plus the truncated state).

Hypothesis drives random sequences of appends (overwriting uncommitted tails at random points with higher
terms), hard state changes, write rounds of one or more tasks, compaction (compact_to at a random applied
index, with log GC), entry-cache compaction and eviction, term-cache feeding, and reopening (a new
PeerStorage on the same engines; on RocksDB also closing and reopening the engines). After every step the
storage is compared with the model on first_index, last_index, last_term, term(i) for every i in range and
entries(lo, hi, max_size), and with raftstore.raft.MemStorage (raft-rs's reference Storage) holding the same
log: both must give the same first/last index, terms, entries under size limits and CompactedError below
the first index. After every write round a fresh PeerStorage is compared with the durable model and the
raft engine must hold exactly the durable log.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field

import pytest
from .helpers import new_region, plain, raft_log_indexes
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from raftstore.engine.engines import Engines, memory_engines, open_engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.raft import NO_LIMIT, MemStorage, Snapshot
from raftstore.raft.errors import CompactedError, StorageError
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_tasks

REGION_ID = 3
PEER_ID = 3
MAX_LOG = 60  # appends stop growing the log beyond this many entries above the truncated index


@dataclass
class Model:
    """Model: the log as raft should see it: truncated (index, term), entries above it, hard state, applied."""

    trunc_index: int = 5
    trunc_term: int = 5
    log: dict[int, Entry] = field(default_factory=dict)
    last: int = 5
    hs: HardState = field(default_factory=lambda: HardState(term=5, commit=5))
    applied: int = 5

    def copy(self) -> Model:
        hs = HardState()
        hs.CopyFrom(self.hs)
        return Model(self.trunc_index, self.trunc_term, dict(self.log), self.last, hs, self.applied)

    @property
    def first(self) -> int:
        return self.trunc_index + 1

    def term(self, i: int) -> int:
        return self.trunc_term if i == self.trunc_index else self.log[i].term

    def last_term(self) -> int:
        return self.term(self.last)

    def max_term(self) -> int:
        return max([self.trunc_term, self.hs.term, *(e.term for e in self.log.values())])

    def entries(self, lo: int, hi: int) -> list[Entry]:
        return [self.log[i] for i in range(lo, hi)]


def limited(ents: list[Entry], max_size: int) -> list[Entry]:
    out: list[Entry] = []
    total = 0
    for e in ents:
        total += e.ByteSize()
        if out and total > max_size:
            break
        out.append(e)
    return out


def reference(m: Model) -> MemStorage:
    """reference is a MemStorage holding the model's log: a snapshot at the truncated state, then entries."""
    mem = MemStorage()
    snap = Snapshot()
    snap.metadata.index, snap.metadata.term = m.trunc_index, m.trunc_term
    snap.metadata.conf_state.voters.append(PEER_ID)
    mem.apply_snapshot(snap)
    mem.append(m.entries(m.first, m.last + 1))
    return mem


def check_against_mem_storage(store: PeerStorage, mem: MemStorage, lo: int, hi: int, max_size: int) -> None:
    """check_against_mem_storage: PeerStorage answers as MemStorage does on the same log."""
    event("compared with MemStorage")
    assert (store.first_index(), store.last_index()) == (mem.first_index(), mem.last_index())
    for i in range(mem.first_index() - 1, mem.last_index() + 1):
        assert store.term(i) == mem.term(i), i
    assert plain(store.entries(lo, hi, max_size)) == plain(mem.entries(lo, hi, max_size))
    for compacted in (store, mem):
        with pytest.raises(CompactedError):
            compacted.entries(mem.first_index() - 1, hi)


def check_storage(store: PeerStorage, m: Model) -> None:
    """check_storage compares every Storage answer of store with the model m."""
    assert store.first_index() == m.first
    assert store.last_index() == m.last
    assert store.last_term() == m.last_term()
    assert (store.truncated_index(), store.truncated_term()) == (m.trunc_index, m.trunc_term)
    assert store.hard_state() == m.hs
    assert store.applied_index() == m.applied
    for i in range(m.trunc_index, m.last + 1):
        assert store.term(i) == m.term(i), i
    if m.trunc_index > 0:
        with pytest.raises(CompactedError):
            store.term(m.trunc_index - 1)
    with pytest.raises(StorageError) as info:
        store.term(m.last + 1)
    assert not isinstance(info.value, CompactedError)
    assert plain(store.entries(m.first, m.last + 1)) == plain(m.entries(m.first, m.last + 1))


class PeerStorageMachine(RuleBasedStateMachine):
    """PeerStorageMachine: one peer's PeerStorage under random raft-like traffic, against Model."""

    def open_engines(self) -> Engines:
        return memory_engines()

    def reopen_engines(self) -> Engines:
        return self.engines

    def __init__(self) -> None:
        super().__init__()
        self.engines = self.open_engines()
        self.region = new_region(REGION_ID, None)
        write_initial_states(self.engines, self.region)
        self.store = PeerStorage(self.engines, self.region, PEER_ID)
        self.model = Model()
        self.durable = Model()
        self.ready = 0
        # pending: staged tasks not written yet, oldest first, each with the model as of its last op
        # (None for the newest task, which still takes ops: its model is self.model).
        self.pending: list[tuple[WriteTask, Model | None]] = []
        self.fed = self.model.trunc_index  # the term cache has seen committed entries up to here
        self._new_task()

    def _new_task(self) -> None:
        if self.pending:
            task, _ = self.pending[-1]
            self.pending[-1] = (task, self.model.copy())
        self.ready += 1
        self.pending.append((WriteTask(REGION_ID, PEER_ID, self.ready), None))

    @property
    def task(self) -> WriteTask:
        return self.pending[-1][0]

    # -- rules -------------------------------------------------------------------------------

    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        m = self.model
        lo = max(m.hs.commit, m.trunc_index) + 1
        if m.last - m.trunc_index >= MAX_LOG:
            at = data.draw(st.integers(lo, m.last), label="at") if lo <= m.last else None
            if at is None:
                return
        else:
            at = data.draw(st.integers(lo, m.last + 1), label="at")
        n = data.draw(st.integers(1, 5), label="n")
        if at <= m.last:
            event("append overwrites a tail")
            term = m.max_term() + data.draw(st.integers(1, 2), label="bump")
        else:
            term = m.term(at - 1) + data.draw(st.integers(0, 1), label="bump")
        sizes = data.draw(st.lists(st.integers(0, 60), min_size=n, max_size=n), label="sizes")
        ents = [Entry(index=at + k, term=term, data=bytes([k % 251]) * sizes[k]) for k in range(n)]
        self.store.append(ents, self.task)
        for i in range(at, m.last + 1):
            del m.log[i]
        for e in ents:
            m.log[e.index] = e
        m.last = ents[-1].index
        if term > m.hs.term:
            # raft moves to the term of the entries it accepts: the hard state comes in the same Ready
            hs = HardState(term=term, vote=0, commit=m.hs.commit)
            self.store.set_hard_state(hs, self.task)
            m.hs = hs

    @rule(data=st.data())
    def set_hard_state(self, data: st.DataObject) -> None:
        m = self.model
        commit = data.draw(st.integers(m.hs.commit, m.last), label="commit")
        term = m.hs.term + data.draw(st.integers(0, 1), label="term bump")
        vote = data.draw(st.integers(0, 3), label="vote")
        hs = HardState(term=term, vote=vote, commit=commit)
        self.store.set_hard_state(hs, self.task)
        m.hs = hs

    @rule()
    def new_task(self) -> None:
        self._new_task()

    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        k = data.draw(st.integers(1, len(self.pending)), label="tasks")
        round_ = self.pending[:k]
        if k > 1:
            event("write round of several tasks")
        write_tasks(self.engines, [t for t, _ in round_])
        for t, _ in round_:
            self.store.on_persisted(t)
        _, snap = round_[-1]
        self.durable = (snap if snap is not None else self.model).copy()
        del self.pending[:k]
        if not self.pending:
            self._new_task()
        self._check_durable()

    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        m = self.model
        if m.hs.commit <= m.trunc_index:
            return
        applied = data.draw(st.integers(max(m.applied, m.trunc_index + 1), m.hs.commit), label="applied")
        index = data.draw(st.integers(m.trunc_index + 1, applied), label="compact index")
        term = self.store.term(index)
        assert term == m.term(index)
        st_ = self.store.apply_state
        st_.applied_index = applied
        st_.commit_index = applied
        st_.commit_term = m.term(applied)
        self.store.compact_to(index, term, self.task)
        event("compact_to")
        for i in range(m.trunc_index + 1, index + 1):
            del m.log[i]
        m.trunc_index, m.trunc_term, m.applied = index, term, applied
        if self.fed < index:
            self.fed = index

    @rule(data=st.data())
    def compact_cache(self, data: st.DataObject) -> None:
        self.store.compact_entry_cache(data.draw(st.integers(0, self.model.last + 2), label="cache idx"))

    @rule(half=st.booleans())
    def evict(self, half: bool) -> None:
        self.store.cache.evict(half)

    @rule(data=st.data())
    def feed_term_cache(self, data: st.DataObject) -> None:
        m = self.model
        start = max(self.fed, m.trunc_index) + 1
        if start > m.hs.commit:
            return
        upto = data.draw(st.integers(start, m.hs.commit), label="feed upto")
        self.store.update_term_cache(self.store.entries(start, upto + 1))
        self.fed = upto

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        m = self.model
        lo = data.draw(st.integers(m.first, m.last + 1), label="lo")
        hi = data.draw(st.integers(lo, m.last + 1), label="hi")
        max_size = data.draw(st.one_of(st.just(0), st.just(NO_LIMIT), st.integers(1, 800)), label="max_size")
        assert plain(self.store.entries(lo, hi, max_size)) == plain(limited(m.entries(lo, hi), max_size))
        if m.first - 1 < hi:
            check_against_mem_storage(self.store, reference(m), lo, hi, max_size)

    @rule(engines=st.booleans())
    def reopen(self, engines: bool) -> None:
        """reopen: a restart; staged but unwritten tasks are lost."""
        if self.model.trunc_index > 5:
            event("reopen after compaction")
        if engines:
            self.engines = self.reopen_engines()
        self.store = PeerStorage(self.engines, self.region, PEER_ID)
        self.model = self.durable.copy()
        self.pending = []
        self.fed = self.model.trunc_index
        self._new_task()

    # -- checks ------------------------------------------------------------------------------

    @invariant()
    def storage_matches_model(self) -> None:
        check_storage(self.store, self.model)

    def _check_durable(self) -> None:
        fresh = PeerStorage(self.engines, self.region, PEER_ID)
        d = self.durable
        assert fresh.first_index() == d.first and fresh.last_index() == d.last
        assert fresh.last_term() == d.last_term()
        assert fresh.hard_state() == d.hs
        for i in range(d.trunc_index, d.last + 1):
            assert fresh.term(i) == d.term(i)
        assert plain(fresh.entries(d.first, d.last + 1)) == plain(d.entries(d.first, d.last + 1))
        assert raft_log_indexes(self.engines, REGION_ID) == list(range(d.first, d.last + 1))

    def teardown(self) -> None:
        self.engines.close()


class RocksPeerStorageMachine(PeerStorageMachine):
    """RocksPeerStorageMachine: the same on real RocksDB; reopen may also close and reopen the engines."""

    def open_engines(self) -> Engines:
        self.path = tempfile.mkdtemp(prefix="ps-model-")
        return open_engines(self.path)

    def reopen_engines(self) -> Engines:
        self.engines.close()
        return open_engines(self.path)

    def teardown(self) -> None:
        try:
            self.engines.close()
        finally:
            shutil.rmtree(self.path, ignore_errors=True)


_FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TestPeerStorageModel = PeerStorageMachine.TestCase
TestPeerStorageModel.settings = settings(max_examples=500, stateful_step_count=50, **_FAST)  # type: ignore[arg-type]

TestRocksPeerStorageModel = RocksPeerStorageMachine.TestCase
TestRocksPeerStorageModel.settings = settings(max_examples=40, stateful_step_count=40, **_FAST)  # type: ignore[arg-type]


class SlowPeerStorageMachine(PeerStorageMachine):
    """SlowPeerStorageMachine: the in-memory machine for the soak run."""


class SlowRocksPeerStorageMachine(RocksPeerStorageMachine):
    """SlowRocksPeerStorageMachine: the RocksDB machine for the soak run."""


TestSlowPeerStorageModel = pytest.mark.slow(SlowPeerStorageMachine.TestCase)
TestSlowPeerStorageModel.settings = settings(max_examples=1500, stateful_step_count=80, **_FAST)  # type: ignore[arg-type]

TestSlowRocksPeerStorageModel = pytest.mark.slow(SlowRocksPeerStorageMachine.TestCase)
TestSlowRocksPeerStorageModel.settings = settings(max_examples=200, stateful_step_count=60, **_FAST)  # type: ignore[arg-type]
