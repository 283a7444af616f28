"""raftstore.testing.storage_suite: the raft Storage conformance suite, a pytest plugin.

It checks any implementation of `raftstore.raft.Storage` against the contract raft relies on, with the
concrete indexes and terms of raft-rs's and TiKV's storage tests (test_storage_term, _entries, _last_index,
_first_index, _compact, _create_snapshot, _append, _apply_snapshot): initial state, entries / term /
first_index / last_index / snapshot semantics, size limits, compaction errors, and persistence across a
reopen. The log layout of every case is TiKV's: a log truncated at (3, 3) holding entries 4 and 5 (term =
index), so first_index() is 4, term(3) is 3 and anything below 3 is compacted.

The Storage trait has no write methods, so the user gives a StorageHarness: how to build a storage holding
given entries, append, compact, set the hard state, and optionally reopen it (a storage that persists),
apply a snapshot, or build an uninitialized one. Then, in a test module:

    from raftstore.testing.storage_suite import StorageContract, StorageHarness

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage_harness(self, tmp_path):
            harness = MyHarness(tmp_path)     # a StorageHarness
            yield harness
            harness.close()

or enable the plugin (`pytest_plugins = ["raftstore.testing.storage_suite"]` in the root conftest.py, or
`pytest -p raftstore.testing.storage_suite`) and name a factory: `--storage-harness=package.module:factory`
(or the ini option `storage_harness`); a `class TestMyStorage(StorageContract): pass` then runs against it.
Each case is one test, `test_contract[<case>]`; a case the harness does not support is skipped.

Without pytest's runner, run_storage_suite(factory) runs every case and returns their results.

The contract, where raft-rs and TiKV differ, accepts both: above the last index, term() raises a
StorageError (UnavailableError in raft-rs, StorageError::Other in TiKV) and entries() a StorageError or
InvariantError (raft-rs panics); it never returns. Below first_index() - 1, term() raises CompactedError
or gives the right term (raft-rs's MemStorage keeps answering for its last snapshot's index).
"""

from __future__ import annotations

import importlib
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import pytest

from ..proto.eraftpb_pb2 import ConfState, Entry, HardState, Snapshot
from ..raft.errors import (
    CompactedError,
    InvariantError,
    SnapshotOutOfDateError,
    StorageError,
)
from ..raft.storage import MemStorage, Storage
from ..raft.util import NO_LIMIT

__all__ = [
    "CASES",
    "CaseResult",
    "MemStorageHarness",
    "NotSupported",
    "StorageContract",
    "StorageHarness",
    "pytest_addoption",
    "run_storage_suite",
    "storage_harness",
]


class NotSupported(Exception):
    """NotSupported: raised by a StorageHarness for an optional capability it lacks; the case is skipped."""


class StorageHarness(ABC):
    """StorageHarness: how the suite builds and changes the storage under test (the user implements it).

    Every method takes effect durably before it returns when `persistent` is true: reopen() must then
    find everything. A harness is used by one case and closed after it.
    """

    # persistent: the storage survives reopen() (set it and implement reopen).
    persistent: ClassVar[bool] = False
    # voters: the voters of the ConfState new_storage() gives its storages.
    voters: ClassVar[tuple[int, ...]] = (1, 2, 3)
    # keeps_truncated_term: after compact(i), term(i - 1) still answers (TiKV's truncated state, etcd's
    # dummy entry). raft-rs's MemStorage forgets it (CompactedError; raft then sends a snapshot instead of
    # an append at first_index()): its harness sets this false.
    keeps_truncated_term: ClassVar[bool] = True

    @abstractmethod
    def new_storage(self, ents: Sequence[Entry]) -> Storage:
        """new_storage: an initialized storage (ConfState with `voters`) whose log is truncated at ents[0]
        (index and term: first_index() is ents[0].index + 1 and term(ents[0].index) is ents[0].term) and
        holds ents[1:], all committed (hard state commit = the last index, term = the last term)."""

    @abstractmethod
    def append(self, storage: Storage, ents: Sequence[Entry]) -> None:
        """append: raft-rs MemStorage.append: the entries from ents[0].index on are replaced by ents. ents
        that would overwrite compacted entries or leave a gap raise InvariantError and change nothing."""

    @abstractmethod
    def compact(self, storage: Storage, index: int) -> None:
        """compact: raft-rs MemStorage.compact: discard the entries before index (first_index() becomes
        index); a no-op when index <= first_index(). The suite keeps index <= last_index()."""

    @abstractmethod
    def set_hard_state(self, storage: Storage, hs: HardState) -> None:
        """set_hard_state: initial_state().hard_state is hs from now on."""

    def snapshot(self, storage: Storage, request_index: int, to: int) -> Snapshot:
        """snapshot: storage.snapshot(request_index, to), doing whatever an asynchronous storage needs
        (e.g. run its generator) until it stops raising SnapshotTemporarilyUnavailableError."""
        return storage.snapshot(request_index, to)

    def apply_snapshot(self, storage: Storage, index: int, term: int) -> None:
        """apply_snapshot (optional): apply a snapshot at (index, term) with the ConfState of `voters`;
        raise SnapshotOutOfDateError when index is below first_index()."""
        raise NotSupported("apply_snapshot")

    def new_uninitialized(self) -> Storage:
        """new_uninitialized (optional): a storage with no configuration and an empty log."""
        raise NotSupported("new_uninitialized")

    def reopen(self, storage: Storage) -> Storage:
        """reopen (optional, required when persistent): a new storage object on what storage persisted,
        as after a restart; the old object is not used again."""
        raise NotSupported("reopen")

    def close(self) -> None:
        """close releases what the harness holds (files, engines)."""


def _ents(*index_terms: tuple[int, int]) -> list[Entry]:
    return [Entry(index=i, term=t) for i, t in index_terms]


def _plain(ents: Sequence[Entry]) -> list[tuple[int, int]]:
    return [(e.index, e.term) for e in ents]


# LOG: TiKV's log of most cases: truncated at (3, 3), entries 4 and 5.
LOG = _ents((3, 3), (4, 4), (5, 5))


def _expect_error(kinds: type[BaseException] | tuple[type[BaseException], ...], what: str, call: Callable[[], object]) -> None:
    try:
        got = call()
    except kinds:
        return
    except Exception as err:
        raise AssertionError(f"{what}: expected {_names(kinds)}, raised {type(err).__name__}: {err}") from err
    raise AssertionError(f"{what}: expected {_names(kinds)}, returned {got!r}")


def _names(kinds: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    return " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))


def _expect_unavailable_term(storage: Storage, idx: int) -> None:
    """term(idx) above the last index: a StorageError, never CompactedError."""
    try:
        got = storage.term(idx)
    except CompactedError as err:
        raise AssertionError(f"term({idx}) above the last index raised CompactedError") from err
    except StorageError:
        return
    raise AssertionError(f"term({idx}) above the last index {storage.last_index()} returned {got}")


def _expect_compacted_term(storage: Storage, idx: int, true_term: int, what: str) -> None:
    """term(idx) below first_index() - 1: CompactedError, or the right term (raft-rs's MemStorage still
    answers for the index of its last snapshot after compacting past it); never a wrong term."""
    try:
        got = storage.term(idx)
    except CompactedError:
        return
    assert got == true_term, f"{what}: term({idx}) of a compacted entry = {got}, want CompactedError (or {true_term})"


def _check_log(storage: Storage, first: int, ents: Sequence[Entry], what: str) -> None:
    """_check_log: first_index(), last_index(), every entry and term, and the compacted edge (in the logs
    of the cases, a compacted entry's term is its index)."""
    last = first + len(ents) - 1
    assert (storage.first_index(), storage.last_index()) == (first, last), (
        f"{what}: (first_index, last_index) = {(storage.first_index(), storage.last_index())}, want {(first, last)}"
    )
    got = storage.entries(first, last + 1, NO_LIMIT)
    assert _plain(got) == _plain(ents), f"{what}: entries({first}, {last + 1}) = {_plain(got)}, want {_plain(ents)}"
    for e in ents:
        assert storage.term(e.index) == e.term, f"{what}: term({e.index}) = {storage.term(e.index)}, want {e.term}"
    _expect_compacted_term(storage, first - 2, first - 2, what)
    _expect_error(CompactedError, f"{what}: entries({first - 1}, {last + 1})", lambda: storage.entries(first - 1, last + 1))
    _expect_unavailable_term(storage, last + 1)


# -- the cases ----------------------------------------------------------------------------------------


def case_initial_state(h: StorageHarness) -> None:
    """initial_state of a storage holding LOG: initialized, committed at 5, term at least 5, the voters."""
    s = h.new_storage(LOG)
    state = s.initial_state()
    assert state.initialized(), "initial_state().initialized() is false for an initialized storage"
    assert state.hard_state.commit == 5, f"hard_state.commit = {state.hard_state.commit}, want 5"
    assert state.hard_state.term >= 5, f"hard_state.term = {state.hard_state.term}, want at least 5"
    assert list(state.conf_state.voters) == list(h.voters), f"voters {list(state.conf_state.voters)}"
    hs = HardState(term=7, vote=2, commit=5)
    h.set_hard_state(s, hs)
    assert s.initial_state().hard_state == hs, f"after set_hard_state: {s.initial_state().hard_state}"


def case_uninitialized(h: StorageHarness) -> None:
    """An uninitialized storage: no ConfState, first_index 1, last_index 0, term(0) = 0, nothing to read."""
    s = h.new_uninitialized()
    assert not s.initial_state().initialized(), "an uninitialized storage reports initialized()"
    assert (s.first_index(), s.last_index()) == (1, 0), f"(first, last) = {(s.first_index(), s.last_index())}"
    assert s.term(0) == 0, f"term(0) = {s.term(0)}"
    assert s.entries(1, 1) == [], "entries(1, 1) is not empty"
    _expect_unavailable_term(s, 1)


# TERMS: raft-rs/TiKV test_storage_term on LOG: index -> term, or the error.
TERMS: list[tuple[int, int | type[Exception]]] = [(2, CompactedError), (3, 3), (4, 4), (5, 5), (6, StorageError)]


def case_term(h: StorageHarness) -> None:
    """test_storage_term: term(first_index() - 1) is the truncated term; below it CompactedError, above the
    last index a StorageError."""
    s = h.new_storage(LOG)
    for idx, want in TERMS:
        if want is CompactedError:
            _expect_error(CompactedError, f"term({idx})", lambda: s.term(idx))  # noqa: B023
        elif want is StorageError:
            _expect_unavailable_term(s, idx)
        else:
            assert s.term(idx) == want, f"term({idx}) = {s.term(idx)}, want {want}"


def case_entries(h: StorageHarness) -> None:
    """test_storage_entries: [low, high) in order, CompactedError below first_index(), max_size counts
    protobuf-encoded sizes and always lets the first entry through."""
    log = _ents((3, 3), (4, 4), (5, 5), (6, 6))
    s = h.new_storage(log)
    size = Entry(index=4, term=4).ByteSize()
    table: list[tuple[int, int, int, list[tuple[int, int]]]] = [
        (3, 4, NO_LIMIT, []),  # compacted: checked below
        (4, 5, NO_LIMIT, [(4, 4)]),
        (4, 6, NO_LIMIT, [(4, 4), (5, 5)]),
        (4, 7, NO_LIMIT, [(4, 4), (5, 5), (6, 6)]),
        (4, 7, 0, [(4, 4)]),  # even with max_size 0, the first entry
        (4, 7, size * 2, [(4, 4), (5, 5)]),
        (4, 7, size * 3 - 1, [(4, 4), (5, 5)]),
        (4, 7, size * 3, [(4, 4), (5, 5), (6, 6)]),
        (5, 7, size, [(5, 5)]),
        (6, 6, NO_LIMIT, []),
    ]
    for low, high, max_size, want in table[1:]:
        got = _plain(s.entries(low, high, max_size))
        assert got == want, f"entries({low}, {high}, max_size={max_size}) = {got}, want {want}"
    for low, high in [(2, 6), (3, 4), (3, 7)]:
        _expect_error(CompactedError, f"entries({low}, {high})", lambda: s.entries(low, high))  # noqa: B023
    _expect_error((StorageError, InvariantError), "entries(4, 8) past last_index() + 1", lambda: s.entries(4, 8))


def case_last_index(h: StorageHarness) -> None:
    """test_storage_last_index: 5, then 6 after appending (6, 5)."""
    s = h.new_storage(LOG)
    assert s.last_index() == 5, f"last_index() = {s.last_index()}, want 5"
    h.append(s, _ents((6, 5)))
    assert s.last_index() == 6, f"after appending 6: last_index() = {s.last_index()}, want 6"


def case_first_index(h: StorageHarness) -> None:
    """test_storage_first_index: 4 (truncated at 3), then 5 after compact(5)."""
    s = h.new_storage(LOG)
    assert s.first_index() == 4, f"first_index() = {s.first_index()}, want 4"
    h.compact(s, 5)
    assert s.first_index() == 5, f"after compact(5): first_index() = {s.first_index()}, want 5"


# COMPACTIONS: test_storage_compact on LOG + (6, 6): compact(index) -> the log left (first index, entries).
COMPACTIONS: list[tuple[int, int, list[tuple[int, int]]]] = [
    (3, 4, [(4, 4), (5, 5), (6, 6)]),  # below first_index: a no-op
    (4, 4, [(4, 4), (5, 5), (6, 6)]),  # at first_index: a no-op
    (5, 5, [(5, 5), (6, 6)]),
    (6, 6, [(6, 6)]),  # up to the last entry (raft-rs's MemStorage cannot compact it too)
]


def case_compact(h: StorageHarness) -> None:
    """test_storage_compact: compaction moves first_index(); term(first_index() - 1) still answers (see
    keeps_truncated_term), anything below it is CompactedError, for term() and entries() alike."""
    for index, first, left in COMPACTIONS:
        s = h.new_storage(_ents((3, 3), (4, 4), (5, 5), (6, 6)))
        h.compact(s, index)
        _check_log(s, first, _ents(*left), f"compact({index})")
        if h.keeps_truncated_term:
            assert s.term(first - 1) == first - 1, f"compact({index}): term({first - 1}) = {s.term(first - 1)}"
        else:
            _expect_compacted_term(s, first - 1, first - 1, f"compact({index})")
        assert s.last_index() == 6, f"compact({index}): last_index() = {s.last_index()}, want 6"


def case_create_snapshot(h: StorageHarness) -> None:
    """test_storage_create_snapshot: snapshot(request_index, to) is at an index in [request_index,
    last_index()] holding the storage's ConfState, with that index's term."""
    s = h.new_storage(LOG)
    for request_index in (0, 4, 5):
        snap = h.snapshot(s, request_index, h.voters[-1])
        meta = snap.metadata
        assert request_index <= meta.index <= 5, f"snapshot({request_index}): index {meta.index}"
        assert meta.index >= s.first_index() - 1, f"snapshot({request_index}): index {meta.index} is compacted"
        assert meta.term == s.term(meta.index), f"snapshot({request_index}): term {meta.term} at index {meta.index}"
        want = ConfState(voters=list(h.voters))
        assert list(meta.conf_state.voters) == list(want.voters), f"snapshot voters {list(meta.conf_state.voters)}"


# APPENDS: test_storage_append on LOG: entries appended -> the log after (from first_index 4), or None when
# the append must be refused (InvariantError) because it would overwrite compacted entries.
APPENDS: list[tuple[list[tuple[int, int]], list[tuple[int, int]] | None]] = [
    ([(4, 6), (5, 6)], [(4, 6), (5, 6)]),
    ([(4, 4), (5, 5), (6, 5)], [(4, 4), (5, 5), (6, 5)]),
    ([(2, 3), (3, 3), (4, 5)], None),  # overwriting compacted entries is refused
    ([(4, 5)], [(4, 5)]),  # truncate the tail and append
    ([(6, 5)], [(4, 4), (5, 5), (6, 5)]),  # append directly
]


def case_append(h: StorageHarness) -> None:
    """test_storage_append: an append replaces the log from its first index; overwriting compacted
    entries is an InvariantError that changes nothing."""
    for ents, want in APPENDS:
        s = h.new_storage(LOG)
        what = f"append({ents})"
        if want is None:
            _expect_error(InvariantError, what, lambda: h.append(s, _ents(*ents)))  # noqa: B023
            _check_log(s, 4, _ents((4, 4), (5, 5)), f"{what} refused")
            continue
        h.append(s, _ents(*ents))
        _check_log(s, 4, _ents(*want), what)


def case_apply_snapshot(h: StorageHarness) -> None:
    """test_storage_apply_snapshot: a snapshot at (7, 7) replaces the log (first_index 8, term(7) = 7, the
    ConfState and a commit of at least 7); an older one, at (6, 6), is SnapshotOutOfDateError."""
    s = h.new_storage(LOG)
    h.apply_snapshot(s, 7, 7)
    _check_log(s, 8, [], "apply_snapshot(7, 7)")
    assert s.term(7) == 7, f"apply_snapshot(7, 7): term(7) = {s.term(7)}"
    state = s.initial_state()
    assert state.hard_state.commit >= 7, f"apply_snapshot(7, 7): commit {state.hard_state.commit}"
    assert list(state.conf_state.voters) == list(h.voters), f"voters {list(state.conf_state.voters)}"
    _expect_error(SnapshotOutOfDateError, "apply_snapshot(6, 6) after (7, 7)", lambda: h.apply_snapshot(s, 6, 6))
    h.append(s, _ents((8, 7)))
    _check_log(s, 8, _ents((8, 7)), "append after apply_snapshot")


def case_persistence(h: StorageHarness) -> None:
    """Persistence: after appends (one overwriting the tail), a compaction and a hard state, a reopened
    storage reports the same log, terms, compacted edge and initial state."""
    if not h.persistent:
        raise NotSupported("persistence (the harness is not persistent)")
    s = h.new_storage(LOG)
    h.append(s, _ents((6, 5), (7, 5), (8, 5)))
    h.append(s, _ents((7, 6), (8, 6)))  # overwrites the tail: 7 and 8 of term 5 must not come back
    hs = HardState(term=6, vote=2, commit=7)
    h.set_hard_state(s, hs)
    h.compact(s, 5)
    want = _ents((5, 5), (6, 5), (7, 6), (8, 6))
    _check_log(s, 5, want, "before reopen")
    s = h.reopen(s)
    _check_log(s, 5, want, "after reopen")
    assert s.term(4) == 4, f"after reopen: term(4) = {s.term(4)}, want 4"
    state = s.initial_state()
    assert state.hard_state == hs, f"after reopen: hard state {state.hard_state}, want {hs}"
    assert list(state.conf_state.voters) == list(h.voters), f"after reopen: voters {list(state.conf_state.voters)}"


# CASES: every case of the contract, by name (the test ids).
CASES: dict[str, Callable[[StorageHarness], None]] = {
    "initial_state": case_initial_state,
    "uninitialized": case_uninitialized,
    "term": case_term,
    "entries": case_entries,
    "last_index": case_last_index,
    "first_index": case_first_index,
    "compact": case_compact,
    "create_snapshot": case_create_snapshot,
    "append": case_append,
    "apply_snapshot": case_apply_snapshot,
    "persistence": case_persistence,
}


# -- running it -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    """CaseResult of one case run by run_storage_suite: `message` says what failed or why it was skipped."""

    name: str
    outcome: Literal["passed", "failed", "skipped"]
    message: str = ""


def run_storage_suite(factory: Callable[[], StorageHarness]) -> list[CaseResult]:
    """run_storage_suite runs every case with a fresh harness from factory (closed after the case)."""
    results = []
    for name, case in CASES.items():
        harness = factory()
        try:
            case(harness)
        except NotSupported as err:
            results.append(CaseResult(name, "skipped", f"not supported: {err}"))
        except Exception as err:  # noqa: BLE001 - a case's failure is its result
            where = traceback.extract_tb(err.__traceback__)[-1]
            results.append(CaseResult(name, "failed", f"{type(err).__name__}: {err} ({where.name}:{where.lineno})"))
        else:
            results.append(CaseResult(name, "passed"))
        finally:
            harness.close()
    return results


class StorageContract:
    """StorageContract: subclass it as `Test...` and provide the `storage_harness` fixture (a StorageHarness
    per test); each case of CASES runs as `test_contract[<case>]`."""

    @pytest.mark.parametrize("case", list(CASES))
    def test_contract(self, case: str, storage_harness: StorageHarness) -> None:
        try:
            CASES[case](storage_harness)
        except NotSupported as err:
            pytest.skip(f"the harness does not support {err}")


# -- the pytest plugin ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """pytest_addoption: --storage-harness / ini storage_harness, the factory the default fixture uses."""
    help_text = "module:callable returning a StorageHarness for StorageContract tests"
    parser.addoption("--storage-harness", default=None, help=help_text)
    parser.addini("storage_harness", help=help_text, default="")


@pytest.fixture
def storage_harness(request: pytest.FixtureRequest) -> Iterator[StorageHarness]:
    """storage_harness (the plugin's default): a harness from the configured factory, closed after the
    test; the test is skipped when no factory is configured."""
    spec = request.config.getoption("--storage-harness") or request.config.getini("storage_harness")
    if not spec:
        pytest.skip("no storage harness: set --storage-harness=module:callable or the storage_harness ini option")
    module, _, name = str(spec).partition(":")
    factory = getattr(importlib.import_module(module), name)
    harness = factory()
    try:
        yield harness
    finally:
        harness.close()


# -- the reference harness -----------------------------------------------------------------------------


class MemStorageHarness(StorageHarness):
    """MemStorageHarness: the suite on raft's MemStorage (in memory: not persistent). It is also the
    smallest example of a harness."""

    keeps_truncated_term = False
    # storage_class: the class new_storage builds (a MemStorage subclass, to check a variant).
    storage_class: ClassVar[type[MemStorage]] = MemStorage

    def new_storage(self, ents: Sequence[Entry]) -> MemStorage:
        s = self.storage_class.new_with_conf_state((list(self.voters), []))
        self.apply_snapshot(s, ents[0].index, ents[0].term)
        s.append([Entry(index=e.index, term=e.term) for e in ents[1:]])
        s.commit_to(ents[-1].index)
        return s

    def append(self, storage: Storage, ents: Sequence[Entry]) -> None:
        _mem(storage).append(list(ents))

    def compact(self, storage: Storage, index: int) -> None:
        _mem(storage).compact(index)

    def set_hard_state(self, storage: Storage, hs: HardState) -> None:
        _mem(storage).set_hardstate(hs)

    def apply_snapshot(self, storage: Storage, index: int, term: int) -> None:
        snap = Snapshot()
        snap.metadata.index, snap.metadata.term = index, term
        snap.metadata.conf_state.voters.extend(self.voters)
        _mem(storage).apply_snapshot(snap)

    def new_uninitialized(self) -> MemStorage:
        return self.storage_class()


def _mem(storage: Storage) -> MemStorage:
    assert isinstance(storage, MemStorage)
    return storage
