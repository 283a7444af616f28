"""raftstore.raft.testing: the public, sans-IO test harness of the consensus core.

It mirrors raft-rs's `harness` crate and its tests' `test_util` module: `Interface` (a Raft facade, or a
nop stepper with None), `Network` (a simulated network with drop/cut/isolate/ignore filters) and the
helpers that build configs, Rafts, messages, entries, snapshots and conf changes for tests. Import it
explicitly (`from raftstore.raft.testing import Network`); `raftstore.raft` does not import it.
"""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf import text_format

from ...proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from ..config import Config
from ..raft import Raft, SoftState, StateRole
from ..raft_log import RaftLog
from ..storage import MemStorage
from ..util import NO_LIMIT
from .interface import Interface
from .network import Network

__all__ = [
    "Interface",
    "Network",
    "NOP_STEPPER",
    "SOME_DATA",
    "ltoa",
    "new_storage",
    "new_test_config",
    "new_test_raft",
    "new_test_raft_with_prevote",
    "new_test_raft_with_logs",
    "new_test_raft_with_logs_and_config",
    "new_test_raft_with_config",
    "new_test_learner_raft",
    "new_test_learner_raft_with_prevote",
    "hard_state",
    "soft_state",
    "new_message",
    "new_message_with_entries",
    "new_entry",
    "empty_entry",
    "new_snapshot",
    "conf_change",
    "conf_change_into_v2",
    "add_node",
    "remove_node",
    "add_learner",
    "conf_state",
    "conf_state_v2",
    "new_conf_change_single",
    "conf_change_v2",
    "accept_and_reply",
    "commit_noop_entry",
    "ents_with_config",
    "voted_with_config",
    "next_ents",
    "assert_raft_log",
]

# NOP_STEPPER is a peer slot for Network.new that swallows every message (a dead node / black hole).
# It holds no state, so sharing one instance between slots and networks is safe.
NOP_STEPPER: Interface = Interface(None)

# SOME_DATA is the payload new_message puts in each of its entries.
SOME_DATA: str = "somedata"


def ltoa(raft_log: RaftLog) -> str:
    """ltoa describes a log: its committed and applied indexes, then one line per entry."""
    lines = [f"committed: {raft_log.committed}", f"applied: {raft_log.applied}"]
    for i, e in enumerate(raft_log.all_entries()):
        lines.append(f"#{i}: {text_format.MessageToString(e, as_one_line=True)}")
    return "\n".join(lines) + "\n"


def new_storage() -> MemStorage:
    """new_storage is an empty, uninitialized MemStorage."""
    return MemStorage()


def new_test_config(id: int, election_tick: int, heartbeat_tick: int) -> Config:
    """new_test_config is the tests' base config: no message size limit, 256 inflight messages."""
    return Config(
        id,
        election_tick=election_tick,
        heartbeat_tick=heartbeat_tick,
        max_size_per_msg=NO_LIMIT,
        max_inflight_msgs=256,
    )


def _init_storage(storage: MemStorage, peers: Sequence[int], learners: Sequence[int] = ()) -> None:
    """_init_storage gives an uninitialized storage the conf state (peers, learners); an initialized
    storage must come without peers the other way round (raft-rs panics on empty peers + initialized)."""
    initialized = storage.initial_state().initialized()
    if initialized and not peers:
        raise AssertionError("new_test_raft with empty peers on initialized store")
    if peers and not initialized:
        storage.initialize_with_conf_state(conf_state(peers, learners))


def new_test_raft(
    id: int, peers: Sequence[int], election: int, heartbeat: int, storage: MemStorage
) -> Interface:
    """new_test_raft builds a Raft with new_test_config on storage, initialized with voters peers."""
    config = new_test_config(id, election, heartbeat)
    _init_storage(storage, peers)
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_prevote(
    id: int, peers: Sequence[int], election: int, heartbeat: int, storage: MemStorage, pre_vote: bool
) -> Interface:
    """new_test_raft_with_prevote is new_test_raft with Config.pre_vote set to pre_vote."""
    config = new_test_config(id, election, heartbeat)
    config.pre_vote = pre_vote
    _init_storage(storage, peers)
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_logs(
    id: int,
    peers: Sequence[int],
    election: int,
    heartbeat: int,
    storage: MemStorage,
    logs: Sequence[Entry],
) -> Interface:
    """new_test_raft_with_logs is new_test_raft with logs appended to the storage first."""
    config = new_test_config(id, election, heartbeat)
    return new_test_raft_with_logs_and_config(config, peers, storage, logs)


def new_test_raft_with_logs_and_config(
    config: Config, peers: Sequence[int], storage: MemStorage, logs: Sequence[Entry]
) -> Interface:
    """new_test_raft_with_logs_and_config initializes storage with voters peers (when uninitialized),
    appends logs to it and builds a Raft with config on it."""
    _init_storage(storage, peers)
    storage.append(list(logs))
    return new_test_raft_with_config(config, storage)


def new_test_raft_with_config(config: Config, storage: MemStorage) -> Interface:
    """new_test_raft_with_config builds Raft(config, storage) inside an Interface."""
    return Interface(Raft(config, storage))


def new_test_learner_raft(
    id: int,
    peers: Sequence[int],
    learners: Sequence[int],
    election: int,
    heartbeat: int,
    storage: MemStorage,
) -> Interface:
    """new_test_learner_raft is new_test_raft whose storage is initialized with voters peers and
    learners learners."""
    _init_storage(storage, peers, learners)
    return new_test_raft_with_config(new_test_config(id, election, heartbeat), storage)


def new_test_learner_raft_with_prevote(
    id: int, peers: Sequence[int], learners: Sequence[int], prevote: bool
) -> Interface:
    """new_test_learner_raft_with_prevote builds a Raft (election 10, heartbeat 1, pre_vote prevote) on a
    fresh storage with voters peers and learners learners."""
    storage = new_storage()
    storage.initialize_with_conf_state(conf_state(peers, learners))
    config = new_test_config(id, 10, 1)
    config.pre_vote = prevote
    return new_test_raft_with_config(config, storage)


def hard_state(term: int, commit: int, vote: int) -> HardState:
    """hard_state is HardState(term, commit, vote)."""
    return HardState(term=term, commit=commit, vote=vote)


def soft_state(leader_id: int, raft_state: StateRole) -> SoftState:
    """soft_state is SoftState(leader_id, raft_state)."""
    return SoftState(leader_id=leader_id, raft_state=raft_state)


def new_message_with_entries(from_: int, to: int, t: MessageType, ents: Sequence[Entry]) -> Message:
    """new_message_with_entries is a message of type t from from_ to to carrying copies of ents."""
    m = Message(msg_type=t, to=to, from_=from_)
    if ents:
        m.entries.extend(ents)
    return m


def new_message(from_: int, to: int, t: MessageType, n: int) -> Message:
    """new_message is a message of type t from from_ to to carrying n entries of SOME_DATA (term and
    index 0)."""
    m = new_message_with_entries(from_, to, t, [])
    for _ in range(n):
        m.entries.append(new_entry(0, 0, SOME_DATA))
    return m


def new_entry(term: int, index: int, data: str | bytes | None) -> Entry:
    """new_entry is a normal entry at (term, index) carrying data (None: no data)."""
    e = Entry(term=term, index=index)
    if data is not None:
        e.data = data.encode() if isinstance(data, str) else data
    return e


def empty_entry(term: int, index: int) -> Entry:
    """empty_entry is a normal entry at (term, index) without data."""
    return new_entry(term, index, None)


def new_snapshot(index: int, term: int, voters: Sequence[int]) -> Snapshot:
    """new_snapshot is a snapshot at (index, term) whose conf state has voters voters."""
    s = Snapshot()
    s.metadata.index = index
    s.metadata.term = term
    s.metadata.conf_state.voters.extend(voters)
    return s


def conf_change(ty: ConfChangeType, node_id: int) -> ConfChange:
    """conf_change is a v1 ConfChange of type ty for node_id."""
    return ConfChange(change_type=ty, node_id=node_id)


def conf_change_into_v2(cc: ConfChange) -> ConfChangeV2:
    """conf_change_into_v2 converts a v1 ConfChange into the equivalent ConfChangeV2 (one single change,
    same context), as raft-rs's ConfChangeI::into_v2."""
    v2 = ConfChangeV2(context=cc.context)
    v2.changes.append(ConfChangeSingle(change_type=cc.change_type, node_id=cc.node_id))
    return v2


def remove_node(node_id: int) -> ConfChangeV2:
    """remove_node is a ConfChangeV2 removing node_id."""
    return conf_change_into_v2(conf_change(ConfChangeType.RemoveNode, node_id))


def add_node(node_id: int) -> ConfChangeV2:
    """add_node is a ConfChangeV2 adding node_id as a voter."""
    return conf_change_into_v2(conf_change(ConfChangeType.AddNode, node_id))


def add_learner(node_id: int) -> ConfChangeV2:
    """add_learner is a ConfChangeV2 adding node_id as a learner."""
    return conf_change_into_v2(conf_change(ConfChangeType.AddLearnerNode, node_id))


def conf_state(voters: Sequence[int], learners: Sequence[int]) -> ConfState:
    """conf_state is ConfState(voters, learners)."""
    return ConfState(voters=list(voters), learners=list(learners))


def conf_state_v2(
    voters: Sequence[int],
    learners: Sequence[int],
    voters_outgoing: Sequence[int],
    learners_next: Sequence[int],
    auto_leave: bool,
) -> ConfState:
    """conf_state_v2 is a joint ConfState with every field given."""
    cs = conf_state(voters, learners)
    cs.voters_outgoing.extend(voters_outgoing)
    cs.learners_next.extend(learners_next)
    cs.auto_leave = auto_leave
    return cs


def new_conf_change_single(node_id: int, ty: ConfChangeType) -> ConfChangeSingle:
    """new_conf_change_single is one step of a ConfChangeV2 (raft-rs util::new_conf_change_single)."""
    return ConfChangeSingle(change_type=ty, node_id=node_id)


def conf_change_v2(steps: Sequence[ConfChangeSingle]) -> ConfChangeV2:
    """conf_change_v2 is a ConfChangeV2 made of steps (transition Auto)."""
    cc = ConfChangeV2()
    cc.changes.extend(steps)
    return cc




def accept_and_reply(m: Message) -> Message:
    """accept_and_reply is the MsgAppendResponse a follower sends to accept the MsgAppend m."""
    if m.msg_type != MessageType.MsgAppend:
        raise AssertionError(f"accept_and_reply expects a MsgAppend, got {m.msg_type}")
    reply = new_message(m.to, m.from_, MessageType.MsgAppendResponse, 0)
    reply.term = m.term
    reply.index = m.index + len(m.entries)
    return reply


def commit_noop_entry(r: Interface, s: MemStorage) -> None:
    """commit_noop_entry makes the leader r commit its empty entry of the new term: it broadcasts the
    appends, steps an accepting reply to each, drops the commit-refreshing messages, persists the
    unstable entries into s and marks everything committed as applied."""
    if r.state != StateRole.LEADER:
        raise AssertionError(f"commit_noop_entry needs a leader, got {r.state}")
    r.bcast_append()
    for m in r.read_messages():
        if m.msg_type != MessageType.MsgAppend or len(m.entries) != 1 or m.entries[0].data:
            raise AssertionError(f"commit_noop_entry expects one empty entry per MsgAppend, got {m}")
        r.step(accept_and_reply(m))
    # The messages that refresh the followers' commit index are ignored.
    r.read_messages()
    unstable = list(r.raft_log.unstable_entries())
    if unstable:
        last_idx, last_term = unstable[-1].index, unstable[-1].term
        r.raft_log.stable_entries(last_idx, last_term)
        s.append(unstable)
        r.on_persist_entries(last_idx, last_term)
        r.commit_apply(r.raft_log.committed)


def ents_with_config(terms: Sequence[int], pre_vote: bool, id: int, peers: Sequence[int]) -> Interface:
    """ents_with_config builds Raft id (election 5, heartbeat 1, pre_vote as given) whose storage holds
    one entry per term of terms (index 1, 2, ...), reset to the last of those terms."""
    store = MemStorage.new_with_conf_state(conf_state(peers, []))
    for i, term in enumerate(terms):
        store.append([Entry(index=i + 1, term=term)])
    raft = new_test_raft_with_prevote(id, peers, 5, 1, store, pre_vote)
    raft.reset(terms[-1])
    return raft


def voted_with_config(vote: int, term: int, pre_vote: bool, id: int, peers: Sequence[int]) -> Interface:
    """voted_with_config builds Raft id (election 5, heartbeat 1) that voted for vote in term but holds
    no entries, reset to term."""
    store = MemStorage.new_with_conf_state(conf_state(peers, []))
    store.set_hardstate(hard_state(term, 0, vote))
    raft = new_test_raft_with_prevote(id, peers, 5, 1, store, pre_vote)
    raft.reset(term)
    return raft


def next_ents(r: Interface | Raft, s: MemStorage) -> list[Entry]:
    """next_ents persists r's unstable entries into s, then returns the committed entries ready for
    applying and marks everything committed as applied."""
    unstable = list(r.raft_log.unstable_entries())
    if unstable:
        last_idx, last_term = unstable[-1].index, unstable[-1].term
        r.raft_log.stable_entries(last_idx, last_term)
        s.append(unstable)
        r.on_persist_entries(last_idx, last_term)
    ents = r.raft_log.next_entries(None)
    r.commit_apply(r.raft_log.committed)
    return ents if ents is not None else []


def assert_raft_log(prefix: str, raft_log: RaftLog, committed: int, applied: int, last: int) -> None:
    """assert_raft_log checks a log's committed index, applied index and last index."""
    assert raft_log.committed == committed, f"{prefix}committed = {raft_log.committed}, want {committed}"
    assert raft_log.applied == applied, f"{prefix}applied = {raft_log.applied}, want {applied}"
    assert raft_log.last_index() == last, f"{prefix}last_index = {raft_log.last_index()}, want {last}"
