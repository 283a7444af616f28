"""bench_raft: proposals per second through a 3-node in-memory RawNode cluster (MemStorage, no IO).

The full Ready loop runs for every proposal: the leader appends a batch (`RawNode.propose_batch`, one
MsgPropose carrying the whole batch) and sends its MsgAppends at once; followers persist to their
MemStorage and ack after "persisting"; the leader commits; every node applies the committed entries
(the state machine counts entries), and every 16 rounds the logs are compacted up to what all
nodes applied, as a raft log GC would. One batch is proposed per round while earlier ones are
still replicating (pipelining), and the run ends when all three nodes have applied everything.

Messages are handed over as protobuf objects (in-process, like raft-rs's channel-based example);
`--serialize` encodes and decodes every message as a network transport would.

The baseline is the same-run cost of building the proposals alone (one Message with `entries.add` per
batch, as propose_batch does); the ratio baseline / raft tells how many times more a proposal costs
through the whole Raft loop than just wrapping it in an Entry.

Run: `python bench/bench_raft.py` (about a minute on a 2-core machine); `--profile` prints a cProfile
of the 10 B run; `-n`, `--batch`, `--sizes` change the workload.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import deque

from raftstore.raft import (
    ConfState,
    Config,
    Entry,
    MemStorage,
    Message,
    MessageType,
    RawNode,
    StateRole,
)

VOTERS = (1, 2, 3)
# MAX_SIZE_PER_MSG: the byte budget of one MsgAppend (raft-rs's examples use 1 MiB; 0 would mean one entry each).
MAX_SIZE_PER_MSG = 1024 * 1024
# GC_ROUNDS: rounds between two log compactions (raft log GC) of the MemStorages.
GC_ROUNDS = 16


class Bench:
    """Bench: the three nodes, their storages, the in-flight messages and the applied counters."""

    def __init__(self, serialize: bool) -> None:
        self.serialize = serialize
        self.stores: dict[int, MemStorage] = {}
        self.nodes: dict[int, RawNode] = {}
        for i in VOTERS:
            store = MemStorage.new_with_conf_state(ConfState(voters=list(VOTERS)))
            cfg = Config(
                i, election_tick=10, heartbeat_tick=3, max_inflight_msgs=256, max_size_per_msg=MAX_SIZE_PER_MSG
            )
            self.stores[i] = store
            self.nodes[i] = RawNode(cfg, store, seed=i)
        self.mailbox: deque[Message] = deque()
        self.applied_entries: dict[int, int] = dict.fromkeys(VOTERS, 0)
        self.last_applied_size: dict[int, int] = dict.fromkeys(VOTERS, 0)
        self.messages = 0
        self.rounds = 0

    def send(self, msgs: list[Message]) -> None:
        """send: queues msgs for delivery (encoded and decoded again with --serialize)."""
        if not msgs:
            return
        self.messages += len(msgs)
        if self.serialize:
            for m in msgs:
                self.mailbox.append(Message.FromString(m.SerializeToString()))
        else:
            self.mailbox.extend(msgs)

    def deliver(self) -> None:
        """deliver: steps every queued message into its receiver."""
        nodes = self.nodes
        box = self.mailbox
        while box:
            m = box.popleft()
            nodes[m.to].step(m)

    def apply(self, id: int, entries: list[Entry]) -> None:
        """apply: the state machine: counts the applied entries and remembers the last one's data size
        (a trivial state machine, so that the figures measure the Raft loop)."""
        if entries:
            self.applied_entries[id] += len(entries)
            self.last_applied_size[id] = len(entries[-1].data)

    def handle_ready(self, id: int) -> None:
        """handle_ready: one Ready of node id, in raft-rs's documented order."""
        node = self.nodes[id]
        if not node.has_ready():
            return
        store = self.stores[id]
        rd = node.ready()
        self.send(rd.take_messages())
        if rd.has_snapshot():
            store.wl().apply_snapshot(rd.snapshot)
        self.apply(id, rd.take_committed_entries())
        if rd.entries:
            store.wl().append(rd.entries)
        if rd.hs is not None:
            store.wl().set_hardstate(rd.hs)
        self.send(rd.take_persisted_messages())
        light = node.advance(rd)
        if light.commit_index is not None:
            store.wl().mut_hard_state().commit = light.commit_index
        self.send(light.take_messages())
        self.apply(id, light.take_committed_entries())
        node.advance_apply()

    def round(self) -> None:
        """round: every node handles its Ready, then the messages are delivered; every GC_ROUNDS rounds
        the logs are compacted up to the lowest applied index (log GC, so memory stays bounded)."""
        for i in VOTERS:
            self.handle_ready(i)
        self.deliver()
        self.rounds += 1
        if self.rounds % GC_ROUNDS == 0:
            self.gc()

    def gc(self) -> None:
        """gc: compacts every MemStorage up to the lowest index applied by all nodes."""
        upto = min(n.raft.raft_log.applied for n in self.nodes.values())
        for store in self.stores.values():
            if store.first_index() <= upto <= store.last_index():
                store.wl().compact(upto)

    def elect(self) -> None:
        """elect: node 1 campaigns; rounds run until it leads and all nodes applied its empty entry."""
        self.nodes[1].campaign()
        for _ in range(100):
            self.round()
        assert self.nodes[1].raft.state == StateRole.LEADER
        last = self.nodes[1].raft.raft_log.last_index()
        assert all(n.raft.raft_log.applied == last for n in self.nodes.values())

    def all_applied(self, index: int) -> bool:
        """all_applied: whether every node applied up to index."""
        return all(n.raft.raft_log.applied >= index for n in self.nodes.values())


def run(n: int, size: int, batch: int, serialize: bool) -> tuple[float, int]:
    """run: proposes n proposals of size bytes in batches of batch; returns (seconds, messages)."""
    b = Bench(serialize)
    b.elect()
    leader = b.nodes[1]
    first = leader.raft.raft_log.last_index()
    datas = [bytes([i % 251]) * size for i in range(batch)]
    base = dict(b.applied_entries)
    t0 = time.perf_counter()
    proposed = 0
    while proposed < n:
        k = min(batch, n - proposed)
        leader.propose_batch(datas if k == batch else datas[:k])
        proposed += k
        b.round()
    target = first + n
    rounds = 0
    while not b.all_applied(target):
        b.round()
        rounds += 1
        if rounds > 100_000:
            raise RuntimeError("the cluster does not converge")
    dt = time.perf_counter() - t0
    for i in VOTERS:
        assert b.applied_entries[i] - base[i] == n, (i, b.applied_entries[i] - base[i])
    return dt, b.messages


def baseline(n: int, size: int, batch: int) -> float:
    """baseline: seconds to build the n proposals as Entry protobufs alone (one Message per batch)."""
    datas = [bytes([i % 251]) * size for i in range(batch)]
    t0 = time.perf_counter()
    built = 0
    while built < n:
        k = min(batch, n - built)
        m = Message()
        m.msg_type = MessageType.MsgPropose
        add = m.entries.add
        for d in datas[:k]:
            add(data=d)
        built += k
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """main: runs the benchmark for each size and prints proposals/s, batch size and the baseline ratio."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200_000, help="proposals per run (default 200000)")
    ap.add_argument("--batch", type=int, default=1024, help="proposals per batch (default 1024)")
    ap.add_argument("--sizes", default="10,1024", help="proposal sizes in bytes (default 10,1024)")
    ap.add_argument("--serialize", action="store_true", help="encode and decode every message")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the first size's run")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    print(
        f"bench_raft: 3 voters, MemStorage, full Ready loop, {args.n} proposals per run, "
        f"batch {args.batch}, messages {'serialized' if args.serialize else 'in-process'}"
    )
    print(f"{'size':>6} {'batch':>6} {'proposals/s':>12} {'MB/s':>7} {'msgs':>7} {'baseline/s':>12} {'ratio':>6}")
    for i, size in enumerate(sizes):
        if args.profile and i == 0:
            prof = cProfile.Profile()
            prof.enable()
            dt, msgs = run(args.n, size, args.batch, args.serialize)
            prof.disable()
        else:
            dt, msgs = run(args.n, size, args.batch, args.serialize)
        bdt = baseline(args.n, size, args.batch)
        rate = args.n / dt
        brate = args.n / bdt
        print(
            f"{size:>6} {args.batch:>6} {rate:>12,.0f} {rate * size / 1e6:>7.1f} {msgs:>7} "
            f"{brate:>12,.0f} {brate / rate:>5.1f}x"
        )
        sys.stdout.flush()
        if args.profile and i == 0:
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue())


if __name__ == "__main__":
    main()
