"""Tests of the Raft paper's rules (Ongaro & Ousterhout, 2014, §5), after raft-rs's test_raft_paper.rs.

Each test cites the section of the paper whose rule it checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from raftstore.raft import INVALID_ID, Entry, Message, MessageType
from raftstore.raft.raft import StateRole
from raftstore.raft.storage import MemStorage
from raftstore.raft.testing import (
    NOP_STEPPER,
    SOME_DATA,
    Interface,
    Network,
    accept_and_reply,
    commit_noop_entry,
    conf_state,
    empty_entry,
    hard_state,
    ltoa,
    new_entry,
    new_message,
    new_storage,
    new_test_config,
    new_test_raft,
    new_test_raft_with_config,
)


def sorted_msgs(msgs: Sequence[Message]) -> list[Message]:
    """sorted_msgs orders messages by type, then destination (raft-rs sorts by their Debug text)."""
    return sorted(msgs, key=lambda m: (m.msg_type, str(m.to), m.from_, m.term, m.index))


def raft_with_entries(id: int, voters: Sequence[int], ents: Sequence[Entry]) -> Interface:
    """raft_with_entries builds Raft id (election 10, heartbeat 1) on a storage holding ents."""
    store = MemStorage.new_with_conf_state(conf_state(voters, []))
    store.append(list(ents))
    return new_test_raft_with_config(new_test_config(id, 10, 1), store)


def check_update_term_from_message(state: StateRole) -> None:
    """check_update_term_from_message: a server seeing a larger term adopts it and becomes follower."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    if state == StateRole.FOLLOWER:
        r.become_follower(1, 2)
    elif state == StateRole.PRE_CANDIDATE:
        r.become_pre_candidate()
    elif state == StateRole.CANDIDATE:
        r.become_candidate()
    else:
        r.become_candidate()
        r.become_leader()

    m = new_message(0, 0, MessageType.MsgAppend, 0)
    m.term = 2
    r.step(m)

    assert r.term == 2
    assert r.state == StateRole.FOLLOWER


def test_follower_update_term_from_message() -> None:
    """§5.1: a follower whose term is smaller than a message's term updates its term."""
    check_update_term_from_message(StateRole.FOLLOWER)


def test_candidate_update_term_from_message() -> None:
    """§5.1: a candidate that discovers a larger term reverts to follower."""
    check_update_term_from_message(StateRole.CANDIDATE)


def test_leader_update_term_from_message() -> None:
    """§5.1: a leader that discovers a larger term reverts to follower."""
    check_update_term_from_message(StateRole.LEADER)


def test_start_as_follower() -> None:
    """§5.2: servers start up as followers."""
    r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
    assert r.state == StateRole.FOLLOWER


def test_leader_bcast_beat() -> None:
    """§5.2: on a heartbeat tick the leader sends an empty heartbeat to every follower."""
    hi = 1
    r = new_test_raft(1, [1, 2, 3], 10, hi, new_storage())
    r.become_candidate()
    r.become_leader()
    for i in range(10):
        r.append_entry([empty_entry(0, i + 1)])

    for _ in range(hi):
        r.tick()

    msgs = sorted_msgs(r.read_messages())

    def heartbeat(f: int, to: int) -> Message:
        m = new_message(f, to, MessageType.MsgHeartbeat, 0)
        m.term = 1
        m.commit = 0
        return m

    assert msgs == [heartbeat(1, 2), heartbeat(1, 3)]


def check_nonleader_start_election(state: StateRole) -> None:
    """check_nonleader_start_election: after an election timeout a non-leader campaigns in a new term."""
    et = 10
    r = new_test_raft(1, [1, 2, 3], et, 1, new_storage())
    if state == StateRole.FOLLOWER:
        r.become_follower(1, 2)
    elif state == StateRole.CANDIDATE:
        r.become_candidate()
    else:
        raise AssertionError("only non-leader roles are accepted")

    for _ in range(1, 2 * et):
        r.tick()

    assert r.term == 2
    assert r.state == StateRole.CANDIDATE
    assert r.prs.votes[r.id]
    msgs = sorted_msgs(r.read_messages())

    def vote(f: int, to: int) -> Message:
        m = new_message(f, to, MessageType.MsgRequestVote, 0)
        m.term = 2
        return m

    assert msgs == [vote(1, 2), vote(1, 3)]


def test_follower_start_election() -> None:
    """§5.2: a follower that hears nothing for an election timeout becomes a candidate and asks for votes."""
    check_nonleader_start_election(StateRole.FOLLOWER)


def test_candidate_start_new_election() -> None:
    """§5.2: a candidate that wins no majority times out and starts a new election in a new term."""
    check_nonleader_start_election(StateRole.CANDIDATE)


def test_leader_election_in_one_round_rpc() -> None:
    """§5.2: one round of RequestVote either wins, loses or leaves the election undecided."""
    tests: list[tuple[int, dict[int, bool], StateRole]] = [
        # win the election when receiving votes from a majority of the servers
        (1, {}, StateRole.LEADER),
        (3, {2: True, 3: True}, StateRole.LEADER),
        (3, {2: True}, StateRole.LEADER),
        (5, {2: True, 3: True, 4: True, 5: True}, StateRole.LEADER),
        (5, {2: True, 3: True, 4: True}, StateRole.LEADER),
        (5, {2: True, 3: True}, StateRole.LEADER),
        # return to follower state if it receives vote denial from a majority
        (3, {2: False, 3: False}, StateRole.FOLLOWER),
        (5, {2: False, 3: False, 4: False, 5: False}, StateRole.FOLLOWER),
        (5, {2: True, 3: False, 4: False, 5: False}, StateRole.FOLLOWER),
        # stay in candidate if it does not obtain the majority
        (3, {}, StateRole.CANDIDATE),
        (5, {2: True}, StateRole.CANDIDATE),
        (5, {2: False, 3: False}, StateRole.CANDIDATE),
        (5, {}, StateRole.CANDIDATE),
    ]
    for i, (size, votes, state) in enumerate(tests):
        r = new_test_raft(1, list(range(1, size + 1)), 10, 1, new_storage())

        r.step(new_message(1, 1, MessageType.MsgHup, 0))
        for id, granted in votes.items():
            m = new_message(id, 1, MessageType.MsgRequestVoteResponse, 0)
            m.term = r.term
            m.reject = not granted
            r.step(m)

        assert r.state == state, f"#{i}: state = {r.state}, want {state}"
        assert r.term == 1, f"#{i}: term = {r.term}, want 1"


def test_follower_vote() -> None:
    """§5.2: a follower votes for at most one candidate per term, first come first served."""
    tests = [
        (INVALID_ID, 1, False),
        (INVALID_ID, 2, False),
        (1, 1, False),
        (2, 2, False),
        (1, 2, True),
        (2, 1, True),
    ]
    for i, (vote, nvote, wreject) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.load_state(hard_state(1, 0, vote))

        m = new_message(nvote, 1, MessageType.MsgRequestVote, 0)
        m.term = 1
        r.step(m)

        msgs = r.read_messages()
        want = new_message(1, nvote, MessageType.MsgRequestVoteResponse, 0)
        want.term = 1
        want.reject = wreject
        assert msgs == [want], f"#{i}: msgs = {msgs}, want {[want]}"


def test_candidate_fallback() -> None:
    """§5.2: a candidate hearing AppendEntries from a leader of at least its term returns to follower."""

    def append(f: int, to: int, term: int) -> Message:
        m = new_message(f, to, MessageType.MsgAppend, 0)
        m.term = term
        return m

    for i, m in enumerate([append(2, 1, 2), append(2, 1, 3)]):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.step(new_message(1, 1, MessageType.MsgHup, 0))
        assert r.state == StateRole.CANDIDATE

        term = m.term
        r.step(m)

        assert r.state == StateRole.FOLLOWER, f"#{i}: state = {r.state}, want Follower"
        assert r.term == term, f"#{i}: term = {r.term}, want {term}"


def check_non_leader_election_timeout_randomized(state: StateRole) -> None:
    """check_non_leader_election_timeout_randomized: timeouts spread over [et, 2 * et)."""
    et = 10
    r = new_test_raft(1, [1, 2, 3], et, 1, new_storage())
    timeouts: dict[int, bool] = {}
    for _ in range(1000 * et):
        term = r.term
        if state == StateRole.FOLLOWER:
            r.become_follower(term + 1, 2)
        elif state == StateRole.CANDIDATE:
            r.become_candidate()
        else:
            raise AssertionError("only non-leader roles are accepted")

        time = 0
        while not r.read_messages():
            r.tick()
            time += 1
        timeouts[time] = True

    assert et - 1 <= len(timeouts) <= et
    for d in range(et + 1, 2 * et):
        assert timeouts[d], f"timeout {d} never happened"


def test_follower_election_timeout_randomized() -> None:
    """§5.2: a follower's election timeout is randomized."""
    check_non_leader_election_timeout_randomized(StateRole.FOLLOWER)


def test_candidate_election_timeout_randomized() -> None:
    """§5.2: a candidate's election timeout is randomized."""
    check_non_leader_election_timeout_randomized(StateRole.CANDIDATE)


def check_nonleaders_election_timeout_nonconflict(state: StateRole) -> None:
    """check_nonleaders_election_timeout_nonconflict: usually a single server times out first."""
    et = 10
    size = 5
    ids = list(range(1, size + 1))
    rs = [new_test_raft(id, ids, et, 1, new_storage()) for id in ids]
    conflicts = 0
    for _ in range(1000):
        for r in rs:
            term = r.term
            if state == StateRole.FOLLOWER:
                r.become_follower(term + 1, INVALID_ID)
            elif state == StateRole.CANDIDATE:
                r.become_candidate()
            else:
                raise AssertionError("only non-leader roles are accepted")

        timeout_num = 0
        while timeout_num == 0:
            for r in rs:
                r.tick()
                if r.read_messages():
                    timeout_num += 1
        # several rafts time out at the same tick
        if timeout_num > 1:
            conflicts += 1

    assert conflicts / 1000.0 <= 0.3, f"conflicts = {conflicts} of 1000"


def test_follower_election_timeout_nonconflict() -> None:
    """§5.2: randomized timeouts make followers rarely time out at the same tick (few split votes)."""
    check_nonleaders_election_timeout_nonconflict(StateRole.FOLLOWER)


def test_candidates_election_timeout_nonconf() -> None:
    """§5.2: randomized timeouts make candidates rarely time out at the same tick (few split votes)."""
    check_nonleaders_election_timeout_nonconflict(StateRole.CANDIDATE)


def leader_with_committed_noop(peers: list[int]) -> tuple[Interface, int]:
    """leader_with_committed_noop: node 1 leads peers and has committed its empty entry; it returns the
    node and that entry's index."""
    s = new_storage()
    r = new_test_raft(1, peers, 10, 1, s)
    r.become_candidate()
    r.become_leader()
    commit_noop_entry(r, s)
    return r, r.raft_log.last_index()


def test_leader_start_replication() -> None:
    """§5.3: a leader appends a proposal to its log and sends it, with the preceding index/term, to all."""
    r, li = leader_with_committed_noop([1, 2, 3])

    r.step(new_message(1, 1, MessageType.MsgPropose, 1))

    assert r.raft_log.last_index() == li + 1
    assert r.raft_log.committed == li
    msgs = sorted_msgs(r.read_messages())
    wents = [new_entry(1, li + 1, SOME_DATA)]

    def append(f: int, to: int, ents: list[Entry]) -> Message:
        m = new_message(f, to, MessageType.MsgAppend, 0)
        m.term = 1
        m.index = li
        m.log_term = 1
        m.commit = li
        m.entries.extend(ents)
        return m

    assert msgs == [append(1, 2, wents), append(1, 3, wents)]
    assert list(r.raft_log.unstable_entries()) == wents


def test_leader_commit_entry() -> None:
    """§5.3: a safely replicated entry is committed, handed out for applying, and its index sent on."""
    r, li = leader_with_committed_noop([1, 2, 3])
    r.step(new_message(1, 1, MessageType.MsgPropose, 1))
    r.persist()

    for m in r.read_messages():
        r.step(accept_and_reply(m))

    assert r.raft_log.committed == li + 1
    wents = [new_entry(1, li + 1, SOME_DATA)]
    assert r.raft_log.next_entries(None) == wents
    msgs = sorted_msgs(r.read_messages())
    for i, m in enumerate(msgs):
        assert m.to == i + 2
        assert m.msg_type == MessageType.MsgAppend
        assert m.commit == li + 1


def test_leader_acknowledge_commit() -> None:
    """§5.3: an entry is committed once its leader has replicated it on a majority of servers."""
    tests: list[tuple[int, dict[int, bool], bool]] = [
        (1, {}, True),
        (3, {}, False),
        (3, {2: True}, True),
        (3, {2: True, 3: True}, True),
        (5, {}, False),
        (5, {2: True}, False),
        (5, {2: True, 3: True}, True),
        (5, {2: True, 3: True, 4: True}, True),
        (5, {2: True, 3: True, 4: True, 5: True}, True),
    ]
    for i, (size, acceptors, wack) in enumerate(tests):
        r, li = leader_with_committed_noop(list(range(1, size + 1)))
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        r.persist()

        for m in r.read_messages():
            if acceptors.get(m.to, False):
                r.step(accept_and_reply(m))

        g = r.raft_log.committed > li
        assert g == wack, f"#{i}: ack commit = {g}, want {wack}"


def test_leader_commit_preceding_entries() -> None:
    """§5.3: committing an entry commits all preceding ones, including earlier leaders' entries."""
    tests: list[list[Entry]] = [
        [],
        [empty_entry(2, 1)],
        [empty_entry(1, 1), empty_entry(2, 2)],
        [empty_entry(1, 1)],
    ]
    for i, tt in enumerate(tests):
        r = raft_with_entries(1, [1, 2, 3], tt)
        r.load_state(hard_state(2, 0, 0))
        r.become_candidate()
        r.become_leader()

        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        r.persist()

        for m in r.read_messages():
            r.step(accept_and_reply(m))

        li = len(tt)
        want = list(tt) + [empty_entry(3, li + 1), new_entry(3, li + 2, SOME_DATA)]
        g = r.raft_log.next_entries(None)
        assert g == want, f"#{i}: ents = {g}, want {want}"


def test_follower_commit_entry() -> None:
    """§5.3: a follower that learns an entry is committed applies it, in log order."""
    tests: list[tuple[list[Entry], int]] = [
        ([new_entry(1, 1, SOME_DATA)], 1),
        ([new_entry(1, 1, SOME_DATA), new_entry(1, 2, "somedata2")], 2),
        ([new_entry(1, 1, "somedata2"), new_entry(1, 2, SOME_DATA)], 2),
        ([new_entry(1, 1, SOME_DATA), new_entry(1, 2, "somedata2")], 1),
    ]
    for i, (ents, commit) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        r.become_follower(1, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 1
        m.commit = commit
        m.entries.extend(ents)
        r.step(m)
        r.persist()

        assert r.raft_log.committed == commit, f"#{i}: committed = {r.raft_log.committed}, want {commit}"
        wents = ents[:commit]
        g = r.raft_log.next_entries(None)
        assert g == wents, f"#{i}: next_ents = {g}, want {wents}"


def test_follower_check_msg_append() -> None:
    """§5.3: a follower refuses AppendEntries whose preceding (index, term) it lacks, else accepts."""
    ents = [empty_entry(1, 1), empty_entry(2, 2)]
    tests = [
        # match with committed entries
        (0, 0, 1, 1, False, 0, 0),
        (ents[0].term, ents[0].index, 1, 1, False, 0, 0),
        # match with uncommitted entries
        (ents[1].term, ents[1].index, 2, 1, False, 0, 0),
        # unmatch with existing entry
        (ents[0].term, ents[1].index, ents[1].index, 1, True, 1, 1),
        # unexisting entry
        (ents[1].term + 1, ents[1].index + 1, ents[1].index + 1, 1, True, 2, 2),
    ]
    for i, (term, index, windex, wcommit, wreject, wreject_hint, wlog_term) in enumerate(tests):
        r = raft_with_entries(1, [1, 2, 3], ents)
        r.load_state(hard_state(0, 1, 0))
        r.become_follower(2, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 2
        m.log_term = term
        m.index = index
        r.step(m)

        msgs = r.read_messages()
        wm = new_message(1, 2, MessageType.MsgAppendResponse, 0)
        wm.term = 2
        wm.index = windex
        wm.commit = wcommit
        if wreject:
            wm.reject = wreject
            wm.reject_hint = wreject_hint
            wm.log_term = wlog_term
        assert msgs == [wm], f"#{i}: msgs = {msgs}, want {[wm]}"


def test_follower_append_entries() -> None:
    """§5.3: a valid AppendEntries deletes the conflicting suffix and appends the new entries."""
    tests: list[tuple[int, int, list[Entry], list[Entry], list[Entry]]] = [
        (
            2,
            2,
            [empty_entry(3, 3)],
            [empty_entry(1, 1), empty_entry(2, 2), empty_entry(3, 3)],
            [empty_entry(3, 3)],
        ),
        (
            1,
            1,
            [empty_entry(3, 2), empty_entry(4, 3)],
            [empty_entry(1, 1), empty_entry(3, 2), empty_entry(4, 3)],
            [empty_entry(3, 2), empty_entry(4, 3)],
        ),
        (0, 0, [empty_entry(1, 1)], [empty_entry(1, 1), empty_entry(2, 2)], []),
        (0, 0, [empty_entry(3, 1)], [empty_entry(3, 1)], [empty_entry(3, 1)]),
    ]
    for i, (index, term, ents, wents, wunstable) in enumerate(tests):
        r = raft_with_entries(1, [1, 2, 3], [empty_entry(1, 1), empty_entry(2, 2)])
        r.become_follower(2, 2)

        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = 2
        m.log_term = term
        m.index = index
        m.entries.extend(ents)
        r.step(m)

        g = r.raft_log.all_entries()
        assert g == wents, f"#{i}: ents = {g}, want {wents}"
        gu = list(r.raft_log.unstable_entries())
        assert gu == wunstable, f"#{i}: unstable_entries = {gu}, want {wunstable}"


def test_leader_sync_follower_log() -> None:
    """§5.3, figure 7: a new leader brings each kind of inconsistent follower log into line with its own."""
    ents = [
        empty_entry(1, 1),
        empty_entry(1, 2),
        empty_entry(1, 3),
        empty_entry(4, 4),
        empty_entry(4, 5),
        empty_entry(5, 6),
        empty_entry(5, 7),
        empty_entry(6, 8),
        empty_entry(6, 9),
        empty_entry(6, 10),
    ]
    term = 8

    def log(*terms: int) -> list[Entry]:
        return [empty_entry(t, i + 1) for i, t in enumerate(terms)]

    tests = [
        log(1, 1, 1, 4, 4, 5, 5, 6, 6),
        log(1, 1, 1, 4),
        log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6),
        log(1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7),
        log(1, 1, 1, 4, 4, 4, 4),
        log(1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3),
    ]
    for i, tt in enumerate(tests):
        lead = raft_with_entries(1, [1, 2, 3], ents)
        last_index = lead.raft_log.last_index()
        lead.load_state(hard_state(term, last_index, 0))

        follower = raft_with_entries(2, [1, 2, 3], tt)
        follower.load_state(hard_state(term - 1, 0, 0))

        # A three-node cluster is needed: the follower may have a more up-to-date log than the leader,
        # so the leader needs the third node's vote.
        n = Network.new([lead, follower, NOP_STEPPER])
        n.send([new_message(1, 1, MessageType.MsgHup, 0)])
        # The election happens in the term after the one loaded above.
        m = new_message(3, 1, MessageType.MsgRequestVoteResponse, 0)
        m.term = term + 1
        n.send([m])

        m = new_message(1, 1, MessageType.MsgPropose, 0)
        m.entries.append(Entry())
        n.send([m])
        lead_str = ltoa(n.peers[1].raft_log)
        follower_str = ltoa(n.peers[2].raft_log)
        assert lead_str == follower_str, f"#{i}: lead: {lead_str}, follower: {follower_str}"


def test_vote_request() -> None:
    """§5.4.1: RequestVote carries the candidate's last log index and term and goes to every other node."""
    tests = [
        ([empty_entry(1, 1)], 2),
        ([empty_entry(1, 1), empty_entry(2, 2)], 3),
    ]
    for j, (ents, wterm) in enumerate(tests):
        r = new_test_raft(1, [1, 2, 3], 10, 1, new_storage())
        m = new_message(2, 1, MessageType.MsgAppend, 0)
        m.term = wterm - 1
        m.log_term = 0
        m.index = 0
        m.entries.extend(ents)
        r.step(m)
        r.read_messages()

        for _ in range(1, r.election_timeout() * 2):
            r.tick_election()

        msgs = sorted_msgs(r.read_messages())
        assert len(msgs) == 2, f"#{j}: msg count = {len(msgs)}, want 2"
        for i, m in enumerate(msgs):
            assert m.msg_type == MessageType.MsgRequestVote, f"#{j}.{i}: msg_type = {m.msg_type}"
            assert m.to == i + 2, f"#{j}.{i}: to = {m.to}, want {i + 2}"
            assert m.term == wterm, f"#{j}.{i}: term = {m.term}, want {wterm}"
            assert m.index == ents[-1].index, f"#{j}.{i}: index = {m.index}, want {ents[-1].index}"
            assert m.log_term == ents[-1].term, f"#{j}.{i}: log_term = {m.log_term}, want {ents[-1].term}"


def test_voter() -> None:
    """§5.4.1: a voter denies its vote when its own log is more up-to-date than the candidate's."""
    tests = [
        # same logterm
        ([empty_entry(1, 1)], 1, 1, False),
        ([empty_entry(1, 1)], 1, 2, False),
        ([empty_entry(1, 1), empty_entry(1, 2)], 1, 1, True),
        # candidate higher logterm
        ([empty_entry(1, 1)], 2, 1, False),
        ([empty_entry(1, 1)], 2, 2, False),
        ([empty_entry(1, 1), empty_entry(1, 2)], 2, 1, False),
        # voter higher logterm
        ([empty_entry(2, 1)], 1, 1, True),
        ([empty_entry(2, 1)], 1, 2, True),
        ([empty_entry(2, 1), empty_entry(1, 2)], 1, 1, True),
    ]
    for i, (ents, log_term, index, wreject) in enumerate(tests):
        r = raft_with_entries(1, [1, 2], ents)

        m = new_message(2, 1, MessageType.MsgRequestVote, 0)
        m.term = 3
        m.log_term = log_term
        m.index = index
        r.step(m)

        msgs = r.read_messages()
        assert len(msgs) == 1, f"#{i}: msg count = {len(msgs)}, want 1"
        assert msgs[0].msg_type == MessageType.MsgRequestVoteResponse, f"#{i}: {msgs[0]}"
        assert msgs[0].reject == wreject, f"#{i}: reject = {msgs[0].reject}, want {wreject}"


def test_leader_only_commits_log_from_current_term() -> None:
    """§5.4.2: a leader commits by counting replicas only entries of its current term."""
    ents = [empty_entry(1, 1), empty_entry(2, 2)]
    tests = [
        # do not commit log entries in previous terms
        (1, 0),
        (2, 0),
        # commit log in current term
        (3, 3),
    ]
    for i, (index, wcommit) in enumerate(tests):
        r = raft_with_entries(1, [1, 2], ents)
        r.load_state(hard_state(2, 0, 0))

        # become leader at term 3
        r.become_candidate()
        r.become_leader()
        r.read_messages()

        # propose an entry in the current term
        r.step(new_message(1, 1, MessageType.MsgPropose, 1))
        r.persist()

        m = new_message(2, 1, MessageType.MsgAppendResponse, 0)
        m.term = r.term
        m.index = index
        r.step(m)
        assert r.raft_log.committed == wcommit, f"#{i}: commit = {r.raft_log.committed}, want {wcommit}"
