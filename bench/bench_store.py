"""bench_store: puts per second through 3 stores in one process (raftstore.testing.Cluster on RocksDB, every
round's group commit fsynced), against the raw write path of the same bytes in the same run.

The workload: 64 concurrent proposers, each with one put in flight (a new one as soon as the last is
answered), keys spread over 1 or 100 regions, values of 10 B, 1 KiB and 16 KiB. A step delivers the
messages of the last step to the Cluster's stores and runs one round of each (run_round: ONE write_tasks
group commit, the apply batch without sync, the answers); the stores tick on wall time, every
`--tick-ms` (TiKV's raft_base_tick_interval, 1 s), not every step as Cluster.step does (a tick per step
would send a heartbeat per region every other millisecond).

Figures per case:

- puts/s: puts answered per second of the Cluster's own time (steps and proposals);
- entries per proposal: raft entries appended (counted once, not per replica) per put proposed; below 1
  when a round merges several puts to a region into one entry;
- fsyncs per round: synced writes of the stores' engines per store round;
- the ratio to raw: the same entries, as written by each store in each step, replayed into three fresh
  stores' engines with `write_tasks` alone (one WriteTask per region and round with the entries and the
  raft state, one call per store and step: the same group commits and the same bytes), interleaved step
  by step with the Cluster so that both meet the same fsync latency. raw puts/s = puts / replay time;
  ratio = store puts/s / raw puts/s.

Run: `python bench/bench_store.py` (a minute or two on a 2-core machine); `--puts`, `--proposers`,
`--sizes`, `--regions` change the workload; `--write-docs` writes the table into docs/benchmarks.md
between `<!-- bench_store:begin -->` and `<!-- bench_store:end -->` (appended under "## Store" when
missing).
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from docs_block import write_block

from raftstore.engine import open_engines
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.proto.raft_cmdpb_pb2 import CmdType, Request
from raftstore.proto.raft_serverpb_pb2 import RaftLocalState
from raftstore.store import WriteTask, write_tasks
from raftstore.store.cmd import CmdResult
from raftstore.store.driver import run_round
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

SIZES = {"10 B": 10, "1 KiB": 1024, "16 KiB": 16 * 1024}


@dataclass
class Result:
    regions: int
    size: int
    puts: int
    secs: float
    raw_secs: float
    entries: int
    proposals: int
    fsyncs: int
    rounds: int

    @property
    def puts_per_sec(self) -> float:
        return self.puts / self.secs

    @property
    def raw_puts_per_sec(self) -> float:
        return self.puts / self.raw_secs


def region_key(region: int) -> bytes:
    return b"r%03d" % region


# StepLog: per store, per region, the entries it appended in a step and its raft state after it.
StepLog = dict[int, list[tuple[int, int, list[Entry], tuple[int, int, int, int]]]]


class Replayer:
    """Replayer: three fresh stores' engines that write what the Cluster's stores appended, with
    write_tasks alone (the raw write path of the same bytes)."""

    def __init__(self, root: Path, store_ids: list[int]) -> None:
        self.engines: dict[int, Engines] = {sid: open_engines(root / f"raw-{sid}") for sid in store_ids}
        self.number = 0

    def replay(self, log: StepLog) -> float:
        """replay writes one step's appends (one write_tasks call per store) and returns the seconds it took."""
        batches = []
        for sid, appended in log.items():
            self.number += 1
            tasks = []
            for region_id, peer_id, entries, state in appended:
                task = WriteTask(region_id, peer_id, self.number)
                task.set_append(None, entries)
                term, vote, commit, last = state
                task.raft_state = RaftLocalState(hard_state=HardState(term=term, vote=vote, commit=commit), last_index=last)
                tasks.append(task)
            batches.append((self.engines[sid], tasks))
        start = time.perf_counter()
        for engines, tasks in batches:
            if tasks:
                write_tasks(engines, tasks)
        return time.perf_counter() - start

    def close(self) -> None:
        for engines in self.engines.values():
            engines.close()


class Bench:
    """Bench: one case: a started Cluster, its proposers and the replay of its appends."""

    def __init__(self, root: Path, regions: int, size: int, proposers: int, seed: int, tick_secs: float) -> None:
        splits = [region_key(r) for r in range(1, regions)]
        # A log GC threshold past the run: the replay reads every appended entry back from the log.
        config = StoreConfig(raft_log_gc_threshold=1 << 30, raft_log_gc_count_limit=1 << 30, seed=seed)
        self.cluster = Cluster(3, path=root / "cluster", config=config, split_keys=splits)
        self.cluster.start()
        for region_id in range(1, regions + 1):
            self.cluster.wait_leader(region_id)
        self.replayer = Replayer(root, self.cluster.store_ids)
        self.regions = regions
        self.value = b"x" * size
        self.rng = random.Random(seed)
        self.boxes: list[list[CmdResult] | None] = [None] * proposers
        self.serial = 0
        self.proposed = self.answered = 0
        self.last_index = self._last_indexes()
        self.tick_secs = tick_secs
        self.last_tick = time.perf_counter()

    def step(self) -> None:
        """step: the messages of the last step delivered, a round of every store; a tick on wall time."""
        cluster = self.cluster
        for msg in cluster.transport.take():
            cluster.cores[msg.to_peer.store_id].step(msg)
        now = time.perf_counter()
        tick = now - self.last_tick >= self.tick_secs
        if tick:
            self.last_tick = now
        for sid, core in cluster.cores.items():
            if tick:
                core.tick()
            run_round(core, cluster.engines[sid], cluster.transport.send)

    def _last_indexes(self) -> dict[tuple[int, int], int]:
        return {
            (sid, rid): peer.storage.last_index()
            for sid, core in self.cluster.cores.items()
            for rid, peer in core.peers.items()
        }

    def _propose(self, slot: int) -> None:
        """_propose sends a put on a random region's key to the region's leader."""
        cluster = self.cluster
        self.serial += 1
        key = region_key(self.rng.randrange(self.regions)) + b"-%d" % self.serial
        region = cluster.get_region(key)
        leader = cluster.leader_of(region.id)
        if leader is None:
            self.boxes[slot] = None
            return
        req = Request(cmd_type=CmdType.Put)
        req.put.key, req.put.value = key, self.value
        self.boxes[slot] = cluster.propose(leader.store_id, cluster.new_cmd(region, leader, [req]))
        self.proposed += 1

    def _collect_appends(self) -> StepLog:
        """_collect_appends: per store, the entries each region appended in the last step (read back
        from the logs; not timed)."""
        log: StepLog = {sid: [] for sid in self.cluster.cores}
        now = self._last_indexes()
        for (sid, rid), last in now.items():
            before = self.last_index.get((sid, rid), last)
            if last > before:
                peer = self.cluster.cores[sid].peers[rid]
                hs = peer.storage.hard_state()
                entries = peer.storage.entries(before + 1, last + 1)
                log[sid].append((rid, peer.peer_id, entries, (hs.term, hs.vote, hs.commit, last)))
        self.last_index = now
        return log

    def _syncs(self) -> int:
        return sum(e.kv.stats.synced_writes + e.raft.stats.synced_writes for e in self.cluster.engines.values())

    def run(self, puts: int) -> Result:
        cluster = self.cluster
        secs = raw_secs = 0.0
        entries = rounds = 0
        syncs_before = self._syncs()
        gc.collect()
        gc.freeze()
        while self.answered < puts:
            start = time.perf_counter()
            for slot, box in enumerate(self.boxes):
                if box is None or box:
                    if box and box[0].error is None:
                        self.answered += 1
                    self._propose(slot)
            self.step()
            secs += time.perf_counter() - start
            rounds += len(cluster.cores)
            log = self._collect_appends()
            entries += sum(len(e) for appended in log.values() for _, _, e, _ in appended)
            raw_secs += self.replayer.replay(log)
        gc.unfreeze()
        fsyncs = self._syncs() - syncs_before
        return Result(self.regions, len(self.value), self.answered, secs, raw_secs, entries // 3,
                      self.proposed, fsyncs, rounds)

    def close(self) -> None:
        self.replayer.close()
        self.cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--puts", type=int, default=3000, help="puts answered per case")
    ap.add_argument("--proposers", type=int, default=64)
    ap.add_argument("--sizes", default=",".join(SIZES), help="value sizes, of: " + ", ".join(SIZES))
    ap.add_argument("--regions", default="1,100")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tick-ms", type=float, default=1000.0, help="wall time between ticks of every store")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    say(
        f"3 stores on RocksDB (fsync per group commit), {args.proposers} proposers, {args.puts} puts answered "
        f"per case, a tick every {args.tick_ms:g} ms"
    )
    say("")
    say("| regions | value | puts/s | raw puts/s (write_tasks alone) | ratio to raw | entries per proposal | fsyncs per round |")
    say("|---|---|---|---|---|---|---|")
    for regions in (int(r) for r in args.regions.split(",")):
        for name in args.sizes.split(","):
            root = Path(tempfile.mkdtemp(prefix="bench_store_"))
            bench = Bench(root, regions, SIZES[name.strip()], args.proposers, args.seed, args.tick_ms / 1000)
            try:
                r = bench.run(args.puts)
            finally:
                bench.close()
                shutil.rmtree(root, ignore_errors=True)
            say(
                f"| {regions} | {name.strip()} | {r.puts_per_sec:,.0f} | {r.raw_puts_per_sec:,.0f} | "
                f"{r.puts_per_sec / r.raw_puts_per_sec:.2f} | {r.entries / r.proposals:.3f} | {r.fsyncs / r.rounds:.2f} |"
            )
    if args.write_docs:
        write_block("bench_store", "## Store (bench/bench_store.py)", lines)


if __name__ == "__main__":
    main()
