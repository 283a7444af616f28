"""The fault schedule: dealt from a seed, in fixed proportions, and the links each partition cuts."""

from __future__ import annotations

from collections import Counter

import pytest

from raftstore.chaos.faults import ADMIN, KINDS, PARTITIONS, Schedule, partition_links


def _kinds(seed: int, cycles: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    schedule = Schedule(seed, [1, 2, 3], kinds)
    return [schedule.next_fault(leader=1).kind for _ in range(cycles)]


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert _kinds(7, 60) == _kinds(7, 60)
    assert _kinds(7, 60) != _kinds(8, 60)


def test_120_cycles_hold_70_kills_20_pauses_20_partitions_10_admin_changes() -> None:
    counts = Counter(_kinds(3, 120))
    grouped = {
        "kill": counts["kill"],
        "pause": counts["pause"],
        "partition": sum(counts[k] for k in PARTITIONS),
        "admin": sum(counts[k] for k in ADMIN),
    }
    assert grouped == {"kill": 70, "pause": 20, "partition": 20, "admin": 10}


def test_kinds_limit_what_is_drawn() -> None:
    assert set(_kinds(1, 30, ("partition-leader",))) == {"partition-leader"}
    assert set(_kinds(1, 30, ("kill", "split"))) == {"kill", "split"}
    with pytest.raises(ValueError, match="unknown fault kinds: nap"):
        Schedule(1, [1, 2, 3], ("nap",))


@pytest.mark.parametrize(
    ("groups", "links"),
    [
        ([{1}, {2, 3}], {(1, 2), (1, 3), (2, 1), (3, 1)}),
        ([{1, 2}, {3}], {(1, 3), (2, 3), (3, 1), (3, 2)}),
        ([{1, 2}, {4, 5}], {(1, 4), (1, 5), (2, 4), (2, 5), (4, 1), (5, 1), (4, 2), (5, 2)}),
    ],
)
def test_partition_links_cut_both_ways_between_groups_only(groups: list[set[int]], links: set[tuple[int, int]]) -> None:
    assert partition_links(groups) == links


def test_partitions_isolate_the_leader_and_bridge_keeps_one_store_linked_to_both_halves() -> None:
    schedule = Schedule(5, [1, 2, 3, 4, 5], ("partition-leader", "partition-bridge"))
    for _ in range(20):
        fault = schedule.next_fault(leader=4)
        touched = {s for link in fault.links for s in link}
        if fault.kind == "partition-leader":
            assert fault.links == partition_links([{4}, {1, 2, 3, 5}])
        else:
            bridge = ({1, 2, 3, 4, 5} - touched).pop()  # the bridge's links are never cut
            assert f"bridge {bridge}" in fault.detail
            assert len(fault.links) == 8  # two halves of two stores, both ways


def test_one_way_partitions_cut_one_direction_of_one_store() -> None:
    schedule = Schedule(2, [1, 2, 3], ("partition-one-way",))
    seen = set()
    for _ in range(20):
        fault = schedule.next_fault(leader=1)
        (sources, targets) = ({a for a, _ in fault.links}, {b for _, b in fault.links})
        assert len(fault.links) == 2 and (len(sources) == 1 or len(targets) == 1)
        assert not any((b, a) in fault.links for a, b in fault.links)
        seen.add("send" if len(sources) == 1 else "receive")
    assert seen == {"send", "receive"}
