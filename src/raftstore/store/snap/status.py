"""raftstore.store.snap.status: the status of an apply job and the peer's snapshot state, as in TiKV.

An apply job's status is shared by the peer (which may cancel it) and the worker (which runs it). Its
transitions, and who makes them::

    PENDING    -> RUNNING      worker starts the job
    PENDING    -> CANCELLING   peer cancels a job not started (the worker then finds it cancelled)
    RUNNING    -> CANCELLING   peer cancels a running job (the worker stops at its next abort check)
    RUNNING    -> FINISHED     worker: applied
    RUNNING    -> FAILED       worker: the apply failed (the peer must be destroyed)
    CANCELLING -> CANCELLED    worker: stopped at an abort check
    CANCELLING -> FINISHED     worker: finished before it saw the cancel
    CANCELLING -> FAILED       worker: failed before it saw the cancel

CANCELLED, FINISHED and FAILED are final. ApplyStatus refuses any other change with SnapStatusError.

The peer's side (TiKV's SnapState) is ApplySnapState: RELAX, GENERATING, APPLYING (with the job's
status) or APPLY_ABORTED. check_applying_snap() and cancel_applying_snap() follow TiKV's tables:

    check_applying_snap  job status   ->  result     new state
                         PENDING          APPLYING   (unchanged)
                         RUNNING          APPLYING   (unchanged)
                         CANCELLING       APPLYING   (unchanged)
                         FINISHED         SUCCESS    RELAX
                         CANCELLED        IDLE       APPLY_ABORTED
                         FAILED           IDLE       APPLY_ABORTED
                         (not applying)   IDLE       (unchanged)

    cancel_applying_snap job status   ->  result     new state / job status
                         PENDING          True       APPLY_ABORTED, job CANCELLING
                         RUNNING          False      job CANCELLING (still APPLYING)
                         CANCELLING       False      (unchanged)
                         CANCELLED        True       APPLY_ABORTED
                         FINISHED         True       RELAX
                         FAILED           True       APPLY_ABORTED
                         (not applying)   False      (unchanged)

cancel_applying_snap's result says whether the job can be considered never to run again.
"""

from __future__ import annotations

import threading
from enum import Enum, IntEnum

from .errors import SnapAbortedError, SnapStatusError

__all__ = [
    "JobStatus",
    "TRANSITIONS",
    "ApplyStatus",
    "check_abort",
    "SnapStateKind",
    "CheckApplyingSnapStatus",
    "ApplySnapState",
]


class JobStatus(IntEnum):
    """JobStatus of an apply job (TiKV's JOB_STATUS_* values)."""

    PENDING = 0
    RUNNING = 1
    CANCELLING = 2
    CANCELLED = 3
    FINISHED = 4
    FAILED = 5


# TRANSITIONS[s] are the statuses a job in status s may move to (the table of the module docstring).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLING}),
    JobStatus.RUNNING: frozenset({JobStatus.CANCELLING, JobStatus.FINISHED, JobStatus.FAILED}),
    JobStatus.CANCELLING: frozenset({JobStatus.CANCELLED, JobStatus.FINISHED, JobStatus.FAILED}),
    JobStatus.CANCELLED: frozenset(),
    JobStatus.FINISHED: frozenset(),
    JobStatus.FAILED: frozenset(),
}


class ApplyStatus:
    """ApplyStatus: the shared, atomic status of one apply job (TiKV's Arc<AtomicUsize>)."""

    __slots__ = ("_value", "_lock")

    def __init__(self, value: JobStatus = JobStatus.PENDING) -> None:
        self._value = value
        self._lock = threading.Lock()

    def load(self) -> JobStatus:
        return self._value

    def compare_exchange(self, current: JobStatus, new: JobStatus) -> bool:
        """compare_exchange moves current -> new if the status is current (True), else changes nothing."""
        with self._lock:
            if self._value != current:
                return False
            self._check(new)
            self._value = new
            return True

    def swap(self, new: JobStatus) -> JobStatus:
        """swap moves to new and returns the status it replaced."""
        with self._lock:
            old = self._value
            self._check(new)
            self._value = new
            return old

    def _check(self, new: JobStatus) -> None:
        if new not in TRANSITIONS[self._value]:
            raise SnapStatusError(f"apply job status cannot go from {self._value.name} to {new.name}")

    def __repr__(self) -> str:
        return f"ApplyStatus({self._value.name})"


def check_abort(status: ApplyStatus | None) -> None:
    """check_abort raises SnapAbortedError when the job is being cancelled (status CANCELLING)."""
    if status is not None and status.load() == JobStatus.CANCELLING:
        raise SnapAbortedError("snapshot job cancelled")


class SnapStateKind(Enum):
    """SnapStateKind: the peer's snapshot state (TiKV's SnapState without its payload)."""

    RELAX = "relax"
    GENERATING = "generating"
    APPLYING = "applying"
    APPLY_ABORTED = "apply_aborted"


class CheckApplyingSnapStatus(Enum):
    """CheckApplyingSnapStatus: what check_applying_snap found (TiKV's enum)."""

    APPLYING = "applying"
    SUCCESS = "success"
    IDLE = "idle"


class ApplySnapState:
    """ApplySnapState: a peer's snapshot state and, while APPLYING, its apply job's status.

    PeerStorage keeps one and delegates check_applying_snap / cancel_applying_snap to it (the tables of the
    module docstring); `set_applying()` is called when a snapshot is staged and returns the job status to
    hand to the apply worker.
    """

    __slots__ = ("kind", "status")

    def __init__(self, kind: SnapStateKind = SnapStateKind.RELAX, status: ApplyStatus | None = None) -> None:
        self.kind = kind
        self.status = status

    def set_applying(self, status: ApplyStatus | None = None) -> ApplyStatus:
        """set_applying enters APPLYING with status (a new PENDING one by default) and returns it."""
        self.kind = SnapStateKind.APPLYING
        self.status = status if status is not None else ApplyStatus()
        return self.status

    def _set(self, kind: SnapStateKind) -> None:
        self.kind = kind
        self.status = None

    def is_applying(self) -> bool:
        return self.kind is SnapStateKind.APPLYING

    def check_applying_snap(self) -> CheckApplyingSnapStatus:
        """check_applying_snap: the first table of the module docstring."""
        if self.kind is not SnapStateKind.APPLYING or self.status is None:
            return CheckApplyingSnapStatus.IDLE
        s = self.status.load()
        if s == JobStatus.FINISHED:
            self._set(SnapStateKind.RELAX)
            return CheckApplyingSnapStatus.SUCCESS
        if s in (JobStatus.CANCELLED, JobStatus.FAILED):
            self._set(SnapStateKind.APPLY_ABORTED)
            return CheckApplyingSnapStatus.IDLE
        return CheckApplyingSnapStatus.APPLYING

    def cancel_applying_snap(self) -> bool:
        """cancel_applying_snap: the second table of the module docstring."""
        if self.kind is not SnapStateKind.APPLYING or self.status is None:
            return False
        if self.status.compare_exchange(JobStatus.PENDING, JobStatus.CANCELLING):
            self._set(SnapStateKind.APPLY_ABORTED)
            return True
        if self.status.compare_exchange(JobStatus.RUNNING, JobStatus.CANCELLING):
            return False
        return self.check_applying_snap() is not CheckApplyingSnapStatus.APPLYING

    def __repr__(self) -> str:
        return f"ApplySnapState({self.kind.name}, {self.status!r})"
