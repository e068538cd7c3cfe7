"""Child processes that die with their parent, SIGKILL included (Linux).

``die_with_parent()`` asks the kernel (``prctl(PR_SET_PDEATHSIG)``, through ctypes) to send
SIGKILL to the calling process when its parent goes, however the parent went: no cleanup
handler can run after a SIGKILL, so the kernel is the only one left to do it. Elsewhere it is a
no-op and returns False. The signal is tied to the parent *thread* that forked the child, so a
helper process must be started from a thread that lives as long as the process (the main one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent dies; False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def alive(pid: int) -> bool:
    """The process ``pid`` exists (it may belong to someone else: then it is alive too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def follow(parent_pid: int) -> None:
    """In a child: die with the parent, and at once if it died before this call could ask."""
    die_with_parent()
    if not alive(parent_pid) or os.getppid() == 1:
        os._exit(1)
