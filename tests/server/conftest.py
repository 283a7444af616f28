"""Fixtures of tests/server: `cluster`, one 3-store cluster of real processes shared by a module's tests
that do not crash stores (each uses its own keys)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import ProcCluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcCluster]:
    with ProcCluster(Path(tmp_path_factory.mktemp("cluster")), 3, status=True) as c:
        c.start_all()
        yield c
