"""Crash test: SIGKILL a child writing through PeerStorage + write_tasks, reopen, check what is durable.

The child (crash_child.py) runs write rounds over several regions on real RocksDB, with appends, commits,
term changes and compaction with log GC, and reports each round before (I) and after (D) write_tasks.
The parent kills it at random moments, reopens the engines in this process and checks, per region:

- building the PeerStorage succeeds (the persisted states validate);
- every entry of a reported round above the truncated index is there, with its term and data;
- each engine holds either the last reported state or the in-flight round's (a write batch is atomic),
  the same choice for every region of the round (one batch per engine per round: group commit), and the
  raft engine never holds the in-flight round when the KV engine does not (the KV batch is synced first);
- the reported truncated index is durable: reported trunc <= truncated index <= in-flight trunc.

The child is then restarted on the same directory, so later rounds build on recovered state.

Every failure names the run's seed and the command that replays it (RAFTSTORE_CRASH_SEED): the same
seed gives the same rounds and kill delays; where a kill lands still depends on timing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT
from raftstore.engine.engines import open_engines
from raftstore.proto.raft_serverpb_pb2 import RaftLocalState
from raftstore.store import PeerStorage

from .crash_child import entry_data, peer_id, region_of

# CHILD is the child's module, run with `python -m` from the repository root (tests form a package).
CHILD = "tests.store.crash_child"
REPO_ROOT = Path(__file__).resolve().parents[2]
# SEED_ENV, when set, is the seed of the run (a replay); otherwise each run draws one.
SEED_ENV = "RAFTSTORE_CRASH_SEED"


@dataclass
class RegionModel:
    """RegionModel: a region's durable state as the child reported it (terms of entries above trunc)."""

    last: int
    last_term: int
    trunc: int
    trunc_term: int
    commit: int
    hs_term: int
    terms: dict[int, int] = field(default_factory=dict)

    def after(self, intent: list[int]) -> RegionModel:
        """after is this state with a round's intent [first_new, last, term, trunc, trunc_term, commit, hs_term]."""
        first_new, last, term, trunc, trunc_term, commit, hs_term = intent
        terms = dict(self.terms)
        if first_new:
            for i in range(first_new, last + 1):
                terms[i] = term
        terms = {i: t for i, t in terms.items() if trunc < i <= last}
        last_term = terms[last] if last > trunc else trunc_term
        return RegionModel(last, last_term, trunc, trunc_term, commit, hs_term, terms)


@dataclass
class ChildRun:
    lines: list[str]
    returncode: int
    stderr: str
    killed: bool


def run_child(db: Path, regions: int, seed: int, max_rounds: int, delay: float | None, from_spawn: bool) -> ChildRun:
    """run_child starts the child and SIGKILLs it `delay` seconds after READY (after spawn if from_spawn);
    delay None lets it finish."""
    err_path = db.parent / f"child-{seed}.err"
    with open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", CHILD, str(db), str(regions), str(seed), str(max_rounds)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=REPO_ROOT,
        )
        lines: list[str] = []
        ready = threading.Event()

        def reader() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if not line.endswith("\n"):
                    break  # a line cut by the kill
                lines.append(line.rstrip("\n"))
                if line == "READY\n":
                    ready.set()
            ready.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        killed = False
        try:
            if delay is not None:
                if not from_spawn:
                    ready.wait(60)
                time.sleep(delay)
                if proc.poll() is None:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
            rc = proc.wait(120)
        finally:
            # A test interrupted here (timeout, failure) leaves no child writing behind it.
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        t.join(30)
    return ChildRun(lines, rc, err_path.read_text(), killed)


class Cluster:
    """Cluster: the parent's view of every region across child runs."""

    def __init__(self, db: Path, regions: int) -> None:
        self.db = db
        self.regions = regions
        self.model: dict[int, RegionModel] = {}
        self.rounds = 0
        self.in_flight_crashes = 0
        self.kv_only_crashes = 0

    def absorb(self, run: ChildRun) -> dict[int, list[int]] | None:
        """absorb applies the reported rounds of a run; returns the in-flight round's intent, if any."""
        intent: dict[int, list[int]] | None = None
        for line in run.lines:
            kind, _, rest = line.partition(" ")
            if kind == "S":
                rid, last, last_term, trunc, trunc_term, commit, hs_term = map(int, rest.split())
                known = self.model.get(rid)
                if known is not None:
                    got = (last, last_term, trunc, trunc_term, hs_term)
                    want = (known.last, known.last_term, known.trunc, known.trunc_term, known.hs_term)
                    assert got == want, f"region {rid}: child started from {got}, parent recovered {want}"
                    known.commit = commit
                else:
                    assert last == trunc == 5, f"region {rid} starts from an unexpected state: {line}"
                    self.model[rid] = RegionModel(last, last_term, trunc, trunc_term, commit, hs_term)
            elif kind == "I":
                _, _, payload = rest.partition(" ")
                intent = {int(k): v for k, v in json.loads(payload).items()}
            elif kind == "D":
                assert intent is not None
                for rid, it in intent.items():
                    self.model[rid] = self.model[rid].after(it)
                intent = None
                self.rounds += 1
        return intent

    def verify(self, intent: dict[int, list[int]] | None) -> None:
        """verify reopens the engines and checks every region against the model and the in-flight round."""
        intent = intent or {}
        raft_new: set[bool] = set()
        kv_new: set[bool] = set()
        with open_engines(self.db) as engines:
            for rid, reported in sorted(self.model.items()):
                store = PeerStorage(engines, region_of(rid), peer_id(rid))
                raw = engines.raft.get(CF_DEFAULT, keys.raft_state_key(rid))
                state = RaftLocalState.FromString(raw) if raw is not None else None
                disk = (state.last_index, state.hard_state.term) if state is not None else (5, 5)
                old_raft = (reported.last, reported.hs_term)
                intended = reported.after(intent[rid]) if rid in intent else reported
                new_raft = (intended.last, intended.hs_term)
                assert disk in (old_raft, new_raft), f"region {rid}: raft state {disk}, not {old_raft} / {new_raft}"
                trunc = store.truncated_index()
                assert trunc in (reported.trunc, intended.trunc), (
                    f"region {rid}: truncated index {trunc}, not {reported.trunc} / {intended.trunc}"
                )
                assert reported.trunc <= trunc <= intended.trunc
                is_raft_new = disk == new_raft and new_raft != old_raft
                is_kv_new = trunc == intended.trunc and intended.trunc != reported.trunc
                if new_raft != old_raft:
                    raft_new.add(is_raft_new)
                if intended.trunc != reported.trunc:
                    kv_new.add(is_kv_new)
                    if is_raft_new:
                        assert is_kv_new, f"region {rid}: raft batch durable without the KV batch before it"
                source = intended if is_raft_new else reported
                assert store.last_index() == source.last
                assert store.commit_index() >= reported.commit
                assert store.first_index() == trunc + 1
                assert store.truncated_term() == (intended.trunc_term if trunc == intended.trunc else reported.trunc_term)
                expected = {i: t for i, t in source.terms.items() if i > trunc}
                assert sorted(expected) == list(range(trunc + 1, source.last + 1)), f"region {rid}: model gap"
                for i, t in expected.items():
                    assert store.term(i) == t, f"region {rid}: term({i}) {store.term(i)} != {t}"
                ents = store.entries(trunc + 1, source.last + 1)
                assert [(e.index, e.term) for e in ents] == sorted(expected.items())
                for e in ents:
                    assert e.data == entry_data(rid, e.index, e.term)
                want_last_term = expected[source.last] if source.last > trunc else store.truncated_term()
                assert store.last_term() == want_last_term
                # the recovered state is what the next child run starts from
                self.model[rid] = RegionModel(
                    source.last, want_last_term, trunc, store.truncated_term(), store.commit_index(),
                    disk[1], expected,
                )
        assert len(raft_new) <= 1, f"the raft batch of the in-flight round is durable for some regions only: {intent}"
        assert len(kv_new) <= 1, f"the KV batch of the in-flight round is durable for some regions only: {intent}"
        if intent:
            self.in_flight_crashes += 1
            if kv_new == {True} and raft_new != {True}:
                self.kv_only_crashes += 1


def crash_loop(tmp_path: Path, iterations: int, seed: int, regions: int = 12) -> Cluster:
    rng = random.Random(seed)
    db = tmp_path / "db"
    cluster = Cluster(db, regions)
    for it in range(iterations):
        from_spawn = it == 0 or rng.random() < 0.15
        delay = rng.uniform(0.2, 1.2) if from_spawn else rng.uniform(0.01, 0.5)
        run = run_child(db, regions, seed * 1000 + it, 100_000, delay, from_spawn)
        assert run.returncode in (-signal.SIGKILL, 0), f"child failed (rc {run.returncode}):\n{run.stderr}"
        intent = cluster.absorb(run)
        cluster.verify(intent if run.killed else None)
    # a last run that is not killed starts from the recovered state (checked by absorb) and finishes
    run = run_child(db, regions, seed * 1000 + iterations, 20, None, False)
    assert run.returncode == 0, run.stderr
    cluster.verify(cluster.absorb(run))
    return cluster


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> Iterator[int]:
    """seed: the run's seed (SEED_ENV's value when set, else random); shown in the test's output."""
    value = int(os.environ.get(SEED_ENV) or random.randrange(1 << 30))
    print(f"crash test seed {value}")
    yield value


@contextmanager
def replayable(seed: int, request: pytest.FixtureRequest) -> Iterator[None]:
    """replayable adds the seed and the command that replays the test to any exception leaving the
    block (assertion, error or timeout alike)."""
    try:
        yield
    except BaseException as e:
        # -m '' lifts the default `-m 'not slow'` so that the soak test runs too.
        e.add_note(
            f"crash test seed {seed}; replay with: {SEED_ENV}={seed} "
            f"{sys.executable} -m pytest -m '' '{request.node.nodeid}'"
        )
        raise


def test_crash_recovery(tmp_path: Path, seed: int, request: pytest.FixtureRequest) -> None:
    """SIGKILL during write rounds loses nothing reported, and every region's states validate on restart."""
    with replayable(seed, request):
        cluster = crash_loop(tmp_path, iterations=8, seed=seed)
        assert cluster.rounds > 0, "the child never finished a round"
        assert set(cluster.model) == set(range(1, 13))


@pytest.mark.slow
def test_crash_recovery_soak(tmp_path: Path, seed: int, request: pytest.FixtureRequest) -> None:
    """The crash test with many more kills (several of them land between the KV and the raft batch)."""
    with replayable(seed, request):
        cluster = crash_loop(tmp_path, iterations=80, seed=seed)
        assert cluster.rounds > 0, "the child never finished a round"
        assert cluster.in_flight_crashes > 0, "no kill landed during a round"
