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

Learned addresses are kept in the data directory (`persist_to`: a JSON file, rewritten atomically whenever
something new is learned) and read back at the next start, so a restarted store reaches the stores it
learned of even when the member it joined through is gone. The file is a cache of what gossip tells: one
that cannot be read is logged and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from ..proto.metapb_pb2 import Store
from .errors import StoreConflictError

__all__ = ["StoreResolver"]

logger = logging.getLogger("raftstore.server.resolve")


class StoreResolver:
    """StoreResolver: the addresses of the stores this store knows (thread-safe).

    Invariant: `_learned` never holds an id of `_static` nor this store's id."""

    def __init__(self, static: dict[int, str], store_id: int = 0, addr: str | None = None) -> None:
        self._lock = threading.Lock()
        self._static = dict(static)
        self._self = {store_id: addr} if store_id and addr is not None and store_id not in static else {}
        self._learned: dict[int, str] = {}
        self._path: Path | None = None

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
            self._save()
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
            if changed:
                self._save()
        return changed, conflicts

    def persist_to(self, path: Path) -> None:
        """persist_to learns the stores saved at path by an earlier run (module docstring) and from now on
        saves there what is learned."""
        try:
            saved = json.loads(path.read_text()) if path.exists() else {}
            stores = [Store(id=int(sid), address=str(addr)) for sid, addr in saved.items()]
        except (OSError, ValueError, AttributeError) as err:
            logger.warning("ignoring the saved store addresses in %s: %s", path, err)
            stores = []
        with self._lock:
            self._path = path
        self.learn(stores)

    def _save(self) -> None:
        """_save writes the learned addresses to the file (lock held): a temporary file, fsynced, renamed."""
        if self._path is None:
            return
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            with open(tmp, "w") as f:
                json.dump({str(sid): addr for sid, addr in sorted(self._learned.items())}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except OSError as err:
            logger.warning("cannot save the learned store addresses to %s: %s", self._path, err)
