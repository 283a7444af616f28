"""raftstore.checker.history: the operations of a history and the JSON-lines format that holds them.

The format (fixed; it is what `raftstore chaos` records) is one JSON object per line, blank lines allowed:

    {"client": 3, "op": "put", "key": "k1", "value": "v7", "invoke": 12.50, "complete": 12.61, "outcome": "ok"}

- `op`: "put" (value written), "get" (value read, null when the key was missing), "delete", or "cas" (value
  written if the key held `expected`; expected null means "only if the key is missing").
- `outcome`: "ok"; "fail" (did not take effect; for a cas: the compare ran and failed); "info" (unknown, a
  timeout: a write may have taken effect at any time after its invoke, or never).
- `invoke`, `complete`: seconds from one monotonic clock; `complete` is required for ok and fail, may be
  absent or null for info, and is never before `invoke`.
- keys and values are JSON strings or integers (1 and "1" are different values); other fields are ignored.

parse_history checks every line and raises HistoryFormatError naming the first bad one (from 1).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import HistoryFileError, HistoryFormatError

__all__ = ["OpName", "Operation", "Outcome", "Value", "format_history", "parse_history", "read_history"]

# Value: a key or a value of the register; JSON strings and integers only (never bool, never float).
Value = str | int
OpName = Literal["put", "get", "delete", "cas"]
Outcome = Literal["ok", "fail", "info"]

_OPS: tuple[OpName, ...] = ("put", "get", "delete", "cas")
_OUTCOMES: tuple[Outcome, ...] = ("ok", "fail", "info")


@dataclass(frozen=True, slots=True)
class Operation:
    """Operation is one line of a history. `line` is its line number in the source (from 1).

    Invariants (parse_history enforces them): `value` is set for put and cas, and for a get that is ok
    (None then means "missing"); `expected` matters for cas only; `complete` is None only when outcome is
    "info", and complete >= invoke otherwise.
    """

    line: int
    client: int
    op: OpName
    key: Value
    value: Value | None
    invoke: float
    complete: float | None
    outcome: Outcome
    expected: Value | None = None

    def to_json(self) -> str:
        """to_json is the operation as one line of the format (without the newline)."""
        obj: dict[str, Any] = {"client": self.client, "op": self.op, "key": self.key}
        if self.op != "delete":
            obj["value"] = self.value
        if self.op == "cas":
            obj["expected"] = self.expected
        obj.update(invoke=self.invoke, complete=self.complete, outcome=self.outcome)
        return json.dumps(obj, separators=(", ", ": "))

    def describe(self) -> str:
        """describe is a short human form, e.g. `line 7: client 3 cas k1 "a"->"b" ok [1.5, 1.7]`."""
        if self.op == "cas":
            what = f"{json.dumps(self.expected)}->{json.dumps(self.value)}"
        elif self.op == "delete":
            what = ""
        else:
            what = json.dumps(self.value)
        end = "..." if self.complete is None else f"{self.complete:g}"
        return (
            f"line {self.line}: client {self.client} {self.op} {json.dumps(self.key)} {what} {self.outcome} "
            f"[{self.invoke:g}, {end}]".replace("  ", " ")
        )


def format_history(ops: Iterable[Operation]) -> str:
    """format_history is the text of a history file holding ops, one line each."""
    return "".join(op.to_json() + "\n" for op in ops)


def read_history(path: str | Path) -> list[Operation]:
    """read_history parses the history file at path (see parse_history). Raises HistoryFileError when the
    file cannot be read as UTF-8 text, HistoryFormatError on a malformed line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise HistoryFileError(f"{path}: cannot read the history: {reason}") from err
    return parse_history(text.splitlines(), source=str(path))


def parse_history(lines: Iterable[str], source: str = "<history>") -> list[Operation]:
    """parse_history parses the lines of a history (blank lines skipped) into operations, in file order.
    Raises HistoryFormatError naming the source and line (from 1) of the first malformed line."""
    ops: list[Operation] = []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            ops.append(_parse_line(text, source, number))
    return ops


def _parse_line(text: str, source: str, line: int) -> Operation:
    def bad(message: str) -> HistoryFormatError:
        return HistoryFormatError(source, line, message)

    try:
        obj = json.loads(text)
    except ValueError as err:
        raise bad(f"not JSON: {err}") from None
    if not isinstance(obj, dict):
        raise bad("not a JSON object")
    client = obj.get("client")
    if not _is_int(client):
        raise bad(f'"client" must be an integer, got {_show(obj, "client")}')
    op = obj.get("op")
    if op not in _OPS:
        raise bad(f'"op" must be one of {", ".join(_OPS)}, got {_show(obj, "op")}')
    outcome = obj.get("outcome")
    if outcome not in _OUTCOMES:
        raise bad(f'"outcome" must be one of {", ".join(_OUTCOMES)}, got {_show(obj, "outcome")}')
    key = obj.get("key")
    if not _is_value(key):
        raise bad(f'"key" must be a string or an integer, got {_show(obj, "key")}')
    value = _value_field(obj, op, outcome, bad)
    expected = obj.get("expected")
    if op == "cas" and ("expected" not in obj or not (expected is None or _is_value(expected))):
        raise bad(f'a cas needs "expected": a string, an integer or null, got {_show(obj, "expected")}')
    invoke, complete = _times(obj, outcome, bad)
    return Operation(
        line, client, op, key, value, invoke, complete, outcome, expected if op == "cas" else None  # type: ignore[arg-type]
    )


def _value_field(obj: dict[str, Any], op: str, outcome: str, bad: Any) -> Value | None:
    """_value_field: put and cas write a string or an integer; an ok get reads one or null (present);
    a delete has none; a get that is not ok read nothing we use."""
    value = obj.get("value")
    if op in ("put", "cas") and not _is_value(value):
        raise bad(f'a {op} needs "value": a string or an integer, got {_show(obj, "value")}')
    if op == "get" and outcome == "ok" and ("value" not in obj or not (value is None or _is_value(value))):
        raise bad(f'an ok get needs "value": a string, an integer or null, got {_show(obj, "value")}')
    if op == "delete" and value is not None:
        raise bad(f'a delete has no "value", got {_show(obj, "value")}')
    if op == "get" and outcome != "ok":
        return None
    return value  # type: ignore[no-any-return]


def _times(obj: dict[str, Any], outcome: str, bad: Any) -> tuple[float, float | None]:
    invoke = obj.get("invoke")
    if not _is_time(invoke):
        raise bad(f'"invoke" must be a finite number, got {_show(obj, "invoke")}')
    complete = obj.get("complete")
    if complete is None and outcome != "info":
        raise bad(f'an {outcome} operation needs "complete" (only info may lack it)')
    if complete is not None and not _is_time(complete):
        raise bad(f'"complete" must be a finite number or null, got {_show(obj, "complete")}')
    if complete is not None and complete < invoke:
        raise bad(f'"complete" {complete} is before "invoke" {invoke}')
    return float(invoke), None if complete is None else float(complete)  # type: ignore[arg-type]


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_value(x: object) -> bool:
    return isinstance(x, str) or _is_int(x)


def _is_time(x: object) -> bool:
    return (_is_int(x) or isinstance(x, float)) and math.isfinite(x)  # type: ignore[arg-type]


def _show(obj: dict[str, Any], field: str) -> str:
    return json.dumps(obj[field]) if field in obj else "nothing"
