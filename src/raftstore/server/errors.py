"""raftstore.server.errors: the errors the server layer raises on purpose.

`ServerError` is the root; the `raftstore` command prints its message as one line and exits 1 (2 for a
`ConfigError`).
"""

from __future__ import annotations

__all__ = ["AddressInUseError", "ConfigError", "DriverFailedError", "ServerError"]


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
