"""bench_hibernate: the CPU and memory 10,000 idle regions cost at rest, hibernated and not.

Three stores in ONE process, each a StoreCore on its own RocksDB engines (under a temporary directory)
driven by the server's threaded driver (raftstore.server.driver.StoreDriver) ticking at the real base
tick, 100 ms; an in-process transport hands each round's messages to the receiving store's driver.
The regions, a voter on every store, are bootstrapped directly (bootstrap_initial_regions, as
raftstore.testing.Cluster does) rather than split through raft; store 1's peers campaign at once.

Each mode runs in a fresh child process. Once every region has a leader and, with hibernation, no
store ticks any peer (StoreCore.ticked_peers == 0 everywhere; without, after --settle more seconds),
it measures over --secs of wall time:

- CPU: the process's CPU time (time.process_time, every thread), as % of one core;
- ticks/s: ticks each store ran per second (10 when the driver keeps up with its 100 ms tick);
- RSS: VmRSS once settled minus VmRSS before the cores were built (engines open, regions bootstrapped),
  per region (its three replicas, all in this process) and per replica.

Run: `python bench/bench_hibernate.py` (10,000 regions: 10 to 20 minutes on a loaded 2-core machine,
mostly the elections and the wait for every region to sleep); `--regions N [N ...]` runs both modes for
each count, `--secs` sets the window; `--write-docs` writes the table into docs/benchmarks.md between
`<!-- bench_hibernate:begin -->` and `<!-- bench_hibernate:end -->` (appended under "## Hibernation"
when missing).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from docs_block import write_block

from raftstore.engine import open_engines
from raftstore.proto.metapb_pb2 import Peer, Region
from raftstore.proto.raft_serverpb_pb2 import RaftMessage
from raftstore.server.driver import StoreDriver
from raftstore.server.metrics import StoreMetrics
from raftstore.store.bootstrap import bootstrap_initial_regions, bootstrap_store
from raftstore.store.driver import open_store
from raftstore.store.snap.manager import SnapManager
from raftstore.store.store_core import StoreConfig, StoreCore

STORES = [1, 2, 3]
TICK_SECS = 0.1


@dataclass
class Result:
    hibernate: bool
    regions: int
    settle_secs: float
    cpu_percent: float
    ticks_per_sec: float
    rss_per_region: int
    rss_per_replica: int
    messages_per_sec: float


class LocalTransport:
    """LocalTransport: each round's messages, grouped by store, to the receiving store's driver inbox."""

    def __init__(self) -> None:
        self.drivers: dict[int, StoreDriver] = {}
        self.sent = 0

    def send(self, msgs: list[RaftMessage]) -> None:
        self.sent += len(msgs)
        by_store: dict[int, list[RaftMessage]] = defaultdict(list)
        for m in msgs:
            by_store[m.to_peer.store_id].append(m)
        for sid, group in by_store.items():
            self.drivers[sid].step_messages(group)


def rss() -> int:
    """rss: this process's resident set size in bytes (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def regions(count: int) -> list[Region]:
    """regions: `count` regions cutting the key space at r000001, r000002, ...; region r has peer
    (r - 1) * 3 + s on store s (Cluster's numbering)."""
    bounds = [b"", *(b"r%06d" % i for i in range(1, count)), b""]
    out = []
    for i in range(count):
        peers = [Peer(id=i * len(STORES) + s, store_id=s) for s in STORES]
        region = Region(id=i + 1, start_key=bounds[i], end_key=bounds[i + 1], peers=peers)
        region.region_epoch.conf_ver = 1
        region.region_epoch.version = 1
        out.append(region)
    return out


def campaign_all(core: StoreCore) -> None:
    for peer in core.peers.values():
        peer.raft_group.campaign()


def run_mode(hibernate: bool, count: int, secs: float, settle: float) -> Result:
    """run_mode: one mode, in this process (module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-hibernate-") as tmp:
        root = Path(tmp)
        config = StoreConfig(hibernate_regions=hibernate)
        engines = {sid: open_engines(root / f"store-{sid}") for sid in STORES}
        for sid, e in engines.items():
            bootstrap_store(e, 1, sid)
            bootstrap_initial_regions(e, regions(count))
        gc.collect()
        rss_before = rss()
        transport = LocalTransport()
        cores = {}
        for sid, e in engines.items():
            mgr = SnapManager(root / f"store-{sid}" / "snap")
            mgr.init()
            cores[sid], _ = open_store(e, 1, sid, mgr, config)
            transport.drivers[sid] = StoreDriver(cores[sid], e, transport.send, TICK_SECS, StoreMetrics())
        transport.drivers[1].submit(campaign_all)
        started = time.monotonic()
        for driver in transport.drivers.values():
            driver.start()
        try:
            wait_settled(cores, count, hibernate, settle)
            settle_secs = time.monotonic() - started
            gc.collect()
            rss_after = rss()
            ticks = {sid: core.ticks for sid, core in cores.items()}
            sent = transport.sent
            wall, cpu = time.monotonic(), time.process_time()
            time.sleep(secs)
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            ticks_per_sec = sum(core.ticks - ticks[sid] for sid, core in cores.items()) / len(cores) / wall
            messages_per_sec = (transport.sent - sent) / wall
        finally:
            for driver in transport.drivers.values():
                driver.stop()
            for e in engines.values():
                e.close()
    grown = rss_after - rss_before
    return Result(hibernate, count, settle_secs, 100 * cpu / wall, ticks_per_sec, grown // count,
                  grown // (count * len(STORES)), messages_per_sec)


def wait_settled(cores: dict[int, StoreCore], count: int, hibernate: bool, settle: float) -> None:
    """wait_settled: every region has a leader (one of the stores leads it) and, with hibernation, no store
    ticked a peer at its last tick; without, `settle` more seconds."""
    deadline = time.monotonic() + 900
    while True:
        time.sleep(1.0)
        if time.monotonic() > deadline:
            raise RuntimeError("the regions did not settle within 900 s")
        leaders = sum(1 for core in cores.values() for p in list(core.peers.values()) if p.is_leader())
        if leaders < count:
            continue
        if not hibernate:
            time.sleep(settle)
            return
        if all(core.ticked_peers == 0 for core in cores.values()):
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, nargs="+", default=[10_000], help="one run of both modes per count")
    parser.add_argument("--secs", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait after the elections without hibernation")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--mode", choices=["on", "off"], help=argparse.SUPPRESS)  # a child: one mode, JSON out
    args = parser.parse_args()
    if args.mode is not None:
        print(json.dumps(asdict(run_mode(args.mode == "on", args.regions[0], args.secs, args.settle))))
        return
    results = []
    for count in args.regions:
        for mode in ("on", "off"):
            child = [sys.executable, __file__, "--mode", mode, "--regions", str(count), "--secs", str(args.secs),
                     "--settle", str(args.settle)]
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            results.append(Result(**json.loads(out.strip().splitlines()[-1])))
            print(results[-1], flush=True)
    lines = table(results, args.secs)
    print("\n".join(lines))
    if args.write_docs:
        write_block("bench_hibernate", "## Hibernation", lines)


def table(results: list[Result], secs: float) -> list[str]:
    counts = " and ".join(f"{r.regions:,}" for r in results[::2])
    lines = [
        (
            f"{counts} idle regions, 3 stores in one process (RocksDB, threaded driver, 100 ms tick), measured "
            f"over {secs:.0f} s at rest, each mode in a fresh process; `python bench/bench_hibernate.py --regions "
            f"{' '.join(str(r.regions) for r in results[::2])}`."
        ),
        "",
        "| regions | hibernation | CPU, % of one core | ticks/s per store | messages/s | RSS per region (3 replicas) | per replica | settled after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.regions:,} | {'on' if r.hibernate else 'off'} | {r.cpu_percent:.1f} | {r.ticks_per_sec:.1f} | "
            f"{r.messages_per_sec:,.0f} | {r.rss_per_region:,} B | {r.rss_per_replica:,} B | {r.settle_secs:.0f} s |"
        )
    ratios = ", ".join(f"{on.regions:,}: {on.cpu_percent / max(off.cpu_percent, 1e-9):.3f}x"
                       for on, off in zip(results[::2], results[1::2]))
    lines += [
        "",
        (
            f"CPU at rest with hibernation against without it ({ratios}). "
            "What still runs at rest with hibernation: each store's driver wakes every 100 ms (a tick that visits "
            "no peer, an empty round, the gauges over the awake regions), the probes of the leaders' stores "
            "(a request and an answer per pair of stores per second) and, every 10 s, the stale-peer check's "
            "pass over every peer. Without hibernation every tick visits every peer and every leader "
            "heartbeats its followers every other tick; where the stores fall behind the 100 ms tick "
            "(ticks/s below 10) the CPU figure is what the process got on the machine, not what it needed. "
            "RSS is what the cores "
            "(peers, raft state, caches) and RocksDB's growth add per region once settled."
        ),
    ]
    return lines


if __name__ == "__main__":
    main()
