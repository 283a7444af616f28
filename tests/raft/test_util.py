"""Tests of raftstore.raft.util: limit_size against raft-rs's limit_size (its doc example and a
literal transcription of its take_while loop)."""

from __future__ import annotations

import random

import pytest

from raftstore.raft import NO_LIMIT, Entry, Message
from raftstore.raft.util import limit_size


def raft_rs_limit_size(entries: list[Entry], max_size: int | None) -> list[Entry]:
    """raft_rs_limit_size transcribes raft-rs's util::limit_size (take_while over compute_size)."""
    if len(entries) <= 1 or max_size is None or max_size == NO_LIMIT:
        return list(entries)
    size = 0
    limit = 0
    for e in entries:
        if size == 0:
            size += e.ByteSize()
            limit += 1
            continue
        size += e.ByteSize()
        if size > max_size:
            break
        limit += 1
    return entries[:limit]


def test_limit_size_raft_rs_doc_example() -> None:
    """test_limit_size_raft_rs_doc_example: raft-rs's doc example (five ~100-byte entries)."""
    entries = [Entry(data=b"*" * 100) for _ in range(5)]
    assert len(limit_size(entries, 220)) == 2
    assert len(limit_size(entries, 0)) == 1


def test_limit_size_keeps_the_list_object() -> None:
    """test_limit_size_keeps_the_list_object: entries are truncated in place and returned."""
    entries = [Entry(index=i, data=b"x" * 10) for i in range(1, 6)]
    kept = entries[:2]
    out = limit_size(entries, kept[0].ByteSize() + kept[1].ByteSize())
    assert out is entries
    assert out == kept


@pytest.mark.parametrize("seed", range(40))
def test_limit_size_matches_raft_rs(seed: int) -> None:
    """test_limit_size_matches_raft_rs: random lists (zero-sized entries, sizes around chunk
    boundaries, limits at exact totals) cut exactly where raft-rs's loop cuts."""
    rng = random.Random(seed)
    n = rng.choice([0, 1, 2, 3, 10, 511, 512, 513, 1024, 1500])
    entries: list[Entry] = []
    for i in range(n):
        if rng.random() < 0.2:
            entries.append(Entry())  # ByteSize() == 0
        else:
            entries.append(
                Entry(
                    index=rng.choice([i + 1, 2**40 + i]),
                    term=rng.randint(0, 2**20),
                    data=b"d" * rng.choice([0, 1, 10, 127, 128, 1024]),
                    context=b"c" * rng.choice([0, 0, 3]),
                )
            )
    totals = [0]
    for e in entries:
        totals.append(totals[-1] + e.ByteSize())
    limits: list[int | None] = [None, NO_LIMIT, 0, 1, rng.randint(0, totals[-1] + 10)]
    limits += [t + d for t in rng.sample(totals, min(4, len(totals))) for d in (-1, 0, 1) if t + d >= 0]
    for max_size in limits:
        want = raft_rs_limit_size(entries, max_size)
        got = limit_size(list(entries), max_size)
        assert len(got) == len(want), (n, max_size)
        assert all(a is b for a, b in zip(got, want))


def test_limit_size_messages() -> None:
    """test_limit_size_messages: limit_size is generic over protobuf messages, as in raft-rs."""
    msgs = [Message(to=i, context=b"x" * 50) for i in range(1, 10)]
    for max_size in (0, 60, 200, 10_000):
        assert limit_size(list(msgs), max_size) == raft_rs_limit_size(msgs, max_size)


def test_limit_size_leading_empty_entries() -> None:
    """test_limit_size_leading_empty_entries: while the running total is 0 every entry is kept, then
    the first sized one too, even over the limit."""
    entries = [Entry(), Entry(), Entry(data=b"x" * 100), Entry(data=b"y")]
    assert len(limit_size(list(entries), 0)) == 3
    assert len(limit_size(list(entries), 10)) == 3
