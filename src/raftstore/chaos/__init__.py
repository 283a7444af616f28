"""raftstore.chaos: `raftstore chaos`, a fault-injection harness with linearizability checking.

It starts a cluster of store processes whose links run through proxies it controls (proxy.py, cluster.py),
drives concurrent clients that record a history (workload.py), injects the faults of a seeded schedule
(faults.py: kills, pauses, partitions), heals, and checks the history, the acknowledged writes and the
replicas (run.py, shrink.py, replicas.py). crashpoints.py kills a store at every failpoint of the source in
turn. See docs/reliability.md.
"""

from .faults import KINDS, Fault, Schedule
from .run import BUGS, ChaosConfig, RunReport, run_chaos
from .workload import Workload, WorkloadConfig

__all__ = [
    "BUGS",
    "KINDS",
    "ChaosConfig",
    "Fault",
    "RunReport",
    "Schedule",
    "Workload",
    "WorkloadConfig",
    "run_chaos",
]
