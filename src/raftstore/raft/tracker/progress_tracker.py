"""raftstore.raft.tracker.progress_tracker: Configuration, ProgressMap and ProgressTracker."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Mapping

from ...proto.eraftpb_pb2 import ConfState
from ..quorum import Index, JointConfig, VoteResult
from .progress import Progress

__all__ = ["MapChangeType", "MapChange", "Configuration", "ProgressMap", "ProgressTracker"]


class MapChangeType(enum.Enum):
    """MapChangeType is what happens to a peer's Progress: ADD a new one, or REMOVE it."""

    ADD = 0
    REMOVE = 1


# MapChange is the ordered list of progress map changes that confchange's Changer computes and
# ProgressTracker.apply_conf applies. It lives here, as etcd's tracker does not depend on confchange.
MapChange = list[tuple[int, MapChangeType]]


class Configuration:
    """Configuration is the membership tracked by a ProgressTracker (raft-rs tracker::Configuration).

    `voters` is a JointConfig (its `outgoing` half is non-empty only in joint consensus); `learners`
    are non-voting members; `learners_next` are outgoing voters that become learners when the joint
    config is left (a demoted voter cannot be a learner while it still votes in the outgoing half);
    `auto_leave` asks Raft to leave the joint config by itself.
    Invariants (checked by Changer): learners are disjoint from both voter halves; every learners_next
    id is an outgoing voter; outside joint consensus learners_next is empty and auto_leave is False.
    """

    __slots__ = ("voters", "learners", "learners_next", "auto_leave")

    def __init__(self, voters: Iterable[int] = (), learners: Iterable[int] = ()) -> None:
        self.voters: JointConfig = JointConfig(voters)
        self.learners: set[int] = set(learners)
        self.learners_next: set[int] = set()
        self.auto_leave: bool = False

    @classmethod
    def with_capacity(cls, voters: int, learners: int) -> Configuration:
        """with_capacity is an empty Configuration."""
        return cls()

    def clone(self) -> Configuration:
        """clone is an independent copy."""
        cfg = Configuration()
        cfg.voters = self.voters.clone()
        cfg.learners = set(self.learners)
        cfg.learners_next = set(self.learners_next)
        cfg.auto_leave = self.auto_leave
        return cfg

    def to_conf_state(self) -> ConfState:
        """to_conf_state is the ConfState describing this configuration (each id list sorted)."""
        return ConfState(
            voters=sorted(self.voters.incoming),
            voters_outgoing=sorted(self.voters.outgoing),
            learners=sorted(self.learners),
            learners_next=sorted(self.learners_next),
            auto_leave=self.auto_leave,
        )

    def clear(self) -> None:
        """clear empties the configuration."""
        self.voters.clear()
        self.learners.clear()
        self.learners_next.clear()
        self.auto_leave = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Configuration):
            return NotImplemented
        return (
            self.voters == other.voters
            and self.learners == other.learners
            and self.learners_next == other.learners_next
            and self.auto_leave == other.auto_leave
        )

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        # __str__ is raft-rs's Display: "voters=(1 2)&&(1) learners=(3) learners_next=(4) autoleave",
        # ids sorted.
        parts = [f"voters={self.voters}"]
        if self.learners:
            parts.append("learners=(" + " ".join(str(i) for i in sorted(self.learners)) + ")")
        if self.learners_next:
            parts.append("learners_next=(" + " ".join(str(i) for i in sorted(self.learners_next)) + ")")
        if self.auto_leave:
            parts.append("autoleave")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"Configuration(voters={self.voters!r}, learners={sorted(self.learners)!r}, "
            f"learners_next={sorted(self.learners_next)!r}, auto_leave={self.auto_leave})"
        )


class ProgressMap(dict[int, Progress]):
    """ProgressMap maps a peer id to its Progress; as an AckedIndexer a voter's acknowledged index is
    its Progress's (matched, commit_group_id)."""

    def acked_index(self, voter_id: int) -> Index | None:
        pr = self.get(voter_id)
        if pr is None:
            return None
        return Index(pr.matched, pr.commit_group_id)


class ProgressTracker:
    """ProgressTracker tracks the configuration, the Progress of every voter and learner, and the votes
    of the current election (raft-rs tracker::ProgressTracker).

    Invariant (kept by Changer/apply_conf): `progress` has exactly one entry per id of the
    configuration's voters (both halves), learners and learners_next.
    Attributes: `progress` (ProgressMap), `votes` (dict id -> granted), `max_inflight` (the inflights
    window of new Progresses). `conf()` is the current Configuration (not a copy).
    """

    __slots__ = ("progress", "_conf", "votes", "max_inflight", "_group_commit")

    def __init__(self, max_inflight: int) -> None:
        self.progress: ProgressMap = ProgressMap()
        self._conf: Configuration = Configuration()
        self.votes: dict[int, bool] = {}
        self.max_inflight: int = max_inflight
        self._group_commit: bool = False

    @classmethod
    def with_capacity(cls, voters: int, learners: int, max_inflight: int) -> ProgressTracker:
        """with_capacity is ProgressTracker(max_inflight) (capacities mean nothing in Python)."""
        return cls(max_inflight)

    def clone(self) -> ProgressTracker:
        """clone is an independent deep copy."""
        tr = ProgressTracker(self.max_inflight)
        tr.progress = ProgressMap((id, pr.clone()) for id, pr in self.progress.items())
        tr._conf = self._conf.clone()
        tr.votes = dict(self.votes)
        tr._group_commit = self._group_commit
        return tr

    def conf(self) -> Configuration:
        """conf is the current configuration."""
        return self._conf

    def conf_voters(self) -> JointConfig:
        """conf_voters is the current voters (both halves)."""
        return self._conf.voters

    def conf_learners(self) -> set[int]:
        """conf_learners is the current learners."""
        return self._conf.learners

    def enable_group_commit(self, enable: bool) -> None:
        """enable_group_commit turns group commit on or off."""
        self._group_commit = enable

    def group_commit(self) -> bool:
        """group_commit tells whether group commit is on."""
        return self._group_commit

    def clear(self) -> None:
        """clear forgets all progress, the configuration and the votes."""
        self.progress.clear()
        self._conf.clear()
        self.votes.clear()

    def is_singleton(self) -> bool:
        """is_singleton tells whether there is exactly one voter and the config is not joint."""
        return self._conf.voters.is_singleton()

    def get(self, id: int) -> Progress | None:
        """get is the Progress of id, None if it is not tracked."""
        return self.progress.get(id)

    # get_mut is get: Python references are mutable.
    get_mut = get

    def iter(self) -> Iterator[tuple[int, Progress]]:
        """iter yields (id, Progress) for every tracked peer. Not for quorum decisions: use has_quorum."""
        return iter(self.progress.items())

    # iter_mut is iter.
    iter_mut = iter

    def __iter__(self) -> Iterator[tuple[int, Progress]]:
        return iter(self.progress.items())

    def maximal_committed_index(self) -> tuple[int, bool]:
        """maximal_committed_index is the highest index committed by the voters' quorum, and whether
        group commit decided it."""
        return self._conf.voters.committed_index(self._group_commit, self.progress)

    def reset_votes(self) -> None:
        """reset_votes starts a new round of vote counting."""
        self.votes.clear()

    def record_vote(self, id: int, vote: bool) -> None:
        """record_vote records id's vote unless id already voted (the first vote counts)."""
        self.votes.setdefault(id, vote)

    def tally_votes(self) -> tuple[int, int, VoteResult]:
        """tally_votes is (granted, rejected, result): the counts cover current voters only."""
        granted = 0
        rejected = 0
        voters = self._conf.voters
        for id, vote in self.votes.items():
            if not voters.contains(id):
                continue
            if vote:
                granted += 1
            else:
                rejected += 1
        return granted, rejected, self.vote_result(self.votes)

    def vote_result(self, votes: Mapping[int, bool]) -> VoteResult:
        """vote_result is the outcome of the election given votes (id -> granted)."""
        return self._conf.voters.vote_result(votes.get)

    def quorum_recently_active(self, perspective_of: int) -> bool:
        """quorum_recently_active tells whether a quorum was recently active, counting perspective_of
        (the leader) as active, and clears every other peer's recent_active (the leader's is set)."""
        active: set[int] = set()
        for id, pr in self.progress.items():
            if id == perspective_of:
                pr.recent_active = True
                active.add(id)
            elif pr.recent_active:
                # Learners may be added too: the quorum is computed over voter ids.
                active.add(id)
                pr.recent_active = False
        return self.has_quorum(active)

    def has_quorum(self, potential_quorum: Collection[int]) -> bool:
        """has_quorum tells whether the ids in potential_quorum form a quorum of the (joint) voters."""

        def check(id: int) -> bool | None:
            return True if id in potential_quorum else None

        return self._conf.voters.vote_result(check) is VoteResult.WON

    def apply_conf(self, conf: Configuration, changes: MapChange, next_idx: int) -> None:
        """apply_conf installs conf and applies changes to the progress map: an added peer gets a new
        Progress at next_idx marked recently active (so that CheckQuorum does not step down before it
        is heard from); a removed peer's Progress is dropped."""
        self._conf = conf
        progress = self.progress
        for id, change_type in changes:
            if change_type is MapChangeType.ADD:
                pr = Progress(next_idx, self.max_inflight)
                pr.recent_active = True
                progress[id] = pr
            else:
                progress.pop(id, None)

    def __repr__(self) -> str:
        return (
            f"ProgressTracker(conf={self._conf!r}, progress={dict(sorted(self.progress.items()))!r}, "
            f"votes={self.votes!r}, max_inflight={self.max_inflight}, group_commit={self._group_commit})"
        )
