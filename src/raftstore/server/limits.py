"""raftstore.server.limits: the size limits of the key-value service, shared by the server and the client.

A request over a limit is refused whole (nothing changes) with a message naming the limit: by the client
before it sends anything, by the server when a tool sent it anyway. They keep every command well inside
one raft entry (StoreConfig.raft_entry_max_size, 8 MiB, TiKV's raft-entry-max-size).
"""

from __future__ import annotations

__all__ = [
    "MAX_BATCH_PUT_SIZE",
    "MAX_GRPC_MESSAGE",
    "MAX_KEY_SIZE",
    "MAX_VALUE_SIZE",
    "SCAN_BYTES",
    "SCAN_LIMIT",
    "check_key",
    "check_pairs",
    "check_value",
]

MAX_KEY_SIZE = 8 * 1024  # TiKV's storage.max-key-size
MAX_VALUE_SIZE = 4 * 1024 * 1024
MAX_BATCH_PUT_SIZE = 6 * 1024 * 1024  # the keys and values of one batch_put, together
# MAX_GRPC_MESSAGE: the gRPC message limit of both ends (a BatchCommands or BatchRaftMessage message
# carries many requests; senders cut their batches well below it).
MAX_GRPC_MESSAGE = 64 * 1024 * 1024
SCAN_LIMIT = 10_000  # pairs per scan response at most
SCAN_BYTES = 4 * 1024 * 1024  # a scan response stops once its pairs reach this size


def check_key(key: bytes) -> str | None:
    """check_key is why key is refused (empty or over MAX_KEY_SIZE), None when it is fine."""
    if not key:
        return "empty key"
    if len(key) > MAX_KEY_SIZE:
        return f"key of {len(key)} bytes exceeds the limit of {MAX_KEY_SIZE} bytes"
    return None


def check_value(value: bytes) -> str | None:
    """check_value is why value is refused (over MAX_VALUE_SIZE), None when it is fine."""
    if len(value) > MAX_VALUE_SIZE:
        return f"value of {len(value)} bytes exceeds the limit of {MAX_VALUE_SIZE} bytes"
    return None


def check_pairs(pairs: list[tuple[bytes, bytes]]) -> str | None:
    """check_pairs is why a batch put of pairs is refused (none, a bad key or value, over
    MAX_BATCH_PUT_SIZE in all), None when it is fine."""
    if not pairs:
        return "empty batch put"
    total = 0
    for key, value in pairs:
        why = check_key(key) or check_value(value)
        if why is not None:
            return why
        total += len(key) + len(value)
    if total > MAX_BATCH_PUT_SIZE:
        return f"batch put of {total} bytes exceeds the limit of {MAX_BATCH_PUT_SIZE} bytes"
    return None
