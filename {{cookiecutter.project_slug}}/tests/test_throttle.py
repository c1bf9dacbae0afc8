"""The sign-in throttle on its own, with a clock the test moves (``throttle.py``)."""

from {{ cookiecutter.project_slug }}.throttle import FIRST_DELAY, FREE_FAILURES, MAX_DELAY, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_failures_cost_nothing() -> None:
    throttle = Throttle(Clock())
    for _ in range(FREE_FAILURES - 1):
        throttle.failed("name:alice")
    assert throttle.wait("name:alice") == 0.0


def test_after_the_free_failures_the_wait_doubles() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    waits = []
    for _ in range(FREE_FAILURES + 3):
        throttle.failed("name:alice")
        waits.append(throttle.wait("name:alice"))
    assert waits[FREE_FAILURES - 1 :] == [FIRST_DELAY * 2**n for n in range(4)]


def test_the_wait_shrinks_as_time_passes_and_never_exceeds_the_maximum() -> None:
    clock = Clock()
    throttle = Throttle(clock)
    for _ in range(FREE_FAILURES + 40):
        throttle.failed("address:192.0.2.1")
    assert throttle.wait("address:192.0.2.1") == MAX_DELAY
    clock.now += MAX_DELAY
    assert throttle.wait("address:192.0.2.1") == 0.0


def test_the_longest_wait_of_the_keys_applies() -> None:
    throttle = Throttle(Clock())
    for _ in range(FREE_FAILURES + 1):
        throttle.failed("address:192.0.2.1")
    assert throttle.wait("name:bob", "address:192.0.2.1") > 0


def test_success_clears_the_account() -> None:
    throttle = Throttle(Clock())
    for _ in range(FREE_FAILURES + 2):
        throttle.failed("name:alice")
    throttle.succeeded("name:alice")
    assert throttle.wait("name:alice") == 0.0
