"""The consensus core is sans-IO: nothing under raftstore/raft/ imports a module that does IO."""

import ast
from pathlib import Path

import raftstore.raft

FORBIDDEN = {
    "os", "io", "time", "socket", "threading", "asyncio", "subprocess", "select", "selectors",
    "multiprocessing", "concurrent", "signal", "shutil", "tempfile", "pathlib", "grpc", "rocksdict",
    "datetime", "sqlite3", "urllib", "http", "raftstore.engine", "raftstore.store",
}
RAFT_DIR = Path(raftstore.raft.__file__).parent


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = path.is_relative_to(RAFT_DIR)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0 and node.module and inside:
            # A relative import that climbs out of raft/ (e.g. `from ...engine import x`).
            depth = len(path.relative_to(RAFT_DIR).parts) - 1
            if node.level > depth + 1:
                names.append("raftstore." + node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_raft_package_imports_no_io_modules() -> None:
    """Every module under raftstore/raft/ imports none of the IO modules (ticks in, Ready out)."""
    files = sorted(RAFT_DIR.rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(p.relative_to(RAFT_DIR)): bad
        for p in files
        if (bad := [n for n in _imported_modules(p) if _forbidden(n)])
    }
    assert offenders == {}


def test_checker_catches_an_io_import(tmp_path: Path) -> None:
    """The checker itself sees plain, dotted and from-imports of IO modules."""
    sample = tmp_path / "sample.py"
    sample.write_text("import os.path\nfrom time import monotonic\nimport threading as t\nimport random\n")
    assert [n for n in _imported_modules(sample) if _forbidden(n)] == ["os.path", "time", "threading"]


# The store's core (StoreCore and what it is built of) is sans-IO too: no IO module, no engine
# implementation (only the engine Protocols and keys; `Engines` as a type only), and it never writes the
# engines: the driver does every write of a round.
STORE_DIR = RAFT_DIR.parent / "store"
STORE_CORE = ["store_core.py", "peer.py", "apply.py", "cmd.py", "hibernate.py", "lease.py"]
STORE_FORBIDDEN = FORBIDDEN - {"raftstore.engine", "raftstore.store"} | {
    "raftstore.engine.engines", "raftstore.engine.rocks", "raftstore.engine.memory", "raftstore.engine.sst",
    "raftstore.store.driver", "raftstore.failpoints",
}
# ENGINE_WRITES: the calls that write or stop an engine, which the core never makes.
ENGINE_WRITES = {"write", "write_tasks", "sync_wal", "ingest_sst", "fail", "close"}


def _store_imports(path: Path) -> list[str]:
    """_store_imports: the absolute names a store module imports at run time (TYPE_CHECKING blocks skipped)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = {
        id(n) for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for n in ast.walk(node)
    }
    package = "raftstore.store"
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def _engine_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in ENGINE_WRITES)
            or (isinstance(node.func, ast.Name) and node.func.id in ENGINE_WRITES)
        )
    ]


def test_store_core_imports_no_io_modules_and_never_writes_the_engines() -> None:
    offenders = {
        name: bad
        for name in STORE_CORE
        if (bad := [n for n in _store_imports(STORE_DIR / name) if any(n == f or n.startswith(f + ".") for f in STORE_FORBIDDEN)])
    }
    assert offenders == {}
    writes = {name: w for name in STORE_CORE if (w := _engine_writes(STORE_DIR / name))}
    assert writes == {}


def test_store_checker_catches_io_imports_and_engine_writes(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nimport time\nfrom ..engine.rocks import RocksEngine\n"
        "from .write import write_tasks\nif TYPE_CHECKING:\n    from ..engine.engines import Engines\n"
        "def f(engines):\n    engines.kv.write(None)\n    write_tasks(engines, [])\n"
    )
    imports = _store_imports(sample)
    assert [n for n in imports if any(n == f or n.startswith(f + ".") for f in STORE_FORBIDDEN)] == [
        "time", "raftstore.engine.rocks.RocksEngine",
    ]
    assert "raftstore.store.write.write_tasks" in imports
    assert _engine_writes(sample) == ["write", "write_tasks"]
