"""raftstore.checker.errors: the errors of the linearizability checker.

The tree::

    CheckerError            root of every error the checker raises on purpose
    ├── HistoryFormatError  a history line is not a valid operation (names the line, from 1)
    └── HistoryFileError    the history file cannot be read at all (missing, a directory, unreadable)

Nothing is checked when either is raised: the caller fixes the input and checks again.
"""

from __future__ import annotations

__all__ = ["CheckerError", "HistoryFileError", "HistoryFormatError"]


class CheckerError(Exception):
    """CheckerError is the root of the checker's errors; it leaves no state behind (checking is pure)."""


class HistoryFormatError(CheckerError):
    """HistoryFormatError: line `line` (from 1) of a history is malformed; `source` names the file (or
    "<history>"). Nothing was checked: fix the line and run again."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


class HistoryFileError(CheckerError):
    """HistoryFileError: the history file cannot be opened or decoded as UTF-8 text. Nothing was checked."""
