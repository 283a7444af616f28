"""raftstore.server.gossip: stores exchange the set of stores they know (store id -> address).

At start, every `interval` seconds, and at once when this store learned something new (`poke`), the gossiper sends
a `raftstorepb.Raft/Gossip` call with every store it knows (itself included) to up to FANOUT other known
stores, picked at random, and learns the stores each answers. A store joining through any member
(`Raft/Join`) is thus known to every store within a few rounds, without a central service. What the
resolver does with what is learned (static addresses win; a conflicting address is kept out and logged)
is raftstore.server.resolve's. A store that cannot be reached is skipped until the next round.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable

import grpc

from ..proto.metapb_pb2 import Store
from ..proto.raftstorepb_pb2 import GossipRequest, GossipResponse
from .resolve import StoreResolver
from .rpc import Connect, raft_method, unary_call

__all__ = ["FANOUT", "Gossiper"]

logger = logging.getLogger("raftstore.server.gossip")

# FANOUT: how many stores one round tells.
FANOUT = 3
# _CALL_TIMEOUT: seconds one Gossip call may take.
_CALL_TIMEOUT = 2.0


class Gossiper:
    """Gossiper: the thread that gossips this store's known stores (module docstring)."""

    def __init__(self, store_id: int, cluster_id: int, resolver: StoreResolver, connect: Connect, interval: float):
        self._store_id = store_id
        self._cluster_id = cluster_id
        self._resolver = resolver
        self._connect = connect
        self._interval = interval
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._channels: dict[str, grpc.Channel] = {}
        self._thread = threading.Thread(target=self._run, name=f"store-{store_id}-gossip", daemon=True)

    def start(self) -> None:
        """start runs the first round at once, then one every interval."""
        self._wake.set()
        self._thread.start()

    def poke(self) -> None:
        """poke runs a round now (something new was learned)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(_CALL_TIMEOUT + 1)
        for channel in self._channels.values():
            channel.close()

    def answer(self, req: GossipRequest) -> GossipResponse:
        """answer (the Gossip handler): learn the sender's stores and tell it ours."""
        if req.cluster_id != self._cluster_id:
            return GossipResponse(error=f"cluster {req.cluster_id} is not this store's cluster {self._cluster_id}")
        self.learn(req.stores, f"store {req.from_store}")
        return GossipResponse(stores=self._resolver.stores())

    def learn(self, stores: Iterable[Store], source: str) -> None:
        """learn takes stores another store knows; a conflict is logged (and kept out); news gossip at once."""
        changed, conflicts = self._resolver.learn(stores)
        for conflict in conflicts:
            logger.warning("gossip from %s refused: %s", source, conflict)
        if changed:
            logger.info("store %d learned stores from %s: %s", self._store_id, source,
                        ", ".join(f"{s.id}={s.address}" for s in self._resolver.stores()))
            self.poke()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stopped.is_set():
                return
            self._round()

    def _round(self) -> None:
        known = self._resolver.stores()
        others = [s for s in known if s.id != self._store_id]
        req = GossipRequest(cluster_id=self._cluster_id, from_store=self._store_id, stores=known)
        for store in random.sample(others, min(FANOUT, len(others))):
            channel = self._channels.get(store.address)
            if channel is None:
                channel = self._channels[store.address] = self._connect(store.address)
            try:
                got: GossipResponse = unary_call(channel, raft_method("Gossip"), req, GossipResponse, _CALL_TIMEOUT)
            except grpc.RpcError:
                continue  # unreachable now: the next round tries again
            if got.error:
                logger.warning("store %d at %s refused gossip: %s", store.id, store.address, got.error)
                continue
            self.learn(got.stores, f"store {store.id}")
