"""Leader election tests (Raft paper §5.2, §5.4.1; thesis §9.6 pre-vote, §6.2 check quorum), after the
election cases of raft-rs's test_raft.rs."""

from __future__ import annotations

import pytest

from raftstore.raft import (
    INVALID_ID,
    ConfChange,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfigInvalidError,
    Entry,
    EntryType,
    InvariantError,
    Message,
    MessageType,
    ProposalDroppedError,
)
from raftstore.raft.config import Config
from raftstore.raft.raft import StateRole
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    NOP_STEPPER,
    SOME_DATA,
    Interface,
    Network,
    add_node,
    assert_raft_log,
    conf_change,
    conf_change_into_v2,
    conf_change_v2,
    conf_state,
    empty_entry,
    ents_with_config,
    new_entry,
    new_conf_change_single,
    new_message,
    new_message_with_entries,
    new_storage,
    new_test_config,
    new_test_learner_raft,
    new_test_learner_raft_with_prevote,
    new_test_raft,
    new_test_raft_with_config,
    new_test_raft_with_prevote,
    remove_node,
    voted_with_config,
)


def vote_resp_msg_type(t: int) -> int:
    """vote_resp_msg_type maps a vote request type to its response type."""
    if t == MessageType.MsgRequestVote:
        return MessageType.MsgRequestVoteResponse
    if t == MessageType.MsgRequestPreVote:
        return MessageType.MsgRequestPreVoteResponse
    raise AssertionError(f"not a vote message: {t}")


def hup(id: int) -> Message:
    """hup is the local MsgHup that makes node id campaign."""
    return new_message(id, id, MessageType.MsgHup, 0)


def prevote_config() -> Config:
    """prevote_config is Network.default_config with pre_vote on."""
    config = Network.default_config()
    config.pre_vote = True
    return config


def tick_n(r: Interface, n: int) -> None:
    """tick_n ticks r n times."""
    for _ in range(n):
        r.tick()


# §5.2 leader election in a network.


def check_leader_election(pre_vote: bool) -> None:
    """check_leader_election: a node wins with a quorum of live voters, else stays campaigning."""
    config = Network.default_config()
    config.pre_vote = pre_vote
    peers5 = [1, 2, 3, 4, 5]
    tests = [
        (Network.new_with_config([None, None, None], config), StateRole.LEADER, 1),
        (Network.new_with_config([None, None, NOP_STEPPER], config), StateRole.LEADER, 1),
        (Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER], config), StateRole.CANDIDATE, 1),
        (Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER, None], config), StateRole.CANDIDATE, 1),
        (
            Network.new_with_config([None, NOP_STEPPER, NOP_STEPPER, None, None], config),
            StateRole.LEADER,
            1,
        ),
        # three logs further along than 0, but in the same term so rejections are returned instead of
        # the votes being ignored.
        (
            Network.new_with_config(
                [
                    None,
                    ents_with_config([1], pre_vote, 2, peers5),
                    ents_with_config([1], pre_vote, 3, peers5),
                    ents_with_config([1, 1], pre_vote, 4, peers5),
                    None,
                ],
                config,
            ),
            StateRole.FOLLOWER,
            1,
        ),
    ]
    for i, (network, state, term) in enumerate(tests):
        network.send([Message(from_=1, to=1, msg_type=MessageType.MsgHup)])
        raft = network.peers[1]
        if state == StateRole.CANDIDATE and pre_vote:
            # With pre-vote, an election that cannot complete leaves the node a pre-candidate without
            # advancing its term.
            exp_state, exp_term = StateRole.PRE_CANDIDATE, 0
        else:
            exp_state, exp_term = state, term
        assert raft.state == exp_state, f"#{i}: state = {raft.state}, want {exp_state}"
        assert raft.term == exp_term, f"#{i}: term = {raft.term}, want {exp_term}"


def test_leader_election() -> None:
    """§5.2: a candidate wins with votes from a majority and loses or waits otherwise."""
    check_leader_election(False)


def test_leader_election_pre_vote() -> None:
    """§5.2 + thesis §9.6: with pre-vote, an election that cannot win leaves the term untouched."""
    check_leader_election(True)


def check_leader_cycle(pre_vote: bool) -> None:
    """check_leader_cycle: each node in turn campaigns and is elected, from a non-clean state."""
    config = Network.default_config()
    config.pre_vote = pre_vote
    network = Network.new_with_config([None, None, None], config)
    for campaigner_id in range(1, 4):
        network.send([hup(campaigner_id)])
        for sm in network.peers.values():
            if sm.id == campaigner_id:
                assert sm.state == StateRole.LEADER, (
                    f"pre_vote={pre_vote}: campaigning node {sm.id} state = {sm.state}, want Leader"
                )
            else:
                assert sm.state == StateRole.FOLLOWER, (
                    f"pre_vote={pre_vote}: after campaign of {campaigner_id}, node {sm.id} state = {sm.state}"
                )


def test_leader_cycle() -> None:
    """§5.2: every node of a cluster can campaign and be elected in turn."""
    check_leader_cycle(False)


def test_leader_cycle_pre_vote() -> None:
    """§5.2 + thesis §9.6: every node can be elected in turn with pre-vote on."""
    check_leader_cycle(True)


def check_leader_election_overwrite_newer_logs(pre_vote: bool) -> None:
    """check_leader_election_overwrite_newer_logs: a leader without the newest-term entries overwrites them."""
    # Node 1 won term 1 and replicated an entry to node 2 only; node 3 won term 2 and wrote an entry
    # nobody else got; nodes 4 and 5 voted for 3 in term 2 but got no entries.
    peers = [1, 2, 3, 4, 5]
    config = Network.default_config()
    config.pre_vote = pre_vote
    network = Network.new_with_config(
        [
            ents_with_config([1], pre_vote, 1, peers),
            ents_with_config([1], pre_vote, 2, peers),
            ents_with_config([2], pre_vote, 3, peers),
            voted_with_config(3, 2, pre_vote, 4, peers),
            voted_with_config(3, 2, pre_vote, 5, peers),
        ],
        config,
    )

    # Node 1 campaigns and fails: a quorum knows about term 2. Its term is pushed to 2.
    network.send([hup(1)])
    assert network.peers[1].state == StateRole.FOLLOWER
    assert network.peers[1].term == 2

    # Node 1 campaigns again with a higher term and wins.
    network.send([hup(1)])
    assert network.peers[1].state == StateRole.LEADER
    assert network.peers[1].term == 3

    # All nodes agree on term 1 at index 1 and term 3 at index 2.
    for id, sm in network.peers.items():
        entries = sm.raft_log.all_entries()
        assert len(entries) == 2, f"node {id}: {len(entries)} entries, want 2"
        assert entries[0].term == 1, f"node {id}: term at index 1 = {entries[0].term}, want 1"
        assert entries[1].term == 3, f"node {id}: term at index 2 = {entries[1].term}, want 3"


def test_leader_election_overwrite_newer_logs() -> None:
    """§5.4.1: an elected leader lacking newer-term uncommitted entries overwrites them on followers."""
    check_leader_election_overwrite_newer_logs(False)


def test_leader_election_overwrite_newer_logs_pre_vote() -> None:
    """§5.4.1 + thesis §9.6: newer-term uncommitted entries are overwritten with pre-vote on too."""
    check_leader_election_overwrite_newer_logs(True)


def check_vote_from_any_state(vt: int) -> None:
    """check_vote_from_any_state: a vote for a higher term is granted whatever the voter's role."""
    for state in (StateRole.FOLLOWER, StateRole.CANDIDATE, StateRole.PRE_CANDIDATE, StateRole.LEADER):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.term = 1
        if state == StateRole.FOLLOWER:
            r.become_follower(r.term, 3)
        elif state == StateRole.PRE_CANDIDATE:
            r.become_pre_candidate()
        elif state == StateRole.CANDIDATE:
            r.become_candidate()
        else:
            r.become_candidate()
            r.become_leader()
        # Setting the role above may have advanced the term.
        orig_term = r.term
        new_term = r.term + 1

        msg = new_message(2, 1, vt, 0)
        msg.term = new_term
        msg.log_term = new_term
        msg.index = 42
        r.step(msg)
        assert len(r.msgs) == 1, f"{vt},{state}: {len(r.msgs)} response messages, want 1: {r.msgs}"
        resp = r.msgs[0]
        assert resp.msg_type == vote_resp_msg_type(vt), f"{vt},{state}: response {resp.msg_type}"
        assert not resp.reject, f"{vt},{state}: unexpected rejection"

        if vt == MessageType.MsgRequestVote:
            # A real vote resets the state and the term.
            assert r.state == StateRole.FOLLOWER, f"{vt},{state}: state {r.state}, want Follower"
            assert r.term == new_term, f"{vt},{state}: term {r.term}, want {new_term}"
            assert r.vote == 2, f"{vt},{state}: vote {r.vote}, want 2"
        else:
            # A pre-vote changes nothing.
            assert r.state == state, f"{vt},{state}: state {r.state}, want {state}"
            assert r.term == orig_term, f"{vt},{state}: term {r.term}, want {orig_term}"
            # Followers and pre-candidates have not voted; candidates and leaders voted for themselves.
            assert r.vote in (INVALID_ID, 1), f"{vt},{state}: vote {r.vote}, want 0 or 1"


def test_vote_from_any_state() -> None:
    """§5.1/§5.2: a RequestVote of a higher term is granted from any role, which steps down."""
    check_vote_from_any_state(MessageType.MsgRequestVote)


def test_prevote_from_any_state() -> None:
    """thesis §9.6: a PreVote of a higher term is granted from any role and changes no state."""
    check_vote_from_any_state(MessageType.MsgRequestPreVote)


def test_dueling_candidates() -> None:
    """§5.2/§5.4.1: a rejoining candidate with a higher term but a shorter log disrupts, yet cannot win."""
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())

    nt = Network.new([a, b, c])
    nt.cut(1, 3)

    nt.send([hup(1)])
    nt.send([hup(3)])

    # 1 becomes leader with the votes of 1 and 2.
    assert nt.peers[1].state == StateRole.LEADER
    # 3 stays candidate: its own vote and a rejection from 2.
    assert nt.peers[3].state == StateRole.CANDIDATE

    nt.recover()

    # 3 campaigns with a higher term: it disrupts leader 1, but 1 and 2 reject it (shorter log).
    nt.send([hup(3)])

    assert_peers(
        nt,
        [
            (1, StateRole.FOLLOWER, 2, (1, 0, 1)),
            (2, StateRole.FOLLOWER, 2, (1, 0, 1)),
            (3, StateRole.FOLLOWER, 2, (0, 0, 0)),
        ],
    )


def test_dueling_pre_candidates() -> None:
    """thesis §9.6: with pre-vote a rejoining node with a stale log does not disrupt the leader."""
    a = new_test_raft_with_prevote(1, [1, 2, 3], 10, 1, new_storage(), True)
    b = new_test_raft_with_prevote(2, [1, 2, 3], 10, 1, new_storage(), True)
    c = new_test_raft_with_prevote(3, [1, 2, 3], 10, 1, new_storage(), True)

    nt = Network.new_with_config([a, b, c], prevote_config())
    nt.cut(1, 3)

    nt.send([hup(1)])
    nt.send([hup(3)])

    # 1 becomes leader with the votes of 1 and 2.
    assert nt.peers[1].state == StateRole.LEADER
    # 3 campaigns, then reverts to follower when its pre-vote is rejected.
    assert nt.peers[3].state == StateRole.FOLLOWER

    nt.recover()

    # 3 campaigns again; with pre-vote it does not disrupt the leader.
    nt.send([hup(3)])

    assert_peers(
        nt,
        [
            (1, StateRole.LEADER, 1, (1, 0, 1)),
            (2, StateRole.FOLLOWER, 1, (1, 0, 1)),
            (3, StateRole.FOLLOWER, 1, (0, 0, 0)),
        ],
    )


def assert_peers(nt: Network, want: list[tuple[int, StateRole, int, tuple[int, int, int]]]) -> None:
    """assert_peers checks each (id, state, term, (committed, applied, last)) against the network's peers."""
    for i, (id, state, term, (committed, applied, last)) in enumerate(want):
        assert nt.peers[id].state == state, f"#{i}: state = {nt.peers[id].state}, want {state}"
        assert nt.peers[id].term == term, f"#{i}: term = {nt.peers[id].term}, want {term}"
        assert_raft_log(f"#{i}: ", nt.peers[id].raft_log, committed, applied, last)


def test_single_node_candidate() -> None:
    """§5.2: a single-node cluster elects itself at once."""
    tt = Network.new([None])
    tt.send([hup(1)])
    assert tt.peers[1].state == StateRole.LEADER


def test_sinle_node_pre_candidate() -> None:
    """thesis §9.6: a single-node cluster with pre-vote elects itself at once."""
    tt = Network.new_with_config([None], prevote_config())
    tt.send([hup(1)])
    assert tt.peers[1].state == StateRole.LEADER


def test_proposal_without_leader_raises() -> None:
    """§5.3: a follower that knows no leader drops a proposal with ProposalDroppedError."""
    nw = Network.new([None, NOP_STEPPER, NOP_STEPPER])
    nw.send([hup(1)])
    assert nw.peers[1].state == StateRole.CANDIDATE
    with pytest.raises(ProposalDroppedError):
        nw.peers[1].step(new_message(1, 1, MessageType.MsgPropose, 1))


# §5.2 randomized election timeouts.


def test_election_tick_range() -> None:
    """§5.2: randomized timeouts lie in [min_election_tick, max_election_tick), validated by Config."""
    cfg = new_test_config(1, 10, 1)
    s = MemStorage.new_with_conf_state(conf_state([1, 2, 3], []))
    raft = new_test_raft_with_config(cfg, s).raft
    assert raft is not None
    for _ in range(1000):
        raft.reset_randomized_election_timeout()
        randomized_timeout = raft.randomized_election_timeout
        assert cfg.election_tick <= randomized_timeout < 2 * cfg.election_tick

    cfg.min_election_tick = cfg.election_tick
    cfg.validate()

    # Too small election tick.
    cfg.min_election_tick = cfg.election_tick - 1
    with pytest.raises(ConfigInvalidError):
        cfg.validate()

    # max_election_tick must be larger than min_election_tick.
    cfg.min_election_tick = cfg.election_tick
    cfg.max_election_tick = cfg.election_tick
    with pytest.raises(ConfigInvalidError):
        cfg.validate()

    cfg.max_election_tick = cfg.election_tick + 1
    raft = new_test_raft_with_config(cfg, new_storage()).raft
    assert raft is not None
    for _ in range(100):
        raft.reset_randomized_election_timeout()
        assert raft.randomized_election_timeout == cfg.election_tick


# §5.2/§5.4.1 vote requests.


def check_recv_msg_request_vote(msg_type: int) -> None:
    """check_recv_msg_request_vote: votes go to candidates at least as up to date, once per term."""
    tests = [
        (StateRole.FOLLOWER, 0, 0, INVALID_ID, True),
        (StateRole.FOLLOWER, 0, 1, INVALID_ID, True),
        (StateRole.FOLLOWER, 0, 2, INVALID_ID, True),
        (StateRole.FOLLOWER, 0, 3, INVALID_ID, False),
        (StateRole.FOLLOWER, 1, 0, INVALID_ID, True),
        (StateRole.FOLLOWER, 1, 1, INVALID_ID, True),
        (StateRole.FOLLOWER, 1, 2, INVALID_ID, True),
        (StateRole.FOLLOWER, 1, 3, INVALID_ID, False),
        (StateRole.FOLLOWER, 2, 0, INVALID_ID, True),
        (StateRole.FOLLOWER, 2, 1, INVALID_ID, True),
        (StateRole.FOLLOWER, 2, 2, INVALID_ID, False),
        (StateRole.FOLLOWER, 2, 3, INVALID_ID, False),
        (StateRole.FOLLOWER, 3, 0, INVALID_ID, True),
        (StateRole.FOLLOWER, 3, 1, INVALID_ID, True),
        (StateRole.FOLLOWER, 3, 2, INVALID_ID, False),
        (StateRole.FOLLOWER, 3, 3, INVALID_ID, False),
        (StateRole.FOLLOWER, 3, 2, 2, False),
        (StateRole.FOLLOWER, 3, 2, 1, True),
        (StateRole.LEADER, 3, 3, 1, True),
        (StateRole.PRE_CANDIDATE, 3, 3, 1, True),
        (StateRole.CANDIDATE, 3, 3, 1, True),
    ]
    for j, (state, index, log_term, vote_for, wreject) in enumerate(tests):
        store = MemStorage.new_with_conf_state(conf_state([1], []))
        store.append([empty_entry(2, 1), empty_entry(2, 2)])
        sm = new_test_raft(1, [1], 10, 1, store)
        sm.state = state
        sm.vote = vote_for

        m = new_message(2, 0, msg_type, 0)
        m.index = index
        m.log_term = log_term
        # Both terms are the same: only the logs and the vote already given matter here.
        term = max(sm.raft_log.last_term(), log_term)
        m.term = term
        sm.term = term
        sm.step(m)

        msgs = sm.read_messages()
        assert len(msgs) == 1, f"#{j}: msgs count = {len(msgs)}, want 1"
        assert msgs[0].msg_type == vote_resp_msg_type(msg_type), f"#{j}: m.type = {msgs[0].msg_type}"
        assert msgs[0].reject == wreject, f"#{j}: reject = {msgs[0].reject}, want {wreject}"


def test_recv_msg_request_vote() -> None:
    """§5.2/§5.4.1: a vote is granted once per term and only to a candidate at least as up to date."""
    check_recv_msg_request_vote(MessageType.MsgRequestVote)


def test_recv_msg_request_pre_vote() -> None:
    """thesis §9.6: a pre-vote at the voter's own term is granted exactly when a vote would be (etcd's
    TestRecvMsgPreVote runs the table of TestRecvMsgVote): only the future-term pre-vote may pass a
    vote already given."""
    check_recv_msg_request_vote(MessageType.MsgRequestPreVote)


@pytest.mark.parametrize(
    ("msg_type", "msg_term", "vote", "leader", "wgrant", "wvote"),
    [
        # No vote given and no leader known in this term: grant.
        (MessageType.MsgRequestVote, 2, INVALID_ID, INVALID_ID, True, 2),
        # A leader of this term is known: a same-term vote is refused even though no vote was given.
        (MessageType.MsgRequestVote, 2, INVALID_ID, 3, False, INVALID_ID),
        (MessageType.MsgRequestPreVote, 2, INVALID_ID, 3, False, INVALID_ID),
        # The vote was given to another candidate: refused.
        (MessageType.MsgRequestVote, 2, 3, INVALID_ID, False, 3),
        (MessageType.MsgRequestPreVote, 2, 3, INVALID_ID, False, 3),
        # A repeat of the vote given is granted again, leader known or not (the response was lost).
        (MessageType.MsgRequestVote, 2, 2, INVALID_ID, True, 2),
        (MessageType.MsgRequestVote, 2, 2, 2, True, 2),
        # A pre-vote for a future term is granted whatever was voted and whoever leads now; a pre-vote
        # records no vote.
        (MessageType.MsgRequestPreVote, 3, 3, 3, True, 3),
    ],
)
def test_vote_request_respects_known_leader(
    msg_type: int, msg_term: int, vote: int, leader: int, wgrant: bool, wvote: int
) -> None:
    """§5.2 and §6: a follower grants a vote in its term only if it voted for that candidate already,
    or voted for nobody and knows no leader of the term ("servers disregard RequestVote RPCs when they
    believe a current leader exists"); a pre-vote of a higher term is judged on the log alone
    (raft-rs / etcd's can_vote rule)."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    r.become_follower(2, leader)
    r.vote = vote

    m = new_message(2, 1, msg_type, 0)
    m.term = msg_term
    r.step(m)

    msgs = r.read_messages()
    # A grant carries the request's term (a pre-vote's future one), a refusal the voter's term.
    wresp = (vote_resp_msg_type(msg_type), not wgrant, msg_term if wgrant else 2)
    assert [(x.msg_type, x.reject, x.term) for x in msgs] == [wresp]
    assert (r.term, r.vote, r.leader_id) == (2, wvote, leader)


def test_state_transition() -> None:
    """§5.2: only the role changes of the Raft state diagram are allowed; others raise InvariantError."""
    tests = [
        (StateRole.FOLLOWER, StateRole.FOLLOWER, True, 1, INVALID_ID),
        (StateRole.FOLLOWER, StateRole.PRE_CANDIDATE, True, 0, INVALID_ID),
        (StateRole.FOLLOWER, StateRole.CANDIDATE, True, 1, INVALID_ID),
        (StateRole.FOLLOWER, StateRole.LEADER, False, 0, INVALID_ID),
        (StateRole.PRE_CANDIDATE, StateRole.FOLLOWER, True, 0, INVALID_ID),
        (StateRole.PRE_CANDIDATE, StateRole.PRE_CANDIDATE, True, 0, INVALID_ID),
        (StateRole.PRE_CANDIDATE, StateRole.CANDIDATE, True, 1, INVALID_ID),
        (StateRole.PRE_CANDIDATE, StateRole.LEADER, True, 0, 1),
        (StateRole.CANDIDATE, StateRole.FOLLOWER, True, 0, INVALID_ID),
        (StateRole.CANDIDATE, StateRole.PRE_CANDIDATE, True, 0, INVALID_ID),
        (StateRole.CANDIDATE, StateRole.CANDIDATE, True, 1, INVALID_ID),
        (StateRole.CANDIDATE, StateRole.LEADER, True, 0, 1),
        (StateRole.LEADER, StateRole.FOLLOWER, True, 1, INVALID_ID),
        (StateRole.LEADER, StateRole.PRE_CANDIDATE, False, 0, INVALID_ID),
        (StateRole.LEADER, StateRole.CANDIDATE, False, 1, INVALID_ID),
        (StateRole.LEADER, StateRole.LEADER, True, 0, 1),
    ]
    for i, (from_, to, wallow, wterm, wlead) in enumerate(tests):
        sm = new_test_raft(1, [1], 10, 1, new_storage())
        sm.state = from_

        def transition() -> None:
            if to == StateRole.FOLLOWER:
                sm.become_follower(wterm, wlead)
            elif to == StateRole.PRE_CANDIDATE:
                sm.become_pre_candidate()
            elif to == StateRole.CANDIDATE:
                sm.become_candidate()
            else:
                sm.become_leader()

        if not wallow:
            with pytest.raises(InvariantError):
                transition()
            continue
        transition()
        assert sm.term == wterm, f"#{i}: term = {sm.term}, want {wterm}"
        assert sm.leader_id == wlead, f"#{i}: lead = {sm.leader_id}, want {wlead}"


def test_all_server_stepdown() -> None:
    """§5.1: every role steps down to follower on a message of a higher term."""
    tests = [
        # state, want_state, term, last_index, entry count.
        (StateRole.FOLLOWER, StateRole.FOLLOWER, 3, 0, 0),
        (StateRole.PRE_CANDIDATE, StateRole.FOLLOWER, 3, 0, 0),
        (StateRole.CANDIDATE, StateRole.FOLLOWER, 3, 0, 0),
        (StateRole.LEADER, StateRole.FOLLOWER, 3, 1, 1),
    ]
    tmsg_types = [MessageType.MsgRequestVote, MessageType.MsgAppend]
    tterm = 3
    for i, (state, wstate, wterm, windex, entries) in enumerate(tests):
        sm = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        if state == StateRole.FOLLOWER:
            sm.become_follower(1, INVALID_ID)
        elif state == StateRole.PRE_CANDIDATE:
            sm.become_pre_candidate()
        elif state == StateRole.CANDIDATE:
            sm.become_candidate()
        else:
            sm.become_candidate()
            sm.become_leader()

        for j, msg_type in enumerate(tmsg_types):
            m = new_message(2, 0, msg_type, 0)
            m.term = tterm
            m.log_term = tterm
            sm.step(m)

            assert sm.state == wstate, f"{i}.{j} state = {sm.state}, want {wstate}"
            assert sm.term == wterm, f"{i}.{j} term = {sm.term}, want {wterm}"
            assert sm.raft_log.last_index() == windex, f"{i}.{j} index = {sm.raft_log.last_index()}"
            entry_count = len(sm.raft_log.all_entries())
            assert entry_count == entries, f"{i}.{j} ents count = {entry_count}, want {entries}"
            wlead = INVALID_ID if msg_type == MessageType.MsgRequestVote else 2
            assert sm.leader_id == wlead, f"{i}.{j} lead = {sm.leader_id}, want {wlead}"


def check_candidate_reset_term(message_type: int) -> None:
    """check_candidate_reset_term: a candidate hearing from the leader adopts its term and follows."""
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())

    nt = Network.new([a, b, c])
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.FOLLOWER

    # isolate 3 and increase the term in the rest
    nt.isolate(3)
    nt.send([hup(2)])
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.FOLLOWER

    # trigger a campaign in the isolated 3
    nt.peers[3].reset_randomized_election_timeout()
    tick_n(nt.peers[3], nt.peers[3].randomized_election_timeout)

    assert nt.peers[3].state == StateRole.CANDIDATE

    nt.recover()

    # The leader sends to the isolated candidate, which reverts to follower.
    msg = new_message(1, 3, message_type, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])

    assert nt.peers[3].state == StateRole.FOLLOWER
    # follower 3's term is reset to the leader's
    assert nt.peers[3].term == nt.peers[1].term, (
        f"follower term expected same term as leader's {nt.peers[1].term}, got {nt.peers[3].term}"
    )


def test_candidate_reset_term_msg_heartbeat() -> None:
    """§5.2: a candidate receiving the leader's heartbeat takes the leader's term and follows."""
    check_candidate_reset_term(MessageType.MsgHeartbeat)


def test_candidate_reset_term_msg_append() -> None:
    """§5.2: a candidate receiving the leader's append takes the leader's term and follows."""
    check_candidate_reset_term(MessageType.MsgAppend)


# Check quorum (thesis §6.2) and elections.


def three_check_quorum_nodes() -> Network:
    """three_check_quorum_nodes is a network of three fresh nodes with check_quorum on."""
    a = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    b = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    c = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    a.check_quorum = True
    b.check_quorum = True
    c.check_quorum = True
    return Network.new([a, b, c])


def test_leader_superseding_with_check_quorum() -> None:
    """thesis §6.2: with check quorum a follower that recently heard the leader rejects other candidates."""
    nt = three_check_quorum_nodes()

    b_election_timeout = nt.peers[2].election_timeout()
    # prevent campaigning from b
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)
    tick_n(nt.peers[2], b_election_timeout)
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[3].state == StateRole.FOLLOWER

    nt.send([hup(3)])

    # b rejected c's vote: its election_elapsed had not reached the election timeout.
    assert nt.peers[3].state == StateRole.CANDIDATE

    # Let b's election_elapsed reach the election timeout.
    tick_n(nt.peers[2], b_election_timeout)
    nt.send([hup(3)])
    assert nt.peers[3].state == StateRole.LEADER


def test_leader_election_with_check_quorum() -> None:
    """thesis §6.2: once the lease has expired, a new candidate can win under check quorum."""
    nt = three_check_quorum_nodes()

    # randomized_election_timeout must exceed election_timeout here, so set it explicitly.
    a_election_timeout = nt.peers[1].election_timeout()
    b_election_timeout = nt.peers[2].election_timeout()
    nt.peers[1].set_randomized_election_timeout(a_election_timeout + 1)
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 2)

    # Immediately after creation, votes are cast regardless of the election timeout.
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[3].state == StateRole.FOLLOWER

    # Set the randomized timeouts again: state changes may have reset them.
    a_election_timeout = nt.peers[1].election_timeout()
    b_election_timeout = nt.peers[2].election_timeout()
    nt.peers[1].set_randomized_election_timeout(a_election_timeout + 1)
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 2)

    tick_n(nt.peers[1], a_election_timeout)
    tick_n(nt.peers[2], b_election_timeout)
    nt.send([hup(3)])

    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.LEADER


def test_free_stuck_candidate_with_check_quorum() -> None:
    """thesis §6.2: a stuck candidate with a higher term makes the leader step down and adopt its term."""
    nt = three_check_quorum_nodes()

    b_election_timeout = nt.peers[2].election_timeout()
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)

    tick_n(nt.peers[2], b_election_timeout)
    nt.send([hup(1)])
    nt.isolate(1)
    nt.send([hup(3)])

    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.CANDIDATE
    assert nt.peers[3].term == nt.peers[2].term + 1

    # Vote again for safety
    nt.send([hup(3)])

    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.CANDIDATE
    assert nt.peers[3].term == nt.peers[2].term + 2

    nt.recover()
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])

    # The leader is disrupted so that the stuck peer is freed.
    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[3].term == nt.peers[1].term

    # Vote again: this time 3 wins.
    nt.send([hup(3)])
    assert nt.peers[3].state == StateRole.LEADER


def test_non_promotable_voter_with_check_quorum() -> None:
    """thesis §6.2: a node outside the configuration never campaigns but follows the leader."""
    a = new_test_raft(1, [1, 2], 10, 1, new_storage())
    b = new_test_raft(2, [1], 10, 1, new_storage())
    a.check_quorum = True
    b.check_quorum = True

    nt = Network.new([a, b])

    b_election_timeout = nt.peers[2].election_timeout()
    nt.peers[2].set_randomized_election_timeout(b_election_timeout + 1)

    # Remove 2 again to make it non-promotable: Network.new overwrote some internal state.
    nt.peers[2].apply_conf_change(remove_node(2))

    assert not nt.peers[2].promotable()

    tick_n(nt.peers[2], b_election_timeout)
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[2].leader_id == 1


def disruptive_cluster(pre_vote: bool) -> Network:
    """disruptive_cluster is three check-quorum nodes at term 1 (pre-vote as given), 1 elected leader."""
    nodes = []
    for id in (1, 2, 3):
        n = new_test_raft_with_prevote(id, [1, 2, 3], 10, 1, new_storage(), pre_vote)
        n.check_quorum = True
        n.become_follower(1, INVALID_ID)
        nodes.append(n)
    nt = Network.new(nodes)
    nt.send([hup(1)])
    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.FOLLOWER
    return nt


def test_disruptive_follower() -> None:
    """thesis §9.6: without pre-vote a follower that timed out forces the leader down via a higher term."""
    nt = disruptive_cluster(False)

    # Leader messages are delayed while ticks elapse on 3.
    timeout = nt.peers[3].election_timeout()
    nt.peers[3].set_randomized_election_timeout(timeout + 2)
    timeout = nt.peers[3].randomized_election_timeout
    tick_n(nt.peers[3], timeout - 1)

    # The last tick elapses before any leader message arrives: 3 campaigns.
    nt.peers[3].tick()

    # 1 is still leader while its heartbeat to candidate 3 is delayed.
    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.CANDIDATE
    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 3

    # The delayed heartbeat of the lower term arrives at candidate 3.
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])

    # 3 answers with its higher term and the leader steps down.
    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.CANDIDATE
    assert nt.peers[1].term == 3
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 3


def test_disruptive_follower_pre_vote() -> None:
    """thesis §9.6: with pre-vote an isolated follower with a stale log cannot disrupt the leader."""
    nt = disruptive_cluster(True)

    nt.isolate(3)
    for _ in range(3):
        nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    nt.recover()
    nt.send([hup(3)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE
    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 2

    # A delayed leader heartbeat does not force the leader to step down.
    msg = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    msg.term = nt.peers[1].term
    nt.send([msg])
    assert nt.peers[1].state == StateRole.LEADER


# Voters and learners (§5.2; learners per raft-rs / thesis §4.2.1).


def test_promotable() -> None:
    """§5.2: only a voter of the configuration may campaign (is promotable)."""
    tests: list[tuple[list[int], bool]] = [([1], True), ([1, 2, 3], True), ([], False), ([2, 3], False)]
    for i, (peers, wp) in enumerate(tests):
        r = new_test_raft(1, peers, 5, 1, new_storage())
        assert r.promotable() == wp, f"#{i}: promotable = {r.promotable()}, want {wp}"


def check_campaign_while_leader(pre_vote: bool) -> None:
    """check_campaign_while_leader: a MsgHup to a leader changes nothing."""
    r = new_test_raft_with_prevote(1, [1], 5, 1, new_storage(), pre_vote)
    assert r.state == StateRole.FOLLOWER
    # campaign() is not called directly: the role check comes before it.
    r.step(hup(1))
    assert r.state == StateRole.LEADER
    term = r.term
    r.step(hup(1))
    assert r.state == StateRole.LEADER
    assert r.term == term


def test_campaign_while_leader() -> None:
    """§5.2: a leader ignores a request to campaign; its term does not move."""
    check_campaign_while_leader(False)


def test_pre_campaign_while_leader() -> None:
    """thesis §9.6: a leader with pre-vote ignores a request to campaign; its term does not move."""
    check_campaign_while_leader(True)


def test_learner_election_timeout() -> None:
    """A learner never campaigns, even when its election timeout elapses."""
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    n1.become_follower(1, INVALID_ID)

    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    n2.become_follower(1, INVALID_ID)

    timeout = n2.election_timeout()
    n2.set_randomized_election_timeout(timeout)

    tick_n(n2, timeout)
    assert n2.state == StateRole.FOLLOWER


def test_learner_promotion() -> None:
    """A learner may campaign and win only after it has been promoted to voter."""
    n1 = new_test_learner_raft(1, [1], [2], 10, 1, new_storage())
    n1.become_follower(1, INVALID_ID)

    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    n2.become_follower(1, INVALID_ID)

    network = Network.new([n1, n2])
    assert network.peers[1].state == StateRole.FOLLOWER

    # n1 should become leader.
    timeout = network.peers[1].election_timeout()
    network.peers[1].set_randomized_election_timeout(timeout)
    tick_n(network.peers[1], timeout)
    assert network.peers[1].state == StateRole.LEADER
    assert network.peers[2].state == StateRole.FOLLOWER

    heart_beat = new_message(1, 1, MessageType.MsgBeat, 0)
    network.send([heart_beat])

    # Promote n2 from learner to voter.
    network.peers[1].apply_conf_change(add_node(2))
    network.peers[2].apply_conf_change(add_node(2))
    assert network.peers[2].state == StateRole.FOLLOWER
    assert network.peers[2].promotable()

    timeout = network.peers[2].election_timeout()
    network.peers[2].set_randomized_election_timeout(timeout)
    tick_n(network.peers[2], timeout)

    heart_beat.to = 2
    heart_beat.from_ = 2
    network.send([heart_beat])
    assert network.peers[1].state == StateRole.FOLLOWER
    assert network.peers[2].state == StateRole.LEADER


def test_learner_respond_vote() -> None:
    """§5.2: a candidate asks voters only: learners' votes do not count until they are promoted."""
    n1 = new_test_learner_raft(1, [1, 2], [3], 10, 1, new_storage())
    n1.become_follower(1, INVALID_ID)
    n1.reset_randomized_election_timeout()

    n3 = new_test_learner_raft(3, [1, 2], [3], 10, 1, new_storage())
    n3.become_follower(1, INVALID_ID)
    n3.reset_randomized_election_timeout()

    network = Network.new([n1, None, n3])
    network.isolate(2)

    # No leader can be elected: 1 does not ask learner 3 for its vote.
    network.send([hup(1)])
    assert network.peers[1].state == StateRole.CANDIDATE

    # After 3 is promoted to voter, the election succeeds.
    network.peers[1].apply_conf_change(add_node(3))
    network.send([hup(1)])
    assert network.peers[1].state == StateRole.LEADER


def test_conf_change_check_before_campaign() -> None:
    """§6 (membership): a node with a committed but unapplied conf change does not campaign."""
    nt = Network.new([None, None, None])
    nt.send([hup(1)])
    assert nt.peers[1].state == StateRole.LEADER

    m = new_message(1, 1, MessageType.MsgPropose, 0)
    cc = ConfChange(change_type=ConfChangeType.RemoveNode, node_id=3)
    m.entries.append(Entry(entry_type=EntryType.EntryConfChange, data=cc.SerializeToString()))
    nt.send([m])

    # trigger a campaign in node 2
    nt.peers[2].reset_randomized_election_timeout()
    tick_n(nt.peers[2], nt.peers[2].randomized_election_timeout)
    # Still a follower: the committed conf change is not applied.
    assert nt.peers[2].state == StateRole.FOLLOWER

    # Transfer leadership to peer 2.
    nt.send([new_message(2, 1, MessageType.MsgTransferLeader, 0)])
    assert nt.peers[1].state == StateRole.LEADER
    # Still a follower: the committed conf change is not applied.
    assert nt.peers[2].state == StateRole.FOLLOWER
    # Abort the transfer.
    nt.peers[1].abort_leader_transfer()

    committed = nt.peers[2].raft_log.committed
    nt.peers[2].commit_apply(committed)
    nt.peers[2].apply_conf_change(remove_node(3))

    # transfer leadership to peer 2 again.
    nt.send([new_message(2, 1, MessageType.MsgTransferLeader, 0)])
    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[2].state == StateRole.LEADER

    nt.peers[1].commit_apply(committed)
    nt.peers[1].apply_conf_change(remove_node(3))

    # trigger a campaign in node 1
    nt.peers[1].reset_randomized_election_timeout()
    tick_n(nt.peers[1], nt.peers[1].randomized_election_timeout)
    assert nt.peers[1].state == StateRole.CANDIDATE


# Pre-vote (thesis §9.6).


def test_node_with_smaller_term_can_complete_election() -> None:
    """thesis §9.6: a lagging node rejoining as the leader leaves does not stall the election."""
    nodes = []
    for id in (1, 2, 3):
        n = new_test_raft_with_prevote(id, [1, 2, 3], 10, 1, new_storage(), True)
        n.become_follower(1, INVALID_ID)
        nodes.append(n)

    # cause a network partition to isolate node 3
    nt = Network.new_with_config(nodes, prevote_config())
    nt.cut(1, 3)
    nt.cut(2, 3)

    nt.send([hup(1)])
    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER

    nt.send([hup(3)])
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE

    nt.send([hup(2)])

    assert nt.peers[1].term == 3
    assert nt.peers[2].term == 3
    assert nt.peers[3].term == 1

    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[2].state == StateRole.LEADER
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE

    # Recover, then isolate leader 2 at once (emulating its crash).
    nt.recover()
    nt.cut(2, 1)
    nt.cut(2, 3)

    # call for election
    nt.send([hup(3)])
    nt.send([hup(1)])

    assert nt.peers[1].state == StateRole.LEADER or nt.peers[3].state == StateRole.LEADER, "no leader"


def new_prevote_migration_cluster() -> Network:
    """new_prevote_migration_cluster: n1 leader at term 2, n2 follower at term 2, n3 partitioned
    candidate at term 4 with a shorter log, pre-vote off on n3 (a rolling upgrade), then switched on
    and the partition healed."""
    n1 = new_test_raft_with_prevote(1, [1, 2, 3], 10, 1, new_storage(), True)
    n2 = new_test_raft_with_prevote(2, [1, 2, 3], 10, 1, new_storage(), True)
    n3 = new_test_raft_with_prevote(3, [1, 2, 3], 10, 1, new_storage(), False)

    n1.become_follower(1, INVALID_ID)
    n2.become_follower(1, INVALID_ID)
    n3.become_follower(1, INVALID_ID)

    nt = Network.new([n1, n2, n3])
    nt.send([hup(1)])

    # Cause a network partition to isolate n3.
    nt.isolate(3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])

    nt.send([hup(3)])
    nt.send([hup(3)])

    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.CANDIDATE

    assert nt.peers[1].term == 2
    assert nt.peers[2].term == 2
    assert nt.peers[3].term == 4

    # Enable pre-vote on n3, then recover the network.
    nt.peers[3].pre_vote = True
    nt.recover()
    return nt


def test_prevote_migration_can_complete_election() -> None:
    """thesis §9.6: during a pre-vote rolling upgrade a stale high-term node does not block elections."""
    nt = new_prevote_migration_cluster()

    # simulate leader down
    nt.isolate(1)

    # Call for elections from both n2 and n3.
    nt.send([hup(3)])
    nt.send([hup(2)])

    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE

    nt.send([hup(3)])
    nt.send([hup(2)])

    # Do we have a leader?
    assert nt.peers[2].state == StateRole.LEADER or nt.peers[3].state == StateRole.FOLLOWER


def test_prevote_migration_with_free_stuck_pre_candidate() -> None:
    """thesis §9.6: a stuck pre-candidate of a higher term is freed by disrupting the leader."""
    nt = new_prevote_migration_cluster()

    nt.send([hup(3)])
    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE

    # Pre-vote again for safety
    nt.send([hup(3)])
    assert nt.peers[1].state == StateRole.LEADER
    assert nt.peers[2].state == StateRole.FOLLOWER
    assert nt.peers[3].state == StateRole.PRE_CANDIDATE

    to_send = new_message(1, 3, MessageType.MsgHeartbeat, 0)
    to_send.term = nt.peers[1].term
    nt.send([to_send])

    # The leader is disrupted so that the stuck peer is freed.
    assert nt.peers[1].state == StateRole.FOLLOWER
    assert nt.peers[3].term == nt.peers[1].term


def test_prevote_with_split_vote() -> None:
    """thesis §9.6: after a split vote under pre-vote the next round elects a leader."""
    peers = []
    for id in (1, 2, 3):
        raft = new_test_raft_with_prevote(id, [1, 2, 3], 10, 1, new_storage(), True)
        raft.become_follower(1, INVALID_ID)
        peers.append(raft)
    network = Network.new(peers)
    network.send([hup(1)])

    # simulate leader down; the followers split the vote.
    network.isolate(1)
    network.send([hup(2), hup(3)])

    assert network.peers[2].term == 3, "peer 2 term"
    assert network.peers[3].term == 3, "peer 3 term"
    assert network.peers[2].state == StateRole.CANDIDATE, "peer 2 state"
    assert network.peers[3].state == StateRole.CANDIDATE, "peer 3 state"

    # node 2 times out first
    network.send([hup(2)])

    assert network.peers[2].term == 4, "peer 2 term"
    assert network.peers[3].term == 4, "peer 3 term"
    assert network.peers[2].state == StateRole.LEADER, "peer 2 state"
    assert network.peers[3].state == StateRole.FOLLOWER, "peer 3 state"


def test_prevote_with_check_quorum() -> None:
    """thesis §9.6 + §6.2: a pre-candidate grants pre-votes once its leader lease has expired."""

    def bootstrap(id: int) -> Interface:
        cfg = new_test_config(id, 10, 1)
        cfg.pre_vote = True
        cfg.check_quorum = True
        s = MemStorage.new_with_conf_state(conf_state([1, 2, 3], []))
        i = new_test_raft_with_config(cfg, s)
        i.become_follower(1, INVALID_ID)
        return i

    network = Network.new([bootstrap(1), bootstrap(2), bootstrap(3)])
    network.send([hup(1)])

    # cause a network partition to isolate node 3; node 3 knows the leader.
    network.cut(1, 3)
    network.cut(2, 3)

    assert network.peers[1].state == StateRole.LEADER, "peer 1 state"
    assert network.peers[2].state == StateRole.FOLLOWER, "peer 2 state"

    network.send([hup(3)])
    assert network.peers[3].state == StateRole.PRE_CANDIDATE, "peer 3 state"

    # term + 2, so that node 2 ignores node 3's pre-vote
    network.send([new_message(2, 1, MessageType.MsgTransferLeader, 0)])
    network.send([new_message(1, 2, MessageType.MsgTransferLeader, 0)])

    assert network.peers[1].term == 4, "peer 1 term"
    assert network.peers[2].term == 4, "peer 2 term"
    assert network.peers[3].term == 2, "peer 3 term"

    assert network.peers[1].state == StateRole.LEADER, "peer 1 state"
    assert network.peers[2].state == StateRole.FOLLOWER, "peer 2 state"
    assert network.peers[3].state == StateRole.PRE_CANDIDATE, "peer 3 state"

    # Recover, then isolate leader 1 at once (emulating its crash).
    network.recover()
    network.cut(1, 2)
    network.cut(1, 3)

    # call for election; node 3 must not ignore node 2's pre-vote
    tick_n(network.peers[3], network.peers[3].randomized_election_timeout)
    network.send([hup(2)])

    assert network.peers[2].state == StateRole.LEADER, "peer 2 state"
    assert network.peers[3].state == StateRole.FOLLOWER, "peer 3 state"


# Priority elections (raft-rs extension of §5.2).


def test_election_with_priority_log() -> None:
    """§5.4.1 + priority: a voter refuses a lower-priority candidate unless its log is more up to date."""
    tests = [
        # log up to date on 1..3, priority of 1..3, campaigner id, its state
        (True, False, False, 3, 1, 1, 1, StateRole.LEADER),
        (True, False, False, 2, 2, 2, 1, StateRole.LEADER),
        (True, False, False, 1, 3, 3, 1, StateRole.LEADER),
        (True, True, True, 3, 1, 1, 1, StateRole.LEADER),
        (True, True, True, 2, 2, 2, 1, StateRole.LEADER),
        (True, True, True, 1, 3, 3, 1, StateRole.FOLLOWER),
        (False, True, True, 3, 1, 1, 1, StateRole.FOLLOWER),
        (False, True, True, 2, 2, 2, 1, StateRole.FOLLOWER),
        (False, True, True, 1, 3, 3, 1, StateRole.FOLLOWER),
        (False, False, True, 1, 3, 1, 1, StateRole.FOLLOWER),
        (False, False, True, 1, 1, 3, 1, StateRole.LEADER),
    ]
    for i, (l1, l2, l3, p1, p2, p3, id, state) in enumerate(tests):
        n1 = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        n2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
        n3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
        n1.set_priority(p1)
        n2.set_priority(p2)
        n3.set_priority(p3)
        entries = [new_entry(1, 1, SOME_DATA), new_entry(1, 1, SOME_DATA)]
        if l1:
            n1.raft_log.append(entries)
        if l2:
            n2.raft_log.append(entries)
        if l3:
            n3.raft_log.append(entries)

        network = Network.new([n1, n2, n3])
        network.send([hup(id)])

        assert network.peers[id].state == state, f"#{i}: state = {network.peers[id].state}, want {state}"


def test_election_after_change_priority() -> None:
    """§5.2 + priority: a node wins by raising its priority and loses by lowering it."""
    n1 = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    n2 = new_test_raft(2, [1, 2, 3], 10, 1, new_storage())
    n3 = new_test_raft(3, [1, 2, 3], 10, 1, new_storage())
    # n1's priority is 0 by default.
    n2.set_priority(2)
    n3.set_priority(3)
    n1.become_follower(1, INVALID_ID)
    n2.become_follower(1, INVALID_ID)
    n3.become_follower(1, INVALID_ID)
    network = Network.new([n1, n2, n3])

    assert network.peers[1].priority == 0, "peer 1 priority"
    network.send([hup(1)])
    assert network.peers[1].state == StateRole.FOLLOWER, "peer 1 state"

    tests = [
        (1, 1, StateRole.FOLLOWER),  # id, priority, state
        (1, 2, StateRole.LEADER),
        (1, 3, StateRole.LEADER),
        (1, 0, StateRole.FOLLOWER),
    ]
    for i, (id, p, state) in enumerate(tests):
        network.peers[id].become_follower(i + 2, INVALID_ID)
        network.peers[id].set_priority(p)
        network.send([hup(id)])
        assert network.peers[id].state == state, f"peer {id} state"



# Commit index advanced through vote messages (raft-rs: a vote request / response carries the
# sender's commit index and term, so a node can learn a committed conf change it must apply before
# it may campaign).


def conf_change_entry(cc: ConfChange | ConfChangeV2) -> Entry:
    """conf_change_entry is the log entry proposing cc (v1 or v2)."""
    if isinstance(cc, ConfChange):
        return Entry(entry_type=EntryType.EntryConfChange, data=cc.SerializeToString())
    return Entry(entry_type=EntryType.EntryConfChangeV2, data=cc.SerializeToString())


def as_v2(cc: ConfChange | ConfChangeV2) -> ConfChangeV2:
    """as_v2 is cc as a ConfChangeV2."""
    return conf_change_into_v2(cc) if isinstance(cc, ConfChange) else cc


def propose_conf_change_ahead_on_4(nt: Network, cc: ConfChange | ConfChangeV2) -> int:
    """propose_conf_change_ahead_on_4 elects 1, has it propose cc uncommitted and then one more entry
    that only node 4 gets (so 4's log is the most up to date); it returns cc's index."""
    nt.send([hup(1)])

    # propose a conf change entry but don't let it commit
    nt.ignore(MessageType.MsgAppendResponse)
    nt.send([new_message_with_entries(1, 1, MessageType.MsgPropose, [conf_change_entry(cc)])])
    cc_index = nt.peers[1].raft_log.last_index()

    # let node 4 have a more up-to-date log than the other voters
    nt.recover()
    nt.cut(1, 2)
    nt.cut(1, 3)
    nt.send([new_message(1, 1, MessageType.MsgPropose, 1)])
    return cc_index


def apply_committed_conf_change(p: Interface, cc: ConfChange | ConfChangeV2, cc_index: int, who: str) -> None:
    """apply_committed_conf_change asserts p committed cc_index, then applies cc there."""
    assert p.raft_log.committed >= cc_index, f"{who} committed {p.raft_log.committed}"
    p.apply_conf_change(as_v2(cc))
    p.commit_apply(cc_index)


def assert_learner_cannot_campaign(p4: Interface, i: int) -> None:
    """assert_learner_cannot_campaign: node 4, thinking it is a learner, stays follower past its timeout."""
    # node 4 can't start a new election: it thinks it is a learner
    tick_n(p4, p4.randomized_election_timeout)
    assert p4.state == StateRole.FOLLOWER, f"#{i}: node 4 state {p4.state}, want Follower"


def campaign_2_rejected_by_4(nt: Network, use_prevote: bool, i: int) -> None:
    """campaign_2_rejected_by_4 times node 2 out into a (pre-)campaign and delivers the replies."""
    p2 = nt.peers[2]
    tick_n(p2, p2.randomized_election_timeout)
    want = StateRole.PRE_CANDIDATE if use_prevote else StateRole.CANDIDATE
    assert p2.state == want, f"#{i}: node 2 state {p2.state}, want {want}"
    nt.filter_and_send(nt.read_messages())


def campaign_and_win(nt: Network, id: int, who: str) -> None:
    """campaign_and_win times node id out and asserts it wins the election."""
    p = nt.peers[id]
    tick_n(p, p.randomized_election_timeout)
    nt.filter_and_send(nt.read_messages())
    assert nt.peers[id].state == StateRole.LEADER, f"{who} state {nt.peers[id].state}"


def check_advance_commit_index_by_vote_request(use_prevote: bool) -> None:
    """check_advance_commit_index_by_vote_request: a (pre-)vote request advances the voter's commit."""
    cases: list[ConfChange | ConfChangeV2] = [
        conf_change(ConfChangeType.AddNode, 4),
        conf_change_v2(
            [
                new_conf_change_single(3, ConfChangeType.AddLearnerNode),
                new_conf_change_single(4, ConfChangeType.AddNode),
            ]
        ),
    ]
    for i, cc in enumerate(cases):
        peers = [new_test_learner_raft_with_prevote(id, [1, 2, 3], [4], use_prevote) for id in range(1, 5)]
        nt = Network.new(peers)
        cc_index = propose_conf_change_ahead_on_4(nt, cc)

        # let the conf change entry commit but don't let node 4 know
        nt.recover()
        nt.cut(1, 4)
        nt.ignore(MessageType.MsgAppend)
        msg = new_message(2, 1, MessageType.MsgAppendResponse, 0)
        msg.index = nt.peers[2].raft_log.last_index()
        nt.send([msg, new_message(1, 1, MessageType.MsgBeat, 0)])

        # simulate the leader down
        nt.recover()
        nt.isolate(1)

        p4 = nt.peers[4]
        assert p4.raft_log.committed < cc_index, f"#{i}: node 4 committed {p4.raft_log.committed}"
        assert_learner_cannot_campaign(p4, i)

        p2 = nt.peers[2]
        apply_committed_conf_change(p2, cc, cc_index, f"#{i}: node 2")

        # node 2 needs the votes of both 3 and 4, but 4 rejects it
        campaign_2_rejected_by_4(nt, use_prevote, i)
        assert nt.peers[2].state != StateRole.LEADER, f"#{i}: node 2 must not win"

        # node 4's commit index is advanced by node 2's vote request
        p4 = nt.peers[4]
        apply_committed_conf_change(p4, cc, cc_index, f"#{i}: node 4")

        # now node 4 can campaign and win
        campaign_and_win(nt, 4, f"#{i}: node 4")


def test_advance_commit_index_by_direct_vote_request() -> None:
    """§5.2 + §4: a vote request carries the commit index, letting a voter apply a pending conf change."""
    check_advance_commit_index_by_vote_request(False)


def test_advance_commit_index_by_prevote_request() -> None:
    """thesis §9.6 + §4: a pre-vote request carries the commit index too."""
    check_advance_commit_index_by_vote_request(True)


def check_advance_commit_index_by_vote_response(use_prevote: bool) -> None:
    """check_advance_commit_index_by_vote_response: a rejecting (pre-)vote response advances the commit."""
    cases: list[ConfChange | ConfChangeV2] = [
        conf_change(ConfChangeType.RemoveNode, 4),
        # explicitly leave the joint configuration
        conf_change_v2([]),
    ]
    # enter the joint configuration
    enter_joint = conf_change_v2(
        [
            new_conf_change_single(3, ConfChangeType.AddNode),
            new_conf_change_single(4, ConfChangeType.AddLearnerNode),
        ]
    )
    enter_joint.transition = ConfChangeTransition.Explicit
    for i, cc in enumerate(cases):
        peers = [
            new_test_raft_with_prevote(id, [1, 2, 3, 4], 10, 1, new_storage(), use_prevote)
            for id in range(1, 5)
        ]
        nt = Network.new(peers)

        # For the joint case, enter the joint configuration first.
        if not isinstance(cc, ConfChange):
            for p in nt.peers.values():
                p.apply_conf_change(enter_joint)

        cc_index = propose_conf_change_ahead_on_4(nt, cc)

        # a delayed MsgAppendResponse makes the conf change entry committed
        msg = new_message(2, 1, MessageType.MsgAppendResponse, 0)
        msg.index = nt.peers[2].raft_log.last_index()
        nt.send([msg, new_message(1, 1, MessageType.MsgBeat, 0)])

        # simulate the leader down
        nt.recover()
        nt.isolate(1)

        p4 = nt.peers[4]
        apply_committed_conf_change(p4, cc, cc_index, f"#{i}: node 4")
        assert_learner_cannot_campaign(p4, i)

        p2 = nt.peers[2]
        assert p2.raft_log.committed < cc_index, f"#{i}: node 2 committed {p2.raft_log.committed}"

        # node 2 needs the votes of both 3 and 4, but 4 rejects it
        campaign_2_rejected_by_4(nt, use_prevote, i)
        p2 = nt.peers[2]
        assert p2.state == StateRole.FOLLOWER, f"#{i}: node 2 state {p2.state}, want Follower"

        # node 2's commit index is advanced by the vote response
        apply_committed_conf_change(p2, cc, cc_index, f"#{i}: node 2")

        # now node 2 needs only node 3's vote
        campaign_and_win(nt, 2, f"#{i}: node 2")


def test_advance_commit_index_by_direct_vote_response() -> None:
    """§5.2 + §4: a vote response carries the commit index, letting a candidate apply a conf change."""
    check_advance_commit_index_by_vote_response(False)


def test_advance_commit_index_by_prevote_response() -> None:
    """thesis §9.6 + §4: a pre-vote response carries the commit index too."""
    check_advance_commit_index_by_vote_response(True)


def test_learner_hup_asks_voters_only() -> None:
    """§5.2 (raft-rs hup): a learner given MsgHup campaigns, asks only voters, and its own vote doesn't count."""
    # raft-rs checks promotable only in tick_election and MsgTimeoutNow, not in hup.
    n2 = new_test_learner_raft(2, [1], [2], 10, 1, new_storage())
    n2.become_follower(1, INVALID_ID)
    n2.step(hup(2))
    assert n2.state == StateRole.CANDIDATE
    assert n2.term == 2
    msgs = n2.read_messages()
    assert [(m.msg_type, m.to, m.term) for m in msgs] == [(MessageType.MsgRequestVote, 1, 2)]
