"""PeerStorage keeps its states as ints: the public messages still say the same, the write path writes the
same bytes, and the apply state the owner changes in place is the one PeerStorage reads and saves."""

from __future__ import annotations

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import HardState
from raftstore.proto.raft_serverpb_pb2 import RaftApplyState, RaftLocalState
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_tasks
from raftstore.store.write import raft_local_state

from .helpers import new_entry, new_region


def _storage(engines: Engines, region_id: int = 1) -> PeerStorage:
    write_initial_states(engines, new_region(region_id))
    return PeerStorage(engines, new_region(region_id), region_id)


def test_raft_state_is_kept_current_both_ways(engines: Engines) -> None:
    """raft_state, once read, follows every change, and what the owner writes into it is the state at the
    next call (as when it was the state itself, TiKV's raft_state_mut)."""
    ps = _storage(engines)
    state = ps.raft_state
    task = WriteTask(1, 1, 1)
    ps.append([new_entry(6, 5), new_entry(7, 6)], task)
    ps.set_hard_state(HardState(term=6, vote=1, commit=6), task)
    expected = RaftLocalState(hard_state=HardState(term=6, vote=1, commit=6), last_index=7)
    assert state is ps.raft_state and state == expected and ps.hard_state() == expected.hard_state
    assert task.raft_state == expected
    state.hard_state.commit = 7
    state.last_index = 6  # the owner drops entry 7 from the state, as a test may
    assert (ps.commit_index(), ps.last_index()) == (7, 6)
    staged = WriteTask(1, 1, 2)
    ps.set_hard_state(HardState(term=6, vote=1, commit=6), staged)
    assert staged.raft_state == RaftLocalState(hard_state=HardState(term=6, vote=1, commit=6), last_index=6)
    ps.set_commit_index(6)
    assert state.hard_state.commit == 6


def test_staged_values_write_the_bytes_of_the_message(engines: Engines) -> None:
    """One region stages its raft state as values (append + set_hard_state), another gets the same
    RaftLocalState assigned as a message: the raft engine holds the same bytes for both."""
    values = _storage(engines, 1)
    _storage(engines, 2)
    staged = WriteTask(1, 1, 1)
    values.append([new_entry(6, 5)], staged)
    values.set_hard_state(HardState(term=5, vote=3, commit=5), staged)
    assigned = WriteTask(2, 2, 1)
    assigned.raft_state = raft_local_state((5, 3, 5, 6))
    write_tasks(engines, [staged, assigned])
    one = engines.raft.get(CF_DEFAULT, keys.raft_state_key(1))
    assert one == engines.raft.get(CF_DEFAULT, keys.raft_state_key(2))
    assert one == RaftLocalState(hard_state=HardState(term=5, vote=3, commit=5), last_index=6).SerializeToString()
    again = PeerStorage(engines, new_region(1), 1)
    assert (again.raft_state, again.last_index(), again.last_term()) == (values.raft_state, 6, 5)


def test_hard_state_replaces_the_one_of_an_assigned_message(engines: Engines) -> None:
    ps = _storage(engines)
    task = WriteTask(1, 1, 1)
    task.raft_state = raft_local_state((5, 0, 5, 5))
    ps.set_hard_state(HardState(term=7, vote=1, commit=5), task)
    assert task.raft_state == RaftLocalState(hard_state=HardState(term=7, vote=1, commit=5), last_index=5)


def test_apply_state_changed_in_place_is_read_and_saved(engines: Engines) -> None:
    ps = _storage(engines)
    task = WriteTask(1, 1, 1)
    ps.append([new_entry(i, 5) for i in range(6, 11)], task)
    ps.set_hard_state(HardState(term=5, commit=10), task)
    write_tasks(engines, [task])
    ps.on_persisted(task)
    state = ps.apply_state
    assert state is ps.apply_state  # built once, then the same message
    state.applied_index = state.commit_index = 9
    state.commit_term = 5
    state.truncated_state.index, state.truncated_state.term = 8, 5
    assert (ps.applied_index(), ps.truncated_index(), ps.truncated_term(), ps.first_index()) == (9, 8, 5, 9)
    assert ps.term(8) == 5
    save = WriteTask(1, 1, 2)
    ps.save_apply_state_to(save)
    write_tasks(engines, [save])
    stored = RaftApplyState.FromString(engines.kv.get(CF_RAFT, keys.apply_state_key(1)) or b"")
    assert stored == state and PeerStorage(engines, new_region(1), 1).apply_state == state


def test_apply_state_keeps_a_field_the_ints_do_not_hold(engines: Engines) -> None:
    ps = _storage(engines)
    loaded = RaftApplyState()
    loaded.CopyFrom(ps.apply_state)
    loaded.last_commit_index = 5
    engines.kv.put(CF_RAFT, keys.apply_state_key(1), loaded.SerializeToString())
    again = PeerStorage(engines, new_region(1), 1)
    assert again.apply_state == loaded


def test_uninitialized_peer_states_are_empty_messages(engines: Engines) -> None:
    ps = PeerStorage(engines, new_region(5, []), 5)
    assert ps.apply_state == RaftApplyState() and not ps.apply_state.HasField("truncated_state")
    assert (ps.raft_state.last_index, ps.hard_state()) == (0, HardState())
