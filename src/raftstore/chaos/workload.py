"""raftstore.chaos.workload: concurrent clients on a few keys, every operation recorded as a history line.

`Workload` runs `clients` threads, each with its own raftstore.client.Client, issuing get / put / delete /
compare-and-swap on keys k0..k{keys-1} (few keys: conflicts are frequent), one operation at a time, and
records each as an Operation of the history format (raftstore.checker.history, docs/reliability.md): times
from one monotonic clock (seconds since the workload's start), and the outcome:

| call result                                | outcome                                               |
|--------------------------------------------|-------------------------------------------------------|
| returned                                   | ok (a cas that did not swap: fail, its compare ran)   |
| RequestTimeoutError                        | info (unknown: the write may have taken effect)       |
| any other ClientError (refused, NotLeader, | fail for put / delete / get (did not happen); a cas   |
|   RegionNotFound, ... before raft)         |   is left out: "fail" would claim a compare it never made |

After a timeout the thread drops its Client and starts a new one (a paused or cut-off store must not keep
it forever); its first request goes to a store drawn at random.

A separate writer thread puts unique keys w-NNNNNN, never overwritten: `acked` holds those acknowledged,
so that "every acknowledged write is present" is checked exactly at the end (`lost_writes`).

Client addresses: a store answers GetRegion with the addresses of its --initial-cluster, which for the
other stores are proxies (cluster.py). The client would then follow those proxies, and link cuts would
hit client traffic too; each Client here is given the stores' real addresses (`store_addrs`), which win.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from ..checker.history import Operation
from ..client import Client, ClientError, RequestTimeoutError

__all__ = ["Workload", "WorkloadConfig"]

FINAL_CLIENT = 0  # the client id of the final reads (workload clients are 1..n)


@dataclass(frozen=True)
class WorkloadConfig:
    """WorkloadConfig: `clients` threads on `keys` keys; `timeout` bounds each call (seconds)."""

    clients: int = 6
    keys: int = 4
    timeout: float = 1.0


@dataclass
class _Counts:
    refused_cas: int = 0
    writer_unknown: int = 0


class Workload:
    """Workload: the clients of a run (module docstring). start(), stop(), then final_reads() and
    lost_writes() once the cluster is healed; `history` is every operation in completion order."""

    def __init__(self, addrs: dict[int, str], cfg: WorkloadConfig, seed: int) -> None:
        self.addrs = addrs
        self.cfg = cfg
        self.seed = seed
        self.keys = [f"k{i}" for i in range(cfg.keys)]
        self.history: list[Operation] = []
        self.acked: dict[str, str] = {}
        self.counts = _Counts()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._written: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=4))
        self._threads = [
            threading.Thread(target=self._client, args=(c,), name=f"chaos-client-{c}", daemon=True)
            for c in range(1, cfg.clients + 1)
        ]
        self._threads.append(threading.Thread(target=self._writer, name="chaos-writer", daemon=True))

    # -- clients ---------------------------------------------------------------------------------------

    def _new_client(self, rng: random.Random, timeout: float) -> Client:
        order = rng.sample(sorted(self.addrs), len(self.addrs))
        client = Client([self.addrs[s] for s in order], timeout=timeout, store_addrs=self.addrs)
        return client

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 6)

    def _record(self, **fields: object) -> None:
        with self._lock:
            self.history.append(Operation(line=len(self.history) + 1, **fields))  # type: ignore[arg-type]

    def _client(self, cid: int) -> None:
        rng = random.Random(self.seed * 1000 + cid)
        client = self._new_client(rng, self.cfg.timeout)
        seen: dict[str, str | None] = {}
        n = 0
        try:
            while not self._stop.is_set():
                n += 1
                key = rng.choice(self.keys)
                if not self._one(client, cid, rng, key, f"{cid}-{n}", seen):
                    client.close()
                    client = self._new_client(rng, self.cfg.timeout)
                time.sleep(rng.uniform(0, 0.005))
        finally:
            client.close()

    def _one(self, client: Client, cid: int, rng: random.Random, key: str, value: str,
             seen: dict[str, str | None]) -> bool:
        """_one runs one random operation on key and records it; False after a timeout."""
        draw = rng.random()
        op = "get" if draw < 0.35 else "put" if draw < 0.6 else "delete" if draw < 0.7 else "cas"
        expected = self._expect(rng, key, seen) if op == "cas" else None
        fields: dict[str, object] = {"client": cid, "op": op, "key": key, "invoke": self.now()}
        if op in ("put", "cas"):
            fields["value"] = value
        if op == "cas":
            fields["expected"] = expected
        try:
            read, outcome = self._call(client, op, key, value, expected)
        except RequestTimeoutError:
            seen.pop(key, None)
            self._record(**{**fields, "value": fields.get("value"), "complete": None, "outcome": "info"})
            return False
        except ClientError:
            time.sleep(0.02)
            if op == "cas":
                with self._lock:
                    self.counts.refused_cas += 1  # left out: see the module docstring
            else:
                self._record(**{**fields, "value": fields.get("value"), "complete": self.now(), "outcome": "fail"})
            return True
        if op == "get":
            fields["value"] = read
        if op != "delete":
            seen[key] = read
        self._record(**{**fields, "value": fields.get("value"), "complete": self.now(), "outcome": outcome})
        return True

    def _call(self, client: Client, op: str, key: str, value: str, expected: str | None) -> tuple[str | None, str]:
        """_call runs op: (the value the key then holds as far as it saw, "ok" or "fail")."""
        k, v = key.encode(), value.encode()
        if op == "get":
            got = client.get(k)
            return (None if got is None else got.decode()), "ok"
        if op == "put":
            client.put(k, v)
            self._wrote(key, value)
            return value, "ok"
        if op == "delete":
            client.delete(k)
            return None, "ok"
        swapped, previous = client.compare_and_swap(k, None if expected is None else expected.encode(), v)
        if swapped:
            self._wrote(key, value)
            return value, "ok"
        return (None if previous is None else previous.decode()), "fail"

    def _expect(self, rng: random.Random, key: str, seen: dict[str, str | None]) -> str | None:
        """_expect picks a cas's expected value: what this client last saw, a recent write, or missing."""
        draw = rng.random()
        with self._lock:
            recent = list(self._written[key])
        if draw < 0.6 and key in seen:
            return seen[key]
        if draw < 0.85 and recent:
            return rng.choice(recent)
        return None

    def _wrote(self, key: str, value: str) -> None:
        with self._lock:
            self._written[key].append(value)

    def _writer(self) -> None:
        rng = random.Random(self.seed * 1000)
        client = self._new_client(rng, self.cfg.timeout)
        n = 0
        try:
            while not self._stop.is_set():
                n += 1
                key, value = f"w-{n:06d}", f"v{n}"
                try:
                    client.put(key.encode(), value.encode())
                except RequestTimeoutError:
                    self.counts.writer_unknown += 1
                    client.close()
                    client = self._new_client(rng, self.cfg.timeout)
                    continue
                except ClientError:
                    time.sleep(0.02)
                    continue
                self.acked[key] = value
        finally:
            client.close()

    # -- the run -----------------------------------------------------------------------------------------

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.cfg.timeout * 3 + 5)

    def final_reads(self, timeout: float = 5.0, attempts: int = 6) -> list[str]:
        """final_reads reads every key once more (recorded as client FINAL_CLIENT); returns the keys that
        could not be read."""
        unread = []
        with Client(list(self.addrs.values()), timeout=timeout, store_addrs=self.addrs) as client:
            for key in self.keys:
                for _ in range(attempts):
                    invoke = self.now()
                    try:
                        got = client.get(key.encode())
                    except ClientError:
                        continue
                    self._record(client=FINAL_CLIENT, op="get", key=key, value=None if got is None else got.decode(),
                                 invoke=invoke, complete=self.now(), outcome="ok")
                    break
                else:
                    unread.append(key)
        return unread

    def lost_writes(self, timeout: float = 10.0) -> dict[str, tuple[str, str | None]]:
        """lost_writes: the writer's acknowledged keys whose value is not what was acknowledged
        (key -> (acknowledged value, value found or None))."""
        with Client(list(self.addrs.values()), timeout=timeout, store_addrs=self.addrs) as client:
            found = {k.decode(): v.decode() for k, v in client.scan(b"w-", b"w.")}
        return {k: (v, found.get(k)) for k, v in self.acked.items() if found.get(k) != v}

    def summary(self) -> dict[str, int]:
        """summary counts the operations by outcome, plus the cas left out and the writer's writes."""
        out: dict[str, int] = defaultdict(int)
        for op in self.history:
            out[op.outcome] += 1
        out["operations"] = len(self.history)
        out["refused_cas"] = self.counts.refused_cas
        out["writer_acked"] = len(self.acked)
        out["writer_unknown"] = self.counts.writer_unknown
        return dict(out)

