"""raftstore.chaos.command: the `raftstore chaos` command line (registered by raftstore.cli)."""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .faults import KINDS, Fault
from .run import BUGS, ChaosConfig, RunReport, run_chaos
from .workload import WorkloadConfig

__all__ = ["EXIT_VIOLATION", "add_chaos_command", "run_chaos_command"]

EXIT_VIOLATION = 1

CHAOS_STATUS = """\
exit status:
  0    every run passed: linearizable, no acknowledged write lost, replicas identical
  1    a violation (the report names it and prints the smallest failing window found)
  2    invalid arguments
  130  interrupted (Ctrl-C)"""


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown fault kinds {unknown} (known: {', '.join(KINDS)})")
    return kinds


def add_chaos_command(sub: Any, add_verbose: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """add_chaos_command adds `chaos` to the subcommands `sub` of the raftstore parser."""
    chaos = sub.add_parser(
        "chaos",
        help="run a cluster under faults (kills, pauses, partitions) and check the history for linearizability",
        description="Start --nodes store processes on 127.0.0.1 whose links to each other run through proxies "
        "the harness controls, run concurrent clients doing get / put / delete / compare-and-swap on a few keys "
        "(every operation recorded with its invoke and complete times and its outcome: ok, fail or unknown), and "
        "inject the faults of a schedule drawn from the seed: SIGKILL of a store then restart, SIGSTOP / SIGCONT "
        "pauses, partitions (majority/minority, isolated leader, bridge, one-way). Then heal everything, wait for "
        "convergence and check that the history is linearizable, that every acknowledged write is present, and "
        "that the replicas are identical. Each seed is one run; histories and reports go to --out/seed-N/. "
        "See docs/reliability.md.",
        epilog=CHAOS_STATUS,
        formatter_class=formatter,
    )
    add_verbose(chaos, argparse.SUPPRESS)
    chaos.add_argument("--nodes", type=int, choices=(3, 5), default=3, help="stores in the cluster (default 3)")
    chaos.add_argument("--seed", type=int, action="append", default=None,
                       help="a seed of the fault schedule and the workload; repeat for several runs (default 1)")
    chaos.add_argument("--seeds", type=int, default=None, metavar="N",
                       help="run seeds 1..N (instead of --seed)")
    chaos.add_argument("--cycles", type=int, default=40, help="fault cycles per run (default 40)")
    chaos.add_argument("--duration", type=float, default=None, metavar="S",
                       help="run each seed for S seconds of faults instead of --cycles")
    chaos.add_argument("--out", type=Path, default=None,
                       help="directory for histories and reports (default ./data/chaos/<UTC time>)")
    chaos.add_argument("--bug", choices=sorted(BUGS), default=None,
                       help="start every store with a deliberately broken build (the bug-injection check: "
                       "stale-read = reads served from local state without ReadIndex); the run should FAIL")
    chaos.add_argument("--faults", type=_kinds, default=KINDS, metavar="KINDS",
                       help=f"comma-separated fault kinds to inject (default all: {','.join(KINDS)})")
    chaos.add_argument("--clients", type=int, default=6, help="concurrent clients (default 6)")
    chaos.add_argument("--keys", type=int, default=4, help="keys the clients share (default 4)")
    chaos.add_argument("--timeout", type=float, default=1.0, help="client call timeout in seconds (default 1)")
    chaos.add_argument("--crash-points", action="store_true",
                       help="instead: crash-point exploration, a store killed at each failpoint of the source in turn "
                       "(one small cluster each), restarted, and the invariants checked; a failpoint the workload "
                       "did not reach counts as a failure")


def run_chaos_command(args: argparse.Namespace) -> int:
    """run_chaos_command runs every seed, prints each run's summary and the totals; exit status above."""
    from tqdm import tqdm  # only the chaos command pays for it

    out = args.out or Path("data/chaos") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if args.crash_points:
        return _crash_points(out)
    seeds = list(range(1, args.seeds + 1)) if args.seeds else (args.seed or [1])
    workload = WorkloadConfig(clients=args.clients, keys=args.keys, timeout=args.timeout)
    reports: list[RunReport] = []
    total = None if args.duration else args.cycles * len(seeds)
    with tqdm(total=total, unit="cycle", desc="chaos") as bar:
        for seed in seeds:
            cfg = ChaosConfig(out, seed, args.nodes, args.cycles, args.duration, args.bug, args.faults, workload)

            def tick(fault: Fault, seed: int = seed) -> None:
                bar.set_postfix_str(f"seed {seed}: {fault.kind} {fault.detail}", refresh=False)
                bar.update(1)

            report = run_chaos(cfg, tick)
            reports.append(report)
            tqdm.write(report.summary())
    totals = _totals(reports)
    (out / "summary.json").write_text(json.dumps(totals, indent=2) + "\n")
    print(f"total: {len(reports)} runs, {totals['cycles']} cycles (" +
          ", ".join(f"{k} {v}" for k, v in sorted(totals["faults"].items())) +
          f"), {totals['operations']} operations checked, {totals['violations']} violations; "
          f"histories under {out}")
    return EXIT_VIOLATION if totals["violations"] else 0


def _crash_points(out: Path) -> int:
    """_crash_points runs crashpoints.explore and prints one line per failpoint and the totals."""
    from .crashpoints import explore

    results = explore(out, progress=lambda r: print(r.line(), flush=True))
    failed = [r for r in results if not r.reached or r.violations]
    reached = sum(r.reached for r in results)
    violations = sum(len(r.violations) for r in results)
    print(f"crash points: {len(results)} failpoints, {reached} reached, {violations} violations; runs under {out}")
    (out / "crashpoints.json").write_text(json.dumps([vars(r) for r in results], indent=2) + "\n")
    return EXIT_VIOLATION if failed else 0


def _totals(reports: list[RunReport]) -> dict[str, Any]:
    faults: Counter[str] = Counter()
    for r in reports:
        faults.update(r.faults)
    return {
        "seeds": [r.seed for r in reports],
        "cycles": sum(r.cycles for r in reports),
        "faults": dict(faults),
        "operations": sum(r.operations.get("operations", 0) for r in reports),
        "writer_acked": sum(r.operations.get("writer_acked", 0) for r in reports),
        "violations": sum(len(r.violations) for r in reports),
        "runs": [r.run_dir for r in reports],
    }
