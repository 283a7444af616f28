"""raftstore.server.commands: the `server`, `playground` and `kv` subcommands of the `raftstore` command.

raftstore.cli builds the parser and handles errors; `add_commands` adds these subcommands to it and
`run_command` runs one.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "run_command", "COMMANDS"]

COMMANDS = ("server", "playground", "kv")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}")
    return int(text)


def _nodes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 99:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to 99, got {text!r}")
    return int(text)


def add_commands(
    sub: Any,  # argparse's _SubParsersAction
    add_verbose: Callable[[argparse.ArgumentParser, object], None],
    formatter: type[argparse.HelpFormatter],
    epilog: str,
) -> None:
    """add_commands adds `server`, `playground` and `kv` to the subparsers sub."""
    server = sub.add_parser(
        "server",
        help="run one store of a cluster (gRPC on --addr, /metrics on --status-addr)",
        description="Run one store until SIGTERM or SIGINT (graceful: exit 0, even without a quorum left). On "
        "an empty --data with --initial-cluster the store bootstraps: region 1 covers every key with a peer "
        "on every initial store; on a bootstrapped --data the same flags bootstrap nothing. Other settings "
        "come from --config (TOML, see docs/cluster.md): [raftstore] tick-interval-ms and any store setting "
        "(election-tick, raft-log-gc-threshold, ...), [server] grpc-workers and gossip-interval-ms, [storage] "
        "write-buffer-mb (RocksDB memtable size, default 128), [security] ca-path, cert-path and key-path "
        "(mutual TLS); flags win over it.",
        epilog=epilog,
        formatter_class=formatter,
    )
    add_verbose(server, argparse.SUPPRESS)
    server.add_argument("--store-id", type=int, help="this store's id (a positive integer)")
    server.add_argument("--data", type=Path, help="data directory (created if missing)")
    server.add_argument("--addr", help="HOST:PORT for clients and other stores")
    server.add_argument("--status-addr", help="HOST:PORT serving Prometheus /metrics")
    server.add_argument(
        "--initial-cluster", help="ID=HOST:PORT,... every initial store (the same on each of them)"
    )
    server.add_argument(
        "--join", help="HOST:PORT of any store of a running cluster: a new store joins through it (learns every "
        "store and announces itself); it starts with no region, add-peer moves regions onto it"
    )
    server.add_argument("--config", type=Path, help="TOML config file")
    server.add_argument(
        "--log-format", choices=("text", "json"), default="text",
        help="log lines as text or JSON objects, each with the store, region and peer (default text)",
    )

    playground = sub.add_parser(
        "playground",
        help="run a local cluster of N store processes until Ctrl-C",
        description="Start N stores on 127.0.0.1 (ports at or after --base-port, data and logs under --data), "
        "print 'addresses:' and one host:port per line once all serve, then 'status addresses:' and each store's "
        "/metrics host:port (ports at or after --status-port), and run until SIGINT/SIGTERM, which "
        "stops them all.",
        epilog=epilog,
        formatter_class=formatter,
    )
    add_verbose(playground, argparse.SUPPRESS)
    playground.add_argument("--nodes", type=_nodes, default=3, help="number of stores (default 3)")
    playground.add_argument(
        "--data", type=Path, default=Path("./data/playground"), help="data directory (default ./data/playground)"
    )
    playground.add_argument("--base-port", type=_port, default=20161, help="first client port (default 20161)")
    playground.add_argument(
        "--status-port", type=_port, default=20181,
        help="first status port: each store serves Prometheus /metrics on one (default 20181)",
    )
    playground.add_argument("--config", type=Path, help="TOML config file for every store")

    kv = sub.add_parser(
        "kv",
        help="get, put, delete, scan or compare-and-swap keys of a running cluster",
        description="Talk to a running cluster through any of its stores. Keys and values are UTF-8 text "
        "on the command line; output is UTF-8 (undecodable bytes escaped). get of a missing key prints "
        "nothing and exits 1.",
        epilog=epilog,
        formatter_class=formatter,
    )
    add_verbose(kv, argparse.SUPPRESS)
    kv.add_argument("--addr", required=True, help="HOST:PORT[,HOST:PORT...] of stores of the cluster")
    kv.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")
    add_tls_flags(kv, "the client's")
    ops = kv.add_subparsers(dest="op", metavar="OP", required=True)
    ops.add_parser("get", help="print KEY's value").add_argument("key")
    put = ops.add_parser("put", help="set KEY to VALUE")
    put.add_argument("key")
    put.add_argument("value")
    ops.add_parser("delete", help="delete KEY").add_argument("key")
    scan = ops.add_parser("scan", help="print KEY<TAB>VALUE for START <= KEY < END")
    scan.add_argument("start")
    scan.add_argument("end", nargs="?")
    scan.add_argument("--limit", type=int, help="at most this many pairs")
    cas = ops.add_parser("cas", help="set KEY to NEW if its value is EXPECTED (--missing: if it is missing)")
    cas.add_argument("key")
    cas.add_argument("expected", nargs="?")
    cas.add_argument("new")
    cas.add_argument("--missing", action="store_true", help="swap only if KEY is missing")


def add_tls_flags(parser: argparse.ArgumentParser, whose: str) -> None:
    """add_tls_flags adds --ca-path, --cert-path, --key-path (mutual TLS; all three or none)."""
    for name, what in (("ca-path", "the cluster's CA certificate"), ("cert-path", f"{whose} certificate"),
                       ("key-path", f"{whose} private key")):
        parser.add_argument(f"--{name}", type=Path, metavar="FILE", help=f"mutual TLS: {what} (PEM)")


def run_command(args: argparse.Namespace) -> int:
    """run_command runs args.command, one of COMMANDS, and returns its exit status. (The gRPC modules are
    imported here, so that the other commands do not pay for them.)"""
    if args.command == "server":
        _server(args)
        return 0
    if args.command == "playground":
        from .playground import run_playground

        run_playground(args.nodes, args.data, args.base_port, args.config, args.status_port)
        return 0
    return _kv(args)


def _server(args: argparse.Namespace) -> None:
    from .config import load_config
    from .logs import configure_logging
    from .server import Server

    flags = {
        "store-id": args.store_id,
        "data": str(args.data) if args.data is not None else None,
        "addr": args.addr,
        "status-addr": args.status_addr,
        "initial-cluster": args.initial_cluster,
        "join": args.join,
    }
    config = load_config(flags, args.config)
    configure_logging(args.log_format, config.store_id)
    server = Server(config)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    try:
        server.wait(stop)
    finally:
        server.stop()


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _kv(args: argparse.Namespace) -> int:
    from ..client import Client

    tls = {"ca_path": args.ca_path, "cert_path": args.cert_path, "key_path": args.key_path}
    with Client(args.addr, timeout=args.timeout, **tls) as client:
        op = args.op
        if op == "get":
            value = client.get(args.key.encode())
            if value is None:
                print(f"raftstore: key {args.key!r} not found", file=sys.stderr)
                return 1
            print(_text(value))
        elif op == "put":
            client.put(args.key.encode(), args.value.encode())
            print("OK")
        elif op == "delete":
            client.delete(args.key.encode())
            print("OK")
        elif op == "scan":
            end = args.end.encode() if args.end is not None else None
            for key, value in client.scan(args.start.encode(), end, limit=args.limit):
                print(f"{_text(key)}\t{_text(value)}")
        else:
            if (args.expected is None) != args.missing:
                raise SystemExit("raftstore: kv cas: give EXPECTED or --missing (not both)")
            expected = None if args.missing else args.expected.encode()
            swapped, previous = client.compare_and_swap(args.key.encode(), expected, args.new.encode())
            shown = "(missing)" if previous is None else _text(previous)
            print(f"{'swapped' if swapped else 'not swapped'}; previous: {shown}")
            return 0 if swapped else 1
    return 0
