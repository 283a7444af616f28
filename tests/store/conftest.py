"""Fixtures of the store tests: real RocksDB engines (fresh, or reopenable for restarts) and in-memory ones.

The helpers they build on live in tests/store/helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore.engine.engines import Engines, memory_engines, open_engines

from .helpers import ReopenableEngines


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Engines]:
    """engines: real RocksDB engines in a fresh directory, closed after the test."""
    e = open_engines(tmp_path / "db")
    try:
        yield e
    finally:
        e.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[ReopenableEngines]:
    """db: RocksDB engines that can be reopened (see ReopenableEngines), closed after the test."""
    handle = ReopenableEngines(tmp_path / "db")
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def mem_engines() -> Iterator[Engines]:
    """mem_engines: in-memory engines."""
    e = memory_engines()
    try:
        yield e
    finally:
        e.close()