"""Config: defaults and validate() (raft-rs config.rs), each rule with raft-rs's message."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from raftstore.raft import NO_LIMIT, ConfigInvalidError, MemStorage, Raft
from raftstore.raft.config import Config
from raftstore.raft import ConfState, ReadOnlyOption


def test_defaults_match_api() -> None:
    c = Config(1)
    assert (c.id, c.election_tick, c.heartbeat_tick, c.applied) == (1, 10, 1, 0)
    assert (c.max_size_per_msg, c.max_inflight_msgs) == (0, 256)
    assert not c.check_quorum and not c.pre_vote
    assert c.read_only_option is ReadOnlyOption.SAFE
    assert not c.skip_bcast_commit and not c.batch_append
    assert c.priority == 0
    assert c.max_uncommitted_size == NO_LIMIT
    assert c.max_committed_size_per_ready == NO_LIMIT
    assert (c.min_election_tick, c.max_election_tick) == (0, 0)
    assert not c.disable_proposal_forwarding
    c.validate()


def test_signature_order() -> None:
    names = list(inspect.signature(Config).parameters)
    assert names == [
        "id",
        "election_tick",
        "heartbeat_tick",
        "applied",
        "max_size_per_msg",
        "max_inflight_msgs",
        "check_quorum",
        "pre_vote",
        "read_only_option",
        "skip_bcast_commit",
        "batch_append",
        "priority",
        "max_uncommitted_size",
        "max_committed_size_per_ready",
        "min_election_tick",
        "max_election_tick",
        "disable_proposal_forwarding",
    ]
    assert [f.name for f in dataclasses.fields(Config)] == names


def test_effective_election_ticks() -> None:
    c = Config(1, election_tick=10)
    assert c.effective_min_election_tick() == 10
    assert c.effective_max_election_tick() == 20
    c.min_election_tick, c.max_election_tick = 12, 15
    assert c.effective_min_election_tick() == 12
    assert c.effective_max_election_tick() == 15


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": 0}, "invalid node id"),
        ({"heartbeat_tick": 0}, "heartbeat tick must greater than 0"),
        ({"election_tick": 1, "heartbeat_tick": 1}, "election tick must be greater than heartbeat tick"),
        ({"election_tick": 2, "heartbeat_tick": 3}, "election tick must be greater than heartbeat tick"),
        ({"min_election_tick": 9}, "min election tick 9 must not be less than election_tick 10"),
        ({"max_election_tick": 10}, "min election tick 10 should be less than max election tick 10"),
        (
            {"min_election_tick": 15, "max_election_tick": 12},
            "min election tick 15 should be less than max election tick 12",
        ),
        ({"min_election_tick": 20}, "min election tick 20 should be less than max election tick 20"),
        ({"max_inflight_msgs": 0}, "max inflight messages must be greater than 0"),
        (
            {"read_only_option": ReadOnlyOption.LEASE_BASED},
            "read_only_option == LeaseBased requires check_quorum == true",
        ),
        (
            {"max_uncommitted_size": 10, "max_size_per_msg": 11},
            "max uncommitted size should greater than max_size_per_msg",
        ),
    ],
)
def test_validate_rejects(changes: dict[str, object], message: str) -> None:
    c = dataclasses.replace(Config(1), **changes)
    with pytest.raises(ConfigInvalidError) as info:
        c.validate()
    assert str(info.value) == message
    assert info.value == ConfigInvalidError(message)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"min_election_tick": 10, "max_election_tick": 11},
        {"election_tick": 2, "heartbeat_tick": 1},
        {"read_only_option": ReadOnlyOption.LEASE_BASED, "check_quorum": True},
        {"max_uncommitted_size": 10, "max_size_per_msg": 10},
        {"max_size_per_msg": NO_LIMIT},
    ],
)
def test_validate_accepts(changes: dict[str, object]) -> None:
    dataclasses.replace(Config(1), **changes).validate()


def test_election_tick_range_rules() -> None:
    """raft-rs test_config_validate's election tick cases (test_raft.rs)."""
    cfg = Config(1, election_tick=10, heartbeat_tick=1)
    cfg.min_election_tick = cfg.election_tick
    cfg.validate()
    cfg.min_election_tick = cfg.election_tick - 1
    with pytest.raises(ConfigInvalidError):
        cfg.validate()
    cfg.min_election_tick = cfg.election_tick
    cfg.max_election_tick = cfg.election_tick
    with pytest.raises(ConfigInvalidError):
        cfg.validate()
    cfg.max_election_tick = cfg.election_tick + 1
    cfg.validate()


def test_new_raft_with_bad_config_errors() -> None:
    """Raft(config, storage) validates the config first (raft-rs test_new_raft_with_bad_config_errors)."""
    s = MemStorage.new_with_conf_state(ConfState(voters=[1, 2]))
    with pytest.raises(ConfigInvalidError):
        Raft(Config(0, election_tick=1, heartbeat_tick=1), s)


def test_raft_uses_effective_election_range() -> None:
    s = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    r = Raft(Config(1, election_tick=10, min_election_tick=12, max_election_tick=14), s)
    assert 12 <= r.randomized_election_timeout < 14
    assert r.election_timeout() == 10
