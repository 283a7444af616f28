"""raftstore.raft.testing.network: Network, a simulated network of Rafts (raft-rs harness Network).

No real I/O happens: `send` steps each message into its destination, persists the destination's unstable
data (as a node must before it sends) and keeps delivering the responses until none are left. `drop`,
`cut`, `isolate` and `ignore` install filters that `filter` applies to responses; `recover` removes them.
Drop percentages are decided by the network's own `random.Random` (`rng`), seedable for reproducibility.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Sequence
from typing import cast

from ...proto.eraftpb_pb2 import ConfState, Message, MessageType
from ..config import Config
from ..errors import RaftError
from ..raft import Raft
from ..storage import MemStorage
from ..util import NO_LIMIT
from .interface import Interface

__all__ = ["Network"]


class Network:
    """Network holds the peers (id -> Interface) and their storages (id -> MemStorage).

    Invariant: peer ids are 1..=len(peers) in the order given to `new`; `storage` has an entry for every
    peer that holds a Raft (nop steppers have none).
    """

    def __init__(
        self,
        peers: dict[int, Interface] | None = None,
        storage: dict[int, MemStorage] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.peers: dict[int, Interface] = peers if peers is not None else {}
        self.storage: dict[int, MemStorage] = storage if storage is not None else {}
        # dropm: (from, to) -> probability in [0, 1] that a message on that connection is dropped.
        self.dropm: dict[tuple[int, int], float] = {}
        # ignorem: message types that are always dropped.
        self.ignorem: set[int] = set()
        self.rng: random.Random = rng if rng is not None else random.Random()

    @staticmethod
    def default_config() -> Config:
        """default_config is the config `new` gives its fresh peers (id set per peer)."""
        return Config(0, election_tick=10, heartbeat_tick=1, max_size_per_msg=NO_LIMIT, max_inflight_msgs=256)

    @classmethod
    def new(cls, peers: Sequence[Interface | None], seed: int | None = None) -> Network:
        """new builds a network from peers with `default_config`; see `new_with_config`."""
        return cls.new_with_config(peers, cls.default_config(), seed=seed)

    @classmethod
    def new_with_config(
        cls, peers: Sequence[Interface | None], config: Config, seed: int | None = None
    ) -> Network:
        """new_with_config builds a network: peer i (0-based) gets id i + 1. A None peer becomes a fresh
        Raft with a copy of config (id set) on a MemStorage whose voters are all the peer ids; an
        Interface is used as is (a Raft in it must already carry its position's id). `seed` seeds the
        network's drop randomness."""
        ids = list(range(1, len(peers) + 1))
        npeers: dict[int, Interface] = {}
        nstorage: dict[int, MemStorage] = {}
        for p, id in zip(peers, ids):
            if p is None:
                store = MemStorage.new_with_conf_state(ConfState(voters=ids))
                nstorage[id] = store
                cfg = copy.copy(config)
                cfg.id = id
                npeers[id] = Interface(Raft(cfg, store))
            else:
                if p.raft is not None:
                    if p.raft.id != id:
                        raise AssertionError(f"peer {p.raft.id} in peers has a wrong position {id}")
                    nstorage[id] = cast(MemStorage, p.raft.raft_log.store)
                npeers[id] = p
        return cls(npeers, nstorage, random.Random(seed))

    def ignore(self, t: int) -> None:
        """ignore drops every message of type t from now on (until `recover`)."""
        self.ignorem.add(t)

    def filter(self, msgs: Iterable[Message]) -> list[Message]:
        """filter returns the messages that survive the `ignore` and `drop` rules. A MsgHup never goes
        over the network: finding one raises AssertionError."""
        out: list[Message] = []
        for m in msgs:
            if m.msg_type in self.ignorem:
                continue
            if m.msg_type == MessageType.MsgHup:
                raise AssertionError("unexpected msgHup")
            perc = self.dropm.get((m.from_, m.to), 0.0)
            if perc > 0.0 and self.rng.random() < perc:
                continue
            out.append(m)
        return out

    def read_messages(self) -> list[Message]:
        """read_messages drains the outgoing messages of every peer, unfiltered."""
        msgs: list[Message] = []
        for p in self.peers.values():
            msgs.extend(p.read_messages())
        return msgs

    def send(self, msgs: list[Message]) -> None:
        """send delivers msgs (unfiltered) and then, filtered, every response until the network is quiet.
        Errors raised by Raft.step (RaftError) are ignored, as raft-rs's harness does; InvariantError
        propagates."""
        pending = list(msgs)
        while pending:
            new_msgs: list[Message] = []
            for m in pending:
                p = self.peers[m.to]
                try:
                    p.step(m)
                except RaftError:
                    pass
                # The unstable data must be persisted before the responses are sent.
                p.persist()
                new_msgs.extend(self.filter(p.read_messages()))
            pending = new_msgs

    def filter_and_send(self, msgs: list[Message]) -> None:
        """filter_and_send filters msgs and then sends them."""
        self.send(self.filter(msgs))

    def dispatch(self, messages: Iterable[Message]) -> None:
        """dispatch filters messages and steps each into its destination, without collecting responses;
        errors of Raft.step propagate."""
        for m in self.filter(messages):
            self.peers[m.to].step(m)

    def drop(self, from_: int, to: int, perc: float) -> None:
        """drop drops messages from from_ to to with probability perc (1.0: all, 0.0: none)."""
        self.dropm[(from_, to)] = perc

    def cut(self, one: int, other: int) -> None:
        """cut drops all messages between one and other, both ways."""
        self.drop(one, other, 1.0)
        self.drop(other, one, 1.0)

    def isolate(self, id: int) -> None:
        """isolate drops all messages between id and every other peer id in 1..=len(peers)."""
        for nid in range(1, len(self.peers) + 1):
            if nid != id:
                self.drop(id, nid, 1.0)
                self.drop(nid, id, 1.0)

    def recover(self) -> None:
        """recover removes every `drop` and `ignore` rule."""
        self.dropm = {}
        self.ignorem = set()
