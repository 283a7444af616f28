"""Structured logs: the store, region and peer in every line of a store's log (text or JSON)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from raftstore.client import Client
from raftstore.server.admin_client import AdminClient
from raftstore.server.logs import JsonFormatter, RegionFilter, TextFormatter

from .helpers import ProcCluster


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("raftstore.store", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    rec.created, rec.msecs = 0.0, 0
    return rec


@pytest.mark.parametrize(
    ("msg", "args", "extra", "region", "peer"),
    [
        ("[region %d] %d destroyed (tombstone)", (5, 7), {}, 5, 7),  # the peer tag convention
        ("[region %d] message from stale peer %d, telling it to gc", (3, 9), {}, 3, 9),
        ("store %d: creating peer %d of region %d", (1, 11, 4), {}, 4, 11),
        ("store %d serving on %s", (1, "h:1"), {}, None, None),  # about no region: the fields stay
        ("anything", (), {"region": 8, "peer": 2}, 8, 2),  # the caller's extra wins
    ],
)
def test_every_line_names_store_region_and_peer(
    msg: str, args: tuple[object, ...], extra: dict[str, object], region: int | None, peer: int | None
) -> None:
    rec = record(msg, *args, **extra)
    assert RegionFilter(1).filter(rec)
    text = msg % args
    dash = lambda v: "-" if v is None else str(v)
    assert TextFormatter().format(rec) == (
        f"1970-01-01T00:00:00.000Z INFO raftstore.store store=1 region={dash(region)} peer={dash(peer)} | {text}"
    )
    assert json.loads(JsonFormatter().format(rec)) == {
        "ts": "1970-01-01T00:00:00.000Z", "level": "INFO", "logger": "raftstore.store", "store": 1,
        "region": region, "peer": peer, "msg": text,
    }


def test_a_stores_json_log(tmp_path: Path) -> None:
    """A store run with --log-format json -v writes only JSON lines, each with store, region and peer; the
    lines of a split of region 1 name the region and the leader's peer."""
    with ProcCluster(tmp_path, 3, extra_args=("-v", "--log-format", "json")) as cluster:
        cluster.start_all()
        with Client(list(cluster.addrs.values()), timeout=10) as client:
            client.put(b"log", b"v")
        leader = cluster.leader_store()
        with AdminClient(cluster.addrs[leader], timeout=10) as admin:
            admin.split(b"log-m")
        cluster.terminate(leader)
        lines = [json.loads(line) for line in cluster.log(leader).splitlines() if line.strip()]
    assert lines and all({"store", "region", "peer", "msg", "level"} <= line.keys() for line in lines)
    assert {line["store"] for line in lines} == {leader}
    assert any(line["region"] == 1 and line["peer"] == leader for line in lines)
