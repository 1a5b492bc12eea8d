"""What the drills measure about this process: memory and open file descriptors (Linux /proc)."""

from __future__ import annotations

import gc
import os
import resource

__all__ = ["open_fds", "rss_mb"]

_PAGE_BYTES = resource.getpagesize()


def rss_mb() -> float:
    """Resident memory of this process now, in MB, after a full garbage collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * _PAGE_BYTES / 1e6


def open_fds() -> int:
    """How many file descriptors this process has open (sockets included)."""
    return len(os.listdir("/proc/self/fd"))
