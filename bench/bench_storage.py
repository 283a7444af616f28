"""bench_storage: PeerStorage's write path, reads and restart against raw RocksDB in the same run.

Every figure is paired with a baseline measured in the same process on the same disk, because these
machines are shared and noisy: read the ratios, not the absolute numbers.

1. write: N entries of 256 B in rounds of R entries. Baseline: one rocksdict WriteBatch per round holding
   each entry under its raft log key (protobuf-encoded, as any log must be), written with sync. PeerStorage:
   the same entries spread over 1, 100 and 1000 regions, staged as the store's round stages them: a
   RoundStage per round, per region a WriteTask made with it, a new hard state and append; write_round
   (group commit), on_persisted per task. The two run round by round, interleaved, so that both meet the
   same fsync latency (it drifts a lot on a shared disk). Fsyncs per round come from the engines' stats.
   The floor, measured the same way: a least-work writer that writes what PeerStorage writes (the
   entries and one RaftLocalState per region, one synced batch a round) with its bookkeeping cut to plain
   ints and lists, no task objects, no staging and no run check: the best ratio a per-region write path
   in Python can reach on the shape. `--write-only` runs only these, `--shapes` picks the shapes.
2. entries(): 64-entry windows from the entry cache and from the raft engine, against a raw rocksdict
   scan + decode of the same windows.
3. restart: 1000 regions holding 1M entries; reopening the engines and building every PeerStorage
   (states only) against scanning every log (what a log-reading restart would cost).
4. memory and restart at scale (each in a fresh interpreter, so that no freed memory is reused): RSS per
   idle region once 100,000 bootstrapped regions are reopened as PeerStorages, and the time of that
   restart (reopen, load_region_states, load_apply_states, a validated PeerStorage per region; wall and CPU time: on a
   loaded machine the CPU time is the steadier figure), with the cyclic collector paused as a store's
   load path pauses it (recovery.collector_paused) and, for comparison, left on; and the entry cache's
   accounted bytes against the RSS its entries hold (256 B and 1 KiB entries as raft hands them over:
   decoded 100 to a message).

`--write-docs` puts the table into docs/benchmarks.md (between the bench_storage markers).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import rocksdict
from docs_block import write_block

from raftstore.engine import keys, open_engines
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState, Message
from raftstore.proto.metapb_pb2 import Peer, Region, RegionEpoch
from raftstore.proto.raft_serverpb_pb2 import RaftLocalState
from raftstore.store import (
    MemoryTrace,
    PeerStorage,
    WriteTask,
    load_region_states,
    write_initial_states,
    write_initial_states_many,
    write_tasks,
)
from raftstore.store.peer_storage import load_apply_states
from raftstore.store.recovery import collector_paused
from raftstore.store.write import RoundStage, write_round

PAYLOAD = b"x" * 256


def region(region_id: int) -> Region:
    return Region(
        id=region_id,
        start_key=struct.pack(">Q", region_id),
        end_key=struct.pack(">Q", region_id + 1),
        region_epoch=RegionEpoch(conf_ver=1, version=1),
        peers=[Peer(id=region_id, store_id=1)],
    )


def bootstrap(engines: Engines, count: int) -> dict[int, PeerStorage]:
    for rid in range(1, count + 1):
        write_initial_states(engines, region(rid))
    return {rid: PeerStorage(engines, region(rid), rid) for rid in range(1, count + 1)}


# Round: per region of a round, (region id, the hard state raft hands over with the entries, the entries).
Round = list[tuple[int, HardState, list[Entry]]]


def rounds_of(total: int, per_round: int, regions: int) -> list[Round]:
    """rounds_of builds the input of every round up front, as raft would hand it over: per region its
    entries and its hard state (a single voter commits what earlier rounds made durable)."""
    out = []
    next_index = {rid: 6 for rid in range(1, regions + 1)}
    per_region = max(per_round // regions, 1)
    rid = 1
    for _ in range(total // per_round):
        batch = []
        for _ in range(max(per_round // per_region, 1)):
            first = next_index[rid]
            ents = [Entry(index=i, term=5, data=PAYLOAD) for i in range(first, first + per_region)]
            batch.append((rid, HardState(term=5, commit=first - 1), ents))
            next_index[rid] = first + per_region
            rid = rid % regions + 1
        out.append(batch)
    return out


class RawWriter:
    """RawWriter is the baseline: one rocksdict WriteBatch per round, each entry protobuf-encoded under its
    raft log key, written with sync."""

    def __init__(self, path: Path) -> None:
        self.db = rocksdict.Rdict(str(path), rocksdict.Options(raw_mode=True))
        self.wo = rocksdict.WriteOptions()
        self.wo.sync = True

    def round(self, batch: Round) -> None:
        log_key = keys.raft_log_key
        wb = rocksdict.WriteBatch(raw_mode=True)
        for rid, _, ents in batch:
            for e in ents:
                wb.put(log_key(rid, e.index), e.SerializeToString())
        self.db.write(wb, self.wo)

    def close(self) -> None:
        self.db.close()


class PeerStorageWriter:
    """PeerStorageWriter is PeerStorage's write path as the store's round runs it: a RoundStage for the
    round, per region a WriteTask made with it holding the new hard state and the entries (as
    handle_raft_ready stages a Ready's), with apply_state also the region's RaftApplyState applying what
    is committed (a KV write, as a round that applies has); then write_round (group commit) and
    on_persisted per task."""

    def __init__(self, path: Path, regions: int, apply_state: bool) -> None:
        self.engines = open_engines(path)
        self.storages = bootstrap(self.engines, regions)
        self.apply_state = apply_state
        self.number = 0
        self.syncs_before = self.syncs()

    def syncs(self) -> int:
        return self.engines.kv.stats.synced_writes + self.engines.raft.stats.synced_writes

    def round(self, batch: Round) -> None:
        self.number += 1
        stage = RoundStage()
        storages = self.storages
        for rid, hs, ents in batch:
            ps = storages[rid]
            task = WriteTask(rid, rid, self.number, stage)
            ps.set_hard_state(hs, task)
            if self.apply_state:
                ps.apply_state.applied_index = ps.apply_state.commit_index = hs.commit
                ps.save_apply_state_to(task)
            ps.append(ents, task)
        tasks = stage.tasks
        write_round(self.engines, stage)
        for task in tasks:
            storages[task.region_id].on_persisted(task)

    def close(self) -> None:
        self.engines.close()


class Writer(Protocol):
    def round(self, batch: Round) -> None: ...

    def close(self) -> None: ...


class _LeastWorkRegion:
    __slots__ = ("last", "term", "vote", "commit", "entries", "sizes", "pending")

    def __init__(self) -> None:
        self.last, self.term, self.vote, self.commit = 5, 5, 0, 5
        self.entries: list[Entry] = []
        self.sizes: list[int] = []
        self.pending: list[tuple[int, int]] = []


class LeastWorkWriter:
    """LeastWorkWriter is the floor of a per-region write path in Python (module docstring): per region of a
    round it checks the first index, encodes and puts the entries, keeps them and their sizes in lists, notes
    the pending index and the hard state; then puts one RaftLocalState per region, writes the batch with sync
    and clears what is pending. The same bytes as PeerStorage's rounds, in one synced write."""

    def __init__(self, path: Path, regions: int) -> None:
        self.db = rocksdict.Rdict(str(path), rocksdict.Options(raw_mode=True))
        self.wo = rocksdict.WriteOptions()
        self.wo.sync = True
        self.regions = {rid: _LeastWorkRegion() for rid in range(1, regions + 1)}
        self.number = 0
        self.state = RaftLocalState(hard_state=HardState())

    def round(self, batch: Round) -> None:
        self.number += 1
        wb = rocksdict.WriteBatch(raw_mode=True)
        put, log_key, touched = wb.put, keys.raft_log_key, []
        for rid, hs, ents in batch:
            r = self.regions[rid]
            first = ents[0].index
            if first != r.last + 1:
                raise ValueError(f"region {rid}: append at {first} after {r.last}")
            for e in ents:
                data = e.SerializeToString()
                put(log_key(rid, e.index), data)
                r.entries.append(e)
                r.sizes.append(len(data))
            r.pending.append((self.number, first))
            r.last = ents[-1].index
            r.term, r.vote, r.commit = hs.term, hs.vote, hs.commit
            touched.append(r)
        state, hs_out = self.state, self.state.hard_state
        for (rid, _, _), r in zip(batch, touched):
            hs_out.term, hs_out.vote, hs_out.commit, state.last_index = r.term, r.vote, r.commit, r.last
            put(keys.raft_state_key(rid), state.SerializeToString())
        self.db.write(wb, self.wo)
        for r in touched:
            r.pending.clear()

    def close(self) -> None:
        self.db.close()


def race(raw: RawWriter, other: Writer, rounds: list[Round]) -> tuple[float, float]:
    """race runs the baseline and other round by round (A B A B ...), so that both meet the same disk and
    machine conditions; returns (raw seconds, other's seconds). Both are closed after."""
    raw_secs = other_secs = 0.0
    try:
        for batch in rounds:
            t0 = time.perf_counter()
            raw.round(batch)
            t1 = time.perf_counter()
            other.round(batch)
            other_secs += time.perf_counter() - t1
            raw_secs += t1 - t0
    finally:
        raw.close()
        other.close()
    return raw_secs, other_secs


def interleaved(tmp: Path, regions: int, rounds: list[Round], apply_state: bool = False) -> tuple[float, float, float]:
    """interleaved races PeerStorage against the baseline (race); returns (raw seconds, PeerStorage seconds,
    fsyncs per round)."""
    ps = PeerStorageWriter(tmp / f"ps-{time.monotonic_ns()}", regions, apply_state)
    raw_secs, ps_secs = race(RawWriter(tmp / f"raw-{time.monotonic_ns()}"), ps, rounds)
    return raw_secs, ps_secs, (ps.syncs() - ps.syncs_before) / len(rounds)


def least_work(tmp: Path, regions: int, rounds: list[Round]) -> tuple[float, float]:
    """least_work races the least-work writer against the baseline (race)."""
    floor = LeastWorkWriter(tmp / f"floor-{time.monotonic_ns()}", regions)
    return race(RawWriter(tmp / f"raw-{time.monotonic_ns()}"), floor, rounds)


def bench_reads(path: Path, window: int = 64, repeats: int = 200) -> dict[str, float]:
    """bench_reads: seconds per window read from the cache, from the engine, and raw (scan + decode)."""
    with open_engines(path) as engines:
        storages = bootstrap(engines, 1)
        ps = storages[1]
        task = WriteTask(1, 1, 1)
        ps.append([Entry(index=i, term=5, data=PAYLOAD) for i in range(6, 6 + window * repeats)], task)
        write_tasks(engines, [task])
        ps.on_persisted(task)
        lows = [6 + window * i for i in range(repeats)]
        start = time.perf_counter()
        for lo in lows:
            ps.entries(lo, lo + window)
        cached = (time.perf_counter() - start) / repeats
        ps.compact_entry_cache(ps.last_index() + 1)
        start = time.perf_counter()
        for lo in lows:
            ps.entries(lo, lo + window)
        engine = (time.perf_counter() - start) / repeats
        db = engines.raft
        start = time.perf_counter()
        for lo in lows:
            [Entry.FromString(v) for _, v in db.scan("default", keys.raft_log_key(1, lo), keys.raft_log_key(1, lo + window))]
        raw = (time.perf_counter() - start) / repeats
    return {"cache": cached, "engine": engine, "raw": raw}


def bench_restart(path: Path, regions: int, per_region: int) -> dict[str, float]:
    with open_engines(path) as engines:
        storages = bootstrap(engines, regions)
        chunk = 100
        for base in range(6, 6 + per_region, chunk):
            tasks = []
            for rid, ps in storages.items():
                task = WriteTask(rid, rid, base)
                ps.append([Entry(index=i, term=5, data=b"y" * 64) for i in range(base, base + chunk)], task)
                tasks.append(task)
            write_tasks(engines, tasks)
            for t in tasks:
                storages[t.region_id].on_persisted(t)
    start = time.perf_counter()
    with open_engines(path) as engines:
        reopened = load_storages(engines)
        restart = time.perf_counter() - start
        assert len(reopened) == regions and all(ps.last_index() == 5 + per_region for ps in reopened)
        start = time.perf_counter()
        rows = sum(1 for _ in engines.raft.scan("default", keys.REGION_RAFT_MIN_KEY, keys.REGION_RAFT_MAX_KEY))
        scan = time.perf_counter() - start + restart
    return {"restart": restart, "scan_all_logs": scan, "rows": rows}


def load_storages(engines: Engines) -> list[PeerStorage]:
    """load_storages is the storage part of a store's load path: every region's state (load_region_states),
    every apply state by one scan (load_apply_states), and a validated PeerStorage per region, which keeps
    its RegionLocalState's region instead of copying it."""
    states = load_region_states(engines)
    apply_states = load_apply_states(engines)
    return [PeerStorage(engines, st.region, st.region.id, apply_states=apply_states, adopt_region=True) for st in states]


def rss() -> int:
    """rss: this process's resident set in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def child_scale(path: Path, regions: int, paused: bool) -> dict[str, float]:
    """child_scale (run in a fresh interpreter): bootstraps regions, then times a restart (reopen the
    engines, load_storages), with the cyclic collector paused as a store's
    load path pauses it (collector_paused) or left on, and the first full collection after it; measures
    the RSS the PeerStorages hold."""
    with open_engines(path) as engines:
        for first in range(1, regions + 1, 10_000):
            write_initial_states_many(engines, [region(r) for r in range(first, min(first + 10_000, regions + 1))])
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    with open_engines(path) as engines:
        before = rss()
        with collector_paused() if paused else contextlib.nullcontext():
            peers = load_storages(engines)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        gc.collect()
        collect = time.perf_counter() - start
        held = rss() - before
        assert len(peers) == regions and all(ps.last_index() == 5 for ps in peers)
    return {"seconds": seconds, "cpu": cpu, "collect": collect, "bytes_per_region": held / regions}


def child_cache(path: Path, size: int) -> dict[str, float]:
    """child_cache (run in a fresh interpreter): 20,000 entries of size bytes, decoded 100 to a Message as
    raft hands them over, appended through PeerStorage: accounted bytes and RSS held, per entry."""
    with open_engines(path) as engines:
        write_initial_states(engines, region(1))
        trace = MemoryTrace()
        ps = PeerStorage(engines, region(1), 1, cache_trace=trace)
        wire = []
        for k in range(200):
            m = Message()
            for i in range(6 + 100 * k, 106 + 100 * k):
                m.entries.add(index=i, term=5, data=b"x" * size)
            wire.append(m.SerializeToString())
        gc.collect()
        before = rss()
        for k, raw in enumerate(wire):
            ps.append(list(Message.FromString(raw).entries), WriteTask(1, 1, k + 1))
        gc.collect()
        held = rss() - before
    return {"accounted": trace.bytes / 20_000, "rss": held / 20_000}


def in_child(tmp: Path, what: str, *args: str) -> dict[str, float]:
    """in_child runs `bench_storage.py --child what args...` and returns its JSON answer."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, str(tmp / f"{what}-{time.monotonic_ns()}"), *args],
        capture_output=True, text=True, check=True,
    )
    answer: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def run_child(argv: list[str]) -> None:
    what, path = argv[0], Path(argv[1])
    if what == "scale":
        print(json.dumps(child_scale(path, int(argv[2]), argv[3] == "paused")))
    else:
        print(json.dumps(child_cache(path, int(argv[2]))))


def shapes(spec: str, per_round: int) -> list[tuple[int, int]]:
    """shapes parses --shapes: "1000" is 1000 regions with per_round entries a round, "100x10" 100 regions
    with 10 x per_round."""
    out = []
    for shape in spec.split(","):
        regions, _, times = shape.partition("x")
        out.append((int(regions), per_round * int(times or 1)))
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        run_child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--round", type=int, default=1000, help="entries per round (one group commit)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each write measurement (median)")
    ap.add_argument("--restart-regions", type=int, default=1000)
    ap.add_argument("--restart-entries", type=int, default=1000, help="entries per region for the restart test")
    ap.add_argument("--scale-regions", type=int, default=100_000, help="idle regions for memory and restart at scale")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--write-only", action="store_true", help="only the write measurements (a quicker run)")
    ap.add_argument("--shapes", default="1,100,100x10,1000,1000x10", help="write shapes, regions[x round multiple], comma-separated")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_storage_"))
    lines = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    try:
        say(f"write: {args.entries} entries of 256 B per measurement, interleaved with the baseline round by round (median of {args.runs} runs)")
        say("")
        say("| path | entries/s | ratio to raw | fsyncs per round |")
        say("|---|---|---|---|")
        for regions, per_round in shapes(args.shapes, args.round):
            rounds = rounds_of(args.entries, per_round, regions)
            # The input (every round's entries, built up front) is moved out of the cyclic collector's
            # reach, so that collections triggered by either path do not keep walking the bench's own data.
            gc.collect()
            gc.freeze()
            n = sum(len(e) for b in rounds for _, _, e in b)
            results = [interleaved(tmp, regions, rounds) for _ in range(args.runs)]
            floors = [least_work(tmp, regions, rounds) for _ in range(args.runs)]
            raw = statistics.median(r[0] for r in results)
            secs = statistics.median(r[1] for r in results)
            ratio = statistics.median(r[0] / r[1] for r in results)
            per_region = max(per_round // regions, 1)
            shape = f"{regions} regions, {per_round} entries/round ({per_region}/region)"
            say(f"| raw rocksdict WriteBatch+sync, {shape} | {n / raw:,.0f} | 1.00 | 1 |")
            say(f"| PeerStorage write path, {shape} | {n / secs:,.0f} | {ratio:.2f} | {results[0][2]:.0f} |")
            floor_secs = statistics.median(f[1] for f in floors)
            floor_ratio = statistics.median(f[0] / f[1] for f in floors)
            say(f"| least-work writer (the floor), {shape} | {n / floor_secs:,.0f} | {floor_ratio:.2f} | 1 |")
            gc.unfreeze()
        rounds = rounds_of(args.entries // 10, args.round, 1000)
        n = sum(len(e) for b in rounds for _, _, e in b)
        raw, secs, syncs = interleaved(tmp, 1000, rounds, apply_state=True)
        say(f"| PeerStorage write path, 1000 regions, {args.round} entries/round + an apply state (KV) per region | {n / secs:,.0f} | {raw / secs:.2f} | {syncs:.0f} |")
        if not args.write_only:
            other_benches(tmp, args, say)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.write_docs:
        write_block("bench_storage", "## Storage (bench/bench_storage.py)", lines)


def other_benches(tmp: Path, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """other_benches: entries(), restart, memory and restart at scale (see the module docstring)."""
    reads = bench_reads(tmp / "reads")
    say("")
    say("entries(): 64-entry windows of 256 B entries")
    say("")
    say("| source | µs per call | ratio to raw scan+decode |")
    say("|---|---|---|")
    for name in ("cache", "engine"):
        say(f"| PeerStorage.entries from {name} | {reads[name] * 1e6:,.1f} | {reads['raw'] / reads[name]:.2f}× speed |")
    say(f"| raw engine scan + decode | {reads['raw'] * 1e6:,.1f} | 1.00 |")
    rs = bench_restart(tmp / "restart", args.restart_regions, args.restart_entries)
    say("")
    say(f"restart: {args.restart_regions} regions holding {args.restart_regions * args.restart_entries:,} entries")
    say("")
    say("| what | seconds | ratio |")
    say("|---|---|---|")
    say(f"| reopen engines + build every PeerStorage (states only) | {rs['restart']:.2f} | 1.00 |")
    say(f"| same + scan every log ({rs['rows']:,} rows; a log-reading restart) | {rs['scan_all_logs']:.2f} | {rs['scan_all_logs'] / rs['restart']:.1f}× slower |")
    n = args.scale_regions
    # The two modes' children alternate, so that both meet the same load (wall times drift a lot here).
    paused, on = [], []
    for _ in range(args.runs):
        paused.append(in_child(tmp, "scale", str(n), "paused"))
        on.append(in_child(tmp, "scale", str(n), "on"))
    say("")
    say(f"memory and restart at scale: {n:,} idle regions, each in a fresh interpreter (median of {args.runs})")
    say("")
    say("| what | figure |")
    say("|---|---|")
    say(f"| RSS per idle region (PeerStorage built at restart) | {statistics.median(r['bytes_per_region'] for r in paused):,.0f} B |")
    for name, runs in (("collector paused by the load path", paused), ("collector left on", on)):
        wall, cpu = statistics.median(r["seconds"] for r in runs), statistics.median(r["cpu"] for r in runs)
        say(f"| restart: reopen + load_region_states + load_apply_states + validated PeerStorage each, {name} | {wall:.2f} s ({cpu:.2f} s of CPU) |")
    say(f"| the first full collection after the paused restart (what the pause deferred) | {statistics.median(r['collect'] for r in paused):.2f} s |")
    for size in (256, 1024):
        c = in_child(tmp, "cache", str(size))
        say(f"| entry cache, {size} B entries: accounted / RSS held per entry | {c['accounted']:,.0f} / {c['rss']:,.0f} B ({c['accounted'] / c['rss']:.2f}) |")


if __name__ == "__main__":
    main()
