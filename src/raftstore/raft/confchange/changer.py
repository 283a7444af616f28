"""raftstore.raft.confchange.changer: Changer, which validates and computes configuration changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...proto.eraftpb_pb2 import ConfChangeSingle, ConfChangeType
from ..errors import ConfChangeError
from ..tracker import Configuration, MapChange, MapChangeType, Progress, ProgressTracker

__all__ = ["IncrChangeMap", "Changer", "joint", "check_invariants"]


def joint(cfg: Configuration) -> bool:
    """joint tells whether cfg is a joint configuration (its outgoing voters are not empty)."""
    return bool(cfg.voters.outgoing)


class IncrChangeMap:
    """IncrChangeMap is a progress map seen through pending changes: `base` is never modified, and
    `changes` records the additions and removals in order (the last change of an id wins)."""

    __slots__ = ("changes", "base")

    def __init__(self, base: Mapping[int, Progress]) -> None:
        self.changes: MapChange = []
        self.base: Mapping[int, Progress] = base

    def into_changes(self) -> MapChange:
        """into_changes is the recorded changes."""
        return self.changes

    def contains(self, id: int) -> bool:
        """contains tells whether id would have a Progress once the changes are applied."""
        for changed, change_type in reversed(self.changes):
            if changed == id:
                return change_type is MapChangeType.ADD
        return id in self.base


class Changer:
    """Changer computes the Configuration and progress map changes that a conf change produces, from
    the tracker's current state, validating them first (raft-rs confchange::Changer). It never modifies
    the tracker: the caller applies the result with ProgressTracker.apply_conf. Every method raises
    ConfChangeError for an invalid change.
    """

    __slots__ = ("tracker",)

    def __init__(self, tracker: ProgressTracker) -> None:
        self.tracker: ProgressTracker = tracker

    def enter_joint(
        self, auto_leave: bool, ccs: Sequence[ConfChangeSingle]
    ) -> tuple[Configuration, MapChange]:
        """enter_joint copies the incoming voters into the (empty) outgoing half, then applies ccs to
        the incoming half: (1 2 3)&&() becomes C_{new,old} = (changed)&&(1 2 3) (Raft thesis, 4.3).
        auto_leave is recorded in the result."""
        if joint(self.tracker.conf()):
            raise ConfChangeError("config is already joint")
        cfg, prs = self._check_and_copy()
        if not cfg.voters.incoming:
            # An empty config may get voters (bootstrap, tests) but cannot become joint.
            raise ConfChangeError("can't make a zero-voter config joint")
        cfg.voters.outgoing.update(cfg.voters.incoming)
        self._apply(cfg, prs, ccs)
        cfg.auto_leave = auto_leave
        check_invariants(cfg, prs)
        return cfg, prs.into_changes()

    def leave_joint(self) -> tuple[Configuration, MapChange]:
        """leave_joint drops the outgoing half, making the incoming voters the sole decision makers
        (C_{new,old} to C_new), turns learners_next into learners, and removes the Progress of every
        outgoing voter that is neither an incoming voter nor a learner."""
        if not joint(self.tracker.conf()):
            raise ConfChangeError("can't leave a non-joint config")
        cfg, prs = self._check_and_copy()
        if not cfg.voters.outgoing:
            raise ConfChangeError(f"configuration is not joint: {cfg!r}")
        cfg.learners.update(cfg.learners_next)
        cfg.learners_next.clear()
        incoming = cfg.voters.incoming
        learners = cfg.learners
        for id in cfg.voters.outgoing:
            if id not in incoming and id not in learners:
                prs.changes.append((id, MapChangeType.REMOVE))
        cfg.voters.outgoing.clear()
        cfg.auto_leave = False
        check_invariants(cfg, prs)
        return cfg, prs.into_changes()

    def simple(self, ccs: Sequence[ConfChangeSingle]) -> tuple[Configuration, MapChange]:
        """simple applies ccs outside joint consensus; in aggregate they may change the incoming
        voters by at most one id, and must leave at least one voter."""
        if joint(self.tracker.conf()):
            raise ConfChangeError("can't apply simple config change in joint config")
        cfg, prs = self._check_and_copy()
        self._apply(cfg, prs, ccs)
        if len(cfg.voters.incoming ^ self.tracker.conf().voters.incoming) > 1:
            raise ConfChangeError("more than one voter changed without entering joint config")
        check_invariants(cfg, prs)
        return cfg, prs.into_changes()

    def _apply(self, cfg: Configuration, prs: IncrChangeMap, ccs: Sequence[ConfChangeSingle]) -> None:
        # _apply applies each change to the incoming half (the outgoing half is kept as it was);
        # node id 0 means "ignore this change".
        for cc in ccs:
            node_id = cc.node_id
            if node_id == 0:
                continue
            change_type = cc.change_type
            if change_type == ConfChangeType.AddNode:
                _make_voter(cfg, prs, node_id)
            elif change_type == ConfChangeType.AddLearnerNode:
                _make_learner(cfg, prs, node_id)
            elif change_type == ConfChangeType.RemoveNode:
                _remove(cfg, prs, node_id)
            else:
                raise ConfChangeError(f"unknown conf change type {change_type}")
        if not cfg.voters.incoming:
            raise ConfChangeError("removed all voters")

    def _check_and_copy(self) -> tuple[Configuration, IncrChangeMap]:
        # _check_and_copy checks the tracker's state and returns a copy of its config with an empty
        # change map over its progress.
        prs = IncrChangeMap(self.tracker.progress)
        check_invariants(self.tracker.conf(), prs)
        return self.tracker.conf().clone(), prs


def _make_voter(cfg: Configuration, prs: IncrChangeMap, id: int) -> None:
    # _make_voter adds id as a voter of the incoming half, or promotes it.
    if not prs.contains(id):
        _init_progress(cfg, prs, id, False)
        return
    cfg.voters.incoming.add(id)
    cfg.learners.discard(id)
    cfg.learners_next.discard(id)


def _make_learner(cfg: Configuration, prs: IncrChangeMap, id: int) -> None:
    # _make_learner adds id as a learner or demotes it. A demoted voter still in the outgoing half is
    # staged in learners_next (it cannot be voter and learner at once) until leave_joint.
    if not prs.contains(id):
        _init_progress(cfg, prs, id, True)
        return
    if id in cfg.learners:
        return
    cfg.voters.incoming.discard(id)
    cfg.learners.discard(id)
    cfg.learners_next.discard(id)
    if id in cfg.voters.outgoing:
        cfg.learners_next.add(id)
    else:
        cfg.learners.add(id)


def _remove(cfg: Configuration, prs: IncrChangeMap, id: int) -> None:
    # _remove drops id from the incoming half and the learners; its Progress stays while it is an
    # outgoing voter.
    if not prs.contains(id):
        return
    cfg.voters.incoming.discard(id)
    cfg.learners.discard(id)
    cfg.learners_next.discard(id)
    if id not in cfg.voters.outgoing:
        prs.changes.append((id, MapChangeType.REMOVE))


def _init_progress(cfg: Configuration, prs: IncrChangeMap, id: int, is_learner: bool) -> None:
    # _init_progress adds a new peer as an incoming voter or a learner, with a new Progress.
    if is_learner:
        cfg.learners.add(id)
    else:
        cfg.voters.incoming.add(id)
    prs.changes.append((id, MapChangeType.ADD))


def check_invariants(cfg: Configuration, prs: IncrChangeMap) -> None:
    """check_invariants raises ConfChangeError unless cfg and prs agree: every voter, learner and
    staged learner has a Progress, learners are not voters, staged learners are outgoing voters, and
    outside joint consensus learners_next is empty and auto_leave False. The empty config is valid."""
    outgoing = cfg.voters.outgoing
    incoming = cfg.voters.incoming
    for id in cfg.voters.ids():
        if not prs.contains(id):
            raise ConfChangeError(f"no progress for voter {id}")
    for id in cfg.learners:
        if not prs.contains(id):
            raise ConfChangeError(f"no progress for learner {id}")
        if id in outgoing:
            raise ConfChangeError(f"{id} is in learners and outgoing voters")
        if id in incoming:
            raise ConfChangeError(f"{id} is in learners and incoming voters")
    for id in cfg.learners_next:
        if not prs.contains(id):
            raise ConfChangeError(f"no progress for learner(next) {id}")
        # A staged learner was staged because it is still an outgoing voter (raft-rs's message).
        if id not in outgoing:
            raise ConfChangeError(f"{id} is in learners_next and outgoing voters")
    if not joint(cfg):
        if cfg.learners_next:
            raise ConfChangeError("learners_next must be empty when not joint")
        if cfg.auto_leave:
            raise ConfChangeError("auto_leave must be false when not joint")
