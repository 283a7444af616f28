"""raftstore.server.metrics: the Prometheus metrics of a store, served on --status-addr at /metrics.

Each server has its own registry (several servers may share a process in tests).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["StoreMetrics"]


class StoreMetrics:
    """StoreMetrics: counters and gauges of one store (names are `raftstore_*`)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.rounds = Counter("raftstore_ready_rounds", "rounds that persisted at least one Ready", registry=r)
        self.fsyncs = Counter("raftstore_fsyncs", "fsyncs issued by the rounds' group commits", registry=r)
        self.round_seconds = Histogram(
            "raftstore_round_duration_seconds",
            "duration of a round that wrote (group commit with its fsyncs, apply, answers)",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=r,
        )
        self.entries = Counter("raftstore_entries_appended", "raft entries made durable", registry=r)
        self.raft_bytes = Counter("raftstore_raft_bytes_written", "bytes written to the raft engine", registry=r)
        self.proposals = Counter("raftstore_commands", "commands handed to the store core", ["kind"], registry=r)
        self.messages_sent = Counter("raftstore_raft_messages_sent", "raft messages sent to other stores", registry=r)
        self.batches_sent = Counter("raftstore_raft_batches_sent", "BatchRaftMessage messages sent", registry=r)
        self.messages_received = Counter(
            "raftstore_raft_messages_received", "raft messages received from other stores", registry=r
        )
        self.unreachable = Counter(
            "raftstore_raft_unreachable", "raft messages dropped because their store was unreachable", registry=r
        )
        self.regions = Gauge("raftstore_regions", "regions this store hosts", registry=r)
        self.leaders = Gauge("raftstore_leaders", "regions this store leads", registry=r)
        self.apply_lag = Gauge("raftstore_apply_lag", "committed but not yet applied entries, all regions", registry=r)
        self.snapshots = Counter(
            "raftstore_snapshots", "snapshots sent or received whole (with their files)", ["direction"], registry=r
        )
        self.snapshot_bytes = Counter(
            "raftstore_snapshot_bytes", "snapshot file bytes sent or received", ["direction"], registry=r
        )
        self.entry_cache_hit_ratio = Gauge(
            "raftstore_entry_cache_hit_ratio",
            "share of raft log reads served from the entry caches (regions awake now, since start)", registry=r
        )
        self.hibernated = Gauge("raftstore_hibernated_regions", "regions this store hosts and does not tick", registry=r)
