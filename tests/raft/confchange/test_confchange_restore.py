"""Tests of raftstore.raft.confchange.restore: rebuilding a tracker from a ConfState gives back that
ConfState (a property checked with hypothesis over random valid ConfStates, as etcd's restore
quickcheck does, plus fixed examples), and the translation into conf changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raftstore.raft import (
    ConfChangeError,
    ConfState,
    ProgressTracker,
    conf_state_eq,
    restore,
    stringify_conf_change,
)
from raftstore.raft.confchange import to_conf_change_single


def sorted_conf_state(cs: ConfState) -> ConfState:
    return ConfState(
        voters=sorted(cs.voters),
        learners=sorted(cs.learners),
        voters_outgoing=sorted(cs.voters_outgoing),
        learners_next=sorted(cs.learners_next),
        auto_leave=cs.auto_leave,
    )


def check_restore(cs: ConfState) -> None:
    """check_restore restores cs into an empty tracker and checks the tracker describes cs, with one
    Progress (at the given next index) per member."""
    tr = ProgressTracker(20)
    restore(tr, 10, cs)
    got = tr.conf().to_conf_state()
    assert got == sorted_conf_state(cs)
    assert conf_state_eq(got, cs) and conf_state_eq(cs, got)
    members = set(cs.voters) | set(cs.learners) | set(cs.voters_outgoing) | set(cs.learners_next)
    assert set(tr.progress) == members
    assert all(pr.next_idx == 10 and pr.ins.cap == 20 for _, pr in tr)


@pytest.mark.parametrize(
    "cs",
    [
        ConfState(),
        ConfState(voters=[1, 2, 3]),
        ConfState(voters=[1, 2, 3], learners=[4, 5, 6]),
        ConfState(voters=[1, 2, 3], learners=[5], voters_outgoing=[1, 2, 4, 6], learners_next=[4]),
        ConfState(voters=[3, 1], voters_outgoing=[2], auto_leave=True),
    ],
    ids=["empty", "voters", "learners", "joint-demotion", "joint-autoleave"],
)
def test_restore_examples(cs: ConfState) -> None:
    """restore reproduces simple, learner and joint configurations."""
    check_restore(cs)


@st.composite
def conf_states(draw: st.DrawFn) -> ConfState:
    """conf_states draws a valid non-empty ConfState: 1-5 voters, 0-4 learners, an outgoing half made
    of some of the voters plus 0-2 removed voters, some of those removed voters demoted to
    learners_next, and auto_leave only when joint. Ids are distinct and drawn from a range twice the
    number of members."""
    n_voters = draw(st.integers(1, 5))
    n_learners = draw(st.integers(0, 4))
    n_removed = draw(st.integers(0, 2))
    ids = draw(st.permutations(range(1, 2 * (n_voters + n_learners + n_removed) + 1)))
    voters = ids[:n_voters]
    learners = ids[n_voters : n_voters + n_learners]
    removed = ids[n_voters + n_learners : n_voters + n_learners + n_removed]
    retained = voters[: draw(st.integers(0, n_voters))]
    outgoing = list(retained) + list(removed)
    learners_next = removed[: draw(st.integers(0, n_removed))]
    auto_leave = bool(outgoing) and draw(st.booleans())
    return ConfState(
        voters=voters,
        learners=learners,
        voters_outgoing=outgoing,
        learners_next=learners_next,
        auto_leave=auto_leave,
    )


@given(conf_states())
def test_restore_quickcheck(cs: ConfState) -> None:
    """For any valid ConfState, restore gives a tracker whose ConfState is equivalent to it."""
    check_restore(cs)


def test_to_conf_change_single() -> None:
    """A joint ConfState becomes the outgoing voters added one by one, then one joint change that
    removes them and adds the voters, learners and learners_next."""
    cs = ConfState(voters=[1, 2, 3], learners=[5], voters_outgoing=[1, 2, 4, 6], learners_next=[4])
    outgoing, incoming = to_conf_change_single(cs)
    assert stringify_conf_change(outgoing) == "v1 v2 v4 v6"
    assert stringify_conf_change(incoming) == "r1 r2 r4 r6 v1 v2 v3 l5 l4"
    outgoing, incoming = to_conf_change_single(ConfState(voters=[2, 1], learners=[3]))
    assert outgoing == [] and stringify_conf_change(incoming) == "v2 v1 l3"


@pytest.mark.parametrize(
    "cs, message",
    [
        (ConfState(learners=[1]), "removed all voters"),
        (ConfState(voters=[1], learners=[1]), "removed all voters"),
        (ConfState(voters_outgoing=[1, 2]), "removed all voters"),
    ],
)
def test_restore_invalid(cs: ConfState, message: str) -> None:
    """A ConfState that is no valid configuration raises ConfChangeError."""
    with pytest.raises(ConfChangeError, match=message):
        restore(ProgressTracker(20), 10, cs)
