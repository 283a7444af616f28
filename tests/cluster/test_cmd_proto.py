"""raft_cmdpb and errorpb keep kvproto's field numbers (pingcap/kvproto, proto/raft_cmdpb.proto and
proto/errorpb.proto); our additions sit at 1000, far from kvproto's numbers."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import Descriptor

from raftstore.proto import errorpb_pb2, raft_cmdpb_pb2

# (message, field name, number) as in kvproto.
KVPROTO_FIELDS = [
    (raft_cmdpb_pb2.RaftCmdRequest, "header", 1),
    (raft_cmdpb_pb2.RaftCmdRequest, "requests", 2),
    (raft_cmdpb_pb2.RaftCmdRequest, "admin_request", 3),
    (raft_cmdpb_pb2.RaftRequestHeader, "region_id", 1),
    (raft_cmdpb_pb2.RaftRequestHeader, "peer", 2),
    (raft_cmdpb_pb2.RaftRequestHeader, "uuid", 4),
    (raft_cmdpb_pb2.RaftRequestHeader, "region_epoch", 5),
    (raft_cmdpb_pb2.RaftRequestHeader, "term", 6),
    (raft_cmdpb_pb2.RaftResponseHeader, "error", 1),
    (raft_cmdpb_pb2.RaftResponseHeader, "current_term", 3),
    (raft_cmdpb_pb2.RaftCmdResponse, "responses", 2),
    (raft_cmdpb_pb2.RaftCmdResponse, "admin_response", 3),
    (raft_cmdpb_pb2.Request, "cmd_type", 1),
    (raft_cmdpb_pb2.Request, "get", 2),
    (raft_cmdpb_pb2.Request, "put", 4),
    (raft_cmdpb_pb2.Request, "delete", 5),
    (raft_cmdpb_pb2.Request, "snap", 6),
    (raft_cmdpb_pb2.Request, "delete_range", 8),
    (raft_cmdpb_pb2.Request, "read_index", 10),
    (raft_cmdpb_pb2.Response, "delte_range", 8),
    (raft_cmdpb_pb2.PutRequest, "value", 3),
    (raft_cmdpb_pb2.DeleteRangeRequest, "notify_only", 4),
    (raft_cmdpb_pb2.AdminRequest, "change_peer", 2),
    (raft_cmdpb_pb2.AdminRequest, "compact_log", 4),
    (raft_cmdpb_pb2.AdminRequest, "transfer_leader", 5),
    (raft_cmdpb_pb2.AdminRequest, "verify_hash", 6),
    (raft_cmdpb_pb2.AdminRequest, "splits", 10),
    (raft_cmdpb_pb2.AdminRequest, "change_peer_v2", 11),
    (raft_cmdpb_pb2.AdminRequest, "compute_hash", 12),
    (raft_cmdpb_pb2.AdminResponse, "splits", 10),
    (raft_cmdpb_pb2.AdminResponse, "change_peer_v2", 11),
    (raft_cmdpb_pb2.SplitRequest, "new_peer_ids", 3),
    (raft_cmdpb_pb2.CompactLogRequest, "voter_replicated_index", 3),
    (raft_cmdpb_pb2.VerifyHashRequest, "context", 3),
    (errorpb_pb2.Error, "message", 1),
    (errorpb_pb2.Error, "not_leader", 2),
    (errorpb_pb2.Error, "region_not_found", 3),
    (errorpb_pb2.Error, "key_not_in_region", 4),
    (errorpb_pb2.Error, "epoch_not_match", 5),
    (errorpb_pb2.Error, "server_is_busy", 6),
    (errorpb_pb2.Error, "stale_command", 7),
    (errorpb_pb2.Error, "store_not_match", 8),
    (errorpb_pb2.Error, "raft_entry_too_large", 9),
    (errorpb_pb2.Error, "read_index_not_ready", 11),
    (errorpb_pb2.Error, "region_not_initialized", 14),
    (errorpb_pb2.Error, "mismatch_peer_id", 20),
    (errorpb_pb2.NotLeader, "leader", 2),
    (errorpb_pb2.KeyNotInRegion, "end_key", 4),
    (errorpb_pb2.EpochNotMatch, "current_regions", 1),
    (errorpb_pb2.RaftEntryTooLarge, "entry_size", 2),
]

# (enum, name, number) as in kvproto, and our additions.
ENUM_VALUES = [
    (raft_cmdpb_pb2.CmdType, "Get", 1),
    (raft_cmdpb_pb2.CmdType, "Put", 3),
    (raft_cmdpb_pb2.CmdType, "Delete", 4),
    (raft_cmdpb_pb2.CmdType, "Snap", 5),
    (raft_cmdpb_pb2.CmdType, "DeleteRange", 7),
    (raft_cmdpb_pb2.CmdType, "CompareAndSwap", 1000),
    (raft_cmdpb_pb2.AdminCmdType, "ChangePeer", 1),
    (raft_cmdpb_pb2.AdminCmdType, "CompactLog", 3),
    (raft_cmdpb_pb2.AdminCmdType, "TransferLeader", 4),
    (raft_cmdpb_pb2.AdminCmdType, "ComputeHash", 5),
    (raft_cmdpb_pb2.AdminCmdType, "VerifyHash", 6),
    (raft_cmdpb_pb2.AdminCmdType, "BatchSplit", 10),
    (raft_cmdpb_pb2.AdminCmdType, "ChangePeerV2", 11),
]

OUR_ADDITIONS = [
    (raft_cmdpb_pb2.Request, "cas", 1000),
    (raft_cmdpb_pb2.Response, "cas", 1000),
    (raft_cmdpb_pb2.GetResponse, "not_found", 1000),
]


@pytest.mark.parametrize(("message", "name", "number"), KVPROTO_FIELDS + OUR_ADDITIONS)
def test_field_numbers(message: type, name: str, number: int) -> None:
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[attr-defined]
    assert descriptor.fields_by_name[name].number == number


@pytest.mark.parametrize(("enum", "name", "number"), ENUM_VALUES)
def test_enum_values(enum: object, name: str, number: int) -> None:
    assert enum.Value(name) == number  # type: ignore[attr-defined]


def test_a_kvproto_encoding_of_a_put_decodes_here() -> None:
    """Bytes as kvproto encodes RaftCmdRequest{header{region_id: 7}, requests[{Put, put{key 'k', value 'v'}}]}."""
    raw = bytes.fromhex("0a020807" "120a0803" "220612016b1a0176")
    cmd = raft_cmdpb_pb2.RaftCmdRequest.FromString(raw)
    assert (cmd.header.region_id, cmd.requests[0].cmd_type) == (7, raft_cmdpb_pb2.Put)
    assert (cmd.requests[0].put.key, cmd.requests[0].put.value) == (b"k", b"v")
