"""tests.server.helpers: clusters of real `raftstore server` processes on 127.0.0.1, and raw gRPC calls.

    with ProcCluster(tmp_path, 3) as cluster:   # stores 1..3, free ports, a fast-ticking config file
        cluster.start_all()                     # every process, then waits until each serves
        cluster.kill(2)                         # SIGKILL; cluster.start(2) restarts it with the same flags
        cluster.leader_store()                  # the store the region's leader is on, asked over gRPC
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from google.protobuf.message import Message

from raftstore.proto.raftstorepb_pb2 import GetRegionRequest, GetRegionResponse
from raftstore.server.playground import wait_serving
from raftstore.server.rpc import CHANNEL_OPTIONS, kv_method
from raftstore.server.security import Security

# FAST_CONFIG: ticks of 50 ms, so that an election takes about half a second.
FAST_CONFIG = """\
[raftstore]
tick-interval-ms = 50
"""


def free_port() -> int:
    """free_port is a port nothing listens on now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProcCluster:
    """ProcCluster: `count` store processes sharing an initial cluster, data under root/store-ID."""

    def __init__(
        self, root: Path, count: int = 3, *, status: bool = False, extra_config: str = "",
        security: Security | None = None, extra_args: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.ids = list(range(1, count + 1))
        self.addrs = {sid: f"127.0.0.1:{free_port()}" for sid in self.ids}
        self.status_addrs = {sid: f"127.0.0.1:{free_port()}" for sid in self.ids} if status else {}
        self.config = root / "fast.toml"
        self.config.write_text(FAST_CONFIG + extra_config)
        # security: what the tests' own health checks use (the stores' is in extra_config's [security]).
        self.security = security
        self.extra_args = list(extra_args)
        self.procs: dict[int, subprocess.Popen[str]] = {}
        # joins: stores started with --join (store id -> the member's address) instead of --initial-cluster.
        self.joins: dict[int, str] = {}

    @property
    def initial_cluster(self) -> str:
        return ",".join(f"{sid}={addr}" for sid, addr in self.addrs.items() if sid not in self.joins)

    def add_joiner(self, sid: int, member: str) -> None:
        """add_joiner adds store sid, started with --join member (start it with start(sid))."""
        self.joins[sid] = member
        self.addrs[sid] = f"127.0.0.1:{free_port()}"
        self.ids.append(sid)

    def args(self, sid: int) -> list[str]:
        """args are store sid's command line (the same at every start)."""
        where = ["--join", self.joins[sid]] if sid in self.joins else ["--initial-cluster", self.initial_cluster]
        args = ["server", "--store-id", str(sid), "--data", str(self.root / f"store-{sid}"),
                "--addr", self.addrs[sid], *where, "--config", str(self.config)]
        if sid in self.status_addrs:
            args += ["--status-addr", self.status_addrs[sid]]
        args += self.extra_args
        return args

    def start(self, sid: int, wait: bool = True) -> None:
        log = open(self.root / f"store-{sid}.log", "a")
        self.procs[sid] = subprocess.Popen(
            [sys.executable, "-m", "raftstore", *self.args(sid)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        )
        log.close()
        if wait:
            wait_serving(self.addrs[sid], time.monotonic() + 30, self.procs[sid], self.security)

    def start_all(self) -> None:
        for sid in self.ids:
            self.start(sid, wait=False)
        for sid in self.ids:
            wait_serving(self.addrs[sid], time.monotonic() + 30, self.procs[sid], self.security)

    def kill(self, sid: int) -> None:
        proc = self.procs.pop(sid)
        proc.kill()
        proc.wait(10)

    def terminate(self, sid: int, timeout: float = 15) -> int:
        """terminate sends SIGTERM and returns the exit status."""
        proc = self.procs.pop(sid)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def log(self, sid: int) -> str:
        return (self.root / f"store-{sid}.log").read_text()

    def leader_store(self, timeout: float = 15) -> int:
        """leader_store is the store of region 1's leader, as a running store reports it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sid in list(self.procs):
                try:
                    got = unary(self.addrs[sid], "GetRegion", GetRegionRequest(key=b"a"), GetRegionResponse)
                except grpc.RpcError:
                    continue
                if got.leader.store_id and got.leader.store_id in self.procs:
                    return int(got.leader.store_id)
            time.sleep(0.1)
        raise AssertionError("no leader among the running stores")

    def metrics(self, sid: int) -> dict[str, float]:
        """metrics are store sid's /metrics samples (it must have a status address), by name with labels."""
        text = urllib.request.urlopen(f"http://{self.status_addrs[sid]}/metrics", timeout=5).read().decode()
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("raftstore_")
        }

    def close(self) -> None:
        for sid in list(self.procs):
            self.kill(sid)

    def __enter__(self) -> ProcCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unary(addr: str, method: str, request: Message, response_cls: type[Message], timeout: float = 5) -> Message:
    """unary calls raftstorepb.Kv/method on addr with request and decodes the answer."""
    with grpc.insecure_channel(addr, options=CHANNEL_OPTIONS) as channel:
        call = channel.unary_unary(
            kv_method(method), request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        return call(request, timeout=timeout)  # type: ignore[no-any-return]


def unary_raw(addr: str, method: str, payload: bytes, timeout: float = 5) -> bytes:
    """unary_raw calls raftstorepb.Kv/method with raw bytes (to send what is no valid protobuf)."""
    with grpc.insecure_channel(addr) as channel:
        return channel.unary_unary(kv_method(method))(payload, timeout=timeout)  # type: ignore[no-any-return]
