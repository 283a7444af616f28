"""collector_paused: the load path's pause of the cyclic garbage collector. Inside it the collector is off;
on leaving, its state before (on or off) is back, also after an error; recover_store runs under it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from raftstore.engine.engines import Engines
from raftstore.store import recover_store, write_initial_states
from raftstore.store.recovery import collector_paused

from .helpers import new_region
from .snap.helpers import new_manager


@pytest.fixture
def collector_state() -> Iterator[None]:
    """collector_state: the test may turn the collector on or off; it is put back as it was after."""
    was = gc.isenabled()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_paused_inside_and_restored_after(collector_state: None, enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause restores the outer one's "off"
    assert gc.isenabled() == enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_restored_when_the_body_raises(collector_state: None, enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("load failed")
    assert gc.isenabled() == enabled


@pytest.mark.parametrize("enabled", [True, False])
def test_recover_store_loads_with_the_collector_paused(
    collector_state: None, engines: Engines, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    for rid in range(1, 4):
        write_initial_states(engines, new_region(rid))
    mgr = new_manager(tmp_path / "snap")
    scan = engines.kv.scan
    seen: list[bool] = []

    def watched_scan(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())  # the collector's state while the region states are read
        return scan(*args, **kwargs)

    monkeypatch.setattr(engines.kv, "scan", watched_scan)
    (gc.enable if enabled else gc.disable)()
    result = recover_store(engines, mgr)
    assert [s.region.id for s in result.regions] == [1, 2, 3]
    assert seen and not any(seen)
    assert gc.isenabled() == enabled
