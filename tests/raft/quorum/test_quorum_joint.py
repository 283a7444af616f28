"""Tests of raftstore.raft.quorum.JointConfig: the cases of raft-rs's quorum datadriven tests for joint
quorums (joint_commit, joint_group_commit, joint_vote), each also checked with the two halves swapped,
plus describe and the set operations of JointConfig."""

from __future__ import annotations

import pytest

from raftstore.raft import AckIndexer, Index, JointConfig, MajorityConfig, VoteResult
from raftstore.raft.quorum import Union

P, L, W = VoteResult.PENDING, VoteResult.LOST, VoteResult.WON
# ZERO is the empty outgoing half: the case still goes through the joint quorum code.
ZERO = ""


def ids_of(spec: str) -> list[int]:
    """ids_of parses "1 2 3" into [1, 2, 3]."""
    return [int(tok) for tok in spec.split()]


def voters_in_order(cfg: str, cfgj: str) -> list[int]:
    """voters_in_order lists the voters of cfg then those of cfgj, each once: the order in which
    idx/gid/votes values are given."""
    seen: list[int] = []
    for id in ids_of(cfg) + ids_of(cfgj):
        if id not in seen:
            seen.append(id)
    return seen


def acked(cfg: str, cfgj: str, idxs: str, gids: str = "") -> AckIndexer:
    """acked maps the voters (in voters_in_order) to the indexes of idxs (`_`: unknown) and, if
    given, the commit groups of gids (`_`: none)."""
    ids = voters_in_order(cfg, cfgj)
    vals = idxs.split()
    groups = gids.split() if gids else ["_"] * len(vals)
    assert len(vals) == len(ids) == len(groups), "one index (or _) per voter"
    l = AckIndexer()
    for id, val, gid in zip(ids, vals, groups):
        if val != "_":
            l[id] = Index(int(val), 0 if gid == "_" else int(gid))
    return l


def joint(cfg: str, cfgj: str) -> tuple[JointConfig, JointConfig]:
    """joint is the joint config of the two halves, and the same with the halves swapped."""
    c, cj = MajorityConfig(ids_of(cfg)), MajorityConfig(ids_of(cfgj))
    return JointConfig(c, cj), JointConfig(cj, c)


# ------------------------------------------------------------------------------------- committed index

JOINT_COMMIT = [
    # Joined with the empty config, a majority config decides alone.
    ("1 2 3", ZERO, "100 101 99", 100),
    # Disjoint single-voter halves: the lower of the two, once both are known.
    ("1", "2", "_ _", 0),
    ("1", "2", "100 _", 0),
    ("1", "2", "13 100", 13),
    # Identical single-voter halves.
    ("1", "1", "_", 0),
    ("1", "1", "100", 100),
    # Two voters joined with a disjoint single voter (values in order 1, 3, 2).
    ("1 3", "2", "_ _ _", 0),
    ("1 3", "2", "100 _ _", 0),
    ("1 3", "2", "100 _ 50", 0),
    ("1 3", "2", "100 45 50", 45),
    # Two voters joined with one of them.
    ("1 2", "2", "_ _", 0),
    ("1 2", "2", "100 _", 0),
    ("1 2", "2", "_ 100", 0),
    ("1 2", "2", "50 100", 50),
    ("1 2", "2", "100 50", 50),
    # Disjoint two-voter halves.
    ("1 2", "3 4", "50 _ _ _", 0),
    ("1 2", "3 4", "50 _ 49 _", 0),
    ("1 2", "3 4", "50 48 49 _", 0),
    ("1 2", "3 4", "50 48 49 47", 47),
    # Overlapping two-voter halves.
    ("1 2", "2 3", "_ _ _", 0),
    ("1 2", "2 3", "100 _ _", 0),
    ("1 2", "2 3", "_ 100 _", 0),
    ("1 2", "2 3", "_ 100 99", 0),
    ("1 2", "2 3", "101 100 99", 99),
    # Identical two-voter halves.
    ("1 2", "1 2", "_ _", 0),
    ("1 2", "1 2", "_ 40", 0),
    ("1 2", "1 2", "41 40", 40),
    # Disjoint three-voter halves.
    ("1 2 3", "4 5 6", "_ _ _ _ _ _", 0),
    ("1 2 3", "4 5 6", "100 _ _ _ _ _", 0),
    ("1 2 3", "4 5 6", "100 _ _ 90 _ _", 0),
    ("1 2 3", "4 5 6", "100 99 _ _ _ _", 0),
    # First half commits up to 90, second up to 95: 90.
    ("1 2 3", "4 5 6", "_ 99 90 97 95 _", 90),
    # First half now at 92, second still at least 95: 92.
    ("1 2 3", "4 5 6", "92 99 90 97 95 _", 92),
    ("1 2 3", "4 5 6", "92 99 90 97 95 77", 92),
    # Three-voter halves sharing one voter.
    ("1 2 3", "1 4 5", "_ _ _ _ _", 0),
    ("1 2 3", "1 4 5", "100 _ _ _ _", 0),
    ("1 2 3", "1 4 5", "100 101 _ _ _", 0),
    ("1 2 3", "1 4 5", "100 101 100 _ _", 0),
    ("1 2 3", "1 4 5", "_ 100 _ 99 98", 0),
    ("1 2 3", "1 4 5", "_ 100 99 99 98", 98),
    ("1 2 3", "1 4 5", "1 100 99 99 98", 98),
    ("1 2 3", "1 4 5", "100 100 99 99 98", 99),
    # Three-voter halves sharing two voters.
    ("1 2 3", "2 3 4", "_ _ _ _", 0),
    ("1 2 3", "2 3 4", "_ 100 99 _", 99),
    ("1 2 3", "2 3 4", "98 100 99 _", 99),
    ("1 2 3", "2 3 4", "100 100 99 _", 99),
    ("1 2 3", "2 3 4", "100 100 99 98", 99),
    ("1 2 3", "2 3 4", "100 _ _ 101", 0),
    ("1 2 3", "2 3 4", "100 99 _ 101", 99),
    # Identical three-voter halves.
    ("1 2 3", "1 2 3", "50 45 _", 45),
]


@pytest.mark.parametrize("cfg, cfgj, idxs, want", JOINT_COMMIT)
def test_joint_committed_index(cfg: str, cfgj: str, idxs: str, want: int) -> None:
    """An index is jointly committed when both halves committed it; swapping the halves changes
    nothing."""
    cc, swapped = joint(cfg, cfgj)
    l = acked(cfg, cfgj, idxs)
    got, _ = cc.committed_index(False, l)
    assert got == want
    assert swapped.committed_index(False, l)[0] == got, "via symmetry"


JOINT_GROUP_COMMIT = [
    # A single group everywhere: the plain quorum index.
    ("1 2 3", ZERO, "100 101 99", "1 1 1", 100),
    # min(quorum index 100, index where a second group first appears: 99)
    ("1 2 3", ZERO, "100 101 99", "1 1 2", 99),
    # min(100, 101)
    ("1 2 3", ZERO, "100 101 99", "2 1 1", 100),
    # A voter without a group: the minimum index, 99.
    ("1 2 3", ZERO, "100 101 99", "_ 1 1", 99),
    ("1 2 3", ZERO, "100 101 99", "_ 1 2", 99),
    ("1 2 3 4 5", ZERO, "100 101 99 102 98", "_ _ _ _ 1", 98),
    # Halves at min(100, 99) and min(100, 1).
    ("1 2 3 4", "3 4 5 6", "101 99 100 102 103 1", "1 _ 1 1 _ 2", 1),
    # Both halves at min(100, 101).
    ("1 2 3", "4 5 6", "99 100 101 99 100 101", "1 1 2 1 2 1", 100),
    # First half at min(100, 101), second at its minimum 99.
    ("1 2 3", "4 5 6", "99 100 101 99 100 101", "1 1 2 1 1 _", 99),
    # min(quorum index 101, 103)
    ("1 2 3 4 5", ZERO, "99 100 101 102 103", "1 1 1 1 2", 101),
    # Halves at their minimums 1 and 2.
    ("1 2 3 4 5", "2 3 4 5 6", "1 100 101 102 103 2", "1 _ 1 1 1 1", 1),
    # First half at its minimum 3, second at its quorum index 101.
    ("1 2 3 4 5", "2 3 4 5 6", "3 100 101 102 103 2", "_ 1 1 1 1 1", 3),
    # Both halves at min(101, 103).
    ("1 2 3 4 5", "2 3 4 5 6", "3 100 101 102 103 2", "_ 1 1 1 3 1", 101),
    # First half at 3, second at min(101, 2).
    ("1 2 3 4 5", "2 3 4 5 6", "3 100 101 102 103 2", "_ 1 1 1 1 3", 2),
]


@pytest.mark.parametrize("cfg, cfgj, idxs, gids, want", JOINT_GROUP_COMMIT)
def test_joint_group_committed_index(cfg: str, cfgj: str, idxs: str, gids: str, want: int) -> None:
    """With group commit each half needs its index acknowledged in two commit groups (or falls back
    to its minimum); the joint index is the lower one; swapping the halves changes nothing."""
    cc, swapped = joint(cfg, cfgj)
    l = acked(cfg, cfgj, idxs, gids)
    got = cc.committed_index(True, l)
    assert got[0] == want
    assert swapped.committed_index(True, l) == got, "via symmetry"


def test_joint_group_commit_flag() -> None:
    """The group commit flag of a joint config is set only when both halves used group commit."""
    l = acked("1 2 3", "4 5 6", "99 100 101 99 100 101", "1 1 2 1 2 1")
    assert JointConfig([1, 2, 3], [4, 5, 6]).committed_index(True, l) == (100, True)
    l = acked("1 2 3", "4 5 6", "99 100 101 99 100 101", "1 1 2 1 1 _")
    assert JointConfig([1, 2, 3], [4, 5, 6]).committed_index(True, l) == (99, False)
    # The empty half counts as having used group commit.
    l = acked("1 2 3", ZERO, "100 101 99", "1 1 2")
    assert JointConfig([1, 2, 3]).committed_index(True, l) == (99, True)


@pytest.mark.parametrize(
    "cfg, cfgj, idxs, want",
    [
        (
            "1 3",
            "2",
            "100 _ 50",
            "       idx\n"
            "xx>    100    (id=1)\n"
            "x>      50    (id=2)\n"
            "?        0    (id=3)\n",
        ),
        (
            "1 2 3",
            "1 4 5",
            "100 100 99 99 98",
            "         idx\n"
            "xxx>     100    (id=1)\n"
            ">        100    (id=2)\n"
            "x>        99    (id=3)\n"
            ">         99    (id=4)\n"
            ">         98    (id=5)\n",
        ),
    ],
)
def test_joint_describe(cfg: str, cfgj: str, idxs: str, want: str) -> None:
    """describe draws the union of both halves as one majority config would."""
    cc, _ = joint(cfg, cfgj)
    assert cc.describe(acked(cfg, cfgj, idxs)) == want


# ---------------------------------------------------------------------------------------------- voting

JOINT_VOTE = [
    # The empty joint config wins every vote.
    ("", ZERO, "", W),
    ("1", ZERO, "_", P),
    ("1", ZERO, "y", W),
    ("1", ZERO, "n", L),
    ("1", "1", "_", P),
    ("1", "1", "y", W),
    ("1", "1", "n", L),
    ("1", "2", "_ _", P),
    ("1", "2", "y _", P),
    ("1", "2", "y y", W),
    ("1", "2", "y n", L),
    ("1", "2", "n _", L),
    ("1", "2", "n n", L),
    ("1", "2", "n y", L),
    # Two-voter halves.
    ("1 2", "3 4", "_ _ _ _", P),
    ("1 2", "3 4", "y _ _ _", P),
    ("1 2", "3 4", "y y _ _", P),
    ("1 2", "3 4", "y y n _", L),
    ("1 2", "3 4", "y y n n", L),
    ("1 2", "3 4", "y y y n", L),
    ("1 2", "3 4", "y y y y", W),
    ("1 2", "2 3", "_ _ _", P),
    ("1 2", "2 3", "_ n _", L),
    ("1 2", "2 3", "y y _", P),
    ("1 2", "2 3", "y y n", L),
    ("1 2", "2 3", "y y y", W),
    ("1 2", "1 2", "_ _", P),
    ("1 2", "1 2", "y _", P),
    ("1 2", "1 2", "y n", L),
    ("1 2", "1 2", "n _", L),
    ("1 2", "1 2", "n n", L),
    # Overlapping three-voter halves.
    ("1 2 3", "2 3 4", "_ _ _ _", P),
    ("1 2 3", "2 3 4", "_ n _ _", P),
    ("1 2 3", "2 3 4", "_ n n _", L),
    ("1 2 3", "2 3 4", "_ y y _", W),
    ("1 2 3", "2 3 4", "y y _ _", P),
    ("1 2 3", "2 3 4", "y y n _", P),
    ("1 2 3", "2 3 4", "y y n n", L),
    ("1 2 3", "2 3 4", "y y n y", W),
]


@pytest.mark.parametrize("cfg, cfgj, votes, want", JOINT_VOTE)
def test_joint_vote_result(cfg: str, cfgj: str, votes: str, want: VoteResult) -> None:
    """A joint vote is won when both halves won, lost when either lost, else pending; swapping the
    halves changes nothing."""
    ids = voters_in_order(cfg, cfgj)
    vals = votes.split()
    assert len(vals) == len(ids)
    v = {id: val == "y" for id, val in zip(ids, vals) if val != "_"}
    cc, swapped = joint(cfg, cfgj)
    assert cc.vote_result(v.get) is want
    assert swapped.vote_result(v.get) is want, "via symmetry"


# --------------------------------------------------------------------------------------- set behaviour


def test_joint_config_ids_contains_singleton() -> None:
    """ids is the union of both halves (each id once); contains checks both; is_singleton needs one
    voter and no outgoing half; clear empties both."""
    cc = JointConfig([1, 2, 3], [2, 3, 4])
    ids = cc.ids()
    assert isinstance(ids, Union)
    assert ids == {1, 2, 3, 4} and len(ids) == 4 and ids.len() == 4
    assert sorted(ids) == [1, 2, 3, 4] and sorted(ids.iter()) == [1, 2, 3, 4]
    assert ids.contains(4) and 4 in ids and not ids.contains(5)
    assert cc.contains(1) and cc.contains(4) and 4 in cc and not cc.contains(5)
    assert not cc.is_singleton()
    assert JointConfig([7]).is_singleton()
    assert not JointConfig([7], [7]).is_singleton()
    assert str(cc) == "(1 2 3)&&(2 3 4)" and str(JointConfig([2, 1])) == "(1 2)"
    assert cc == JointConfig([3, 2, 1], [4, 3, 2]) and cc != JointConfig([1, 2, 3])
    copy = cc.clone()
    cc.clear()
    assert cc.ids().is_empty() and cc == JointConfig()
    assert copy == JointConfig([1, 2, 3], [2, 3, 4])
