"""raftstore.chaos.crashpoints: kill a store at every failpoint of the source in turn, restart it, check.

For each failpoint name found in the source (the literal `fail_point(...)` calls, `source_failpoints`), a fresh
3-store cluster runs; one store is started with RAFTSTORE_FAILPOINTS="NAME=kill" and a workload that
reaches the point is driven (SCENARIOS):

| scenario     | armed store                | what drives it                                                   |
|--------------|----------------------------|------------------------------------------------------------------|
| writes       | the leader                 | unique-key puts (rounds, group commits, apply batches, log GC)   |
| snapshot     | a follower, down meanwhile | puts until the leader's log is truncated past it, then it restarts |
|              |                            | and catches up through a snapshot                                |
| split        | a follower                 | puts, then a split through the Admin service                     |
| conf-change  | a follower                 | puts, then removing and adding back the third store's peer       |

When the armed store dies (SIGKILL by the failpoint) it is restarted without failpoints, more puts are
written, and the invariants are checked: every acknowledged put is present; the replicas are identical and
the regions valid (stores stopped, compared offline: replicas.py). A failpoint the workload never
reached within REACH_TIMEOUT is reported "not reached", never as passed. The bug switches of BUGS are
not crash points (they are "return" failpoints, see run.py).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..client import Client, ClientError
from ..proto.raftstorepb_pb2 import PeerChangeKind
from ..server.errors import AdminError
from .cluster import StoreProcs
from .replicas import check_replicas, store_replicas
from .run import BUGS

__all__ = ["BUG_FAILPOINTS", "SCENARIOS", "CrashResult", "explore", "source_failpoints"]

SCENARIOS: dict[str, str] = {
    "store_round_before_persist": "writes",
    "store_round_before_apply": "writes",
    "store_round_before_answer": "writes",
    "write_tasks_between_batches": "writes",
    "apply_batch_after_write": "writes",
    "log_gc_before_delete": "writes",
    "log_gc_after_delete": "writes",
    "raft_before_apply_snap": "snapshot",
    "raft_after_apply_snap": "snapshot",
    "apply_snap_before_delete_range": "snapshot",
    "apply_snap_after_delete_range": "snapshot",
    "apply_snap_mid_ingest": "snapshot",
    "apply_snap_before_normal": "snapshot",
    "split_apply_before_write": "split",
    "split_apply_after_write": "split",
    "conf_change_apply_before_write": "conf-change",
    "conf_change_apply_after_write": "conf-change",
}
# BUG_FAILPOINTS: the failpoints of the bug-injection check (run.BUGS), not crash points.
BUG_FAILPOINTS = frozenset(spec.split("=")[0] for spec in BUGS.values())
REACH_TIMEOUT = 15.0
_CALL = re.compile(r'fail_point\("([A-Za-z0-9_]+)"\)')
_SRC = Path(__file__).resolve().parents[1]


def source_failpoints(root: Path = _SRC) -> list[str]:
    """source_failpoints: the names of every literal `fail_point(...)` call under root (the raftstore package),
    failpoints.py's own examples aside, sorted."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        if path.name != "failpoints.py":
            names.update(_CALL.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


@dataclass
class CrashResult:
    """CrashResult of one failpoint: whether the armed store died there, the violations found, and notes
    (what could not be restored after the check, e.g. a removed peer not added back in time)."""

    name: str
    scenario: str
    reached: bool = False
    acked: int = 0
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        verdict = "NOT REACHED" if not self.reached else "ok" if not self.violations else "VIOLATION"
        out = f"{self.name:34} {self.scenario:12} {verdict:12} {self.acked:5} acked puts  {self.seconds:5.1f} s"
        return "\n".join([out, *(f"    - {v}" for v in self.violations), *(f"    note: {n}" for n in self.notes)])


class _Writer:
    """_Writer: puts unique keys from a few threads; `acked` holds the acknowledged ones."""

    def __init__(self, addrs: dict[int, str]) -> None:
        self.client = Client(list(addrs.values()), timeout=3.0)
        self.acked: dict[bytes, bytes] = {}
        self._n = 0
        self._lock = threading.Lock()

    def put_many(self, count: int, threads: int = 8) -> None:
        def one(_: int) -> None:
            with self._lock:
                self._n += 1
                key, value = b"w-%06d" % self._n, b"v%d" % self._n
            try:
                self.client.put(key, value)
            except ClientError:
                return
            self.acked[key] = value

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))

    def lost(self) -> list[str]:
        found = dict(self.client.scan(b"w-", b"w."))
        return [f"acknowledged put lost: {k.decode()}" for k, v in sorted(self.acked.items()) if found.get(k) != v]


def explore(out: Path, names: list[str] | None = None,
            progress: Callable[[CrashResult], None] | None = None) -> list[CrashResult]:
    """explore runs every failpoint of names (default: the source's crash points) in turn (module
    docstring), each in out/NAME; an unknown failpoint runs the writes scenario and says so."""
    results = []
    for name in names if names is not None else [n for n in source_failpoints() if n not in BUG_FAILPOINTS]:
        result = _explore_one(name, out / name)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _explore_one(name: str, run_dir: Path) -> CrashResult:
    started = time.monotonic()
    scenario = SCENARIOS.get(name, "writes")
    result = CrashResult(name, scenario)
    if name not in SCENARIOS:
        result.violations.append(f"failpoint {name} is unknown to the harness (SCENARIOS): ran the writes scenario")
    procs = StoreProcs(run_dir, 3)
    try:
        procs.start_all()
        leader = procs.leader(timeout=30) or 1
        follower = next(s for s in procs.ids if s != leader)
        writer = _Writer(procs.addrs)
        writer.put_many(20)
        armed = leader if scenario == "writes" else follower
        procs.kill(armed)
        if scenario == "snapshot":
            _compact_past(procs, writer, armed, leader)
        procs.failpoints[armed] = f"{name}=kill"
        procs.start(armed, wait=False)
        result.reached = _drive(procs, writer, armed, scenario, leader)
        procs.failpoints[armed] = ""
        procs.exited()
        procs.recover()
        if scenario == "conf-change":
            result.notes += procs.replicate_all()  # the peer the scenario removed
        writer.put_many(50)
        result.violations += writer.lost()
        result.acked = len(writer.acked)
        writer.client.close()
        _, problems = check_replicas(procs)
        result.violations += problems
    except (ClientError, AdminError, OSError) as err:
        result.violations.append(f"the run failed: {type(err).__name__}: {err}")
    finally:
        procs.close()
    result.seconds = time.monotonic() - started
    return result


def _compact_past(procs: StoreProcs, writer: _Writer, down: int, leader: int) -> None:
    """_compact_past writes until the leader's log is truncated past the stopped store's applied index
    (so that it can only catch up through a snapshot), or gives up after REACH_TIMEOUT."""
    [replica] = [r for r in store_replicas({down: procs.data(down)}) if r.start_key == b""]
    deadline = time.monotonic() + REACH_TIMEOUT
    with procs.admin(via=leader) as admin:
        while time.monotonic() < deadline:
            writer.put_many(200)
            time.sleep(0.5)  # a few log GC ticks
            try:
                if admin.region_status(replica.region, procs.addrs[leader]).truncated_index > replica.applied:
                    return
            except AdminError:
                continue


def _drive(procs: StoreProcs, writer: _Writer, armed: int, scenario: str, leader: int) -> bool:
    """_drive runs the scenario's workload until the armed store exits (True) or REACH_TIMEOUT passes."""
    deadline = time.monotonic() + REACH_TIMEOUT
    acted = False
    while time.monotonic() < deadline:
        if procs.procs[armed].poll() is not None:
            return True
        writer.put_many(30)
        if not acted and scenario in ("split", "conf-change"):
            acted = _admin(procs, scenario, armed, leader)
        time.sleep(0.05)
    return procs.procs[armed].poll() is not None


def _admin(procs: StoreProcs, scenario: str, armed: int, leader: int) -> bool:
    """_admin splits the region, or removes the peer of the store neither armed nor leading; True once done."""
    try:
        with procs.admin(via=leader) as admin:
            if scenario == "split":
                admin.split(b"w-000100")
            else:
                other = next(s for s in procs.ids if s not in (armed, leader))
                admin.change_peer(admin.locate(b"w-").id, PeerChangeKind.REMOVE, other)
        return True
    except AdminError:
        return False
