"""The loop inside ``cxray serve``: rules on a schedule, notifications as they fall due.

One daemon thread: at start it catches up (every rule, over whatever arrived while the
server was down, and every message left in the outbox), then checks KPI and
emerging-issue rules (and row rules whose conditions need enrichment or features) every
``[loop] check_every``, and delivers due notifications every few seconds. A failure is
logged and the thread goes on; stopping waits for the current step to finish.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["LoopRunner"]

log = logging.getLogger("cxray.loop")

#: how often due notifications are looked for
DELIVER_EVERY = 5.0


class LoopRunner:
    def __init__(self, loop: Any, *, deliver_every: float = DELIVER_EVERY):
        self.loop = loop
        self.interval = loop.config.loop.interval.total_seconds()
        self.deliver_every = deliver_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: completed checks and delivery rounds (for tests)
        self.checks = 0
        self.rounds = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cxray-loop", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        from cxray.loop._delivery import deliver

        next_check = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_check:
                try:
                    report = self.loop.run(deliver=False)
                    if report.errors:
                        log.warning("loop: rules not evaluated: %s", report.errors)
                except Exception:
                    log.exception("loop: the scheduled check failed")
                self.checks += 1
                next_check = now + self.interval
            try:
                deliver(
                    self.loop.store, self.loop.config, lock=self.loop.lock, stop=self._stop.is_set
                )
            except Exception:
                log.exception("loop: delivery failed")
            self.rounds += 1
            self._stop.wait(min(self.deliver_every, max(0.0, next_check - time.monotonic())))
