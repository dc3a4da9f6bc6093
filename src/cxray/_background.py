"""The timer the schedules inside ``cxray serve`` share: one daemon thread that runs a step
at start and then again when the step says, until it is stopped.

The report schedule (``reports/_schedule.py``), the retention purge
(``privacy/_retention.py``) and the closed loop's runner (``loop/_runner.py``) are each a
:class:`Background` whose :meth:`~Background.tick` does one run. A step that raises is
logged, counted in ``failures`` and tried again after ``every`` seconds; the thread never
dies of it. :meth:`~Background.stop` sets the stop event (a wait ends at once) and waits up
to its timeout for a step in progress to finish.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["Background"]


class Background:
    """A daemon thread named ``name`` that calls :meth:`tick` at :meth:`start` and then after
    the seconds :meth:`tick` returns (``None``: ``every``), until :meth:`stop`. A failed tick
    is logged on ``log`` with ``failed`` as the message and counted in ``failures``."""

    def __init__(self, name: str, *, every: float, log: logging.Logger, failed: str):
        self.name = name
        self.every = every
        self._log = log
        self._failed = failed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: ticks that raised (for tests and health)
        self.failures = 0

    def tick(self) -> float | None:
        """One run; the seconds until the next (``None``: ``every``)."""
        raise NotImplementedError

    def stopping(self) -> bool:
        """Whether :meth:`stop` has been called (a long step may look and end early)."""
        return self._stop.is_set()

    def start(self) -> None:
        """Start the thread (again after a :meth:`stop`); nothing when it runs already."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to end and wait up to ``timeout`` seconds for the step in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            wait: float | None
            try:
                wait = self.tick()
            except Exception:
                self.failures += 1
                self._log.exception(self._failed)
                wait = None
            self._stop.wait(self.every if wait is None else max(0.0, wait))
