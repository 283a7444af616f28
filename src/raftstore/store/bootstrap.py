"""raftstore.store.bootstrap: a store's identity and the first region, as TiKV's bootstrap does.

A store's identity is TiKV's StoreIdent {cluster_id, store_id}, at STORE_IDENT_KEY (01 01) in the KV
engine's CF default. `bootstrap_store` writes it, synced, into an empty data directory; it is idempotent
for the same identity and refuses another. `check_store_ident` is what opening a store runs: a directory
without an identity, or with another store's or cluster's, is refused (StoreIdentError), nothing written.

`bootstrap_initial_regions` writes the initial states of the cluster's first regions (index/term 5) on
one store, in one group commit; every initial store does it with the same regions, so that their peers
start from the same state.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.message import DecodeError

from ..engine import keys
from ..engine.base import CF_DEFAULT, CF_RAFT, DATA_CFS
from ..engine.engines import Engines
from ..engine.errors import EngineError
from ..proto.metapb_pb2 import Region
from ..proto.raft_serverpb_pb2 import StoreIdent
from .errors import StoreError, StoreIdentError
from .peer_storage import load_region_states, write_initial_states_many

__all__ = [
    "load_store_ident",
    "check_store_ident",
    "bootstrap_store",
    "bootstrap_initial_regions",
    "IdAllocator",
    "ID_ALLOC_KEY",
    "ID_STORE_SHIFT",
]

# ID_ALLOC_KEY: where a store's IdAllocator persists the end of its reserved block (KV engine, CF default).
ID_ALLOC_KEY = bytes([keys.LOCAL_PREFIX, 0x04])
# ID_STORE_SHIFT: an allocated id is (store_id << ID_STORE_SHIFT) | n: unique across the cluster, above
# every id of the bootstrap regions (which stay below 2^40).
ID_STORE_SHIFT = 40


def load_store_ident(engines: Engines) -> StoreIdent | None:
    """load_store_ident is the engines' StoreIdent, None when there is none."""
    raw = engines.kv.get(CF_DEFAULT, keys.STORE_IDENT_KEY)
    if raw is None:
        return None
    try:
        return StoreIdent.FromString(raw)
    except DecodeError as err:
        raise StoreIdentError(f"the store identity at {keys.STORE_IDENT_KEY.hex()} does not decode: {err}") from err


def check_store_ident(engines: Engines, cluster_id: int, store_id: int) -> None:
    """check_store_ident refuses engines that are not store store_id's of cluster cluster_id."""
    ident = load_store_ident(engines)
    where = engines.path or "the in-memory engines"
    if ident is None:
        raise StoreIdentError(f"{where} holds no store identity: bootstrap the store first")
    if (ident.cluster_id, ident.store_id) != (cluster_id, store_id):
        raise StoreIdentError(
            f"{where} belongs to store {ident.store_id} of cluster {ident.cluster_id}, "
            f"not store {store_id} of cluster {cluster_id}"
        )


def bootstrap_store(engines: Engines, cluster_id: int, store_id: int) -> None:
    """bootstrap_store writes StoreIdent {cluster_id, store_id} (synced) into empty engines. Engines that
    already carry this identity are left as they are; another identity, or data without an identity
    (TiKV: "store is not empty and has already had data"), is refused with StoreIdentError."""
    if cluster_id == 0 or store_id == 0:
        raise StoreIdentError(f"cluster id {cluster_id} and store id {store_id} must not be zero")
    ident = load_store_ident(engines)
    if ident is not None:
        check_store_ident(engines, cluster_id, store_id)
        return
    kv = engines.kv
    if any(next(iter(kv.scan(cf, b"", None, limit=1)), None) is not None for cf in (*DATA_CFS, CF_RAFT)):
        raise StoreIdentError(f"{engines.path or 'the engines'} hold data but no store identity; refusing them")
    wb = kv.write_batch()
    wb.put(CF_DEFAULT, keys.STORE_IDENT_KEY, StoreIdent(cluster_id=cluster_id, store_id=store_id).SerializeToString())
    kv.write(wb, sync=True)


def bootstrap_initial_regions(engines: Engines, regions: Sequence[Region]) -> bool:
    """bootstrap_initial_regions writes the regions' initial states (all or none) unless the store already
    hosts regions; returns whether it wrote them (a restart of a bootstrapped store writes nothing)."""
    if load_region_states(engines):
        return False
    write_initial_states_many(engines, regions)
    return True


class IdAllocator:
    """IdAllocator hands out region and peer ids unique across the cluster without a central service:
    id = (store_id << 40) | n, n from a per-store counter. Before an id of a block of `step` is handed
    out, the block's end is written (synced) at ID_ALLOC_KEY; a restart starts after the last block
    reserved, so an id is never handed out twice even if the ids of a block were lost in a crash."""

    def __init__(self, engines: Engines, store_id: int, step: int = 100) -> None:
        if not 0 < store_id < (1 << (64 - ID_STORE_SHIFT)):
            raise StoreIdentError(f"store id {store_id} does not fit an allocated id")
        self.engines = engines
        self.store_id = store_id
        self.step = step
        raw = engines.kv.get(CF_DEFAULT, ID_ALLOC_KEY)
        self._limit = int.from_bytes(raw, "big") if raw is not None else 1
        self._next = self._limit

    def alloc(self) -> int:
        """alloc is a new id, durable before it is returned (StoreError when the write fails)."""
        if self._next >= self._limit:
            limit = self._next + self.step
            wb = self.engines.kv.write_batch()
            wb.put(CF_DEFAULT, ID_ALLOC_KEY, limit.to_bytes(8, "big"))
            try:
                self.engines.kv.write(wb, sync=True)
            except EngineError as err:
                raise StoreError(f"store {self.store_id}: cannot reserve ids: {err}") from err
            self._limit = limit
        n = self._next
        self._next += 1
        return (self.store_id << ID_STORE_SHIFT) | n
