"""A new peer catches up through a snapshot, end to end on real RocksDB: raft (RawNode) on PeerStorage for a
leader on engines A and for an uninitialized learner on engines B. The leader's log is compacted past
everything the learner could be sent, so raft asks the leader's storage for a snapshot; the worker generates
it, the files move with the transfer protocol, the learner's Ready carries it, PeerStorage stages it, the
apply job ingests it; then the learner appends the entries after the snapshot. Readies are driven by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import Entry, EntryType, HardState, Message, MessageType
from raftstore.proto.metapb_pb2 import PeerRole
from raftstore.raft import Config, RawNode, Ready, SnapshotStatus
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_tasks
from raftstore.store.snap import (
    CheckApplyingSnapStatus,
    SnapApplyWorker,
    SnapGenerator,
    SnapHeader,
    SnapManager,
    SnapReceiver,
    SnapSender,
    SnapWorker,
    transfer,
)

from .helpers import new_peer, new_region, uninitialized_region
from .snap.helpers import dump, new_manager, populate

REGION_START, REGION_END = b"k", b"m"


class Node:
    """Node: one peer of region 1 on its own store: engines, snapshot manager, PeerStorage, RawNode, and the
    apply of committed entries (`key=value` puts into CF default, with the apply state in the same batch)."""

    def __init__(self, path: Path, peer_id: int, *, bootstrap: bool) -> None:
        self.engines: Engines = open_engines(path / f"db{peer_id}")
        self.mgr: SnapManager = new_manager(path / f"snap{peer_id}")
        region = new_region(
            1, [new_peer(1, 1), new_peer(2, 2, PeerRole.Learner)], start_key=REGION_START, end_key=REGION_END
        )
        if bootstrap:
            write_initial_states(self.engines, region)
        else:
            region = uninitialized_region(1)
        self.storage = PeerStorage(self.engines, region, peer_id, snap_mgr=self.mgr)
        applied = self.storage.applied_index()
        self.node = RawNode(Config(id=peer_id, election_tick=10, heartbeat_tick=1, applied=applied), self.storage)
        self.outbox: list[Message] = []
        self.snapshots = 0  # Readies that carried a snapshot
        self.ready_number = 1000  # task numbers for writes outside Readies (apply, compaction)
        self.gen_worker = SnapWorker(SnapGenerator(self.mgr, self.engines.kv))
        self.apply_worker = SnapApplyWorker(self.engines, self.mgr)

    def close(self) -> None:
        self.gen_worker.stop()
        self.apply_worker.stop()
        self.engines.close()

    def _write(self, task: WriteTask) -> None:
        write_tasks(self.engines, [task])
        job = self.storage.on_persisted(task)
        if job is not None:  # the Ready carried a snapshot: apply it on the region worker
            self.apply_worker.schedule(job)
            self.apply_worker.wait_idle()
            assert self.storage.check_applying_snap() is CheckApplyingSnapStatus.SUCCESS

    def _apply(self, entries: list[Entry]) -> None:
        if not entries:
            return
        self.ready_number += 1
        task = WriteTask(1, self.storage.peer_id, self.ready_number)
        for e in entries:
            if e.entry_type == EntryType.EntryNormal and e.data:
                key, value = e.data.split(b"=", 1)
                task.put_kv(CF_DEFAULT, keys.data_key(key), value)
        state = self.storage.apply_state
        state.applied_index = state.commit_index = entries[-1].index
        state.commit_term = entries[-1].term
        self.storage.save_apply_state_to(task)
        self._write(task)

    def drive(self) -> None:
        """drive handles every Ready: persist (snapshot, entries, hard state), send, apply, advance."""
        node, storage = self.node, self.storage
        while node.has_ready():
            rd: Ready = node.ready()
            self.snapshots += rd.has_snapshot()
            self.outbox.extend(rd.messages)
            task = WriteTask(1, storage.peer_id, rd.number)
            storage.handle_raft_ready(rd, task)
            self._write(task)
            self._apply(rd.committed_entries)
            self.outbox.extend(rd.persisted_messages)
            light = node.advance(rd)
            if light.commit_index is not None:
                storage.set_commit_index(light.commit_index)
            self.outbox.extend(light.messages)
            self._apply(light.committed_entries)
            node.advance_apply()
        if storage.gen_snap_task is not None:  # raft asked for a snapshot: the worker makes it
            request = storage.take_gen_snap_request()
            if request is not None:
                self.gen_worker.schedule(request)
                self.gen_worker.wait_idle()

    def compact(self) -> None:
        applied = self.storage.applied_index()
        self.ready_number += 1
        task = WriteTask(1, self.storage.peer_id, self.ready_number)
        self.storage.compact_to(applied, self.storage.term(applied), task)
        self._write(task)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    leader, learner = Node(tmp_path, 1, bootstrap=True), Node(tmp_path, 2, bootstrap=False)
    try:
        yield leader, learner
    finally:
        leader.close()
        learner.close()


def deliver(leader: Node, learner: Node, sent: list[int]) -> int:
    """deliver routes every queued message once; a MsgSnapshot's files travel first (SnapSender ->
    SnapReceiver), and the leader is told the snapshot was sent. Returns how many messages moved."""
    moved = 0
    for src, dst in ((leader, learner), (learner, leader)):
        msgs, src.outbox = src.outbox, []
        for m in msgs:
            moved += 1
            if m.msg_type == MessageType.MsgSnapshot:
                with SnapSender(src.mgr, m.snapshot) as s, SnapReceiver(dst.mgr, SnapHeader(m.snapshot)) as r:
                    transfer(s, r)
                    sent.append(s.bytes_sent)
                src.node.report_snapshot(m.to, SnapshotStatus.FINISH)
            dst.node.step(m)
    return moved


def run(leader: Node, learner: Node, sent: list[int], rounds: int = 30) -> None:
    """run ticks the leader and exchanges messages until nothing moves any more."""
    for _ in range(rounds):
        leader.node.tick()
        leader.drive()
        learner.drive()
        while deliver(leader, learner, sent):
            leader.drive()
            learner.drive()


def test_new_learner_catches_up_through_a_snapshot(nodes: tuple[Node, Node]) -> None:
    leader, learner = nodes
    populate(leader.engines.kv, n=5, seed=1)  # keys outside the region ("a", "x") stay on the leader's store
    populate(learner.engines.kv, n=7, value_size=30, seed=2)  # the learner's store has other regions' data
    outside_before = dump(learner.engines.kv, b"", keys.data_key(REGION_START)), dump(
        learner.engines.kv, keys.data_key(REGION_END), None
    )
    leader.node.campaign()
    leader.drive()
    for i in range(40):
        leader.node.propose(b"", b"k%03d=v%d" % (i, i))
        leader.drive()
    leader.outbox.clear()  # the learner was unreachable until now
    applied = leader.storage.applied_index()
    assert applied == 5 + 1 + 40
    leader.compact()
    assert leader.storage.first_index() == applied + 1

    sent: list[int] = []
    run(leader, learner, sent)
    assert len(sent) == 1 and sent[0] > 0  # one snapshot, with files
    assert (leader.snapshots, learner.snapshots) == (0, 1)
    s = learner.storage
    assert s.is_initialized() and s.region == leader.storage.region
    assert (s.truncated_index(), s.applied_index()) == (applied, applied)
    start, end = keys.data_key(REGION_START), keys.data_key(REGION_END)
    assert dump(learner.engines.kv, start, end) == dump(leader.engines.kv, start, end)
    assert len(dump(learner.engines.kv, start, end)["default"]) == 40 + 5  # the proposals and populate's keys
    assert (dump(learner.engines.kv, b"", start), dump(learner.engines.kv, end, None)) == outside_before

    # the learner accepts appends after the snapshot index (no hole) and applies them
    for i in range(40, 45):
        leader.node.propose(b"", b"k%03d=w%d" % (i, i))
        run(leader, learner, sent, rounds=2)
    assert len(sent) == 1
    assert s.last_index() == leader.storage.last_index() == applied + 5
    appended = [e.data for e in s.entries(applied + 1, s.last_index() + 1)]
    assert appended == [b"k%03d=w%d" % (i, i) for i in range(40, 45)]
    assert s.applied_index() == leader.storage.applied_index()
    assert dump(learner.engines.kv, start, end) == dump(leader.engines.kv, start, end)

    # restart the learner's store: it opens where it was
    learner.engines.close()
    learner.engines = open_engines(Path(learner.mgr.path).parent / "db2")  # closed by the fixture
    again = PeerStorage(learner.engines, s.region, 2)
    assert (again.first_index(), again.last_index(), again.applied_index()) == (applied + 1, applied + 5, applied + 5)
    assert again.hard_state() == HardState(term=s.hard_state().term, vote=0, commit=applied + 5)
