"""The BatchCommands outbox: the driver's wait until a stream took its answers (service._Outbox.wait_taken)."""

from __future__ import annotations

import threading
import time

import pytest

from raftstore.proto.raftstorepb_pb2 import BatchCommandsResponse
from raftstore.server.service import _Outbox


def _answer() -> BatchCommandsResponse.Response:
    resp = BatchCommandsResponse.Response()
    resp.put.SetInParent()
    return resp


@pytest.mark.parametrize(
    ("answers", "stream_waiting", "taken"),
    [
        (0, True, True),  # nothing to take: at once
        (2, True, True),  # the stream's thread waits for answers: once it took both
        (1, False, False),  # the stream's thread is busy (sending): at once, it takes them when done
    ],
)
def test_wait_taken(answers: int, stream_waiting: bool, taken: bool) -> None:
    outbox = _Outbox()
    outbox.expect(answers)
    sent: list[bytes] = []
    stream = threading.Thread(target=lambda: sent.extend(outbox.responses()), daemon=True)
    if stream_waiting:
        stream.start()
        while not outbox._idle:
            time.sleep(0.001)
    for rid in range(answers):
        outbox.put(rid, _answer)
    started = time.monotonic()
    outbox.wait_taken(started + 5.0)
    assert time.monotonic() - started < 1.0
    assert (outbox._answers == []) is taken
    outbox.cancel()
    if stream_waiting:
        stream.join(5.0)
        assert [list(BatchCommandsResponse.FromString(out).request_ids) for out in sent] == ([list(range(answers))] if answers else [])
