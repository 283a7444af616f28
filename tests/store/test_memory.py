"""Memory of idle regions and of the entry cache: RSS measured in a fresh interpreter (an allocator that has
served the test suite would reuse freed memory and hide growth), and the cache's MemoryTrace limit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.store import (
    MemoryTrace,
    PeerStorage,
    WriteTask,
    write_initial_states,
    write_tasks,
)
from raftstore.store.entry_cache import ENTRY_MEM_OVERHEAD

from .helpers import new_region

# _PRELUDE: what every measuring child needs: a region builder and RSS in bytes.
_PRELUDE = """
import gc, struct
from raftstore.engine import open_engines
from raftstore.proto.eraftpb_pb2 import Message
from raftstore.proto.metapb_pb2 import Peer, Region, RegionEpoch
from raftstore.store import MemoryTrace, PeerStorage, WriteTask, write_initial_states_many

def region(rid):
    return Region(id=rid, start_key=struct.pack(">Q", rid), end_key=struct.pack(">Q", rid + 1),
                  region_epoch=RegionEpoch(conf_ver=1, version=1), peers=[Peer(id=rid, store_id=1)])

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
"""


def _run(tmp_path: Path, body: str) -> float:
    """_run runs body (which prints one number) in a fresh interpreter and returns the number."""
    script = _PRELUDE + textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "db")], capture_output=True, text=True, check=True, timeout=120
    )
    return float(out.stdout.strip().splitlines()[-1])


def test_idle_region_holds_at_most_1_5_kib(tmp_path: Path) -> None:
    """20,000 bootstrapped regions reopened as PeerStorages: RSS growth per region ≤ 1.5 KiB (it was ~4 KiB
    when each held its Region, RaftLocalState and RaftApplyState as upb messages and a dict)."""
    per_region = _run(
        tmp_path,
        """
        import sys
        n = 20_000
        engines = open_engines(sys.argv[1])
        write_initial_states_many(engines, [region(r) for r in range(1, n + 1)])
        regions = [region(r) for r in range(1, n + 1)]
        gc.collect()
        before = rss()
        peers = [PeerStorage(engines, r, r.id) for r in regions]
        gc.collect()
        print((rss() - before) / n)
        """,
    )
    assert 0 < per_region <= 1536


@pytest.mark.parametrize("size", [256, 1024])
def test_entry_cache_accounts_what_it_holds(tmp_path: Path, size: int) -> None:
    """Entries as raft hands them over (decoded in batches of 100, sharing an arena) appended through
    PeerStorage: the cache's accounted bytes are within 20% of the RSS they hold."""
    ratio = _run(
        tmp_path,
        f"""
        import sys
        engines = open_engines(sys.argv[1])
        write_initial_states_many(engines, [region(1)])
        trace = MemoryTrace()
        ps = PeerStorage(engines, region(1), 1, cache_trace=trace)
        wire = []
        for k in range(200):
            m = Message()
            for i in range(6 + 100 * k, 106 + 100 * k):
                m.entries.add(index=i, term=5, data=b"x" * {size})
            wire.append(m.SerializeToString())
        gc.collect()
        before = rss()
        for k, raw in enumerate(wire):
            ps.append(list(Message.FromString(raw).entries), WriteTask(1, 1, k + 1))
        gc.collect()
        print(trace.bytes / (rss() - before))
        """,
    )
    assert 0.8 <= ratio <= 1.2


def _persist(engines: Engines, ps: PeerStorage, ents: list[Entry], number: int) -> None:
    task = WriteTask(ps.region.id, ps.peer_id, number)
    ps.append(ents, task)
    ps.set_hard_state(HardState(term=5, commit=ents[-1].index), task)
    write_tasks(engines, [task])
    ps.on_persisted(task)


def test_cache_limit_evicts_applied_entries_first(engines: Engines) -> None:
    """Over the trace's limit, persisting evicts the persisted and applied entries first; a limit still
    exceeded then evicts persisted entries not applied yet, never unpersisted ones."""
    write_initial_states(engines, new_region(1))
    limit = 20 * (Entry(index=30, term=5, data=b"x" * 1000).ByteSize() + ENTRY_MEM_OVERHEAD)  # 20 entries
    trace = MemoryTrace(limit)
    ps = PeerStorage(engines, new_region(1), 1, cache_trace=trace)
    _persist(engines, ps, [Entry(index=i, term=5, data=b"x" * 1000) for i in range(6, 26)], 1)
    assert (ps.cache.first_index(), ps.cache.last_index()) == (6, 25)  # 20 entries: within the limit
    ps.apply_state.applied_index = 15
    _persist(engines, ps, [Entry(index=i, term=5, data=b"x" * 1000) for i in range(26, 31)], 2)
    # 25 entries are over the limit: 6..15 (applied) go, 16..30 (persisted, not applied) fit and stay.
    assert (ps.cache.first_index(), ps.cache.last_index()) == (16, 30)
    assert trace.bytes <= limit
    _persist(engines, ps, [Entry(index=i, term=5, data=b"x" * 1000) for i in range(31, 51)], 3)
    # Still over after dropping what is applied (nothing more is): every persisted entry goes.
    assert ps.cache.is_empty() and trace.bytes == 0
    assert [e.index for e in ps.entries(16, 51)] == list(range(16, 51))  # read back from the raft engine
    task = WriteTask(1, 1, 4)
    ps.append([Entry(index=i, term=5, data=b"x" * 1000) for i in range(51, 81)], task)
    assert ps.evict_entry_cache() == 0  # nothing persisted in the cache: over the limit, nothing goes
    assert (ps.cache.first_index(), ps.cache.last_index()) == (51, 80)


def test_cache_without_limit_keeps_everything(engines: Engines) -> None:
    write_initial_states(engines, new_region(1))
    trace = MemoryTrace()
    ps = PeerStorage(engines, new_region(1), 1, cache_trace=trace)
    _persist(engines, ps, [Entry(index=i, term=5, data=b"x" * 1000) for i in range(6, 106)], 1)
    ps.apply_state.applied_index = 105
    ps.update_term_cache([Entry(index=105, term=5)])
    assert (ps.cache.first_index(), ps.cache.last_index(), trace.over_limit()) == (6, 105, False)
