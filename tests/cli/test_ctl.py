"""`raftstore ctl --data DIR ...`: read-only (nothing under DIR changes, byte for byte), every subcommand on data
built by the library (a 4-store Cluster on RocksDB with a split, a learner and snapshots; hand-made regions,
states and logs), and the CLI's error rules (one line on stderr; exit 1 at run time, 2 for usage and for what
is not a data directory)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import json_format, text_format

from raftstore import ctl
from raftstore.engine import CF_RAFT, keys, open_engines
from raftstore.engine.base import CF_DEFAULT
from raftstore.proto.eraftpb_pb2 import ConfChangeType, ConfChangeV2, Entry, EntryType
from raftstore.proto.metapb_pb2 import Peer, PeerRole
from raftstore.proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    AdminRequest,
    CmdType,
    RaftCmdRequest,
    Request,
)
from raftstore.proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RegionLocalState,
)
from raftstore.server.server import SNAP_DIR
from raftstore.store import (
    PeerStorage,
    WriteTask,
    write_initial_states,
    write_peer_state,
    write_tasks,
)
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

from ..helpers import remount, tmpfs, tree
from ..store.helpers import (
    GARBAGE,
    append_ents,
    new_peer,
    new_region,
    uninitialized_region,
)
from .helpers import NOT_DATA_DIRS, failure_line, make_data, run_cli

# COMPACT: the leader compacts region 1's log past a stopped follower, which then catches up by snapshot.
COMPACT = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5, raft_log_gc_count_limit=20)
SPLIT_KEY = b"m"
LEARNER = Peer(id=1000, store_id=4, role=PeerRole.Learner)


@dataclass(frozen=True)
class ClusterData:
    """ClusterData: the data directories a stopped Cluster left (store-1 .. store-4 under path)."""

    path: Path
    right_id: int  # the region split off at SPLIT_KEY (its learner is on store 4)
    sender: int  # the store that built region 1's snapshot
    receiver: int  # the store that received it

    def store(self, sid: int) -> Path:
        return self.path / f"store-{sid}"


@pytest.fixture(scope="module")
def cluster_data(tmp_path_factory: pytest.TempPathFactory) -> ClusterData:
    """cluster_data: stores 1-3 host region 1 [-inf, m) (log compacted past a follower, which got a snapshot)
    and the region split off at m, with a learner added on store 4 (caught up by snapshot)."""
    path = tmp_path_factory.mktemp("ctl") / "cluster"
    with Cluster(4, path=path, config=COMPACT, initial_stores=[1, 2, 3]) as cluster:
        cluster.start()
        _, right = cluster.must_split(SPLIT_KEY)
        cluster.must_put(b"n1", b"x\x00y\tz")
        sender = cluster.wait_leader(1).store_id
        receiver = next(s for s in (1, 2, 3) if s != sender)
        cluster.stop_store(receiver)
        for i in range(40):
            cluster.must_put(b"b%02d" % i, b"w%d" % i)
        cluster.run_steps(20)
        cluster.start_store(receiver)
        cluster.must_get_on_store(receiver, b"b39", b"w39")
        cluster.must_add_learner(right.id, LEARNER)
        cluster.must_get_on_store(4, b"n1", b"x\x00y\tz")
        cluster.run_steps(5)
    return ClusterData(path, right.id, sender, receiver)


def ctl_ok(data: Path, *args: str) -> str:
    """ctl_ok runs `raftstore ctl --data data args...`, asserts it succeeded quietly, returns its stdout."""
    proc = run_cli("ctl", "--data", str(data), *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout


def ctl_fails(data: Path, code: int, *args: str) -> str:
    """ctl_fails runs ctl, asserts it failed with code and one line on stderr, and returns that line."""
    return failure_line(run_cli("ctl", "--data", str(data), *args), code)


# -- read-only ---------------------------------------------------------------------------------------

EVERY_SUBCOMMAND = [
    ["regions"],
    ["raft-state", "--region", "1"],
    ["apply-state", "--region", "1", "--json"],
    ["region-state", "--region", "1"],
    ["log", "--region", "1"],
    ["store"],
    ["snapshots", "--verify"],
    ["scan", "--region", "1"],
]


@pytest.mark.parametrize("args", EVERY_SUBCOMMAND, ids=" ".join)
def test_ctl_changes_nothing(cluster_data: ClusterData, args: list[str]) -> None:
    """Every subcommand leaves every file and directory of the data directory as it was, byte for byte."""
    data = cluster_data.store(cluster_data.sender)
    before = tree(data)
    ctl_ok(data, *args)
    assert tree(data) == before


def test_ctl_reads_a_read_only_data_directory(tmp_path: Path) -> None:
    """A data directory on a read-only file system can be inspected."""
    with tmpfs(tmp_path / "ro", "64m") as mount:
        data = make_data(mount / "data", regions=2)
        remount(mount, "ro")
        out = ctl_ok(data, "regions")
    assert out.startswith(f"2 regions under {data}\n")


@pytest.mark.parametrize("kind", NOT_DATA_DIRS)
def test_ctl_refuses_what_is_not_a_data_directory(tmp_path: Path, kind: str) -> None:
    """ctl says the path is not a data directory (naming it), exits 2, and creates or changes nothing."""
    data = tmp_path / "data"
    NOT_DATA_DIRS[kind](data)
    before = tree(data)
    assert str(data) in ctl_fails(data, 2, "regions")
    assert tree(data) == before


# -- regions -----------------------------------------------------------------------------------------


def test_regions_prints_every_region_as_persisted(tmp_path: Path) -> None:
    """regions: every state (Normal, Applying, Tombstone, uninitialized), epoch, indexes, range and peers."""
    data = tmp_path / "data"
    with open_engines(data) as engines:
        write_initial_states(engines, new_region(1, [new_peer(11, 1)], end_key=b"k\x00"))
        learner = new_peer(22, 3, PeerRole.Learner)
        write_initial_states(engines, new_region(2, [new_peer(21, 2), learner], conf_ver=3, version=2, start_key=b"k\x00"))
        task = WriteTask(3, 0, 0)
        write_peer_state(task, uninitialized_region(3), PeerState.Normal)
        applying = new_region(5, [new_peer(51, 1)], start_key=b'a"b')
        write_peer_state(task, applying, PeerState.Applying)
        write_tasks(engines, [task])
        doomed = new_region(4, [new_peer(41, 2)])
        write_initial_states(engines, doomed)
        task = WriteTask(4, 41, 1)
        PeerStorage(engines, doomed, 41).tombstone(task)
        write_tasks(engines, [task])
    lines = ctl_ok(data, "regions").splitlines()
    assert lines[0] == f"5 regions under {data}"
    assert lines[1].split() == ["region", "state", "conf_ver", "version", "first", "last", "term", "commit",
                                "applied", "truncated", "range", "peers"]
    assert [line.split("  ")[-2:] for line in lines[2:]] == [
        ['[-inf, "k\\x00")', "11@1"],
        ['["k\\x00", +inf)', "21@2 22@3(Learner)"],
        ["(uninitialized)", "none"],
        ["[-inf, +inf)", "41@2"],
        ['["a\\"b", +inf)', "51@1"],
    ]
    assert [line.split()[:10] for line in lines[2:]] == [
        ["1", "Normal", "1", "1", "6", "5", "5", "5", "5", "5"],
        ["2", "Normal", "3", "2", "6", "5", "5", "5", "5", "5"],
        ["3", "Normal", "0", "0", "-", "-", "-", "-", "-", "-"],
        ["4", "Tombstone", "1", "1", "-", "-", "-", "-", "-", "-"],
        ["5", "Applying", "1", "1", "-", "-", "-", "-", "-", "-"],
    ]


def test_regions_of_a_cluster_after_split_and_conf_change(cluster_data: ClusterData) -> None:
    """regions --json: the split's two ranges and epochs, the learner's role, the indexes after compaction
    and snapshots; --region picks one region."""
    right = cluster_data.right_id
    rows = json.loads(ctl_ok(cluster_data.store(4), "regions", "--json"))
    assert rows == [{
        "id": right, "state": "Normal", "start_key": SPLIT_KEY.hex(), "end_key": "", "conf_ver": 2, "version": 2,
        "peers": [*({"id": p, "store_id": s, "role": "Voter"} for p, s in _right_voters(cluster_data)),
                  {"id": 1000, "store_id": 4, "role": "Learner"}],
        "first_index": 9, "last_index": 8, "term": 6, "commit": 8, "applied": 8, "truncated_index": 8,
        "truncated_term": 6,
    }]
    rows = json.loads(ctl_ok(cluster_data.store(cluster_data.receiver), "regions", "--json", "--region", "1"))
    assert [(r["id"], r["start_key"], r["end_key"], r["conf_ver"], r["version"]) for r in rows] == [
        (1, "", SPLIT_KEY.hex(), 1, 2)
    ]
    assert rows[0]["truncated_index"] > 20 and rows[0]["applied"] == rows[0]["last_index"]


def _right_voters(cluster_data: ClusterData) -> list[tuple[int, int]]:
    with open_engines(cluster_data.store(1), read_only=True) as engines:
        raw = engines.kv.get(CF_RAFT, keys.region_state_key(cluster_data.right_id))
    assert raw is not None
    return [(p.id, p.store_id) for p in RegionLocalState.FromString(raw).region.peers if p.store_id != 4]


# -- states ------------------------------------------------------------------------------------------

# STATES: subcommand -> (message class, engine, CF, key of region 1).
STATES = {
    "raft-state": (RaftLocalState, "raft", CF_DEFAULT, keys.raft_state_key(1)),
    "apply-state": (RaftApplyState, "kv", CF_RAFT, keys.apply_state_key(1)),
    "region-state": (RegionLocalState, "kv", CF_RAFT, keys.region_state_key(1)),
}


@pytest.mark.parametrize("command", STATES)
def test_state_in_text_and_json_is_what_is_persisted(cluster_data: ClusterData, command: str) -> None:
    """raft-state / apply-state / region-state print the persisted message: protobuf text (after a comment
    line) and --json both parse back to it."""
    cls, engine, cf, key = STATES[command]
    data = cluster_data.store(cluster_data.receiver)
    with open_engines(data, read_only=True) as engines:
        raw = (engines.kv if engine == "kv" else engines.raft).get(cf, key)
    assert raw is not None
    persisted = cls.FromString(raw)
    text = ctl_ok(data, command, "--region", "1")
    assert text.startswith(f"# region 1, {'raft engine' if engine == 'raft' else 'KV engine CF raft'}: {cls.__name__}")
    assert text_format.Parse(text, cls()) == persisted
    as_json = ctl_ok(data, command, "--region", "1", "--json")
    assert json_format.Parse(as_json, cls()) == persisted


def test_states_that_are_missing_or_damaged_are_one_line(tmp_path: Path) -> None:
    """An unknown region, a tombstone's cleared states and a damaged state: one line each, exit 1."""
    data = tmp_path / "data"
    with open_engines(data) as engines:
        write_initial_states(engines, new_region(1, [new_peer(11, 1)]))
        doomed = new_region(2, [new_peer(21, 1)])
        write_initial_states(engines, doomed)
        task = WriteTask(2, 21, 1)
        PeerStorage(engines, doomed, 21).tombstone(task)
        write_tasks(engines, [task])
        engines.kv.put(CF_RAFT, keys.apply_state_key(1), GARBAGE)
    cases = [
        (["raft-state", "--region", "7"], f"raftstore: region 7 not found under {data} (it has no region state)"),
        (["raft-state", "--region", "2"],
         "raftstore: region 2 has no raft state (it is a tombstone: its log and states were cleared)"),
        (["apply-state", "--region", "2"],
         "raftstore: region 2 has no apply state (it is a tombstone: its log and states were cleared)"),
        (["scan", "--region", "2"], "raftstore: region 2 is a tombstone: its data range was deleted"),
    ]
    for args, line in cases:
        assert ctl_fails(data, 1, *args) == line, args
    line = ctl_fails(data, 1, "apply-state", "--region", "1")
    assert line.startswith("raftstore: [region 1] invalid persisted state: apply state is not a valid RaftApplyState")


# -- log ---------------------------------------------------------------------------------------------


def _cmd(*requests: Request, admin: AdminRequest | None = None) -> bytes:
    cmd = RaftCmdRequest(requests=requests)
    if admin is not None:
        cmd.admin_request.CopyFrom(admin)
    return cmd.SerializeToString()


def _put(key: bytes, cf: str = "") -> Request:
    req = Request(cmd_type=CmdType.Put)
    req.put.cf, req.put.key, req.put.value = cf, key, b"value"
    return req


def _split_admin() -> AdminRequest:
    admin = AdminRequest(cmd_type=AdminCmdType.BatchSplit)
    admin.splits.requests.add(split_key=b"k\xff", new_region_id=9)
    return admin


def _joint_change() -> bytes:
    admin = AdminRequest(cmd_type=AdminCmdType.ChangePeerV2)
    admin.change_peer_v2.changes.add(change_type=ConfChangeType.AddNode, peer=Peer(id=12, store_id=2))
    admin.change_peer_v2.changes.add(change_type=ConfChangeType.AddLearnerNode, peer=Peer(id=13, store_id=3))
    return ConfChangeV2(context=_cmd(admin=admin)).SerializeToString()


def _delete_range() -> Request:
    req = Request(cmd_type=CmdType.DeleteRange)
    req.delete_range.start_key, req.delete_range.end_key = b"a", b"b"
    return req


# LOG: (entry type, data) of the entries 6.. of the hand-made log, and the command column ctl prints for each.
LOG = [
    (EntryType.EntryNormal, b"", "(empty: a new leader's no-op)"),
    (EntryType.EntryNormal, _cmd(_put(b"k1"), _put(b"k2", "lock")), 'Put "k1", Put[lock] "k2"'),
    (EntryType.EntryNormal, _cmd(*(_put(b"x%d" % i) for i in range(5))), 'Put "x0", Put "x1", Put "x2", +2 more'),
    (EntryType.EntryNormal, _cmd(_delete_range(), Request(cmd_type=CmdType.Snap)), 'DeleteRange ["a", "b"), Snap'),
    (EntryType.EntryNormal, _cmd(admin=_split_admin()), 'admin BatchSplit at "k\\xff" (new region 9)'),
    (EntryType.EntryConfChangeV2, _joint_change(), "admin ChangePeerV2 AddNode 12@2, AddLearnerNode 13@3"),
    (EntryType.EntryNormal, GARBAGE, "undecodable data (3 bytes)"),
]


@pytest.fixture
def log_data(tmp_path: Path) -> Iterator[Path]:
    """log_data: region 1 with the entries of LOG at indexes 6.. (term 6)."""
    data = tmp_path / "data"
    with open_engines(data) as engines:
        region = new_region(1, [new_peer(11, 1)])
        write_initial_states(engines, region)
        entries = [Entry(index=6 + i, term=6, entry_type=kind, data=raw) for i, (kind, raw, _) in enumerate(LOG)]
        append_ents(PeerStorage(engines, region, 11), entries)
    yield data


def test_log_dumps_entries_with_their_commands(log_data: Path) -> None:
    """log: index, term, type, data size and what each entry's command does, undecodable data included."""
    lines = ctl_ok(log_data, "log", "--region", "1").splitlines()
    assert lines[0] == "region 1 (Normal): first index 6, last index 12"
    assert lines[1].split() == ["index", "term", "type", "size", "command"]
    rows = [line.split(None, 4) for line in lines[2:-1]]
    assert [(int(i), int(t), kind, int(size), what) for i, t, kind, size, what in rows] == [
        (6 + n, 6, EntryType.Name(kind), len(raw), what) for n, (kind, raw, what) in enumerate(LOG)
    ]
    assert lines[-1] == "7 entries"


@pytest.mark.parametrize(
    ("args", "indexes"),
    [
        ([], [6, 7, 8, 9, 10, 11, 12]),
        (["--from", "8", "--to", "9"], [8, 9]),
        (["--from", "9", "--limit", "2"], [9, 10]),
        (["--from", "13"], []),
        (["--to", str(2**64 - 1), "--limit", "1"], [6]),
    ],
)
def test_log_range_and_limit(log_data: Path, args: list[str], indexes: list[int]) -> None:
    """--from and --to bound the indexes (both included), --limit the number of entries."""
    lines = ctl_ok(log_data, "log", "--region", "1", *args).splitlines()
    assert [int(line.split()[0]) for line in lines[2:-1]] == indexes


def test_log_of_a_cluster_region(cluster_data: ClusterData) -> None:
    """The split-off region's log: the new leader's no-op, a put, the learner's conf change."""
    lines = ctl_ok(cluster_data.store(1), "log", "--region", str(cluster_data.right_id)).splitlines()
    assert [line.split(None, 4)[2:] for line in lines[2:-1]] == [
        ["EntryNormal", "0", "(empty: a new leader's no-op)"],
        ["EntryNormal", lines[3].split()[3], 'Put "n1"'],
        ["EntryConfChange", lines[4].split()[3], "admin ChangePeer AddLearnerNode 1000@4"],
    ]


# -- store, snapshots, scan --------------------------------------------------------------------------


def test_store_identity(cluster_data: ClusterData, tmp_path: Path) -> None:
    """store: the StoreIdent as text and JSON; a directory without one says so (JSON null)."""
    data = cluster_data.store(2)
    assert ctl_ok(data, "store").splitlines()[1:] == ["cluster_id: 1", "store_id: 2"]
    assert json.loads(ctl_ok(data, "store", "--json")) == {"cluster_id": "1", "store_id": "2"}
    demo = make_data(tmp_path / "demo")
    assert ctl_ok(demo, "store") == f"no store identity under {demo} (not bootstrapped as a store)\n"
    assert json.loads(ctl_ok(demo, "store", "--json")) is None


def _snapshot_names(cluster_data: ClusterData, sid: int) -> list[str]:
    return sorted(p.name for p in (cluster_data.store(sid) / SNAP_DIR).iterdir())


def test_snapshots_lists_and_verifies_files(cluster_data: ClusterData) -> None:
    """snapshots: each snapshot's name, region, term, index, kind and files (meta size and CRC32);
    --verify checks them."""
    for sid, prefix, kind in ((cluster_data.sender, "gen", "built"), (cluster_data.receiver, "rev", "received")):
        names = [n for n in _snapshot_names(cluster_data, sid) if n.startswith(f"{prefix}_1_")]
        assert len(names) == 2, names  # the meta and the default CF's SST file
        meta, sst = sorted(names, key=lambda n: not n.endswith(".meta"))
        _, region, term, index = meta.removesuffix(".meta").split("_")
        assert region == "1"
        out = ctl_ok(cluster_data.store(sid), "snapshots", "--verify")
        head = f"{meta.removesuffix('.meta')}: region 1, term {term}, index {index}, {kind}, 1 file, "
        assert head in out and ", verified" in out
        size = (cluster_data.store(sid) / SNAP_DIR / sst).stat().st_size
        assert f"  {sst}  default  {size} bytes  crc32 0x" in out


def test_snapshots_verify_fails_on_a_damaged_file(cluster_data: ClusterData, tmp_path: Path) -> None:
    """A flipped byte in an SST file: --verify prints FAILED for that snapshot and exits 1 with one line;
    without --verify the listing succeeds. A leftover file is listed apart."""
    data = tmp_path / "store"
    shutil.copytree(cluster_data.store(cluster_data.receiver), data)
    sst = next(p for p in (data / SNAP_DIR).iterdir() if p.name.endswith(".sst"))
    raw = bytearray(sst.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    sst.write_bytes(bytes(raw))
    (data / SNAP_DIR / "rev_1_9_99_default.sst.tmp").write_bytes(b"partial")
    proc = run_cli("ctl", "--data", str(data), "snapshots", "--verify")
    line = failure_line(proc, 1)
    assert line.startswith("raftstore: 1 of 1 snapshots failed verification: 1_")
    assert f": FAILED: snapshot {sst.name.removesuffix('_default.sst')}: {sst.name} has CRC32" in proc.stdout
    out = ctl_ok(data, "snapshots")
    assert "other files (temporary, or of a snapshot without a meta): rev_1_9_99_default.sst.tmp" in out


def test_snapshots_without_a_snapshot_directory(tmp_path: Path) -> None:
    data = make_data(tmp_path / "data")
    assert ctl_ok(data, "snapshots") == f"0 snapshots: {data / SNAP_DIR} does not exist\n"


def test_scan_prints_a_regions_user_data(cluster_data: ClusterData) -> None:
    """scan: KEY<TAB>VALUE of the region's range only, escaped, in key order; --limit; --cf."""
    right = str(cluster_data.right_id)
    assert ctl_ok(cluster_data.store(4), "scan", "--region", right) == "n1\tx\\x00y\\x09z\n"
    assert ctl_ok(cluster_data.store(1), "scan", "--region", "1", "--limit", "3") == "b00\tw0\nb01\tw1\nb02\tw2\n"
    assert len(ctl_ok(cluster_data.store(1), "scan", "--region", "1").splitlines()) == 40
    assert ctl_ok(cluster_data.store(1), "scan", "--region", right, "--cf", "lock") == ""


def test_scan_of_an_uninitialized_region_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with open_engines(data) as engines:
        task = WriteTask(3, 0, 0)
        write_peer_state(task, uninitialized_region(3), PeerState.Normal)
        write_tasks(engines, [task])
    assert ctl_fails(data, 1, "scan", "--region", "3") == (
        "raftstore: region 3 is uninitialized: it has no range and holds no data"
    )


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--addr", "127.0.0.1:1", "log", "--region", "1"],
         "raftstore: ctl log reads a data directory: run it with --data DIR (offline)"),
        (["--addr", "127.0.0.1:1", "snapshots"],
         "raftstore: ctl snapshots reads a data directory: run it with --data DIR (offline)"),
        (["--data", "d", "split", "--key", "m"],
         "raftstore: ctl split needs a running store: run it with --addr HOST:PORT (online)"),
        (["--data", "d", "consistency-check"],
         "raftstore: ctl consistency-check needs a running store: run it with --addr HOST:PORT (online)"),
    ],
)
def test_offline_and_online_only_subcommands(tmp_path: Path, args: list[str], line: str) -> None:
    """An offline-only subcommand with --addr, or an online-only one with --data: one line, exit 2, nothing
    created (and no store contacted)."""
    proc = run_cli("ctl", *args, cwd=tmp_path)
    assert failure_line(proc, 2) == line
    assert list(tmp_path.iterdir()) == []


def test_online_ctl_without_a_store_is_one_line(tmp_path: Path) -> None:
    """ctl --addr of an address nobody serves: one line naming it, exit 1, no gRPC error text."""
    proc = run_cli("ctl", "--addr", "127.0.0.1:1", "--timeout", "2", "status", cwd=tmp_path)
    assert failure_line(proc, 1).startswith("raftstore: cannot reach the store at 127.0.0.1:1")


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["ctl", "regions"], "one of the arguments --data --addr is required"),
        (["ctl", "--data", "d", "--addr", "h:1", "regions"], "argument --addr: not allowed with argument --data"),
        (["ctl", "--data", "d", "raft-state"], "the following arguments are required: --region"),
        (["ctl", "--data", "d", "log", "--region", "0"], "argument --region: must be from 1 to 2**64-1, got 0"),
        (["ctl", "--data", "d", "scan", "--region", "1", "--cf", "raft"], "argument --cf: invalid choice: 'raft'"),
    ],
)
def test_invalid_arguments_exit_2(tmp_path: Path, args: list[str], complaint: str) -> None:
    """Invalid arguments: argparse's usage and one line naming the argument, exit 2, nothing created."""
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: raftstore ctl") and complaint in proc.stderr.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("verbose", [["-v", "ctl", "--data"], ["ctl", "-v", "--data"]])
def test_verbose_adds_the_traceback(log_data: Path, verbose: list[str]) -> None:
    """-v (before ctl or after it) prints the traceback, then the same one line last, exit 1."""
    proc = run_cli(*verbose, str(log_data), "raft-state", "--region", "7")
    assert proc.returncode == 1 and proc.stderr.startswith("Traceback")
    assert proc.stderr.splitlines()[-1] == f"raftstore: region 7 not found under {log_data} (it has no region state)"


def test_help_lists_every_subcommand() -> None:
    proc = run_cli("ctl", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for word in ["--data", "--addr", "read-only", "online", *ctl._RUNNERS, *ctl.ONLINE_ONLY, "exit status"]:
        assert word in text, word


@pytest.mark.parametrize(
    ("key", "shown"),
    [(b"", ""), (b"abc", "abc"), (b'a"b', 'a\\"b'), (b"a\\b", "a\\\\b"), (b"\x00\x1f\x7f\xff", "\\x00\\x1f\\x7f\\xff"),
     ("é".encode(), "\\xc3\\xa9"), (b" ~", " ~")],
)
def test_printable_keys(key: bytes, shown: str) -> None:
    assert ctl.printable(key) == shown


def test_snap_dir_is_the_servers() -> None:
    """ctl looks for snapshots where a store keeps them."""
    assert ctl.SNAP_DIR == SNAP_DIR
