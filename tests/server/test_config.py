"""ServerConfig from flags and a TOML file (no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.server.config import load_config, parse_initial_cluster
from raftstore.server.errors import ConfigError

BASE = {"store-id": 2, "data": "/d", "addr": "127.0.0.1:1", "initial-cluster": "1=h:1,2=h:2"}


def test_flags_and_file(tmp_path: Path) -> None:
    """Flags win over the file; the file sets the rest (top-level keys, [raftstore], [server])."""
    f = tmp_path / "c.toml"
    f.write_text('cluster-id = 7\naddr = "127.0.0.1:9"\n[raftstore]\ntick-interval-ms = 20\nelection-tick = 15\n'
                 "[server]\ngrpc-workers = 8\n")
    cfg = load_config({**BASE, "status-addr": None}, f)
    assert (cfg.store_id, cfg.addr, cfg.cluster_id, cfg.tick_interval) == (2, "127.0.0.1:1", 7, 0.02)
    assert (cfg.store.election_tick, cfg.grpc_workers, cfg.initial_cluster) == (15, 8, {1: "h:1", 2: "h:2"})
    assert cfg.status_addr is None and cfg.join is None


@pytest.mark.parametrize(
    "flags, toml, message",
    [
        ({"store-id": None}, "", "--store-id is required"),
        ({"addr": "nohost"}, "", "expected HOST:PORT"),
        ({"addr": "h:99999"}, "", "expected HOST:PORT"),
        ({"initial-cluster": "1=h:1,1=h:2"}, "", "appears twice"),
        ({"initial-cluster": "1=h:1,3=h:1"}, "", "share an address"),
        ({"initial-cluster": "x=h:1"}, "", "expected ID=HOST:PORT"),
        ({"initial-cluster": "1=h:1"}, "", "does not list this store"),
        ({}, "bogus = 1\n", "unknown key 'bogus'"),
        ({}, "[raftstore]\nelection-tik = 3\n", "unknown key raftstore.election-tik"),
        ({}, "[raftstore]\nelection-tick = 'ten'\n", "expected int"),
        ({}, "[nope]\n", "unknown section [nope]"),
        ({}, "cluster-id = \n", "c.toml"),
        ({}, "[server]\ngossip-interval-ms = 0\n", "gossip-interval-ms must be at least 1"),
        ({}, "[storage]\nwrite-buffer-mb = 0\n", "write-buffer-mb must be from 1 to 4096"),
        ({}, "[storage]\nwrite-buffer = 64\n", "unknown key storage.write-buffer"),
        ({}, "[security]\nca-path = 'ca.pem'\n", "missing cert-path, key-path"),
        ({}, "[security]\ncert = 'x'\n", "unknown key security.cert"),
        ({}, "[security]\nca-path = '/nonexistent/ca'\ncert-path = 'c'\nkey-path = 'k'\n", "cannot read ca-path"),
    ],
)
def test_invalid(tmp_path: Path, flags: dict[str, object], toml: str, message: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config({**BASE, **flags}, f)


@pytest.mark.parametrize("toml, size", [("", 128 << 20), ("[storage]\nwrite-buffer-mb = 16\n", 16 << 20)])
def test_write_buffer_size(tmp_path: Path, toml: str, size: int) -> None:
    """[storage] write-buffer-mb: TiKV's 128 MiB unless the file says otherwise."""
    f = tmp_path / "c.toml"
    f.write_text(toml)
    assert load_config(BASE, f).write_buffer_size == size


def test_gossip_interval_and_security(tmp_path: Path) -> None:
    """[server] gossip-interval-ms and the three [security] files (read at load: their bytes)."""
    for name in ("ca.pem", "s.pem", "s.key"):
        (tmp_path / name).write_bytes(name.encode())
    f = tmp_path / "c.toml"
    f.write_text(f"[server]\ngossip-interval-ms = 250\n[security]\nca-path = '{tmp_path / 'ca.pem'}'\n"
                 f"cert-path = '{tmp_path / 's.pem'}'\nkey-path = '{tmp_path / 's.key'}'\n")
    cfg = load_config(BASE, f)
    assert cfg.gossip_interval == 0.25
    assert cfg.security is not None and (cfg.security.ca, cfg.security.cert, cfg.security.key) == (
        b"ca.pem", b"s.pem", b"s.key")
    assert load_config(BASE).security is None


def test_initial_cluster_spaces_and_missing_file(tmp_path: Path) -> None:
    assert parse_initial_cluster(" 1=a:1 , 2=b:2 ,") == {1: "a:1", 2: "b:2"}
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(BASE, tmp_path / "missing.toml")
