"""Conformance of the public names fixed by the design's API.md (raft-rs / TiKV names and behaviour).

One table-driven check per name: it exists where API.md puts it, has the documented signature and
defaults, and a short example behaves as raft-rs / TiKV do.
"""

from __future__ import annotations

import enum
import inspect
import random
from typing import Any, Callable

import pytest

import raftstore.raft as raft_pkg
from raftstore.raft import errors as raft_errors

# ---------------------------------------------------------------------------------------- helpers


def _params(obj: Any) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(obj).parameters)


def _positional(obj: Any) -> list[str]:
    """_positional: the leading parameter names (self / cls dropped)."""
    names = [
        n
        for n, p in _params(obj).items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return names[1:] if names and names[0] in ("self", "cls") else names


def _check_sig(obj: Any, names: list[str]) -> None:
    got = _positional(obj)
    assert got[: len(names)] == names, f"{obj.__qualname__}: {got} does not start with {names}"
    for extra in got[len(names) :]:
        p = _params(obj)[extra]
        assert p.default is not p.empty, f"{obj.__qualname__}: extra parameter {extra} has no default"


def _check_method(meth: Any, args: list[str] | None, positional_ok: Callable[[int], bool]) -> None:
    """_check_method: meth is callable, with API.md's parameters `args`; when API.md gives none, the
    count of its positional parameters (self included) must satisfy positional_ok."""
    assert callable(meth)
    if args is not None:
        _check_sig(meth, args)
    else:
        assert positional_ok(len(_positional(meth)))


def _ents(*pairs: tuple[int, int]) -> list[Any]:
    return [raft_pkg.Entry(index=i, term=t) for i, t in pairs]


def _cs(*voters: int) -> Any:
    return raft_pkg.ConfState(voters=list(voters))


def _raw_node(id: int = 1, voters: tuple[int, ...] = (1,), **cfg: Any) -> Any:
    from raftstore.raft import Config, MemStorage, RawNode

    return RawNode(Config(id, **cfg), MemStorage.new_with_conf_state(_cs(*voters)))


def _raft(id: int = 1, voters: tuple[int, ...] = (1, 2, 3), **cfg: Any) -> Any:
    from raftstore.raft import Config, MemStorage, Raft

    return Raft(Config(id, **cfg), MemStorage.new_with_conf_state(_cs(*voters)))


def _leader_node() -> Any:
    """_leader_node: a single-voter RawNode that is leader with its empty entry applied."""
    node = _raw_node()
    node.campaign()
    while node.has_ready():
        rd = node.ready()
        node.raft.raft_log.store.append(rd.entries)
        if rd.hs is not None:
            node.raft.raft_log.store.set_hardstate(rd.hs)
        node.advance(rd)
    return node


# ---------------------------------------------------------------------------------------- raftstore.raft

MESSAGE_NAMES = [
    "Entry",
    "EntryType",
    "HardState",
    "ConfState",
    "Snapshot",
    "SnapshotMetadata",
    "Message",
    "MessageType",
    "ConfChange",
    "ConfChangeV2",
    "ConfChangeSingle",
    "ConfChangeType",
    "ConfChangeTransition",
]


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_messages_reexported(name: str) -> None:
    from raftstore.proto import eraftpb_pb2

    assert getattr(raft_pkg, name) is getattr(eraftpb_pb2, name)


def test_message_sender_field_is_from_() -> None:
    from raftstore.raft import Message, MessageType

    m = Message(msg_type=MessageType.MsgAppend, to=2, from_=1, term=3)
    assert m.from_ == 1
    assert "from_" in {f.name for f in Message.DESCRIPTOR.fields}
    assert raft_pkg.Entry(entry_type=raft_pkg.EntryType.EntryConfChangeV2).entry_type == 2


ERROR_TREE = [
    ("RaftError", Exception),
    ("StorageError", "RaftError"),
    ("CompactedError", "StorageError"),
    ("UnavailableError", "StorageError"),
    ("LogTemporarilyUnavailableError", "StorageError"),
    ("SnapshotOutOfDateError", "StorageError"),
    ("SnapshotTemporarilyUnavailableError", "StorageError"),
    ("ProposalDroppedError", "RaftError"),
    ("StepLocalMsgError", "RaftError"),
    ("StepPeerNotFoundError", "RaftError"),
    ("ConfigInvalidError", "RaftError"),
    ("ConfChangeError", "RaftError"),
    ("InvariantError", Exception),
]


@pytest.mark.parametrize("name,parent", ERROR_TREE)
def test_error_tree(name: str, parent: Any) -> None:
    cls = getattr(raft_pkg, name)
    assert cls is getattr(raft_errors, name)
    base = parent if isinstance(parent, type) else getattr(raft_pkg, parent)
    assert issubclass(cls, base)
    cls()  # constructible without arguments
    if name != "RaftError":
        assert name == "InvariantError" or issubclass(cls, raft_pkg.RaftError)
    if name != "InvariantError":
        assert not issubclass(cls, raft_pkg.InvariantError)


def test_invariant_error_is_a_separate_root() -> None:
    from raftstore.raft import InvariantError, RaftError, StorageError

    assert not issubclass(InvariantError, RaftError)
    assert not issubclass(InvariantError, StorageError)


def test_constants() -> None:
    from raftstore.raft import INVALID_ID, INVALID_INDEX, NO_LIMIT

    assert NO_LIMIT == 2**64 - 1
    assert INVALID_ID == 0 and INVALID_INDEX == 0


def test_limit_size() -> None:
    from raftstore.raft import Entry, NO_LIMIT, limit_size

    ents = [Entry(index=i, term=1, data=b"x" * 10) for i in range(1, 6)]
    one = ents[0].ByteSize()
    assert len(limit_size(list(ents), 0)) == 1  # the first entry is always kept
    assert len(limit_size(list(ents), NO_LIMIT)) == 5
    assert len(limit_size(list(ents), None)) == 5
    assert len(limit_size(list(ents), one * 2)) == 2
    assert len(limit_size(list(ents), one * 3 - 1)) == 2
    assert len(limit_size(list(ents), one * 5)) == 5
    kept = list(ents)
    assert limit_size(kept, one) is kept and len(kept) == 1  # truncated in place
    assert limit_size([], 0) == []


def test_storage_protocol() -> None:
    from raftstore.raft import MemStorage, Storage

    for name, args in [
        ("initial_state", []),
        ("entries", ["low", "high", "max_size", "context"]),
        ("term", ["idx"]),
        ("first_index", []),
        ("last_index", []),
        ("snapshot", ["request_index", "to"]),
    ]:
        _check_sig(getattr(Storage, name), args)
    assert _params(Storage.entries)["max_size"].default is None
    assert _params(Storage.entries)["context"].default is None
    assert isinstance(MemStorage(), Storage)


def test_raft_state() -> None:
    from raftstore.raft import ConfState, HardState, RaftState

    rs = RaftState(HardState(term=2), ConfState(voters=[1]))
    assert rs.hard_state.term == 2 and list(rs.conf_state.voters) == [1]
    assert rs.initialized()
    assert not RaftState(HardState(), ConfState()).initialized()
    assert RaftState(hard_state=HardState(), conf_state=ConfState(learners=[2])).initialized()


def test_get_entries_context() -> None:
    from raftstore.raft import GetEntriesContext

    assert GetEntriesContext.empty(True).can_async()
    assert not GetEntriesContext.empty(False).can_async()


MEMSTORAGE_METHODS = [
    ("new_with_conf_state", ["cs"]),
    ("initialize_with_conf_state", ["cs"]),
    ("append", ["entries"]),
    ("compact", ["index"]),
    ("apply_snapshot", ["snapshot"]),
    ("commit_to", ["index"]),
    ("set_hardstate", ["hs"]),
    ("set_conf_state", ["cs"]),
    ("trigger_snap_unavailable", []),
    ("trigger_log_unavailable", ["flag"]),
    ("hard_state", []),
    ("initial_state", []),
    ("entries", ["low", "high", "max_size", "context"]),
    ("term", ["idx"]),
    ("first_index", []),
    ("last_index", []),
    ("snapshot", ["request_index", "to"]),
]


@pytest.mark.parametrize("name,args", MEMSTORAGE_METHODS)
def test_memstorage_methods(name: str, args: list[str] | None) -> None:
    from raftstore.raft import MemStorage

    _check_method(getattr(MemStorage, name), args, lambda n: n >= 1)


def test_memstorage_behaviour() -> None:
    from raftstore.raft import (
        CompactedError,
        ConfState,
        HardState,
        InvariantError,
        LogTemporarilyUnavailableError,
        MemStorage,
        Snapshot,
        SnapshotOutOfDateError,
        SnapshotTemporarilyUnavailableError,
        UnavailableError,
        GetEntriesContext,
    )

    s = MemStorage()
    assert (s.first_index(), s.last_index()) == (1, 0)
    assert not s.initial_state().initialized()
    s.initialize_with_conf_state(ConfState(voters=[1, 2]))
    with pytest.raises(InvariantError):
        s.initialize_with_conf_state(ConfState(voters=[1]))
    assert s.initial_state().conf_state == ConfState(voters=[1, 2])
    s2 = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    assert s2.initial_state().initialized()

    s = MemStorage()
    s.append(_ents((1, 1), (2, 1), (3, 2), (4, 2), (5, 3)))
    assert (s.first_index(), s.last_index()) == (1, 5)
    assert [e.index for e in s.entries(2, 4)] == [2, 3]
    assert len(s.entries(1, 6, 0)) == 1
    assert s.term(3) == 2 and s.term(0) == 0
    with pytest.raises(UnavailableError):
        s.term(6)
    with pytest.raises(InvariantError):
        s.entries(1, 7)
    s.commit_to(4)
    assert (s.hard_state().commit, s.hard_state().term) == (4, 2)
    with pytest.raises(InvariantError):
        s.commit_to(9)
    s.compact(3)
    assert s.first_index() == 3
    with pytest.raises(CompactedError):
        s.entries(2, 4)
    with pytest.raises(CompactedError):
        s.term(1)
    with pytest.raises(InvariantError):
        s.compact(10)
    s.append(_ents((5, 4), (6, 4)))  # truncates the conflicting tail
    assert [(e.index, e.term) for e in s.entries(3, 7)] == [(3, 2), (4, 2), (5, 4), (6, 4)]
    with pytest.raises(InvariantError):
        s.append(_ents((1, 1)))  # overwrites compacted entries
    with pytest.raises(InvariantError):
        s.append(_ents((9, 4)))  # a gap

    snap = s.snapshot(0, 0)
    assert (snap.metadata.index, snap.metadata.term) == (4, 2)
    assert s.snapshot(6, 0).metadata.index == 6
    s.trigger_snap_unavailable()
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        s.snapshot(0, 0)
    s.snapshot(0, 0)  # only once

    s.trigger_log_unavailable(True)
    with pytest.raises(LogTemporarilyUnavailableError):
        s.entries(3, 5, None, GetEntriesContext.empty(True))
    assert len(s.entries(3, 5, None, GetEntriesContext.empty(False))) == 2
    s.trigger_log_unavailable(False)

    s.set_hardstate(HardState(term=7, vote=2, commit=4))
    assert s.initial_state().hard_state == HardState(term=7, vote=2, commit=4)
    s.set_conf_state(ConfState(voters=[3]))
    assert s.initial_state().conf_state == ConfState(voters=[3])

    newer = Snapshot()
    newer.metadata.index, newer.metadata.term = 10, 8
    newer.metadata.conf_state.voters.extend([1, 2, 3])
    s.apply_snapshot(newer)
    assert (s.first_index(), s.last_index(), s.term(10)) == (11, 10, 8)
    assert s.hard_state().commit == 10 and s.hard_state().term == 8
    older = Snapshot()
    older.metadata.index, older.metadata.term = 5, 2
    with pytest.raises(SnapshotOutOfDateError):
        s.apply_snapshot(older)


CONFIG_DEFAULTS = {
    "election_tick": 10,
    "heartbeat_tick": 1,
    "applied": 0,
    "max_size_per_msg": 0,
    "max_inflight_msgs": 256,
    "check_quorum": False,
    "pre_vote": False,
    "read_only_option": "SAFE",
    "skip_bcast_commit": False,
    "batch_append": False,
    "priority": 0,
    "max_uncommitted_size": 2**64 - 1,
    "max_committed_size_per_ready": 2**64 - 1,
    "min_election_tick": 0,
    "max_election_tick": 0,
    "disable_proposal_forwarding": False,
}


def test_config_signature_and_defaults() -> None:
    from raftstore.raft import Config, ReadOnlyOption

    params = _params(Config)
    assert list(params) == ["id", *CONFIG_DEFAULTS]
    assert params["id"].default is inspect.Parameter.empty
    for name, default in CONFIG_DEFAULTS.items():
        want = ReadOnlyOption.SAFE if default == "SAFE" else default
        assert params[name].default == want, name
    c = Config(1)
    for name, default in CONFIG_DEFAULTS.items():
        assert getattr(c, name) == (ReadOnlyOption.SAFE if default == "SAFE" else default)
    Config(1).validate()
    Config(id=2, election_tick=5, heartbeat_tick=2).validate()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"id": 0}, "invalid node id"),
        ({"id": 1, "heartbeat_tick": 0}, "heartbeat tick must greater than 0"),
        ({"id": 1, "election_tick": 1, "heartbeat_tick": 1}, "election tick must be greater than heartbeat tick"),
        ({"id": 1, "min_election_tick": 9}, "min election tick 9 must not be less than election_tick 10"),
        ({"id": 1, "min_election_tick": 20}, "min election tick 20 should be less than max election tick 20"),
        ({"id": 1, "max_inflight_msgs": 0}, "max inflight messages must be greater than 0"),
        ({"id": 1, "read_only_option": "LEASE"}, "read_only_option == LeaseBased requires check_quorum == true"),
        ({"id": 1, "max_uncommitted_size": 1, "max_size_per_msg": 2}, "max uncommitted size should greater than max_size_per_msg"),
    ],
)
def test_config_validate(kwargs: dict[str, Any], message: str) -> None:
    from raftstore.raft import Config, ConfigInvalidError, ReadOnlyOption

    if kwargs.get("read_only_option") == "LEASE":
        kwargs["read_only_option"] = ReadOnlyOption.LEASE_BASED
    with pytest.raises(ConfigInvalidError) as ei:
        Config(**kwargs).validate()
    assert str(ei.value) == message
    from raftstore.raft import InvariantError, MemStorage, Raft, RawNode

    with pytest.raises(ConfigInvalidError):
        Raft(Config(**kwargs), MemStorage.new_with_conf_state(_cs(1)))
    # raft-rs's RawNode::new asserts a non-zero id before validating (a panic).
    with pytest.raises(InvariantError if kwargs["id"] == 0 else ConfigInvalidError):
        RawNode(Config(**kwargs), MemStorage.new_with_conf_state(_cs(1)))


@pytest.mark.parametrize(
    "name,members",
    [
        ("StateRole", ["FOLLOWER", "CANDIDATE", "LEADER", "PRE_CANDIDATE"]),
        ("ProgressState", ["PROBE", "REPLICATE", "SNAPSHOT"]),
        ("ReadOnlyOption", ["SAFE", "LEASE_BASED"]),
        ("SnapshotStatus", ["FINISH", "FAILURE"]),
    ],
)
def test_enums(name: str, members: list[str]) -> None:
    cls = getattr(raft_pkg, name)
    assert issubclass(cls, enum.Enum)
    assert [m.name for m in cls] == members


RAFT_ATTRIBUTES = [
    "id",
    "term",
    "vote",
    "state",
    "leader_id",
    "raft_log",
    "prs",
    "msgs",
    "read_states",
    "lead_transferee",
    "pending_conf_index",
    "randomized_election_timeout",
]

RAFT_METHODS = [
    ("step", ["m"]),
    ("tick", []),
    ("become_follower", ["term", "leader_id"]),
    ("become_pre_candidate", []),
    ("become_candidate", []),
    ("become_leader", []),
    ("load_state", ["hs"]),
    ("restore", ["snapshot"]),
    ("apply_conf_change", ["cc"]),
    ("on_persist_entries", ["index", "term"]),
    ("on_persist_snap", ["index"]),
    ("commit_apply", ["applied"]),
    ("set_randomized_election_timeout", ["t"]),
    ("hard_state", []),
    ("soft_state", []),
    ("bcast_append", []),
    ("bcast_heartbeat", []),
    ("append_entry", ["entries"]),
    ("tick_election", []),
    ("election_timeout", []),
    ("heartbeat_timeout", []),
]


@pytest.mark.parametrize("name", RAFT_ATTRIBUTES)
def test_raft_attributes(name: str) -> None:
    r = _raft()
    assert hasattr(r, name)


@pytest.mark.parametrize("name,args", RAFT_METHODS)
def test_raft_methods(name: str, args: list[str] | None) -> None:
    from raftstore.raft import Raft

    _check_method(getattr(Raft, name), args, lambda n: n == 1)


def test_raft_behaviour() -> None:
    from raftstore.raft import (
        INVALID_ID,
        ConfChangeSingle,
        ConfChangeType,
        ConfChangeV2,
        HardState,
        InvariantError,
        Message,
        MessageType,
        ProposalDroppedError,
        Snapshot,
        StateRole,
    )

    r = _raft()
    assert (r.id, r.term, r.vote, r.state, r.leader_id) == (1, 0, INVALID_ID, StateRole.FOLLOWER, INVALID_ID)
    assert r.lead_transferee is None and r.pending_conf_index == 0
    assert isinstance(r.msgs, list) and isinstance(r.read_states, list)
    assert (r.election_timeout(), r.heartbeat_timeout()) == (10, 1)
    assert 10 <= r.randomized_election_timeout < 20
    r.set_randomized_election_timeout(15)
    assert r.randomized_election_timeout == 15
    with pytest.raises(InvariantError):
        r.set_randomized_election_timeout(20)

    # A follower without a leader raises (never returns) ProposalDroppedError.
    with pytest.raises(ProposalDroppedError):
        r.step(Message(msg_type=MessageType.MsgPropose, from_=1, entries=[raft_pkg.Entry(data=b"x")]))

    # Election: tick until MsgHup fires; the candidate asks both peers for votes.
    fired = False
    for _ in range(30):
        fired = r.tick() or fired
        if r.state == StateRole.CANDIDATE:
            break
    assert r.state == StateRole.CANDIDATE and r.term == 1 and r.vote == 1
    assert sorted(m.to for m in r.msgs if m.msg_type == MessageType.MsgRequestVote) == [2, 3]
    r.msgs.clear()
    assert r.prs.votes == {1: True}
    r.step(Message(msg_type=MessageType.MsgRequestVoteResponse, from_=2, to=1, term=1))
    assert r.state == StateRole.LEADER and r.leader_id == 1
    # Winning broadcasts the leader's empty entry (probes, which then pause the peers).
    assert sorted(m.to for m in r.msgs if m.msg_type == MessageType.MsgAppend) == [2, 3]
    assert all(r.prs.get(i).paused for i in (2, 3))
    assert r.hard_state() == HardState(term=1, vote=1, commit=0)
    ss = r.soft_state()
    assert (ss.leader_id, ss.raft_state) == (1, StateRole.LEADER)
    assert r.append_entry([raft_pkg.Entry(data=b"a")]) is True
    assert r.raft_log.last_index() == 2
    r.msgs.clear()
    r.bcast_heartbeat()
    assert sorted(m.to for m in r.msgs if m.msg_type == MessageType.MsgHeartbeat) == [2, 3]
    r.msgs.clear()
    r.bcast_append()  # paused probes send nothing
    assert [m for m in r.msgs if m.msg_type == MessageType.MsgAppend] == []
    r.step(Message(msg_type=MessageType.MsgHeartbeatResponse, from_=2, to=1, term=1))
    assert sorted(m.to for m in r.msgs if m.msg_type == MessageType.MsgAppend) == [2]

    r.become_follower(5, 2)
    assert (r.state, r.term, r.leader_id, r.vote) == (StateRole.FOLLOWER, 5, 2, INVALID_ID)
    assert r.tick_election() is False
    r.become_pre_candidate()
    assert r.state == StateRole.PRE_CANDIDATE and r.term == 5
    r.become_candidate()
    assert r.state == StateRole.CANDIDATE and r.term == 6

    # load_state, restore, apply_conf_change, persistence callbacks.
    f = _raft(2)
    f.load_state(HardState(term=3, vote=1, commit=0))
    assert (f.term, f.vote) == (3, 1)
    snap = Snapshot()
    snap.metadata.index, snap.metadata.term = 11, 3
    snap.metadata.conf_state.voters.extend([1, 2, 3])
    assert f.restore(snap) is True
    assert f.raft_log.committed == 11
    assert f.restore(snap) is False  # not newer than committed
    f.on_persist_snap(11)
    assert f.raft_log.persisted == 11
    f.raft_log.store.apply_snapshot(snap)
    f.raft_log.stable_snap(11)
    cc = ConfChangeV2(changes=[ConfChangeSingle(change_type=ConfChangeType.AddLearnerNode, node_id=4)])
    cs = f.apply_conf_change(cc)
    assert list(cs.voters) == [1, 2, 3] and list(cs.learners) == [4]
    f.commit_apply(11)
    assert f.raft_log.applied == 11

    leader = _raft(1, (1,))
    leader.become_candidate()
    leader.become_leader()
    last = leader.raft_log.last_index()
    leader.raft_log.store.append(leader.raft_log.unstable_entries())
    leader.raft_log.stable_entries(last, leader.term)  # as RawNode.ready does
    leader.on_persist_entries(last, leader.term)
    assert leader.raft_log.persisted == last
    assert leader.raft_log.committed == last


def test_raft_rngs_are_independent() -> None:
    from raftstore.raft import Config, MemStorage, Raft

    def draws(r: Any) -> list[int]:
        out = []
        for _ in range(40):
            r.become_follower(r.term + 1, 0)  # each role change draws a new randomized timeout
            out.append(int(r.randomized_election_timeout))
        return out

    # Two Rafts built without a seed draw independently, even when the global generator is reseeded.
    random.seed(7)
    a = _raft(1)
    random.seed(7)
    b = _raft(1)
    assert draws(a) != draws(b)
    # Drawing does not touch the global generator.
    state = random.getstate()
    draws(a)
    assert random.getstate() == state
    # With an explicit generator the draws are reproducible.
    c = Raft(Config(1), MemStorage.new_with_conf_state(_cs(1)), rng=random.Random(3))
    d = Raft(Config(1), MemStorage.new_with_conf_state(_cs(1)), rng=random.Random(3))
    assert draws(c) == draws(d)
    assert all(10 <= t < 20 for t in draws(c))


def test_invalid_conf_change_proposal_is_dropped() -> None:
    from raftstore.raft import Entry, EntryType, Message, MessageType, ProposalDroppedError

    r = _raft(1, (1,))
    r.become_candidate()
    r.become_leader()
    for et in (EntryType.EntryConfChange, EntryType.EntryConfChangeV2):
        with pytest.raises(ProposalDroppedError):
            r.step(Message(msg_type=MessageType.MsgPropose, from_=1, entries=[Entry(entry_type=et, data=b"\xff\xff")]))


def test_step_raises_never_returns() -> None:
    from raftstore.raft import Message, MessageType, ProposalDroppedError

    r = _raft()
    r.become_candidate()
    with pytest.raises(ProposalDroppedError):
        r.step(Message(msg_type=MessageType.MsgPropose, from_=1, entries=[raft_pkg.Entry(data=b"x")]))
    # A successful step returns None.
    assert r.step(Message(msg_type=MessageType.MsgHeartbeat, from_=2, to=1, term=r.term)) is None


def test_progress_tracker_and_progress() -> None:
    from raftstore.raft import Inflights, Progress, ProgressState, ProgressTracker

    r = _raft(1, (1, 2, 3))
    prs = r.prs
    assert isinstance(prs, ProgressTracker)
    assert isinstance(prs.votes, dict)
    conf = prs.conf()
    assert set(conf.voters.ids()) == {1, 2, 3} and set(conf.learners) == set()
    pr = prs.get(2)
    assert isinstance(pr, Progress)
    assert prs.get(99) is None
    items = list(prs)
    assert sorted(i for i, _ in items) == [1, 2, 3]
    assert all(isinstance(p, Progress) for _, p in items)
    for name in ["matched", "next_idx", "state", "paused", "pending_snapshot", "pending_request_snapshot", "recent_active", "ins"]:
        assert hasattr(pr, name), name
    assert pr.state == ProgressState.PROBE
    assert (pr.matched, pr.next_idx) == (0, 1)
    assert isinstance(pr.ins, Inflights)
    assert pr.ins.full() is False and pr.ins.count() == 0
    r.become_candidate()
    r.become_leader()
    # As in raft-rs, the leader's own progress moves only once its entries are persisted.
    assert r.prs.get(1).matched == 0
    r.raft_log.store.append(r.raft_log.unstable_entries())
    r.raft_log.stable_entries(r.raft_log.last_index(), r.term)
    r.on_persist_entries(r.raft_log.last_index(), r.term)
    assert r.prs.get(1).matched == r.raft_log.last_index()


RAFT_LOG_METHODS = [
    ("first_index", []),
    ("last_index", []),
    ("last_term", []),
    ("term", None),
    ("entries", None),
    ("all_entries", []),
    ("has_next_entries", []),
    ("next_entries", ["max_size"]),
    ("unstable_entries", []),
    ("stable_entries", ["index", "term"]),
    ("stable_snap", ["index"]),
    ("maybe_persist", ["index", "term"]),
    ("maybe_persist_snap", ["index"]),
    ("maybe_append", ["idx", "term", "committed", "entries"]),
    ("find_conflict", ["entries"]),
    ("find_conflict_by_term", ["index", "term"]),
    ("append", ["entries"]),
    ("commit_to", None),
    ("applied_to", None),
    ("maybe_commit", None),
    ("is_up_to_date", None),
    ("slice", ["low", "high", "max_size"]),
    ("restore", ["snapshot"]),
    ("snapshot", ["request_index", "to"]),
]


@pytest.mark.parametrize("name,args", RAFT_LOG_METHODS)
def test_raft_log_methods(name: str, args: list[str] | None) -> None:
    from raftstore.raft import RaftLog

    meth = getattr(RaftLog, name)
    _check_method(meth, args, lambda n: True)
    if name == "next_entries":
        assert _params(meth)["max_size"].default is None


def test_raft_log_behaviour() -> None:
    from raftstore.raft import MemStorage, RaftLog, Snapshot, Unstable

    store = MemStorage()
    store.append(_ents((1, 1), (2, 2), (3, 2)))
    log = RaftLog(store)
    assert log.store is store
    assert (log.committed, log.persisted, log.applied) == (0, 3, 0)
    assert isinstance(log.unstable, Unstable)
    assert (log.unstable.offset, log.unstable.entries, log.unstable.snapshot) == (4, [], None)
    assert (log.first_index(), log.last_index(), log.last_term(), log.term(2)) == (1, 3, 2, 2)
    assert log.term(9) == 0
    assert log.next_entries() is None and log.has_next_entries() is False
    assert log.append(_ents((4, 3), (5, 3))) == 5
    assert [e.index for e in log.unstable_entries()] == [4, 5]
    assert [e.index for e in log.entries(2, None)] == [2, 3, 4, 5]
    assert len(log.entries(2, 0)) == 1
    assert [e.index for e in log.all_entries()] == [1, 2, 3, 4, 5]
    assert [e.index for e in log.slice(2, 5, None)] == [2, 3, 4]
    assert log.find_conflict(_ents((1, 1), (2, 2))) == 0
    assert log.find_conflict(_ents((2, 2), (3, 9))) == 3
    assert log.find_conflict(_ents((5, 3), (6, 3))) == 6
    assert log.find_conflict_by_term(5, 2) == (3, 2)
    assert log.find_conflict_by_term(5, 3) == (5, 3)
    assert log.find_conflict_by_term(9, 3) == (9, None)
    assert log.find_conflict_by_term(5, 0) == (0, 0)
    assert log.is_up_to_date(5, 3) and log.is_up_to_date(1, 4) and not log.is_up_to_date(9, 2)
    assert log.maybe_commit(3, 1) is False  # term mismatch
    assert log.maybe_commit(3, 2) is True and log.committed == 3
    log.commit_to(2)  # never decreases
    assert log.committed == 3
    assert [e.index for e in log.next_entries()] == [1, 2, 3]
    assert len(log.next_entries(0)) == 1
    assert log.has_next_entries()
    log.applied_to(2)
    assert log.applied == 2
    assert log.maybe_append(5, 9, 5, _ents((6, 9))) is None
    assert log.maybe_append(5, 3, 5, _ents((6, 4))) == (6, 6)
    assert log.committed == 5
    assert log.maybe_persist(6, 4) is False  # still unstable
    store.append(log.unstable_entries())
    log.stable_entries(6, 4)
    assert log.unstable.entries == [] and log.unstable.offset == 7
    assert log.maybe_persist(6, 4) is True and log.persisted == 6
    assert log.maybe_persist(6, 4) is False

    snap = Snapshot()
    snap.metadata.index, snap.metadata.term = 10, 5
    log.restore(snap)
    assert log.unstable.snapshot is snap
    assert log.committed == 10 and log.first_index() == 11 and log.last_index() == 10
    assert log.snapshot(10, 2).metadata.index == 10
    assert log.maybe_persist_snap(10) is True and log.persisted == 10
    log.stable_snap(10)
    assert log.unstable.snapshot is None


RAWNODE_METHODS = [
    ("tick", []),
    ("campaign", []),
    ("propose", ["context", "data"]),
    ("propose_conf_change", ["context", "cc"]),
    ("apply_conf_change", ["cc"]),
    ("step", ["m"]),
    ("has_ready", []),
    ("ready", []),
    ("advance", ["rd"]),
    ("advance_append", ["rd"]),
    ("advance_append_async", ["rd"]),
    ("on_persist_ready", ["number"]),
    ("advance_apply", []),
    ("advance_apply_to", ["applied"]),
    ("read_index", ["ctx"]),
    ("transfer_leader", ["transferee"]),
    ("report_unreachable", ["id"]),
    ("report_snapshot", ["id", "status"]),
    ("request_snapshot", []),
    ("on_entries_fetched", ["ctx"]),
    ("status", []),
]


@pytest.mark.parametrize("name,args", RAWNODE_METHODS)
def test_raw_node_methods(name: str, args: list[str] | None) -> None:
    from raftstore.raft import RawNode

    _check_method(getattr(RawNode, name), args, lambda n: n == 1)


def test_raw_node_behaviour() -> None:
    from raftstore.raft import (
        ConfChange,
        ConfChangeType,
        LightReady,
        Message,
        MessageType,
        Ready,
        SnapshotStatus,
        StateRole,
        StepLocalMsgError,
        StepPeerNotFoundError,
    )

    node = _raw_node()
    assert node.raft.id == 1
    with pytest.raises(StepLocalMsgError):
        node.step(Message(msg_type=MessageType.MsgHup))
    with pytest.raises(StepPeerNotFoundError):
        node.step(Message(msg_type=MessageType.MsgAppendResponse, from_=9, to=1))
    node = _leader_node()
    assert node.raft.state == StateRole.LEADER
    assert node.status().ss.raft_state == StateRole.LEADER
    assert node.has_ready() is False
    node.propose(b"", b"data")
    assert node.has_ready()
    rd = node.ready()
    assert isinstance(rd, Ready)
    assert [e.data for e in rd.entries] == [b"data"]
    assert rd.must_sync is True
    assert isinstance(rd.number, int) and rd.number > 0
    assert rd.ss is None and rd.hs is None
    assert rd.snapshot == raft_pkg.Snapshot()
    assert list(rd.read_states) == [] and list(rd.messages) == [] and list(rd.persisted_messages) == []
    # The empty list handed out for the other kind of messages is not shared state.
    rd.persisted_messages.append(raft_pkg.Message())
    assert rd.persisted_messages == []
    assert list(rd.committed_entries) == []
    for prop in ["number", "ss", "hs", "read_states", "entries", "snapshot", "committed_entries", "messages", "persisted_messages", "must_sync"]:
        assert isinstance(inspect.getattr_static(Ready, prop), property), prop
        with pytest.raises(AttributeError):
            setattr(rd, prop, None)
    node.raft.raft_log.store.append(rd.entries)
    light = node.advance(rd)
    assert isinstance(light, LightReady)
    for prop in ["commit_index", "committed_entries", "messages"]:
        assert isinstance(inspect.getattr_static(LightReady, prop), property), prop
    assert light.commit_index == node.raft.raft_log.last_index()
    assert [e.data for e in light.committed_entries] == [b"data"]
    assert list(light.messages) == []
    node.advance_apply()
    assert node.raft.raft_log.applied == node.raft.raft_log.last_index()

    # Async persistence: advance_append_async + on_persist_ready.
    node.propose(b"", b"two")
    rd = node.ready()
    node.raft.raft_log.store.append(rd.entries)
    node.advance_append_async(rd)
    node.on_persist_ready(rd.number)
    rd = node.ready()
    assert [e.data for e in rd.committed_entries] == [b"two"]
    light = node.advance_append(rd)
    assert isinstance(light, LightReady)
    node.advance_apply_to(node.raft.raft_log.committed)

    node.read_index(b"ctx")
    rd = node.ready()
    assert [rs.request_ctx for rs in rd.read_states] == [b"ctx"]
    node.advance(rd)

    cc = ConfChange(change_type=ConfChangeType.AddNode, node_id=2)
    node.propose_conf_change(b"", cc)
    rd = node.ready()
    node.raft.raft_log.store.append(rd.entries)
    node.advance(rd)
    cs = node.apply_conf_change(cc)
    assert list(cs.voters) == [1, 2]
    node.report_unreachable(2)
    node.report_snapshot(2, SnapshotStatus.FAILURE)
    node.transfer_leader(2)
    assert node.raft.lead_transferee == 2
    assert node.tick() in (True, False)

    from raftstore.raft import RequestSnapshotDroppedError

    with pytest.raises(RequestSnapshotDroppedError):
        node.request_snapshot()  # a leader cannot
    f = _raw_node(2, (1, 2))
    f.raft.become_follower(1, 1)
    with pytest.raises(RequestSnapshotDroppedError):
        f.request_snapshot()  # the last entry is not of the current term
    f.raft.raft_log.append(_ents((1, 1)))
    f.request_snapshot()
    assert f.raft.pending_request_snapshot == 1


# ---------------------------------------------------------------------------------------- raftstore.engine


def test_engine_keys_match_tikv() -> None:
    from raftstore.engine import keys
    from raftstore.proto import metapb_pb2

    assert keys.raft_log_key(1, 2) == b"\x01\x02" + (1).to_bytes(8, "big") + b"\x01" + (2).to_bytes(8, "big")
    assert keys.raft_state_key(3) == b"\x01\x02" + (3).to_bytes(8, "big") + b"\x02"
    assert keys.apply_state_key(3) == b"\x01\x02" + (3).to_bytes(8, "big") + b"\x03"
    assert keys.snapshot_raft_state_key(3) == b"\x01\x02" + (3).to_bytes(8, "big") + b"\x04"
    assert keys.region_state_key(3) == b"\x01\x03" + (3).to_bytes(8, "big") + b"\x01"
    assert keys.data_key(b"k") == b"zk"
    assert keys.origin_key(b"zk") == b"k"
    for fn in (keys.raft_log_key, keys.raft_state_key, keys.data_key, keys.origin_key):
        assert isinstance(fn(*([b"zk"] if fn in (keys.data_key, keys.origin_key) else [1] * (2 if fn is keys.raft_log_key else 1))), bytes)
    region = metapb_pb2.Region(id=1, start_key=b"a", end_key=b"", peers=[metapb_pb2.Peer(id=1, store_id=1)])
    assert keys.enc_start_key(region) == b"za"
    assert keys.enc_end_key(region) == b"{"
    region.end_key = b"m"
    assert keys.enc_end_key(region) == b"zm"
    assert issubclass(keys.InvalidKeyError, ValueError)
    with pytest.raises(keys.InvalidKeyError):
        keys.origin_key(b"k")
    with pytest.raises(keys.InvalidKeyError):
        keys.enc_start_key(metapb_pb2.Region(id=1))
    with pytest.raises(keys.InvalidKeyError):
        keys.enc_end_key(metapb_pb2.Region(id=1))
    with pytest.raises(ValueError):
        keys.raft_log_key(-1, 0)


def test_engine_cf_names_and_open_engines(tmp_path: Any) -> None:
    from raftstore.engine import CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE, Engines, open_engines

    assert (CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT) == ("default", "lock", "write", "raft")
    root = tmp_path / "store"
    with open_engines(root) as engines:
        assert isinstance(engines, Engines)
        assert engines.kv is not None and engines.raft is not None
    assert (root / "kv").is_dir() and (root / "raft").is_dir()
    engines = open_engines(str(root))
    engines.close()


# ---------------------------------------------------------------------------------------- raftstore.proto


def test_proto_modules() -> None:
    from raftstore.proto import eraftpb_pb2, metapb_pb2, raft_serverpb_pb2

    region = metapb_pb2.Region(id=1, peers=[metapb_pb2.Peer(id=1, store_id=1)])
    assert region.peers[0].store_id == 1
    assert {"RaftLocalState", "RaftApplyState", "RegionLocalState", "RaftTruncatedState"} <= set(
        raft_serverpb_pb2.DESCRIPTOR.message_types_by_name
    )
    assert eraftpb_pb2.Entry.DESCRIPTOR.fields_by_name["index"].number == 3
    assert metapb_pb2.Region.DESCRIPTOR.fields_by_name["peers"].number == 5


# ---------------------------------------------------------------------------------------- raftstore.store


def _region(id: int = 1) -> Any:
    from raftstore.proto import metapb_pb2

    return metapb_pb2.Region(id=id, peers=[metapb_pb2.Peer(id=id, store_id=1)])


def test_store_names() -> None:
    import raftstore.store as store
    from raftstore.store import errors

    for name in ["PeerStorage", "write_initial_states", "WriteTask", "write_tasks", "compact_raft_log"]:
        assert hasattr(store, name), name
    assert issubclass(errors.InvalidStateError, errors.StoreError)
    params = _params(store.PeerStorage)
    assert list(params)[:3] == ["engines", "region", "peer_id"]
    assert all(p.default is not p.empty for n, p in params.items() if n not in ("engines", "region", "peer_id"))
    _check_sig(store.WriteTask, ["region_id", "peer_id", "ready_number"])
    _check_sig(store.PeerStorage.append, ["entries", "task"])
    _check_sig(store.write_tasks, ["engines", "tasks"])
    _check_sig(store.compact_raft_log, ["apply_state", "index", "term"])
    _check_sig(store.write_initial_states, ["engines", "region"])


def test_store_behaviour() -> None:
    from raftstore.engine import memory_engines
    from raftstore.raft import CompactedError, Entry, StorageError, Storage
    from raftstore.store import PeerStorage, StoreError, WriteTask, compact_raft_log, write_initial_states, write_tasks

    engines = memory_engines()
    region = _region()
    write_initial_states(engines, region)
    ps = PeerStorage(engines, region, 1)
    assert isinstance(ps, Storage)
    assert ps.region == region
    assert (ps.applied_index(), ps.truncated_index(), ps.truncated_term(), ps.last_term()) == (5, 5, 5, 5)
    assert ps.is_initialized()
    assert (ps.first_index(), ps.last_index()) == (6, 5)
    assert ps.raft_state.last_index == 5 and ps.apply_state.applied_index == 5
    assert ps.term(5) == 5
    with pytest.raises(CompactedError):
        ps.entries(5, 6)
    with pytest.raises(StorageError):
        ps.entries(6, 8)
    task = WriteTask(1, 1, 1)
    ps.append([Entry(index=6, term=5, data=b"a"), Entry(index=7, term=5, data=b"b")], task)
    assert ps.raft_state.last_index == 7 and task.raft_state.last_index == 7
    task.raft_state = ps.raft_state  # assignable
    write_tasks(engines, [task])
    ps2 = PeerStorage(engines, region, 1)
    assert [e.data for e in ps2.entries(6, 8)] == [b"a", b"b"]
    with pytest.raises(StorageError) as ei:
        ps2.term(9)
    assert not isinstance(ei.value, CompactedError)

    state = type(ps.apply_state)()
    state.CopyFrom(ps.apply_state)
    state.applied_index = 7
    compact_raft_log(state, 6, 5)
    assert (state.truncated_state.index, state.truncated_state.term) == (6, 5)
    for index, term in [(6, 5), (8, 5), (7, 0)]:
        with pytest.raises(StoreError):
            compact_raft_log(state, index, term)


def test_store_invalid_state_names_region() -> None:
    from raftstore.engine import keys, memory_engines
    from raftstore.store import InvalidStateError, PeerStorage, write_initial_states

    engines = memory_engines()
    region = _region(4242)
    write_initial_states(engines, region)
    ps = PeerStorage(engines, region, 4242)
    broken = type(ps.raft_state)()
    broken.CopyFrom(ps.raft_state)
    broken.last_index = 9  # the entry at the last index is missing
    from raftstore.engine import CF_DEFAULT

    engines.raft.put(CF_DEFAULT, keys.raft_state_key(4242), broken.SerializeToString())
    with pytest.raises(InvalidStateError) as ei:
        PeerStorage(engines, region, 4242)
    assert "4242" in str(ei.value)
