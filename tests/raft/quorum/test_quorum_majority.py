"""Tests of raftstore.raft.quorum.MajorityConfig: the cases of raft-rs's quorum datadriven tests for a
single majority (majority_commit, majority_vote), with the harness's cross-checks (zero-joint and
self-joint quorums agree, lowering an index already below the commit does not move it), describe, and
group commit."""

from __future__ import annotations

import pytest

from raftstore.raft import AckIndexer, Index, JointConfig, MajorityConfig, VoteResult
from raftstore.raft.quorum import U64_MAX

P, L, W = VoteResult.PENDING, VoteResult.LOST, VoteResult.WON


def ids_of(spec: str) -> list[int]:
    """ids_of parses "1 2 3" into [1, 2, 3]."""
    return [int(tok) for tok in spec.split()]


def acked(ids: list[int], idxs: str, gids: str = "") -> AckIndexer:
    """acked maps the i-th id to the i-th index of idxs ("12 _ 5"; `_`: nothing known, which differs
    from index 0) and, if given, the i-th commit group of gids (`_`: no group)."""
    vals = idxs.split()
    groups = gids.split() if gids else ["_"] * len(vals)
    assert len(vals) == len(ids) == len(groups), "one index (or _) per voter"
    l = AckIndexer()
    for id, val, gid in zip(ids, vals, groups):
        if val != "_":
            l[id] = Index(int(val), 0 if gid == "_" else int(gid))
    return l


def votes_of(ids: list[int], spec: str) -> dict[int, bool]:
    """votes_of maps the i-th id to its vote in spec ("y n _"; `_`: not voted)."""
    vals = spec.split()
    assert len(vals) == len(ids), "one vote (or _) per voter"
    return {id: v == "y" for id, v in zip(ids, vals) if v != "_"}


# ------------------------------------------------------------------------------------- committed index

MAJORITY_COMMIT = [
    # A single voter: nothing committed until its index is known, then exactly that.
    ("1", "_", 0),
    ("1", "12", 12),
    # Two voters: the smaller index once both are known.
    ("1 2", "_ _", 0),
    ("1 2", "12 _", 0),
    ("1 2", "12 5", 5),
    # Three voters.
    ("1 2 3", "_ _ _", 0),
    ("1 2 3", "12 _ _", 0),
    ("1 2 3", "12 5 _", 5),
    ("1 2 3", "12 5 6", 6),
    ("1 2 3", "12 5 4", 5),
    ("1 2 3", "5 5 _", 5),
    ("1 2 3", "5 5 12", 5),
    ("1 2 3", "100 101 103", 101),
    # Five voters.
    ("1 2 3 4 5", "101 104 103 103 _", 103),
    ("1 2 3 4 5", "101 102 103 103 _", 102),
]


@pytest.mark.parametrize("cfg, idxs, want", MAJORITY_COMMIT)
def test_majority_committed_index(cfg: str, idxs: str, want: int) -> None:
    """committed_index is the highest index a majority acknowledged; joining the majority with the
    empty or with itself gives the same; lowering a voter's index that is already below the result
    (to index - 1 or 0) leaves it unchanged."""
    ids = ids_of(cfg)
    c = MajorityConfig(ids)
    l = acked(ids, idxs)
    got = c.committed_index(False, l)
    assert got == (want, False)
    assert JointConfig(c, MajorityConfig()).committed_index(False, l) == got
    assert JointConfig(c, c).committed_index(False, l) == got
    for id in ids:
        idx = l.acked_index(id)
        if idx is None or not want > idx.index:
            continue
        for lowered in (idx.index - 1, 0):
            l[id] = Index(lowered, idx.group_id)
            assert c.committed_index(False, l) == got, f"overlaying {id}->{lowered}"
        l[id] = idx


def test_majority_committed_index_empty() -> None:
    """The empty majority commits everything (shown as ∞), so it is neutral in a joint quorum."""
    c = MajorityConfig()
    assert c.committed_index(False, AckIndexer()) == (U64_MAX, True)
    assert c.committed_index(True, AckIndexer()) == (U64_MAX, True)
    assert c.describe(AckIndexer()) == "<empty majority quorum>"
    assert str(Index(U64_MAX)) == "∞"


@pytest.mark.parametrize(
    "cfg, idxs, want",
    [
        ("1", "_", "     idx\n?      0    (id=1)\n"),
        ("1", "12", "     idx\n>     12    (id=1)\n"),
        (
            "1 2 3",
            "12 5 _",
            "       idx\nxx>     12    (id=1)\nx>       5    (id=2)\n?        0    (id=3)\n",
        ),
        (
            "1 2 3",
            "5 5 12",
            "       idx\n>        5    (id=1)\n>        5    (id=2)\nxx>     12    (id=3)\n",
        ),
        (
            "1 2 3 4 5",
            "101 104 103 103 _",
            "         idx\n"
            "x>       101    (id=1)\n"
            "xxxx>    104    (id=2)\n"
            "xx>      103    (id=3)\n"
            ">        103    (id=4)\n"
            "?          0    (id=5)\n",
        ),
    ],
)
def test_majority_describe(cfg: str, idxs: str, want: str) -> None:
    """describe draws one line per voter in id order: a bar for its index's rank (none when equal to
    the next lower index), the index (0 and `?` when unknown) and the id."""
    ids = ids_of(cfg)
    assert MajorityConfig(ids).describe(acked(ids, idxs)) == want


@pytest.mark.parametrize(
    "idxs, gids, want",
    [
        # One group only: the plain quorum index, not decided by group commit.
        ("100 101 99", "1 1 1", (100, False)),
        # A second group appears at 99: min(quorum index, 99).
        ("100 101 99", "1 1 2", (99, True)),
        # A second group appears at 101: the quorum index.
        ("100 101 99", "2 1 1", (100, True)),
        # A voter without a group: fall back to the smallest index.
        ("100 101 99", "_ 1 1", (99, False)),
        ("100 101 99", "_ 1 2", (99, True)),
        # An unknown voter counts as index 0 without a group.
        ("_ 101 99", "1 1 1", (0, False)),
    ],
)
def test_majority_group_commit(idxs: str, gids: str, want: tuple[int, bool]) -> None:
    """With group commit, an index is committed only once acknowledged in two commit groups; the flag
    tells whether that rule decided it."""
    ids = [1, 2, 3]
    c = MajorityConfig(ids)
    l = acked(ids, idxs, gids)
    assert c.committed_index(True, l) == want
    assert JointConfig(c).committed_index(True, l) == want


def test_index_display() -> None:
    """Index prints as its index, prefixed by [group] when it has one; u64::MAX prints as ∞."""
    assert str(Index(5)) == "5"
    assert str(Index(5, 2)) == "[2]5"
    assert str(Index(U64_MAX, 3)) == "[3]∞"
    assert Index() == Index(0, 0)


# ---------------------------------------------------------------------------------------------- voting

MAJORITY_VOTE = [
    # The empty config wins every vote.
    ("", "", W),
    ("1", "_", P),
    ("1", "n", L),
    ("123", "y", W),
    # Two voters: one rejection loses.
    ("4 8", "_ _", P),
    ("4 8", "n _", L),
    ("4 8", "y _", P),
    ("4 8", "n y", L),
    ("4 8", "y y", W),
    # Three voters.
    ("2 4 7", "_ _ _", P),
    ("2 4 7", "n _ _", P),
    ("2 4 7", "y _ _", P),
    ("2 4 7", "n n _", L),
    ("2 4 7", "y n _", P),
    ("2 4 7", "y y _", W),
    ("2 4 7", "y y n", W),
    ("2 4 7", "n y n", L),
    # Seven voters.
    ("1 2 3 4 5 6 7", "y y n y _ _ _", P),
    ("1 2 3 4 5 6 7", "_ y y _ n y n", P),
    ("1 2 3 4 5 6 7", "y y n y _ n y", W),
    ("1 2 3 4 5 6 7", "y y _ n y n n", P),
    ("1 2 3 4 5 6 7", "y y n y n n n", L),
]


@pytest.mark.parametrize("cfg, votes, want", MAJORITY_VOTE)
def test_majority_vote_result(cfg: str, votes: str, want: VoteResult) -> None:
    """vote_result is WON with a majority of yes, LOST once a majority of yes is impossible, else
    PENDING; as the single half of a joint config it decides the same."""
    ids = ids_of(cfg)
    v = votes_of(ids, votes)
    assert MajorityConfig(ids).vote_result(v.get) is want
    assert JointConfig(ids).vote_result(v.get) is want


def test_vote_result_display() -> None:
    """VoteResult prints with raft-rs's names."""
    assert [str(r) for r in (P, L, W)] == ["VotePending", "VoteLost", "VoteWon"]


def test_majority_config_is_a_set() -> None:
    """MajorityConfig behaves as the set of its voter ids and prints them sorted."""
    c = MajorityConfig([3, 1, 2])
    assert c == {1, 2, 3} and 2 in c and c.contains(2) and not c.contains(4)
    assert c.slice() == [1, 2, 3] and sorted(c.raw_slice()) == [1, 2, 3]
    assert str(c) == "(1 2 3)"
    d = c.clone()
    d.add(4)
    assert c == {1, 2, 3} and isinstance(d, MajorityConfig)
    assert MajorityConfig().is_empty()
