"""raftstore: a Python multi-Raft storage layer modeled on TiKV's raftstore.

Subpackages: `raftstore.raft` (sans-IO consensus core, raft-rs semantics), `raftstore.engine` (RocksDB
engines and TiKV's key layout), `raftstore.store` (PeerStorage and the write path), `raftstore.proto`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
