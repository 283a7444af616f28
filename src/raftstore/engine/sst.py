"""raftstore.engine.sst: SST files, written by a snapshot and ingested by its apply.

An engine makes the writers for its own format (`KvEngine.sst_writer(cf, path)`) and ingests what they
wrote (`KvEngine.ingest_sst(cf, paths)`):

- RocksSstWriter writes a real RocksDB SST file with rocksdict's SstFileWriter (raw mode, LZ4); RocksEngine
  ingests it with RocksDB's IngestExternalFile. Ingestion links a `.clone` of each file into the database
  (moving the clone), so the file itself is left as it was: it can be ingested again (an apply that is
  re-run after a crash) and still matches the checksum recorded for it. Checked with rocksdict 0.3.29:
  ingesting with move_files leaves the other links of the file byte-identical (no global seqno is written
  into it), and the moved path is gone afterwards.
- MemSstWriter writes a small length-prefixed file that MemEngine ingests (unit tests run the snapshot
  code on real files without RocksDB). Its layout: MEM_SST_MAGIC, then per pair a ">II" header (key
  length, value length), the key and the value, then a ">Q" pair count.

Both refuse keys out of strictly ascending order and an empty file (RocksDB cannot make one), and report
failures as EngineIOError; a file that does not parse on ingestion is a CorruptionError.
"""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import rocksdict

from raftstore.engine.base import SstWriter
from raftstore.engine.errors import CorruptionError, EngineIOError, wrap_rocks_error

__all__ = [
    "SstWriter",
    "RocksSstWriter",
    "MemSstWriter",
    "MEM_SST_MAGIC",
    "read_mem_sst",
    "ingest_rocks",
    "CLONE_SUFFIX",
]

MEM_SST_MAGIC = b"raftstore-mem-sst-1\n"
CLONE_SUFFIX = ".clone"
_PAIR = struct.Struct(">II")
_COUNT = struct.Struct(">Q")


class RocksSstWriter:
    """RocksSstWriter: a RocksDB SST file at `path` (rocksdict SstFileWriter, raw mode, LZ4 blocks)."""

    __slots__ = ("_w", "path")

    def __init__(self, path: str) -> None:
        opts = rocksdict.Options(raw_mode=True)
        opts.set_compression_type(rocksdict.DBCompressionType.lz4())
        self.path = path
        try:
            self._w: Any = rocksdict.SstFileWriter(opts)
            self._w.open(path)
        except Exception as exc:
            raise wrap_rocks_error(exc, f"open sst writer {path}") from exc

    def put(self, key: bytes, value: bytes) -> None:
        try:
            self._w[key] = value
        except Exception as exc:
            raise wrap_rocks_error(exc, f"sst put into {self.path}") from exc

    def file_size(self) -> int:
        return int(self._w.file_size())

    def finish(self) -> int:
        try:
            self._w.finish()
        except Exception as exc:
            raise wrap_rocks_error(exc, f"finish sst {self.path}") from exc
        return os.path.getsize(self.path)


class MemSstWriter:
    """MemSstWriter: the in-memory engine's SST file at `path` (layout in the module docstring)."""

    __slots__ = ("_f", "_last", "_count", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._f: BinaryIO = open(path, "wb")
            self._f.write(MEM_SST_MAGIC)
        except OSError as exc:
            raise EngineIOError(f"open sst writer {path}: {exc}") from exc
        self._last: bytes | None = None
        self._count = 0

    def put(self, key: bytes, value: bytes) -> None:
        if type(key) is not bytes or type(value) is not bytes:
            raise TypeError("sst put: keys and values must be bytes")
        if self._last is not None and key <= self._last:
            raise EngineIOError(f"sst put into {self.path}: keys must be added in strict ascending order")
        self._last = key
        self._count += 1
        try:
            self._f.write(_PAIR.pack(len(key), len(value)) + key + value)
        except OSError as exc:
            raise EngineIOError(f"sst put into {self.path}: {exc}") from exc

    def file_size(self) -> int:
        return self._f.tell()

    def finish(self) -> int:
        if self._count == 0:
            self._f.close()
            raise EngineIOError(f"finish sst {self.path}: cannot create sst file with no entries")
        try:
            self._f.write(_COUNT.pack(self._count))
            self._f.close()
        except OSError as exc:
            raise EngineIOError(f"finish sst {self.path}: {exc}") from exc
        return os.path.getsize(self.path)


def read_mem_sst(path: str) -> Iterator[tuple[bytes, bytes]]:
    """read_mem_sst yields the pairs of a MemSstWriter file; a malformed file raises CorruptionError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise EngineIOError(f"read sst {path}: {exc}") from exc
    if not raw.startswith(MEM_SST_MAGIC) or len(raw) < len(MEM_SST_MAGIC) + _COUNT.size:
        raise CorruptionError(f"sst {path}: not a raftstore in-memory sst file")
    end = len(raw) - _COUNT.size
    (count,) = _COUNT.unpack_from(raw, end)
    pos = len(MEM_SST_MAGIC)
    pairs: list[tuple[bytes, bytes]] = []
    while pos < end:
        if pos + _PAIR.size > end:
            raise CorruptionError(f"sst {path}: truncated pair header at {pos}")
        klen, vlen = _PAIR.unpack_from(raw, pos)
        pos += _PAIR.size
        if pos + klen + vlen > end:
            raise CorruptionError(f"sst {path}: truncated pair at {pos}")
        pairs.append((raw[pos : pos + klen], raw[pos + klen : pos + klen + vlen]))
        pos += klen + vlen
    if len(pairs) != count:
        raise CorruptionError(f"sst {path}: {len(pairs)} pairs, footer says {count}")
    return iter(pairs)


def _clone(path: str) -> str:
    """_clone makes path + CLONE_SUFFIX another link to path's file (a copy across file systems)."""
    clone = path + CLONE_SUFFIX
    if os.path.exists(clone):
        os.remove(clone)
    try:
        os.link(path, clone)
    except OSError:
        shutil.copyfile(path, clone)
    return clone


def ingest_rocks(cf_db: Any, paths: Sequence[str]) -> None:
    """ingest_rocks ingests the SST files at paths into cf_db (a rocksdict column family) in one call,
    through clones (see the module docstring); the files at paths are unchanged afterwards."""
    clones: list[str] = []
    try:
        try:
            clones = [_clone(p) for p in paths]
        except OSError as exc:
            raise EngineIOError(f"ingest: cannot link {paths}: {exc}") from exc
        opts = rocksdict.IngestExternalFileOptions()
        opts.set_move_files(True)
        try:
            cf_db.ingest_external_file(clones, opts)
        except Exception as exc:
            raise wrap_rocks_error(exc, f"ingest {list(paths)}") from exc
    finally:
        for clone in clones:
            if os.path.exists(clone):
                os.remove(clone)
