"""raftstore.testing: test a store, or your own code, against a whole cluster in one process.

`Cluster` runs N stores (RocksDB under a temporary directory, or in memory) driven step by step over a
simulated transport with filters (drop, delay, partition, isolate a store); stores can be stopped and
restarted from their data. See docs/store.md.

`raftstore.testing.storage_suite` (import it explicitly: it needs pytest) is the raft Storage conformance
suite, a pytest plugin; see docs/reliability.md.
"""

from .cluster import FIRST_REGION_ID, Cluster, ClusterError
from .transport import (
    Delay,
    DropFilter,
    DropMessageTypes,
    DropRate,
    Filter,
    IsolateStore,
    PartitionFilter,
    SimTransport,
)

__all__ = [
    "Cluster",
    "ClusterError",
    "FIRST_REGION_ID",
    "Filter",
    "DropFilter",
    "PartitionFilter",
    "IsolateStore",
    "DropMessageTypes",
    "DropRate",
    "Delay",
    "SimTransport",
]
