"""Signals that arrive before the daemon's event loop handles them.

Kept free of heavy imports so ``storytrail run`` can install the handler first thing, before
the command modules load (a container stopped during start-up still exits 0).
"""

from __future__ import annotations

import signal

EARLY_SIGNALS: list[signal.Signals] = []


def catch_early_signals() -> None:
    """Note SIGTERM / SIGINT until the daemon installs its own handlers."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: EARLY_SIGNALS.append(signal.Signals(signum)))
