"""single_mem_node: one Raft node on a MemStorage, driven by a deterministic loop (after raft-rs's
examples/single_mem_node).

The loop plays the role of raft-rs's "recv with a 100 ms timeout" thread: each iteration is one
simulated 10 ms step; every 10 steps the node ticks. A client proposes a few commands, each with a
callback that runs once the command is committed and applied. Run: `python examples/single_mem_node.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from raftstore.raft import (
    ConfState,
    Config,
    Entry,
    EntryType,
    MemStorage,
    Message,
    ProposalDroppedError,
    RawNode,
    describe_ready,
)

# STEPS_PER_TICK: simulated 10 ms steps between two ticks (raft-rs's example ticks every 100 ms).
STEPS_PER_TICK = 10

ProposeCallback = Callable[[], None]


def on_ready(
    node: RawNode, store: MemStorage, cbs: dict[int, ProposeCallback], log: list[str], now_ms: int
) -> None:
    """on_ready handles one Ready in the order raft-rs documents: send messages, apply a snapshot,
    apply committed entries, persist entries and hard state, send persisted messages, advance, then
    handle the LightReady."""
    if not node.has_ready():
        return
    rd = node.ready()
    log.append(f"[{now_ms} ms] {describe_ready(rd)}")

    def handle_messages(msgs: list[Message]) -> None:
        # handle_messages: a single node has nobody to talk to.
        for _ in msgs:
            pass

    def handle_committed_entries(entries: list[Entry]) -> None:
        for entry in entries:
            if not entry.data:
                # An empty entry: a new leader appends one at the start of its term.
                continue
            if entry.entry_type == EntryType.EntryNormal:
                cb = cbs.pop(entry.data[0], None)
                if cb is not None:
                    cb()

    handle_messages(rd.take_messages())
    if rd.has_snapshot():
        store.wl().apply_snapshot(rd.snapshot)
    handle_committed_entries(rd.take_committed_entries())
    if rd.entries:
        store.wl().append(rd.entries)
    if rd.hs is not None:
        store.wl().set_hardstate(rd.hs)
    handle_messages(rd.take_persisted_messages())

    light = node.advance(rd)
    if light.commit_index is not None:
        store.wl().mut_hard_state().commit = light.commit_index
    handle_messages(light.take_messages())
    handle_committed_entries(light.take_committed_entries())
    node.advance_apply()


def main() -> None:
    """main: build the node, propose five commands at simulated 1.0 s, 1.1 s, ... and run until all of
    them were applied; print what happened."""
    store = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    cfg = Config(
        1,
        election_tick=10,
        heartbeat_tick=3,
        max_size_per_msg=1024 * 1024 * 1024,
        max_inflight_msgs=256,
        applied=0,
    )
    node = RawNode(cfg, store, seed=1)

    cbs: dict[int, ProposeCallback] = {}
    log: list[str] = []
    done: list[int] = []
    # schedule: step at which the client sends a command -> command id (from 3 s on, when the node
    # has surely won its first election: its randomized timeout is below 20 ticks = 2 s).
    schedule = {300 + 10 * i: i + 1 for i in range(5)}
    retry: list[int] = []

    step = 0

    def make_callback(cid: int) -> ProposeCallback:
        """make_callback: the client's callback for command cid (runs when cid is applied)."""

        def cb() -> None:
            done.append(cid)
            log.append(f"[{step * 10} ms] callback: command {cid} applied")

        return cb

    while len(done) < len(schedule) and step < 10_000:
        step += 1
        cid = schedule.get(step)
        if cid is not None:
            retry.append(cid)
        while retry:
            cid = retry[0]
            try:
                node.propose(b"", bytes([cid]))
            except ProposalDroppedError:
                # No leader yet: the client tries again at the next step.
                break
            retry.pop(0)
            log.append(f"[{step * 10} ms] client proposes command {cid}")
            cbs[cid] = make_callback(cid)
        if step % STEPS_PER_TICK == 0:
            node.tick()
        on_ready(node, store, cbs, log, step * 10)

    for line in log:
        print(line)
    st = node.status()
    print(
        f"done after {step * 10} simulated ms: role={st.ss.raft_state.name if st.ss else '?'} "
        f"term={st.hs.term} commit={st.hs.commit} applied={st.applied} "
        f"last_index={store.last_index()} commands applied={done}"
    )
    assert done == [1, 2, 3, 4, 5], done


if __name__ == "__main__":
    main()
