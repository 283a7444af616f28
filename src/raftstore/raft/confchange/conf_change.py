"""raftstore.raft.confchange.conf_change: helpers over ConfChange messages (raft-proto's confchange.rs).

`new_conf_change_single`, the text form of change lists (`parse_conf_change` / `stringify_conf_change`:
`v1` makes 1 a voter, `l2` makes 2 a learner, `r3` removes 3), and raft-rs's ConfChangeI as functions:
`into_v2`, `as_v2`, `as_v1`, plus ConfChangeV2's `enter_joint` and `leave_joint`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ...proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
)
from ..errors import ConfChangeError
from ..util import NO_LIMIT

__all__ = [
    "ConfChangeParseError",
    "new_conf_change_single",
    "parse_conf_change",
    "stringify_conf_change",
    "into_v2",
    "as_v2",
    "as_v1",
    "enter_joint",
    "leave_joint",
]


class ConfChangeParseError(ConfChangeError, ValueError):
    """ConfChangeParseError: parse_conf_change met a bad token (raft-rs returns the message as Err)."""


def new_conf_change_single(node_id: int, change_type: ConfChangeType) -> ConfChangeSingle:
    """new_conf_change_single is a ConfChangeSingle of the given node and type."""
    return ConfChangeSingle(node_id=node_id, change_type=change_type)


_TYPE_OF_LETTER: dict[str, ConfChangeType] = {
    "v": ConfChangeType.AddNode,
    "l": ConfChangeType.AddLearnerNode,
    "r": ConfChangeType.RemoveNode,
}
_LETTER_OF_TYPE: dict[int, str] = {int(t): c for c, t in _TYPE_OF_LETTER.items()}
# _ASCII_WHITESPACE is what Rust's split_ascii_whitespace splits on.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\x0c\r]+")


def _parse_u64(s: str) -> int:
    # _parse_u64 parses as Rust's u64::from_str does (optional '+', ASCII digits), with its messages.
    if not s:
        raise ValueError("cannot parse integer from empty string")
    digits = s[1:] if s[0] == "+" else s
    if not digits or not all("0" <= c <= "9" for c in digits):
        raise ValueError("invalid digit found in string")
    value = int(digits)
    if value > NO_LIMIT:
        raise ValueError("number too large to fit in target type")
    return value


def parse_conf_change(s: str) -> list[ConfChangeSingle]:
    """parse_conf_change parses a whitespace-separated list of operations (`vN`, `lN`, `rN`) into
    ConfChangeSingles. Raises ConfChangeParseError with raft-rs's message for a bad token."""
    s = s.strip()
    if not s:
        return []
    ccs: list[ConfChangeSingle] = []
    for tok in _ASCII_WHITESPACE.split(s):
        if not tok:
            continue
        if len(tok.encode("utf-8")) < 2:
            raise ConfChangeParseError(f"unknown token {tok}")
        change_type = _TYPE_OF_LETTER.get(tok[0])
        if change_type is None:
            raise ConfChangeParseError(f"unknown token {tok}")
        try:
            node_id = _parse_u64(tok[1:])
        except ValueError as e:
            raise ConfChangeParseError(f"parse token {tok} fail: {e}") from None
        ccs.append(ConfChangeSingle(node_id=node_id, change_type=change_type))
    return ccs


def stringify_conf_change(ccs: Sequence[ConfChangeSingle]) -> str:
    """stringify_conf_change is the inverse of parse_conf_change (e.g. "v1 l2 r3")."""
    parts: list[str] = []
    for cc in ccs:
        letter = _LETTER_OF_TYPE.get(int(cc.change_type))
        if letter is None:
            raise ConfChangeError(f"unknown conf change type {cc.change_type}")
        parts.append(f"{letter}{cc.node_id}")
    return " ".join(parts)


def into_v2(cc: ConfChange | ConfChangeV2) -> ConfChangeV2:
    """into_v2 is cc as a ConfChangeV2: a ConfChangeV2 is returned as is (not copied); a ConfChange
    becomes a new ConfChangeV2 with its one change and its context (its `id` is dropped)."""
    if isinstance(cc, ConfChangeV2):
        return cc
    v2 = ConfChangeV2(context=cc.context)
    v2.changes.append(new_conf_change_single(cc.node_id, cc.change_type))
    return v2


def as_v2(cc: ConfChange | ConfChangeV2) -> ConfChangeV2:
    """as_v2 is into_v2 (raft-rs borrows a V2 and converts a V1 into a new message)."""
    return into_v2(cc)


def as_v1(cc: ConfChange | ConfChangeV2) -> ConfChange | None:
    """as_v1 is cc if it is a (legacy) ConfChange, None for a ConfChangeV2 (which cannot go back)."""
    if isinstance(cc, ConfChange):
        return cc
    return None


def enter_joint(cc: ConfChangeV2) -> bool | None:
    """enter_joint tells whether cc uses joint consensus: None if not (one change, Auto transition);
    else whether the joint state is left automatically (False only for the Explicit transition)."""
    transition = cc.transition
    if transition != ConfChangeTransition.Auto or len(cc.changes) > 1:
        return transition != ConfChangeTransition.Explicit
    return None


def leave_joint(cc: ConfChangeV2) -> bool:
    """leave_joint tells whether cc leaves a joint configuration: an Auto transition with no changes
    (the context does not matter)."""
    return cc.transition == ConfChangeTransition.Auto and len(cc.changes) == 0
