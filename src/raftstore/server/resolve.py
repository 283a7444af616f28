"""raftstore.server.resolve: store id -> address, without a central service.

A store starts from the initial cluster map (`--initial-cluster ID=HOST:PORT,...`, the same on every
initial store). Stores joining through any member (`--join`) and gossip of known stores are not built
yet: until then the map is the initial one, and a store outside it cannot be reached.
"""

from __future__ import annotations

import threading

from ..proto.metapb_pb2 import Store

__all__ = ["StoreResolver"]


class StoreResolver:
    """StoreResolver: the addresses of the stores this store knows (thread-safe)."""

    def __init__(self, initial: dict[int, str]) -> None:
        self._lock = threading.Lock()
        self._addrs = dict(initial)

    def address(self, store_id: int) -> str | None:
        """address is store_id's client address, None when unknown."""
        with self._lock:
            return self._addrs.get(store_id)

    def stores(self) -> list[Store]:
        """stores are the known stores, by id."""
        with self._lock:
            return [Store(id=sid, address=addr) for sid, addr in sorted(self._addrs.items())]
