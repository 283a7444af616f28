"""Corruption in an SST file is reported by every read that meets it, never hidden as a shorter result.

The fixture writes 2000 rows, flushes them to one SST file, closes the engine and flips 16 bytes inside a
data block. Reads then go to the file (a reopened engine has a cold block cache), and RocksDB verifies the
block checksums: a scan that meets the damaged block raises CorruptionError where it stops, as get does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore.engine import ALL_CFS, CF_DEFAULT, CorruptionError, RocksEngine, keys

ROWS = 2000


def row_key(i: int) -> bytes:
    return keys.raft_log_key(1, i)


@pytest.fixture
def corrupt_engine(tmp_path: Path) -> Iterator[RocksEngine]:
    """corrupt_engine: rows 0..1999 of CF_DEFAULT in one SST file with 16 bytes flipped a third of the way in."""
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        batch = engine.write_batch()
        for i in range(ROWS):
            batch.put(CF_DEFAULT, row_key(i), b"value %05d " % i * 20)
        engine.write(batch, sync=True)
        engine.flush()
    (sst,) = [p for p in path.glob("*.sst") if p.stat().st_size > 10_000]
    data = bytearray(sst.read_bytes())
    at = len(data) // 3  # inside the data blocks, which come first in the file
    data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    sst.write_bytes(bytes(data))
    with RocksEngine(path, ALL_CFS) as engine:
        yield engine


def first_bad_row(engine: RocksEngine) -> int:
    """first_bad_row is how many rows a forward scan yields before it raises CorruptionError."""
    rows = 0
    with pytest.raises(CorruptionError, match="block checksum mismatch"):
        for _ in engine.scan(CF_DEFAULT, b"", None):
            rows += 1
    assert 0 < rows < ROWS
    return rows


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("reader", ["engine", "snapshot"])
def test_scan_over_a_corrupt_block_raises(corrupt_engine: RocksEngine, reader: str, reverse: bool) -> None:
    r = corrupt_engine if reader == "engine" else corrupt_engine.snapshot()
    got = []
    with pytest.raises(CorruptionError, match="block checksum mismatch"):
        for key, _ in r.scan(CF_DEFAULT, b"", None, reverse=reverse):
            got.append(keys.raft_log_index(key))
    # What came before the damaged block is right, in order; the scan never ends quietly short.
    expected = list(range(ROWS - 1, ROWS - 1 - len(got), -1)) if reverse else list(range(len(got)))
    assert got == expected and len(got) < ROWS


@pytest.mark.parametrize("reader", ["engine", "snapshot"])
def test_get_in_a_corrupt_block_raises(corrupt_engine: RocksEngine, reader: str) -> None:
    bad = first_bad_row(corrupt_engine)
    r = corrupt_engine if reader == "engine" else corrupt_engine.snapshot()
    with pytest.raises(CorruptionError, match="block checksum mismatch"):
        r.get(CF_DEFAULT, row_key(bad))
    assert r.get(CF_DEFAULT, row_key(0)) == b"value 00000 " * 20


@pytest.mark.parametrize("reader", ["engine", "snapshot"])
def test_scans_that_end_before_the_corrupt_block_are_whole(corrupt_engine: RocksEngine, reader: str) -> None:
    bad = first_bad_row(corrupt_engine)
    r = corrupt_engine if reader == "engine" else corrupt_engine.snapshot()
    end = row_key(bad - 1)
    assert [keys.raft_log_index(k) for k, _ in r.scan(CF_DEFAULT, b"", end)] == list(range(bad - 1))
    assert len(list(r.scan(CF_DEFAULT, b"", None, limit=bad - 1))) == bad - 1
    assert [keys.raft_log_index(k) for k, _ in r.scan(CF_DEFAULT, row_key(ROWS - 3), None)] == [1997, 1998, 1999]


def test_rocksdict_items_ends_silently_at_a_corrupt_block(corrupt_engine: RocksEngine) -> None:
    # Why RocksEngine.scan does not use rocksdict's items(). If this starts failing, rocksdict was fixed.
    bad = first_bad_row(corrupt_engine)
    assert sum(1 for _ in corrupt_engine._cfs[CF_DEFAULT].items()) == bad
