"""raftstore.checker: a linearizability checker for histories of a key-value store.

Usable on its own (`raftstore check-history FILE`) or from Python:

    from raftstore.checker import check_history, read_history
    result = check_history(read_history("history.jsonl"), time_limit=60)
    print(result.status)     # "linearizable", "not linearizable" or "undecided"
    print(result.report())   # names the key and the operations by line number

history.py holds the JSON-lines format, model.py what each operation asks of its key's register,
wgl.py the Wing & Gong search with memoisation, check.py the per-key decomposition and the reports,
simulate.py histories of a simulated linearizable store (tests, benchmarks). See docs/reliability.md.
"""

from .check import CheckResult, Status, Violation, check_history, check_key
from .errors import CheckerError, HistoryFileError, HistoryFormatError
from .history import Operation, Value, format_history, parse_history, read_history
from .simulate import SimConfig, corrupt_read, simulate_history

__all__ = [
    "CheckResult",
    "CheckerError",
    "HistoryFileError",
    "HistoryFormatError",
    "Operation",
    "SimConfig",
    "Status",
    "Value",
    "Violation",
    "check_history",
    "check_key",
    "corrupt_read",
    "format_history",
    "parse_history",
    "read_history",
    "simulate_history",
]
