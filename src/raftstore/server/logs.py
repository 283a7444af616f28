"""raftstore.server.logs: structured logs of a store, with the store, region and peer in every line.

`configure_logging(fmt, store_id)` (the `server` command's `--log-format text|json`) puts a
`RegionFilter` and a formatter on the root logger's handlers:

    text: 2026-12-03T17:20:01.123Z INFO raftstore.store store=1 region=5 peer=7 | [region 5] 7 destroyed
    json: {"ts": "...", "level": "INFO", "logger": "raftstore.store", "store": 1, "region": 5, "peer": 7,
           "msg": "[region 5] 7 destroyed"}

Where the region and peer come from: the record's own `region` / `peer` attributes when the caller gave
them (`logger.info(..., extra={"region": 5, "peer": 7})`), otherwise the raftstore convention for lines
about a peer, `[region R] P ...` (PeerStorage's tag, the store's peer lines), or `region R` and `peer P`
in the message. A line about no region carries `region=-` / `"region": null` (the field is always there).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

__all__ = ["LOG_FORMATS", "JsonFormatter", "RegionFilter", "TextFormatter", "configure_logging"]

LOG_FORMATS = ("text", "json")

_TAG = re.compile(r"\[region (\d+)\](?: (\d+)\b)?")
_REGION = re.compile(r"\bregion (\d+)")
_PEER = re.compile(r"\bpeer (\d+)")


def _ids(message: str) -> tuple[int | None, int | None]:
    """_ids are the region and peer a message is about (None where it names none)."""
    tag = _TAG.search(message)
    if tag is not None:
        return int(tag.group(1)), int(tag.group(2)) if tag.group(2) else _first(_PEER, message)
    return _first(_REGION, message), _first(_PEER, message)


def _first(pattern: re.Pattern[str], message: str) -> int | None:
    found = pattern.search(message)
    return int(found.group(1)) if found is not None else None


class RegionFilter(logging.Filter):
    """RegionFilter sets `store`, `region` and `peer` on every record (module docstring); it drops nothing."""

    def __init__(self, store_id: int) -> None:
        super().__init__()
        self.store_id = store_id

    def filter(self, record: logging.LogRecord) -> bool:
        region, peer = _ids(record.getMessage())
        if getattr(record, "region", None) is None:
            record.region = region
        if getattr(record, "peer", None) is None:
            record.peer = peer
        if getattr(record, "store", None) is None:
            record.store = self.store_id
        return True


def _utc(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


class TextFormatter(logging.Formatter):
    """TextFormatter: `TIME LEVEL LOGGER store=S region=R peer=P | message` (a traceback follows)."""

    def format(self, record: logging.LogRecord) -> str:
        head = (f"{_utc(record)} {record.levelname} {record.name} store={_dash(getattr(record, 'store', None))} "
                f"region={_dash(getattr(record, 'region', None))} peer={_dash(getattr(record, 'peer', None))}")
        line = f"{head} | {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """JsonFormatter: one JSON object per line: ts, level, logger, store, region, peer, msg (and exc)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "store": getattr(record, "store", None),
            "region": getattr(record, "region", None),
            "peer": getattr(record, "peer", None),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(fmt: str, store_id: int) -> None:
    """configure_logging gives the root logger's handlers (a stderr one if it has none) the region filter
    and the formatter of fmt ("text" or "json")."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    for handler in root.handlers:
        handler.addFilter(RegionFilter(store_id))
        handler.setFormatter(formatter)
