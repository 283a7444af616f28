"""raftstore.checker.simulate: histories of a simulated linearizable key-value store, for tests and benchmarks.

Each client runs operations one after another on a few keys; each operation takes effect atomically at a
random instant inside its [invoke, complete] window (its linearization point), in the order of those
instants, on one dict: so every history made here is linearizable by construction. Some operations time
out (outcome "info", no complete): half of those took effect, half never did. A cas whose compare fails is
recorded with outcome "fail", as the history format says.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from .history import Operation, OpName, Outcome, Value

__all__ = ["SimConfig", "corrupt_read", "simulate_history"]


@dataclass(frozen=True)
class SimConfig:
    """SimConfig of simulate_history: `ops` operations in all by `clients` clients on `keys` keys; each lasts
    up to `max_latency` seconds after a think time up to `max_think`; a fraction `timeouts` times out."""

    ops: int = 1000
    clients: int = 8
    keys: int = 5
    max_latency: float = 0.05
    max_think: float = 0.01
    timeouts: float = 0.02


@dataclass
class _Pending:
    client: int
    op: OpName
    key: str
    value: str | None
    expected: Value | None
    invoke: float
    complete: float
    takes_effect: bool
    timed_out: bool


def simulate_history(config: SimConfig, seed: int) -> list[Operation]:
    """simulate_history makes a linearizable history (see the module docstring), its operations in invoke
    order with line numbers 1..n, deterministic in seed."""
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(config.keys)]
    # written[key]: values written to key so far (a cas expects one of the recent ones, or nothing).
    written: dict[str, list[str]] = {k: [] for k in keys}
    pending = _draw_operations(config, rng, keys, written)
    # Apply each operation at its linearization point, in the order of those points.
    points = [(rng.uniform(p.invoke, p.complete), n) for n, p in enumerate(pending)]
    heapq.heapify(points)
    store: dict[str, str] = {}
    results: dict[int, tuple[Value | None, Outcome]] = {}
    while points:
        _, n = heapq.heappop(points)
        results[n] = _apply(pending[n], store)
    ops: list[Operation] = []
    for n, p in sorted(enumerate(pending), key=lambda item: item[1].invoke):
        value, outcome = results[n]
        ops.append(
            Operation(
                line=len(ops) + 1, client=p.client, op=p.op, key=p.key, value=value,
                invoke=round(p.invoke, 6), complete=None if p.timed_out else round(p.complete, 6),
                outcome=outcome, expected=p.expected,
            )
        )
    return ops


def _draw_operations(
    config: SimConfig, rng: random.Random, keys: list[str], written: dict[str, list[str]]
) -> list[_Pending]:
    """_draw_operations: every client's operations back to back, with think times, round robin until
    config.ops are drawn. Values are unique ("v<n>")."""
    clock = [0.0] * config.clients
    drawn: list[_Pending] = []
    for n in range(config.ops):
        client = n % config.clients
        invoke = clock[client] + rng.uniform(0, config.max_think)
        complete = invoke + rng.uniform(0.0005, config.max_latency)
        clock[client] = complete
        key = rng.choice(keys)
        op: OpName = rng.choice(("put", "put", "get", "get", "get", "delete", "cas", "cas"))
        value = f"v{n}" if op in ("put", "cas") else None
        expected: Value | None = None
        if op == "cas" and written[key] and rng.random() < 0.8:
            expected = rng.choice(written[key][-3:])
        if value is not None:
            written[key].append(value)
        timed_out = op != "get" and rng.random() < config.timeouts
        takes_effect = not timed_out or rng.random() < 0.5
        drawn.append(_Pending(client, op, key, value, expected, invoke, complete, takes_effect, timed_out))
    return drawn


def _apply(p: _Pending, store: dict[str, str]) -> tuple[Value | None, Outcome]:
    """_apply runs p on store at its linearization point: (the value to record, the outcome)."""
    current = store.get(p.key)
    if p.timed_out:
        if p.takes_effect and (p.op != "cas" or current == p.expected):
            _write(store, p.key, p.value if p.op != "delete" else None)
        return p.value, "info"
    if p.op == "get":
        return current, "ok"
    if p.op == "cas" and current != p.expected:
        return p.value, "fail"
    _write(store, p.key, p.value if p.op != "delete" else None)
    return p.value, "ok"


def _write(store: dict[str, str], key: str, value: str | None) -> None:
    if value is None:
        store.pop(key, None)
    else:
        store[key] = value


def corrupt_read(ops: list[Operation], rng: random.Random) -> tuple[list[Operation], int]:
    """corrupt_read returns ops with the value of one ok get (drawn by rng) replaced by a value never
    written, and that get's line: the result is never linearizable. Raises ValueError without ok gets."""
    gets = [n for n, op in enumerate(ops) if op.op == "get" and op.outcome == "ok"]
    if not gets:
        raise ValueError("the history has no ok get to corrupt")
    n = rng.choice(gets)
    bad = ops[n]
    changed = Operation(bad.line, bad.client, bad.op, bad.key, "never-written", bad.invoke, bad.complete, bad.outcome)
    return [*ops[:n], changed, *ops[n + 1 :]], bad.line
