"""Tests wait on conditions with a deadline, never on a fixed sleep: a loaded machine only makes
them slower, never wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import av

POLL_S = 0.05  # how often a condition is looked at (not how long anything is given to happen)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Return as soon as `condition()` is true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(POLL_S)


def frames_recorded(path: Path) -> int:
    """Frames decodable so far in a recording that is still being written (its flushed fragments)."""
    if not path.exists():
        return 0
    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except (av.FFmpegError, OSError, EOFError, IndexError):
        pass  # a fragment half-written: what came before it counts
    return count


def port_bound(port: int, protocol: str) -> bool:
    """Whether some process on this machine has bound 127.0.0.1:`port` (tcp: listening; udp: bound)."""
    listening = "0A"  # TCP_LISTEN in /proc/net/tcp's state column
    for table in (f"/proc/net/{protocol}", f"/proc/net/{protocol}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if int(local.rsplit(":", 1)[1], 16) == port and (protocol == "udp" or state == listening):
                return True
    return False
