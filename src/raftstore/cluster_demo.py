"""raftstore.cluster_demo: `raftstore demo`, raftstore running as a replicated cluster (what `make demo` runs).

1. Start 3 `raftstore server` processes on 127.0.0.1 (data in DATA/store-N/data, logs in DATA/store-N/log, a
   config with aggressive raft log GC in DATA/demo.toml). A directory a previous demo left is reused: the
   stores restart with the same flags (DATA/cluster.txt keeps the addresses) and bootstrap nothing.
2. Write a workload of 1 KiB puts through raftstore.client.Client, IN_FLIGHT at a time, with a progress bar,
   then read a sample back.
3. Kill a follower (SIGKILL) and keep writing; the leader's log GC compacts the log past the follower.
4. Restart the follower: its log line "begin to apply snapshot" shows it catching up through a snapshot.
5. Consistency check, online then offline. Online: the Admin service's ConsistencyCheck (TiKV's
   ComputeHash / VerifyHash: every replica hashes region 1 at the same applied index, the leader compares).
   Offline, as a second witness: stop every store gracefully (SIGTERM), open each store's engines
   read-only and compare region 1's applied index and a SHA-256 of its data. "replicas identical" only if
   both checks agree on every store.
6. A report: throughput, latency p50/p99, snapshot index, size and time.

Every store process is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import re
import socket
import stat
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from tqdm import tqdm

from .client import Client
from .ctl import region_digest
from .demo import opened_engines
from .engine.engines import Engines
from .proto.raftstorepb_pb2 import GetRegionRequest, GetRegionResponse
from .server.admin_client import AdminClient
from .server.ctl_online import check_lines
from .server.playground import HOST, START_TIMEOUT, _stop, wait_serving
from .server.rpc import CHANNEL_OPTIONS, kv_method
from .server.server import FIRST_REGION_ID
from .store import load_region_states

__all__ = ["DEMO_CONFIG", "run_cluster_demo"]

STORES = (1, 2, 3)
IN_FLIGHT = 32
VALUE_SIZE = 1024
# DEMO_CONFIG: 50 ms ticks; log GC every 2 ticks, compacting past a lagging follower beyond 50 entries or 64 KiB.
DEMO_CONFIG = """\
[raftstore]
tick-interval-ms = 50
raft-log-gc-tick-interval = 2
raft-log-gc-threshold = 20
raft-log-gc-count-limit = 50
raft-log-gc-size-limit = 65536
"""
# _SNAP_LINE: the peer storage's log line when a snapshot starts being applied (at -v).
_SNAP_LINE = re.compile(rb"begin to apply snapshot \[index: (\d+), term: (\d+)\]")
SNAPSHOT_TIMEOUT = 30.0


@dataclass
class _Cluster:
    """_Cluster: the demo's store processes (flags fixed per store, so a restart reuses them)."""

    data: Path
    addrs: dict[int, str]
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def store_dir(self, sid: int) -> Path:
        """store_dir is store sid's --data (beside its log: a data directory holds nothing foreign)."""
        return self.data / f"store-{sid}" / "data"

    def log(self, sid: int) -> Path:
        return self.data / f"store-{sid}" / "log"

    def start(self, sid: int) -> None:
        cluster = ",".join(f"{s}={a}" for s, a in self.addrs.items())
        cmd = [sys.executable, "-m", "raftstore", "server", "-v", "--store-id", str(sid), "--addr", self.addrs[sid],
               "--data", str(self.store_dir(sid)), "--initial-cluster", cluster,
               "--config", str(self.data / "demo.toml")]
        self.log(sid).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log(sid), "ab") as log:
            self.procs[sid] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_serving(self, sid: int) -> None:
        wait_serving(self.addrs[sid], time.monotonic() + START_TIMEOUT, self.procs[sid])

    def kill(self, sid: int) -> None:
        proc = self.procs.pop(sid)
        proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        """stop_all stops every running store gracefully (SIGTERM; SIGKILL after playground's STOP_TIMEOUT)."""
        _stop(list(self.procs.values()))
        self.procs.clear()

    def leader(self, timeout: float = 15.0) -> int:
        """leader is the store of region 1's leader, as a running store reports it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sid in list(self.procs):
                with grpc.insecure_channel(self.addrs[sid], options=CHANNEL_OPTIONS) as channel:
                    call = channel.unary_unary(
                        kv_method("GetRegion"), request_serializer=GetRegionRequest.SerializeToString,
                        response_deserializer=GetRegionResponse.FromString,
                    )
                    try:
                        got = call(GetRegionRequest(key=b"demo"), timeout=2)
                    except grpc.RpcError:
                        continue
                if got.leader.store_id in self.procs:
                    return int(got.leader.store_id)
            time.sleep(0.1)
        raise TimeoutError("region 1 has no leader among the running stores")


def _kernel_port() -> int:
    """_kernel_port is a free port the kernel picks: not one of the 20161+ that playgrounds scan for, which
    another process could take while the demo's follower is down."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _addresses(data: Path) -> dict[int, str]:
    """_addresses are the stores' addresses: those DATA/cluster.txt recorded (a reused directory restarts
    with the same flags), else free ports, recorded there."""
    record = data / "cluster.txt"
    if record.exists():
        return {int(sid): addr for sid, addr in (item.split("=") for item in record.read_text().split())}
    addrs = {sid: f"{HOST}:{_kernel_port()}" for sid in STORES}
    record.write_text("".join(f"{sid}={addr}\n" for sid, addr in addrs.items()))
    return addrs


@dataclass
class _Workload:
    """_Workload: put latencies (seconds) and the wall time of the writes."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def write(self, client: Client, keys_: range, label: str) -> None:
        """write puts every key of keys_, IN_FLIGHT at a time, with a progress bar."""
        value = bytes(range(256)) * (VALUE_SIZE // 256)

        def put(i: int) -> float:
            start = time.perf_counter()
            client.put(_key(i), value[i % 256:] + value[: i % 256])
            return time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            for latency in tqdm(pool.map(put, keys_), total=len(keys_), desc=label, unit="put", leave=True):
                self.latencies.append(latency)
        self.seconds += time.perf_counter() - start


def _key(i: int) -> bytes:
    return b"demo-%08d" % i


def _region_digest(engines: Engines) -> tuple[int, str]:
    """_region_digest is region 1's applied index and the SHA-256 of its data (ctl.region_digest)."""
    states = [s for s in load_region_states(engines) if s.region.id == FIRST_REGION_ID]
    if not states:
        raise RuntimeError("region 1 is missing")
    return region_digest(engines, states[0].region)


def _await_snapshot(log: Path, offset: int, start: float) -> tuple[int, float] | None:
    """_await_snapshot waits for the snapshot line in log after offset: (its index, seconds since start)."""
    while time.monotonic() - start < SNAPSHOT_TIMEOUT:
        with open(log, "rb") as f:
            f.seek(offset)
            found = _SNAP_LINE.search(f.read())
        if found:
            return int(found.group(1)), time.monotonic() - start
        time.sleep(0.05)
    return None


def _dir_bytes(path: Path) -> int:
    """_dir_bytes: the size of the files under path, read while the store runs: a file that the store renames
    or deletes between the listing and its stat (a snapshot's temporary file, a collected snapshot) is not
    counted."""
    total = 0
    for file in path.rglob("*"):
        try:
            info = file.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            total += info.st_size
    return total


def run_cluster_demo(data: Path, keys_: int = 3000, out: Callable[[str], None] = print) -> int:
    """run_cluster_demo runs the demo (module docstring) and returns its exit status: 0, or 1 when the
    replicas differ or the follower did not catch up through a snapshot."""
    data.mkdir(parents=True, exist_ok=True)
    (data / "demo.toml").write_text(DEMO_CONFIG)
    reused = (data / "cluster.txt").exists()
    cluster = _Cluster(data, _addresses(data))
    try:
        return _run(cluster, keys_, reused, out)
    finally:
        cluster.stop_all()


def _run(cluster: _Cluster, n: int, reused: bool, out: Callable[[str], None]) -> int:
    data = cluster.data
    for sid in STORES:
        cluster.start(sid)
    for sid in STORES:
        cluster.wait_serving(sid)
    how = "restarted on the data a previous demo left (no bootstrap)" if reused else "bootstrapped region 1"
    out(f"1. 3 stores serving on {', '.join(cluster.addrs.values())} ({how}); data and logs under {data}/store-N/")
    leader = cluster.leader()
    follower = max(sid for sid in STORES if sid != leader)
    out(f"   region 1's leader is on store {leader}")
    work = _Workload()
    with Client(list(cluster.addrs.values()), timeout=10.0) as client:
        work.write(client, range(n), "   writing")
        sample = range(0, n, max(n // 100, 1))
        wrong = [i for i in sample if client.get(_key(i)) is None]
        out(f"2. wrote {n} keys of {VALUE_SIZE} B, {IN_FLIGHT} in flight; read back {len(sample)}: "
            f"{'all present' if not wrong else f'{len(wrong)} MISSING'}")

        cluster.kill(follower)
        with opened_engines(cluster.store_dir(follower), read_only=True) as engines:
            killed_at, _ = _region_digest(engines)
        out(f"3. killed store {follower} (SIGKILL, a follower) at applied index {killed_at}; writing on")
        work.write(client, range(n, 2 * n), "   writing")

        offset = cluster.log(follower).stat().st_size
        restarted = time.monotonic()
        cluster.start(follower)
        cluster.wait_serving(follower)
        snap = _await_snapshot(cluster.log(follower), offset, restarted)
        if snap is None:
            out(f"4. restarted store {follower}: NO snapshot within {SNAPSHOT_TIMEOUT:.0f} s "
                f"(see {cluster.log(follower)})")
            return 1
        snap_index, snap_secs = snap
        snap_bytes = _dir_bytes(cluster.store_dir(leader) / "snap")
        out(f"4. restarted store {follower}: the log was compacted past its index {killed_at}, so the leader sent "
            f"a snapshot at index {snap_index}; it began applying {snap_secs:.2f} s after the restart")
        work.write(client, range(2 * n, 2 * n + n // 10), "   writing")

    with AdminClient(cluster.addrs[leader], timeout=SNAPSHOT_TIMEOUT) as admin:
        check = admin.consistency_check(FIRST_REGION_ID)
    out("5. consistency check online (ComputeHash on every replica at one index, compared by the leader):")
    out("\n".join("   " + line for line in check_lines(FIRST_REGION_ID, check)))
    time.sleep(1.0)  # no more writes: heartbeats carry the last commit index to the followers
    cluster.stop_all()
    digests = {}
    for sid in STORES:
        with opened_engines(cluster.store_dir(sid), read_only=True) as engines:
            digests[sid] = _region_digest(engines)
    out("   and offline: stopped every store (SIGTERM), opened each read-only, hashed region 1's data")
    for sid, (applied, digest) in digests.items():
        out(f"   store {sid}: applied index {applied:>6}  sha256 {digest}")
    identical = check.identical and len(set(digests.values())) == 1
    out("   replicas identical" if identical else "   replicas DIFFER")

    lat = sorted(work.latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    out(f"6. report: {len(lat)} puts of {VALUE_SIZE} B in {work.seconds:.1f} s = {len(lat) / work.seconds:,.0f} puts/s; "
        f"latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    out(f"   snapshot: index {snap_index}, {snap_bytes:,} B of snapshot files on the leader, "
        f"applying began {snap_secs:.2f} s after the follower restarted")
    return 0 if identical and not wrong else 1
