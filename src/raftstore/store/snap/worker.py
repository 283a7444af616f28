"""raftstore.store.snap.worker: SerialWorker, one thread that runs the items scheduled to it, in order.

The snapshot generation worker and the apply (region) worker share it. Invariants: items run one at a
time in scheduling order; after stop() nothing runs any more — the item at hand finishes, items still
queued or scheduled later are handed to `drop`; wait_idle() returns once every item scheduled so far was
run or dropped, also after stop().
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Generic, TypeVar

__all__ = ["SerialWorker"]

logger = logging.getLogger("raftstore.snap")

T = TypeVar("T")


class SerialWorker(Generic[T]):
    """SerialWorker: subclasses say what running (`run`), dropping (`drop`) and a failed run (`failed`:
    an unexpected exception, which must not kill the thread) mean for an item."""

    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[T | None] = queue.Queue()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def run(self, item: T) -> None:
        raise NotImplementedError

    def drop(self, item: T) -> None:
        raise NotImplementedError

    def failed(self, item: T, err: Exception) -> None:
        raise NotImplementedError

    def schedule(self, item: T) -> None:
        if self._stopped:
            self.drop(item)
            return
        self._queue.put(item)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if self._stopped:
                    self.drop(item)
                else:
                    self.run(item)
            except Exception as err:  # a bug must not kill the worker and leave its callers waiting forever
                logger.exception("%s: unexpected error", self._thread.name)
                self.failed(item, err)
            finally:
                self._queue.task_done()
        self._queue.task_done()  # the stop marker: wait_idle after stop() returns

    def wait_idle(self) -> None:
        """wait_idle returns once every item scheduled so far has been run or dropped."""
        self._queue.join()

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)
        self._thread.join()
