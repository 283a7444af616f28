"""Leadership transfer tests (Raft thesis §3.10), after the leader transfer cases of raft-rs's
test_raft.rs, plus the MsgTimeoutNow paths of raft-rs's handle_transfer_leader and step_follower."""

from __future__ import annotations

import pytest

from raftstore.raft import Message, MessageType, ProposalDroppedError
from raftstore.raft.raft import StateRole
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    Interface,
    Network,
    conf_state,
    new_entry,
    new_message,
    new_message_with_entries,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
    new_test_raft_with_prevote,
    next_ents,
    remove_node,
)


def hup(id: int) -> Message:
    """hup is the local MsgHup that makes node id campaign."""
    return new_message(id, id, MessageType.MsgHup, 0)


def transfer(transferee: int, to: int) -> Message:
    """transfer asks node `to` to transfer leadership to transferee (MsgTransferLeader from it)."""
    return new_message(transferee, to, MessageType.MsgTransferLeader, 0)


def check_leader_transfer_state(r: Interface, state: StateRole, lead: int) -> None:
    """check_leader_transfer_state: r has the given role and leader, and no transfer is pending."""
    assert r.state == state and r.leader_id == lead, (
        f"after transferring, node has state {r.state} lead {r.leader_id}, want state {state} lead {lead}"
    )
    assert r.lead_transferee is None


def elected_three() -> Network:
    """elected_three is a fresh three-node network with node 1 elected leader at term 1."""
    nt = Network.new([None, None, None])
    nt.send([hup(1)])
    assert nt.peers[1].leader_id == 1
    return nt


def test_leader_transfer_to_uptodate_node() -> None:
    """thesis §3.10: leadership moves to an up-to-date follower, and back after more replication."""
    nt = elected_three()

    # Transfer leadership to peer 2.
    nt.send([transfer(2, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 2)

    # After some log replication, transfer leadership back to peer 1.
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([transfer(1, 2)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_to_uptodate_node_from_follower() -> None:
    """thesis §3.10: a transfer request given to a follower is forwarded to the leader and succeeds."""
    nt = elected_three()

    # Transfer leadership to peer 2, asking peer 2 itself.
    nt.send([transfer(2, 2)])
    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 2)

    # After some log replication, transfer leadership back to peer 1, asking peer 1.
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([transfer(1, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_with_check_quorum() -> None:
    """thesis §3.10 + §6.2: a transfer succeeds even while the current leader's lease holds."""
    nt = Network.new([None, None, None])
    for i in range(1, 4):
        r = nt.peers[i]
        r.check_quorum = True
        r.set_randomized_election_timeout(r.election_timeout() + i)

    b_election_timeout = nt.peers[2].election_timeout()
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)

    # Let peer 2's election_elapsed reach the timeout so that it can vote for peer 1.
    for _ in range(b_election_timeout):
        nt.peers[2].tick()
    nt.send([hup(1)])

    assert nt.peers[1].leader_id == 1

    # Transfer leadership to 2.
    nt.send([transfer(2, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 2)

    # After some log replication, transfer leadership back to 1.
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.send([transfer(1, 2)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_to_slow_follower() -> None:
    """thesis §3.10: the leader first brings a lagging transferee up to date, then hands over."""
    nt = elected_three()

    nt.isolate(3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    nt.recover()
    assert nt.peers[1].prs.get(3).matched == 1

    # Transfer leadership to 3 while it lacks a log entry.
    nt.send([transfer(3, 1)])

    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 3)


def test_leader_transfer_after_snapshot() -> None:
    """thesis §3.10 + §5: a transferee needing a snapshot gets it, then takes over."""
    nt = elected_three()

    nt.isolate(3)

    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    next_ents(nt.peers[1], nt.storage[1])
    nt.storage[1].wl().commit_to(nt.peers[1].raft_log.applied)
    nt.storage[1].wl().compact(nt.peers[1].raft_log.applied)

    nt.recover()
    assert nt.peers[1].prs.get(3).matched == 1

    # Transfer leadership to 3 while it lacks a snapshot.
    nt.send([transfer(3, 1)])
    # A heartbeat response from 3 makes the leader send it a snapshot.
    nt.send([new_message(3, 1, MessageType.MsgHeartbeatResponse, 0)])

    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 3)


def test_leader_transfer_to_self() -> None:
    """thesis §3.10: transferring leadership to the leader itself is a no-op."""
    nt = elected_three()

    nt.send([transfer(1, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_to_non_existing_node() -> None:
    """thesis §3.10: transferring leadership to a node outside the group is a no-op."""
    nt = elected_three()

    nt.send([transfer(4, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_to_learner() -> None:
    """thesis §3.10: transferring leadership to a learner (which cannot lead) is a no-op."""
    s = MemStorage.new_with_conf_state(conf_state([1], [2]))
    leader = new_test_raft_with_config(new_test_config(1, 10, 1), s)

    s = MemStorage.new_with_conf_state(conf_state([1], [2]))
    learner = new_test_raft_with_config(new_test_config(2, 10, 1), s)

    nt = Network.new([leader, learner])
    nt.send([hup(1)])

    nt.send([transfer(2, 1)])
    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_timeout() -> None:
    """thesis §3.10: a transfer that does not complete within an election timeout is aborted."""
    nt = elected_three()

    nt.isolate(3)

    # Transfer leadership to the isolated node and wait for the timeout.
    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3
    heartbeat_timeout = nt.peers[1].heartbeat_timeout()
    election_timeout = nt.peers[1].election_timeout()
    for _ in range(heartbeat_timeout):
        nt.peers[1].tick()
    assert nt.peers[1].lead_transferee == 3
    for _ in range(election_timeout - heartbeat_timeout):
        nt.peers[1].tick()

    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_ignore_proposal() -> None:
    """thesis §3.10: the leader refuses proposals while a transfer is pending."""
    nt = elected_three()

    nt.isolate(3)

    # Transfer leadership to the isolated node so the transfer stays pending, then propose.
    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    with pytest.raises(ProposalDroppedError):
        nt.peers[1].step(new_message(1, 1, MessageType.MsgPropose, 1))

    assert nt.peers[1].prs.get(1).matched == 1


def test_leader_transfer_receive_higher_term_vote() -> None:
    """thesis §3.10: a pending transfer ends when the leader steps down for a higher-term election."""
    nt = elected_three()

    nt.isolate(3)

    # Transfer leadership to the isolated node so the transfer stays pending.
    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    nt.send([new_message_with_entries(2, 2, MessageType.MsgHup, [new_entry(1, 2, None)])])

    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 2)


def test_leader_transfer_remove_node() -> None:
    """thesis §3.10 + §4: removing the transferee aborts the pending transfer."""
    nt = elected_three()

    nt.ignore(MessageType.MsgTimeoutNow)

    # The transferee is removed while the transfer is pending.
    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    nt.peers[1].apply_conf_change(remove_node(3))

    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_back() -> None:
    """thesis §3.10: a transfer back to the leader itself cancels the pending transfer."""
    nt = elected_three()

    nt.isolate(3)

    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    # Transfer leadership back to self.
    nt.send([transfer(1, 1)])

    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_leader_transfer_second_transfer_to_another_node() -> None:
    """thesis §3.10: a second transfer to another node replaces the pending one and succeeds."""
    nt = elected_three()

    nt.isolate(3)

    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    # Transfer leadership to another node.
    nt.send([transfer(2, 1)])

    check_leader_transfer_state(nt.peers[1], StateRole.FOLLOWER, 2)


def test_leader_transfer_second_transfer_to_same_node() -> None:
    """thesis §3.10: a repeated transfer to the same node does not extend the pending one's timeout."""
    nt = elected_three()

    nt.isolate(3)

    nt.send([transfer(3, 1)])
    assert nt.peers[1].lead_transferee == 3

    heartbeat_timeout = nt.peers[1].heartbeat_timeout()
    for _ in range(heartbeat_timeout):
        nt.peers[1].tick()

    # A second transfer request to the same node.
    nt.send([transfer(3, 1)])

    election_timeout = nt.peers[1].election_timeout()
    for _ in range(election_timeout - heartbeat_timeout):
        nt.peers[1].tick()

    check_leader_transfer_state(nt.peers[1], StateRole.LEADER, 1)


def test_transfer_non_member() -> None:
    """thesis §3.10: a MsgTimeoutNow at a node removed from the group does nothing."""
    raft = new_test_raft(1, [2, 3, 4], 5, 1, new_storage())
    raft.step(new_message(2, 1, MessageType.MsgTimeoutNow, 0))

    raft.step(new_message(2, 1, MessageType.MsgRequestVoteResponse, 0))
    raft.step(new_message(3, 1, MessageType.MsgRequestVoteResponse, 0))
    assert raft.state == StateRole.FOLLOWER


def test_leader_transfer_sends_timeout_now_to_uptodate_node() -> None:
    """thesis §3.10: the leader sends MsgTimeoutNow at once to a transferee whose log is up to date."""
    nt = elected_three()

    nt.peers[1].step(transfer(2, 1))
    assert nt.peers[1].lead_transferee == 2
    msgs = nt.peers[1].read_messages()
    want = new_message(1, 2, MessageType.MsgTimeoutNow, 0)
    want.term = 1
    assert msgs == [want]


def test_leader_transfer_to_lagging_node_sends_append_first() -> None:
    """thesis §3.10: a lagging transferee first gets the missing entries, not MsgTimeoutNow."""
    nt = elected_three()
    nt.isolate(3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    nt.recover()

    nt.peers[1].step(transfer(3, 1))
    assert nt.peers[1].lead_transferee == 3
    msgs = nt.peers[1].read_messages()
    assert [(m.msg_type, m.to) for m in msgs] == [(MessageType.MsgAppend, 3)]


def test_timeout_now_skips_pre_vote() -> None:
    """thesis §3.10 + §9.6: a transferee campaigns with a real vote at once, even with pre-vote on."""
    r = new_test_raft_with_prevote(2, [1, 2, 3], 10, 1, new_storage(), True)
    r.become_follower(1, 1)

    m = new_message(1, 2, MessageType.MsgTimeoutNow, 0)
    m.term = 1
    r.step(m)

    assert r.state == StateRole.CANDIDATE
    assert r.term == 2
    msgs = r.read_messages()
    assert sorted(m.to for m in msgs) == [1, 3]
    assert all(m.msg_type == MessageType.MsgRequestVote and m.term == 2 for m in msgs)
