"""The timer the schedules inside ``cxray serve`` share (``cxray._background``)."""

from __future__ import annotations

import logging
import threading
import time

from cxray._background import Background


class _Steps(Background):
    """Ticks that raise on the chosen calls and return the chosen waits."""

    def __init__(self, *, every: float, waits=(), fail_on=()):
        super().__init__(
            "cxray-test", every=every, log=logging.getLogger("cxray.test"), failed="step failed"
        )
        self.waits = list(waits)
        self.fail_on = set(fail_on)
        self.calls: list[float] = []
        self.thread_names: list[str] = []
        self.done = threading.Event()

    def tick(self):
        self.calls.append(time.monotonic())
        self.thread_names.append(threading.current_thread().name)
        n = len(self.calls)
        if n >= 4:
            self.done.set()
        if n in self.fail_on:
            raise RuntimeError(f"tick {n} broke")
        return self.waits[n - 1] if n <= len(self.waits) else None


def test_ticks_at_start_then_as_told_and_survives_a_failure(caplog):
    timer = _Steps(every=0.05, waits=[0.0, None], fail_on={3})
    with caplog.at_level(logging.ERROR, logger="cxray.test"):
        timer.start()
        try:
            assert timer.done.wait(10)
        finally:
            timer.stop()
    assert len(timer.calls) >= 4
    assert timer.thread_names[0] == "cxray-test"
    assert timer.failures == 1
    failed = [r for r in caplog.records if r.getMessage() == "step failed"]
    assert len(failed) == 1 and "tick 3 broke" in failed[0].exc_text
    gaps = [b - a for a, b in zip(timer.calls, timer.calls[1:], strict=False)]
    # tick 1 asked for no wait; tick 2 (None) and the failed tick 3 wait `every`
    assert gaps[1] >= 0.045 and gaps[2] >= 0.045


def test_stop_ends_a_long_wait_at_once_and_start_runs_again():
    timer = _Steps(every=3600.0)
    timer.start()
    deadline = time.monotonic() + 10
    while not timer.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not timer.stopping()
    began = time.monotonic()
    timer.stop(timeout=5)
    assert time.monotonic() - began < 2  # the hour's wait did not hold it
    assert timer.stopping() and len(timer.calls) == 1
    timer.start()  # a stopped timer starts again, with a fresh tick
    deadline = time.monotonic() + 10
    while len(timer.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    timer.stop(timeout=5)
    assert len(timer.calls) == 2 and timer.failures == 0
