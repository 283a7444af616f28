"""A write that fails on a full disk (a small tmpfs) fails the engine, as a failed engine write is fatal in TiKV.

The failed write raises EngineIOError naming ENOSPC; every later write raises EngineFailedError naming that
first failure, even once there is space again, until the engines are closed and reopened. Reads keep
working, and reopening finds every write that was reported successful.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from raftstore.engine import (
    CF_DEFAULT,
    CF_RAFT,
    EngineFailedError,
    EngineIOError,
    KvEngine,
    open_engines,
)

from ..helpers import remount, tmpfs


def fill_until_full(kv: KvEngine) -> tuple[dict[bytes, bytes], str]:
    """fill_until_full writes 64 KiB values, synced, until a write fails; returns what was acknowledged and the
    failure (an EngineIOError naming ENOSPC)."""
    acknowledged: dict[bytes, bytes] = {}
    with pytest.raises(EngineIOError, match="No space left on device") as info:
        for i in range(1000):  # 64 MiB: far more than fits
            key, value = b"k%04d" % i, os.urandom(64 << 10)
            batch = kv.write_batch()
            batch.put(CF_DEFAULT, key, value)
            kv.write(batch, sync=True)
            acknowledged[key] = value
    assert acknowledged, "the first write already failed"
    return acknowledged, str(info.value)


def check_refused(kv: KvEngine, first: str) -> None:
    """check_refused: every kind of write raises EngineFailedError naming the first failure."""
    batch = kv.write_batch()
    batch.put(CF_DEFAULT, b"after", b"1")
    writes: list[Callable[[], None]] = [
        lambda: kv.write(batch, sync=True),
        lambda: kv.put(CF_RAFT, b"after", b"1"),
        lambda: kv.delete(CF_DEFAULT, b"k0000"),
        lambda: kv.delete_range(CF_DEFAULT, b"k", b"l"),
        kv.sync_wal,
    ]
    for write in writes:
        with pytest.raises(EngineFailedError) as refused:
            write()
        assert first in str(refused.value)


def test_enospc_fails_the_engine_until_reopened(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "8m") as mnt:
        engines = open_engines(mnt / "data")
        try:
            acknowledged, first = fill_until_full(engines.kv)
            assert engines.kv.failed == first and engines.failed == first
            remount(mnt, "size=64m")  # space again: the engine still refuses, until reopened
            check_refused(engines.kv, first)
            key = next(iter(acknowledged))
            assert engines.kv.get(CF_DEFAULT, key) == acknowledged[key]  # reads keep working
            engines.fail(first)  # what write_tasks does after a failed round: the raft engine stops too
            with pytest.raises(EngineFailedError, match="No space left on device"):
                engines.raft.put(CF_DEFAULT, b"r", b"1")
        finally:
            # RocksDB may report the write error again while closing; the engines are closed all the same.
            with contextlib.suppress(EngineIOError):
                engines.close()
        assert engines.kv.closed and engines.raft.closed  # type: ignore[attr-defined]

        with open_engines(mnt / "data") as engines:
            assert engines.failed is None
            assert dict(engines.kv.scan(CF_DEFAULT, b"k", b"l")) == acknowledged
            assert engines.kv.get(CF_RAFT, b"after") is None
            engines.kv.put(CF_DEFAULT, b"after", b"1")
