"""raftstore.raft.describe: short one-line descriptions of messages, entries and Readies for logs and tests.

Formats (fields that are zero or empty are left out unless noted)::

    describe_message:  "MsgAppend 1->2 term=3 log_term=2 index=5 commit=5 entries=[6..8]"
                       "MsgAppendResponse 2->1 term=3 index=8 rejected hint=4"
                       "MsgSnapshot 1->3 term=3 snapshot=10@3 voters=[1,2,3]"
    describe_entry:    "6@3 normal data=b'put x 1'"    "7@3 conf_change v2"    "8@3 conf_change_v2 v4 l5"
    describe_entries:  "[]"  "[6]"  "[6..8]" (contiguous indexes)  "[3 entries]" (proposals, no index)
    describe_ready:    "Ready#4 ss=leader(1) hs=term=2,vote=1,commit=3 entries=[4..6] committed=[3] msgs=2"

MsgAppend always shows log_term, index and commit (a commit of 0 is meaningful there).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence, Sized
from typing import Protocol, runtime_checkable

from google.protobuf.message import DecodeError

from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
)

__all__ = [
    "describe_message",
    "describe_entry",
    "describe_entries",
    "describe_ready",
    "describe_hard_state",
    "describe_conf_state",
    "describe_snapshot",
    "ReadyView",
    "LightReadyView",
]


# The views below are what describe_ready reads of raw_node's Ready, LightReady and raft's SoftState.
# describe depends on these shapes only, never on raw_node, which imports describe for its reprs.


class SoftStateView(Protocol):
    """SoftStateView: the role (an enum, shown by its name) and the known leader of a SoftState."""

    @property
    def raft_state(self) -> enum.Enum: ...

    @property
    def leader_id(self) -> int: ...


class ReadyView(Protocol):
    """ReadyView: the parts of a Ready that describe_ready shows."""

    @property
    def number(self) -> int: ...

    @property
    def ss(self) -> SoftStateView | None: ...

    @property
    def hs(self) -> HardState | None: ...

    @property
    def snapshot(self) -> Snapshot: ...

    @property
    def entries(self) -> Sequence[Entry]: ...

    @property
    def committed_entries(self) -> Sequence[Entry]: ...

    @property
    def read_states(self) -> Sized: ...

    @property
    def messages(self) -> Sized: ...

    @property
    def persisted_messages(self) -> Sized: ...

    @property
    def must_sync(self) -> bool: ...

    def has_snapshot(self) -> bool: ...


@runtime_checkable
class LightReadyView(Protocol):
    """LightReadyView: the parts of a LightReady that describe_ready shows; `commit_index`, which a
    Ready lacks, tells the two apart."""

    @property
    def commit_index(self) -> int | None: ...

    @property
    def committed_entries(self) -> Sequence[Entry]: ...

    @property
    def messages(self) -> Sized: ...


# _DATA_PREVIEW: the number of data bytes an entry description shows before eliding the rest.
_DATA_PREVIEW = 16

_ENTRY_KIND = {
    EntryType.EntryNormal: "normal",
    EntryType.EntryConfChange: "conf_change",
    EntryType.EntryConfChangeV2: "conf_change_v2",
}

_CHANGE_LETTER = {
    ConfChangeType.AddNode: "v",
    ConfChangeType.AddLearnerNode: "l",
    ConfChangeType.RemoveNode: "r",
}


def _preview(data: bytes) -> str:
    """_preview: a repr of at most _DATA_PREVIEW bytes of data, with the total length when elided."""
    if len(data) <= _DATA_PREVIEW:
        return repr(bytes(data))
    return f"{bytes(data[:_DATA_PREVIEW])!r}...({len(data)}B)"


def _ids(ids: Sequence[int]) -> str:
    """_ids: "[1,2,3]" for a list of node ids."""
    return "[" + ",".join(str(i) for i in ids) + "]"


def describe_conf_state(cs: ConfState) -> str:
    """describe_conf_state: "voters=[1,2] learners=[3]", plus the outgoing / next / auto_leave fields of
    a joint configuration when set."""
    parts = [f"voters={_ids(cs.voters)}"]
    if cs.learners:
        parts.append(f"learners={_ids(cs.learners)}")
    if cs.voters_outgoing:
        parts.append(f"voters_outgoing={_ids(cs.voters_outgoing)}")
    if cs.learners_next:
        parts.append(f"learners_next={_ids(cs.learners_next)}")
    if cs.auto_leave:
        parts.append("auto_leave")
    return " ".join(parts)


def describe_snapshot(snap: Snapshot) -> str:
    """describe_snapshot: "10@3 voters=[1,2,3]" (index@term and the conf state), "empty" for none."""
    md = snap.metadata
    if md.index == 0 and md.term == 0 and not snap.data:
        return "empty"
    s = f"{md.index}@{md.term} {describe_conf_state(md.conf_state)}"
    if snap.data:
        s += f" data={len(snap.data)}B"
    return s


def describe_hard_state(hs: HardState) -> str:
    """describe_hard_state: "term=2,vote=1,commit=3"."""
    return f"term={hs.term},vote={hs.vote},commit={hs.commit}"


def _describe_conf_change_data(entry_type: int, data: bytes) -> str:
    """_describe_conf_change_data: the changes of a conf change entry as "v2 l3 r1" (voter, learner,
    remove), with the transition of a V2 when not auto; "<undecodable>" when data is not a conf change."""
    try:
        if entry_type == EntryType.EntryConfChange:
            cc = ConfChange.FromString(data)
            return f"{_CHANGE_LETTER.get(cc.change_type, '?')}{cc.node_id}"
        cc2 = ConfChangeV2.FromString(data)
    except DecodeError:
        return "<undecodable>"
    if not cc2.changes and cc2.transition == ConfChangeTransition.Auto:
        return "leave_joint"
    s = " ".join(f"{_CHANGE_LETTER.get(c.change_type, '?')}{c.node_id}" for c in cc2.changes)
    if cc2.transition != ConfChangeTransition.Auto:
        s += f" transition={ConfChangeTransition.Name(cc2.transition).lower()}"
    return s


def describe_entry(e: Entry) -> str:
    """describe_entry: "index@term kind", then the decoded changes of a conf change, or data (first bytes)
    of a normal entry, and the context when set, e.g. "6@3 normal data=b'x'"."""
    kind = _ENTRY_KIND.get(e.entry_type, f"type{e.entry_type}")
    s = f"{e.index}@{e.term} {kind}"
    if e.entry_type in (EntryType.EntryConfChange, EntryType.EntryConfChangeV2):
        if e.data:
            s += " " + _describe_conf_change_data(e.entry_type, e.data)
    elif e.data:
        s += f" data={_preview(e.data)}"
    if e.context:
        s += f" context={_preview(e.context)}"
    return s


def describe_entries(entries: Sequence[Entry]) -> str:
    """describe_entries: "[]", "[6]", "[6..8]" when the indexes are contiguous and non-zero, otherwise
    "[n entries]" (e.g. proposals, which carry no index yet)."""
    n = len(entries)
    if n == 0:
        return "[]"
    first, last = entries[0].index, entries[-1].index
    if first != 0 and last - first + 1 == n:
        return f"[{first}]" if n == 1 else f"[{first}..{last}]"
    return f"[{n} entries]" if n != 1 else "[1 entry]"


def describe_message(m: Message) -> str:
    """describe_message: "Type from->to term=T" and the fields that matter for that message."""
    try:
        name = MessageType.Name(m.msg_type)
    except ValueError:
        name = f"Msg{m.msg_type}"
    parts = [f"{name} {m.from_}->{m.to} term={m.term}"]
    always = m.msg_type == MessageType.MsgAppend
    if m.log_term or always:
        parts.append(f"log_term={m.log_term}")
    if m.index or always:
        parts.append(f"index={m.index}")
    if m.commit or always:
        parts.append(f"commit={m.commit}")
    if m.commit_term:
        parts.append(f"commit_term={m.commit_term}")
    if m.entries:
        parts.append(f"entries={describe_entries(m.entries)}")
    if m.reject:
        parts.append("rejected")
        if m.reject_hint:
            parts.append(f"hint={m.reject_hint}")
    if m.HasField("snapshot"):
        parts.append(f"snapshot={describe_snapshot(m.snapshot)}")
    if m.request_snapshot:
        parts.append(f"request_snapshot={m.request_snapshot}")
    if m.priority:
        parts.append(f"priority={m.priority}")
    if m.context:
        parts.append(f"context={_preview(m.context)}")
    return " ".join(parts)


def _describe_soft_state(ss: SoftStateView) -> str:
    """_describe_soft_state: "leader(1)" — the role in lower case and the known leader id."""
    return f"{ss.raft_state.name.lower()}({ss.leader_id})"


def _describe_light_ready(rd: LightReadyView) -> str:
    """_describe_light_ready: "LightReady commit=4 committed=[3..4] msgs=2"."""
    parts = ["LightReady"]
    if rd.commit_index is not None:
        parts.append(f"commit={rd.commit_index}")
    if rd.committed_entries:
        parts.append(f"committed={describe_entries(rd.committed_entries)}")
    if rd.messages:
        parts.append(f"msgs={len(rd.messages)}")
    return " ".join(parts)


def describe_ready(rd: ReadyView | LightReadyView) -> str:
    """describe_ready: one line with the parts of a Ready (or LightReady) that are present, e.g.
    "Ready#4 ss=leader(1) hs=term=2,vote=1,commit=3 entries=[4..6] committed=[3] msgs=2 must_sync"."""
    if isinstance(rd, LightReadyView):
        return _describe_light_ready(rd)
    parts = [f"Ready#{rd.number}"]
    if rd.ss is not None:
        parts.append(f"ss={_describe_soft_state(rd.ss)}")
    if rd.hs is not None:
        parts.append(f"hs={describe_hard_state(rd.hs)}")
    if rd.has_snapshot():
        parts.append(f"snapshot={describe_snapshot(rd.snapshot)}")
    if rd.entries:
        parts.append(f"entries={describe_entries(rd.entries)}")
    if rd.committed_entries:
        parts.append(f"committed={describe_entries(rd.committed_entries)}")
    if rd.read_states:
        parts.append(f"read_states={len(rd.read_states)}")
    if rd.messages:
        parts.append(f"msgs={len(rd.messages)}")
    if rd.persisted_messages:
        parts.append(f"persisted_msgs={len(rd.persisted_messages)}")
    if rd.must_sync:
        parts.append("must_sync")
    return " ".join(parts)
