"""What a proposal's answer means once its leader is cut off (raftstore.store.cmd's rule): an error says
"not applied" only when that is certain; a proposal whose result the peer cannot know is answered
UndeterminedResult, and then the write may or may not be present, but it is never answered "not
applied" while present.

Every scenario starts the same way: store 1 leads region 1 with k = old, a put k = new is proposed there,
and store 1 is cut off either after its entry reached stores 2 and 3 (`replicated`: the new leader
commits it) or before (the new leader's log overwrites it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.proto.metapb_pb2 import Peer
from raftstore.store.cmd import CmdResult
from raftstore.store.store_core import StoreConfig, StoreCore
from raftstore.testing import Cluster, ClusterError, DropFilter, IsolateStore

from .helpers import leader_cmd, put

# COMPACT: the new leader's log is compacted past the cut-off store after 20 entries (the count limit).
COMPACT = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5, raft_log_gc_count_limit=20)


def propose_then_cut_off(cluster: Cluster, replicated: bool) -> tuple[list[CmdResult], int]:
    """propose_then_cut_off proposes k = new on store 1 (the leader) and isolates store 1, after its
    entry reached stores 2 and 3 when replicated (their answers never come back); then waits for a leader
    among stores 2 and 3. Returns the answer box and the entry's index."""
    cluster.must_transfer_leader(1, 1)
    cluster.must_put(b"k", b"old")
    peer = cluster.cores[1].peers[1]
    index = peer.storage.last_index() + 1
    cluster.transport.add_filter(DropFilter(lambda m: m.to_peer.store_id == 1))
    if not replicated:
        cluster.transport.add_filter(IsolateStore(1))
    _, cmd = leader_cmd(cluster, put(b"k", b"new"))
    box = cluster.propose(1, cmd)
    cluster.run_steps(2)  # step 1: store 1 appends and sends; step 2: stores 2 and 3 append
    assert [p.index for p in peer.proposals] == [index]
    assert all(cluster.cores[s].peers[1].storage.last_index() >= index for s in (2, 3)) == replicated
    cluster.transport.add_filter(IsolateStore(1))
    cluster.run_until(lambda: (ld := cluster.leader_of()) is not None and ld.store_id != 1, what="a leader on 2 or 3")
    return box, index


def answered(cluster: Cluster, box: list[CmdResult]) -> CmdResult:
    cluster.run_until(lambda: bool(box), max_steps=600, what="an answer to store 1's proposal")
    assert len(box) == 1
    return box[0]


def test_a_leader_removed_with_a_committed_proposal_answers_undetermined(cluster: Cluster) -> None:
    """The new leader commits the put and removes store 1's peer; once store 1 hears of it (a gc message
    answers its campaign) it is destroyed with the proposal in flight: UndeterminedResult, never the
    RegionNotFound that means "not applied", and the put is there."""
    box, index = propose_then_cut_off(cluster, replicated=True)
    assert cluster.must_get(b"k") == b"new"
    cluster.must_remove_peer(1, Peer(id=1, store_id=1))
    assert box == []
    cluster.clear_filters()
    error = answered(cluster, box).error
    assert error is not None and error.HasField("undetermined_result"), error
    assert (error.undetermined_result.region_id, error.undetermined_result.index) == (1, index)
    assert cluster.peer_on_store(1) is None
    assert cluster.must_get(b"k") == b"new"


@pytest.mark.parametrize(("replicated", "final"), [(True, b"new"), (False, b"old")])
def test_a_snapshot_past_the_proposal_answers_undetermined(tmp_path: Path, replicated: bool, final: bytes) -> None:
    """The new leader writes until its log is compacted past store 1, which catches up by a snapshot
    past its proposal: the snapshot may hold the entry (replicated) or not, store 1 cannot tell: both
    answer UndeterminedResult, never StaleCommand, whether the put is there or not."""
    with Cluster(3, path=tmp_path, config=COMPACT) as cluster:
        cluster.start()
        box, index = propose_then_cut_off(cluster, replicated)
        for i in range(40):
            cluster.must_put(b"x%02d" % i, b"v")
        leader = cluster.wait_leader().store_id
        cluster.run_until(lambda: cluster.cores[leader].peers[1].storage.truncated_index() > index, what="compaction")
        cluster.clear_filters()
        error = answered(cluster, box).error
        assert error is not None and error.HasField("undetermined_result"), error
        assert cluster.cores[1].peers[1].storage.truncated_index() >= index  # it did apply a snapshot
        assert cluster.must_get(b"k") == final
        cluster.must_get_on_store(1, b"k", final)


@pytest.mark.parametrize("replicated", [True, False])
def test_a_leader_that_loses_leadership_learns_the_outcome_from_the_log(cluster: Cluster, replicated: bool) -> None:
    """Deposed but kept in the region, store 1 applies the new leader's log: its own entry at the
    proposal's index (replicated: committed, answered with the put's response) or another term's there
    (overwritten: StaleCommand, certain, and the put is not there)."""
    box, _ = propose_then_cut_off(cluster, replicated)
    cluster.must_put(b"other", b"write")
    cluster.clear_filters()
    error = answered(cluster, box).error
    if replicated:
        assert error is None
        assert cluster.must_get(b"k") == b"new"
    else:
        assert error is not None and error.HasField("stale_command"), error
        assert cluster.must_get(b"k") == b"old"


def crash_leader_before_answering(cluster: Cluster) -> int:
    """crash_leader_before_answering arms a crash of the leader's store in the round that applies its
    first proposal, after the apply and before the answer (the entry is committed); returns the store."""

    def applying(core: StoreCore) -> bool:
        peer = core.peers[1]
        return bool(peer.proposals) and peer.raft_group.raft.raft_log.committed >= peer.proposals[0].index

    leader = cluster.wait_leader().store_id
    cluster.crash_store_at(leader, "store_round_before_answer", applying)
    return leader


def test_must_cas_is_not_retried_when_its_store_went_down_unanswered(cluster: Cluster) -> None:
    """The cas took effect, but its store went down before answering: retried, it would compare against
    its own write and report (False, b"new"); must_cas says the outcome is unknown instead."""
    cluster.must_put(b"k", b"old")
    leader = crash_leader_before_answering(cluster)
    with pytest.raises(ClusterError, match="outcome is unknown"):
        cluster.must_cas(b"k", b"old", b"new")
    assert leader not in cluster.cores
    assert cluster.must_get(b"k") == b"new"


def test_must_put_is_retried_when_its_store_went_down_unanswered(cluster: Cluster) -> None:
    cluster.must_put(b"k", b"old")
    leader = crash_leader_before_answering(cluster)
    cluster.must_put(b"k", b"new")
    assert leader not in cluster.cores
    assert cluster.must_get(b"k") == b"new"


def test_must_split_is_not_retried_when_its_store_went_down_unanswered(cluster: Cluster) -> None:
    """The split took effect before its store went down: must_admin says the outcome is unknown rather
    than proposing it again (the retry would fail: the key is now the region's end)."""
    crash_leader_before_answering(cluster)
    with pytest.raises(ClusterError, match="outcome is unknown"):
        cluster.must_split(b"m")
    cluster.run_until(lambda: cluster.get_region(b"m").id != 1, what="the split on the other stores")
    assert cluster.get_region(b"a").end_key == b"m"
