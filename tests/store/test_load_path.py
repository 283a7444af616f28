"""The load path: load_apply_states (one scan for every region's apply state) and PeerStorage's
`apply_states` and `adopt_region` options build the same storages as a get per region and a copied Region."""

from __future__ import annotations

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_RAFT
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import HardState
from raftstore.proto.raft_serverpb_pb2 import RaftApplyState
from raftstore.store import (
    PeerStorage,
    RegionCorruptionError,
    WriteTask,
    load_region_states,
    write_initial_states_many,
    write_tasks,
)
from raftstore.store.peer_storage import load_apply_states

from .helpers import new_entry, new_region, uninitialized_region
from .test_corruption import ENGINE_FAULTS, faulty_engines

# The regions of the store: 1-3 bootstrapped, 2 written further (log 6..9, compacted to 7), 3 with an
# apply-state field the ints do not hold, 4 with no state at all (an uninitialized peer's region).
WRITTEN, EXTRA, UNINIT = 2, 3, 4


def populate(engines: Engines) -> None:
    write_initial_states_many(engines, [new_region(rid) for rid in (1, WRITTEN, EXTRA)])
    ps = PeerStorage(engines, new_region(WRITTEN), WRITTEN)
    task = WriteTask(WRITTEN, WRITTEN, 1)
    ps.append([new_entry(i, 6, b"d%d" % i) for i in range(6, 10)], task)
    ps.set_hard_state(HardState(term=6, vote=2, commit=8), task)
    ps.apply_state.applied_index = ps.apply_state.commit_index = 8
    ps.apply_state.commit_term = 6
    ps.compact_to(7, 6, task)
    task.put_kv(CF_RAFT, keys.snapshot_raft_state_key(WRITTEN), b"not read by the load")
    task.put_kv(CF_RAFT, keys.uninit_hard_state_key(WRITTEN), b"nor this")
    write_tasks(engines, [task])
    extra = RaftApplyState.FromString(engines.kv.get(CF_RAFT, keys.apply_state_key(EXTRA)) or b"")
    extra.last_commit_index = 5
    engines.kv.put(CF_RAFT, keys.apply_state_key(EXTRA), extra.SerializeToString())


def described(ps: PeerStorage) -> tuple[object, ...]:
    return (
        ps.region.SerializeToString(),
        ps.raft_state.SerializeToString(),
        ps.apply_state.SerializeToString(),
        ps.first_index(),
        ps.last_index(),
        ps.last_term(),
        ps.applied_term(),
    )


def test_load_apply_states_reads_each_regions_apply_state(engines: Engines) -> None:
    """One scan gives what a get per region gives: the apply states only, none for a region without one."""
    populate(engines)
    loaded = load_apply_states(engines)
    assert sorted(loaded) == [1, WRITTEN, EXTRA]
    for rid in (1, WRITTEN, EXTRA):
        assert loaded[rid] == engines.kv.get(CF_RAFT, keys.apply_state_key(rid))


@pytest.mark.parametrize(
    "rid", [1, WRITTEN, EXTRA, UNINIT], ids=["bootstrapped", "written", "extra field", "uninitialized"]
)
def test_preloaded_storage_is_the_one_read_by_gets(engines: Engines, rid: int) -> None:
    """PeerStorage built with apply_states (and adopting its region) equals one built by gets."""
    populate(engines)
    region = new_region(rid) if rid != UNINIT else uninitialized_region(rid)
    loaded = load_apply_states(engines)
    preloaded = PeerStorage(engines, region, rid, apply_states=loaded)
    assert described(preloaded) == described(PeerStorage(engines, region, rid))


def test_the_load_path_opens_every_region_as_gets_do(engines: Engines) -> None:
    """load_region_states + load_apply_states + adopting each state's region: the same storages."""
    populate(engines)
    states = load_region_states(engines)
    loaded = load_apply_states(engines)
    fast = [PeerStorage(engines, st.region, st.region.id, apply_states=loaded, adopt_region=True) for st in states]
    slow = [PeerStorage(engines, st.region, st.region.id) for st in load_region_states(engines)]
    assert [described(ps) for ps in fast] == [described(ps) for ps in slow]
    assert [ps.region is st.region for ps, st in zip(fast, states)] == [True] * 3
    assert loaded == {}  # each storage took its apply state out


def test_region_is_copied_unless_adopted(engines: Engines) -> None:
    populate(engines)
    region = new_region(1)
    copied, adopted = PeerStorage(engines, region, 1), PeerStorage(engines, region, 1, adopt_region=True)
    assert (copied.region is region, copied.region == region, adopted.region is region) == (False, True, True)


@pytest.mark.parametrize("after, named", [(0, 0), (1, 2), (2, 5)])
def test_load_apply_states_scan_failure_is_corruption(after: int, named: int) -> None:
    """A KV scan that RocksDB stops early is corruption naming the last region read, never fewer states."""
    engines, kv, _ = faulty_engines()
    write_initial_states_many(engines, [new_region(rid) for rid in (2, 5, 9)])
    assert sorted(load_apply_states(engines)) == [2, 5, 9]
    kv.error, kv.after = ENGINE_FAULTS[0], after
    with pytest.raises(RegionCorruptionError) as info:
        load_apply_states(engines)
    assert info.value.region_id == named
