"""ApplyBatch.scan and region_hash: what a ComputeHash hashes is the data as the apply batch will leave it."""

from __future__ import annotations

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_WRITE
from raftstore.engine.engines import Engines
from raftstore.proto.metapb_pb2 import Peer, Region
from raftstore.store.apply import ApplyBatch, region_hash

Op = tuple[str, bytes, bytes]  # ("put", key, value), ("del", key, b""), ("range", start, end)

REGION = Region(id=1, start_key=b"b", end_key=b"y", peers=[Peer(id=1, store_id=1)])

CASES: list[tuple[str, list[tuple[bytes, bytes]], list[Op]]] = [
    ("no writes", [(b"c", b"1"), (b"d", b"2")], []),
    ("puts over and between engine keys", [(b"c", b"1"), (b"e", b"2")], [("put", b"c", b"9"), ("put", b"d", b"3")]),
    ("delete an engine key", [(b"c", b"1"), (b"e", b"2")], [("del", b"c", b"")]),
    ("range delete then put inside", [(b"c", b"1"), (b"e", b"2"), (b"g", b"3")],
     [("range", b"c", b"f"), ("put", b"d", b"new")]),
    ("put then range delete over it", [(b"c", b"1")], [("put", b"d", b"x"), ("range", b"c", b"e")]),
    ("keys outside the region", [(b"a", b"1"), (b"y", b"2"), (b"c", b"3")], [("put", b"z", b"4")]),
]


def _apply(batch: ApplyBatch, ops: list[Op]) -> None:
    for kind, a, b in ops:
        if kind == "put":
            batch.put(CF_DEFAULT, keys.data_key(a), b)
        elif kind == "del":
            batch.delete(CF_DEFAULT, keys.data_key(a))
        else:
            batch.delete_range(CF_DEFAULT, keys.data_key(a), keys.data_key(b))


@pytest.mark.parametrize(("name", "engine_data", "ops"), CASES, ids=[c[0] for c in CASES])
def test_scan_and_hash_see_the_batch_as_written(
    mem_engines: Engines, name: str, engine_data: list[tuple[bytes, bytes]], ops: list[Op]
) -> None:
    kv = mem_engines.kv
    for key, value in engine_data:
        kv.put(CF_DEFAULT, keys.data_key(key), value)
    batch = ApplyBatch(kv)
    _apply(batch, ops)
    start, end = keys.enc_start_key(REGION), keys.enc_end_key(REGION)
    before_write = list(batch.scan(CF_DEFAULT, start, end))
    hash_before = region_hash(batch, REGION)
    kv.write(batch.wb)
    assert before_write == list(kv.scan(CF_DEFAULT, start, end))
    assert hash_before == region_hash(ApplyBatch(kv), REGION)


def test_hash_depends_on_data_cf_and_region(mem_engines: Engines) -> None:
    kv = mem_engines.kv
    empty = region_hash(ApplyBatch(kv), REGION)
    kv.put(CF_DEFAULT, keys.data_key(b"c"), b"1")
    in_default = region_hash(ApplyBatch(kv), REGION)
    kv.delete(CF_DEFAULT, keys.data_key(b"c"))
    kv.put(CF_WRITE, keys.data_key(b"c"), b"1")
    in_write = region_hash(ApplyBatch(kv), REGION)
    other = Region()
    other.CopyFrom(REGION)
    other.region_epoch.version += 1
    moved = region_hash(ApplyBatch(kv), other)
    assert len({empty, in_default, in_write, moved}) == 4
    kv.put(CF_DEFAULT, keys.data_key(b"a"), b"outside")
    assert region_hash(ApplyBatch(kv), REGION) == in_write
