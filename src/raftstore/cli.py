"""raftstore.cli: the `raftstore` command.

Every failure ends in `_fail`, the one place that turns an error into one line on stderr (`raftstore: ...`)
and an exit code (see EXIT_STATUS); -v adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from .chaos.command import CHAOS_STATUS, add_chaos_command, run_chaos_command
from .checker import CheckerError, check_history, read_history
from .client import ClientError
from .ctl import CtlError, CtlUsageError, add_ctl_command, positive_float, run_ctl
from .demo import TABLE_HEADER, format_region, opened_engines, run_demo
from .engine.errors import DataDirError, DataDirInUseError, EngineError
from .proto.raft_serverpb_pb2 import PeerState
from .raft.errors import InvariantError, RaftError
from .raft.util import INVALID_ID
from .server import commands as server_commands
from .server.errors import ConfigError, ServerError
from .store import PeerStorage, StoreError, load_region_states

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_USAGE", "main"]

EXIT_FAILURE = 1  # a runtime failure: the command started and could not finish
EXIT_USAGE = 2  # invalid arguments, or --data is not a raftstore data directory (argparse exits 2 too)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it

# _EXPECTED: the roots of the errors the layers raise on purpose; their message is the line shown. Any other
# exception is a bug and is shown with its type.
_EXPECTED: tuple[type[Exception], ...] = (
    EngineError, StoreError, RaftError, InvariantError, OSError, ServerError, ClientError, CheckerError, CtlError
)

EXIT_STATUS = f"""\
exit status:
  0    success
  {EXIT_FAILURE}    a failure while running: the data directory is in use by another process, corrupt or
       invalid data, an I/O error (no space left on device, permission denied while opening, ...)
  {EXIT_USAGE}    invalid arguments, or --data cannot be used as a raftstore data directory: missing or
       empty (inspect, ctl), not a directory, unreadable, foreign or damaged (nothing was created or changed)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)

Every failure prints one line on stderr, "raftstore: <what went wrong>"; -v prints the traceback too."""


# EXIT_NOT_LINEARIZABLE, EXIT_UNDECIDED: check-history's own statuses (fixed: 0, 1, 2, 3).
EXIT_NOT_LINEARIZABLE = 1
EXIT_UNDECIDED = 3

CHECK_HISTORY_STATUS = f"""\
exit status:
  0    linearizable
  {EXIT_NOT_LINEARIZABLE}    not linearizable: the report names the key and the operations by line number (from 1)
  {EXIT_USAGE}    malformed input (the message names the line), an unreadable file, or invalid arguments
  {EXIT_UNDECIDED}    undecided within --time-limit
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)

The verdict and the report go to stdout; an input error is one line on stderr, "raftstore: <what went
wrong>"; -v prints the traceback too."""


class _HelpFormatter(argparse.HelpFormatter):
    """_HelpFormatter wraps descriptions to the terminal and prints the exit status epilogs as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text in (EXIT_STATUS, CHECK_HISTORY_STATUS, CHAOS_STATUS):
            return text
        return super()._fill_text(text, width, indent)


def _positive_int(text: str) -> int:
    """_positive_int is argparse's type for counts that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log more (-v info, -vv debug) and print the traceback of a failure",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftstore",
        description="raftstore: a multi-Raft storage layer modeled on TiKV's raftstore, on embedded RocksDB.",
        epilog=EXIT_STATUS,
        formatter_class=_HelpFormatter,
    )
    _add_verbose(parser, 0)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = sub.add_parser(
        "demo",
        help="a 3-store cluster: write, kill a follower, catch it up by snapshot, check the replicas",
        description="Start 3 store processes on 127.0.0.1 (data and logs under --data/store-N; a directory an "
        "earlier demo left is reused), write --keys puts of 1 KiB (32 in flight, with a progress bar) and read "
        "some back, kill a follower and write as many again while the log is compacted past it, restart it and "
        "show it catch up through a snapshot, write a few more, stop the stores, compare the replicas' applied "
        "index and data hash (\"replicas identical\", or \"replicas DIFFER\" and exit 1), and report "
        "throughput, latency and the snapshot. Every store is stopped on exit, Ctrl-C included. --storage runs "
        "the single-process storage walkthrough instead (bootstrap regions, append with group commit, compact, "
        "restart, print states; --data must be missing, empty or left by an earlier walkthrough).",
        epilog=EXIT_STATUS,
        formatter_class=_HelpFormatter,
    )
    # A command's -v has no default, so that it keeps a -v given before the command.
    _add_verbose(demo, argparse.SUPPRESS)
    demo.add_argument("--data", type=Path, default=Path("./data"), help="data directory (default ./data)")
    demo.add_argument(
        "--keys", type=_positive_int, default=3000,
        help="puts before and again while the follower is down (default 3000)",
    )
    demo.add_argument("--storage", action="store_true", help="run the storage walkthrough (flags below)")
    demo.add_argument(
        "--regions", type=_positive_int, default=16,
        help="regions to bootstrap when --data holds none yet (default 16; ignored when reusing)",
    )
    demo.add_argument(
        "--rounds", type=_positive_int, default=50, help="write rounds, one group commit each (default 50)"
    )
    demo.add_argument(
        "--per-round", type=_positive_int, default=20, help="entries per region per round (default 20)"
    )
    inspect = sub.add_parser(
        "inspect",
        help="print the persisted state of every region under --data (read-only)",
        description="Open the engines read-only (nothing is created or changed, a read-only directory will "
        "do, a demo may hold the directory meanwhile) and print every region: its state (tombstones "
        "included), first/last index, term, commit, applied and truncated index, and peers. Every region's "
        "persisted states are validated and its whole log is read, so damage shows as a failure naming the "
        "region.",
        epilog=EXIT_STATUS,
        formatter_class=_HelpFormatter,
    )
    _add_verbose(inspect, argparse.SUPPRESS)
    inspect.add_argument("--data", type=Path, default=Path("./data"), help="data directory (default ./data)")
    server_commands.add_commands(sub, _add_verbose, _HelpFormatter, EXIT_STATUS)
    add_ctl_command(sub, _add_verbose, _HelpFormatter, EXIT_STATUS)
    add_chaos_command(sub, _add_verbose, _HelpFormatter)
    check = sub.add_parser(
        "check-history",
        help="check a history file (JSON lines, as `raftstore chaos` records) for linearizability",
        description="Check that the operations of a history file are linearizable, key by key (Wing & Gong "
        "search with memoisation). Operations with outcome info may have taken effect at any time after "
        "their invoke, or never. On a violation the report names the key and the operations by line number "
        "(from 1), with the longest linearization found and the operations that could not follow it. See "
        "docs/reliability.md.",
        epilog=CHECK_HISTORY_STATUS,
        formatter_class=_HelpFormatter,
    )
    _add_verbose(check, argparse.SUPPRESS)
    check.add_argument("file", type=Path, metavar="FILE", help="the history file")
    check.add_argument(
        "--time-limit", type=positive_float, default=None, metavar="S",
        help="give up after S seconds, exit 3 (default: no limit)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """main runs the command line argv (sys.argv[1:] when None) and returns its exit status (see EXIT_STATUS);
    argparse exits 2 itself on invalid arguments, as it does for --help with 0."""
    args = _parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "demo" and args.storage:
            run_demo(args.data, regions=args.regions, rounds=args.rounds, per_round=args.per_round)
        elif args.command == "demo":
            # gRPC and tqdm are imported here: only the cluster demo pays for them.
            from .cluster_demo import run_cluster_demo

            return run_cluster_demo(args.data, args.keys)
        elif args.command == "chaos":
            return run_chaos_command(args)
        elif args.command == "check-history":
            return _check_history(args.file, args.time_limit)
        elif args.command in server_commands.COMMANDS:
            return server_commands.run_command(args)
        elif args.command == "ctl":
            return run_ctl(args)
        else:
            _inspect(args.data)
    except KeyboardInterrupt as err:
        return _fail(err, "interrupted", EXIT_INTERRUPTED, args.verbose)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except Exception as err:
        return _fail(err, _describe(err), _exit_code(err), args.verbose)
    return 0


def _quiet_broken_pipe() -> int:
    """_quiet_broken_pipe: the reader of our output went away (`raftstore inspect | head`). As other command
    line tools do, stop quietly: stdout goes to /dev/null so that flushing it at exit fails no more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILURE


def _describe(err: Exception) -> str:
    """_describe is the message shown for err: the error's own for the errors raised on purpose."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    if isinstance(err, _EXPECTED):
        return str(err) or type(err).__name__
    return f"unexpected {type(err).__name__}: {err} (a bug; -v prints the traceback)"


def _exit_code(err: Exception) -> int:
    """_exit_code: EXIT_USAGE for a path that is not a usable data directory, EXIT_FAILURE for the rest; a
    directory in use is a DataDirError too, but the directory is fine: a runtime failure."""
    if isinstance(err, DataDirError) and not isinstance(err, DataDirInUseError) or isinstance(err, ConfigError):
        return EXIT_USAGE
    if isinstance(err, CtlUsageError):
        return EXIT_USAGE  # an offline-only ctl subcommand with --addr, or an online-only one with --data
    if isinstance(err, CheckerError):
        return EXIT_USAGE  # a history that cannot be read or parsed: check-history's status 2
    return EXIT_FAILURE


def _fail(err: BaseException, message: str, code: int, verbose: int) -> int:
    """_fail prints the traceback (with -v) and the one line `raftstore: message`; returns code."""
    if verbose:
        traceback.print_exception(err)
    print("raftstore: " + " ".join(message.split()), file=sys.stderr)
    return code


def _inspect(data: Path) -> None:
    """_inspect prints every region under data, read-only (see the inspect command's description)."""
    with opened_engines(data, read_only=True) as engines:
        states = load_region_states(engines)
        print(f"{len(states)} regions under {data}")
        print(TABLE_HEADER)
        for state in states:
            region = state.region
            if state.state == PeerState.Tombstone:
                print(format_region(region, state.state, None))  # its log and states were cleared
                continue
            # Reads do not depend on the peer id (it only tags log lines), and the data directory does not
            # record which peer is this store's, so inspection opens every region as no peer (INVALID_ID).
            ps = PeerStorage(engines, region, INVALID_ID, tag=f"[region {region.id}]")
            _read_log(ps)
            print(format_region(region, state.state, ps))


def _check_history(path: Path, time_limit: float | None) -> int:
    """_check_history prints the verdict on the history at path and returns check-history's status."""
    result = check_history(read_history(path), time_limit)
    print(result.report())
    if result.status == "not linearizable":
        return EXIT_NOT_LINEARIZABLE
    return EXIT_UNDECIDED if result.status == "undecided" else 0


def _read_log(ps: PeerStorage) -> None:
    """_read_log reads the whole log of ps in 1 MiB pieces, so that a missing or damaged entry fails here."""
    low, high = ps.first_index(), ps.last_index() + 1
    while low < high:
        low = ps.entries(low, high, 1 << 20)[-1].index + 1


if __name__ == "__main__":
    sys.exit(main())
