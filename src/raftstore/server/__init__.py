"""raftstore.server: a store as a process, with gRPC between stores and for clients (docs/cluster.md).

config.py (ServerConfig: flags and TOML) -> server.py (Server: engines, core, threaded driver, gRPC,
metrics) -> the `raftstore server` command (commands.py); driver.py (StoreDriver: the thread that runs
the rounds), transport.py (raft message streams between stores), service.py (the KV service),
admin.py (the Admin service) and admin_client.py (its client), ctl_online.py (`raftstore ctl --addr`),
resolve.py and gossip.py (store addresses: static, joined, gossiped), security.py (mutual TLS),
logs.py (structured logs), limits.py (size limits shared with the client), playground.py
(`raftstore playground`).

Only the errors are imported with the package (the client and the command line import parts of it);
`Server`, `ServerConfig` and `load_config` are loaded on first use.
"""

from typing import Any

from .errors import AddressInUseError, ConfigError, DriverFailedError, ServerError

__all__ = [
    "AddressInUseError",
    "ConfigError",
    "DriverFailedError",
    "Server",
    "ServerConfig",
    "ServerError",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name == "Server":
        from .server import Server

        return Server
    if name in ("ServerConfig", "load_config"):
        from . import config

        return getattr(config, name)
    raise AttributeError(f"module 'raftstore.server' has no attribute {name!r}")
