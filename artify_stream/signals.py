"""Ctrl-C and SIGTERM end a job the same way: as a KeyboardInterrupt in the main thread.

SIGTERM (docker stop, systemd, `timeout`, CI time-outs) is raised as `Terminated`, a
KeyboardInterrupt, so every clean-up path written for Ctrl-C (finish the partial file, keep the
last checkpoint, close the sinks) runs for it too; the exit code then says which it was.
"""

from __future__ import annotations

import signal

_received: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C."""


def _on_signal(signum: int, frame) -> None:
    global _received
    _received = signum
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> None:
    """Call from the main thread of the program (the CLI does, first thing)."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def finished(code: int) -> None:
    """The command is done (its files are closed): a Ctrl-C or SIGTERM during interpreter shutdown
    (joining threads, flushing) ends the process at once with the command's own exit code,
    instead of a KeyboardInterrupt escaping into shutdown and killing it by signal."""
    import os

    def _exit_now(signum: int, frame) -> None:
        os._exit(code)

    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)


def stop_exit_code(exc: BaseException | None = None) -> int:
    """128 + the signal that stopped us: 130 for Ctrl-C, 143 for SIGTERM."""
    if isinstance(exc, Terminated) or _received == signal.SIGTERM:
        return 128 + signal.SIGTERM
    return 128 + signal.SIGINT
