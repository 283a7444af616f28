"""raftstore.chaos.run: one chaos run, from starting the stores to the verdict.

1. Start N store processes (cluster.py), every link between stores through its own proxy.
2. Start the workload (workload.py) and run the fault cycles of the seed's schedule (faults.py) until
   `cycles` cycles or `duration` seconds are done. A store that exits on its own (not killed by the
   harness) is a violation; it is restarted.
3. Heal: every link passes, paused stores resume, stopped ones restart; the workload runs on for
   SETTLE seconds, then stops.
4. Check:
   - every key is read once more, and the whole history is checked for linearizability
     (raftstore.checker); on a violation, the failing window is shrunk (shrink.py) and written down;
   - every acknowledged write of the unique-key writer is present with its value;
   - the replicas are identical (replicas.py): the Admin consistency check of every region online, then
     the stores stopped and their data compared offline (if the replicas have not converged to the same
     applied index, the stores run again for a while). Regions a conf-change cycle left without a peer
     on some store get it back first.
5. Write RUN_DIR/history.jsonl, RUN_DIR/report.json (and RUN_DIR/window.jsonl on a violation).

A `bug` (BUGS) starts every store with a failpoint that breaks it on purpose (the bug-injection check).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..checker import check_history, format_history
from ..proto.raftstorepb_pb2 import PeerChangeKind
from ..server.errors import AdminError, ServerError
from .cluster import StoreProcs
from .faults import ADMIN, KINDS, Fault, Schedule
from .replicas import check_replicas, online_check
from .shrink import shrink
from .workload import Workload, WorkloadConfig

__all__ = ["BUGS", "ChaosConfig", "RunReport", "run_chaos"]

# BUGS: --bug NAME -> the RAFTSTORE_FAILPOINTS every store starts with (see docs/reliability.md).
BUGS = {
    "early-ack": "ack_write_before_commit=return",
    "stale-read": "read_without_read_index=return",
}
# SETTLE: seconds the workload runs on after the cluster is healed.
SETTLE = 2.0
CHECK_TIME_LIMIT = 120.0


@dataclass(frozen=True)
class ChaosConfig:
    """ChaosConfig: one run. Stop after `cycles` fault cycles, or after `duration` seconds when set."""

    out: Path
    seed: int = 1
    nodes: int = 3
    cycles: int = 40
    duration: float | None = None
    bug: str | None = None
    kinds: tuple[str, ...] = KINDS
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)


@dataclass
class RunReport:
    """RunReport: the outcome of one run; `violations` empty means it passed."""

    seed: int
    nodes: int
    bug: str | None
    run_dir: str
    cycles: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    linearizability: str = "not checked"
    lost_writes: int = 0
    replicas: str = "not compared"
    online_check: str = "not run"
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    window: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def summary(self) -> str:
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())) or "none"
        ops = self.operations
        lines = [
            (f"seed {self.seed}, {self.nodes} stores{f', bug {self.bug}' if self.bug else ''}: {self.cycles} cycles "
            f"in {self.seconds:.0f} s ({faults})"),
            (f"  operations: {ops.get('operations', 0)} checked (ok {ops.get('ok', 0)}, fail {ops.get('fail', 0)}, "
            f"unknown {ops.get('info', 0)}); writer: {ops.get('writer_acked', 0)} acknowledged unique writes"),
            (f"  linearizability: {self.linearizability}; lost acknowledged writes: {self.lost_writes}; "
            f"replicas: online {self.online_check}, offline {self.replicas}"),
            f"  history: {self.run_dir}/history.jsonl",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        if self.violations:
            lines.append(f"  VIOLATIONS ({len(self.violations)}):")
            lines += [f"    - {v}" for v in self.violations]
        if self.window:
            lines.append(f"  smallest failing window found ({self.run_dir}/window.jsonl):")
            lines += [f"    {line}" for line in self.window]
        return "\n".join(lines)


def run_chaos(cfg: ChaosConfig, progress: Callable[[Fault], None] | None = None) -> RunReport:
    """run_chaos runs one chaos run (module docstring); progress is called after every cycle."""
    started = time.monotonic()
    run_dir = cfg.out / f"seed-{cfg.seed}"
    report = RunReport(cfg.seed, cfg.nodes, cfg.bug, str(run_dir))
    failpoints = BUGS[cfg.bug] if cfg.bug else ""
    procs = StoreProcs(run_dir, cfg.nodes, {sid: failpoints for sid in range(1, cfg.nodes + 1)})
    workload = Workload(procs.addrs, cfg.workload, cfg.seed)
    try:
        procs.start_all()
        procs.leader(timeout=30)
        workload.start()
        try:
            _cycles(cfg, procs, report, progress, started)
            procs.recover()
            report.notes += procs.replicate_all()
            time.sleep(SETTLE)
        finally:
            workload.stop()
        _check_data(workload, report)
        _check_online(procs, report)
        _check_replicas(procs, report)
    except ServerError as err:  # a store that cannot start again: the run stops here, its history is checked
        report.violations.append(f"run aborted: {err} (logs: {run_dir}/store-N.log)")
    finally:
        procs.close()
    _check_history(workload, run_dir, report)
    report.seconds = time.monotonic() - started
    (run_dir / "report.json").write_text(report.to_json() + "\n")
    return report


def _cycles(cfg: ChaosConfig, procs: StoreProcs, report: RunReport,
            progress: Callable[[Fault], None] | None, started: float) -> None:
    schedule = Schedule(cfg.seed, procs.ids, cfg.kinds, (*(f"k{i}" for i in range(cfg.workload.keys)), "w-"))
    counts: Counter[str] = Counter()
    while (report.cycles < cfg.cycles) if cfg.duration is None else (time.monotonic() - started < cfg.duration):
        fault = schedule.next_fault(procs.leader(timeout=0.5))
        if not _inject(procs, fault):
            counts["admin-refused"] += 1
        counts[fault.kind] += 1
        report.cycles += 1
        report.faults = dict(counts)
        for sid, status in procs.exited().items():
            report.violations.append(f"store {sid} exited on its own with status {status} (see {procs.log(sid)})")
            procs.start(sid)
        if progress is not None:
            progress(fault)


def _inject(procs: StoreProcs, fault: Fault) -> bool:
    """_inject applies fault, holds it, undoes it, and waits its gap; False when an admin change was
    refused or timed out (that is no violation: the cluster may be busy or without a leader)."""
    done = True
    if fault.kind in ADMIN:
        done = _admin(procs, fault)
    elif fault.kind == "kill":
        assert fault.store is not None
        procs.kill(fault.store)
        time.sleep(fault.hold)
        procs.start(fault.store)
    elif fault.kind == "pause":
        assert fault.store is not None
        procs.pause(fault.store)
        time.sleep(fault.hold)
        procs.resume(fault.store)
    else:
        procs.net.cut(fault.links)
        time.sleep(fault.hold)
        procs.net.heal(fault.links)
    time.sleep(fault.gap)
    return done


def _admin(procs: StoreProcs, fault: Fault) -> bool:
    """_admin runs an admin fault through the Admin service of a running store (see faults.py)."""
    assert fault.store is not None
    try:
        with procs.admin() as admin:
            region = admin.locate(fault.key.encode())
            if fault.kind == "transfer-leader":
                admin.transfer_leader(region.id, fault.store)
            elif fault.kind == "split":
                admin.split(fault.key.encode(), region.id)
            else:
                admin.change_peer(region.id, PeerChangeKind.REMOVE, fault.store)
                time.sleep(fault.hold)
                admin.change_peer(region.id, PeerChangeKind.ADD_VOTER, fault.store)
    except AdminError:
        return False
    return True


def _check_data(workload: Workload, report: RunReport) -> None:
    unread = workload.final_reads()
    if unread:
        report.violations.append(f"keys {unread} could not be read after healing (the cluster did not recover)")
    lost = workload.lost_writes()
    report.lost_writes = len(lost)
    for key, (value, found) in sorted(lost.items())[:10]:
        report.violations.append(f"acknowledged write lost: {key} = {value!r}, found {found!r}")


def _check_online(procs: StoreProcs, report: RunReport) -> None:
    try:
        verified, violations, unverified = online_check(procs)
    except AdminError as err:
        report.notes.append(f"online consistency check not run: {err}")
        return
    report.online_check = f"{verified} regions identical" + (f", {len(unverified)} unverified" if unverified else "")
    report.violations += violations
    report.notes += [f"online consistency check unverified: {u}" for u in unverified]


def _check_replicas(procs: StoreProcs, report: RunReport) -> None:
    report.replicas, problems = check_replicas(procs)
    report.violations += problems


def _check_history(workload: Workload, run_dir: Path, report: RunReport) -> None:
    history = workload.history
    (run_dir / "history.jsonl").write_text(format_history(history))
    report.operations = workload.summary()
    result = check_history(history, time_limit=CHECK_TIME_LIMIT)
    report.linearizability = result.status
    if result.status == "undecided":
        report.violations.append(f"linearizability undecided within {CHECK_TIME_LIMIT:.0f} s for keys {result.undecided}")
    if not result.violations:
        return
    violation = result.violations[0]
    report.violations += [v.report().splitlines()[0] for v in result.violations]
    window = shrink(history, violation)
    (run_dir / "window.jsonl").write_text(format_history(window))
    shrunk = check_history(window)
    report.window = (shrunk.violations[0] if shrunk.violations else violation).report().splitlines()
