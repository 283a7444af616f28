"""raftstore.server.ctl_online: `raftstore ctl --addr HOST:PORT ...`, online ctl through the Admin service.

    regions [--region ID] [--json]          the regions the store hosts, as its peers hold them now
    raft-state | apply-state | region-state --region ID [--json]
    status [--region ID] [--json]           the store (counts, every region's role and indexes, the stores
                                            it knows), or one region's status
    add-peer --region ID --store SID [--learner]
    remove-peer --region ID --store SID
    split --key KEY [--region ID]
    transfer-leader --region ID --store SID
    consistency-check [--region ID]         "replicas identical" only if every replica's hash matches at
                                            the same index (exit 1 otherwise); default: every region

The changes go to the region's leader whichever store --addr names (AdminClient follows the hints).
Errors are AdminError (exit 1, one line); nothing here prints a gRPC error as such.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from google.protobuf.message import Message

from ..ctl import (
    ONLINE_COLUMNS,
    CtlError,
    format_range,
    plural,
    print_message,
    print_regions,
    printable,
    region_row,
)
from ..demo import format_peers
from ..proto.metapb_pb2 import Region
from ..proto.raftstorepb_pb2 import (
    ConsistencyCheckResponse,
    ConsistencyVerdict,
    PeerChangeKind,
    RegionStatus,
)
from .admin_client import AdminClient
from .security import load_security

__all__ = ["run_online"]


def run_online(args: argparse.Namespace) -> int:
    """run_online runs args.ctl_command against the store at args.addr; returns the exit status."""
    security = load_security(args.ca_path, args.cert_path, args.key_path)
    with AdminClient(args.addr, timeout=args.timeout, security=security) as admin:
        return _RUNNERS[args.ctl_command](admin, args)


def _rows(statuses: list[RegionStatus]) -> list[dict[str, object]]:
    rows = []
    for s in statuses:
        row = region_row(s.region, s.region_state.state, s.raft_state, s.apply_state)
        row.update(role=s.role, leader_store=s.leader.store_id or None, peer=s.peer.id)
        rows.append(row)
    return rows


def _regions(admin: AdminClient, args: argparse.Namespace) -> int:
    statuses = [admin.region_status(args.region)] if args.region else admin.list_regions()
    title = f"{plural(len(statuses), 'region')} on the store at {admin.addr}"
    print_regions(_rows(statuses), [s.region for s in statuses], title, args.json, ONLINE_COLUMNS)
    return 0


# _STATES: the per-region state subcommands -> the RegionStatus field holding it.
_STATES = {"raft-state": "raft_state", "apply-state": "apply_state", "region-state": "region_state"}


def _state(admin: AdminClient, args: argparse.Namespace) -> int:
    status = admin.region_status(args.region)
    state: Message = getattr(status, _STATES[args.ctl_command])
    print_message(state, args.json, f"region {args.region}, store {status.peer.store_id} at {admin.addr}, live")
    return 0


def _status(admin: AdminClient, args: argparse.Namespace) -> int:
    if args.region:
        print_message(admin.region_status(args.region), args.json, f"region {args.region} on the store at {admin.addr}")
        return 0
    st = admin.store_status()
    if args.json:
        print_message(st, True, "")
        return 0
    print(f"store {st.store_id} at {st.address} (cluster {st.cluster_id}): {plural(st.region_count, 'region')}, "
          f"{plural(st.leader_count, 'leader')}, {st.hibernated_count} hibernated, consistency mismatches "
          f"{st.consistency_mismatches}")
    print("stores: " + " ".join(f"{s.id}={s.address}" for s in st.stores))
    print_regions(_rows(list(st.regions)), [s.region for s in st.regions], "regions:", False, ONLINE_COLUMNS)
    return 0


def _describe(region: Region) -> str:
    return f"region {region.id} {format_range(region)} peers {format_peers(region)} (conf_ver " \
           f"{region.region_epoch.conf_ver}, version {region.region_epoch.version})"


def _add_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    kind = PeerChangeKind.ADD_LEARNER if args.learner else PeerChangeKind.ADD_VOTER
    region = admin.change_peer(args.region, kind, args.store)
    print(f"added a {'learner' if args.learner else 'voter'} on store {args.store}: {_describe(region)}")
    return 0


def _remove_peer(admin: AdminClient, args: argparse.Namespace) -> int:
    region = admin.change_peer(args.region, PeerChangeKind.REMOVE, args.store)
    print(f"removed the peer on store {args.store}: {_describe(region)}")
    return 0


def _split(admin: AdminClient, args: argparse.Namespace) -> int:
    key = args.key.encode()
    left, right = admin.split(key, args.region or 0)
    print(f'split at "{printable(key)}":')
    print(f"  left  {_describe(left)}")
    print(f"  right {_describe(right)}")
    return 0


def _transfer_leader(admin: AdminClient, args: argparse.Namespace) -> int:
    leader = admin.transfer_leader(args.region, args.store)
    print(f"region {args.region}: peer {leader.id} on store {leader.store_id} leads")
    return 0


def _consistency_check(admin: AdminClient, args: argparse.Namespace) -> int:
    ids = [args.region] if args.region else [s.region.id for s in admin.list_regions()]
    if not ids:
        raise CtlError(f"the store at {admin.addr} hosts no region to check")
    identical = True
    for region_id in ids:
        check = admin.consistency_check(region_id)
        print("\n".join(check_lines(region_id, check)))
        identical = check.identical and identical
    print("replicas identical" if identical else "replicas DIFFER")
    return 0 if identical else 1


def check_lines(region_id: int, check: ConsistencyCheckResponse) -> list[str]:
    """check_lines describes a region's consistency check: the leader's hash, then one line per replica."""
    lines = [f"region {region_id}: leader's hash at index {check.index}: {check.hash.hex()}"]
    for r in check.replicas:
        verdict = ConsistencyVerdict.Name(r.state.verdict).lower() if r.state.present else "no hash"
        state = f"index {r.state.index} hash {r.state.hash.hex()} ({verdict})"
        lines.append(f"  store {r.store_id} peer {r.peer_id}: {state}" + (f": {r.error}" if r.error else ""))
    return lines


_RUNNERS: dict[str, Callable[[AdminClient, argparse.Namespace], int]] = {
    "regions": _regions,
    "raft-state": _state,
    "apply-state": _state,
    "region-state": _state,
    "status": _status,
    "add-peer": _add_peer,
    "remove-peer": _remove_peer,
    "split": _split,
    "transfer-leader": _transfer_leader,
    "consistency-check": _consistency_check,
}
