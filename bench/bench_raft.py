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

Run: `python bench/bench_raft.py` (a few seconds per run on a 2-core machine); `--profile` prints a
cProfile of the 10 B run; `-n`, `--batch`, `--sizes` change the workload; `--runs 3` runs each size
three times and reports the median. The figures end with a markdown table (size, batch,
proposals/s, MB/s, baseline/s, ratio); `--write-docs` also writes it into docs/benchmarks.md,
replacing the block between `<!-- bench_raft:begin -->` and `<!-- bench_raft:end -->` (appended under
a "## Raft core (bench/bench_raft.py)" heading when missing; the rest of the file is kept).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import raftstore.proto
import raftstore.proto.eraftpb_pb2
import raftstore.raft
from raftstore.raft import Entry, Message, MessageType

VOTERS = (1, 2, 3)
# Clock: a seconds counter (time.perf_counter, or time.process_time for CPU time in --against).
Clock = Callable[[], float]
# MAX_SIZE_PER_MSG: the byte budget of one MsgAppend (raft-rs's examples use 1 MiB; 0 would mean one entry each).
MAX_SIZE_PER_MSG = 1024 * 1024
# GC_ROUNDS: rounds between two log compactions (raft log GC) of the MemStorages.
GC_ROUNDS = 16


class Bench:
    """Bench: the three nodes, their storages, the in-flight messages and the applied counters."""

    def __init__(self, serialize: bool, lib: types.ModuleType = raftstore.raft) -> None:
        self.serialize = serialize
        self.lib = lib
        self.stores: dict[int, raftstore.raft.MemStorage] = {}
        self.nodes: dict[int, raftstore.raft.RawNode] = {}
        for i in VOTERS:
            store = lib.MemStorage.new_with_conf_state(lib.ConfState(voters=list(VOTERS)))
            cfg = lib.Config(
                i, election_tick=10, heartbeat_tick=3, max_inflight_msgs=256, max_size_per_msg=MAX_SIZE_PER_MSG
            )
            self.stores[i] = store
            self.nodes[i] = lib.RawNode(cfg, store, seed=i)
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
        assert self.nodes[1].raft.state == self.lib.StateRole.LEADER
        last = self.nodes[1].raft.raft_log.last_index()
        assert all(n.raft.raft_log.applied == last for n in self.nodes.values())

    def all_applied(self, index: int) -> bool:
        """all_applied: whether every node applied up to index."""
        return all(n.raft.raft_log.applied >= index for n in self.nodes.values())


def run(
    n: int, size: int, batch: int, serialize: bool, lib: types.ModuleType = raftstore.raft, clock: Clock = time.perf_counter
) -> tuple[float, int]:
    """run: proposes n proposals of size bytes in batches of batch through lib (a raft package: this
    checkout's, or an older one, see load_raft_at); returns (seconds of clock, messages)."""
    b = Bench(serialize, lib)
    b.elect()
    leader = b.nodes[1]
    first = leader.raft.raft_log.last_index()
    datas = [bytes([i % 251]) * size for i in range(batch)]
    base = dict(b.applied_entries)
    t0 = clock()
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
    dt = clock() - t0
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


def load_raft_at(rev: str) -> types.ModuleType:
    """load_raft_at imports the raft package of git revision rev (src/raftstore/raft as it was then) as
    `raftstore_at_<rev>.raft`, next to this checkout's, for in-process comparisons. It shares this
    checkout's protobuf modules (a second registration of the same .proto files is refused), so rev's
    raft must use the same eraftpb messages."""
    name = f"raftstore_at_{rev}"
    root = Path(tempfile.mkdtemp(prefix="bench_raft_"))
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev, "src/raftstore/raft"],
        capture_output=True, check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    (root / "src" / "raftstore").rename(root / name)
    (root / name / "__init__.py").write_text("")
    sys.modules[f"{name}.proto"] = raftstore.proto
    sys.modules[f"{name}.proto.eraftpb_pb2"] = raftstore.proto.eraftpb_pb2
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"{name}.raft")
    finally:
        sys.path.remove(str(root))


@dataclass
class Pairs:
    """Pairs: one size's in-process comparison of this checkout's raft (new) against an older one (old):
    proposals/s of CPU time per run, pair by pair."""

    size: int
    old: list[float]
    new: list[float]

    def ratios(self) -> list[float]:
        return [n / o for n, o in zip(self.new, self.old)]


def compare(rev: str, n: int, sizes: list[int], batch: int, pairs: int) -> list[Pairs]:
    """compare runs, per size, `pairs` pairs of runs of rev's raft and this checkout's in one process,
    alternating which goes first, and measures each by CPU time (time.process_time: other processes on
    the machine do not count, though they still slow the caches down)."""
    old_lib = load_raft_at(rev)
    out = []
    for size in sizes:
        result = Pairs(size, [], [])
        for k in range(pairs):
            order = ((old_lib, result.old), (raftstore.raft, result.new))
            for lib, rates in order if k % 2 == 0 else order[::-1]:
                dt, _ = run(n, size, batch, False, lib, time.process_time)
                rates.append(n / dt)
            print(f"{size:>6} pair {k + 1}: old {result.old[-1]:>10,.0f}  new {result.new[-1]:>10,.0f}  "
                  f"new/old {result.ratios()[-1]:.2f}x", flush=True)
        out.append(result)
    return out


def pairs_table(rev: str, results: list[Pairs], batch: int) -> str:
    """pairs_table: compare's results as a markdown table (medians and the spread of the pair ratios)."""
    lines = [
        f"| size (B) | batch | old ({rev}) proposals/s, median | new proposals/s, median | new / old, median of the pairs | spread |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ratios = r.ratios()
        lines.append(
            f"| {r.size} | {batch} | {statistics.median(r.old):,.0f} | {statistics.median(r.new):,.0f} | "
            f"{statistics.median(ratios):.2f}x | {min(ratios):.2f}-{max(ratios):.2f} |"
        )
    return "\n".join(lines)


DOCS_BEGIN = "<!-- bench_raft:begin -->"
DOCS_END = "<!-- bench_raft:end -->"
DOCS_HEADING = "## Raft core (bench/bench_raft.py)"
# DOCS_PATH: the file --write-docs updates by default (docs/benchmarks.md of this checkout).
DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass
class Result:
    """Result: the median figures of one proposal size over its runs: proposals/s, the baseline/s and
    the ratio baseline/s / proposals/s of each run against its own baseline (how many times more a
    proposal costs through Raft than building it)."""

    size: int
    batch: int
    rate: float
    baseline_rate: float
    ratio: float


def markdown_table(results: list[Result]) -> str:
    """markdown_table: the results as a markdown table (one row per size)."""
    lines = [
        "| size (B) | batch | proposals/s | MB/s | baseline/s | ratio |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.size} | {r.batch} | {r.rate:,.0f} | {r.rate * r.size / 1e6:.1f} | "
            f"{r.baseline_rate:,.0f} | {r.ratio:.1f}x |"
        )
    return "\n".join(lines)


def docs_block(results: list[Result], args: argparse.Namespace) -> str:
    """docs_block: the marked block --write-docs puts in docs/benchmarks.md (setup line and table)."""
    runs = f"median of {args.runs} runs" if args.runs > 1 else "1 run"
    setup = (
        f"3 voters, MemStorage, full Ready loop, {args.n:,} proposals per run, {runs}, "
        f"messages {'serialized' if args.serialize else 'in-process'}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}. "
        "ratio = baseline/s / proposals/s of the same run (median), where the baseline is the cost of "
        "building the proposals alone (one Message with `entries.add` per batch)."
    )
    cmd = "python bench/bench_raft.py " + " ".join(args.argv) if args.argv else "python bench/bench_raft.py"
    return f"{DOCS_BEGIN}\n`{cmd}`: {setup}\n\n{markdown_table(results)}\n{DOCS_END}"


def write_docs(path: Path, block: str) -> None:
    """write_docs: replaces the block between DOCS_BEGIN and DOCS_END in path, or appends it under
    DOCS_HEADING (adding the heading, or the file, when missing). Everything else is kept as is."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin = text.find(DOCS_BEGIN)
    end = text.find(DOCS_END, begin + len(DOCS_BEGIN)) if begin >= 0 else -1
    if begin >= 0 and end >= 0:
        text = text[:begin] + block + text[end + len(DOCS_END) :]
    elif begin >= 0:
        raise SystemExit(f"{path}: {DOCS_BEGIN} without {DOCS_END}; fix the file by hand")
    else:
        lines = text.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.rstrip() == DOCS_HEADING), None)
        if at is None:
            text = text.rstrip("\n") + f"\n\n{DOCS_HEADING}\n\n{block}\n"
        else:
            # Right under the heading (before whatever text the section already has).
            lines.insert(at + 1, f"\n{block}\n")
            text = "".join(lines)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    """main: runs the benchmark for each size and prints proposals/s, batch size and the baseline ratio
    (one line per run, then a markdown table of the medians); --write-docs also puts that table in
    docs/benchmarks.md."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=200_000, help="proposals per run (default 200000)")
    ap.add_argument("--batch", type=int, default=1024, help="proposals per batch (default 1024)")
    ap.add_argument("--sizes", default="10,1024", help="proposal sizes in bytes (default 10,1024)")
    ap.add_argument("--runs", type=int, default=1, help="runs per size; the table shows the median (default 1)")
    ap.add_argument("--serialize", action="store_true", help="encode and decode every message")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the first size's first run")
    ap.add_argument(
        "--against",
        metavar="REV",
        help="instead: compare this checkout's raft with git revision REV's in one process, pair by pair (CPU time)",
    )
    ap.add_argument("--pairs", type=int, default=11, help="pairs of runs per size with --against (default 11)")
    ap.add_argument(
        "--write-docs",
        nargs="?",
        const=str(DOCS_PATH),
        default=None,
        metavar="PATH",
        help=f"replace the {DOCS_BEGIN} ... {DOCS_END} block of PATH (default docs/benchmarks.md) with the table",
    )
    raw = list(sys.argv[1:] if argv is None else argv)
    args = ap.parse_args(raw)
    # argv: the options as given, minus --write-docs (for the command line shown in the docs).
    args.argv = [a for a in raw if not a.startswith("--write-docs")]
    if args.write_docs is not None and args.write_docs in args.argv:
        args.argv.remove(args.write_docs)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.against:
        print(f"bench_raft --against {args.against}: 3 voters, batch {args.batch}, {args.n} proposals per run, CPU time")
        print(pairs_table(args.against, compare(args.against, args.n, sizes, args.batch, args.pairs), args.batch))
        return

    print(
        f"bench_raft: 3 voters, MemStorage, full Ready loop, {args.n} proposals per run, "
        f"batch {args.batch}, messages {'serialized' if args.serialize else 'in-process'}"
    )
    print(f"{'size':>6} {'batch':>6} {'proposals/s':>12} {'MB/s':>7} {'msgs':>7} {'baseline/s':>12} {'ratio':>6}")
    results: list[Result] = []
    for i, size in enumerate(sizes):
        rates: list[float] = []
        brates: list[float] = []
        msgs = 0
        for k in range(args.runs):
            if args.profile and i == 0 and k == 0:
                prof = cProfile.Profile()
                prof.enable()
                dt, msgs = run(args.n, size, args.batch, args.serialize)
                prof.disable()
            else:
                dt, msgs = run(args.n, size, args.batch, args.serialize)
            bdt = baseline(args.n, size, args.batch)
            rate = args.n / dt
            brate = args.n / bdt
            rates.append(rate)
            brates.append(brate)
            print(
                f"{size:>6} {args.batch:>6} {rate:>12,.0f} {rate * size / 1e6:>7.1f} {msgs:>7} "
                f"{brate:>12,.0f} {brate / rate:>5.1f}x"
            )
            sys.stdout.flush()
            if args.profile and i == 0 and k == 0:
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
                print(out.getvalue())
        ratios = [b / r for b, r in zip(brates, rates)]
        results.append(
            Result(size, args.batch, statistics.median(rates), statistics.median(brates), statistics.median(ratios))
        )
    print()
    print(markdown_table(results))
    if args.write_docs is not None:
        path = Path(args.write_docs)
        write_docs(path, docs_block(results, args))
        print(f"\nwrote the table to {path}")


if __name__ == "__main__":
    main()
