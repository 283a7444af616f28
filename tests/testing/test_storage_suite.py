"""The Storage conformance suite (raftstore.testing.storage_suite) in our CI: MemStorage and PeerStorage (on
RocksDB and on the in-memory engines) pass it; deliberately broken storages fail it, by case; the pytest
plugin route (-p raftstore.testing.storage_suite --storage-harness module:factory) runs it too."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from raftstore.testing.storage_suite import (
    CASES,
    MemStorageHarness,
    StorageContract,
    StorageHarness,
    run_storage_suite,
)

from .harnesses import OffByOneTermHarness, PeerStorageHarness, UnlimitedEntriesHarness


class TestMemStorage(StorageContract):
    @pytest.fixture
    def storage_harness(self) -> Iterator[StorageHarness]:
        harness = MemStorageHarness()
        yield harness
        harness.close()


class TestPeerStorageRocksDB(StorageContract):
    @pytest.fixture
    def storage_harness(self, tmp_path: Path) -> Iterator[StorageHarness]:
        harness = PeerStorageHarness(tmp_path, rocksdb=True)
        yield harness
        harness.close()


class TestPeerStorageMemoryEngines(StorageContract):
    @pytest.fixture
    def storage_harness(self, tmp_path: Path) -> Iterator[StorageHarness]:
        harness = PeerStorageHarness(tmp_path, rocksdb=False)
        yield harness
        harness.close()


def _outcomes(factory: Callable[[], StorageHarness]) -> dict[str, str]:
    return {r.name: r.outcome for r in run_storage_suite(factory)}


def test_run_storage_suite_on_mem_storage() -> None:
    """run_storage_suite (no pytest runner): MemStorage passes every case but persistence (not persistent)."""
    outcomes = _outcomes(MemStorageHarness)
    assert outcomes == {name: "skipped" if name == "persistence" else "passed" for name in CASES}


@pytest.mark.parametrize(
    ("harness", "failing"),
    [
        # term() one too high: every case that reads a stored entry's term fails.
        (OffByOneTermHarness, {"term", "compact", "create_snapshot", "append", "apply_snapshot"}),
        # entries() ignoring max_size: the size-limit rows of test_storage_entries fail.
        (UnlimitedEntriesHarness, {"entries"}),
    ],
)
def test_broken_storage_fails_the_suite(harness: Callable[[], StorageHarness], failing: set[str]) -> None:
    results = run_storage_suite(harness)
    assert {r.name for r in results if r.outcome == "failed"} == failing
    messages = " ".join(r.message for r in results if r.outcome == "failed")
    assert ("term(4) = 5, want 4" in messages) if "term" in failing else ("max_size=0" in messages)


PLUGIN_TEST = """\
from raftstore.testing.storage_suite import StorageContract


class TestConfigured(StorageContract):
    pass
"""


@pytest.mark.parametrize(
    ("factory", "summary"),
    [
        ("raftstore.testing.storage_suite:MemStorageHarness", "10 passed, 1 skipped"),
        ("tests.testing.harnesses:UnlimitedEntriesHarness", "1 failed, 9 passed, 1 skipped"),
    ],
)
def test_pytest_plugin_with_a_configured_factory(tmp_path: Path, factory: str, summary: str) -> None:
    """A user's run: `pytest -p raftstore.testing.storage_suite --storage-harness module:factory` on a test
    module with an empty StorageContract subclass; a broken storage fails test_contract[entries]."""
    (tmp_path / "test_mine.py").write_text(PLUGIN_TEST)
    root = Path(__file__).resolve().parent.parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "raftstore.testing.storage_suite", "-p", "no:cacheprovider",
         f"--storage-harness={factory}", "test_mine.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert summary in proc.stdout, proc.stdout + proc.stderr
    if "failed" in summary:
        assert "test_contract[entries]" in proc.stdout
