"""Slowing down password guessing, per account name and per client address.

Each key (``name:alice``, ``address:192.0.2.1``) may fail :data:`FREE_FAILURES`
times; after that, each attempt must wait twice as long as the last after the
previous failure (1 s, 2 s, 4 s... at most :data:`MAX_DELAY`). A success
clears the account's key. Counting per name stops a slow guess at one
account from many addresses; per address, one client trying many names.

The state lives in the process: each server process counts on its own, and
a restart forgets (fine for slowing guesses, not a lockout). The clock is a
parameter so tests can move time without sleeping.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

FREE_FAILURES = 5
FIRST_DELAY = 1.0  # seconds
MAX_DELAY = 900.0  # seconds
MAX_KEYS = 100_000  # the oldest are forgotten first: memory stays bounded under a flood


class Throttle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key: (count, time of the last)
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before any of ``keys`` may try again (0.0: now)."""
        now = self.clock()
        with self._lock:
            known = [self._failures[key] for key in keys if key in self._failures]
        waits = [self._delay(count) - (now - last) for count, last in known]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                count = self._failures.pop(key, (0, now))[0]
                self._failures[key] = (count + 1, now)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    @staticmethod
    def _delay(count: int) -> float:
        """How long after the last failure the next attempt may come, after ``count`` failures."""
        if count < FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY, FIRST_DELAY * 2 ** (count - FREE_FAILURES))
