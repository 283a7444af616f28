"""raftstore.raft.util: constants and small helpers shared by the core."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
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


# _LIMIT_CHUNK: how many entries limit_size sizes at a time (the most it sizes beyond the cut).
_LIMIT_CHUNK = 512


def limit_size(entries: list[_M], max_size: int | None) -> list[_M]:
    """limit_size truncates entries in place and returns them: the first entry is always kept, then
    entries while the cumulative protobuf-encoded size stays within max_size (None or NO_LIMIT: keep all).

    Exactly raft-rs's limit_size: entry i is kept while the running ByteSize() total before it is 0
    (so the first entry, and any zero-sized entries after it) or the total including it is at most
    max_size. The running totals are computed chunk by chunk in C (map/accumulate) and the cut is
    found by bisection, instead of a Python loop per entry.
    """
    n = len(entries)
    if n <= 1 or max_size is None or max_size == NO_LIMIT:
        return entries
    if max_size < 0:
        # Not a raft-rs value (u64); kept exact by the plain loop.
        return _limit_size_loop(entries, max_size)
    # All protobuf messages of one list share their class's ByteSize.
    byte_size = type(entries[0]).ByteSize
    total = 0
    start = 0
    while start < n:
        # sums[0] is the total before entries[start]; sums[j + 1] the total through entries[start + j].
        sums = list(accumulate(map(byte_size, entries[start : start + _LIMIT_CHUNK]), initial=total))
        last = sums[-1]
        if last <= max_size:
            total = last
            start += _LIMIT_CHUNK
            continue
        # p: the first position whose total exceeds max_size; entries[start + p - 1] is the first
        # entry over the limit, kept only when the total before it is still 0.
        p = bisect_right(sums, max_size, 1)
        limit = start + p - 1
        if sums[p - 1] == 0:
            limit += 1
        del entries[limit:]
        return entries
    return entries


def _limit_size_loop(entries: list[_M], max_size: int) -> list[_M]:
    """_limit_size_loop is limit_size as raft-rs writes it, one entry at a time."""
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
