"""Apply job statuses and the peer's snapshot state: TiKV's test_canceling_apply_snapshot and
test_try_finish_snapshot as tables, and the transition table of ApplyStatus."""

from __future__ import annotations

import pytest

from raftstore.store.snap import (
    TRANSITIONS,
    ApplySnapState,
    ApplyStatus,
    CheckApplyingSnapStatus,
    JobStatus,
    SnapStateKind,
    SnapStatusError,
)

APPLYING, SUCCESS, IDLE = CheckApplyingSnapStatus.APPLYING, CheckApplyingSnapStatus.SUCCESS, CheckApplyingSnapStatus.IDLE
RELAX, ABORTED, APPLYING_STATE = SnapStateKind.RELAX, SnapStateKind.APPLY_ABORTED, SnapStateKind.APPLYING


def applying(status: JobStatus) -> ApplySnapState:
    state = ApplySnapState()
    state.set_applying(ApplyStatus(status))
    return state


@pytest.mark.parametrize(
    "status, result, kind, status_after",
    [
        (JobStatus.PENDING, True, ABORTED, None),  # PENDING can be canceled directly
        (JobStatus.RUNNING, False, APPLYING_STATE, JobStatus.CANCELLING),  # RUNNING can't be canceled directly
        (JobStatus.CANCELLING, False, APPLYING_STATE, JobStatus.CANCELLING),  # can't be canceled again
        (JobStatus.CANCELLED, True, ABORTED, None),
        (JobStatus.FINISHED, True, RELAX, None),
        (JobStatus.FAILED, True, ABORTED, None),
    ],
)
def test_canceling_apply_snapshot(
    status: JobStatus, result: bool, kind: SnapStateKind, status_after: JobStatus | None
) -> None:
    state = applying(status)
    job = state.status
    assert state.cancel_applying_snap() is result
    assert state.kind is kind
    assert (state.status.load() if state.status is not None else None) == status_after
    if status == JobStatus.PENDING:
        assert job is not None and job.load() == JobStatus.CANCELLING  # the worker sees the cancel


def test_running_job_cancelled_twice() -> None:
    state = applying(JobStatus.RUNNING)
    assert state.cancel_applying_snap() is False
    assert state.cancel_applying_snap() is False
    assert state.status is not None and state.status.load() == JobStatus.CANCELLING


@pytest.mark.parametrize(
    "status, result, kind",
    [
        (JobStatus.PENDING, APPLYING, APPLYING_STATE),
        (JobStatus.RUNNING, APPLYING, APPLYING_STATE),
        (JobStatus.CANCELLING, APPLYING, APPLYING_STATE),
        (JobStatus.CANCELLED, IDLE, ABORTED),
        (JobStatus.FINISHED, SUCCESS, RELAX),
        (JobStatus.FAILED, IDLE, ABORTED),
    ],
)
def test_try_finish_snapshot(status: JobStatus, result: CheckApplyingSnapStatus, kind: SnapStateKind) -> None:
    state = applying(status)
    assert state.check_applying_snap() is result
    assert state.kind is kind
    if kind is not APPLYING_STATE:
        # Relax and ApplyAborted are not applying: checking again is idle and changes nothing
        assert state.check_applying_snap() is IDLE
        assert state.kind is kind
        assert state.cancel_applying_snap() is False


@pytest.mark.parametrize("old", list(JobStatus))
@pytest.mark.parametrize("new", list(JobStatus))
def test_transition_table(old: JobStatus, new: JobStatus) -> None:
    allowed = {
        (JobStatus.PENDING, JobStatus.RUNNING),
        (JobStatus.PENDING, JobStatus.CANCELLING),
        (JobStatus.RUNNING, JobStatus.CANCELLING),
        (JobStatus.RUNNING, JobStatus.FINISHED),
        (JobStatus.RUNNING, JobStatus.FAILED),
        (JobStatus.CANCELLING, JobStatus.CANCELLED),
        (JobStatus.CANCELLING, JobStatus.FINISHED),
        (JobStatus.CANCELLING, JobStatus.FAILED),
    }
    assert (new in TRANSITIONS[old]) == ((old, new) in allowed)
    status = ApplyStatus(old)
    if (old, new) in allowed:
        assert status.swap(new) == old
        assert status.load() == new
    else:
        with pytest.raises(SnapStatusError, match=f"from {old.name} to {new.name}"):
            status.swap(new)
        assert status.load() == old
    assert ApplyStatus(old).compare_exchange(JobStatus.FAILED if old != JobStatus.FAILED else JobStatus.PENDING, new) is False
