"""raftstore.raft.quorum.majority: MajorityConfig, a set of voter ids that decides by simple majority."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .base import U64_MAX, AckedIndexer, Index, VoteResult

__all__ = ["MajorityConfig"]


class MajorityConfig(set[int]):
    """MajorityConfig is a set of voter ids using majority quorums (raft-rs quorum::majority::Configuration).

    It is a `set[int]` (raft-rs derefs to its HashSet), so membership, `add`, `discard`, `clear`, `len` and
    set algebra all apply. Set operators return plain sets; use `clone()` for a MajorityConfig copy.
    """

    __slots__ = ()

    def __init__(self, voters: Iterable[int] = ()) -> None:
        super().__init__(voters)

    @classmethod
    def with_capacity(cls, cap: int) -> MajorityConfig:
        """with_capacity is an empty MajorityConfig (capacity is meaningless for Python sets)."""
        return cls()

    def clone(self) -> MajorityConfig:
        """clone is an independent copy of this config."""
        return MajorityConfig(self)

    def ids(self) -> Iterator[int]:
        """ids iterates over the voters (in set order)."""
        return iter(self)

    def contains(self, id: int) -> bool:
        """contains tells whether id is a voter of this config."""
        return id in self

    def is_empty(self) -> bool:
        """is_empty tells whether this config has no voter."""
        return not self

    def slice(self) -> list[int]:
        """slice is the voters as a sorted list."""
        return sorted(self)

    def raw_slice(self) -> list[int]:
        """raw_slice is the voters as a list in set order."""
        return list(self)

    def committed_index(self, use_group_commit: bool, l: AckedIndexer) -> tuple[int, bool]:
        """committed_index is the largest index acknowledged by a majority of the voters, and whether
        it was computed by the group commit algorithm.

        A voter without an acknowledged index counts as index 0. The empty config commits everything:
        (U64_MAX, True), so that a joint config with an empty half behaves like its other half. With
        use_group_commit, an index is committed only once it is also acknowledged in at least two
        commit groups; the flag is True only when that rule decided the index.
        """
        n = len(self)
        if n == 0:
            return U64_MAX, True
        acked = l.acked_index
        if not use_group_commit:
            indexes: list[int] = []
            for voter in self:
                found = acked(voter)
                indexes.append(0 if found is None else found.index)
            indexes.sort(reverse=True)
            # indexes[quorum - 1] with quorum = n // 2 + 1
            return indexes[n // 2], False

        matched: list[Index] = []
        for voter in self:
            found = acked(voter)
            matched.append(Index() if found is None else found)
        # Stable sort, highest index first (equal indexes keep their relative order).
        matched.sort(key=_index_of, reverse=True)
        quorum_index = matched[n // 2]
        quorum_commit_index = quorum_index.index
        checked_group_id = quorum_index.group_id
        single_group = True
        for m in matched:
            if m.group_id == 0:
                single_group = False
                continue
            if checked_group_id == 0:
                checked_group_id = m.group_id
                continue
            if checked_group_id == m.group_id:
                continue
            return min(m.index, quorum_commit_index), True
        if single_group:
            return quorum_commit_index, False
        return matched[-1].index, False

    def vote_result(self, check: Callable[[int], bool | None]) -> VoteResult:
        """vote_result is WON once a majority voted yes, LOST once no majority can vote yes any more,
        else PENDING. check(id) is True (yes), False (no) or None (not voted). The empty config wins."""
        if not self:
            return VoteResult.WON
        yes = 0
        missing = 0
        for voter in self:
            vote = check(voter)
            if vote is None:
                missing += 1
            elif vote:
                yes += 1
        quorum = len(self) // 2 + 1
        if yes >= quorum:
            return VoteResult.WON
        if yes + missing >= quorum:
            return VoteResult.PENDING
        return VoteResult.LOST

    def describe(self, l: AckedIndexer) -> str:
        """describe is a multi-line picture of the acknowledged indexes, one line per voter in id order:
        a bar whose length is the rank of the voter's index among the voters (voters whose index equals
        that of the next lower one get no bar, as in raft-rs), the index, and the id; `?` marks a voter
        with no acknowledged index."""
        n = len(self)
        if n == 0:
            return "<empty majority quorum>"
        info: list[tuple[int, Index | None]] = [(voter, l.acked_index(voter)) for voter in self]
        info.sort(key=lambda t: (0 if t[1] is None else t[1].index, t[0]))
        bars: dict[int, int] = {}
        for i, (voter, idx) in enumerate(info):
            bars[voter] = 0
            if i > 0:
                prev = info[i - 1][1]
                prev_index = 0 if prev is None else prev.index
                if prev_index < (0 if idx is None else idx.index):
                    bars[voter] = i
        info.sort(key=lambda t: t[0])
        lines = [" " * n + "    idx\n"]
        for voter, idx in info:
            if idx is None:
                lines.append("?" + " " * n + f" {str(Index()):>5}    (id={voter})\n")
            else:
                bar = bars[voter]
                lines.append("x" * bar + ">" + " " * (n - bar) + f" {str(idx):>5}    (id={voter})\n")
        return "".join(lines)

    def __str__(self) -> str:
        return "(" + " ".join(str(v) for v in sorted(self)) + ")"

    def __repr__(self) -> str:
        return f"MajorityConfig({sorted(self)!r})"


def _index_of(m: Index) -> int:
    return m.index
