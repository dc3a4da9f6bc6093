"""The loop inside ``cxray serve``: rules on a schedule, notifications as they fall due.

One daemon thread: at start it catches up (every rule, over whatever arrived while the
server was down, and every message left in the outbox), then checks KPI and
emerging-issue rules (and row rules whose conditions need enrichment or features) every
``[loop] check_every``, and delivers due notifications every few seconds. A failure is
logged and the thread goes on; stopping waits for the current step to finish.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from cxray._background import Background

__all__ = ["LoopRunner"]

log = logging.getLogger("cxray.loop")

#: how often due notifications are looked for
DELIVER_EVERY = 5.0


class LoopRunner(Background):
    def __init__(self, loop: Any, *, deliver_every: float = DELIVER_EVERY):
        super().__init__(
            "cxray-loop", every=deliver_every, log=log, failed="loop: the scheduled step failed"
        )
        self.loop = loop
        self.interval = loop.config.loop.interval.total_seconds()
        self.deliver_every = deliver_every
        self._next_check = 0.0
        #: completed checks and delivery rounds (for tests)
        self.checks = 0
        self.rounds = 0

    def start(self) -> None:
        if self._thread is None:
            self._next_check = 0.0  # a start, or a start after a stop, catches up first
        super().start()

    def tick(self) -> float:
        from cxray.loop._delivery import deliver

        now = time.monotonic()
        if now >= self._next_check:
            try:
                report = self.loop.run(deliver=False)
                if report.errors:
                    log.warning("loop: rules not evaluated: %s", report.errors)
            except Exception:
                log.exception("loop: the scheduled check failed")
            self.checks += 1
            self._next_check = now + self.interval
        try:
            deliver(self.loop.store, self.loop.config, lock=self.loop.lock, stop=self.stopping)
        except Exception:
            log.exception("loop: delivery failed")
        self.rounds += 1
        return min(self.deliver_every, self._next_check - time.monotonic())
