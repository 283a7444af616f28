"""bench_snapshot: generate, transfer (in process) and apply a region snapshot, against raw disk speed.

One region of --size bytes of keys + values (default 1 GiB; random values: nine keys in ten go to CF
default with --value-size bytes, the tenth to CF write with nine times that, so each CF holds about
half the bytes; a few locks) is written into a source RocksDB store and flushed
and compacted (setup, not timed). Then, timed:

1. generate: SnapGenerator.handle of a GenSnapTask (SST files per CF, split at 100 MiB of keys + values);
2. transfer: SnapSender -> SnapReceiver in process, 1 MiB chunks (each CRC32-checked, files fsynced and
   renamed, meta last) into a second manager;
3. apply: the apply job on a second RocksDB store staged as Applying (verify, delete range, ingest,
   PeerState Normal);
4. pipelined: generation into a fresh manager (a BuildProgress) with a SnapStreamSender streaming each
   file to a receiver as soon as it is complete, then the apply job into a third store: end to end as a
   store runs it;
5. resume: a transfer into another manager broken off at 50% of the bytes, then resumed: the bytes the
   resumed run sends are reported next to the total.

Each phase's MB/s is the region's bytes (keys + values) divided by the phase's time. The baseline, raw,
is a sequential write of --size bytes in 1 MiB blocks followed by one fsync, in the same directory and
the same run, once before and once after the phases (the table shows their mean: shared disks drift).
End to end is the region's bytes over the time from the start of generation to the end of the apply:
one after the other (1-3) and pipelined (4), each checked against the target of 0.5x raw. Both stores
share one disk, two CPUs and one Python process here (see docs/benchmarks.md for what that does to the
pipelined run). `--write-docs` appends the table to
docs/benchmarks.md's "Snapshots" section.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_LOCK, CF_RAFT, CF_WRITE
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import Snapshot
from raftstore.proto.metapb_pb2 import Peer, Region, RegionEpoch
from raftstore.proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RegionLocalState,
)
from raftstore.store.peer_storage import GenSnapTask
from raftstore.store.snap import (
    ApplyStatus,
    GenSnapRequest,
    JobStatus,
    SnapGenerator,
    SnapHeader,
    SnapManager,
    SnapReceiver,
    SnapSender,
    handle_apply,
    transfer,
)
from raftstore.store.snap.gen import BuildProgress
from raftstore.store.snap.transfer import SnapStreamSender

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_T = TypeVar("_T")
MB = 1e6
MiB = 1 << 20
REGION = Region(
    id=1,
    start_key=b"r",
    end_key=b"s",
    region_epoch=RegionEpoch(conf_ver=1, version=1),
    peers=[Peer(id=1, store_id=1), Peer(id=2, store_id=2), Peer(id=3, store_id=3)],
)


def parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib")
    return int(float(t[:-1]) * units[t[-1]]) if t[-1:] in units else int(t)


def raw_write(directory: Path, size: int) -> float:
    """raw_write: seconds to write size bytes sequentially in 1 MiB blocks and fsync once."""
    block = os.urandom(MiB)
    path = directory / "raw.bin"
    began = time.perf_counter()
    with open(path, "wb", buffering=0) as f:
        for _ in range(size // MiB):
            f.write(block)
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - began
    path.unlink()
    return elapsed


def write_states(engines: Engines, state: int, index: int, term: int) -> RaftApplyState:
    """write_states: region 1's region state and an apply state at index (applied = truncated when
    Applying, as PeerStorage stages a snapshot), plus the snapshot raft state when Applying."""
    apply_state = RaftApplyState(applied_index=index, commit_index=index, commit_term=term)
    apply_state.truncated_state.index = index if state == PeerState.Applying else 5
    apply_state.truncated_state.term = term if state == PeerState.Applying else 5
    region_state = RegionLocalState(state=state)  # type: ignore[arg-type]
    region_state.region.CopyFrom(REGION)
    wb = engines.kv.write_batch()
    wb.put(CF_RAFT, keys.apply_state_key(1), apply_state.SerializeToString())
    wb.put(CF_RAFT, keys.region_state_key(1), region_state.SerializeToString())
    if state == PeerState.Applying:
        raft_state = RaftLocalState(last_index=index)
        raft_state.hard_state.term = term
        wb.put(CF_RAFT, keys.snapshot_raft_state_key(1), raft_state.SerializeToString())
    engines.kv.write(wb, sync=True)
    return apply_state


def populate(engines: Engines, size: int, value_size: int) -> int:
    """populate writes about size bytes of keys + values into the region; returns the exact count."""
    noise = os.urandom(4 * MiB + value_size)
    kv = engines.kv
    total = 0
    i = 0
    wb = kv.write_batch()
    while total < size:
        key = keys.data_key(b"r%012d" % i)
        off = (i * 7919) % (4 * MiB)
        cf = CF_DEFAULT if i % 10 else CF_WRITE
        value = noise[off : off + (value_size if cf == CF_DEFAULT else value_size * 9)]
        wb.put(cf, key, value)
        if i % 1000 == 0:
            wb.put(CF_LOCK, key, noise[off : off + 64])
            total += len(key) + 64
        total += len(key) + len(value)
        i += 1
        if wb.data_size() >= 8 * MiB:
            kv.write(wb)
            wb = kv.write_batch()
    kv.write(wb)
    kv.flush()  # type: ignore[attr-defined]
    # Compact fully, or the compactions of ~30 L0 files would run in the background during the timed
    # phases (RocksDB's L0 trigger is 4), competing for the disk and both CPUs.
    kv.compact()  # type: ignore[attr-defined]
    os.sync()
    return total


def manager(path: Path) -> SnapManager:
    mgr = SnapManager(path)
    mgr.init()
    return mgr


def timed(fn):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def run(root: Path, size: int, value_size: int) -> dict[str, float]:
    src = open_engines(root / "src")
    dst = open_engines(root / "dst")
    dst2 = open_engines(root / "dst2")
    try:
        region_bytes = populate(src, size, value_size)
        apply_state = write_states(src, PeerState.Normal, 10, 6)
        src_mgr, dst_mgr = manager(root / "src_snap"), manager(root / "dst_snap")
        raw_before = raw_write(root, size)

        task = GenSnapTask(1, 2, 0)
        t_gen, _ = timed(lambda: SnapGenerator(src_mgr, src.kv).handle(GenSnapRequest(task, 6, apply_state)))
        assert task.result is not None, task.error
        snap: Snapshot = task.result
        file_bytes = sum(f.stat().st_size for f in (root / "src_snap").iterdir())

        def send(mgr: SnapManager) -> None:
            with SnapSender(src_mgr, snap) as s, SnapReceiver(mgr, SnapHeader(snap)) as r:
                piped(lambda: s.chunks(r.resume_point()), r.feed)
                r.finish()

        t_send, _ = timed(lambda: send(dst_mgr))
        t_apply = apply(dst, dst_mgr)

        gen_mgr, pipe_mgr = manager(root / "src2_snap"), manager(root / "dst2_snap")
        t_stream, _ = timed(lambda: pipelined(src, gen_mgr, pipe_mgr, apply_state))
        t_pipe = t_stream + apply(dst2, pipe_mgr)

        resent = resume_run(src_mgr, manager(root / "resume_snap"), snap, file_bytes)
        raw_after = raw_write(root, size)
        raw = (raw_before + raw_after) / 2
        return {
            "raw_before": region_bytes / raw_before / MB,
            "raw_after": region_bytes / raw_after / MB,
            "region_bytes": region_bytes,
            "file_bytes": file_bytes,
            "raw": region_bytes / raw / MB,
            "generate": region_bytes / t_gen / MB,
            "transfer": region_bytes / t_send / MB,
            "apply": region_bytes / t_apply / MB,
            "end_to_end": region_bytes / (t_gen + t_send + t_apply) / MB,
            "pipelined": region_bytes / t_pipe / MB,
            "t_gen": t_gen,
            "t_send": t_send,
            "t_apply": t_apply,
            "t_pipe": t_pipe,
            "resent": resent,
        }
    finally:
        src.close()
        dst.close()
        dst2.close()


def apply(dst: Engines, mgr: SnapManager) -> float:
    """apply stages region 1 as Applying on dst and runs the apply job of the snapshot in mgr; its seconds."""
    write_states(dst, PeerState.Applying, 10, 6)
    status = ApplyStatus()
    elapsed, _ = timed(lambda: handle_apply(dst, mgr, 1, status))
    assert status.load() == JobStatus.FINISHED
    return elapsed


def piped(messages: Callable[[], Iterator[_T]], take: Callable[[_T], object]) -> None:
    """piped runs messages() on a thread of its own and take() on each message here, with a queue of 8
    between the two, as a stream between two stores overlaps reading and writing."""
    pipe: queue.Queue[_T | None] = queue.Queue(maxsize=8)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for message in messages():
                pipe.put(message)
        except BaseException as exc:  # noqa: BLE001 -- re-raised by the consumer
            failure.append(exc)
        finally:
            pipe.put(None)

    thread = threading.Thread(target=produce)
    thread.start()
    while (message := pipe.get()) is not None:
        take(message)
    thread.join()
    if failure:
        raise failure[0]


def pipelined(src: Engines, src_mgr: SnapManager, dst_mgr: SnapManager, apply_state: RaftApplyState) -> None:
    """pipelined generates the snapshot on a worker thread while a SnapStreamSender streams each finished
    file to a receiver (through piped), as a store pipelines generation and sending."""
    request = GenSnapRequest(GenSnapTask(1, 2, 0), 6, apply_state, progress=BuildProgress())
    assert request.progress is not None
    worker = threading.Thread(target=SnapGenerator(src_mgr, src.kv).handle, args=(request,))
    worker.start()
    try:
        with (
            SnapStreamSender(src_mgr, request.key, request.progress) as sender,
            SnapReceiver.for_stream(dst_mgr, request.key) as receiver,
        ):
            piped(sender.messages, receiver.receive)
            assert receiver.done
    finally:
        worker.join()
    assert request.task.result is not None, request.task.error


class _Break(Exception):
    pass


def resume_run(src_mgr: SnapManager, mgr: SnapManager, snap: Snapshot, file_bytes: int) -> float:
    """resume_run breaks a transfer off at half of the files' bytes, resumes it, and returns the share of
    the files' bytes the resumed run sent."""
    with SnapSender(src_mgr, snap) as sender, SnapReceiver(mgr, SnapHeader(snap)) as receiver:
        total = sum(f.size for f in sender.files.load_meta().cf_files)
        try:
            for chunk in sender.chunks(receiver.resume_point()):
                if receiver.bytes_received >= total // 2:
                    raise _Break()
                receiver.feed(chunk)
        except _Break:
            pass
    with SnapSender(src_mgr, snap) as sender, SnapReceiver(mgr, SnapHeader(snap)) as receiver:
        transfer(sender, receiver)
        return sender.bytes_sent / total


def table(r: dict[str, float], size_arg: str, value_size: int) -> str:
    raw = r["raw"]
    rows = [
        (f"raw sequential write + fsync (mean of {r['raw_before']:.0f} before, {r['raw_after']:.0f} after)", raw, "1.00x"),
        ("generate (scan + SST files + CRC32 + fsync)", r["generate"], f"{r['generate'] / raw:.2f}x"),
        ("transfer (1 MiB chunks, CRC32, fsync, rename)", r["transfer"], f"{r['transfer'] / raw:.2f}x"),
        ("apply (verify + delete range + ingest)", r["apply"], f"{r['apply'] / raw:.2f}x"),
        ("end to end, one phase after the other", r["end_to_end"], f"{r['end_to_end'] / raw:.2f}x"),
        ("end to end, pipelined (files sent as built, then apply)", r["pipelined"], f"{r['pipelined'] / raw:.2f}x"),
    ]
    lines = [
        f"Region of {r['region_bytes'] / MiB:.0f} MiB of keys + values (--size {size_arg}, values of {value_size} B;"
        f" SST files {r['file_bytes'] / MiB:.0f} MiB).",
        "",
        "| phase | MB/s | vs raw |",
        "|---|---:|---:|",
        *(f"| {name} | {mbs:.0f} | {ratio} |" for name, mbs, ratio in rows),
        "",
        f"Phase times: generate {r['t_gen']:.2f} s, transfer {r['t_send']:.2f} s, apply {r['t_apply']:.2f} s;"
        f" pipelined {r['t_pipe']:.2f} s."
        f" Resume after a break at 50%: the resumed run sent {r['resent'] * 100:.1f}% of the bytes.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G", help="region size in keys + values: 1G, 64M, ... (default 1G)")
    ap.add_argument("--value-size", type=int, default=4096, help="bytes per value in CF default")
    ap.add_argument("--dir", default=None, help="work directory (default: a new one under /tmp, removed after)")
    ap.add_argument("--write-docs", action="store_true", help="append the table to docs/benchmarks.md")
    args = ap.parse_args()
    size = parse_size(args.size)
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_snapshot_"))
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < 8 * size:
        raise SystemExit(f"{root}: {free / MiB:.0f} MiB free, the run needs about {8 * size / MiB:.0f} MiB")
    try:
        result = run(root, size, args.value_size)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = table(result, args.size, args.value_size)
    print(text)
    print()
    for mode in ("end_to_end", "pipelined"):
        ratio = result[mode] / result["raw"]
        print(f"{mode}: {ratio:.2f}x raw, target 0.5x {'met' if ratio >= 0.5 else 'NOT met'}")
    if args.write_docs:
        header = "" if "\n## Snapshots\n" in DOCS.read_text() else "\n## Snapshots\n\n`python bench/bench_snapshot.py`\n"
        with open(DOCS, "a") as f:
            f.write(header + "\n" + text + "\n")


if __name__ == "__main__":
    main()
