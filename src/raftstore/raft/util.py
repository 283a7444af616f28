"""raftstore.raft.util: constants and small helpers shared by the core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import Message as _PbMessage

__all__ = ["NO_LIMIT", "INVALID_ID", "INVALID_INDEX", "limit_size", "majority"]

# NO_LIMIT is raft-rs's u64::MAX: "no limit" for sizes and counts.
NO_LIMIT = 2**64 - 1
# INVALID_ID is the id of no node (no leader, no vote).
INVALID_ID = 0
# INVALID_INDEX is the index of no entry.
INVALID_INDEX = 0

_M = TypeVar("_M", bound=_PbMessage)


def limit_size(entries: list[_M], max_size: int | None) -> list[_M]:
    """limit_size truncates entries in place and returns them: the first entry is always kept, then
    entries while the cumulative protobuf-encoded size stays within max_size (None or NO_LIMIT: keep all)."""
    if max_size is None or max_size == NO_LIMIT or len(entries) <= 1:
        return entries
    size = 0
    for i, entry in enumerate(entries):
        # As in raft-rs, entries are kept unconditionally while the running size is still 0.
        kept_unconditionally = size == 0
        size += entry.ByteSize()
        if not kept_unconditionally and size > max_size:
            del entries[i:]
            break
    return entries


def majority(total: int) -> int:
    """majority is the size of a quorum of total voters."""
    return total // 2 + 1
