"""raftstore.raft.confchange.restore: rebuild a tracker's configuration from a ConfState."""

from __future__ import annotations

from ...proto.eraftpb_pb2 import ConfChangeSingle, ConfChangeType, ConfState
from ..tracker import ProgressTracker
from .changer import Changer
from .conf_change import new_conf_change_single

__all__ = ["restore", "to_conf_change_single"]


def to_conf_change_single(cs: ConfState) -> tuple[list[ConfChangeSingle], list[ConfChangeSingle]]:
    """to_conf_change_single translates cs into (outgoing, incoming): `outgoing` adds the outgoing
    voters one by one to an empty config, building the config that becomes the outgoing half;
    `incoming`, applied on top of it as one joint change, removes those voters, then adds the voters,
    the learners and the learners_next (the last are demoted outgoing voters).

    E.g. voters=(1 2 3) learners=(5) outgoing=(1 2 4 6) learners_next=(4) gives outgoing = v1 v2 v4 v6
    and incoming = r1 r2 r4 r6 v1 v2 v3 l5 l4, i.e. (1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4).
    """
    outgoing = [new_conf_change_single(id, ConfChangeType.AddNode) for id in cs.voters_outgoing]
    incoming = [new_conf_change_single(id, ConfChangeType.RemoveNode) for id in cs.voters_outgoing]
    incoming.extend(new_conf_change_single(id, ConfChangeType.AddNode) for id in cs.voters)
    incoming.extend(new_conf_change_single(id, ConfChangeType.AddLearnerNode) for id in cs.learners)
    incoming.extend(
        new_conf_change_single(id, ConfChangeType.AddLearnerNode) for id in cs.learners_next
    )
    return outgoing, incoming


def restore(tracker: ProgressTracker, next_idx: int, cs: ConfState) -> None:
    """restore enacts cs on tracker, which must hold an empty configuration, through a sequence of
    simple changes (and one joint change when cs is joint); new Progresses start at next_idx. Raises
    ConfChangeError when cs is not a valid configuration."""
    outgoing, incoming = to_conf_change_single(cs)
    if not outgoing:
        for cc in incoming:
            cfg, changes = Changer(tracker).simple([cc])
            tracker.apply_conf(cfg, changes, next_idx)
    else:
        for cc in outgoing:
            cfg, changes = Changer(tracker).simple([cc])
            tracker.apply_conf(cfg, changes, next_idx)
        cfg, changes = Changer(tracker).enter_joint(cs.auto_leave, incoming)
        tracker.apply_conf(cfg, changes, next_idx)
