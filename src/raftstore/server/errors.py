"""raftstore.server.errors: the errors the server layer raises on purpose.

`ServerError` is the root; the `raftstore` command prints its message as one line and exits 1 (2 for a
`ConfigError`). gRPC's own errors (grpc.RpcError) never leave this layer: the admin client and the join
turn them into these.
"""

from __future__ import annotations

__all__ = [
    "AddressInUseError",
    "AdminError",
    "AdminTimeoutError",
    "ConfigError",
    "DriverFailedError",
    "JoinError",
    "ServerError",
    "StoreConflictError",
]


class ServerError(Exception):
    """ServerError: the store server could not start or stopped on a failure. Whatever it had started is
    stopped and its engines are closed; the data directory is as the last completed round left it."""


class ConfigError(ServerError):
    """ConfigError: a flag, the config file or the initial cluster is invalid. Nothing was started or
    written; fix the configuration and start again."""


class AddressInUseError(ServerError):
    """AddressInUseError: --addr or --status-addr cannot be bound (another process listens there).
    Nothing was written; pick another address or stop the other process."""


class DriverFailedError(ServerError):
    """DriverFailedError: a round of the store failed (a write to the engines failed, so the engines are
    failed): the server stops. Restart it: the store is rebuilt from its durable state."""


class JoinError(ServerError):
    """JoinError: --join could not add this store to the cluster (the member could not be reached, or
    refused: another cluster id). Nothing was written to the data directory; fix the cause and start again."""


class StoreConflictError(JoinError):
    """StoreConflictError: the cluster already knows this store id at another address. Nothing was
    written; give the store a new id, or its old address."""


class AdminError(ServerError):
    """AdminError: an admin request (raftstore ctl --addr) was refused or failed: nothing changed (the
    message says why: an invalid request, a change raft does not accept now, a store that cannot be
    reached). Fix the request or retry later."""


class AdminTimeoutError(AdminError):
    """AdminTimeoutError: no answer in time. A change's outcome is unknown: it may still take effect;
    look at the region's status before retrying it."""
