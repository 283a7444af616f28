"""raftstore.chaos.cluster: the store processes of a chaos run, wired through per-link proxies.

Stores 1..N run `raftstore server` (the playground's command line) on 127.0.0.1 with data under
ROOT/store-ID and logs in ROOT/store-ID.log. Store i's --initial-cluster names its own real address for i
and the proxy (i, j) for every other store j (proxy.py), so that the harness can cut each direction of each
link. Clients connect to the real addresses directly: faults between clients and stores are kills and
pauses only. A restart reuses the same flags (no bootstrap the second time).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc

from ..proto.raftstorepb_pb2 import GetRegionRequest, GetRegionResponse, PeerChangeKind
from ..server.admin_client import AdminClient
from ..server.errors import AdminError
from ..server.playground import HOST, START_TIMEOUT, _stop, wait_serving
from ..server.rpc import CHANNEL_OPTIONS, kv_method
from .proxy import ProxyNet

__all__ = ["CHAOS_CONFIG", "StoreProcs"]

# CHAOS_CONFIG: 50 ms ticks (elections in 0.5-1 s) and log GC that compacts past a store down for a
# second or two, so that restarted stores often catch up through snapshots.
CHAOS_CONFIG = """\
[raftstore]
tick-interval-ms = 50
raft-log-gc-tick-interval = 4
raft-log-gc-threshold = 50
raft-log-gc-count-limit = 200
"""


def _kernel_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class StoreProcs:
    """StoreProcs: the N store processes of a run. `failpoints` maps a store id to the
    RAFTSTORE_FAILPOINTS value its process starts with (every start until changed)."""

    def __init__(self, root: Path, nodes: int, failpoints: dict[int, str] | None = None) -> None:
        self.root = root
        self.ids = list(range(1, nodes + 1))
        self.addrs = {sid: f"{HOST}:{_kernel_port()}" for sid in self.ids}
        self.net = ProxyNet(self.addrs)
        self.failpoints = dict(failpoints or {})
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.paused: set[int] = set()
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "chaos.toml"
        self.config.write_text(CHAOS_CONFIG)

    def data(self, sid: int) -> Path:
        return self.root / f"store-{sid}"

    def log(self, sid: int) -> Path:
        return self.root / f"store-{sid}.log"

    def initial_cluster(self, sid: int) -> str:
        """initial_cluster is store sid's view: itself at its address, every other store behind a proxy."""
        return ",".join(f"{o}={self.addrs[o] if o == sid else self.net.addr(sid, o)}" for o in self.ids)

    def start(self, sid: int, wait: bool = True) -> None:
        """start runs store sid (if not running) and, with wait, returns once it serves."""
        if sid in self.procs:
            return
        cmd = [sys.executable, "-m", "raftstore", "server", "--store-id", str(sid), "--addr", self.addrs[sid],
               "--data", str(self.data(sid)), "--initial-cluster", self.initial_cluster(sid),
               "--config", str(self.config)]
        env = dict(os.environ)
        env.pop("RAFTSTORE_FAILPOINTS", None)
        if self.failpoints.get(sid):
            env["RAFTSTORE_FAILPOINTS"] = self.failpoints[sid]
        with open(self.log(sid), "ab") as log:
            self.procs[sid] = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        if wait:
            self.wait_serving(sid)

    def wait_serving(self, sid: int) -> None:
        wait_serving(self.addrs[sid], time.monotonic() + START_TIMEOUT, self.procs[sid])

    def start_all(self) -> None:
        for sid in self.ids:
            self.start(sid, wait=False)
        for sid in self.ids:
            self.wait_serving(sid)

    def running(self) -> list[int]:
        return [sid for sid in self.ids if sid in self.procs and sid not in self.paused]

    def kill(self, sid: int) -> None:
        """kill SIGKILLs store sid (a paused store too) and reaps it."""
        proc = self.procs.pop(sid, None)
        self.paused.discard(sid)
        if proc is not None:
            proc.kill()
            proc.wait()

    def exited(self) -> dict[int, int]:
        """exited: the stores that exited on their own (not killed by the harness), with their status.
        They are forgotten, so that start() runs them again."""
        out = {sid: p.returncode for sid, p in self.procs.items() if p.poll() is not None}
        for sid in out:
            del self.procs[sid]
        return out

    def pause(self, sid: int) -> None:
        if sid in self.procs:
            self.procs[sid].send_signal(signal.SIGSTOP)
            self.paused.add(sid)

    def resume(self, sid: int) -> None:
        if sid in self.procs and sid in self.paused:
            self.procs[sid].send_signal(signal.SIGCONT)
        self.paused.discard(sid)

    def recover(self) -> None:
        """recover heals every link, resumes every paused store and starts every stopped one."""
        self.net.heal_all()
        for sid in list(self.paused):
            self.resume(sid)
        self.exited()
        for sid in self.ids:
            self.start(sid, wait=False)
        for sid in self.ids:
            self.wait_serving(sid)

    def leader(self, key: bytes = b"k0", timeout: float = 2.0) -> int | None:
        """leader is the store the leader of key's region is on, as a running store reports it (None if
        none answers within timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sid in self.running():
                with grpc.insecure_channel(self.addrs[sid], options=CHANNEL_OPTIONS) as channel:
                    call = channel.unary_unary(
                        kv_method("GetRegion"), request_serializer=GetRegionRequest.SerializeToString,
                        response_deserializer=GetRegionResponse.FromString,
                    )
                    try:
                        got = call(GetRegionRequest(key=key), timeout=0.5)
                    except grpc.RpcError:
                        continue
                if got.leader.store_id in self.running():
                    return int(got.leader.store_id)
            time.sleep(0.05)
        return None

    def admin(self, timeout: float = 5.0, via: int | None = None) -> AdminClient:
        """admin is an Admin client through store `via` (default: a running store), pinned to the stores'
        real addresses."""
        first = via if via is not None else (self.running() or self.ids)[0]
        # store_addrs: the real addresses, not the proxies its stores know the others by
        client = AdminClient(self.addrs[first], timeout=timeout, store_addrs=self.addrs)
        return client

    def replicate_all(self) -> list[str]:
        """replicate_all adds a voter on every store a region lacks (a conf change cycle may have left one
        out); returns the failures."""
        failures = []
        with self.admin(timeout=15.0) as admin:
            for status in admin.list_regions():
                region = status.region
                present = {p.store_id for p in region.peers}
                for sid in self.ids:
                    if sid not in present:
                        try:
                            admin.change_peer(region.id, PeerChangeKind.ADD_VOTER, sid)
                        except AdminError as err:
                            failures.append(f"region {region.id}: cannot add back store {sid}: {err}")
        return failures

    def stop_all(self) -> None:
        """stop_all stops every store gracefully (SIGCONT first for paused ones; SIGKILL after a timeout)."""
        for sid in list(self.paused):
            self.resume(sid)
        _stop(list(self.procs.values()))
        self.procs.clear()

    def close(self) -> None:
        """close kills whatever still runs and stops the proxies."""
        for sid in list(self.procs):
            self.kill(sid)
        self.net.close()
