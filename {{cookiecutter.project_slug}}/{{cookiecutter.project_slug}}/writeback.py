"""Make a file durable while it is still being written, not only at the end.

``fsync`` after the last byte of a 1 GiB upload waits for the disk to take
the whole gigabyte: about half a second during which nothing else happens.
Asking for it every few dozen megabytes, on a helper thread, lets the disk
work while the upload is still being parsed, written and hashed, so the
final ``fsync`` only waits for the last few megabytes.

``fdatasync`` releases the GIL and may run while another thread writes to
the same file; Linux reports a write-back error to the first sync that sees
it, so the error is kept and raised by :meth:`EarlyWriteback.close`, where
the final ``fsync`` would otherwise never hear of it.
"""

import os
import threading

WRITEBACK_EVERY = 32 * 1024 * 1024


class EarlyWriteback:
    """Tell it how much was written (:meth:`wrote`); it syncs in the background."""

    def __init__(self, fd: int, every: int | None = None) -> None:
        self._fd = fd
        self._every = every or WRITEBACK_EVERY
        self._unsynced = 0
        self._wanted = threading.Event()
        self._closing = False
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None  # started when a file grows past ``every``

    def wrote(self, nbytes: int) -> None:
        """Count ``nbytes`` more written; past ``every``, wake the syncing thread."""
        self._unsynced += nbytes
        if self._unsynced < self._every:
            return
        self._unsynced = 0
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="writeback", daemon=True)
            self._thread.start()
        self._wanted.set()

    def close(self) -> None:
        """Stop the thread; raise the ``OSError`` a background sync met, if any."""
        if self._thread is not None:
            self._closing = True
            self._wanted.set()
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closing:
                return
            try:
                os.fdatasync(self._fd)
            except OSError as error:
                self._error = error
                return
