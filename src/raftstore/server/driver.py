"""raftstore.server.driver: the threaded driver of a StoreCore (the server's side of docs/store.md's round).

The core is single-threaded: only the driver thread touches it. Other threads (gRPC handlers, the
transport) hand it work through the inbox — raft messages to step and tasks (closures run on the driver
thread with the core: proposals, queries, unreachable reports) — and never block on it. The loop:

    wait for inbox work, the next tick, or a round left work (persisted Readies enable commits)
    step every message, run every task           # everything that arrived meanwhile: ONE round for it all,
    tick when the tick is due                    #   so the writes a region got become one proposal
    run_round(core, engines, transport.send, snap)  # collect -> send -> write_tasks -> on_persisted -> send
                                                    #   -> apply batch -> snapshot jobs -> answers
    after-round hooks                            # e.g. the KV service waits (briefly) until its streams
                                                 #   took the round's answers: they leave before the next round

Answers run the proposers' callbacks on the driver thread: they must be quick (a queue append).
A failed round (StoreError: the engines failed) stops the driver; `failure` says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..engine.engines import Engines
from ..proto.raft_serverpb_pb2 import RaftMessage
from ..store.driver import SnapIO, run_round
from ..store.store_core import StoreCore
from .metrics import StoreMetrics

__all__ = ["StoreDriver", "Task"]

logger = logging.getLogger("raftstore.server")

# Task: work for the driver thread; it gets the core.
Task = Callable[[StoreCore], None]


class StoreDriver:
    """StoreDriver: the thread that owns a StoreCore and runs its rounds (module docstring).

    Invariant: `_messages` and `_tasks` are only touched under `_cond`; the core only on the thread."""

    def __init__(
        self,
        core: StoreCore,
        engines: Engines,
        send: Callable[[list[RaftMessage]], None],
        tick_interval: float,
        metrics: StoreMetrics,
        snap: SnapIO | None = None,
    ) -> None:
        self.core = core
        self._snap = snap
        self._engines = engines
        self._send = send
        self._tick_interval = tick_interval
        self._metrics = metrics
        self._cond = threading.Condition()
        self._messages: list[RaftMessage] = []
        self._tasks: list[Task] = []
        self._after_round: list[Callable[[], None]] = []
        self._stopping = False
        self.failure: BaseException | None = None
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"store-{core.store_id}-driver", daemon=True)
        # The core's clock (lease reads) is this process's monotonic clock in base ticks: it moves on
        # while the process is stopped, so a leader resumed past its lease does not serve from it.
        core.clock = lambda: time.monotonic() / tick_interval

    def start(self) -> None:
        """start runs the loop on its thread; the gauges hold the loaded regions before it starts."""
        self._observe()
        self._thread.start()

    def after_round(self, hook: Callable[[], None]) -> None:
        """after_round adds a hook the driver thread calls after every round (add them before start)."""
        self._after_round.append(hook)

    def stop(self, timeout: float = 10.0) -> None:
        """stop ends the loop after the round under way (unanswered commands stay unanswered)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- inputs (any thread) --------------------------------------------------------------------------

    def step_messages(self, msgs: list[RaftMessage]) -> None:
        with self._cond:
            self._messages.extend(msgs)
            self._cond.notify()

    def submit(self, task: Task) -> None:
        self.submit_all([task])

    def submit_all(self, tasks: list[Task]) -> None:
        """submit_all queues tasks together: they run in the same loop iteration, before one round."""
        with self._cond:
            self._tasks.extend(tasks)
            self._cond.notify()

    # -- the loop (driver thread) ---------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as err:  # a failed round: the engines are failed, the store must restart
            logger.error("store %d: driver stopped: %s", self.core.store_id, err)
            self.failure = err
        finally:
            self.stopped.set()

    def _loop(self) -> None:
        core = self.core
        next_tick = time.monotonic() + self._tick_interval
        busy = True  # a round left work: run the next one without waiting
        while True:
            with self._cond:
                while not (self._stopping or busy or self._messages or self._tasks):
                    wait = next_tick - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    return
                msgs, self._messages = self._messages, []
                tasks, self._tasks = self._tasks, []
            for msg in msgs:
                core.step(msg)
            for task in tasks:
                task(core)
            now = time.monotonic()
            if now >= next_tick:
                core.tick()
                next_tick = max(next_tick + self._tick_interval, now)
                self._observe()
            busy = self._round()
            for hook in self._after_round:
                hook()

    def _round(self) -> bool:
        started = time.perf_counter()
        stats = run_round(self.core, self._engines, self._send, self._snap)
        if stats is None:
            return False
        m = self._metrics
        m.rounds.inc()
        m.fsyncs.inc(stats.syncs)
        m.entries.inc(stats.entries)
        m.raft_bytes.inc(stats.raft_bytes)
        m.round_seconds.observe(time.perf_counter() - started)
        return True

    def _observe(self) -> None:
        """_observe updates the gauges on a tick: O(awake regions), hibernated ones are not visited."""
        core = self.core
        self._metrics.regions.set(len(core.peers))
        self._metrics.leaders.set(core.leader_count())
        self._metrics.apply_lag.set(max(core.apply_lag(), 0))
