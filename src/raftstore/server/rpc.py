"""raftstore.server.rpc: the gRPC method paths of proto/raftstorepb.proto and the channel options.

The server registers raw-bytes handlers (so that a malformed message is answered INVALID_ARGUMENT with a
message, not gRPC's generic "Exception deserializing request!"); clients build their callables from these
paths with the protobuf classes' serializers.
"""

from __future__ import annotations

from .limits import MAX_GRPC_MESSAGE

__all__ = ["CHANNEL_OPTIONS", "KV_SERVICE", "RAFT_SERVICE", "SERVER_OPTIONS", "kv_method", "raft_method"]

KV_SERVICE = "raftstorepb.Kv"
RAFT_SERVICE = "raftstorepb.Raft"


def kv_method(name: str) -> str:
    return f"/{KV_SERVICE}/{name}"


def raft_method(name: str) -> str:
    return f"/{RAFT_SERVICE}/{name}"


# CHANNEL_OPTIONS: large messages, and reconnection backoff short enough that a restarted store is
# reached again within a second (gRPC's default grows to two minutes).
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE),
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),
]

# SERVER_OPTIONS: large messages; SO_REUSEPORT off, so that a second server on the same address fails
# to bind instead of silently sharing the port.
SERVER_OPTIONS = [
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE),
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE),
    ("grpc.so_reuseport", 0),
]
