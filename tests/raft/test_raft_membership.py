"""Membership tests of the Raft core: conf changes, learners and joint consensus (the conf change
tests of raft-rs test_raft.rs, and joint consensus driven at the Raft level). Joint consensus is §6 of
the Raft paper: during a change, agreement (elections and commitment) needs separate majorities of
both the old and the new configuration.

Covered elsewhere and not repeated here: test_promotable, test_learner_election_timeout,
test_learner_promotion, test_learner_respond_vote, test_conf_change_check_before_campaign
(test_raft_election.py), test_add_node_check_quorum (test_raft_read_only.py), test_restore_with_learner
and the other restore cases (test_raft_snap.py).
"""

from __future__ import annotations

import pytest

from raftstore.raft import (
    INVALID_ID,
    ConfChange,
    ConfChangeError,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ProposalDroppedError,
    StateRole,
)
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    Interface,
    Network,
    add_learner,
    add_node,
    conf_state_v2,
    new_message,
    new_snapshot,
    new_storage,
    new_test_config,
    new_test_learner_raft,
    new_test_raft,
    new_test_raft_with_config,
    next_ents,
    remove_node,
)

# -- helpers -------------------------------------------------------------------------------------


def voter_ids(r: Interface) -> set[int]:
    """voter_ids is the set of voters of both halves of r's configuration."""
    return set(r.raft.prs.conf().voters.ids())


def incoming(r: Interface) -> set[int]:
    """incoming is the incoming (new) voter set of r's configuration."""
    return set(r.raft.prs.conf().voters.incoming)


def outgoing(r: Interface) -> set[int]:
    """outgoing is the outgoing (old) voter set; empty outside joint consensus."""
    return set(r.raft.prs.conf().voters.outgoing)


def learner_ids(r: Interface) -> set[int]:
    """learner_ids is the set of learners of r's configuration."""
    return set(r.raft.prs.conf().learners)


def single(change_type: int, node_id: int) -> ConfChangeSingle:
    """single is one step of a ConfChangeV2."""
    return ConfChangeSingle(change_type=change_type, node_id=node_id)


def cc_v2(steps: list[ConfChangeSingle], transition: int = ConfChangeTransition.Auto) -> ConfChangeV2:
    """cc_v2 is a ConfChangeV2 of steps with the given transition."""
    return ConfChangeV2(changes=steps, transition=transition)


def conf_change_entry(cc: ConfChange | ConfChangeV2) -> Entry:
    """conf_change_entry is the proposal entry carrying cc."""
    et = EntryType.EntryConfChange if isinstance(cc, ConfChange) else EntryType.EntryConfChangeV2
    return Entry(entry_type=et, data=cc.SerializeToString())


def propose_msg(to: int, entry: Entry) -> Message:
    """propose_msg is a local MsgPropose to `to` carrying a copy of entry."""
    m = new_message(to, to, MessageType.MsgPropose, 0)
    m.entries.append(entry)
    return m


def sorted_cs(cs: ConfState) -> tuple[list[int], list[int], list[int], list[int], bool]:
    """sorted_cs is a ConfState as comparable sorted lists (raft-rs compares conf states as sets)."""
    return (
        sorted(cs.voters),
        sorted(cs.learners),
        sorted(cs.voters_outgoing),
        sorted(cs.learners_next),
        cs.auto_leave,
    )


def apply_committed(r: Interface, s: MemStorage) -> list[Entry]:
    """apply_committed persists r, applies its committed entries (conf changes included, recording
    the new ConfState in s) and then reports them applied, in the order RawNode users do."""
    r.persist()
    ents = r.raft.raft_log.next_entries() or []
    for e in ents:
        cc: ConfChange | ConfChangeV2
        if e.entry_type == EntryType.EntryConfChange:
            cc = ConfChange.FromString(e.data)
        elif e.entry_type == EntryType.EntryConfChangeV2:
            cc = ConfChangeV2.FromString(e.data)
        else:
            continue
        s.set_conf_state(r.raft.apply_conf_change(cc))
    if ents:
        r.raft.commit_apply(ents[-1].index)
    return list(ents)


def apply_all(nt: Network) -> None:
    """apply_all applies the committed entries of every peer of nt."""
    for id_, p in nt.peers.items():
        if p.raft is not None:
            apply_committed(p, nt.storage[id_])


# -- single conf changes (test_raft.rs) ----------------------------------------------------------


def test_step_config() -> None:
    """A conf change proposal is appended to the log."""
    r = new_test_raft(1, [1, 2], 10, 1, new_storage())
    r.raft.become_candidate()
    r.raft.become_leader()
    index = r.raft.raft_log.last_index()
    r.step(propose_msg(1, Entry(entry_type=EntryType.EntryConfChange)))
    assert r.raft.raft_log.last_index() == index + 1


def test_step_ignore_config() -> None:
    """§6 one conf change at a time: a second one while the first is unapplied becomes an empty entry."""
    r = new_test_raft(1, [1, 2], 10, 1, new_storage())
    r.raft.become_candidate()
    r.raft.become_leader()
    assert not r.raft.has_pending_conf()
    r.step(propose_msg(1, Entry(entry_type=EntryType.EntryConfChange)))
    assert r.raft.has_pending_conf()
    index = r.raft.raft_log.last_index()
    pending_conf_index = r.raft.pending_conf_index
    r.step(propose_msg(1, Entry(entry_type=EntryType.EntryConfChange)))
    wents = [Entry(term=1, index=3, entry_type=EntryType.EntryNormal)]
    assert list(r.raft.raft_log.entries(index + 1, None)) == wents
    assert r.raft.pending_conf_index == pending_conf_index


@pytest.mark.parametrize("add_entry, wpending_index", [(False, 0), (True, 1)])
def test_new_leader_pending_config(add_entry: bool, wpending_index: int) -> None:
    """A new leader sets pending_conf_index to its last index: it may hold an unapplied conf change."""
    r = new_test_raft(1, [1, 2], 10, 1, new_storage())
    if add_entry:
        r.raft.append_entry([Entry(entry_type=EntryType.EntryNormal)])
        r.persist()
    r.raft.become_candidate()
    r.raft.become_leader()
    assert r.raft.pending_conf_index == wpending_index
    assert r.raft.has_pending_conf() == add_entry


def test_add_node() -> None:
    """add_node adds a voter."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    r.raft.apply_conf_change(add_node(2))
    assert voter_ids(r) == {1, 2}


def test_add_node_probes_new_peer() -> None:
    """A leader probes a newly added peer at once instead of waiting for a heartbeat."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    r.raft.become_candidate()
    r.raft.become_leader()
    r.persist()
    r.read_messages()
    r.raft.apply_conf_change(add_node(2))
    msgs = r.read_messages()
    assert [(m.msg_type, m.to) for m in msgs] == [(MessageType.MsgAppend, 2)]
    # raft-rs adds the progress with next = last_index, so the probe starts one entry back.
    last = r.raft.raft_log.last_index()
    assert r.raft.prs.get(2).next_idx == last
    assert msgs[0].index == last - 1
    assert [e.index for e in msgs[0].entries] == [last]
    assert r.raft.prs.get(2).is_paused()


def test_remove_node() -> None:
    """remove_node removes a voter; removing the last voter is refused."""
    r = new_test_raft(1, [1, 2], 10, 1, new_storage())
    r.raft.apply_conf_change(remove_node(2))
    assert voter_ids(r) == {1}
    with pytest.raises(ConfChangeError):
        r.raft.apply_conf_change(remove_node(1))
    assert voter_ids(r) == {1}


def test_remove_node_itself() -> None:
    """Removing the only voter is refused even with a learner left."""
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    with pytest.raises(ConfChangeError):
        n1.raft.apply_conf_change(remove_node(1))
    assert learner_ids(n1) == {2}
    assert voter_ids(n1) == {1}


def test_add_learner() -> None:
    """add_learner adds a learner that is not a voter."""
    n1 = new_test_raft(1, [1], 10, 1, new_storage())
    n1.raft.apply_conf_change(add_learner(2))
    assert learner_ids(n1) == {2}
    assert voter_ids(n1) == {1}
    assert n1.raft.prs.get(2) is not None


def test_remove_learner() -> None:
    """remove_node removes a learner; removing the last voter is still refused."""
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    n1.raft.apply_conf_change(remove_node(2))
    assert voter_ids(n1) == {1}
    assert learner_ids(n1) == set()
    assert n1.raft.prs.get(2) is None
    with pytest.raises(ConfChangeError):
        n1.raft.apply_conf_change(remove_node(1))
    assert voter_ids(n1) == {1}
    assert learner_ids(n1) == set()


def test_promote_learner_to_voter() -> None:
    """add_node on a learner promotes it: it becomes promotable and counts in the quorum."""
    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    assert not n2.raft.promotable()
    n2.raft.apply_conf_change(add_node(2))
    assert voter_ids(n2) == {1, 2}
    assert learner_ids(n2) == set()
    assert n2.raft.promotable()


def test_add_existing_voter_as_learner_in_simple_change_demotes() -> None:
    """A simple change may demote one voter to learner."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.raft.apply_conf_change(add_learner(3))
    assert voter_ids(r) == {1, 2}
    assert learner_ids(r) == {3}


def test_two_changes_use_joint_consensus() -> None:
    """§6 a ConfChangeV2 with two voter changes goes through a joint configuration."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    cc = ConfChangeV2(
        changes=[single(ConfChangeType.RemoveNode, 2), single(ConfChangeType.RemoveNode, 3)],
        transition=ConfChangeTransition.Auto,
    )
    r.raft.apply_conf_change(cc)
    assert incoming(r) == {1}
    assert outgoing(r) == {1, 2, 3}


def test_learner_log_replication() -> None:
    """A learner receives the leader's entries; its match follows its committed index."""
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    network = Network.new([n1, n2])
    network.peers[1].raft.become_follower(1, INVALID_ID)
    network.peers[2].raft.become_follower(1, INVALID_ID)

    timeout = network.peers[1].raft.election_timeout()
    network.peers[1].raft.set_randomized_election_timeout(timeout)
    for _ in range(timeout):
        network.peers[1].raft.tick()
    network.send([new_message(1, 1, MessageType.MsgBeat, 0)])

    assert network.peers[1].raft.state == StateRole.LEADER
    assert network.peers[2].raft.state == StateRole.FOLLOWER
    assert not network.peers[2].raft.promotable()

    next_committed = network.peers[1].raft.raft_log.committed + 1
    network.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    assert network.peers[1].raft.raft_log.committed == next_committed
    assert network.peers[2].raft.raft_log.committed == next_committed
    assert network.peers[1].raft.prs.get(2).matched == network.peers[2].raft.raft_log.committed


def test_learner_does_not_count_in_quorum() -> None:
    """A learner's acknowledgement does not help commit: voters 1, 2 with learner 3, 2 cut off."""
    nt = Network.new(
        [
            new_test_learner_raft(1, [1, 2], [3], 10, 1, new_storage()),
            new_test_learner_raft(2, [1, 2], [3], 10, 1, new_storage()),
            new_test_learner_raft(3, [1, 2], [3], 10, 1, new_storage()),
        ]
    )
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].raft.state == StateRole.LEADER
    committed = nt.peers[1].raft.raft_log.committed
    nt.cut(1, 2)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    assert nt.peers[3].raft.raft_log.last_index() == committed + 1
    assert nt.peers[1].raft.raft_log.committed == committed
    nt.recover()
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    assert nt.peers[1].raft.raft_log.committed == committed + 1


def test_sole_voter_with_unpersisted_entries_can_become_leader_again() -> None:
    """§5.2 a single voter that steps down with unpersisted entries wins its next election and keeps them."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    r.step(new_message(1, 1, MessageType.MsgHup, 0))
    assert r.raft.state == StateRole.LEADER
    r.persist()
    # A proposal, appended but not yet persisted.
    r.step(new_message(1, 1, MessageType.MsgPropose, 1))
    assert r.raft.raft_log.last_index() == 2
    assert r.raft.raft_log.persisted == 1
    # A message of a higher term (from a peer no longer in the configuration) makes it step down.
    m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
    m.term = r.raft.term + 1
    r.step(m)
    assert r.raft.state == StateRole.FOLLOWER
    # Its campaign needs its own vote only.
    r.step(new_message(1, 1, MessageType.MsgHup, 0))
    assert r.raft.state == StateRole.LEADER
    r.persist()
    assert r.raft.raft_log.committed == 3
    (e,) = r.raft.raft_log.entries(2, 1)
    assert e.data == b"somedata"


def test_commit_after_remove_node() -> None:
    """§6 pending entries commit once a removal lowers the quorum."""
    s = new_storage()
    r = new_test_raft(1, [1, 2], 5, 1, s)
    r.raft.become_candidate()
    r.raft.become_leader()

    cc = ConfChange(change_type=ConfChangeType.RemoveNode, node_id=2)
    r.step(propose_msg(0, conf_change_entry(cc)))
    # Nothing committed yet.
    assert next_ents(r.raft, s) == []
    cc_index = r.raft.raft_log.last_index()

    # Another proposal while the conf change is pending.
    r.step(propose_msg(0, Entry(entry_type=EntryType.EntryNormal, data=b"hello")))

    # Node 2 acks the conf change, committing it.
    m = new_message(2, 0, MessageType.MsgAppendResponse, 0)
    m.index = cc_index
    r.step(m)
    ents = next_ents(r.raft, s)
    assert len(ents) == 2
    assert ents[0].entry_type == EntryType.EntryNormal
    assert not ents[0].data
    assert ents[1].entry_type == EntryType.EntryConfChange

    # Applying the change lowers the quorum: the pending command commits.
    r.raft.apply_conf_change(remove_node(2))
    ents = next_ents(r.raft, s)
    assert len(ents) == 1
    assert ents[0].entry_type == EntryType.EntryNormal
    assert ents[0].data == b"hello"


def test_remove_with_pending_conf_change_is_ignored() -> None:
    """While a removal is pending, a second conf change proposal becomes an empty normal entry."""
    s = new_storage()
    r = new_test_raft(1, [1, 2, 3], 5, 1, s)
    r.raft.become_candidate()
    r.raft.become_leader()
    r.persist()
    r.step(propose_msg(1, conf_change_entry(ConfChange(change_type=ConfChangeType.RemoveNode, node_id=2))))
    pending = r.raft.pending_conf_index
    r.step(propose_msg(1, conf_change_entry(ConfChange(change_type=ConfChangeType.RemoveNode, node_id=3))))
    last = r.raft.raft_log.last_index()
    assert last == pending + 1
    (e,) = r.raft.raft_log.entries(last, None)
    assert e.entry_type == EntryType.EntryNormal
    assert not e.data
    assert r.raft.pending_conf_index == pending


def test_removed_leader_drops_proposals() -> None:
    """A leader removed from the configuration drops new proposals and is no longer promotable."""
    r = new_test_raft(1, [1, 2], 5, 1, new_storage())
    r.raft.become_candidate()
    r.raft.become_leader()
    r.raft.apply_conf_change(remove_node(1))
    assert voter_ids(r) == {2}
    assert not r.raft.promotable()
    with pytest.raises(ProposalDroppedError):
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))


def test_propose_conf_change_by_follower_is_forwarded() -> None:
    """A conf change proposed on a follower reaches the leader, commits and applies everywhere."""
    nt = Network.new([None, None, None])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    nt.send([propose_msg(2, conf_change_entry(ConfChange(change_type=ConfChangeType.AddLearnerNode, node_id=3)))])
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    apply_all(nt)
    for p in nt.peers.values():
        assert voter_ids(p) == {1, 2}
        assert learner_ids(p) == {3}
    assert sorted_cs(nt.storage[1].initial_state().conf_state) == ([1, 2], [3], [], [], False)


# -- joint consensus (§6) ------------------------------------------------------------------------


def test_apply_joint_change_enters_joint_config() -> None:
    """§6 more than one change enters a joint configuration C_old,new."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    cs = r.raft.apply_conf_change(
        cc_v2([single(ConfChangeType.AddNode, 4), single(ConfChangeType.RemoveNode, 3)])
    )
    assert sorted_cs(cs) == ([1, 2, 4], [], [1, 2, 3], [], True)
    assert incoming(r) == {1, 2, 4}
    assert outgoing(r) == {1, 2, 3}
    assert voter_ids(r) == {1, 2, 3, 4}


@pytest.mark.parametrize(
    "transition, wauto_leave",
    [
        (ConfChangeTransition.Auto, None),
        (ConfChangeTransition.Implicit, True),
        (ConfChangeTransition.Explicit, False),
    ],
)
def test_single_change_transition(transition: int, wauto_leave: bool | None) -> None:
    """One change with transition Auto is simple; Implicit and Explicit request joint consensus."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    cs = r.raft.apply_conf_change(cc_v2([single(ConfChangeType.AddLearnerNode, 2)], transition))
    if wauto_leave is None:
        assert sorted_cs(cs) == ([1], [2], [], [], False)
    else:
        assert sorted_cs(cs) == ([1], [2], [1], [], wauto_leave)


def test_joint_demotion_uses_learners_next() -> None:
    """§6 a voter demoted in a joint change stays an outgoing voter (learners_next) until the leave."""
    r = new_test_raft(1, [1], 10, 1, new_storage())
    cs = r.raft.apply_conf_change(
        cc_v2(
            [
                single(ConfChangeType.AddNode, 2),
                single(ConfChangeType.AddLearnerNode, 1),
                single(ConfChangeType.AddLearnerNode, 3),
            ]
        )
    )
    assert sorted_cs(cs) == ([2], [3], [1], [1], True)
    cs = r.raft.apply_conf_change(ConfChangeV2())
    assert sorted_cs(cs) == ([2], [1, 3], [], [], False)


def test_joint_change_twice_is_refused() -> None:
    """Entering a joint configuration from a joint configuration is refused."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.raft.apply_conf_change(cc_v2([single(ConfChangeType.AddNode, 4), single(ConfChangeType.RemoveNode, 3)]))
    with pytest.raises(ConfChangeError):
        r.raft.apply_conf_change(cc_v2([single(ConfChangeType.AddNode, 5), single(ConfChangeType.RemoveNode, 2)]))
    with pytest.raises(ConfChangeError):
        r.raft.apply_conf_change(add_node(5))
    assert incoming(r) == {1, 2, 4}
    assert outgoing(r) == {1, 2, 3}


def test_leave_joint_when_not_joint_is_refused() -> None:
    """Leaving a joint configuration that is not joint is refused."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    with pytest.raises(ConfChangeError):
        r.raft.apply_conf_change(ConfChangeV2())
    assert incoming(r) == {1, 2, 3}
    assert outgoing(r) == set()


def _joint_raft(matches: dict[int, int]) -> Interface:
    """_joint_raft is leader-less node 1 in joint config (incoming 1 2 4, outgoing 1 2 3), at term 2
    with entries 1..3 of term 2, and the given matched indexes."""
    store = MemStorage.new_with_conf_state(conf_state_v2([1, 2, 4], [], [1, 2, 3], [], False))
    store.append([Entry(term=2, index=i) for i in (1, 2, 3)])
    store.set_hardstate(HardState(term=2))
    r = new_test_raft_with_config(new_test_config(1, 10, 1), store)
    for id_, v in matches.items():
        pr = r.raft.prs.get(id_)
        pr.matched = v
        pr.next_idx = v + 1
    return r


@pytest.mark.parametrize(
    "matches, wcommit",
    [
        # Both majorities at 3.
        ({1: 3, 2: 3, 3: 0, 4: 0}, 3),
        # Incoming {1, 2, 4} at 3 (1, 4), outgoing {1, 2, 3} at 1 (2, 3 lag): min is 1.
        ({1: 3, 2: 1, 3: 1, 4: 3}, 1),
        # Outgoing majority only: nothing.
        ({1: 3, 2: 0, 3: 3, 4: 0}, 0),
        # Incoming majority only: nothing.
        ({1: 3, 2: 0, 3: 0, 4: 3}, 0),
        # Each majority at a different index: the smaller one.
        ({1: 3, 2: 2, 3: 3, 4: 0}, 2),
    ],
)
def test_joint_commit_needs_both_majorities(matches: dict[int, int], wcommit: int) -> None:
    """§6 in C_old,new an entry commits only when a majority of each configuration stores it."""
    r = _joint_raft(matches)
    r.raft.maybe_commit()
    assert r.raft.raft_log.committed == wcommit


def test_joint_election_needs_both_majorities() -> None:
    """§6 in C_old,new a candidate needs a majority of each configuration."""
    r = _joint_raft({})
    r.step(new_message(1, 1, MessageType.MsgHup, 0))
    assert r.raft.state == StateRole.CANDIDATE
    term = r.raft.term

    def vote(frm: int) -> None:
        m = new_message(frm, 1, MessageType.MsgRequestVoteResponse, 0)
        m.term = term
        r.step(m)

    # 4 makes a majority of the incoming {1, 2, 4} but not of the outgoing {1, 2, 3}.
    vote(4)
    assert r.raft.state == StateRole.CANDIDATE
    # 3 completes the outgoing majority.
    vote(3)
    assert r.raft.state == StateRole.LEADER


def _joint_network() -> Network:
    """_joint_network is voters 1, 2 and learner 3 with 1 elected and everything applied."""
    nt = Network.new([new_test_learner_raft(i, [1, 2], [3], 10, 1, new_storage()) for i in (1, 2, 3)])
    nt.send([new_message(1, 1, MessageType.MsgHup, 0)])
    assert nt.peers[1].raft.state == StateRole.LEADER
    apply_all(nt)
    return nt


# Promote 3 and demote 2 at once: C_old = {1, 2}, C_new = {1, 3}.
_SWAP = [single(ConfChangeType.AddNode, 3), single(ConfChangeType.AddLearnerNode, 2)]


def test_joint_consensus_auto_leave() -> None:
    """§6 with auto-leave, the leader proposes C_new itself once C_old,new is applied."""
    nt = _joint_network()
    leader = nt.peers[1]
    nt.send([propose_msg(1, conf_change_entry(cc_v2(_SWAP)))])
    enter_index = leader.raft.raft_log.last_index()
    assert leader.raft.pending_conf_index == enter_index
    assert leader.raft.raft_log.committed == enter_index
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])

    # Apply C_old,new everywhere; the leader appends the empty leave entry while applying.
    apply_all(nt)
    for p in nt.peers.values():
        assert incoming(p) == {1, 3}
        assert outgoing(p) == {1, 2}
        assert set(p.raft.prs.conf().learners_next) == {2}
        assert learner_ids(p) == set()
        assert p.raft.prs.conf().auto_leave
    leave_index = enter_index + 1
    assert leader.raft.raft_log.last_index() == leave_index
    assert leader.raft.pending_conf_index == leave_index
    (leave,) = leader.raft.raft_log.entries(leave_index, None)
    assert leave.entry_type == EntryType.EntryConfChangeV2
    assert ConfChangeV2.FromString(leave.data) == ConfChangeV2()

    # Replicate and commit the leave entry; it needs acks from both 2 (C_old) and 3 (C_new).
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    assert leader.raft.raft_log.committed == leave_index
    apply_all(nt)
    for id_, p in nt.peers.items():
        assert incoming(p) == {1, 3}
        assert outgoing(p) == set()
        assert learner_ids(p) == {2}
        assert set(p.raft.prs.conf().learners_next) == set()
        assert not p.raft.prs.conf().auto_leave
        assert sorted_cs(nt.storage[id_].initial_state().conf_state) == ([1, 3], [2], [], [], False)
    assert not nt.peers[2].raft.promotable()
    assert nt.peers[3].raft.promotable()
    # No second leave entry.
    assert leader.raft.raft_log.last_index() == leave_index


def test_joint_consensus_explicit_leave() -> None:
    """§6 with an explicit transition, C_old,new stays until the application proposes leaving it."""
    nt = _joint_network()
    leader = nt.peers[1]
    nt.send([propose_msg(1, conf_change_entry(cc_v2(_SWAP, ConfChangeTransition.Explicit)))])
    enter_index = leader.raft.raft_log.last_index()
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    apply_all(nt)
    for p in nt.peers.values():
        assert incoming(p) == {1, 3}
        assert outgoing(p) == {1, 2}
        assert not p.raft.prs.conf().auto_leave
    # No automatic leave entry.
    assert leader.raft.raft_log.last_index() == enter_index

    # A further change is refused while joint: it becomes an empty normal entry.
    nt.send([propose_msg(1, conf_change_entry(add_node(2)))])
    (e,) = leader.raft.raft_log.entries(enter_index + 1, None)
    assert e.entry_type == EntryType.EntryNormal
    assert not e.data
    assert leader.raft.pending_conf_index == enter_index
    apply_all(nt)
    assert outgoing(leader) == {1, 2}

    # The explicit leave: an empty ConfChangeV2.
    nt.send([propose_msg(1, conf_change_entry(ConfChangeV2(context=b"manual")))])
    leave_index = leader.raft.raft_log.last_index()
    assert leader.raft.pending_conf_index == leave_index
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    assert leader.raft.raft_log.committed == leave_index
    apply_all(nt)
    for p in nt.peers.values():
        assert incoming(p) == {1, 3}
        assert outgoing(p) == set()
        assert learner_ids(p) == {2}


def test_empty_conf_change_outside_joint_is_refused() -> None:
    """An empty ConfChangeV2 (leave joint) proposed outside joint consensus becomes a normal entry."""
    nt = _joint_network()
    leader = nt.peers[1]
    nt.send([propose_msg(1, conf_change_entry(ConfChangeV2()))])
    (e,) = leader.raft.raft_log.entries(leader.raft.raft_log.last_index(), None)
    assert e.entry_type == EntryType.EntryNormal
    assert not e.data


@pytest.mark.parametrize("isolated, stored_by", [(2, 3), (3, 2)], ids=["old_majority", "new_majority"])
def test_joint_commit_needs_both_majorities_in_network(isolated: int, stored_by: int) -> None:
    """§6 while joint, cutting off the only other member of C_old (2) or of C_new (3) blocks commitment."""
    nt = _joint_network()
    leader = nt.peers[1]
    nt.send([propose_msg(1, conf_change_entry(cc_v2(_SWAP, ConfChangeTransition.Explicit)))])
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    apply_all(nt)
    assert outgoing(leader) == {1, 2}

    committed = leader.raft.raft_log.committed
    nt.isolate(isolated)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    # The other joint member stored it, the isolated one did not: not committed.
    assert nt.peers[stored_by].raft.raft_log.last_index() == committed + 1
    assert leader.raft.raft_log.committed == committed
    nt.recover()
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    assert leader.raft.raft_log.committed == committed + 1


def test_auto_leave_after_leader_change() -> None:
    """§6 a new leader that applied C_old,new (auto-leave) proposes C_new once its first entry applies."""
    nt = _joint_network()
    nt.send([propose_msg(1, conf_change_entry(cc_v2(_SWAP)))])
    nt.send([new_message(1, 1, MessageType.MsgBeat, 0)])
    enter_index = nt.peers[1].raft.raft_log.committed
    # Followers apply C_old,new; the old leader is cut off before it applies it.
    for id_ in (2, 3):
        apply_committed(nt.peers[id_], nt.storage[id_])
        assert outgoing(nt.peers[id_]) == {1, 2}
    nt.isolate(1)
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    # 3 needs votes from both C_new {1, 3} and C_old {1, 2}: without 1 it cannot win.
    assert nt.peers[3].raft.state == StateRole.CANDIDATE
    nt.recover()
    nt.send([new_message(3, 3, MessageType.MsgHup, 0)])
    leader = nt.peers[3]
    assert leader.raft.state == StateRole.LEADER
    assert leader.raft.pending_conf_index == enter_index
    # The new leader's empty entry commits; applying it makes the leader propose the leave entry.
    nt.send([new_message(3, 3, MessageType.MsgBeat, 0)])
    assert leader.raft.raft_log.committed == enter_index + 1
    apply_all(nt)
    last = leader.raft.raft_log.last_index()
    assert last == enter_index + 2
    (leave,) = leader.raft.raft_log.entries(last, None)
    assert leave.entry_type == EntryType.EntryConfChangeV2
    assert ConfChangeV2.FromString(leave.data) == ConfChangeV2()
    assert leader.raft.pending_conf_index == last
    nt.send([new_message(3, 3, MessageType.MsgBeat, 0)])
    assert leader.raft.raft_log.committed == last
    apply_all(nt)
    for p in nt.peers.values():
        assert outgoing(p) == set()
        assert incoming(p) == {1, 3}
        assert learner_ids(p) == {2}


def test_restore_with_joint_config() -> None:
    """A snapshot of a joint configuration restores C_old,new with its learners_next and auto_leave."""
    s = new_snapshot(11, 11, [1, 3])
    s.metadata.conf_state.voters_outgoing.extend([1, 2])
    s.metadata.conf_state.learners_next.append(2)
    s.metadata.conf_state.auto_leave = True
    r = new_test_raft(3, [1, 2], 10, 1, new_storage())
    assert r.raft.restore(s)
    assert incoming(r) == {1, 3}
    assert outgoing(r) == {1, 2}
    assert set(r.raft.prs.conf().learners_next) == {2}
    assert r.raft.prs.conf().auto_leave
    assert r.raft.promotable()
    assert sorted_cs(r.raft.prs.conf().to_conf_state()) == ([1, 3], [], [1, 2], [2], True)


def test_raft_starts_in_joint_config_from_storage() -> None:
    """A Raft built on a storage whose ConfState is joint starts in that joint configuration."""
    store = MemStorage.new_with_conf_state(conf_state_v2([1, 3], [], [1, 2], [2], True))
    r = new_test_raft_with_config(new_test_config(1, 10, 1), store)
    assert incoming(r) == {1, 3}
    assert outgoing(r) == {1, 2}
    assert set(r.raft.prs.conf().learners_next) == {2}
    assert r.raft.prs.conf().auto_leave
    for id_ in (1, 2, 3):
        assert r.raft.prs.get(id_) is not None
