"""apply_child: the process test_apply.py kills mid-apply. Not a test module (pytest does not collect it).

Usage: RAFTSTORE_FAILPOINTS="<failpoint>=kill" python -m tests.store.snap.apply_child DB_DIR SNAP_DIR REGION_ID

Opens the RocksDB engines in DB_DIR and the snapshot manager in SNAP_DIR, and runs the apply job of
REGION_ID (which must be Applying); prints the job's final status if it lives that long.
"""

from __future__ import annotations

import sys

from raftstore.engine.engines import open_engines
from raftstore.store.snap import ApplyStatus, SnapManager, handle_apply


def main() -> None:
    db_dir, snap_dir, region_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mgr = SnapManager(snap_dir)
    mgr.init()
    with open_engines(db_dir) as engines:
        status = ApplyStatus()
        handle_apply(engines, mgr, region_id, status)
        print(status.load().name, flush=True)


if __name__ == "__main__":
    main()
