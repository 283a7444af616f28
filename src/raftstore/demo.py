"""raftstore.demo: the storage walkthrough that `make demo` runs (until the store loop exists).

It bootstraps regions on embedded RocksDB (or reuses those a previous run left), appends entries across
all regions in group-committed rounds, advances the applied index, compacts and garbage-collects the log,
reads entries back (from the entry cache and from the engine), restarts from disk, and prints the states
and the entry cache's hit ratio along the way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .engine import open_engines
from .engine.engines import Engines
from .proto.eraftpb_pb2 import Entry, HardState
from .proto.metapb_pb2 import Peer, PeerRole, Region, RegionEpoch
from .proto.raft_serverpb_pb2 import PeerState
from .store import (
    PeerStorage,
    StoreError,
    WriteTask,
    load_region_states,
    write_initial_states_many,
    write_tasks,
)

__all__ = ["TABLE_HEADER", "format_peers", "format_region", "opened_engines", "run_demo"]

logger = logging.getLogger(__name__)

# STORE_ID: the store the demo runs as; every region it bootstraps has one peer, on this store.
STORE_ID = 1

# TABLE_HEADER heads the rows of format_region.
TABLE_HEADER = (
    f"  {'region':>6} {'state':>9} {'first':>8} {'last':>8} {'term':>5} {'commit':>8} {'applied':>8} "
    f"{'truncated':>9}  peers (id@store)"
)


@contextmanager
def opened_engines(path: Path, *, read_only: bool = False) -> Iterator[Engines]:
    """opened_engines opens the engines under path (read-only: nothing is created or changed) for a with-block
    and closes them after it. When the block fails and closing fails too, the block's error is raised (it is
    the one that explains what happened) and the close error is only logged."""
    engines = open_engines(path, read_only=read_only)
    try:
        yield engines
    except BaseException:
        try:
            engines.close()
        except Exception as close_err:
            logger.info("closing the engines under %s after a failure failed too: %s", path, close_err)
        raise
    engines.close()


def _region(region_id: int, count: int) -> Region:
    start = b"" if region_id == 1 else b"key%06d" % ((region_id - 1) * 1_000_000 // count)
    end = b"" if region_id == count else b"key%06d" % (region_id * 1_000_000 // count)
    return Region(
        id=region_id,
        start_key=start,
        end_key=end,
        region_epoch=RegionEpoch(conf_ver=1, version=1),
        peers=[Peer(id=region_id * 100 + STORE_ID, store_id=STORE_ID)],
    )


def _store_peer(region: Region) -> Peer:
    """_store_peer is the region's peer on STORE_ID; a region without one is not the demo's (StoreError)."""
    for peer in region.peers:
        if peer.store_id == STORE_ID:
            return peer
    raise StoreError(
        f"[region {region.id}] has no peer on store {STORE_ID} (peers: {format_peers(region)}): "
        "not a data directory of the demo"
    )


def _open_storages(engines: Engines) -> dict[int, PeerStorage]:
    """_open_storages opens the storage of the demo's peer (on STORE_ID) of every region not tombstoned."""
    storages = {}
    for state in load_region_states(engines):
        if state.state == PeerState.Tombstone:
            continue  # a destroyed peer: its region state stays as a tombstone, it has no storage
        storages[state.region.id] = PeerStorage(engines, state.region, _store_peer(state.region).id)
    return storages


def format_peers(region: Region) -> str:
    """format_peers lists the region's peers as id@store, with the role when it is not Voter; "none" if empty."""
    return " ".join(
        f"{p.id}@{p.store_id}" + ("" if p.role == PeerRole.Voter else f"({PeerRole.Name(p.role)})")
        for p in region.peers
    ) or "none"


def format_region(region: Region, state: PeerState, ps: PeerStorage | None) -> str:
    """format_region is the table row (see TABLE_HEADER) of a region in the given peer state; ps is its
    storage, None for a tombstone (its log and states were cleared: the indexes print as "-")."""
    name = PeerState.Name(state).lower()
    if ps is None:
        indexes = f"{'-':>8} {'-':>8} {'-':>5} {'-':>8} {'-':>8} {'-':>9}"
    else:
        indexes = (
            f"{ps.first_index():>8} {ps.last_index():>8} {ps.last_term():>5} "
            f"{ps.commit_index():>8} {ps.applied_index():>8} {ps.truncated_index():>9}"
        )
    return f"  {region.id:>6} {name:>9} {indexes}  {format_peers(region)}"


def _print_states(storages: dict[int, PeerStorage], out: Callable[[str], None], limit: int = 8) -> None:
    out(TABLE_HEADER)
    for region_id in sorted(storages)[:limit]:
        ps = storages[region_id]
        region_state = ps.region_state()
        out(format_region(ps.region, PeerState.Normal if region_state is None else region_state.state, ps))
    if len(storages) > limit:
        out(f"  ... and {len(storages) - limit} more regions")


def _append_rounds(
    engines: Engines, storages: dict[int, PeerStorage], rounds: int, per_round: int, payload: bytes
) -> tuple[int, float]:
    """_append_rounds appends per_round entries to every region per round, one group commit per round.
    A single-voter region commits what is durable: each round commits and applies the entries that the
    previous rounds persisted (the apply state goes into the KV batch, synced before the raft batch), and a
    last round without new entries applies the rest. Returns (most fsyncs in a round, seconds)."""
    syncs = 0
    start = time.perf_counter()
    for number in range(1, rounds + 2):
        tasks = []
        for region_id, ps in storages.items():
            task = WriteTask(region_id, ps.peer_id, number)
            durable = ps.last_index()
            if ps.applied_index() < durable:
                ps.set_hard_state(HardState(term=ps.hard_state().term, vote=ps.hard_state().vote, commit=durable), task)
                ps.apply_state.applied_index = ps.apply_state.commit_index = durable
                ps.apply_state.commit_term = ps.last_term()
                ps.save_apply_state_to(task)
            if number <= rounds:
                first, term = durable + 1, ps.last_term()
                ps.append([Entry(index=i, term=term, data=payload) for i in range(first, first + per_round)], task)
            tasks.append(task)
        syncs = max(syncs, write_tasks(engines, tasks).syncs)
        for task in tasks:
            storages[task.region_id].on_persisted(task)
    return syncs, time.perf_counter() - start


def run_demo(data: Path, regions: int = 16, rounds: int = 50, per_round: int = 20, out: Callable[[str], None] = print) -> None:
    """run_demo runs the walkthrough on the engines under data (see the module docstring)."""
    out(f"raftstore storage walkthrough on embedded RocksDB under {data}/ (kv and raft engines)")
    with opened_engines(data) as engines:
        storages = _open_storages(engines)
        if storages:
            out(f"\n1. found {len(storages)} regions left by an earlier run; continuing from their state")
        else:
            write_initial_states_many(engines, [_region(region_id, regions) for region_id in range(1, regions + 1)])
            storages = _open_storages(engines)
            out(f"\n1. bootstrapped {len(storages)} regions at index/term 5 (one group commit)")
        _print_states(storages, out)

        total = rounds * per_round * len(storages)
        syncs, secs = _append_rounds(engines, storages, rounds, per_round, b"v" * 256)
        out(
            f"\n2. appended {total} entries of 256 B across {len(storages)} regions in {rounds} rounds, each round "
            f"applying what the one before made durable (+1 round to apply the last): "
            f"{total / secs:,.0f} entries/s, at most {syncs} fsyncs per round (however many regions)"
        )
        _print_states(storages, out)

        gc_tasks = []
        for region_id, ps in storages.items():
            task = WriteTask(region_id, ps.peer_id, rounds + 1)
            keep_from = ps.applied_index() - per_round * rounds // 2
            ps.compact_to(keep_from, ps.term(keep_from), task)
            gc_tasks.append(task)
        write_tasks(engines, gc_tasks)
        for ps in storages.values():
            # Applied entries leave the cache, as TiKV's peer compacts it after apply; the newest stay.
            ps.compact_entry_cache(ps.applied_index() - per_round + 1)
            ps.entries(max(ps.first_index(), ps.last_index() - per_round + 1), ps.last_index() + 1)
            ps.entries(ps.first_index(), min(ps.first_index() + per_round, ps.last_index() + 1))
        out("\n3. compacted each log to its newest half (log GC deleted the rest once the truncated states were")
        out("   synced), let applied entries leave the entry cache, then read the newest entries (from the")
        out("   cache) and the oldest kept ones (from the raft engine)")
        _print_states(storages, out)
        hits, misses, cache_bytes = (sum(column) for column in zip(*(ps.cache_stats() for ps in storages.values())))
        out(f"   entry cache: {hits} hits, {misses} misses, hit ratio {hits / max(hits + misses, 1):.2f}, {cache_bytes:,} B held")

    start = time.perf_counter()
    with opened_engines(data) as engines:
        storages = _open_storages(engines)
        secs = time.perf_counter() - start
        out(f"\n4. restarted: reopened the engines and {len(storages)} peer storages in {secs * 1000:.0f} ms (states only, no log scan)")
        _print_states(storages, out)
        ps = storages[min(storages)]
        ents = ps.entries(ps.first_index(), ps.last_index() + 1, 64 * 1024)
        out(
            f"   region {ps.region_id}: entries({ps.first_index()}, {ps.last_index() + 1}, max_size=64 KiB) -> "
            f"{len(ents)} entries from the engine (cache hits {ps.cache.hit}, misses {ps.cache.miss})"
        )
