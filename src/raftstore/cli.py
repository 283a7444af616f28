"""raftstore.cli: the `raftstore` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftstore",
        description="raftstore: a multi-Raft storage layer modeled on TiKV's raftstore, on embedded RocksDB.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="storage walkthrough: bootstrap regions, append, compact, restart, print states",
        description="Bootstrap regions (or reuse those under --data), append entries across all regions with "
        "group commit, compact and garbage-collect the logs, restart from disk, and print the states and the "
        "entry cache hit ratio.",
    )
    demo.add_argument("--data", type=Path, default=Path("./data"), help="data directory (default ./data)")
    demo.add_argument("--regions", type=int, default=16, help="regions to bootstrap on a fresh directory (16)")
    demo.add_argument("--rounds", type=int, default=50, help="write rounds (one group commit each) (50)")
    demo.add_argument("--per-round", type=int, default=20, help="entries per region per round (20)")
    inspect = sub.add_parser(
        "inspect",
        help="print the persisted states of the regions under --data",
        description="Open the engines read-only in spirit (nothing is written) and print each region's "
        "first/last index, term, commit, applied and truncated index, validating every state.",
    )
    inspect.add_argument("--data", type=Path, default=Path("./data"), help="data directory (default ./data)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .store.errors import StoreError

    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo(args.data, regions=args.regions, rounds=args.rounds, per_round=args.per_round)
        elif args.command == "inspect":
            _inspect(args.data)
        else:
            _parser().print_help()
            return 2
    except StoreError as err:
        print(f"raftstore: {err}", file=sys.stderr)
        return 1
    return 0


def _inspect(data: Path) -> None:
    from .demo import _open_storages, _print_states
    from .engine import open_engines

    if not data.exists():
        raise SystemExit(f"raftstore: no data directory at {data}")
    with open_engines(data) as engines:
        storages = _open_storages(engines)
        print(f"{len(storages)} regions under {data}")
        _print_states(storages, print, limit=len(storages))


if __name__ == "__main__":
    sys.exit(main())
