"""raftstore.server.server: one store as a process — engines, core, threaded driver, gRPC, metrics.

    server = Server(config)      # nothing started yet
    server.start()               # binds --addr and --status-addr first (a busy address fails before the
                                 #   data directory is touched), opens and if needed bootstraps the
                                 #   engines, starts the driver thread, the transport and the gRPC server
    server.wait(stop_event)      # until stop_event is set (SIGTERM / SIGINT) or the driver fails
    server.stop()                # graceful: health NOT_SERVING, gRPC drained (1 s), driver stopped
                                 #   after its round, connections closed, engines closed

Bootstrap (TiKV's, with the initial cluster in place of PD): on a data directory without a store
identity, --initial-cluster or --join is required. With --initial-cluster the store writes its StoreIdent
and region 1 covering every key with one voter on each initial store (peer id = store id), in one group
commit. With --join the store first asks the member (Raft/Join) to admit it, learns the stores it knows,
and writes its StoreIdent alone: it hosts no region until add-peer puts one on it. On a bootstrapped
directory the same flags write nothing (bootstrap_store and bootstrap_initial_regions are idempotent),
so a restart with the same command line neither bootstraps again nor refuses (a --join that cannot reach
its member then only logs a warning: the cluster knows the store already).

Services: raftstorepb.Kv (server.service), raftstorepb.Admin (server.admin), raftstorepb.Raft
(BatchRaft and Snapshot streams from other stores, Join, Gossip: handled here), gRPC health. With a
[security] section every one of them is served over mutual TLS only, and the store connects to the other
stores the same way (`_connect`).

Startup goes through the store's `open_store` (identity check, recovery of an interrupted snapshot
apply); snapshot files live in DIR/snap (a SnapManager); snapshots are generated and applied inline
by the driver (SnapIO) and travel on Snapshot streams (server.snapshot).

Threads: the driver (rounds and ticks, the only one touching the core), one per raft connection and one
per snapshot being sent, the gRPC server's pool (each open stream holds one), one reader per
BatchCommands stream, the /metrics server, the gossiper (server.gossip), and the stats thread (hands the
driver a task every STATS_INTERVAL that refreshes the gauges the driver does not: hibernated regions, the
entry cache hit ratio).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent import futures
from functools import partial
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server

from ..engine.engines import Engines, open_engines
from ..proto.metapb_pb2 import Peer, Region, Store
from ..proto.raft_serverpb_pb2 import BatchRaftMessage, Done
from ..proto.raftstorepb_pb2 import GossipRequest, JoinRequest, JoinResponse
from ..raft.raw_node import SnapshotStatus
from ..store.bootstrap import (
    IdAllocator,
    bootstrap_initial_regions,
    bootstrap_store,
    load_store_ident,
)
from ..store.driver import SnapIO, open_store
from ..store.snap.manager import SnapManager
from ..store.store_core import StoreCore
from .admin import AdminService
from .config import ServerConfig, parse_addr
from .driver import StoreDriver
from .errors import (
    AddressInUseError,
    ConfigError,
    DriverFailedError,
    JoinError,
    StoreConflictError,
)
from .gossip import Gossiper
from .metrics import StoreMetrics
from .resolve import StoreResolver
from .rpc import (
    ADMIN_SERVICE,
    KV_SERVICE,
    RAFT_SERVICE,
    SERVER_OPTIONS,
    open_channel,
    raft_method,
    unary_call,
)
from .service import KvService
from .snapshot import receive_snapshot
from .transport import RaftTransport

__all__ = ["FIRST_REGION_ID", "Server", "initial_region"]

M = TypeVar("M", bound=Message)

logger = logging.getLogger("raftstore.server")

FIRST_REGION_ID = 1
# SNAP_DIR: the snapshot files' directory under --data (beside the engines' kv/ and raft/).
SNAP_DIR = "snap"
# STORES_FILE: the addresses this store learned of other stores (server.resolve), under --data.
STORES_FILE = "stores.json"
# GRACE: seconds the gRPC server gives open calls to finish when stopping.
GRACE = 1.0
# STATS_INTERVAL: how often the gauges the driver does not update are refreshed (hibernated regions, entry
# cache hit ratio).
STATS_INTERVAL = 1.0
# JOIN_TIMEOUT: how long --join keeps trying to reach its member.
JOIN_TIMEOUT = 5.0


def initial_region(store_ids: list[int]) -> Region:
    """initial_region is region 1: every key, a voter on each initial store (peer id = store id)."""
    region = Region(id=FIRST_REGION_ID, peers=[Peer(id=sid, store_id=sid) for sid in sorted(store_ids)])
    region.region_epoch.conf_ver = 1
    region.region_epoch.version = 1
    return region


def _report_unreachable(targets: list[tuple[int, int]], core: StoreCore) -> None:
    """_report_unreachable (driver thread) tells each region's raft that a message to a peer was lost."""
    for region_id, peer_id in targets:
        core.report_unreachable(region_id, peer_id)


def _decode(cls: type[M], raw: bytes, context: grpc.ServicerContext) -> M:
    try:
        return cls.FromString(raw)
    except DecodeError as err:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed {cls.__name__}: {err}")
        raise  # abort raised already


def _rpc_reason(err: grpc.RpcError) -> str:
    return f"{err.code().name}: {err.details()}" if isinstance(err, grpc.Call) else type(err).__name__


def _probe(addr: str) -> None:
    """_probe refuses an address another process listens on, before gRPC tries it (gRPC's own bind
    failure also logs a line of its own on stderr). SO_REUSEADDR as gRPC sets it: a port with only
    connections in TIME_WAIT is free."""
    host, port = parse_addr(addr)
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise AddressInUseError(f"cannot listen on {addr}: {err.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as err:
            raise AddressInUseError(f"cannot listen on {addr}: {err.strerror or err}") from None


class Server:
    """Server: a running store (module docstring). `port` is the bound client port (useful with :0)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.metrics = StoreMetrics()
        self.resolver = StoreResolver(config.initial_cluster, config.store_id, config.addr)
        self._gossip = Gossiper(config.store_id, config.cluster_id, self.resolver, self._connect, config.gossip_interval)
        self.port = 0
        self.status_port = 0
        self._grpc: grpc.Server | None = None
        self._health = health.HealthServicer()
        self._status: Any = None
        self._engines: Engines | None = None
        self._driver: StoreDriver | None = None
        self._transport: RaftTransport | None = None
        self._kv: KvService | None = None
        self._snap_io: SnapIO | None = None
        self._stopping = threading.Event()
        self._stats = threading.Thread(target=self._stats_loop, name=f"store-{config.store_id}-stats", daemon=True)

    @property
    def failure(self) -> BaseException | None:
        return self._driver.failure if self._driver is not None else None

    def start(self) -> None:
        """start brings the store up (module docstring); on failure whatever started is stopped again."""
        try:
            self._bind()
            self._open()
        except BaseException:
            self.stop()
            raise
        assert self._grpc is not None and self._driver is not None
        self._driver.start()
        self._grpc.start()
        self._gossip.start()
        self._stats.start()
        for service in ("", KV_SERVICE, ADMIN_SERVICE):
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        logger.info("store %d serving on %s", self.config.store_id, self.config.addr)

    def _bind(self) -> None:
        cfg = self.config
        _probe(cfg.addr)
        self._grpc = grpc.server(futures.ThreadPoolExecutor(cfg.grpc_workers), options=SERVER_OPTIONS)
        try:
            if cfg.security is not None:
                self.port = self._grpc.add_secure_port(cfg.addr, cfg.security.server_credentials())
            else:
                self.port = self._grpc.add_insecure_port(cfg.addr)
        except RuntimeError as err:
            raise AddressInUseError(f"cannot listen on {cfg.addr}: {err}") from None
        if self.port == 0 and not cfg.addr.endswith(":0"):
            raise AddressInUseError(f"cannot listen on {cfg.addr}: the address is in use or not available")
        if cfg.status_addr is not None:
            host, port = parse_addr(cfg.status_addr)
            try:
                self._status = start_http_server(port, host, registry=self.metrics.registry)
            except OSError as err:
                raise AddressInUseError(f"cannot serve metrics on {cfg.status_addr}: {err.strerror or err}") from None
            self.status_port = self._status[0].server_port

    def _open(self) -> None:
        cfg = self.config
        engines = self._engines = open_engines(cfg.data, write_buffer_size=cfg.write_buffer_size)
        self.resolver.persist_to(cfg.data / STORES_FILE)
        bootstrapped = load_store_ident(engines) is not None
        if not bootstrapped and not cfg.initial_cluster:
            if cfg.join is None:
                raise ConfigError(f"{cfg.data} is not bootstrapped: give --initial-cluster or --join to bootstrap it")
            self._join(cfg.join)
            bootstrap_store(engines, cfg.cluster_id, cfg.store_id)
        elif cfg.join is not None:
            try:
                self._join(cfg.join)
            except StoreConflictError:
                raise
            except JoinError as err:  # a restart: the cluster knows this store; gossip will find it
                logger.warning("store %d: %s; going on (the other stores know this one)", cfg.store_id, err)
        if cfg.initial_cluster:
            bootstrap_store(engines, cfg.cluster_id, cfg.store_id)
            bootstrap_initial_regions(engines, [initial_region(list(cfg.initial_cluster))])
        mgr = SnapManager(cfg.data / SNAP_DIR)
        mgr.init()
        core, _ = open_store(engines, cfg.cluster_id, cfg.store_id, mgr, cfg.store)
        self._snap_io = SnapIO(engines, mgr)
        self._transport = RaftTransport(
            cfg.store_id, self.resolver, self._on_unreachable, self.metrics, mgr, self._on_snapshot, self._connect
        )
        self._driver = StoreDriver(core, engines, self._transport.send, cfg.tick_interval, self.metrics, self._snap_io)
        kv = self._kv = KvService(self._driver, self.resolver, self.metrics)
        admin = AdminService(self._driver, self.resolver, IdAllocator(engines, cfg.store_id), self._connect,
                             cfg.cluster_id, cfg.addr)
        receive = partial(receive_snapshot, mgr, lambda msg: self._driver.step_messages([msg]), self.metrics)  # type: ignore[union-attr]
        raft = grpc.method_handlers_generic_handler(
            RAFT_SERVICE,
            {
                "BatchRaft": grpc.stream_unary_rpc_method_handler(self._batch_raft),
                "Snapshot": grpc.stream_stream_rpc_method_handler(receive),
                "Join": grpc.unary_unary_rpc_method_handler(self._on_join),
                "Gossip": grpc.unary_unary_rpc_method_handler(self._on_gossip),
            },
        )
        assert self._grpc is not None
        self._grpc.add_generic_rpc_handlers((kv.handlers(), admin.handlers(), raft))
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)

    def _connect(self, addr: str) -> grpc.Channel:
        return open_channel(addr, self.config.security)

    def _join(self, member: str) -> None:
        """_join announces this store to member (Raft/Join) and learns the stores it knows; JoinError when it
        cannot be reached within JOIN_TIMEOUT or refuses (StoreConflictError: this id is known elsewhere)."""
        cfg = self.config
        req = JoinRequest(cluster_id=cfg.cluster_id, store=Store(id=cfg.store_id, address=cfg.addr))
        deadline = time.monotonic() + JOIN_TIMEOUT
        with self._connect(member) as channel:
            while True:
                try:
                    resp: JoinResponse = unary_call(channel, raft_method("Join"), req, JoinResponse, 2.0)
                    break
                except grpc.RpcError as err:
                    if time.monotonic() >= deadline:
                        raise JoinError(f"--join {member}: cannot reach it: {_rpc_reason(err)}") from None
                    time.sleep(0.2)
        if resp.conflict:
            raise StoreConflictError(f"--join {member} refused: {resp.error}")
        if resp.error:
            raise JoinError(f"--join {member} refused: {resp.error}")
        self._gossip.learn(resp.stores, f"--join {member}")
        logger.info("store %d joined through %s", cfg.store_id, member)

    def _on_join(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        """_on_join (Raft/Join): admit the joining store (refused on a conflict or another cluster id) and
        answer every store known here; the news is gossiped at once."""
        req = _decode(JoinRequest, raw, context)
        resp = JoinResponse(cluster_id=self.config.cluster_id)
        if req.cluster_id != self.config.cluster_id:
            resp.error = f"cluster id {req.cluster_id} is not this cluster's ({self.config.cluster_id})"
        else:
            try:
                if self.resolver.admit(req.store):
                    logger.info("store %d at %s joins", req.store.id, req.store.address)
                    self._gossip.poke()
            except StoreConflictError as err:
                resp.error, resp.conflict = str(err), True
        resp.stores.extend(self.resolver.stores())
        return bytes(resp.SerializeToString())

    def _on_gossip(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        return bytes(self._gossip.answer(_decode(GossipRequest, raw, context)).SerializeToString())

    def _stats_loop(self) -> None:
        while not self._stopping.wait(STATS_INTERVAL):
            if self._driver is not None:
                self._driver.submit(self._observe)

    def _observe(self, core: StoreCore) -> None:
        """_observe (driver thread) refreshes the hibernated region count and the entry cache hit ratio: the
        reads served from the caches of the regions awake now, since start (a hibernated region's cache is
        not looked at: an idle region holds none, and asking would build one)."""
        hits = misses = hibernated = 0
        for region_id, peer in core.peers.items():
            if core.hibernated(region_id):
                hibernated += 1
                continue
            hit, miss, _ = peer.storage.cache_stats()
            hits, misses = hits + hit, misses + miss
        self.metrics.hibernated.set(hibernated)
        self.metrics.entry_cache_hit_ratio.set(hits / (hits + misses) if hits + misses else 0.0)

    def _on_unreachable(self, targets: list[tuple[int, int]]) -> None:
        if self._driver is not None:
            self._driver.submit(partial(_report_unreachable, targets))

    def _on_snapshot(self, region_id: int, peer_id: int, status: SnapshotStatus) -> None:
        if self._driver is not None:
            self._driver.submit(lambda core: core.report_snapshot(region_id, peer_id, status))

    def _batch_raft(self, batches: Any, context: grpc.ServicerContext) -> bytes:
        """_batch_raft receives another store's stream: each BatchRaftMessage is stepped as one batch."""
        assert self._driver is not None
        for raw in batches:
            try:
                batch = BatchRaftMessage.FromString(raw)
            except DecodeError as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed BatchRaftMessage: {err}")
            self.metrics.messages_received.inc(len(batch.msgs))
            self._driver.step_messages(list(batch.msgs))
        return bytes(Done().SerializeToString())

    def wait(self, stop: threading.Event) -> None:
        """wait returns when stop is set or the driver failed (DriverFailedError)."""
        while not stop.wait(0.2):
            if self._driver is not None and self._driver.stopped.is_set():
                raise DriverFailedError(f"store {self.config.store_id} stopped: {self._driver.failure}")

    def stop(self) -> None:
        """stop shuts down what start started, in reverse order; safe to call more than once."""
        self._health.enter_graceful_shutdown()
        self._stopping.set()
        self._gossip.stop()
        if self._kv is not None:
            self._kv.closing.set()
        if self._grpc is not None:
            self._grpc.stop(GRACE).wait(GRACE + 1)
            self._grpc = None
        if self._driver is not None:
            self._driver.stop()
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._snap_io is not None:
            self._snap_io.stop()
            self._snap_io = None
        if self._status is not None:
            self._status[0].shutdown()
            self._status[0].server_close()
            self._status = None
        if self._engines is not None:
            self._engines.close()
            self._engines = None
