"""MemEngine and memory_engines: what only the in-memory engine has.

The contract both engines share is in test_engine_contract.py. Here: the shape of memory_engines(),
copy on write (snapshots and scans cost nothing until the next write), and that nothing outlives close().
"""

from __future__ import annotations

import pytest

from raftstore.engine import (
    ALL_CFS,
    CF_DEFAULT,
    CF_RAFT,
    EngineClosedError,
    Engines,
    KvEngine,
    MemEngine,
    UnknownColumnFamilyError,
    keys,
    memory_engines,
)


def test_memory_engines_shape() -> None:
    engines = memory_engines()
    assert isinstance(engines, Engines)
    assert engines.path is None
    assert isinstance(engines.kv, MemEngine) and isinstance(engines.raft, MemEngine)
    assert engines.kv.cf_names == ALL_CFS
    assert engines.raft.cf_names == (CF_DEFAULT,)
    with pytest.raises(UnknownColumnFamilyError):
        engines.raft.put(CF_RAFT, b"k", b"v")
    engines.kv.put(CF_RAFT, keys.apply_state_key(1), b"a")
    assert engines.raft.get(CF_DEFAULT, keys.apply_state_key(1)) is None
    with engines:
        pass
    for engine in (engines.kv, engines.raft):
        with pytest.raises(EngineClosedError):
            engine.get(CF_DEFAULT, b"k")
    engines.close()


def test_memory_engines_are_independent() -> None:
    a, b = memory_engines(), memory_engines()
    a.kv.put(CF_DEFAULT, b"k", b"v")
    assert b.kv.get(CF_DEFAULT, b"k") is None


def test_default_cf_only_by_default() -> None:
    assert MemEngine().cf_names == (CF_DEFAULT,)
    assert MemEngine(("lock",)).cf_names == (CF_DEFAULT, "lock")


def test_mem_engine_is_a_kv_engine() -> None:
    engine: KvEngine = MemEngine(ALL_CFS)
    engine.put(CF_DEFAULT, b"k", b"v")
    assert engine.get(CF_DEFAULT, b"k") == b"v"


def test_snapshot_shares_until_the_next_write() -> None:
    engine = MemEngine(ALL_CFS)
    for i in range(100):
        engine.put(CF_DEFAULT, b"%03d" % i, b"v")
    cf = engine._cfs[CF_DEFAULT]
    data, sorted_keys = cf.data, cf.keys
    snaps = [engine.snapshot() for _ in range(10)]
    assert cf.data is data and cf.keys is sorted_keys  # no copy yet
    engine.put(CF_DEFAULT, b"new", b"v")
    assert cf.data is not data  # copied once, on the first write after the snapshots
    copied = cf.data
    engine.put(CF_DEFAULT, b"new2", b"v")
    assert cf.data is copied  # and only once
    for snap in snaps:
        assert snap.get(CF_DEFAULT, b"new") is None
        assert sum(1 for _ in snap.scan(CF_DEFAULT, b"", None)) == 100


def test_deletes_that_change_nothing_do_not_copy() -> None:
    engine = MemEngine()
    engine.put(CF_DEFAULT, b"a", b"1")
    engine.snapshot()
    data = engine._cfs[CF_DEFAULT].data
    engine.delete(CF_DEFAULT, b"missing")
    engine.delete_range(CF_DEFAULT, b"b", b"c")
    assert engine._cfs[CF_DEFAULT].data is data


def test_close_drops_the_data() -> None:
    engine = MemEngine()
    engine.put(CF_DEFAULT, b"a", b"1")
    engine.close()
    assert engine._cfs == {}
    with pytest.raises(EngineClosedError):
        engine.scan(CF_DEFAULT, b"", None)
