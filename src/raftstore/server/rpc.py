"""raftstore.server.rpc: the gRPC method paths of proto/raftstorepb.proto, the channel options, and
channels with or without mutual TLS.

The server registers raw-bytes handlers (so that a malformed message is answered INVALID_ARGUMENT with a
message, not gRPC's generic "Exception deserializing request!"); clients build their callables from these
paths with the protobuf classes' serializers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message

from .limits import MAX_GRPC_MESSAGE
from .security import Security

__all__ = [
    "ADMIN_SERVICE",
    "CHANNEL_OPTIONS",
    "KV_SERVICE",
    "RAFT_SERVICE",
    "SERVER_OPTIONS",
    "Connect",
    "admin_method",
    "kv_method",
    "open_channel",
    "raft_method",
    "unary_call",
]

KV_SERVICE = "raftstorepb.Kv"
RAFT_SERVICE = "raftstorepb.Raft"
ADMIN_SERVICE = "raftstorepb.Admin"

# Connect: opens a channel to an address (with the store's or the client's TLS settings, if any).
Connect = Callable[[str], grpc.Channel]


def kv_method(name: str) -> str:
    return f"/{KV_SERVICE}/{name}"


def raft_method(name: str) -> str:
    return f"/{RAFT_SERVICE}/{name}"


def admin_method(name: str) -> str:
    return f"/{ADMIN_SERVICE}/{name}"


def open_channel(addr: str, security: Security | None = None) -> grpc.Channel:
    """open_channel is a channel to addr: plain, or mutual TLS with security's CA, certificate and key."""
    if security is None:
        return grpc.insecure_channel(addr, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(addr, security.channel_credentials(), options=CHANNEL_OPTIONS)


def unary_call(channel: grpc.Channel, path: str, request: Message, response_cls: type[Any], timeout: float) -> Any:
    """unary_call calls the unary method path on channel (raises grpc.RpcError: callers translate it)."""
    call = channel.unary_unary(path, request_serializer=type(request).SerializeToString,
                               response_deserializer=response_cls.FromString)
    return call(request, timeout=timeout)


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
