"""raftstore.store.snap.files: the files of one region snapshot, named and checked as TiKV does.

A snapshot of region R at (term T, index I) is, in the manager's directory::

    {prefix}_{cf}.sst        the first SST file of column family cf (default, lock, write)
    {prefix}_{cf}_0001.sst   further files of cf when it was split (part 1, 2, ... as 4 digits)
    {prefix}.meta            SnapshotMeta (protobuf): one SnapshotCFFile {cf, size, checksum} per file

where prefix is `gen_R_T_I` for a snapshot this store built and `rev_R_T_I` for one it received. In the
meta the files are listed in CF order (default, lock, write) and part order; a CF without data has one
entry of size 0 and no file. Checksums are CRC32 (zlib.crc32, the same as TiKV's crc32fast). A file
being written has the suffix `.tmp`; the meta file is written last, so a snapshot exists once its meta
does, and a `.tmp` file is never part of a snapshot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ...engine.base import CF_DEFAULT, CF_LOCK, CF_WRITE
from ...proto.eraftpb_pb2 import Snapshot
from ...proto.metapb_pb2 import Region
from ...proto.raft_serverpb_pb2 import RaftSnapshotData, SnapshotMeta
from .errors import SnapCorruptionError, SnapNotFoundError
from .io import IoRateLimiter, file_crc32, remove_quiet, write_atomic

__all__ = [
    "SNAPSHOT_CFS",
    "SNAPSHOT_VERSION",
    "SNAP_GEN_PREFIX",
    "SNAP_REV_PREFIX",
    "TMP_SUFFIX",
    "SST_SUFFIX",
    "META_SUFFIX",
    "SnapKey",
    "SnapFileInfo",
    "SnapFiles",
    "cf_file_name",
    "files_from_meta",
    "snapshot_data",
    "parse_snapshot_data",
]

# SNAPSHOT_CFS are the column families a snapshot carries, in the order of its meta.
SNAPSHOT_CFS = (CF_DEFAULT, CF_LOCK, CF_WRITE)
SNAPSHOT_VERSION = 2  # RaftSnapshotData.version of an SST-file snapshot (TiKV's SNAPSHOT_VERSION)
SNAP_GEN_PREFIX = "gen"
SNAP_REV_PREFIX = "rev"
TMP_SUFFIX = ".tmp"
SST_SUFFIX = ".sst"
META_SUFFIX = ".meta"


@dataclass(frozen=True, order=True, slots=True)
class SnapKey:
    """SnapKey names a snapshot: the region and the (term, index) of the log position it stands for."""

    region_id: int
    term: int
    index: int

    def __str__(self) -> str:
        return f"{self.region_id}_{self.term}_{self.index}"

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> SnapKey:
        """from_snapshot is the key of a raft Snapshot whose data is a RaftSnapshotData."""
        data = parse_snapshot_data(snap.data)
        return cls(data.region.id, snap.metadata.term, snap.metadata.index)


def cf_file_name(prefix: str, cf: str, part: int) -> str:
    """cf_file_name is `{prefix}_{cf}.sst` for part 0, `{prefix}_{cf}_{part:04}.sst` after (TiKV's names)."""
    if part == 0:
        return f"{prefix}_{cf}{SST_SUFFIX}"
    return f"{prefix}_{cf}_{part:04}{SST_SUFFIX}"


@dataclass(frozen=True, slots=True)
class SnapFileInfo:
    """SnapFileInfo: one data file of a snapshot as its meta describes it (size > 0)."""

    cf: str
    part: int
    size: int
    checksum: int
    name: str


def files_from_meta(prefix: str, meta: SnapshotMeta) -> list[SnapFileInfo]:
    """files_from_meta lists the data files of meta in order; a meta that breaks the layout of the module
    docstring (unknown or out-of-order CF, a CF missing, an empty entry beside others) raises
    SnapCorruptionError."""
    files: list[SnapFileInfo] = []
    order = {cf: i for i, cf in enumerate(SNAPSHOT_CFS)}
    seen: list[str] = []
    parts: dict[str, int] = {}
    for entry in meta.cf_files:
        cf = entry.cf
        if cf not in order:
            raise SnapCorruptionError(f"snapshot {prefix}: unknown column family {cf!r} in meta")
        if seen and order[cf] < order[seen[-1]]:
            raise SnapCorruptionError(f"snapshot {prefix}: column family {cf!r} out of order in meta")
        if not seen or seen[-1] != cf:
            if cf in seen:
                raise SnapCorruptionError(f"snapshot {prefix}: column family {cf!r} listed twice")
            seen.append(cf)
        part = parts.get(cf, 0)
        parts[cf] = part + 1
        if entry.size == 0:
            if part != 0 or any(e.cf == cf and e is not entry for e in meta.cf_files):
                raise SnapCorruptionError(f"snapshot {prefix}: empty entry of {cf!r} beside other files")
            continue
        files.append(SnapFileInfo(cf, part, entry.size, entry.checksum, cf_file_name(prefix, cf, part)))
    if tuple(seen) != SNAPSHOT_CFS:
        raise SnapCorruptionError(f"snapshot {prefix}: meta lists {seen}, expected {list(SNAPSHOT_CFS)}")
    return files


def snapshot_data(region: Region, meta: SnapshotMeta) -> RaftSnapshotData:
    """snapshot_data is the RaftSnapshotData a raft Snapshot carries: region, total file size, version, meta."""
    data = RaftSnapshotData(version=SNAPSHOT_VERSION)
    data.region.CopyFrom(region)
    data.meta.CopyFrom(meta)
    data.file_size = sum(f.size for f in meta.cf_files)
    return data


def parse_snapshot_data(raw: bytes) -> RaftSnapshotData:
    """parse_snapshot_data decodes a Snapshot's data; anything but a RaftSnapshotData of SNAPSHOT_VERSION
    with a region raises SnapCorruptionError."""
    try:
        data = RaftSnapshotData.FromString(raw)
    except DecodeError as err:
        raise SnapCorruptionError(f"snapshot data is not a RaftSnapshotData: {err}") from err
    if data.version != SNAPSHOT_VERSION or data.region.id == 0:
        raise SnapCorruptionError(f"snapshot data of version {data.version}, region {data.region.id} is not usable")
    return data


class SnapFiles:
    """SnapFiles: the file names of one snapshot (built when `sending`, received otherwise) in `directory`.

    It holds no open file; every check reads the disk again.
    """

    __slots__ = ("directory", "key", "sending", "prefix")

    def __init__(self, directory: str, key: SnapKey, sending: bool) -> None:
        self.directory = directory
        self.key = key
        self.sending = sending
        self.prefix = f"{SNAP_GEN_PREFIX if sending else SNAP_REV_PREFIX}_{key}"

    def __repr__(self) -> str:
        return f"SnapFiles({os.path.join(self.directory, self.prefix)})"

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @property
    def meta_path(self) -> str:
        return self.path(self.prefix + META_SUFFIX)

    def files(self, meta: SnapshotMeta) -> list[SnapFileInfo]:
        """files are the data files meta describes (files_from_meta with this snapshot's prefix)."""
        return files_from_meta(self.prefix, meta)

    def load_meta(self) -> SnapshotMeta:
        """load_meta reads the meta file: SnapNotFoundError if absent, SnapCorruptionError if malformed."""
        try:
            with open(self.meta_path, "rb") as f:
                raw = f.read()
        except FileNotFoundError as exc:
            raise SnapNotFoundError(f"snapshot {self.prefix}: no meta file") from exc
        except OSError as exc:
            raise SnapNotFoundError(f"snapshot {self.prefix}: cannot read meta: {exc}") from exc
        try:
            meta = SnapshotMeta.FromString(raw)
        except DecodeError as err:
            raise SnapCorruptionError(f"snapshot {self.prefix}: meta does not parse: {err}") from err
        self.files(meta)
        return meta

    def save_meta(self, meta: SnapshotMeta) -> None:
        """save_meta writes the meta file atomically (tmp, fsync, rename, directory fsync): the last step of
        making a snapshot."""
        write_atomic(self.meta_path, meta.SerializeToString())

    def exists(self) -> bool:
        """exists: the meta file parses and every data file it names is there."""
        try:
            meta = self.load_meta()
        except (SnapNotFoundError, SnapCorruptionError):
            return False
        return all(os.path.exists(self.path(f.name)) for f in self.files(meta))

    def verify(self, limiter: IoRateLimiter | None = None) -> SnapshotMeta:
        """verify checks every data file's size and CRC32 against the meta and returns the meta.

        SnapNotFoundError for a missing file, SnapCorruptionError for a mismatch.
        """
        meta = self.load_meta()
        for f in self.files(meta):
            path = self.path(f.name)
            try:
                size, crc = file_crc32(path, limiter)
            except FileNotFoundError as exc:
                raise SnapNotFoundError(f"snapshot {self.prefix}: file {f.name} is missing") from exc
            if size != f.size:
                raise SnapCorruptionError(f"snapshot {self.prefix}: {f.name} has {size} bytes, meta says {f.size}")
            if crc != f.checksum:
                raise SnapCorruptionError(
                    f"snapshot {self.prefix}: {f.name} has CRC32 {crc:#010x}, meta says {f.checksum:#010x}"
                )
        return meta

    def names(self) -> list[str]:
        """names are the snapshot's files in the directory (data files, meta, temporaries), by listing it."""
        try:
            entries = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        p = self.prefix
        return sorted(n for n in entries if n.startswith(p + "_") or n.startswith(p + "."))

    def total_size(self) -> int:
        """total_size is the size of every file of the snapshot on disk (temporaries included)."""
        total = 0
        for name in self.names():
            try:
                total += os.path.getsize(self.path(name))
            except FileNotFoundError:
                continue
        return total

    def meta_mtime(self) -> float:
        """meta_mtime is when the meta file was written (SnapNotFoundError if it is not there)."""
        try:
            return os.path.getmtime(self.meta_path)
        except OSError as exc:
            raise SnapNotFoundError(f"snapshot {self.prefix}: no meta file") from exc

    def delete(self) -> None:
        """delete removes the meta file first (the snapshot stops existing), then every other file."""
        remove_quiet(self.meta_path)
        for name in self.names():
            remove_quiet(self.path(name))
