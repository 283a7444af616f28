"""raftstore.store: the peers of one store on shared engines.

PeerStorage (raft's Storage for one peer of one region, TiKV semantics), its entry cache, the write
path (WriteTask, write_tasks: one group commit per round across regions), region snapshots (the snap
package) and startup recovery (recover_store); the store itself: StoreCore (the sans-IO core of a store's
rounds, see docs/store.md), run_round (its in-process driver) and the store identity (bootstrap_store).
"""

from . import snap as snap
from .bootstrap import bootstrap_initial_regions, bootstrap_store, check_store_ident
from .cmd import CmdResult, ConsistencyState
from .driver import run_round
from .entry_cache import ENTRY_CACHE_MEMORY, EntryCache, MemoryTrace, TermCache
from .errors import (
    CompactLogError,
    InvalidStateError,
    PeerTombstoneError,
    RegionCorruptionError,
    RegionNotFoundError,
    StoreError,
    StoreIdentError,
)
from .peer_storage import (
    MAX_SNAP_TRY_CNT,
    RAFT_INIT_LOG_INDEX,
    RAFT_INIT_LOG_TERM,
    GenSnapTask,
    PeerStorage,
    clear_meta,
    compact_raft_log,
    conf_state_from_region,
    is_region_initialized,
    load_region_states,
    write_initial_states,
    write_initial_states_many,
    write_peer_state,
)
from .recovery import RecoveredStore, recover_store
from .store_core import StoreConfig, StoreCore
from .write import WriteRoundStats, WriteTask, write_tasks

__all__ = [
    "ENTRY_CACHE_MEMORY",
    "EntryCache",
    "MemoryTrace",
    "TermCache",
    "CompactLogError",
    "InvalidStateError",
    "RegionCorruptionError",
    "PeerTombstoneError",
    "RegionNotFoundError",
    "StoreError",
    "StoreIdentError",
    "bootstrap_initial_regions",
    "bootstrap_store",
    "check_store_ident",
    "CmdResult",
    "ConsistencyState",
    "run_round",
    "StoreConfig",
    "StoreCore",
    "MAX_SNAP_TRY_CNT",
    "RAFT_INIT_LOG_INDEX",
    "RAFT_INIT_LOG_TERM",
    "GenSnapTask",
    "PeerStorage",
    "clear_meta",
    "compact_raft_log",
    "conf_state_from_region",
    "is_region_initialized",
    "load_region_states",
    "write_initial_states",
    "write_initial_states_many",
    "write_peer_state",
    "RecoveredStore",
    "recover_store",
    "WriteRoundStats",
    "WriteTask",
    "write_tasks",
]
