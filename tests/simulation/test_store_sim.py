"""The whole-cluster deterministic simulation (raftstore.testing.sim): seeded runs of 3 stores under
drops, duplicates, reordering, partitions, crashes (at the driver's failpoints too), leader transfers,
conf changes, splits, log compaction and consistency checks, with random clients; every check of the simulation at every step and at the end.

The default run covers DEFAULT_SEEDS seeds of DEFAULT_STEPS steps; `make soak` runs SOAK_CHUNKS x
SOAK_SEEDS seeds of SOAK_STEPS steps (>= 1,000,000 steps). A failure prints the seed, the step, the
recent events and the replay command; RAFTSTORE_STORE_SIM_SEED=<seed> [RAFTSTORE_STORE_SIM_STEPS=<n>]
replays one run under pytest (test_seed_from_env).

Sabotaged stores (an engine that never syncs the raft log, one whose reads forget the data, a replica
altered behind the store's back, in CF default or in a CF only the consistency check hashes) show that the checks catch what they claim to.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
from collections.abc import Callable

import pytest

from raftstore.engine.base import ALL_CFS, CF_DEFAULT, CF_LOCK, WriteBatch
from raftstore.engine.engines import Engines
from raftstore.engine.memory import MemEngine
from raftstore.testing.sim import (
    ADMIN_OPS,
    SimParams,
    SimReport,
    Simulation,
    SimulationFailure,
    main,
    run_seed,
    shrink,
    sim_engines,
)

DEFAULT_SEEDS = 50
DEFAULT_STEPS = 150
SOAK_CHUNKS = 20
SOAK_SEEDS = 10
SOAK_STEPS = 5000
# FOUND_SEEDS: (seed, steps) runs the soak found not linearizable, at the fewest steps that failed: a
# leader destroyed with a put in flight answered it RegionNotFound ("not applied") though its entry
# committed on the other peers; the client recorded the put as failed, a later read returned its value.
FOUND_SEEDS = [(10068, 2598), (10094, 1094)]
# FOUND_ADMIN_OPS: the admin operations of the simulation when FOUND_SEEDS were found. Their runs replay
# with them, but any change to the messages the stores send (each message draws its fate from the seed)
# changes a run: a found seed is a regression run, no longer a reproduction of its case (the case itself
# is tests/cluster/test_cluster_undetermined.py's).
FOUND_ADMIN_OPS = [op for op in ADMIN_OPS if op[0] in ("transfer_leader", "change_peer")]


@functools.cache
def default_run(seed: int) -> SimReport:
    return run_seed(seed, DEFAULT_STEPS)


@pytest.mark.parametrize("seed", range(DEFAULT_SEEDS))
def test_seed(seed: int) -> None:
    report = default_run(seed)
    assert report.steps >= DEFAULT_STEPS
    assert report.history, "the clients did something"


def test_default_seeds_exercise_every_fault() -> None:
    reports = [default_run(seed) for seed in range(DEFAULT_SEEDS)]
    totals = {
        name: sum(getattr(r, name) for r in reports)
        for name in ("crashes", "restarts", "partitions", "admin_ops", "snapshots", "dropped", "duplicated", "info", "ok")
    }
    assert all(v > 0 for v in totals.values()), totals
    ops = {(op.op, op.outcome) for r in reports for op in r.history}
    assert {("put", "ok"), ("get", "ok"), ("delete", "ok"), ("cas", "ok"), ("cas", "fail"), ("put", "info")} <= ops
    assert sum(r.steps for r in reports) >= DEFAULT_SEEDS * DEFAULT_STEPS
    assert any(r.regions > len(SimParams.draw(random.Random(r.seed)).split_keys) + 1 for r in reports), "a split"


@pytest.mark.parametrize(("seed", "steps"), FOUND_SEEDS)
def test_found_seed(seed: int, steps: int) -> None:
    report = Simulation(seed, steps, admin_ops=FOUND_ADMIN_OPS).run()
    assert report.steps >= steps and report.history


def test_same_seed_same_run() -> None:
    a, b = run_seed(3, 200), run_seed(3, 200)
    assert (a.digest, a.history) == (b.digest, b.history)
    assert run_seed(4, 200).digest != a.digest


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short, long = Simulation(5, 80), Simulation(5, 300)
    for _ in range(80):
        short.step()
        long.step()
    assert short.ops == long.ops and list(short.events) == list(long.events)


# -- sabotage: the checks catch what they claim to ------------------------------------------------------


class NoSyncEngine(MemEngine):
    """NoSyncEngine: a sync is ignored, so a crash loses even what was "synced"."""

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        super().write(batch, sync=False)

    def sync_wal(self) -> None:
        pass


class AmnesiacEngine(MemEngine):
    """AmnesiacEngine: point reads of user data find nothing (scans still see it)."""

    def get(self, cf: str, key: bytes) -> bytes | None:
        return None if key.startswith(b"z") else super().get(cf, key)


def unsynced_raft_log(store_id: int) -> Engines:
    return Engines(MemEngine(ALL_CFS, track_sync=True), NoSyncEngine((CF_DEFAULT,), track_sync=True))


def amnesiac_reads(store_id: int) -> Engines:
    return Engines(AmnesiacEngine(ALL_CFS, track_sync=True), MemEngine((CF_DEFAULT,), track_sync=True))


def crashy(seed: int) -> SimParams:
    return dataclasses.replace(SimParams.draw(random.Random(seed)), p_crash=0.05)


def test_a_raft_log_that_is_never_durable_is_caught() -> None:
    failures = []
    for seed in range(10):
        try:
            Simulation(seed, 300, crashy(seed), unsynced_raft_log).run()
        except SimulationFailure as err:
            failures.append(str(err))
    assert len(failures) >= 5, failures
    assert all("replay: python -m raftstore.testing.sim --seed" in f for f in failures)


def test_reads_that_miss_acknowledged_writes_are_not_linearizable() -> None:
    with pytest.raises(SimulationFailure, match="not linearizable") as caught:
        Simulation(1, 150, make_engines=amnesiac_reads).run()
    message = str(caught.value)
    assert "seed 1" in message and "could not be placed next" in message


def test_a_replica_altered_behind_the_stores_back_is_caught() -> None:
    # No crash nor conf change: store 2 keeps its replica (and the tampered key) to the end.
    calm = dataclasses.replace(SimParams.draw(random.Random(4)), p_crash=0.0, p_admin=0.0)
    sim = Simulation(4, 400, calm)
    for _ in range(50):
        sim.step()
    kv = sim.engines[2].kv
    wb = kv.write_batch()
    wb.put(CF_DEFAULT, b"zk99", b"tampered")  # in the last region; no client writes k99
    kv.write(wb, sync=True)
    with pytest.raises(SimulationFailure, match="store 2's data differs|data differs from store 2's"):
        sim.run()


def test_a_replica_altered_in_another_cf_is_caught_by_the_consistency_check() -> None:
    # CF lock is not in the step checks' data comparison (CF default only): the end's ComputeHash finds it.
    calm = dataclasses.replace(SimParams.draw(random.Random(4)), p_crash=0.0, p_admin=0.0)
    sim = Simulation(4, 200, calm)
    for _ in range(50):
        sim.step()
    kv = sim.engines[2].kv
    wb = kv.write_batch()
    wb.put(CF_LOCK, b"zk99", b"tampered")
    kv.write(wb, sync=True)
    with pytest.raises(SimulationFailure, match="store 2: 1 consistency check mismatches"):
        sim.run()


def _fails(run: Callable[[int, int], SimReport], seed: int, steps: int) -> bool:
    try:
        run(seed, steps)
    except SimulationFailure:
        return True
    return False


def test_shrink_finds_fewer_steps_that_still_fail() -> None:
    def run(seed: int, steps: int) -> SimReport:
        return Simulation(seed, steps, crashy(seed), unsynced_raft_log).run()

    steps = 300
    seed = next(s for s in range(10) if _fails(run, s, steps))
    fewest = shrink(seed, steps, run)
    assert fewest < steps
    with pytest.raises(SimulationFailure):
        run(seed, fewest)
    run(seed, fewest - 1)  # bisection: one step fewer passes


def test_admin_ops_are_listed_by_name() -> None:
    assert {name for name, _, _ in ADMIN_OPS} >= {"transfer_leader", "change_peer", "split", "compact_log", "consistency_check"}


def test_main_replays_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "2", "--steps", "60"]) == 0
    assert capsys.readouterr().out.startswith("seed 2: ok, ")


def test_sim_engines_track_syncs() -> None:
    engines = sim_engines(1)
    engines.kv.put(CF_DEFAULT, b"zk", b"v")
    engines.kv.crash()  # type: ignore[attr-defined]
    assert engines.kv.get(CF_DEFAULT, b"zk") is None


@pytest.mark.skipif("RAFTSTORE_STORE_SIM_SEED" not in os.environ, reason="replays RAFTSTORE_STORE_SIM_SEED")
def test_seed_from_env() -> None:
    run_seed(int(os.environ["RAFTSTORE_STORE_SIM_SEED"]), int(os.environ.get("RAFTSTORE_STORE_SIM_STEPS", "400")))


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(SOAK_CHUNKS))
def test_soak(chunk: int) -> None:
    first = 10_000 + chunk * SOAK_SEEDS
    steps = sum(run_seed(seed, SOAK_STEPS).steps for seed in range(first, first + SOAK_SEEDS))
    assert steps >= SOAK_SEEDS * SOAK_STEPS
