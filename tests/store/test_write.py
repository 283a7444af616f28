"""write_tasks: engine failures become StoreError, and nothing of the raft batch lands after a KV failure."""

from __future__ import annotations

import pytest
from .helpers import new_entry, new_region, raft_log_indexes

from raftstore.engine.engines import Engines
from raftstore.store import PeerStorage, StoreError, WriteTask, write_initial_states, write_tasks


def _staged(engines: Engines) -> tuple[PeerStorage, WriteTask]:
    write_initial_states(engines, new_region(1))
    ps = PeerStorage(engines, new_region(1), 1)
    task = WriteTask(1, 1, 1)
    ps.append([new_entry(6, 5), new_entry(7, 5)], task)
    ps.save_apply_state_to(task)
    return ps, task


@pytest.mark.parametrize("closed", ["kv", "raft"])
def test_write_tasks_on_a_closed_engine_raises_store_error(engines: Engines, closed: str) -> None:
    """An engine that fails (here: closed) makes write_tasks raise StoreError, never an engine error."""
    _, task = _staged(engines)
    getattr(engines, closed).close()
    with pytest.raises(StoreError) as info:
        write_tasks(engines, [task])
    assert "write round of 1 tasks failed" in str(info.value)


def test_kv_failure_writes_nothing_of_the_raft_batch(engines: Engines) -> None:
    """When the KV batch fails, the raft batch (entries, raft state) is not written either."""
    _, task = _staged(engines)
    kv_write = engines.kv.write

    def failing_write(batch: object, *, sync: bool = False) -> None:
        engines.kv.close()
        kv_write(batch, sync=sync)  # type: ignore[arg-type]

    engines.kv.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        write_tasks(engines, [task])
    assert raft_log_indexes(engines, 1) == []
