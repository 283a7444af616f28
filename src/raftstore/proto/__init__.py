"""raftstore.proto: generated protobuf modules (eraftpb, metapb, raft_serverpb, raft_cmdpb, errorpb, and
raftstorepb: the gRPC services' messages).

The sources are in the repository's proto/ folder; `make proto` regenerates these modules.
"""
from . import eraftpb_pb2, errorpb_pb2, metapb_pb2, raft_cmdpb_pb2, raft_serverpb_pb2, raftstorepb_pb2

__all__ = ["eraftpb_pb2", "errorpb_pb2", "metapb_pb2", "raft_cmdpb_pb2", "raft_serverpb_pb2", "raftstorepb_pb2"]
