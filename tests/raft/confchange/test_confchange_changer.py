"""Tests of raftstore.raft.confchange: the scenarios of raft-rs's confchange datadriven tests (simple
and joint changes: safety, idempotency, promotion/demotion, learners_next, autoleave, node id zero)
replayed through Changer and ProgressTracker.apply_conf, and the conf change helpers of raft-proto."""

from __future__ import annotations

import pytest

from raftstore.raft import (
    Changer,
    ConfChange,
    ConfChangeError,
    ConfChangeParseError,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    ProgressTracker,
    as_v1,
    as_v2,
    conf_state_eq,
    into_v2,
    new_conf_change_single,
    parse_conf_change,
    stringify_conf_change,
)
from raftstore.raft.confchange import enter_joint, joint, leave_joint

# A step is (command, changes, expected): command is "simple", "enter-joint", "enter-joint autoleave"
# or "leave-joint"; changes use parse_conf_change's syntax; expected is the error message, or the
# configuration followed by one line per tracked peer ("id: state match=M next=N [learner]").
Step = tuple[str, str, str]


def render(tr: ProgressTracker) -> str:
    conf = tr.conf()
    lines = [str(conf)]
    for id, pr in sorted(tr.progress.items()):
        line = f"{id}: {pr.state} match={pr.matched} next={pr.next_idx}"
        if id in conf.learners:
            line += " learner"
        lines.append(line)
    return "\n".join(lines)


def run(steps: list[Step]) -> None:
    """run replays steps on a fresh tracker; the n-th step (0-based, failed steps included) creates
    its Progresses with next index n, which shows in which step a peer was added."""
    tr = ProgressTracker(10)
    for idx, (command, changes, want) in enumerate(steps):
        ccs = parse_conf_change(changes)
        changer = Changer(tr)
        try:
            if command == "simple":
                cfg, chg = changer.simple(ccs)
            elif command == "enter-joint":
                cfg, chg = changer.enter_joint(False, ccs)
            elif command == "enter-joint autoleave":
                cfg, chg = changer.enter_joint(True, ccs)
            elif command == "leave-joint":
                assert not ccs
                cfg, chg = changer.leave_joint()
            else:
                raise AssertionError(f"unknown command {command}")
        except ConfChangeError as e:
            got = str(e)
        else:
            tr.apply_conf(cfg, chg, idx)
            got = render(tr)
        assert got == want, f"step {idx}: {command} {changes}"


def out(*lines: str) -> str:
    return "\n".join(lines)


SCENARIOS: dict[str, list[Step]] = {
    # autoleave is recorded when entering the joint state and cleared when leaving it.
    "joint_autoleave": [
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        (
            "enter-joint autoleave",
            "v2 v3",
            out(
                "voters=(1 2 3)&&(1) autoleave",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
                "3: StateProbe match=0 next=1",
            ),
        ),
        ("enter-joint", "", "config is already joint"),
        (
            "leave-joint",
            "",
            out(
                "voters=(1 2 3)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
                "3: StateProbe match=0 next=1",
            ),
        ),
    ],
    # Repeated and contradictory operations in one joint change: the last one for a node wins, removing
    # an absent node is a no-op.
    "joint_idempotency": [
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        (
            "enter-joint",
            "r1 r2 r9 v2 v3 v4 v2 v3 v4 l2 l2 r4 r4 l1 l1",
            out(
                "voters=(3)&&(1) learners=(2) learners_next=(1)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1 learner",
                "3: StateProbe match=0 next=1",
            ),
        ),
        (
            "leave-joint",
            "",
            out(
                "voters=(3) learners=(1 2)",
                "1: StateProbe match=0 next=0 learner",
                "2: StateProbe match=0 next=1 learner",
                "3: StateProbe match=0 next=1",
            ),
        ),
    ],
    # A voter demoted in a joint change waits in learners_next, and keeps its Progress (next=0 shows
    # it was created in step 0) when it becomes a learner on leaving.
    "joint_learners_next": [
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        (
            "enter-joint",
            "v2 l1",
            out(
                "voters=(2)&&(1) learners_next=(1)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
            ),
        ),
        (
            "leave-joint",
            "",
            out(
                "voters=(2) learners=(1)",
                "1: StateProbe match=0 next=0 learner",
                "2: StateProbe match=0 next=1",
            ),
        ),
    ],
    # Joint changes are refused on an empty or already joint config, leaving needs a joint config.
    "joint_safety": [
        ("leave-joint", "", "can't leave a non-joint config"),
        ("enter-joint", "", "can't make a zero-voter config joint"),
        ("enter-joint", "v1", "can't make a zero-voter config joint"),
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=3")),
        ("leave-joint", "", "can't leave a non-joint config"),
        ("enter-joint", "", out("voters=(1)&&(1)", "1: StateProbe match=0 next=3")),
        ("enter-joint", "", "config is already joint"),
        ("leave-joint", "", out("voters=(1)", "1: StateProbe match=0 next=3")),
        ("leave-joint", "", "can't leave a non-joint config"),
        (
            "enter-joint",
            "r1 v2 v3 l4",
            out(
                "voters=(2 3)&&(1) learners=(4)",
                "1: StateProbe match=0 next=3",
                "2: StateProbe match=0 next=9",
                "3: StateProbe match=0 next=9",
                "4: StateProbe match=0 next=9 learner",
            ),
        ),
        ("enter-joint", "", "config is already joint"),
        ("enter-joint", "v12", "config is already joint"),
        ("simple", "l15", "can't apply simple config change in joint config"),
        (
            "leave-joint",
            "",
            out(
                "voters=(2 3) learners=(4)",
                "2: StateProbe match=0 next=9",
                "3: StateProbe match=0 next=9",
                "4: StateProbe match=0 next=9 learner",
            ),
        ),
        (
            "simple",
            "l9",
            out(
                "voters=(2 3) learners=(4 9)",
                "2: StateProbe match=0 next=9",
                "3: StateProbe match=0 next=9",
                "4: StateProbe match=0 next=9 learner",
                "9: StateProbe match=0 next=14 learner",
            ),
        ),
    ],
    # Repeating a simple change is a no-op, and keeps existing Progresses.
    "simple_idempotency": [
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        (
            "simple",
            "v2",
            out("voters=(1 2)", "1: StateProbe match=0 next=0", "2: StateProbe match=0 next=2"),
        ),
        (
            "simple",
            "l1",
            out(
                "voters=(2) learners=(1)",
                "1: StateProbe match=0 next=0 learner",
                "2: StateProbe match=0 next=2",
            ),
        ),
        (
            "simple",
            "l1",
            out(
                "voters=(2) learners=(1)",
                "1: StateProbe match=0 next=0 learner",
                "2: StateProbe match=0 next=2",
            ),
        ),
        ("simple", "r1", out("voters=(2)", "2: StateProbe match=0 next=2")),
        ("simple", "r1", out("voters=(2)", "2: StateProbe match=0 next=2")),
        (
            "simple",
            "v3",
            out("voters=(2 3)", "2: StateProbe match=0 next=2", "3: StateProbe match=0 next=7"),
        ),
        ("simple", "r3", out("voters=(2)", "2: StateProbe match=0 next=2")),
        ("simple", "r3", out("voters=(2)", "2: StateProbe match=0 next=2")),
        ("simple", "r4", out("voters=(2)", "2: StateProbe match=0 next=2")),
    ],
    # Voters can be demoted and learners promoted one at a time (even back and forth in one change).
    "simple_promote_demote": [
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=0")),
        (
            "simple",
            "v2",
            out("voters=(1 2)", "1: StateProbe match=0 next=0", "2: StateProbe match=0 next=1"),
        ),
        (
            "simple",
            "v3",
            out(
                "voters=(1 2 3)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
                "3: StateProbe match=0 next=2",
            ),
        ),
        (
            "simple",
            "l1 v1",
            out(
                "voters=(1 2 3)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
                "3: StateProbe match=0 next=2",
            ),
        ),
        (
            "simple",
            "l2",
            out(
                "voters=(1 3) learners=(2)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1 learner",
                "3: StateProbe match=0 next=2",
            ),
        ),
        (
            "simple",
            "v2 l2",
            out(
                "voters=(1 3) learners=(2)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1 learner",
                "3: StateProbe match=0 next=2",
            ),
        ),
        (
            "simple",
            "v2",
            out(
                "voters=(1 2 3)",
                "1: StateProbe match=0 next=0",
                "2: StateProbe match=0 next=1",
                "3: StateProbe match=0 next=2",
            ),
        ),
    ],
    # A simple change may change at most one voter and must leave at least one.
    "simple_safety": [
        ("simple", "l1", "removed all voters"),
        ("simple", "v1", out("voters=(1)", "1: StateProbe match=0 next=1")),
        (
            "simple",
            "v2 l3",
            out(
                "voters=(1 2) learners=(3)",
                "1: StateProbe match=0 next=1",
                "2: StateProbe match=0 next=2",
                "3: StateProbe match=0 next=2 learner",
            ),
        ),
        ("simple", "r1 v5", "more than one voter changed without entering joint config"),
        ("simple", "r1 r2", "removed all voters"),
        ("simple", "v3 v4", "more than one voter changed without entering joint config"),
        ("simple", "l1 v5", "more than one voter changed without entering joint config"),
        ("simple", "l1 l2", "removed all voters"),
        (
            "simple",
            "l2 l3 l4 l5",
            out(
                "voters=(1) learners=(2 3 4 5)",
                "1: StateProbe match=0 next=1",
                "2: StateProbe match=0 next=2 learner",
                "3: StateProbe match=0 next=2 learner",
                "4: StateProbe match=0 next=8 learner",
                "5: StateProbe match=0 next=8 learner",
            ),
        ),
        ("simple", "r1", "removed all voters"),
        ("simple", "r2 r3 r4 r5", out("voters=(1)", "1: StateProbe match=0 next=1")),
    ],
    # Changes of node id 0 are ignored.
    "zero": [
        ("simple", "v1 r0 v0 l0", out("voters=(1)", "1: StateProbe match=0 next=0")),
    ],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_conf_change_scenario(name: str) -> None:
    """Each scenario's steps give the expected configuration and progress map, or error message."""
    run(SCENARIOS[name])


def test_changer_does_not_modify_tracker() -> None:
    """Changer only computes: the tracker is unchanged until apply_conf, even on errors."""
    tr = ProgressTracker(10)
    cfg, chg = Changer(tr).simple(parse_conf_change("v1"))
    tr.apply_conf(cfg, chg, 1)
    before = tr.clone()
    Changer(tr).enter_joint(True, parse_conf_change("v2 v3 l1"))
    with pytest.raises(ConfChangeError):
        Changer(tr).simple(parse_conf_change("v2 v3"))
    assert tr.conf() == before.conf() and tr.progress == before.progress


def test_changer_rejects_broken_tracker() -> None:
    """The tracker's own state is checked first: a voter without a Progress is an error."""
    tr = ProgressTracker(10)
    cfg, chg = Changer(tr).simple(parse_conf_change("v1"))
    tr.apply_conf(cfg, chg, 1)
    del tr.progress[1]
    with pytest.raises(ConfChangeError, match="no progress for voter 1"):
        Changer(tr).simple(parse_conf_change("v2"))
    assert joint(tr.conf()) is False


# --------------------------------------------------------------------------------- conf change helpers


def test_new_conf_change_single() -> None:
    """new_conf_change_single sets the node and type."""
    cc = new_conf_change_single(3, ConfChangeType.AddLearnerNode)
    assert cc == ConfChangeSingle(node_id=3, change_type=ConfChangeType.AddLearnerNode)


def test_parse_and_stringify_conf_change() -> None:
    """parse_conf_change reads vN/lN/rN tokens; stringify_conf_change is its inverse."""
    assert parse_conf_change("") == [] and parse_conf_change("  \n ") == []
    ccs = parse_conf_change(" v1  l2\tr3 ")
    assert [(cc.change_type, cc.node_id) for cc in ccs] == [
        (ConfChangeType.AddNode, 1),
        (ConfChangeType.AddLearnerNode, 2),
        (ConfChangeType.RemoveNode, 3),
    ]
    assert stringify_conf_change(ccs) == "v1 l2 r3"
    assert stringify_conf_change([]) == ""
    assert parse_conf_change(stringify_conf_change(ccs)) == ccs


@pytest.mark.parametrize(
    "text, message",
    [
        ("v", "unknown token v"),
        ("v1 x2", "unknown token x2"),
        ("va", "parse token va fail: invalid digit found in string"),
        ("v-1", "parse token v-1 fail: invalid digit found in string"),
        (
            "v18446744073709551616",
            "parse token v18446744073709551616 fail: number too large to fit in target type",
        ),
    ],
)
def test_parse_conf_change_errors(text: str, message: str) -> None:
    """Bad tokens raise ConfChangeParseError (a ConfChangeError and a ValueError) with raft-rs's text."""
    with pytest.raises(ConfChangeParseError) as info:
        parse_conf_change(text)
    assert str(info.value) == message
    assert isinstance(info.value, ConfChangeError) and isinstance(info.value, ValueError)


def test_conf_change_v1_to_v2() -> None:
    """A ConfChange converts to a one-change ConfChangeV2 keeping its context; a ConfChangeV2 is
    itself; only a ConfChange has a v1 form."""
    v1 = ConfChange(id=7, change_type=ConfChangeType.RemoveNode, node_id=4, context=b"ctx")
    v2 = into_v2(v1)
    assert v2 == ConfChangeV2(
        changes=[ConfChangeSingle(node_id=4, change_type=ConfChangeType.RemoveNode)], context=b"ctx"
    )
    assert as_v2(v1) == v2 and as_v1(v1) is v1
    assert into_v2(v2) is v2 and as_v2(v2) is v2 and as_v1(v2) is None


@pytest.mark.parametrize(
    "transition, n_changes, want_enter, want_leave",
    [
        (ConfChangeTransition.Auto, 0, None, True),
        (ConfChangeTransition.Auto, 1, None, False),
        (ConfChangeTransition.Auto, 2, True, False),
        (ConfChangeTransition.Implicit, 0, True, False),
        (ConfChangeTransition.Implicit, 1, True, False),
        (ConfChangeTransition.Explicit, 1, False, False),
        (ConfChangeTransition.Explicit, 2, False, False),
    ],
)
def test_conf_change_v2_enter_leave_joint(
    transition: ConfChangeTransition,
    n_changes: int,
    want_enter: bool | None,
    want_leave: bool,
) -> None:
    """enter_joint is None for a simple change, else whether to leave automatically (not Explicit);
    leave_joint is an Auto change without changes (whatever its context)."""
    cc = ConfChangeV2(transition=transition, context=b"x")
    for i in range(n_changes):
        cc.changes.append(new_conf_change_single(i + 1, ConfChangeType.AddNode))
    assert enter_joint(cc) == want_enter
    assert leave_joint(cc) == want_leave


def test_conf_state_eq() -> None:
    """conf_state_eq ignores the order of ids but not membership or auto_leave."""
    a = ConfState(
        voters=[1, 2, 3], learners=[4], voters_outgoing=[1, 2], learners_next=[5], auto_leave=True
    )
    b = ConfState(
        voters=[3, 1, 2], learners=[4], voters_outgoing=[2, 1], learners_next=[5], auto_leave=True
    )
    assert conf_state_eq(a, b) and conf_state_eq(b, a) and conf_state_eq(a, a)
    c = ConfState()
    c.CopyFrom(b)
    c.auto_leave = False
    assert not conf_state_eq(a, c)
    d = ConfState()
    d.CopyFrom(b)
    d.learners.append(6)
    assert not conf_state_eq(a, d)
    assert not conf_state_eq(ConfState(voters=[1]), ConfState(learners=[1]))
