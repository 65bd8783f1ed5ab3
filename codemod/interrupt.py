"""SIGTERM is handled like Ctrl-C: it raises where Ctrl-C would, so every cleanup runs.

A `kill` (the default signal of kill, timeout, systemd and docker stop) would otherwise end the
process at once: temporary files half written, a `pr` worktree still registered, pool workers
left running. Raising KeyboardInterrupt reuses the paths Ctrl-C already takes.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; a KeyboardInterrupt, so `except KeyboardInterrupt` cleanups run for it."""


def terminate_like_interrupt() -> None:
    """Make SIGTERM raise Terminated in the main thread (signal handlers live there only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # A second TERM (a supervisor repeating itself) must not cut the cleanup of the first short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def exit_status(interruption: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process that signal ended."""
    number = signal.SIGTERM if isinstance(interruption, Terminated) else signal.SIGINT
    return 128 + int(number)


def process_alive(pid: int) -> bool:
    """Whether pid names a live process: what -9 debris records (temp names, worktree folders)
    to tell a later run it may remove it. Unsure answers are True: the debris stays."""
    if pid == os.getpid() or pid <= 0 or os.name != "posix":
        return True  # ours; kill(0) signals a group; on Windows kill() terminates
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True  # EPERM: alive, another user's
    return True
