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
    ("answers", "taken_after", "want_min", "want_max"),
    [
        (0, None, 0.0, 0.05),  # nothing to take: at once
        (2, 0.1, 0.1, 0.5),  # the stream takes both after 0.1 s: then
        (1, None, 0.3, 1.0),  # nobody takes: at the deadline (0.3 s)
    ],
)
def test_wait_taken(answers: int, taken_after: float | None, want_min: float, want_max: float) -> None:
    outbox = _Outbox()
    outbox.expect(answers)
    for rid in range(answers):
        outbox.put(rid, _answer)
    sent: list[bytes] = []
    if taken_after is not None:
        stream = outbox.responses()
        timer = threading.Timer(taken_after, lambda: sent.append(next(stream)))
        timer.start()
    started = time.monotonic()
    outbox.wait_taken(started + 0.3 if taken_after is None else started + 5.0)
    waited = time.monotonic() - started
    assert want_min <= waited < want_max
    if taken_after is not None:
        timer.join()
        assert list(BatchCommandsResponse.FromString(sent[0]).request_ids) == list(range(answers))
