"""raftstore.server.playground: `raftstore playground`, a local cluster of store processes (tiup playground).

It starts N `raftstore server` processes on 127.0.0.1 (store ids 1..N, client ports at or after
--base-port, the first free ones, and status ports serving Prometheus /metrics at or after --status-port;
data under DIR/store-ID, logs in DIR/store-ID.log), waits until every store answers the gRPC health
check, prints `addresses:` and one host:port per line, then `status addresses:` and each store's status
host:port (in the same order), and runs until
SIGINT or SIGTERM, which stop every store (SIGTERM, then SIGKILL after STOP_TIMEOUT). A store that exits on
its own stops the playground too (exit 1, its log named).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .errors import ServerError
from .rpc import open_channel
from .security import Security

__all__ = ["STOP_TIMEOUT", "free_ports", "run_playground", "wait_serving"]

HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0
START_TIMEOUT = 60.0


def free_ports(count: int, base: int) -> list[int]:
    """free_ports are the first count ports at or after base that can be bound on 127.0.0.1 now."""
    ports: list[int] = []
    port = base
    while len(ports) < count:
        if port > 65535:
            raise ServerError(f"no {count} free ports at or after {base}")
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
                ports.append(port)
            except OSError:
                pass
        port += 1
    return ports


def wait_serving(
    addr: str, deadline: float, alive: subprocess.Popen[Any] | None = None, security: Security | None = None
) -> None:
    """wait_serving returns once the store at addr answers the health check SERVING (ServerError when the
    deadline passes or the process `alive` exits first); security: the TLS settings to ask it with."""
    with open_channel(addr, security) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if alive is not None and alive.poll() is not None:
                raise ServerError(f"the store at {addr} exited with status {alive.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise ServerError(f"the store at {addr} did not start within {START_TIMEOUT:.0f} s")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for p in procs:
        try:
            p.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_playground(
    nodes: int, data: Path, base_port: int, config: Path | None = None, status_port: int = 20181
) -> None:
    """run_playground runs the playground (module docstring) until SIGINT / SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ports = free_ports(nodes, base_port)
    addrs = {sid: f"{HOST}:{port}" for sid, port in enumerate(ports, start=1)}
    taken = set(ports)
    spare = [p for p in free_ports(nodes + len(taken), status_port) if p not in taken][:nodes]
    status = {sid: f"{HOST}:{port}" for sid, port in enumerate(spare, start=1)}
    cluster = ",".join(f"{sid}={addr}" for sid, addr in addrs.items())
    data.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for sid, addr in addrs.items():
            cmd = [sys.executable, "-m", "raftstore", "server", "--store-id", str(sid), "--addr", addr,
                   "--data", str(data / f"store-{sid}"), "--initial-cluster", cluster, "--status-addr", status[sid]]
            if config is not None:
                cmd += ["--config", str(config)]
            with open(data / f"store-{sid}.log", "ab") as log:
                procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + START_TIMEOUT
        for proc, addr in zip(procs, addrs.values()):
            wait_serving(addr, deadline, proc)
        print("addresses:", *addrs.values(), "status addresses:", *status.values(), sep="\n", flush=True)
        while not stop.wait(0.2):
            for sid, proc in enumerate(procs, start=1):
                if proc.poll() is not None:
                    raise ServerError(
                        f"store {sid} exited with status {proc.returncode} (see {data / f'store-{sid}.log'})"
                    )
    finally:
        _stop(procs)
