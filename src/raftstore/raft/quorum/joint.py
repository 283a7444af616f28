"""raftstore.raft.quorum.joint: JointConfig, two majority configs that must both agree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Set
from typing import Any

from .base import AckedIndexer, VoteResult
from .majority import MajorityConfig

__all__ = ["JointConfig", "Union"]


class Union(Set[int]):
    """Union is a read-only set view of the ids in either of two sets, without copying them.

    Iteration yields the first set's ids, then those of the second set not in the first. It is a
    `collections.abc.Set`, so it compares equal to a set with the same ids; raft-rs's `contains`,
    `iter`, `is_empty` and `len` are there too.
    """

    __slots__ = ("_first", "_second")

    def __init__(self, first: Set[int], second: Set[int]) -> None:
        self._first = first
        self._second = second

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> set[Any]:
        return set(it)

    def __contains__(self, id: object) -> bool:
        return id in self._first or id in self._second

    def __iter__(self) -> Iterator[int]:
        first = self._first
        yield from first
        for id in self._second:
            if id not in first:
                yield id

    def __len__(self) -> int:
        first = self._first
        second = self._second
        if not second:
            return len(first)
        return len(first) + sum(1 for id in second if id not in first)

    def contains(self, id: int) -> bool:
        """contains tells whether id is in either set."""
        return id in self._first or id in self._second

    def iter(self) -> Iterator[int]:
        """iter iterates over the distinct ids of both sets."""
        return iter(self)

    def is_empty(self) -> bool:
        """is_empty tells whether both sets are empty."""
        return not self._first and not self._second

    def len(self) -> int:
        """len is the number of distinct ids."""
        return len(self)

    def __repr__(self) -> str:
        return f"Union({sorted(self)!r})"


class JointConfig:
    """JointConfig is raft-rs's quorum::joint::Configuration: an incoming and an outgoing MajorityConfig.

    Decisions need both majorities. Outside joint consensus `outgoing` is empty, and an empty majority
    commits everything and wins every vote, so the config then behaves like `incoming` alone.
    `JointConfig(voters)` is raft-rs's `new(voters)`; `JointConfig(incoming, outgoing)` is
    `new_joint_from_majorities`. The given ids are copied.
    """

    __slots__ = ("incoming", "outgoing")

    def __init__(self, incoming: Iterable[int] = (), outgoing: Iterable[int] = ()) -> None:
        self.incoming: MajorityConfig = MajorityConfig(incoming)
        self.outgoing: MajorityConfig = MajorityConfig(outgoing)

    @classmethod
    def new_joint_from_majorities(cls, incoming: Iterable[int], outgoing: Iterable[int]) -> JointConfig:
        """new_joint_from_majorities is a JointConfig of (copies of) the two majorities."""
        return cls(incoming, outgoing)

    @classmethod
    def with_capacity(cls, cap: int) -> JointConfig:
        """with_capacity is an empty JointConfig."""
        return cls()

    def clone(self) -> JointConfig:
        """clone is an independent copy."""
        return JointConfig(self.incoming, self.outgoing)

    def committed_index(self, use_group_commit: bool, l: AckedIndexer) -> tuple[int, bool]:
        """committed_index is the largest index committed in both majorities; the flag is True only
        when both majorities computed theirs by group commit."""
        i_idx, i_gc = self.incoming.committed_index(use_group_commit, l)
        o_idx, o_gc = self.outgoing.committed_index(use_group_commit, l)
        return min(i_idx, o_idx), i_gc and o_gc

    def vote_result(self, check: Callable[[int], bool | None]) -> VoteResult:
        """vote_result is WON when both majorities won, LOST when either lost, else PENDING."""
        i = self.incoming.vote_result(check)
        o = self.outgoing.vote_result(check)
        if i is VoteResult.WON and o is VoteResult.WON:
            return VoteResult.WON
        if i is VoteResult.LOST or o is VoteResult.LOST:
            return VoteResult.LOST
        return VoteResult.PENDING

    def clear(self) -> None:
        """clear removes every id from both majorities."""
        self.incoming.clear()
        self.outgoing.clear()

    def is_singleton(self) -> bool:
        """is_singleton tells whether the config has exactly one voter and is not joint."""
        return not self.outgoing and len(self.incoming) == 1

    def ids(self) -> Union:
        """ids is a set view of the voters of both majorities."""
        return Union(self.incoming, self.outgoing)

    def contains(self, id: int) -> bool:
        """contains tells whether id is a voter in either majority."""
        return id in self.incoming or id in self.outgoing

    def __contains__(self, id: object) -> bool:
        return id in self.incoming or id in self.outgoing

    def describe(self, l: AckedIndexer) -> str:
        """describe is MajorityConfig.describe over the union of both majorities."""
        return MajorityConfig(self.ids()).describe(l)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JointConfig):
            return NotImplemented
        return self.incoming == other.incoming and self.outgoing == other.outgoing

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        if not self.outgoing:
            return str(self.incoming)
        return f"{self.incoming}&&{self.outgoing}"

    def __repr__(self) -> str:
        return f"JointConfig({sorted(self.incoming)!r}, {sorted(self.outgoing)!r})"
