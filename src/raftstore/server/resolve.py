"""raftstore.server.resolve: store id -> address, without a central service.

Three sources, in this order of precedence:
- static: the initial cluster (`--initial-cluster ID=HOST:PORT,...` or the config file). Static
  addresses always win over learned ones (the chaos harness points stores at per-link proxies this way);
- this store itself (its `--addr`), unless the static map names it;
- learned: from a `--join` (the member's answer), from stores joining through this one, and from gossip
  (raftstore.server.gossip: stores exchange the set of stores they know, periodically).

A store id is bound to one address: a learned address for an id already known at another address is a
conflict. `admit` (a store joining through this one) refuses it with StoreConflictError; `learn`
(gossip) keeps what it knew and reports the conflict to the caller, which logs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ..proto.metapb_pb2 import Store
from .errors import StoreConflictError

__all__ = ["StoreResolver"]


class StoreResolver:
    """StoreResolver: the addresses of the stores this store knows (thread-safe).

    Invariant: `_learned` never holds an id of `_static` nor this store's id."""

    def __init__(self, static: dict[int, str], store_id: int = 0, addr: str | None = None) -> None:
        self._lock = threading.Lock()
        self._static = dict(static)
        self._self = {store_id: addr} if store_id and addr is not None and store_id not in static else {}
        self._learned: dict[int, str] = {}

    def address(self, store_id: int) -> str | None:
        """address is store_id's client address, None when unknown."""
        with self._lock:
            return self._known().get(store_id)

    def stores(self) -> list[Store]:
        """stores are the known stores, by id."""
        with self._lock:
            return [Store(id=sid, address=addr) for sid, addr in sorted(self._known().items())]

    def _known(self) -> dict[int, str]:
        return {**self._learned, **self._self, **self._static}

    def admit(self, store: Store) -> bool:
        """admit learns a store that joins through this one; StoreConflictError when its id is known at
        another address (or is this store's). Returns whether it was new."""
        with self._lock:
            known = self._known().get(store.id)
            if known is not None and known != store.address:
                raise StoreConflictError(
                    f"store {store.id} is already known at {known}, not {store.address}: store ids are unique "
                    f"in a cluster (give this store a new id, or its old address)"
                )
            if known is not None:
                return False
            self._learned[store.id] = store.address
            return True

    def learn(self, stores: Iterable[Store]) -> tuple[bool, list[str]]:
        """learn takes the stores another store knows (gossip, a join's answer): new ids are added; static
        ids and this store's are left as they are (static wins). Returns (whether anything was new, the
        conflicts: ids another store knows at another address than a learned one here, kept as they were)."""
        changed, conflicts = False, []
        with self._lock:
            for store in stores:
                if not store.id or not store.address or store.id in self._static or store.id in self._self:
                    continue
                known = self._learned.get(store.id)
                if known is None:
                    self._learned[store.id] = store.address
                    changed = True
                elif known != store.address:
                    conflicts.append(f"store {store.id} is known here at {known}, another store says {store.address}")
        return changed, conflicts
