"""raftstore.server.config: a store server's configuration, from the command's flags and a TOML file.

Flags win over the file. The file may hold every flag (same names: `store-id`, `data`, `addr`,
`status-addr`, `initial-cluster`, `join`) and the rest:

    cluster-id = 1                      # every store of a cluster uses the same (StoreIdent)
    [raftstore]
    tick-interval-ms = 100              # raft's base tick (TiKV: raft-base-tick-interval)
    election-tick = 10                  # StoreConfig fields, dashes for underscores
    heartbeat-tick = 2
    raft-entry-max-size = 8388608
    [server]
    grpc-workers = 64                   # gRPC server threads (each open stream holds one)
    gossip-interval-ms = 1000           # how often the store gossips the stores it knows
    [storage]
    write-buffer-mb = 128               # memtable size per column family of both engines (TiKV's default)
    [security]                          # mutual TLS for both services: all three, or none
    ca-path = "ca.pem"
    cert-path = "store.pem"
    key-path = "store.key"

An unknown key, a value of the wrong type or an address that is not HOST:PORT is a ConfigError.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.store_core import StoreConfig
from .errors import ConfigError
from .security import Security, load_security

__all__ = ["ServerConfig", "load_config", "parse_addr", "parse_initial_cluster"]

# WRITE_BUFFER_MB: a store server's memtable size per column family, TiKV's default.
WRITE_BUFFER_MB = 128


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """ServerConfig: everything a store server needs. `initial_cluster` maps store id -> client address
    (the store addresses every store starts from); `tick_interval` is in seconds; `write_buffer_size` (bytes)
    is the memtable size of every column family of both engines (see raftstore.engine.engines)."""

    store_id: int
    data: Path
    addr: str
    status_addr: str | None = None
    initial_cluster: dict[int, str] = field(default_factory=dict)
    join: str | None = None
    cluster_id: int = 1
    tick_interval: float = 0.1
    grpc_workers: int = 64
    gossip_interval: float = 1.0
    write_buffer_size: int = WRITE_BUFFER_MB << 20
    store: StoreConfig = field(default_factory=StoreConfig)
    security: Security | None = None


def parse_addr(text: str) -> tuple[str, int]:
    """parse_addr splits "HOST:PORT" (a port from 0 to 65535); ConfigError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"invalid address {text!r}: expected HOST:PORT")
    return host, int(port)


def parse_initial_cluster(text: str) -> dict[int, str]:
    """parse_initial_cluster reads "ID=HOST:PORT,ID=HOST:PORT,..." (distinct positive ids and addresses)."""
    out: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        sid, sep, addr = item.partition("=")
        if not sep or not sid.strip().isdigit() or int(sid) < 1:
            raise ConfigError(f"invalid --initial-cluster item {item!r}: expected ID=HOST:PORT")
        parse_addr(addr.strip())
        if int(sid) in out:
            raise ConfigError(f"store {int(sid)} appears twice in --initial-cluster")
        out[int(sid)] = addr.strip()
    if len(set(out.values())) != len(out):
        raise ConfigError("two stores share an address in --initial-cluster")
    return out


_STORE_FIELDS = {f.name.replace("_", "-"): f for f in dataclasses.fields(StoreConfig)}
_TOP_KEYS = {"store-id", "data", "addr", "status-addr", "initial-cluster", "join", "cluster-id"}
_SECURITY_KEYS = ("ca-path", "cert-path", "key-path")


def _typed(where: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"config {where}: expected {kind.__name__}, got {value!r}")
    return value


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror or err}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path}: {err}") from err


def load_config(flags: dict[str, Any], config_file: Path | None = None) -> ServerConfig:
    """load_config merges flags (keys as the TOML's, values None when not given) over the file's values
    and checks them."""
    doc = _read_file(config_file) if config_file is not None else {}
    top = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    for key in top:
        if key not in _TOP_KEYS:
            raise ConfigError(f"config: unknown key {key!r}")
    for section in doc.keys() - top.keys():
        if section not in ("raftstore", "server", "storage", "security"):
            raise ConfigError(f"config: unknown section [{section}]")
    merged = {**top, **{k: v for k, v in flags.items() if v is not None}}
    store_id = _typed("store-id", merged.get("store-id"), int) if "store-id" in merged else None
    if store_id is None or store_id < 1:
        raise ConfigError("--store-id is required (a positive integer)")
    if "data" not in merged or "addr" not in merged:
        raise ConfigError("--data and --addr are required")
    addr = _typed("addr", merged["addr"], str)
    parse_addr(addr)
    status_addr = merged.get("status-addr")
    if status_addr is not None:
        parse_addr(_typed("status-addr", status_addr, str))
    initial = parse_initial_cluster(_typed("initial-cluster", merged.get("initial-cluster", ""), str))
    if initial and store_id not in initial:
        raise ConfigError(f"--initial-cluster does not list this store ({store_id})")
    raft = dict(doc.get("raftstore", {}))
    tick_ms = _typed("raftstore.tick-interval-ms", raft.pop("tick-interval-ms", 100), int)
    store_kwargs = {}
    for key, value in raft.items():
        f = _STORE_FIELDS.get(key)
        if f is None:
            raise ConfigError(f"config: unknown key raftstore.{key}")
        store_kwargs[f.name] = _typed(f"raftstore.{key}", value, int)
    server = dict(doc.get("server", {}))
    workers = _typed("server.grpc-workers", server.pop("grpc-workers", 64), int)
    gossip_ms = _typed("server.gossip-interval-ms", server.pop("gossip-interval-ms", 1000), int)
    if server:
        raise ConfigError(f"config: unknown key server.{next(iter(server))}")
    if tick_ms < 1 or workers < 4 or gossip_ms < 1:
        raise ConfigError("config: tick-interval-ms and gossip-interval-ms must be at least 1, grpc-workers at least 4")
    storage = dict(doc.get("storage", {}))
    write_buffer_mb = _typed("storage.write-buffer-mb", storage.pop("write-buffer-mb", WRITE_BUFFER_MB), int)
    if storage:
        raise ConfigError(f"config: unknown key storage.{next(iter(storage))}")
    if not 1 <= write_buffer_mb <= 4096:
        raise ConfigError("config: storage.write-buffer-mb must be from 1 to 4096")
    tls = dict(doc.get("security", {}))
    for key in tls.keys() - set(_SECURITY_KEYS):
        raise ConfigError(f"config: unknown key security.{key}")
    paths = {k: _typed(f"security.{k}", tls[k], str) if k in tls else None for k in _SECURITY_KEYS}
    join = merged.get("join")
    return ServerConfig(
        store_id=store_id,
        data=Path(merged["data"]),
        addr=addr,
        status_addr=status_addr,
        initial_cluster=initial,
        join=_typed("join", join, str) if join is not None else None,
        cluster_id=_typed("cluster-id", merged.get("cluster-id", 1), int),
        tick_interval=tick_ms / 1000,
        grpc_workers=workers,
        gossip_interval=gossip_ms / 1000,
        write_buffer_size=write_buffer_mb << 20,
        store=StoreConfig(**store_kwargs),
        security=load_security(paths["ca-path"], paths["cert-path"], paths["key-path"]),
    )
