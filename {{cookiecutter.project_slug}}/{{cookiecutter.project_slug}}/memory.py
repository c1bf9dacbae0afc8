"""Keep the server's memory flat: large buffers go back to the system when freed.

glibc's ``malloc`` serves allocations above a threshold with ``mmap`` and
returns them on ``free``; smaller ones come from heaps it keeps. By default
that threshold *rises* to the size of the largest block freed so far (up to
32 MiB). So after the first requests, waitress's 1 MiB socket reads and send
buffers come from the heaps, which stay at their high-water mark: measured
here, the server's RSS ratchets from 42 MiB to about 90 MiB and stays there.

Fixing the threshold at 128 KiB (glibc's own starting value) keeps every
large buffer a mapping of its own, returned as soon as it is freed: the peak
RSS stays under 64 MiB through a 4 GiB upload after any mix of requests, for
about a tenth more CPU per upload (the template's benchmark measures both).
Blocks under the threshold (the 64 KiB chunks of a request body, queued
for the hashing thread) come from the heap ("arena") of the thread that
allocated them, and glibc gives each thread an arena of its own, up to
eight per core. Each server thread's arena kept its high-water mark of
about 6 MiB after its first upload, so the RSS ratcheted by that much per
thread (measured with ``/proc/self/smaps`` in the S3 upload benchmark). One
arena for the process keeps them in one place: the GIL lets one thread run
Python at a time, so threads hardly ever wait for each other's ``malloc``.

Other C libraries (macOS, musl) manage memory their own way; for them this
is a no-op.
"""

import ctypes

from pyramid.config import Configurator

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 1


def keep_memory_flat() -> bool:
    """Fix glibc's mmap threshold and arena count for this process; whether the C library took them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # no mallopt: not glibc
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_ARENA_MAX, ARENA_MAX) == 1


def includeme(config: Configurator) -> None:
    """Keep memory flat in the process that serves this application."""
    keep_memory_flat()
