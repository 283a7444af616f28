"""raftstore.ctl: `raftstore ctl`, the inspection tool of a store's data directory (TiKV's tikv-ctl).

`raftstore ctl --data DIR SUBCOMMAND` works offline: it opens DIR's engines read-only, so nothing under DIR
changes, byte for byte (a read-only file system will do), and it reads the persisted records as they are,
without validating them against each other, so that a damaged region can still be looked at:

    regions        every region: state, epoch, indexes, range, peers (--region ID: one)
    raft-state     the RaftLocalState of a region (raft engine), as protobuf text or --json
    apply-state    the RaftApplyState of a region (KV engine, CF raft)
    region-state   the RegionLocalState of a region (KV engine, CF raft)
    log            the entries of a region's log, a command summary each (--from, --to, --limit)
    store          the StoreIdent, when the directory has one
    snapshots      the snapshot files under DIR/snap (--verify: sizes and CRC32s against their metas)
    scan           the user keys and values of a region's range

`raftstore ctl --addr HOST:PORT SUBCOMMAND` works online, against a running store (through its Admin
service, raftstore.server.ctl_online): regions, raft-state, apply-state and region-state as the store's
peers hold them now, its status, and the changes add-peer, remove-peer, split, transfer-leader and
consistency-check (any store will do: a change goes to the region's leader). log, store, snapshots and
scan are offline only; the status and the changes online only (CtlUsageError otherwise).

Keys print escaped: printable ASCII as is, `"` and `\\` backslashed, any other byte as \\xNN.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import json_format, text_format
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as PbMessage

from .demo import format_peers, opened_engines
from .engine import keys
from .engine.base import CF_DEFAULT, CF_RAFT, DATA_CFS
from .engine.engines import Engines
from .proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeType,
    ConfChangeV2,
    Entry,
    EntryType,
)
from .proto.metapb_pb2 import PeerRole, Region
from .proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    AdminRequest,
    CmdType,
    RaftCmdRequest,
    Request,
)
from .proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RegionLocalState,
)
from .raft.util import INVALID_ID
from .store.bootstrap import load_store_ident
from .store.errors import RegionCorruptionError
from .store.peer_storage import PeerStorage, load_region_states
from .store.snap.errors import SnapError
from .store.snap.files import SnapFiles, SnapKey
from .store.snap.manager import SnapManager

__all__ = [
    "SNAP_DIR", "CtlError", "CtlUsageError", "add_ctl_command", "positive_float", "printable", "region_digest", "run_ctl",
]

# SNAP_DIR: where a store keeps its snapshot files under its data directory (raftstore.server.server.SNAP_DIR,
# not imported: that would load gRPC).
SNAP_DIR = "snap"
# SUMMARY_REQUESTS: how many requests of one command a log line names before "+N more".
SUMMARY_REQUESTS = 3

_M = TypeVar("_M", bound=PbMessage)


class CtlError(Exception):
    """CtlError: what ctl was asked for is not under the data directory (an unknown region, a state the
    region does not hold) or does not check out (a snapshot failing --verify). Nothing was changed; the
    command exits 1."""


class CtlUsageError(CtlError):
    """CtlUsageError: ctl was asked for something it cannot do (an offline-only subcommand with --addr, an
    online-only one with --data). Nothing was read or changed; the command exits 2."""


# -- the command line --------------------------------------------------------------------------------


def _int_at_least(low: int) -> Callable[[str], int]:
    """_int_at_least is argparse's type for an integer in [low, 2**64)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
        if not low <= value <= keys.U64_MAX:
            raise argparse.ArgumentTypeError(f"must be from {low} to 2**64-1, got {value}")
        return value

    return parse


def add_ctl_command(
    sub: Any,  # argparse's _SubParsersAction
    add_verbose: Callable[[argparse.ArgumentParser, object], None],
    formatter: type[argparse.HelpFormatter],
    epilog: str,
) -> None:
    """add_ctl_command adds `ctl` and its subcommands to the subparsers sub."""
    ctl = sub.add_parser(
        "ctl",
        help="inspect a store's data directory (read-only) or a running store; change regions online",
        description="Inspect a store (TiKV's tikv-ctl). With --data (offline) the engines are opened read-only: "
        "nothing under DIR is created or changed, a read-only directory will do, and the records are shown as "
        "persisted, without validation, so that damage can be looked at. With --addr (online) ctl asks a running "
        "store through its Admin service: the regions and states as its peers hold them now, its status, and "
        "the changes add-peer, remove-peer, split, transfer-leader and consistency-check, which go to the "
        "region's leader whichever store --addr names. log, store, snapshots and scan are offline only. Keys "
        "print escaped: printable ASCII as is, any other byte as \\xNN.",
        epilog=epilog,
        formatter_class=formatter,
    )
    add_verbose(ctl, argparse.SUPPRESS)
    where = ctl.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=Path, help="the data directory of a store (offline, read-only)")
    where.add_argument("--addr", help="HOST:PORT of a running store (online)")
    ctl.add_argument("--timeout", type=positive_float, default=30.0, metavar="S",
                     help="online: seconds a request may take, retries included (default 30)")
    for name, what in (("ca-path", "the CA certificate"), ("cert-path", "ctl's certificate"), ("key-path", "its key")):
        ctl.add_argument(f"--{name}", type=Path, metavar="FILE", help=f"online, mutual TLS: {what} (PEM)")
    commands = ctl.add_subparsers(dest="ctl_command", metavar="SUBCOMMAND", required=True)
    region_id = _int_at_least(1)

    def command(name: str, help_text: str, region: bool | None = True, as_json: bool = False) -> Any:
        """command adds a subcommand; region: --region ID required (True), optional (False) or absent (None)."""
        parser = commands.add_parser(
            name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".", epilog=epilog,
            formatter_class=formatter,
        )
        add_verbose(parser, argparse.SUPPRESS)
        if region is not None:
            parser.add_argument("--region", type=region_id, required=region, metavar="ID", help="the region's id")
        if as_json:
            parser.add_argument("--json", action="store_true", help="print JSON instead of text")
        return parser

    command("regions", "list every region (--region: one): state, epoch, indexes, range, peers", False, True)
    command("raft-state", "print a region's RaftLocalState (hard state, last index)", as_json=True)
    command("apply-state", "print a region's RaftApplyState (applied, commit, truncated)", as_json=True)
    command("region-state", "print a region's RegionLocalState (state, region, epoch, peers)", as_json=True)
    log = command("log", "offline: print a region's log entries: index, term, type, size, what the command does")
    log.add_argument("--from", dest="low", type=_int_at_least(0), metavar="I", help="first index (default: first)")
    log.add_argument("--to", dest="high", type=_int_at_least(0), metavar="J", help="last index, included")
    log.add_argument("--limit", type=region_id, metavar="N", help="at most N entries")
    command("store", "offline: print the store's identity (cluster id, store id), if it has one", None, True)
    snaps = command("snapshots", f"offline: list the snapshot files under DIR/{SNAP_DIR}", None)
    snaps.add_argument("--verify", action="store_true", help="check each file's size and CRC32 against the meta")
    scan = command("scan", "offline: print KEY<TAB>VALUE for the user data in a region's range, in key order")
    scan.add_argument("--limit", type=region_id, metavar="N", help="at most N pairs")
    scan.add_argument("--cf", choices=DATA_CFS, default=CF_DEFAULT, help="column family (default: default)")
    command("status", "online: the store's id, address, region and leader counts, every region's role and "
            "indexes (--region: one region's status), and the stores it knows", False, True)
    store_id = _int_at_least(1)
    add = command("add-peer", "online: add a voter (or with --learner a learner) of a region on a store; "
                  "a learner catches up without voting, add-peer again without --learner promotes it")
    add.add_argument("--store", type=store_id, required=True, metavar="SID", help="the store to add the peer on")
    add.add_argument("--learner", action="store_true", help="add a learner instead of a voter")
    remove = command("remove-peer", "online: remove a region's peer from a store (when it leads, leadership "
                     "moves to another voter first)")
    remove.add_argument("--store", type=store_id, required=True, metavar="SID", help="the store to remove it from")
    split = command("split", "online: split the region holding KEY (or --region) at KEY: the new region covers "
                    "[KEY, end), with new region and peer ids", False)
    split.add_argument("--key", required=True, help="the split key (UTF-8 text)")
    transfer = command("transfer-leader", "online: move a region's leadership to its voter on a store, and "
                       "wait until it leads")
    transfer.add_argument("--store", type=store_id, required=True, metavar="SID", help="the store to lead")
    command("consistency-check", "online: hash a region (default: every region of the store) on all its "
            "replicas at one applied index and compare; prints \"replicas identical\" only if every hash "
            "matches at the same index, and exits 1 otherwise", False)


# OFFLINE_ONLY, ONLINE_ONLY: the subcommands that need --data, and those that need --addr.
OFFLINE_ONLY = ("log", "store", "snapshots", "scan")
ONLINE_ONLY = ("status", "add-peer", "remove-peer", "split", "transfer-leader", "consistency-check")


def run_ctl(args: argparse.Namespace) -> int:
    """run_ctl runs the ctl subcommand of args and returns its exit status (failures raise)."""
    command = args.ctl_command
    if args.addr is not None:
        if command in OFFLINE_ONLY:
            raise CtlUsageError(f"ctl {command} reads a data directory: run it with --data DIR (offline)")
        # gRPC is imported here: offline ctl does not pay for it.
        from .server.ctl_online import run_online

        return run_online(args)
    if command in ONLINE_ONLY:
        raise CtlUsageError(f"ctl {command} needs a running store: run it with --addr HOST:PORT (online)")
    with opened_engines(args.data, read_only=True) as engines:
        _RUNNERS[command](engines, args)
    return 0


def positive_float(text: str) -> float:
    """positive_float is argparse's type for durations that must be above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


# -- formatting --------------------------------------------------------------------------------------

# _ESCAPED: each byte's printable form (see printable).
_ESCAPED = [chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in range(256)]
_ESCAPED[ord('"')] = '\\"'
_ESCAPED[ord("\\")] = "\\\\"


def printable(key: bytes) -> str:
    """printable is key with every byte that is not printable ASCII as \\xNN (and `"`, `\\` backslashed)."""
    return "".join(_ESCAPED[b] for b in key)


def _quoted(key: bytes) -> str:
    return f'"{printable(key)}"'


def format_range(region: Region) -> str:
    """format_range is the region's key range, [start, end), an open end as -inf / +inf; an uninitialized
    region (no peers) has none yet."""
    if not region.peers:
        return "(uninitialized)"
    start = _quoted(region.start_key) if region.start_key else "-inf"
    end = _quoted(region.end_key) if region.end_key else "+inf"
    return f"[{start}, {end})"


def print_message(msg: PbMessage, as_json: bool, what: str) -> None:
    """print_message prints msg as JSON (every field, defaults included, uint64s as strings: protobuf's
    mapping) or as protobuf text after a comment line naming `what` (text omits fields at their default)."""
    if as_json:
        print(json_format.MessageToJson(msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True))
        return
    print(f"# {what}: {type(msg).__name__}; fields at their default (0, Normal, Voter, empty) are not shown")
    print(text_format.MessageToString(msg), end="")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """plural is "1 region", "2 regions" (nouns: the plural when it is not noun + "s")."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


# -- reading -----------------------------------------------------------------------------------------


def _decode(cls: type[_M], raw: bytes, region_id: int, what: str) -> _M:
    try:
        return cls.FromString(raw)
    except DecodeError as err:
        raise RegionCorruptionError(region_id, f"{what} is not a valid {cls.__name__}: {err}") from err


def _region_state(engines: Engines, region_id: int) -> RegionLocalState:
    """_region_state is the region's RegionLocalState; CtlError when the store has none (an unknown region)."""
    raw = engines.kv.get(CF_RAFT, keys.region_state_key(region_id))
    if raw is None:
        raise CtlError(f"region {region_id} not found under {engines.path} (it has no region state)")
    return _decode(RegionLocalState, raw, region_id, "region state")


def _raft_state(engines: Engines, region_id: int) -> RaftLocalState | None:
    raw = engines.raft.get(CF_DEFAULT, keys.raft_state_key(region_id))
    return None if raw is None else _decode(RaftLocalState, raw, region_id, "raft state")


def _apply_state(engines: Engines, region_id: int) -> RaftApplyState | None:
    raw = engines.kv.get(CF_RAFT, keys.apply_state_key(region_id))
    return None if raw is None else _decode(RaftApplyState, raw, region_id, "apply state")


def _states(engines: Engines, region_id: int | None) -> list[RegionLocalState]:
    return load_region_states(engines) if region_id is None else [_region_state(engines, region_id)]


def _missing(engines: Engines, region_id: int, what: str) -> CtlError:
    """_missing is the error for a region state `what` that the region (which must exist) does not hold."""
    state = _region_state(engines, region_id)
    if state.state == PeerState.Tombstone:
        why = "a tombstone: its log and states were cleared"
    else:
        why = f"{PeerState.Name(state.state)}, {'initialized' if state.region.peers else 'uninitialized'}"
    return CtlError(f"region {region_id} has no {what} (it is {why})")


# -- subcommands -------------------------------------------------------------------------------------

# REGIONS_COLUMNS: the columns of `regions` after the region id: (header, row key, width); online, the raft
# role (Leader, Follower, ...) comes first instead of the peer state.
REGIONS_COLUMNS = (
    ("state", "state", 9), ("conf_ver", "conf_ver", 8), ("version", "version", 7), ("first", "first_index", 8),
    ("last", "last_index", 8), ("term", "term", 6), ("commit", "commit", 8), ("applied", "applied", 8),
    ("truncated", "truncated_index", 9),
)
ONLINE_COLUMNS = (("role", "role", 12), *REGIONS_COLUMNS[1:])


def region_row(
    region: Region, state: int, raft: RaftLocalState | None, apply: RaftApplyState | None
) -> dict[str, Any]:
    """region_row is what `regions` shows of a region: its peer state, epoch, range, peers and the indexes
    of its raft and apply states (None where a state is missing)."""
    truncated = apply.truncated_state if apply is not None else None
    return {
        "id": region.id,
        "state": PeerState.Name(state),  # type: ignore[arg-type]
        "start_key": region.start_key.hex(),
        "end_key": region.end_key.hex(),
        "conf_ver": region.region_epoch.conf_ver,
        "version": region.region_epoch.version,
        "peers": [{"id": p.id, "store_id": p.store_id, "role": PeerRole.Name(p.role)} for p in region.peers],
        "first_index": truncated.index + 1 if truncated is not None else None,
        "last_index": raft.last_index if raft is not None else None,
        "term": raft.hard_state.term if raft is not None else None,
        "commit": raft.hard_state.commit if raft is not None else None,
        "applied": apply.applied_index if apply is not None else None,
        "truncated_index": truncated.index if truncated is not None else None,
        "truncated_term": truncated.term if truncated is not None else None,
    }


def print_regions(
    rows: list[dict[str, Any]], regions: list[Region], title: str, as_json: bool, columns: tuple[tuple[str, str, int], ...]
) -> None:
    """print_regions prints rows (region_row's, of regions) as JSON, or as a table under title."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(title)
    width = max([len("region"), *(len(str(row["id"])) for row in rows)])
    print(f"{'region':>{width}} " + " ".join(f"{head:>{w}}" for head, _, w in columns) + "  range  peers")
    for region, row in zip(regions, rows):
        cells = " ".join(f"{'-' if row[name] is None else row[name]:>{w}}" for _, name, w in columns)
        print(f"{row['id']:>{width}} {cells}  {format_range(region)}  {format_peers(region)}")


def _regions(engines: Engines, args: argparse.Namespace) -> None:
    states = _states(engines, args.region)
    rows = [
        region_row(s.region, s.state, _raft_state(engines, s.region.id), _apply_state(engines, s.region.id))
        for s in states
    ]
    title = f"{plural(len(rows), 'region')} under {engines.path}"
    print_regions(rows, [s.region for s in states], title, args.json, REGIONS_COLUMNS)


# _STATE_READERS: the per-region state subcommands -> (what, where it is kept, reader: None when missing).
_STATE_READERS: dict[str, tuple[str, str, Callable[[Engines, int], PbMessage | None]]] = {
    "raft-state": ("raft state", "raft engine", _raft_state),
    "apply-state": ("apply state", "KV engine CF raft", _apply_state),
    "region-state": ("region state", "KV engine CF raft", _region_state),
}


def _state(engines: Engines, args: argparse.Namespace) -> None:
    what, where, read = _STATE_READERS[args.ctl_command]
    state = read(engines, args.region)
    if state is None:
        raise _missing(engines, args.region, what)
    print_message(state, args.json, f"region {args.region}, {where}")


def _entries(engines: Engines, region_id: int, low: int, high: int | None, limit: int | None) -> Iterator[Entry]:
    """_entries are the region's log entries low <= index <= high (high None: to the end) as the raft engine
    holds them, at most limit of them; a key that does not hold its entry is RegionCorruptionError."""
    end = None if high is None or high >= keys.U64_MAX else high + 1
    start, stop = keys.raft_log_range(region_id, low, end)
    for key, raw in engines.raft.scan(CF_DEFAULT, start, stop, limit=limit):
        index = keys.raft_log_index(key)
        entry = _decode(Entry, raw, region_id, f"log entry {index}")
        if entry.index != index:
            raise RegionCorruptionError(region_id, f"log key {index} holds entry {entry.index}")
        yield entry


def _log(engines: Engines, args: argparse.Namespace) -> None:
    state = _region_state(engines, args.region)
    raft, apply = _raft_state(engines, args.region), _apply_state(engines, args.region)
    first = apply.truncated_state.index + 1 if apply is not None else "-"
    last = raft.last_index if raft is not None else "-"
    print(f"region {args.region} ({PeerState.Name(state.state)}): first index {first}, last index {last}")
    print(f"{'index':>10} {'term':>6} {'type':<18} {'size':>8}  command")
    shown = 0
    for entry in _entries(engines, args.region, args.low or 0, args.high, args.limit):
        print(
            f"{entry.index:>10} {entry.term:>6} {EntryType.Name(entry.entry_type):<18} {len(entry.data):>8}  "
            f"{describe_entry(entry)}"
        )
        shown += 1
    print(plural(shown, "entry", "entries"))


def describe_entry(entry: Entry) -> str:
    """describe_entry is a short account of what an entry does: its RaftCmdRequest's requests and keys, or
    its conf change and the ChangePeer command in the context; undecodable data says so."""
    try:
        if entry.entry_type == EntryType.EntryNormal:
            if not entry.data:
                return "(empty: a new leader's no-op)"
            return describe_cmd(RaftCmdRequest.FromString(entry.data))
        cc_cls: type[ConfChange | ConfChangeV2] = (
            ConfChange if entry.entry_type == EntryType.EntryConfChange else ConfChangeV2
        )
        cc = cc_cls.FromString(entry.data)
        return describe_cmd(RaftCmdRequest.FromString(cc.context)) if cc.context else "conf change without a command"
    except DecodeError:
        return f"undecodable data ({len(entry.data)} bytes)"


def describe_cmd(cmd: RaftCmdRequest) -> str:
    """describe_cmd names an admin command and its arguments, or up to SUMMARY_REQUESTS requests and their keys."""
    if cmd.HasField("admin_request"):
        return "admin " + _describe_admin(cmd.admin_request)
    parts = [_describe_request(req) for req in cmd.requests[:SUMMARY_REQUESTS]]
    more = len(cmd.requests) - SUMMARY_REQUESTS
    if more > 0:
        parts.append(f"+{more} more")
    return ", ".join(parts) or "no requests"


def _describe_request(req: Request) -> str:
    kind = req.cmd_type
    name = CmdType.Name(kind) if kind in CmdType.values() else f"CmdType({kind})"
    keyed = {
        CmdType.Put: (req.put.cf, req.put.key),
        CmdType.Delete: (req.delete.cf, req.delete.key),
        CmdType.Get: (req.get.cf, req.get.key),
        CmdType.CompareAndSwap: (req.cas.cf, req.cas.key),
    }
    if kind in keyed:
        cf, key = keyed[kind]
        return f"{name}{'' if cf in ('', CF_DEFAULT) else f'[{cf}]'} {_quoted(key)}"
    if kind == CmdType.DeleteRange:
        dr = req.delete_range
        return f"{name} [{_quoted(dr.start_key)}, {_quoted(dr.end_key)})"
    return name


def _describe_admin(admin: AdminRequest) -> str:
    kind = admin.cmd_type
    name = AdminCmdType.Name(kind) if kind in AdminCmdType.values() else f"AdminCmdType({kind})"
    if kind == AdminCmdType.ChangePeer:
        changes = [admin.change_peer]
    elif kind == AdminCmdType.ChangePeerV2:
        changes = list(admin.change_peer_v2.changes)
    elif kind == AdminCmdType.BatchSplit:
        return f"{name} at " + ", ".join(
            f"{_quoted(r.split_key)} (new region {r.new_region_id})" for r in admin.splits.requests
        )
    elif kind == AdminCmdType.CompactLog:
        return f"{name} to index {admin.compact_log.compact_index} (term {admin.compact_log.compact_term})"
    elif kind == AdminCmdType.TransferLeader:
        return f"{name} to {admin.transfer_leader.peer.id}@{admin.transfer_leader.peer.store_id}"
    else:
        return name
    described = ", ".join(
        f"{ConfChangeType.Name(c.change_type)} {c.peer.id}@{c.peer.store_id}" for c in changes
    )
    return f"{name} {described or '(leave joint)'}"


def _store(engines: Engines, args: argparse.Namespace) -> None:
    ident = load_store_ident(engines)
    if ident is None:
        print("null" if args.json else f"no store identity under {engines.path} (not bootstrapped as a store)")
        return
    print_message(ident, args.json, f"store identity under {engines.path}")


def _snapshots(engines: Engines, args: argparse.Namespace) -> None:
    directory = os.path.join(str(engines.path), SNAP_DIR)
    if not os.path.isdir(directory):
        print(f"0 snapshots: {directory} does not exist")
        return
    snaps = SnapManager(directory).list_snapshots()
    print(f"{plural(len(snaps), 'snapshot')} under {directory}")
    failed = [key for key, built in snaps if not _print_snapshot(SnapFiles(directory, key, built), args.verify)]
    listed = {name for key, built in snaps for name in SnapFiles(directory, key, built).names()}
    others = sorted(set(os.listdir(directory)) - listed)
    if others:
        print("other files (temporary, or of a snapshot without a meta): " + ", ".join(others))
    if failed:
        raise CtlError(f"{len(failed)} of {len(snaps)} snapshots failed verification: " + ", ".join(map(str, failed)))


def _print_snapshot(files: SnapFiles, verify: bool) -> bool:
    """_print_snapshot prints one snapshot and its files; with verify, checks them. Returns False when the
    snapshot failed verification (a meta that does not load fails it)."""
    key: SnapKey = files.key
    kind = "built" if files.sending else "received"
    head = f"{files.prefix}: region {key.region_id}, term {key.term}, index {key.index}, {kind}"
    try:
        meta = files.verify() if verify else files.load_meta()
    except SnapError as err:
        print(f"{head}: {'FAILED' if verify else 'unreadable'}: {err}")
        return not verify
    infos = files.files(meta)
    total = sum(f.size for f in infos)
    print(f"{head}, {plural(len(infos), 'file')}, {total} bytes" + (", verified" if verify else ""))
    for f in infos:
        present = "" if os.path.exists(files.path(f.name)) else "  MISSING"
        print(f"  {f.name}  {f.cf}  {f.size} bytes  crc32 {f.checksum:#010x}{present}")
    return True


def _scan(engines: Engines, args: argparse.Namespace) -> None:
    state = _region_state(engines, args.region)
    if state.state == PeerState.Tombstone:
        raise CtlError(f"region {args.region} is a tombstone: its data range was deleted")
    if not state.region.peers:
        raise CtlError(f"region {args.region} is uninitialized: it has no range and holds no data")
    start, end = keys.enc_start_key(state.region), keys.enc_end_key(state.region)
    for key, value in engines.kv.scan(args.cf, start, end, limit=args.limit):
        print(f"{printable(keys.origin_key(key))}\t{printable(value)}")


_RUNNERS: dict[str, Callable[[Engines, argparse.Namespace], None]] = {
    "regions": _regions,
    "raft-state": _state,
    "apply-state": _state,
    "region-state": _state,
    "log": _log,
    "store": _store,
    "snapshots": _snapshots,
    "scan": _scan,
}


def region_digest(engines: Engines, region: Region) -> tuple[int, str]:
    """region_digest is a replica's applied index and the SHA-256 of its data in the region's range (every
    data CF in order, each pair framed by its CF and lengths): replicas of one region at one applied index
    must have the same digest. Read-only."""
    applied = PeerStorage(engines, region, INVALID_ID).applied_index()  # the peer id only tags log lines
    digest = hashlib.sha256()
    start, end = keys.enc_start_key(region), keys.enc_end_key(region)
    for cf in DATA_CFS:
        for key, value in engines.kv.scan(cf, start, end):
            digest.update(b"%s:%d:%d:" % (cf.encode(), len(key), len(value)) + key + value)
    return applied, digest.hexdigest()
