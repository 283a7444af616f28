"""raftstore.store.recovery: what a store does with its regions at startup (TiKV's StoreFsm init).

`recover_store(engines, mgr)` is the one function a store calls before it opens its peers. It reads every
RegionLocalState (load_region_states) and handles the three cases:

- **Tombstone**: a destroyed peer. Its region state stays (a later message to the peer is checked
  against it); leftover meta that a crash between the KV and the raft fsync of the destruction left
  behind (apply state, snapshot raft state, raft state, log) is deleted (TiKV's clear_stale_meta).
- **Applying**: a snapshot apply that a crash interrupted. If the snapshot raft state (written in the
  KV batch that made the region Applying) commits further than the raft engine's RaftLocalState, the
  raft half of that round never became durable: the old log is deleted and the snapshot raft state
  becomes the RaftLocalState (TiKV's recover_from_applying_state). Then the apply job runs again from
  the received files (snap/apply.py: idempotent) and the region is Normal.
- every other state (Normal, Merging, ...): nothing to do; the caller opens a peer for it.

The raft-state and tombstone repairs of all regions are written in one round (write_tasks: KV synced,
then raft), before any apply job runs (TiKV schedules the jobs after that write for the same reason: a
job must start from a durable raft state).

`collector_paused()` is the load path's pause of Python's cyclic garbage collector: recover_store runs
under it, and so should the opening of the peers that follows (every object a load builds lives as long
as the store; the collector would walk them again and again as they pile up).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..engine import keys
from ..engine.base import CF_DEFAULT, CF_RAFT
from ..engine.engines import Engines
from ..engine.errors import EngineError
from ..proto.raft_serverpb_pb2 import PeerState, RaftLocalState, RegionLocalState
from .errors import StoreError
from .peer_storage import _decode, clear_meta, load_region_states, write_peer_state
from .snap.apply import apply_snapshot
from .snap.manager import SnapManager
from .write import WriteTask, write_tasks

__all__ = ["RecoveredStore", "collector_paused", "recover_store"]

logger = logging.getLogger("raftstore.store")


@dataclass
class RecoveredStore:
    """RecoveredStore: what recover_store found and did.

    `regions`: the RegionLocalStates to open a peer for, in region id order: every region but the
    tombstones and the failed applies (a finished apply is listed as Normal). `applied`: ids of the
    regions whose interrupted snapshot apply was finished. `tombstones`: ids of every Tombstone region;
    `cleared` those whose leftover meta was deleted. `failed`: region id -> the error of an apply that
    failed again (its region stays Applying on disk; the caller destroys the peer, and a new snapshot
    catches it up).
    """

    regions: list[RegionLocalState] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    tombstones: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    failed: dict[int, StoreError] = field(default_factory=dict)


@contextmanager
def collector_paused() -> Iterator[None]:
    """collector_paused turns Python's cyclic garbage collector off inside and restores its previous state
    (on or off) on leaving, also when the body raises; nested uses keep it off until the outermost ends.

    A store loading its regions builds a few objects per region that live as long as the store; with the
    collector on, each collection triggered by those allocations walks every tracked object built so far
    (at 100,000 regions 0.37-0.46 s of a 1.2 s restart, docs/benchmarks.md). Nothing is lost by the pause:
    reference counting still frees what is dropped, and the first collection after it takes up the rest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def recover_store(engines: Engines, mgr: SnapManager) -> RecoveredStore:
    """recover_store handles every region of the store at startup (see the module docstring) and returns
    what to open. mgr must be initialised (mgr.init(): leftovers of an interrupted ingestion removed).

    Raises what load_region_states raises (InvalidStateError, RegionCorruptionError) and StoreError when
    an engine read or the repair round fails (nothing is then applied); an apply job's failure is not
    raised but reported in `failed`. It runs with the cyclic collector paused (collector_paused)."""
    with collector_paused():
        return _recover_store(engines, mgr)


def _recover_store(engines: Engines, mgr: SnapManager) -> RecoveredStore:
    result = RecoveredStore()
    tasks: list[WriteTask] = []
    applying: list[RegionLocalState] = []
    for state in load_region_states(engines):
        rid = state.region.id
        if state.state == PeerState.Tombstone:
            result.tombstones.append(rid)
            if _clear_tombstone(engines, state, tasks):
                result.cleared.append(rid)
        elif state.state == PeerState.Applying:
            try:
                _recover_raft_state(engines, rid, tasks)
            except StoreError as err:
                result.failed[rid] = err
                continue
            applying.append(state)
        else:
            result.regions.append(state)
    if tasks:
        write_tasks(engines, tasks)
    for state in applying:
        rid = state.region.id
        try:
            apply_snapshot(engines, mgr, rid)
        except StoreError as err:
            logger.warning("[region %d] cannot finish applying its snapshot at startup: %s", rid, err)
            result.failed[rid] = err
            continue
        result.applied.append(rid)
        normal = RegionLocalState(state=PeerState.Normal)
        normal.region.CopyFrom(state.region)
        result.regions.append(normal)
    result.regions.sort(key=lambda s: s.region.id)
    logger.info(
        "recovered store: %d regions to open, %d applies finished, %d tombstones (%d cleared), %d failed",
        len(result.regions), len(result.applied), len(result.tombstones), len(result.cleared), len(result.failed),
    )
    return result


def _get(engines: Engines, engine_name: str, cf: str, key: bytes, region_id: int) -> bytes | None:
    engine = engines.kv if engine_name == "kv" else engines.raft
    try:
        return engine.get(cf, key)
    except EngineError as err:
        raise StoreError(f"[region {region_id}] cannot read the {engine_name} engine at startup: {err}") from err


def _raft_state(engines: Engines, region_id: int) -> RaftLocalState | None:
    raw = _get(engines, "raft", CF_DEFAULT, keys.raft_state_key(region_id), region_id)
    return None if raw is None else _decode(RaftLocalState, raw, region_id, "raft state")


def _clear_tombstone(engines: Engines, state: RegionLocalState, tasks: list[WriteTask]) -> bool:
    """_clear_tombstone stages the deletion of a Tombstone region's leftover meta, if it has any (a
    raft state, apply state, snapshot raft state or log entry); the Tombstone state is written again."""
    rid = state.region.id
    raft_state = _raft_state(engines, rid)
    leftovers = raft_state is not None or any(
        _get(engines, "kv", CF_RAFT, key, rid) is not None
        for key in (keys.apply_state_key(rid), keys.snapshot_raft_state_key(rid))
    )
    if not leftovers:
        try:
            leftovers = next(iter(engines.raft.scan(CF_DEFAULT, *keys.raft_log_range(rid), limit=1)), None) is not None
        except EngineError as err:
            raise StoreError(f"[region {rid}] cannot read its raft log at startup: {err}") from err
    if not leftovers:
        return False
    logger.info("[region %d] tombstone: clearing its leftover meta", rid)
    task = WriteTask(rid, 0, 0)
    clear_meta(task, rid, 0, raft_state if raft_state is not None else RaftLocalState())
    task.delete_raft_range(*keys.raft_log_range(rid))  # entries beyond a lost raft state's last index too
    write_peer_state(task, state.region, PeerState.Tombstone)
    tasks.append(task)
    return True


def _recover_raft_state(engines: Engines, region_id: int, tasks: list[WriteTask]) -> None:
    """_recover_raft_state: TiKV's recover_from_applying_state. The snapshot raft state must be there (else
    StoreError); when it commits further than the raft engine's raft state, the old log is deleted and it
    becomes the raft state."""
    raw = _get(engines, "kv", CF_RAFT, keys.snapshot_raft_state_key(region_id), region_id)
    if raw is None:
        raise StoreError(f"[region {region_id}] is Applying but has no snapshot raft state")
    snap_state = _decode(RaftLocalState, raw, region_id, "snapshot raft state")
    raft_state = _raft_state(engines, region_id) or RaftLocalState()
    if snap_state.hard_state.commit <= raft_state.hard_state.commit:
        return
    logger.info(
        "[region %d] applying: raft state restored from the snapshot raft state (last index %d -> %d)",
        region_id, raft_state.last_index, snap_state.last_index,
    )
    task = WriteTask(region_id, 0, 0)
    task.delete_raft_range(*keys.raft_log_range(region_id))
    task.raft_state = snap_state
    tasks.append(task)
