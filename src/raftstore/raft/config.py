"""raftstore.raft.config: the parameters of one Raft, with raft-rs's fields, defaults and validation.

Config.min_election_tick / max_election_tick: in raft-rs these names are both fields (0 = default) and
methods giving the effective values. Python cannot have both, so here the names are the plain fields
(as configured, 0 meaning "default"), and the effective values are `effective_min_election_tick()`
(election_tick when the field is 0) and `effective_max_election_tick()` (2 * election_tick when 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigInvalidError
from .read_only import ReadOnlyOption
from .util import INVALID_ID, NO_LIMIT

__all__ = ["Config"]


@dataclass
class Config:
    """Config holds the parameters to start a Raft; mutable, checked by `validate()`.

    id: this node's id, non-zero and unique in the group.
    election_tick: ticks without hearing from a leader before a follower campaigns; > heartbeat_tick.
    heartbeat_tick: ticks between a leader's heartbeats.
    applied: the last applied index, set only when restarting; entries up to it are not returned again.
    max_size_per_msg: byte limit of the entries in one append message (0: at most one entry,
        NO_LIMIT: unlimited).
    max_inflight_msgs: in-flight append messages per follower while replicating optimistically (> 0).
    check_quorum: a leader steps down when a quorum was not active during an election timeout.
    pre_vote: run the pre-vote phase (Raft thesis 9.6) before a real election.
    read_only_option: how read-only requests are served; LEASE_BASED requires check_quorum.
    skip_bcast_commit: do not broadcast an empty append only to advance followers' commit index.
    batch_append: merge new entries into an append message to the same peer not yet drained.
    priority: election priority; a node refuses to vote for a lower-priority candidate whose log is
        not longer than its own.
    max_uncommitted_size: byte limit (sum of entry data lengths) of a leader's uncommitted entries;
        proposals beyond it are dropped.
    max_committed_size_per_ready: byte limit of the committed entries in one Ready.
    min_election_tick, max_election_tick: the randomized election timeout is drawn from
        [min, max); 0 means election_tick, respectively 2 * election_tick (see the module docstring).
    disable_proposal_forwarding: followers drop proposals instead of forwarding them to the leader.
    """

    id: int
    election_tick: int = 10
    heartbeat_tick: int = 1
    applied: int = 0
    max_size_per_msg: int = 0
    max_inflight_msgs: int = 256
    check_quorum: bool = False
    pre_vote: bool = False
    read_only_option: ReadOnlyOption = ReadOnlyOption.SAFE
    skip_bcast_commit: bool = False
    batch_append: bool = False
    priority: int = 0
    max_uncommitted_size: int = NO_LIMIT
    max_committed_size_per_ready: int = NO_LIMIT
    min_election_tick: int = 0
    max_election_tick: int = 0
    disable_proposal_forwarding: bool = False

    def effective_min_election_tick(self) -> int:
        """effective_min_election_tick is raft-rs's `min_election_tick()`: the configured minimum, or
        election_tick when it is 0."""
        return self.election_tick if self.min_election_tick == 0 else self.min_election_tick

    def effective_max_election_tick(self) -> int:
        """effective_max_election_tick is raft-rs's `max_election_tick()`: the configured maximum
        (exclusive), or 2 * election_tick when it is 0."""
        return 2 * self.election_tick if self.max_election_tick == 0 else self.max_election_tick

    def validate(self) -> None:
        """validate raises ConfigInvalidError, with raft-rs's message, on the first broken rule."""
        if self.id == INVALID_ID:
            raise ConfigInvalidError("invalid node id")
        if self.heartbeat_tick == 0:
            raise ConfigInvalidError("heartbeat tick must greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ConfigInvalidError("election tick must be greater than heartbeat tick")
        min_timeout = self.effective_min_election_tick()
        max_timeout = self.effective_max_election_tick()
        if min_timeout < self.election_tick:
            raise ConfigInvalidError(
                f"min election tick {min_timeout} must not be less than election_tick {self.election_tick}"
            )
        if min_timeout >= max_timeout:
            raise ConfigInvalidError(
                f"min election tick {min_timeout} should be less than max election tick {max_timeout}"
            )
        if self.max_inflight_msgs == 0:
            raise ConfigInvalidError("max inflight messages must be greater than 0")
        if self.read_only_option == ReadOnlyOption.LEASE_BASED and not self.check_quorum:
            raise ConfigInvalidError("read_only_option == LeaseBased requires check_quorum == true")
        if self.max_uncommitted_size < self.max_size_per_msg:
            raise ConfigInvalidError("max uncommitted size should greater than max_size_per_msg")
