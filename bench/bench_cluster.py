"""bench_cluster: raftstore against etcd and PySyncObj, 3 nodes each on 127.0.0.1, in one run.

The three clusters are started side by side and stay up for the whole run; the cases interleave (for each
value size, each system in turn), so that all three meet the same machine at nearly the same time. One
load generator drives them all, in this process:

- throughput: `--inflight` threads (64), each with one put in flight (a new key as soon as the last put
  is answered), for `--warmup` seconds not counted, then `--seconds` counted; puts/s = puts answered in
  the counted window / its length. Values of 10 B, 1 KiB and 16 KiB.
- sequential latency: one thread, `--sequential` puts one after the other (after 20 not counted), p50
  and p99 of their wall time.

The systems:

- raftstore: 3 `raftstore server` processes (default config; every round's group commit is fsynced),
  through one `raftstore.client.Client` shared by the threads (it multiplexes them onto one BatchCommands
  stream per store, and sends to the region's leader). fsyncs are counted from the stores' /metrics
  (raftstore_fsyncs_total).
- etcd: Debian's `etcd-server` (`etcd` on PATH), 3 members, default settings (fsync of the WAL on every
  commit) but for the backend quota, raised from 2 GiB to 8 GiB (etcd's suggested maximum): a full run at
  etcd's pace writes more than 2 GiB of new keys, and etcd then refuses every put ("database space
  exceeded"), driven at its leader two ways, one case each: "etcd", its own gRPC protocol
  (`etcdserverpb.KV/Put`, the PutRequest encoded here, one channel shared by the threads, as etcd's
  clients do: the targets are measured against this one), and "etcd HTTP/JSON", its gateway
  (`POST /v3/kv/put`, key and value in base64, one keep-alive `http.client` connection per thread), for
  reference. fsyncs from /metrics (etcd_disk_wal_fsync_duration_seconds_count). Missing: the script says
  how to install it and runs the others.
- PySyncObj (PyPI `pysyncobj`): 3 nodes, a `ReplDict`, `set(key, value, sync=True)`, batching of
  appends off (PYSYNCOBJ_CONF: faster here than its default; `--pysyncobj-conf` to change). PySyncObj has no
  client protocol: an application calls its replicated object in a node's process, so node 1 runs in this
  process (the load generator calls it directly) and nodes 2 and 3 in processes of their own (this script
  with --pysyncobj-node). A call on a follower is forwarded to the leader. It keeps everything in memory:
  no fsync ever (no journal file).

Every process and the temporary directory are removed at the end, also after Ctrl-C or SIGTERM.

The tables give each case's median over the rounds; a target is judged on the median of its per-round
ratios (raftstore's figure over the other system's in the same round: they ran back to back), shown
with the rounds' range.

Run: `python bench/bench_cluster.py` (about 3 minutes per round; `--rounds 3` takes the median of 3).
`--quick` is the configuration for trying a change (about a minute): 1 s of warm-up, 3 s counted and 300
sequential puts per case, raftstore and etcd only (unless --systems says otherwise).
`--write-docs` writes the table into docs/benchmarks.md between `<!-- bench_cluster:begin -->` and
`<!-- bench_cluster:end -->`, and the chart into docs/bench_cluster.png (`--chart PATH` for elsewhere).
Needs the `bench` extra (`pip install -e '.[bench]'`: pysyncobj, matplotlib).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import datetime
import http.client
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
from docs_block import write_block

from raftstore.client import Client, ClientError
from raftstore.server.playground import free_ports, wait_serving

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "docs" / "bench_cluster.png"
SIZES = {"10 B": 10, "1 KiB": 1024, "16 KiB": 16 * 1024}
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
ETCD_MISSING = "etcd not found: install with `apt-get install etcd-server`"
# ETCD_HTTP: the name of the etcd cluster driven through its HTTP/JSON gateway (a second row, for reference).
ETCD_HTTP = "etcd HTTP/JSON"
# PYSYNCOBJ_TARGETS: the throughput targets against PySyncObj, by value size.
PYSYNCOBJ_TARGETS = {"10 B": 2.0, "1 KiB": 2.0, "16 KiB": 10.0}

# PYSYNCOBJ_CONF: PySyncObj's SyncObjConf settings (JSON; defaults otherwise). With its default batching
# (appendEntriesUseBatch) a command waits for the next append period (0.1 s), which caps 64 sync callers at
# about 640 puts/s; without it each command is sent at once, which is faster here at every size.
PYSYNCOBJ_CONF = '{"appendEntriesUseBatch": false}'

# Putter: one load thread's way to put a key (each thread gets its own, from System.putter); a put that
# fails raises BenchError.
Putter = Callable[[bytes, bytes], None]


class BenchError(Exception):
    """BenchError: a system could not be started or answered a put with an error."""


class System(Protocol):
    """System: a running 3-node cluster the load generator can drive."""

    name: str
    note: str

    def putter(self) -> Putter: ...

    def pids(self) -> list[int]: ...

    def fsyncs(self) -> int | None: ...


# -- processes ------------------------------------------------------------------------------------------


class Procs:
    """Procs: the child processes of the run, each logging to root/NAME.log; stop() ends all of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        with open(self.root / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs[name] = proc
        return proc

    def check(self) -> None:
        """check raises BenchError when a child exited on its own (naming its log's last lines)."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.root / f"{name}.log").read_text(errors="replace").splitlines()[-5:]
                raise BenchError(f"{name} exited with status {proc.returncode}: " + " | ".join(tail))

    def stop(self) -> None:
        """stop sends SIGTERM to every child, then SIGKILL to those still running after STOP_TIMEOUT."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in self.procs.values():
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_seconds(pid: int) -> float:
    """cpu_seconds is the user + system CPU time process pid has used (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric_sum(url: str, name: str) -> float:
    """metric_sum is the sum of the samples named `name` (any labels) at a Prometheus endpoint."""
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and line[len(name)] in " {"
    )


# -- raftstore ------------------------------------------------------------------------------------------


class Raftstore:
    """Raftstore: 3 `raftstore server` processes and one Client shared by the load threads."""

    name = "raftstore"

    def __init__(self, root: Path, procs: Procs) -> None:
        ports = free_ports(6, 20161)
        self.addrs = [f"{HOST}:{p}" for p in ports[:3]]
        self.status = [f"http://{HOST}:{p}/metrics" for p in ports[3:]]
        cluster = ",".join(f"{sid}={addr}" for sid, addr in enumerate(self.addrs, start=1))
        self.procs = []
        for sid, (addr, status) in enumerate(zip(self.addrs, ports[3:]), start=1):
            cmd = [sys.executable, "-m", "raftstore", "server", "--store-id", str(sid), "--addr", addr,
                   "--status-addr", f"{HOST}:{status}", "--data", str(root / f"raftstore-{sid}"),
                   "--initial-cluster", cluster]
            self.procs.append(procs.spawn(f"raftstore-{sid}", cmd))
        deadline = time.monotonic() + START_TIMEOUT
        for proc, addr in zip(self.procs, self.addrs):
            wait_serving(addr, deadline, proc)
        self.client = Client(self.addrs, timeout=10.0)
        put_until_ready(self.client.put, deadline)
        self.note = "3 stores, default config, fsync per group commit"

    def putter(self) -> Putter:
        def put(key: bytes, value: bytes) -> None:
            try:
                self.client.put(key, value)
            except ClientError as err:
                raise BenchError(f"raftstore put: {type(err).__name__}: {err}") from err

        return put

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def fsyncs(self) -> int | None:
        return int(sum(metric_sum(url, "raftstore_fsyncs_total") for url in self.status))

    def close(self) -> None:
        self.client.close()


# -- etcd -----------------------------------------------------------------------------------------------


# ETCD_QUOTA: etcd's backend quota for the run (module docstring); its default, 2 GiB, is too small.
ETCD_QUOTA = 8 << 30


class Etcd:
    """Etcd: 3 etcd members, driven through the leader in one of two ways (`api`): "grpc", etcd's own
    protocol (`etcdserverpb.KV/Put`, the one channel shared by the threads, as an etcd client does), or
    "http", its HTTP/JSON gateway (`POST /v3/kv/put`, base64; one keep-alive connection per thread). The
    two views share the processes: `view` makes the second one."""

    def __init__(self, exe: str, root: Path, procs: Procs) -> None:
        ports = free_ports(6, 2379)
        self.clients = [f"http://{HOST}:{p}" for p in ports[:3]]
        peers = [f"http://{HOST}:{p}" for p in ports[3:]]
        initial = ",".join(f"m{i}={url}" for i, url in enumerate(peers, start=1))
        self.procs = []
        for i, (client, peer) in enumerate(zip(self.clients, peers), start=1):
            cmd = [exe, "--name", f"m{i}", "--data-dir", str(root / f"etcd-{i}"),
                   "--listen-client-urls", client, "--advertise-client-urls", client,
                   "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                   "--initial-cluster", initial, "--initial-cluster-state", "new",
                   "--initial-cluster-token", "bench-cluster", "--quota-backend-bytes", str(ETCD_QUOTA),
                   "--logger", "zap", "--log-level", "warn"]
            self.procs.append(procs.spawn(f"etcd-{i}", cmd))
        deadline = time.monotonic() + START_TIMEOUT
        self.leader = self._wait_leader(deadline, procs)
        self.channel = grpc.insecure_channel(self.leader.removeprefix("http://"))
        self.grpc_put = self.channel.unary_unary("/etcdserverpb.KV/Put")
        self.connections: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()
        self.api = "grpc"
        self.name = "etcd"
        put_until_ready(self.putter(), deadline)
        version = subprocess.run([exe, "--version"], check=False, capture_output=True, text=True).stdout.split("\n")[0]
        self.version = version.replace(" Version:", "").strip()
        self.note = f"{self.version}, 3 members, default settings (WAL fsync per commit; 8 GiB quota), gRPC (etcdserverpb.KV/Put)"

    def view(self, api: str, name: str, note: str) -> Etcd:
        """view is this cluster driven through `api` ("grpc" or "http") under another name."""
        other = copy.copy(self)
        other.api, other.name, other.note = api, name, f"{self.version}, the same cluster, {note}"
        return other

    def _wait_leader(self, deadline: float, procs: Procs) -> str:
        """_wait_leader is the client URL of the member that reports itself the leader."""
        while time.monotonic() < deadline:
            procs.check()
            for url in self.clients:
                try:
                    status = post_json(url, "/v3/maintenance/status", {})
                except OSError:
                    continue
                if status.get("leader") and status["leader"] == status["header"]["member_id"]:
                    return url
            time.sleep(0.2)
        raise BenchError(f"etcd elected no leader within {START_TIMEOUT:.0f} s")

    def putter(self) -> Putter:
        return self._grpc_putter() if self.api == "grpc" else self._http_putter()

    def _grpc_putter(self) -> Putter:
        def put(key: bytes, value: bytes) -> None:
            try:
                self.grpc_put(etcd_put_request(key, value), timeout=10)
            except grpc.RpcError as err:
                raise BenchError(f"etcd put: {err.code().name} {err.details()}") from err  # type: ignore[attr-defined]

        return put

    def _http_putter(self) -> Putter:
        host, port = self.leader.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        with self.lock:
            self.connections.append(conn)

        def put(key: bytes, value: bytes) -> None:
            body = json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()})
            try:
                conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as err:
                conn.close()  # the next request reconnects
                raise BenchError(f"etcd put: {type(err).__name__}: {err}") from err
            if resp.status != 200:
                raise BenchError(f"etcd put: HTTP {resp.status}: {data[:200]!r}")

        return put

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def fsyncs(self) -> int | None:
        return int(sum(metric_sum(url + "/metrics", "etcd_disk_wal_fsync_duration_seconds_count")
                       for url in self.clients))

    def close(self) -> None:
        self.channel.close()
        with self.lock:
            for conn in self.connections:
                conn.close()


def etcd_put_request(key: bytes, value: bytes) -> bytes:
    """etcd_put_request is an encoded etcdserverpb.PutRequest {key = 1; value = 2} (etcd's rpc.proto)."""
    return b"\x0a" + varint(len(key)) + key + b"\x12" + varint(len(value)) + value


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def post_json(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=2).read())  # type: ignore[no-any-return]


# -- PySyncObj ------------------------------------------------------------------------------------------


class PySyncObj:
    """PySyncObj: node 1 in this process (the load threads call its ReplDict), nodes 2 and 3 in children."""

    name = "PySyncObj"

    def __init__(self, procs: Procs, conf: str) -> None:
        from pysyncobj import SyncObj, SyncObjConf  # type: ignore[import-untyped]
        from pysyncobj.batteries import ReplDict  # type: ignore[import-untyped]

        addrs = [f"{HOST}:{p}" for p in free_ports(3, 4321)]
        self.procs = []
        for i in (1, 2):
            others = [a for a in addrs if a != addrs[i]]
            cmd = [sys.executable, str(Path(__file__).resolve()), "--pysyncobj-conf", conf,
                   "--pysyncobj-node", addrs[i], *others]
            self.procs.append(procs.spawn(f"pysyncobj-{i + 1}", cmd))
        self.dict = ReplDict()
        self.node = SyncObj(addrs[0], addrs[1:], consumers=[self.dict], conf=SyncObjConf(**json.loads(conf)))
        deadline = time.monotonic() + START_TIMEOUT
        while self.node._getLeader() is None:
            procs.check()
            if time.monotonic() > deadline:
                raise BenchError(f"PySyncObj elected no leader within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)
        put_until_ready(self.putter(), deadline)
        leader = addrs.index(str(self.node._getLeader())) + 1
        self.note = (f"pysyncobj {importlib.metadata.version('pysyncobj')}, 3 nodes, ReplDict, sync calls, SyncObjConf {conf}, in memory "
                     f"(no fsync); leader: node {leader} (the load generator's node is node 1)")

    def putter(self) -> Putter:
        from pysyncobj import FAIL_REASON, SyncObjException

        fail_reasons = {v: k for k, v in vars(FAIL_REASON).items() if k.isupper()}

        def put(key: bytes, value: bytes) -> None:
            try:
                self.dict.set(key, value, sync=True, timeout=10)
            except SyncObjException as err:
                reason = fail_reasons.get(err.errorCode, err.errorCode)
                raise BenchError(f"PySyncObj put: {reason}") from err

        return put

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def fsyncs(self) -> int | None:
        return None

    def close(self) -> None:
        self.node.destroy()


def run_pysyncobj_node(addr: str, partners: list[str], conf: str) -> None:
    """run_pysyncobj_node serves one PySyncObj node (a ReplDict) until SIGTERM."""
    from pysyncobj import SyncObj, SyncObjConf
    from pysyncobj.batteries import ReplDict

    SyncObj(addr, partners, consumers=[ReplDict()], conf=SyncObjConf(**json.loads(conf)))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


def put_until_ready(put: Putter, deadline: float) -> None:
    """put_until_ready retries one put until it succeeds (the cluster has a leader and a quorum)."""
    while True:
        try:
            put(b"ready", b"1")
            return
        except BenchError as err:
            if time.monotonic() > deadline:
                raise BenchError(f"no put succeeded within {START_TIMEOUT:.0f} s: {err}") from err
            time.sleep(0.2)


# -- the load generator -----------------------------------------------------------------------------------


@dataclass
class Result:
    system: str
    size: str
    puts_per_sec: float
    p50_ms: float
    p99_ms: float
    errors: int
    fsyncs_per_sec: float | None
    server_cpu: float
    loader_cpu: float

    @classmethod
    def median(cls, runs: list[Result]) -> Result:
        """median is the run with the median puts/s, with the median p50 and p99 of all runs."""
        runs_sorted = sorted(runs, key=lambda r: r.puts_per_sec)
        mid = runs_sorted[len(runs_sorted) // 2]
        return cls(mid.system, mid.size, mid.puts_per_sec, statistics.median(r.p50_ms for r in runs),
                   statistics.median(r.p99_ms for r in runs), sum(r.errors for r in runs),
                   mid.fsyncs_per_sec, mid.server_cpu, mid.loader_cpu)


@dataclass
class Load:
    """Load: the counters of one throughput measurement's threads (index = thread)."""

    threads: int
    done: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    first_error: str | None = None

    def __post_init__(self) -> None:
        self.done = [0] * self.threads
        self.errors = [0] * self.threads


def throughput(system: System, value: bytes, tag: bytes, threads: int, warmup: float, seconds: float
               ) -> tuple[float, int, float | None, float, float]:
    """throughput drives system with `threads` puts in flight for warmup + seconds; returns puts/s in the
    counted window, errors, fsyncs/s, and the CPU cores used by the servers and by this process."""
    load = Load(threads)
    stop = threading.Event()
    putters = [system.putter() for _ in range(threads)]

    def worker(i: int) -> None:
        put, n = putters[i], 0
        while not stop.is_set():
            n += 1
            try:
                put(b"%s-%02d-%09d" % (tag, i, n), value)
                load.done[i] += 1
            except BenchError as err:
                load.errors[i] += 1
                load.first_error = load.first_error or str(err)
                time.sleep(0.01)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    try:
        time.sleep(warmup)
        t0, done0, errors0 = time.monotonic(), sum(load.done), sum(load.errors)
        cpu0, own0, fsyncs0 = sum(map(cpu_seconds, system.pids())), time.process_time(), system.fsyncs()
        time.sleep(seconds)
        t1, done1, errors1 = time.monotonic(), sum(load.done), sum(load.errors)
        cpu1, own1, fsyncs1 = sum(map(cpu_seconds, system.pids())), time.process_time(), system.fsyncs()
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    if load.first_error:
        print(f"  {system.name}: {sum(load.errors)} puts failed, the first: {load.first_error}", flush=True)
    span = t1 - t0
    fsyncs = None if fsyncs0 is None or fsyncs1 is None else (fsyncs1 - fsyncs0) / span
    return (done1 - done0) / span, errors1 - errors0, fsyncs, (cpu1 - cpu0) / span, (own1 - own0) / span


def sequential(system: System, value: bytes, tag: bytes, count: int, limit: float) -> tuple[float, float, int]:
    """sequential puts count keys one after the other (20 first, not counted; at most `limit` seconds);
    returns the p50 and p99 latency in ms of the puts that succeeded, and how many failed (a failed put,
    e.g. PySyncObj's LEADER_CHANGED during an election, is not timed; the next key follows)."""
    put = system.putter()
    lat: list[float] = []
    failed = 0
    end = time.monotonic() + limit
    for i in range(-20, count):
        start = time.perf_counter()
        try:
            put(b"%s-s%06d" % (tag, i), value)
        except BenchError:
            failed += 1
            time.sleep(0.01)
            continue
        if i >= 0:
            lat.append(time.perf_counter() - start)
        if time.monotonic() > end and lat:
            break
    if not lat:
        raise BenchError(f"{system.name}: every sequential put failed")
    lat.sort()
    return lat[len(lat) // 2] * 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, failed


def measure(system: System, size: str, args: argparse.Namespace, rnd: int) -> Result:
    value = os.urandom(SIZES[size] // 2 + 1).hex()[: SIZES[size]].encode()
    tag = b"r%d-%d" % (rnd, SIZES[size])
    rate, errors, fsyncs, server_cpu, own_cpu = throughput(system, value, tag, args.inflight, args.warmup, args.seconds)
    p50, p99, failed = sequential(system, value, tag, args.sequential, args.seconds)
    return Result(system.name, size, rate, p50, p99, errors + failed, fsyncs, server_cpu, own_cpu)


# -- the report -----------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def round_ratios(runs: dict[tuple[str, str], list[Result]], a: str, b: str, size: str, field: str) -> list[float]:
    """round_ratios are a's `field` over b's, round by round (the two were measured back to back)."""
    return sorted(getattr(x, field) / getattr(y, field) for x, y in zip(runs[a, size], runs[b, size]) if getattr(y, field))


def ratio_cells(ratios: list[float]) -> str:
    """ratio_cells: the median of the rounds' ratios, and their range when there are several."""
    if not ratios:
        return "- | -"
    spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}x" if len(ratios) > 1 else "-"
    return f"{statistics.median(ratios):.2f}x | {spread}"


def report(results: dict[tuple[str, str], Result], runs: dict[tuple[str, str], list[Result]], systems: list[str],
           sizes: list[str]) -> list[str]:
    """report is the Markdown tables of the results (medians of the rounds) and of the issue's targets, each
    judged on the median of its per-round ratios: a round measures the systems back to back, so its ratio
    is what the machine's load (shared, changing) disturbs least."""
    header = ("| system | value | puts/s | sequential p50 ms | sequential p99 ms | fsyncs/s (3 nodes) "
              "| CPU cores: servers / load generator | failed puts (all rounds) |")
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for name in systems:
            r = results[name, size]
            fs = "none" if r.fsyncs_per_sec is None else f"{r.fsyncs_per_sec:,.0f}"
            lines.append(f"| {name} | {size} | {r.puts_per_sec:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {fs} | "
                         f"{r.server_cpu:.2f} / {r.loader_cpu:.2f} | {r.errors} |")
    lines += ["", "| target (issue 12) | value | raftstore | other | ratio, median of the rounds | rounds' range | |",
              "|---|---|---:|---:|---:|---:|---|"]
    for size in sizes if "raftstore" in systems else []:
        rs = results["raftstore", size]
        for etcd in (e for e in ("etcd", ETCD_HTTP) if e in systems):
            et = results[etcd, size]
            puts = round_ratios(runs, "raftstore", etcd, size, "puts_per_sec")
            p50 = round_ratios(runs, "raftstore", etcd, size, "p50_ms")
            lines.append(f"| puts/s ≥ 1.0x {etcd} | {size} | {rs.puts_per_sec:,.0f} | {et.puts_per_sec:,.0f} | "
                         f"{ratio_cells(puts)} | {verdict(bool(puts) and statistics.median(puts) >= 1.0)} |")
            lines.append(f"| sequential p50 ≤ {etcd}'s | {size} | {rs.p50_ms:.2f} ms | {et.p50_ms:.2f} ms | "
                         f"{ratio_cells(p50)} | {verdict(bool(p50) and statistics.median(p50) <= 1.0)} |")
        if "PySyncObj" in systems:
            ps, want = results["PySyncObj", size], PYSYNCOBJ_TARGETS[size]
            puts = round_ratios(runs, "raftstore", "PySyncObj", size, "puts_per_sec")
            lines.append(f"| puts/s ≥ {want:.0f}x PySyncObj | {size} | {rs.puts_per_sec:,.0f} | {ps.puts_per_sec:,.0f} | "
                         f"{ratio_cells(puts)} | {verdict(bool(puts) and statistics.median(puts) >= want)} |")
    return lines


def chart(results: dict[tuple[str, str], Result], systems: list[str], sizes: list[str], path: Path, title: str) -> None:
    """chart writes a PNG: puts/s per value size and system (log scale), and sequential p50 / p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(systems)
    for k, name in enumerate(systems):
        xs = [i + (k - (len(systems) - 1) / 2) * width for i in range(len(sizes))]
        rates = [results[name, s].puts_per_sec for s in sizes]
        bars = left.bar(xs, rates, width, label=name)
        left.bar_label(bars, [f"{r:,.0f}" for r in rates], fontsize=7)
        p50 = [results[name, s].p50_ms for s in sizes]
        p99 = [results[name, s].p99_ms for s in sizes]
        right.bar(xs, p50, width, label=f"{name} p50", color=bars[0].get_facecolor())
        right.scatter(xs, p99, marker="_", s=200, color="black", zorder=3, label="p99" if k == 0 else None)
    for ax, ylabel in ((left, "puts/s, 64 in flight (log scale)"), (right, "sequential put latency, ms (log scale)")):
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_xlabel("value size")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.set_ylim(top=ax.get_ylim()[1] * 3)
        ax.legend(fontsize=8, loc="upper left", ncols=2)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python {platform.python_version()}"


def write_docs(lines: list[str]) -> None:
    write_block("bench_cluster", "## Cluster (bench/bench_cluster.py)", lines)


# -- main -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def started(args: argparse.Namespace, root: Path) -> Iterator[list[System]]:
    """started yields the systems asked for, running; on exit every process is stopped."""
    procs = Procs(root)
    systems: list[System] = []
    closers: list[Callable[[], None]] = []
    try:
        for name in args.systems.split(","):
            print(f"starting {name} ...", flush=True)
            if name == "etcd":
                exe = shutil.which("etcd")
                if exe is None:
                    print(ETCD_MISSING, flush=True)
                    continue
                etcd = Etcd(exe, root, procs)
                closers.append(etcd.close)
                systems += [etcd, etcd.view("http", ETCD_HTTP, "HTTP/JSON gateway (POST /v3/kv/put, base64)")]
            elif name == "raftstore":
                rs = Raftstore(root, procs)
                systems.append(rs)
                closers.append(rs.close)
            elif name == "pysyncobj":
                ps = PySyncObj(procs, args.pysyncobj_conf)
                systems.append(ps)
                closers.append(ps.close)
            else:
                raise BenchError(f"unknown system {name!r} (raftstore, etcd, pysyncobj)")
        yield systems
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                close()
        procs.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", help="of raftstore, etcd, pysyncobj (default: all three; --quick: raftstore,etcd)")
    ap.add_argument("--quick", action="store_true", help="--warmup 1 --seconds 3 --sequential 300, raftstore and etcd")
    ap.add_argument("--sizes", default=",".join(SIZES), help="value sizes, of: " + ", ".join(SIZES))
    ap.add_argument("--inflight", type=int, default=64, help="load threads, each with one put in flight")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the counted window")
    ap.add_argument("--seconds", type=float, default=10.0, help="counted seconds per case")
    ap.add_argument("--sequential", type=int, default=1000, help="sequential puts per case (for p50 / p99)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat every case; the median is reported")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--chart", type=Path, help=f"write the PNG chart here (--write-docs: {CHART.relative_to(ROOT)})")
    ap.add_argument("--pysyncobj-conf", default=PYSYNCOBJ_CONF, help="SyncObjConf settings, as JSON")
    ap.add_argument("--pysyncobj-node", nargs="+", metavar="ADDR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.seconds, args.sequential = 1.0, 3.0, 300
    args.systems = args.systems or ("raftstore,etcd" if args.quick else "raftstore,etcd,pysyncobj")
    if args.pysyncobj_node:
        run_pysyncobj_node(args.pysyncobj_node[0], args.pysyncobj_node[1:], args.pysyncobj_conf)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = [s.strip() for s in args.sizes.split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        ap.error(f"unknown --sizes {', '.join(map(repr, unknown))} (of: {', '.join(SIZES)})")
    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, str], list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_cluster_") as tmp, started(args, Path(tmp)) as systems:
        notes = [f"- {s.name}: {s.note}" for s in systems]
        print(*notes, sep="\n", flush=True)
        for rnd in range(args.rounds):
            for size in sizes:
                for system in systems:
                    r = measure(system, size, args, rnd)
                    runs.setdefault((system.name, size), []).append(r)
                    print(f"round {rnd + 1} {system.name:9} {size:6}: {r.puts_per_sec:9,.0f} puts/s, "
                          f"p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms", flush=True)
    results = {key: Result.median(rs) for key, rs in runs.items()}
    names = [s for s in ("raftstore", "etcd", ETCD_HTTP, "PySyncObj") if (s, sizes[0]) in results]
    when = datetime.date.today().isoformat()
    head = (f"`python bench/bench_cluster.py --rounds {args.rounds}`, {when}: {machine()}; {args.inflight} puts in "
            f"flight for {args.seconds:g} s after {args.warmup:g} s of warm-up, then {args.sequential} sequential "
            f"puts, per system and value size" + (f"; median of {args.rounds} rounds" if args.rounds > 1 else "")
            + f"; load average {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after it")
    lines = [head, "", *notes, ""] if "etcd" in names else [head, "", ETCD_MISSING, "", *notes, ""]
    lines += report(results, runs, names, sizes)
    print("", *lines, sep="\n", flush=True)
    chart_path = args.chart or (CHART if args.write_docs else None)
    if chart_path is not None:
        chart(results, names, sizes, chart_path, f"3 nodes on loopback, {when}, {machine()}")
        print(f"chart: {chart_path}")
    if args.write_docs:
        write_docs(lines)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: every process of the run was stopped", file=sys.stderr)
        sys.exit(130)
