"""raftstore.store.snap.io: file helpers of the snapshot code and its IO rate limiter.

Durability rules used throughout: a file is complete once written, fsynced, renamed from its temporary
name, and its directory fsynced (`publish`); `write_atomic` does all four for a small file (a meta file).
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable
from typing import TypeVar

from .errors import SnapIOError

__all__ = ["IoRateLimiter", "fsync_dir", "fsync_file", "write_atomic", "publish", "file_crc32", "remove_quiet", "os_call"]

# _READ_BLOCK: bytes per read of file_crc32 (one buffer, reused: no allocation per block).
_READ_BLOCK = 4 << 20
_T = TypeVar("_T")


class IoRateLimiter:
    """IoRateLimiter: a token bucket of `rate` bytes per second shared by building, sending and receiving.

    consume(n) takes n tokens, sleeping while the bucket is in debt; the bucket holds at most `burst`
    tokens (default: a tenth of a second's worth). rate <= 0 means unlimited: consume only counts.
    `consumed` is the total of every consume (what the limiter has let through).
    """

    def __init__(self, rate: float = 0, burst: int | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(int(rate / 10), 1)
        self.consumed = 0
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def consume(self, n: int) -> None:
        with self._lock:
            self.consumed += n
            if self.rate <= 0:
                return
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate) - n
            self._last = now
            wait = -self._tokens / self.rate
        if wait > 0:
            time.sleep(wait)


def os_call(what: str, fn: Callable[..., _T], *args: object) -> _T:
    """os_call runs fn(*args) and turns an OSError into SnapIOError naming what was being done."""
    try:
        return fn(*args)
    except OSError as exc:
        raise SnapIOError(f"{what}: {exc}") from exc


def fsync_dir(path: str) -> None:
    """fsync_dir makes the directory entries of path (renames, creations, removals) durable."""
    fd = os_call(f"open dir {path}", os.open, path, os.O_RDONLY)
    try:
        os_call(f"fsync dir {path}", os.fsync, fd)
    finally:
        os.close(fd)


def fsync_file(path: str) -> None:
    """fsync_file makes the contents of the file at path durable."""
    fd = os_call(f"open {path}", os.open, path, os.O_RDONLY)
    try:
        os_call(f"fsync {path}", os.fsync, fd)
    finally:
        os.close(fd)


def publish(renames: list[tuple[str, str]], directory: str) -> None:
    """publish fsyncs each temporary file, renames it to its final name, then fsyncs the directory."""
    for tmp, final in renames:
        fsync_file(tmp)
        os_call(f"rename {tmp}", os.replace, tmp, final)
    fsync_dir(directory)


def write_atomic(path: str, data: bytes) -> None:
    """write_atomic writes data to path all or nothing: a .tmp file, fsync, rename, directory fsync."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise SnapIOError(f"write {tmp}: {exc}") from exc
    os_call(f"rename {tmp}", os.replace, tmp, path)
    fsync_dir(os.path.dirname(path) or ".")


def file_crc32(path: str, limiter: IoRateLimiter | None = None) -> tuple[int, int]:
    """file_crc32 is (size, CRC32) of the file at path, read in 4 MiB blocks (through limiter, if any)."""
    crc = 0
    size = 0
    buf = bytearray(_READ_BLOCK)
    view = memoryview(buf)
    try:
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                if limiter is not None:
                    limiter.consume(n)
                crc = zlib.crc32(view[:n], crc)
                size += n
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SnapIOError(f"read {path}: {exc}") from exc
    return size, crc


def remove_quiet(path: str) -> None:
    """remove_quiet removes the file at path if it is there."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SnapIOError(f"remove {path}: {exc}") from exc
