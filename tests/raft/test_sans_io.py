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
