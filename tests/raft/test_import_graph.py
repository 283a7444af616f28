"""The modules of raftstore.raft import each other without a cycle.

A cycle makes the import order matter and invites half-initialised modules, so it is never hidden
behind an import inside a function: those count. Only imports under `if TYPE_CHECKING:` are left out
(they never run). The graph is built with ast from the sources; importing a submodule of another
package also imports that package's __init__, which is an edge too.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import raftstore.raft

RAFT_DIR = Path(raftstore.raft.__file__).parent
ROOT = "raftstore.raft"

Graph = dict[str, set[str]]


def _module_name(path: Path, root_dir: Path, root: str) -> str:
    parts = list(path.relative_to(root_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([root, *parts])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, with_type_checking: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """_imports: every import statement in node, at any depth (functions included); the body of an
    `if TYPE_CHECKING:` only when with_type_checking."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    elif isinstance(node, ast.If) and _is_type_checking(node.test) and not with_type_checking:
        for stmt in node.orelse:
            yield from _imports(stmt, with_type_checking)
    else:
        for child in ast.iter_child_nodes(node):
            yield from _imports(child, with_type_checking)


def _targets(stmt: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> Iterator[str]:
    """_targets: the absolute module names stmt names: the module itself and, for a from-import, each
    imported name (which may be a submodule; names that are not modules are filtered out later)."""
    if isinstance(stmt, ast.Import):
        yield from (alias.name for alias in stmt.names)
        return
    if stmt.level == 0:
        base = stmt.module or ""
    else:
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        base_parts = package[: len(package) - (stmt.level - 1)]
        base = ".".join(base_parts + ([stmt.module] if stmt.module else []))
    yield base
    yield from (f"{base}.{alias.name}" for alias in stmt.names)


def _with_packages(target: str, importer: str) -> Iterator[str]:
    """_with_packages: target and the packages that importing it initialises first, leaving out the
    importer's own ancestors (already being initialised when the importer runs)."""
    parts = target.split(".")
    for n in range(1, len(parts) + 1):
        name = ".".join(parts[:n])
        if not (importer == name or importer.startswith(name + ".")):
            yield name


def import_graph(root_dir: Path, root: str, with_type_checking: bool = False) -> Graph:
    """import_graph: module -> modules of the same tree it imports when it runs."""
    files = {_module_name(p, root_dir, root): p for p in sorted(root_dir.rglob("*.py"))}
    graph: Graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = {
            dep
            for stmt in _imports(tree, with_type_checking)
            for target in _targets(stmt, name, is_package)
            for dep in _with_packages(target, name)
            if dep in files and dep != name
        }
    return graph


def find_cycle(graph: Graph) -> list[str]:
    """find_cycle: one import cycle of graph as [a, b, ..., a], or [] when it is acyclic."""
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        return list(e.args[1])
    return []


def test_raft_modules_import_without_cycles() -> None:
    """Invariant: the runtime import graph of raftstore.raft is a DAG."""
    graph = import_graph(RAFT_DIR, ROOT)
    assert len(graph) > 20
    # The graph is not vacuous: a function-level import and a package edge are both seen.
    assert f"{ROOT}.raft" in graph[f"{ROOT}.raw_node"]
    assert f"{ROOT}.tracker" in graph[f"{ROOT}.confchange.changer"]
    assert find_cycle(graph) == []


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        # etcd's tracker/ has no dependency on confchange: confchange builds on the tracker.
        ("tracker", "confchange"),
        # raw_node formats its Readies with describe, so describe never reaches back to raw_node.
        ("describe", "raw_node"),
    ],
)
def test_layering_even_for_type_checking(importer: str, forbidden: str) -> None:
    """The lower layer does not name the upper one at all, not even under TYPE_CHECKING."""
    graph = import_graph(RAFT_DIR, ROOT, with_type_checking=True)
    low, high = f"{ROOT}.{importer}", f"{ROOT}.{forbidden}"
    offenders = {
        module: sorted(d for d in deps if d == high or d.startswith(high + "."))
        for module, deps in graph.items()
        if module == low or module.startswith(low + ".")
    }
    assert {m: deps for m, deps in offenders.items() if deps} == {}


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        # A function-level import closes a cycle.
        ({"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"}, ["a", "b", "a"]),
        # A TYPE_CHECKING import does not; its else branch runs, so it does.
        ({"a.py": "from .b import y\n", "b.py": "if TYPE_CHECKING:\n    from .a import x\n"}, []),
        (
            {
                "a.py": "from .b import y\n",
                "b.py": "if TYPE_CHECKING:\n    pass\nelse:\n    from . import a\n",
            },
            ["a", "b", "a"],
        ),
        # Importing p.q from x also runs p/__init__, which imports x.
        (
            {"p/__init__.py": "from .. import x\n", "p/q.py": "", "x.py": "from .p.q import z\n"},
            ["p", "x", "p"],
        ),
        # A module importing its own package's sibling through `from . import` is no cycle.
        ({"p/__init__.py": "from .q import z\n", "p/q.py": "from . import r\n", "p/r.py": ""}, []),
    ],
)
def test_checker_sees_cycles(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    """The checker finds the cycles Python would run into and no others."""
    for rel, text in files.items():
        path = tmp_path / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "pkg" / "__init__.py").touch()
    found = find_cycle(import_graph(tmp_path / "pkg", "pkg"))
    # Compare as a rotation-free set of modules: which module the sorter starts from is its choice.
    assert sorted(set(found)) == sorted({f"pkg.{m}" for m in cycle})
    assert found[:1] == found[-1:]
