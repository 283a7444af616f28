"""raftstore.failpoints: named points in the code where a test can inject a failure (TiKV's fail-rs, small).

Off by default. A call site reads::

    failpoints.fail_point("apply_snap_before_normal")

which costs one function call and one test of the module-level bool ENABLED while no failpoint is
configured; with ENABLED set it is a dict lookup. Actions:

    panic      raise FailpointPanic (an Exception: the caller's error handling sees it)
    kill       SIGKILL the process at once (crash tests: nothing after the point runs, no cleanup)
    sleep(ms)  sleep that many milliseconds, then go on
    return     fail_point returns True (fail-rs's return: the call site takes its failure branch,
               `if failpoints.fail_point("name"): ...`; only the chaos bug-injection check uses it)
    off        do nothing (the same as not configured)

Configure with `cfg(name, action)` / `remove(name)` / `teardown()`, or from the environment at import:
RAFTSTORE_FAILPOINTS="name=action;name=action" (what a crash-test child process uses).
"""

from __future__ import annotations

import os
import signal
import time

__all__ = ["ENV_VAR", "FailpointPanic", "fail_point", "cfg", "remove", "teardown", "load_env", "ENABLED"]

ENV_VAR = "RAFTSTORE_FAILPOINTS"

# ENABLED: whether any failpoint is configured; fail_point returns at once while it is False.
ENABLED = False
_actions: dict[str, str] = {}


class FailpointPanic(Exception):
    """FailpointPanic: a failpoint configured with "panic" was hit; the operation stopped at that point.

    State is whatever the code before the point left (that is the point of it); the test decides what
    happens next, typically a restart that must finish or undo the operation.
    """


def fail_point(name: str) -> bool:
    """fail_point runs the action configured for name, if any (see the module docstring); True only
    for "return"."""
    if not ENABLED:
        return False
    action = _actions.get(name)
    if action is not None:
        _run(name, action)
    return action == "return"


def _run(name: str, action: str) -> None:
    if action == "panic":
        raise FailpointPanic(f"failpoint {name} panic")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if action.startswith("sleep(") and action.endswith(")"):
        time.sleep(int(action[6:-1]) / 1000)


def _check(action: str) -> None:
    if action in ("panic", "kill", "return", "off"):
        return
    if action.startswith("sleep(") and action.endswith(")") and action[6:-1].isdigit():
        return
    raise ValueError(f"unknown failpoint action {action!r} (panic, kill, sleep(ms), return, off)")


def cfg(name: str, action: str) -> None:
    """cfg sets the action of failpoint name ("off" removes it); a malformed action raises ValueError."""
    global ENABLED
    _check(action)
    if action == "off":
        _actions.pop(name, None)
    else:
        _actions[name] = action
    ENABLED = bool(_actions)


def remove(name: str) -> None:
    """remove turns failpoint name off."""
    cfg(name, "off")


def teardown() -> None:
    """teardown turns every failpoint off."""
    global ENABLED
    _actions.clear()
    ENABLED = False


def load_env(value: str | None = None) -> None:
    """load_env configures the failpoints listed in value (default: the RAFTSTORE_FAILPOINTS variable)."""
    spec = os.environ.get(ENV_VAR, "") if value is None else value
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        name, sep, action = item.partition("=")
        if not sep:
            raise ValueError(f"{ENV_VAR}: {item!r} is not name=action")
        cfg(name.strip(), action.strip())


load_env()
