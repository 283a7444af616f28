"""The README's code example runs as written."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The single-voter RawNode-on-PeerStorage example elects itself and persists its log under ./data-example."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    storage = namespace["storage"]
    assert storage.last_index() == 6 and storage.commit_index() == 6  # type: ignore[attr-defined]
    assert os.path.isdir(tmp_path / "data-example" / "kv")
