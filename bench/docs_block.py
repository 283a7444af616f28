"""docs_block: write a benchmark's figures into docs/benchmarks.md between its markers.

Each bench script owns one block, `<!-- NAME:begin -->` ... `<!-- NAME:end -->`, and replaces only that
block on --write-docs; a block not there yet is appended under `heading`. (Bench scripts run as
`python bench/NAME.py`, so this module is importable from them as `docs_block`.)
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_block(name: str, heading: str, lines: list[str]) -> None:
    """write_block replaces the block of bench `name` in docs/benchmarks.md with lines (appended under
    heading when the document has no such block yet)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text += f"\n{heading}\n\n{block}\n"
    DOCS.write_text(text)
