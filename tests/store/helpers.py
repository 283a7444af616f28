"""tests.store.helpers: shared helpers of the PeerStorage tests: entries, regions, engines and TiKV's storage builders.

The builders follow TiKV's peer_storage.rs test module: `new_storage` bootstraps region 1 (peer 1 on
store 1) at index/term 5 and opens a PeerStorage on it; `new_storage_from_ents(engines, ents)` then makes
ents[0] the truncated state and appends ents[1:], persisted, with every entry applied and committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from raftstore.engine import keys
from raftstore.engine.base import ALL_CFS, CF_DEFAULT
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.proto.metapb_pb2 import Peer, PeerRole, Region
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_tasks

# GARBAGE is a value that no protobuf message decodes (a truncated varint tag).
GARBAGE = b"\xff\xff\xff"


def new_entry(index: int, term: int, data: bytes = b"") -> Entry:
    """new_entry is a normal entry at (index, term), with optional data."""
    return Entry(index=index, term=term, data=data)


def new_peer(peer_id: int, store_id: int, role: int = PeerRole.Voter) -> Peer:
    """new_peer is a peer of the given role (Voter by default)."""
    return Peer(id=peer_id, store_id=store_id, role=role)


def new_region(
    region_id: int = 1,
    peers: Sequence[Peer] | None = None,
    *,
    conf_ver: int = 1,
    version: int = 1,
    start_key: bytes = b"",
    end_key: bytes = b"",
) -> Region:
    """new_region builds a region; by default one voter, peer `region_id` on store 1 (TiKV's initial_region)."""
    region = Region(id=region_id, start_key=start_key, end_key=end_key)
    region.region_epoch.conf_ver = conf_ver
    region.region_epoch.version = version
    if peers is None:
        peers = [new_peer(region_id, 1)]
    region.peers.extend(peers)
    return region


def uninitialized_region(region_id: int = 1) -> Region:
    """uninitialized_region is a region a peer learnt of from a message: no peers yet."""
    return Region(id=region_id)


class ReopenableEngines:
    """ReopenableEngines: RocksDB engines at `path` that a test can close and open again (a restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engines = open_engines(path)

    def reopen(self) -> Engines:
        """reopen closes the engines and opens them again on the same directory."""
        self.engines.close()
        self.engines = open_engines(self.path)
        return self.engines

    def close(self) -> None:
        self.engines.close()


def new_storage(engines: Engines, region: Region | None = None, peer_id: int | None = None) -> PeerStorage:
    """new_storage bootstraps region (default new_region()) and opens a PeerStorage for peer_id on it."""
    if region is None:
        region = new_region()
    write_initial_states(engines, region)
    if peer_id is None:
        peer_id = region.peers[0].id
    return PeerStorage(engines, region, peer_id)


def new_storage_from_ents(
    engines: Engines,
    ents: Sequence[Entry],
    region: Region | None = None,
    *,
    commit: int | None = None,
    applied: int | None = None,
) -> PeerStorage:
    """new_storage_from_ents: TiKV's builder. The log is truncated at ents[0] and holds ents[1:], durable
    and in the entry cache (persisted). By default everything is committed and applied; pass `commit` and
    `applied` (at least ents[0].index) to leave a tail uncommitted, e.g. to overwrite it."""
    store = new_storage(engines, region)
    last = ents[-1]
    task = WriteTask(store.region.id, store.peer_id, 1)
    store.apply_state.truncated_state.index = ents[0].index
    store.apply_state.truncated_state.term = ents[0].term
    store.append(list(ents[1:]), task)
    store.apply_state.applied_index = last.index if applied is None else applied
    hs = HardState()
    hs.CopyFrom(store.hard_state())
    hs.term = max(hs.term, last.term)
    hs.commit = last.index if commit is None else commit
    store.set_hard_state(hs, task)
    store.save_apply_state_to(task)
    write_tasks(engines, [task])
    store.on_persisted(task)
    store.update_term_cache([last])
    return store


def append_ents(store: PeerStorage, ents: Sequence[Entry], ready_number: int = 1) -> WriteTask:
    """append_ents appends ents durably: stage, write_tasks, on_persisted (TiKV's append_ents)."""
    task = WriteTask(store.region.id, store.peer_id, ready_number)
    store.append(list(ents), task)
    write_tasks(store.engines, [task])
    store.on_persisted(task)
    return task


def scan_all(engines: Engines) -> dict[tuple[str, str], list[tuple[bytes, bytes]]]:
    """scan_all is the full contents of both engines, per (engine, CF)."""
    out: dict[tuple[str, str], list[tuple[bytes, bytes]]] = {}
    for cf in ALL_CFS:
        out[("kv", cf)] = list(engines.kv.scan(cf, b"", None))
    out[("raft", CF_DEFAULT)] = list(engines.raft.scan(CF_DEFAULT, b"", None))
    return out


def raft_log_indexes(engines: Engines, region_id: int) -> list[int]:
    """raft_log_indexes lists the indexes of the region's log entries present in the raft engine."""
    start, end = keys.raft_log_range(region_id)
    return [keys.raft_log_index(k) for k, _ in engines.raft.scan(CF_DEFAULT, start, end)]


def engine_entry(engines: Engines, region_id: int, index: int) -> Entry | None:
    """engine_entry reads the log entry at index straight from the raft engine."""
    raw = engines.raft.get(CF_DEFAULT, keys.raft_log_key(region_id, index))
    return None if raw is None else Entry.FromString(raw)


def plain(ents: Sequence[Entry]) -> list[tuple[int, int, bytes]]:
    """plain turns entries into (index, term, data) tuples, for readable assertion failures."""
    return [(e.index, e.term, e.data) for e in ents]
