"""SHA-256 computed on a helper thread while the upload is written to disk.

Hashing a gigabyte costs about 0.6 s of one core. Done in line it adds that
to every upload; done here it overlaps the disk writes, because ``hashlib``
releases the GIL while it digests more than 2 KiB at a time. The queue is
short, so at most a few chunks wait in memory however large the file is.
"""

import hashlib
import queue
import threading


class BackgroundSha256:
    """Feed chunks with :meth:`update`; :meth:`hexdigest` waits for the last one."""

    def __init__(self, depth: int = 4) -> None:
        self._hash = hashlib.sha256()
        self._chunks: queue.Queue[bytes | memoryview | None] = queue.Queue(depth)
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def update(self, chunk: bytes | memoryview) -> None:
        """Queue ``chunk`` for hashing; blocks only if the hasher is behind."""
        self._chunks.put(chunk)

    def hexdigest(self) -> str:
        """Finish hashing and return the hex digest. Also ends the thread."""
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()
        return self._hash.hexdigest()

    def _run(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._hash.update(chunk)
