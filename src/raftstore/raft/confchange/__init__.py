"""raftstore.raft.confchange: configuration changes (raft-rs's `confchange` module and raft-proto's
conf change helpers).

`Changer` validates simple and joint changes and computes the resulting Configuration and progress map
changes; `restore` rebuilds a configuration from a ConfState; the helpers build, parse, print and
convert ConfChange messages.
"""

from __future__ import annotations

from .changer import Changer, IncrChangeMap, check_invariants, joint
from .conf_change import (
    ConfChangeParseError,
    as_v1,
    as_v2,
    enter_joint,
    into_v2,
    leave_joint,
    new_conf_change_single,
    parse_conf_change,
    stringify_conf_change,
)
from .conf_state import conf_state_eq
from .restore import restore, to_conf_change_single

__all__ = [
    "Changer",
    "IncrChangeMap",
    "check_invariants",
    "joint",
    "ConfChangeParseError",
    "as_v1",
    "as_v2",
    "enter_joint",
    "into_v2",
    "leave_joint",
    "new_conf_change_single",
    "parse_conf_change",
    "stringify_conf_change",
    "conf_state_eq",
    "restore",
    "to_conf_change_single",
]
