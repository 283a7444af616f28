"""crash_child: the process that test_crash.py kills. Not a test module (pytest does not collect it).

Usage: python -m tests.store.crash_child DB_DIR REGIONS SEED MAX_ROUNDS

Opens RocksDB engines in DB_DIR, bootstraps regions 1..REGIONS that have no state yet (or reopens them,
which validates their persisted states), then runs write rounds until MAX_ROUNDS or until it is killed.
Each round picks several regions; for each it appends entries at the end of the log (sometimes in a new
term), sometimes commits up to an index persisted in an earlier round, and sometimes applies up to the
commit and compacts (compact_to, whose log GC rides in the same round). The whole round goes through one
write_tasks call.

Protocol on stdout, one line each, flushed:
  S <rid> <last> <last_term> <trunc> <trunc_term> <commit> <hs_term>   state of a region at start
  READY                                                                  start-up done
  I <round> <json>    before write_tasks: {rid: [first_new, last, term, trunc, trunc_term, commit, hs_term]}
                      (first_new 0: no entries appended; term: theirs); from here the round may be durable
  D <round>           write_tasks returned: the round is durable
Entry data is entry_data(rid, index, term), so the parent can check contents as well as terms.
"""

from __future__ import annotations

import json
import random
import sys

from raftstore.engine.engines import open_engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.proto.metapb_pb2 import Peer, Region
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_tasks

STORE_ID = 1


def peer_id(rid: int) -> int:
    return 100 + rid


def region_of(rid: int) -> Region:
    """region_of: region rid, one voter on store 1, keys [b"r%03d", b"r%03d" of the next)."""
    region = Region(id=rid, start_key=b"r%03d" % rid, end_key=b"r%03d" % (rid + 1))
    region.region_epoch.conf_ver = 1
    region.region_epoch.version = 1
    region.peers.append(Peer(id=peer_id(rid), store_id=STORE_ID))
    return region


def entry_data(rid: int, index: int, term: int) -> bytes:
    return (b"%d:%d:%d;" % (rid, index, term)) * ((index * 7 + rid) % 5)


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    db_dir, n_regions, seed, max_rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    engines = open_engines(db_dir)
    stores: dict[int, PeerStorage] = {}
    for rid in range(1, n_regions + 1):
        region = region_of(rid)
        store = PeerStorage(engines, region, peer_id(rid))
        if store.region_state() is None:
            write_initial_states(engines, region)
            store = PeerStorage(engines, region, peer_id(rid))
        stores[rid] = store
        emit(
            f"S {rid} {store.last_index()} {store.last_term()} {store.truncated_index()} "
            f"{store.truncated_term()} {store.commit_index()} {store.hard_state().term}"
        )
    emit("READY")
    # durable_last: the last index made durable by an earlier round (commits stay at or below it).
    durable_last = {rid: s.last_index() for rid, s in stores.items()}
    ready = 1
    for rnd in range(max_rounds):
        ready += 1
        chosen = rng.sample(sorted(stores), rng.randint(1, min(6, len(stores))))
        tasks = []
        intent: dict[int, list[int]] = {}
        for rid in chosen:
            s = stores[rid]
            task = WriteTask(rid, s.peer_id, ready)
            hs = HardState()
            hs.CopyFrom(s.hard_state())
            changed = False
            if rng.random() < 0.1:
                hs.term += 1
                hs.vote = s.peer_id
                changed = True
            first_new = 0
            term = hs.term
            if rng.random() < 0.9:
                n = rng.randint(1, 12)
                first_new = s.last_index() + 1
                s.append(
                    [Entry(index=i, term=term, data=entry_data(rid, i, term)) for i in range(first_new, first_new + n)],
                    task,
                )
            if rng.random() < 0.5 and durable_last[rid] > hs.commit:
                hs.commit = rng.randint(hs.commit, durable_last[rid])
                changed = True
            if changed:
                s.set_hard_state(hs, task)
            if rng.random() < 0.35 and hs.commit > s.truncated_index():
                applied = rng.randint(max(s.applied_index(), s.truncated_index() + 1), hs.commit)
                apply_state = s.apply_state
                apply_state.applied_index = applied
                apply_state.commit_index = applied
                apply_state.commit_term = s.term(applied)
                index = rng.randint(s.truncated_index() + 1, applied)
                s.compact_to(index, s.term(index), task)
            intent[rid] = [
                first_new,
                s.last_index(),
                term,
                s.truncated_index(),
                s.truncated_term(),
                s.commit_index(),
                s.hard_state().term,
            ]
            tasks.append(task)
        emit(f"I {rnd} {json.dumps(intent)}")
        write_tasks(engines, tasks)
        for task in tasks:
            stores[task.region_id].on_persisted(task)
            durable_last[task.region_id] = stores[task.region_id].last_index()
        emit(f"D {rnd}")
    engines.close()


if __name__ == "__main__":
    main()
