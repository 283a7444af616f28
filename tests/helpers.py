"""tests.helpers: helpers shared by the test packages: mount a tmpfs, and take the state of a directory tree.

Mounting needs root (or the capability); where it is refused the test skips, saying why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """tmpfs mounts a tmpfs of `size` (as mount(8) takes it: "8m") at mountpoint (created) for a with-block and
    unmounts it after; the test skips, saying why, where mounting is refused (not root, no mount(8), a
    container without the capability)."""
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to mount a tmpfs")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
        check=False,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is refused here: {proc.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        # A test that failed with files still open there leaves it busy: detach it lazily then.
        if subprocess.run(["umount", str(mountpoint)], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def remount(mountpoint: Path, options: str) -> None:
    """remount changes the options of a filesystem mounted by `tmpfs` ("ro", "size=64m")."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(mountpoint)], check=True, capture_output=True)


def tree(root: Path) -> dict[str, tuple[int, int, str]] | None:
    """tree is what a directory holds, byte for byte: relative path -> (mode, mtime_ns, sha256 of the content,
    "" for a directory); None when root does not exist."""
    if not os.path.lexists(root):
        return None
    found: dict[str, tuple[int, int, str]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest)
    return found
