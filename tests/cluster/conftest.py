"""Fixtures of the Cluster tests: a started 3-store cluster on RocksDB (the default) or in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore.testing import Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """cluster: 3 stores on RocksDB under tmp_path, started, with a leader elected."""
    with Cluster(3, path=tmp_path) as c:
        c.start()
        c.wait_leader()
        yield c
