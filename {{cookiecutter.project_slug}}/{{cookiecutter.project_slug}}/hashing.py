"""SHA-256 computed on a helper thread while the upload is written to disk.

Hashing a gigabyte costs about 0.85 s of one core here (OpenSSL, with the
CPU's SHA instructions). Done in line it adds that to every upload; done
here it overlaps the disk writes, because ``hashlib`` releases the GIL while
it digests more than 2 KiB at a time.

Chunks are handed over in batches of about a megabyte, not one by one: with
64 KiB chunks, a queue hand-off per chunk (a lock, a GIL switch, a thread
wake-up) cost more CPU than it saved (``benchmarks/RESULTS.md``). The queue
is short, so at most ``(depth + 2) * batch_bytes`` of chunks wait in memory
however large the file is; they are the chunks themselves, never copies.
"""

import hashlib
import queue
import threading

Chunk = bytes | memoryview


class BackgroundSha256:
    """Feed chunks with :meth:`update`; :meth:`hexdigest` waits for the last one.

    The chunks must not change after :meth:`update` (``bytes``, or views of
    ``bytes``): the thread reads them later.
    """

    def __init__(self, depth: int = 4, batch_bytes: int = 1024 * 1024, state: "hashlib._Hash | None" = None) -> None:
        # ``state``: a running hash to go on from (a resumable upload's, ``resumable.py``).
        self._hash = state if state is not None else hashlib.sha256()
        self._batches: queue.Queue[list[Chunk] | None] = queue.Queue(depth)
        self._batch: list[Chunk] = []
        self._batch_size = 0
        self._batch_bytes = batch_bytes
        self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
        self._thread.start()

    def update(self, chunk: Chunk) -> None:
        """Queue ``chunk`` for hashing; blocks only if the hasher is behind."""
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        if self._batch_size >= self._batch_bytes:
            self._hand_over()

    def hexdigest(self) -> str:
        """Finish hashing and return the hex digest. Also ends the thread."""
        if self._thread.is_alive():
            self._hand_over()
            self._batches.put(None)
            self._thread.join()
        return self._hash.hexdigest()

    def finish(self) -> "hashlib._Hash":
        """Wait for every chunk to be hashed; the running hash, to go on from later. Ends the thread."""
        self.hexdigest()
        return self._hash

    def _hand_over(self) -> None:
        if self._batch:
            self._batches.put(self._batch)
            self._batch = []
            self._batch_size = 0

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            for chunk in batch:
                self._hash.update(chunk)
