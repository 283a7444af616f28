"""five_mem_node: a five-node in-memory Raft cluster grown from one voter (after raft-rs's
examples/five_mem_node), driven by one deterministic in-process loop instead of five threads.

Node 1 starts as the only voter (from a snapshot at index 1, so that newcomers catch up by snapshot).
Nodes 2..5 exist only as mailboxes until a message that may create a peer (a vote request, or a heartbeat
with commit 0) arrives; they then start with an empty MemStorage and receive a snapshot. The leader adds
them one by one with AddNode conf changes, the cluster then applies 100 `put` commands, hands leadership
to node 2 and applies 10 more; at the end every node holds the same key-value pairs.

Each loop iteration is one simulated 10 ms step: every node takes its mail, ticks every 10 steps, the
leader proposes pending client requests, and every node handles its Ready. Messages are delivered through
per-node mailboxes (deques), so a message sent in one step is read in the next.
Run: `python examples/five_mem_node.py`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from raftstore.raft import (
    ConfChange,
    ConfChangeType,
    ConfChangeV2,
    Config,
    Entry,
    EntryType,
    MemStorage,
    Message,
    MessageType,
    ProposalDroppedError,
    RaftError,
    RawNode,
    Snapshot,
    StateRole,
    describe_message,
)

NUM_NODES = 5
# STEPS_PER_TICK: simulated 10 ms steps between two ticks of a node (100 ms, as raft-rs's example).
STEPS_PER_TICK = 10
_PUT = re.compile(rb"put ([0-9]+) (.+)")


def example_config(id: int) -> Config:
    """example_config: raft-rs's example config (election 10 ticks, heartbeat 3 ticks) for node id."""
    return Config(id, election_tick=10, heartbeat_tick=3)


def is_initial_msg(msg: Message) -> bool:
    """is_initial_msg: whether msg may create a peer that does not exist yet: a (pre-)vote request or a
    heartbeat carrying commit 0 (the leader does not know the peer's log yet)."""
    t = msg.msg_type
    return bool(
        t == MessageType.MsgRequestVote
        or t == MessageType.MsgRequestPreVote
        or (t == MessageType.MsgHeartbeat and msg.commit == 0)
    )


@dataclass
class Proposal:
    """Proposal: a client request (a put, a conf change or a leader transfer) with the callback run
    when it is applied (True) or cannot be proposed (False)."""

    normal: tuple[int, str] | None = None
    conf_change: ConfChange | None = None
    transfer_leader: int | None = None
    callback: Callable[[bool], None] = lambda ok: None
    # proposed: the (index, term) the leader appended it at; None while pending.
    proposed: tuple[int, int] | None = None


@dataclass
class Node:
    """Node: one member: its mailbox, its RawNode once created, and the applied key-value pairs."""

    id: int
    mailbox: deque[Message] = field(default_factory=deque)
    raft_group: RawNode | None = None
    kv_pairs: dict[int, str] = field(default_factory=dict)
    # in_flight: proposals this node appended as leader, by index, until applied.
    in_flight: dict[int, Proposal] = field(default_factory=dict)

    @staticmethod
    def create_raft_leader(id: int) -> Node:
        """create_raft_leader: a node that is the only voter of a cluster bootstrapped at index 1."""
        s = Snapshot()
        s.metadata.index = 1
        s.metadata.term = 1
        s.metadata.conf_state.voters.append(id)
        storage = MemStorage()
        storage.wl().apply_snapshot(s)
        node = Node(id)
        node.raft_group = RawNode(example_config(id), storage, seed=id)
        return node

    @staticmethod
    def create_raft_follower(id: int) -> Node:
        """create_raft_follower: a node without a Raft yet (created by its first initial message)."""
        return Node(id)

    def step(self, msg: Message) -> None:
        """step: feeds msg to the Raft, creating the Raft first when msg is an initial message."""
        if self.raft_group is None:
            if not is_initial_msg(msg):
                return
            self.raft_group = RawNode(example_config(msg.to), MemStorage(), seed=msg.to)
        try:
            self.raft_group.step(msg)
        except RaftError:
            # step: stale or unexpected messages are dropped, as raft-rs's example ignores the error.
            pass


class Cluster:
    """Cluster: the nodes, the client's pending proposals, the simulated clock and some counters."""

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {1: Node.create_raft_leader(1)}
        for i in range(2, NUM_NODES + 1):
            self.nodes[i] = Node.create_raft_follower(i)
        self.proposals: deque[Proposal] = deque()
        self.step_no = 0
        self.delivered = 0
        self.snapshots_sent = 0
        self.events: list[str] = []

    # -- one step ----------------------------------------------------------------------------------

    def send(self, msgs: list[Message]) -> None:
        """send: puts msgs into the receivers' mailboxes (read at the next step)."""
        for m in msgs:
            if m.msg_type == MessageType.MsgSnapshot:
                self.snapshots_sent += 1
                self.log(f"snapshot -> node {m.to}: {describe_message(m)}")
            self.nodes[m.to].mailbox.append(m)

    def log(self, what: str) -> None:
        """log: records an event with the simulated time."""
        self.events.append(f"[{self.step_no * 10:>6} ms] {what}")

    def leader(self) -> Node | None:
        """leader: the node that currently leads, if any."""
        for node in self.nodes.values():
            rg = node.raft_group
            if rg is not None and rg.raft.state == StateRole.LEADER:
                return node
        return None

    def run_step(self) -> None:
        """run_step: one simulated 10 ms step for every node."""
        self.step_no += 1
        for node in self.nodes.values():
            while node.mailbox:
                node.step(node.mailbox.popleft())
                self.delivered += 1
            rg = node.raft_group
            if rg is None:
                continue
            if self.step_no % STEPS_PER_TICK == 0:
                rg.tick()
            if rg.raft.state == StateRole.LEADER:
                self.propose_pending(node)
            self.on_ready(node)

    def propose_pending(self, node: Node) -> None:
        """propose_pending: the leader appends every pending proposal it can."""
        rg = node.raft_group
        assert rg is not None
        while self.proposals and self.proposals[0].proposed is None:
            p = self.proposals.popleft()
            last_index1 = rg.raft.raft_log.last_index() + 1
            try:
                if p.normal is not None:
                    key, value = p.normal
                    rg.propose(b"", f"put {key} {value}".encode())
                elif p.conf_change is not None:
                    rg.propose_conf_change(b"", p.conf_change)
                elif p.transfer_leader is not None:
                    rg.transfer_leader(p.transfer_leader)
                    p.callback(True)
                    continue
            except ProposalDroppedError:
                # propose_pending: e.g. a conf change is still pending; the client retries later.
                p.callback(False)
                continue
            if rg.raft.raft_log.last_index() + 1 == last_index1:
                # propose_pending: silently ignored (e.g. a conf change while one is pending).
                p.callback(False)
                continue
            p.proposed = (last_index1, rg.raft.term)
            node.in_flight[last_index1] = p

    def on_ready(self, node: Node) -> None:
        """on_ready: handles one Ready of node in raft-rs's documented order."""
        rg = node.raft_group
        assert rg is not None
        if not rg.has_ready():
            return
        store = rg.raft.raft_log.store
        rd = rg.ready()
        if rd.ss is not None:
            self.log(f"node {node.id} is now {rd.ss.raft_state.name} (leader {rd.ss.leader_id})")
        self.send(rd.take_messages())
        if rd.has_snapshot():
            store.wl().apply_snapshot(rd.snapshot)
            self.log(f"node {node.id} applied a snapshot at {rd.snapshot.metadata.index}")
        self.handle_committed_entries(node, rd.take_committed_entries())
        if rd.entries:
            store.wl().append(rd.entries)
        if rd.hs is not None:
            store.wl().set_hardstate(rd.hs)
        self.send(rd.take_persisted_messages())

        light = rg.advance(rd)
        if light.commit_index is not None:
            store.wl().mut_hard_state().commit = light.commit_index
        self.send(light.take_messages())
        self.handle_committed_entries(node, light.take_committed_entries())
        rg.advance_apply()

    def handle_committed_entries(self, node: Node, entries: list[Entry]) -> None:
        """handle_committed_entries: applies entries: conf changes to the Raft and the storage's conf
        state, puts to kv_pairs; runs the callback of proposals this node appended."""
        rg = node.raft_group
        assert rg is not None
        store = rg.raft.raft_log.store
        for entry in entries:
            if entry.entry_type == EntryType.EntryConfChange:
                cc = ConfChange.FromString(entry.data)
                cs = rg.apply_conf_change(cc)
                store.wl().set_conf_state(cs)
                if rg.raft.state == StateRole.LEADER:
                    self.log(f"leader {node.id} applied conf change: voters={sorted(cs.voters)}")
            elif entry.entry_type == EntryType.EntryConfChangeV2:
                cs = rg.apply_conf_change(ConfChangeV2.FromString(entry.data))
                store.wl().set_conf_state(cs)
            elif entry.data:
                match = _PUT.fullmatch(entry.data)
                if match:
                    node.kv_pairs[int(match.group(1))] = match.group(2).decode()
            p = node.in_flight.pop(entry.index, None)
            if p is not None and p.proposed is not None:
                # The entry at that index is ours only if its term is the one we appended it at.
                ok = p.proposed[1] == entry.term
                if not ok:
                    p.proposed = None
                    self.proposals.appendleft(p)
                else:
                    p.callback(True)

    # -- client ------------------------------------------------------------------------------------

    def run_until(self, cond: Callable[[], bool], max_steps: int = 100_000) -> None:
        """run_until: runs steps until cond() holds; raises after max_steps."""
        for _ in range(max_steps):
            if cond():
                return
            self.run_step()
        raise RuntimeError(f"condition not met after {max_steps} steps")

    def request(self, p: Proposal) -> bool:
        """request: submits p and runs the cluster until its callback reports the outcome."""
        outcome: list[bool] = []
        p.callback = outcome.append
        self.proposals.append(p)
        self.run_until(lambda: bool(outcome))
        return outcome[0]


def add_all_followers(cluster: Cluster) -> None:
    """add_all_followers: adds nodes 2..NUM_NODES as voters, one conf change at a time (retrying while
    a previous change is still pending)."""
    for i in range(2, NUM_NODES + 1):
        cc = ConfChange(change_type=ConfChangeType.AddNode, node_id=i)
        while not cluster.request(Proposal(conf_change=cc)):
            for _ in range(10):
                cluster.run_step()


def main() -> None:
    """main: grow the cluster to five voters, put 100 keys, transfer leadership, put 10 more, check."""
    cluster = Cluster()
    cluster.run_until(lambda: cluster.leader() is not None)

    add_all_followers(cluster)
    # Wait until every node exists and knows the five voters.
    cluster.run_until(
        lambda: all(
            n.raft_group is not None and sorted(n.raft_group.raft.prs.conf().voters.ids()) == [1, 2, 3, 4, 5]
            for n in cluster.nodes.values()
        )
    )
    cluster.log("We get a 5 nodes Raft cluster now, now propose 100 proposals")

    for i in range(100):
        assert cluster.request(Proposal(normal=(i, "hello, world")))
    cluster.log("Propose 100 proposals success!")

    cluster.request(Proposal(transfer_leader=2))
    cluster.run_until(lambda: (ld := cluster.leader()) is not None and ld.id == 2)
    for i in range(100, 110):
        assert cluster.request(Proposal(normal=(i, "after transfer")))
    cluster.log("Propose 10 more proposals through the new leader success!")

    # Let the followers catch up with the last commit index.
    def caught_up() -> bool:
        ld = cluster.leader()
        assert ld is not None and ld.raft_group is not None
        commit = ld.raft_group.raft.raft_log.committed
        return all(n.raft_group is not None and n.raft_group.raft.raft_log.applied == commit for n in cluster.nodes.values())

    cluster.run_until(caught_up)

    for line in cluster.events:
        print(line)
    print()
    print(f"{'node':>4} {'role':>9} {'term':>4} {'commit':>6} {'applied':>7} {'keys':>4}")
    for n in cluster.nodes.values():
        assert n.raft_group is not None
        st = n.raft_group.status()
        role = st.ss.raft_state.name if st.ss is not None else "?"
        print(f"{n.id:>4} {role:>9} {st.hs.term:>4} {st.hs.commit:>6} {st.applied:>7} {len(n.kv_pairs):>4}")
    kvs = [n.kv_pairs for n in cluster.nodes.values()]
    assert all(kv == kvs[0] for kv in kvs), "replicas diverged"
    assert len(kvs[0]) == 110
    print(
        f"\nall {NUM_NODES} replicas hold the same {len(kvs[0])} keys after {cluster.step_no * 10} simulated ms; "
        f"{cluster.delivered} messages delivered, {cluster.snapshots_sent} snapshots sent"
    )


if __name__ == "__main__":
    main()
