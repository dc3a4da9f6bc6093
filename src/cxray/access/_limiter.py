"""A failed-login rate limiter: at most N failures per client in a sliding window.

A *client* is any string: :func:`cxray.access.log_in` counts each wrong key
against the address it came from and against the key prefix it named. The
limiter is only consulted after a key failed to verify, so it delays guesses,
never a valid key.

It lives in memory, in the one server process that holds the store, so it
resets when the server restarts; that suits keys as random as cxray's, where
the limiter keeps logs and CPU quiet rather than guarding guessable secrets.
The client is whatever address the server sees; behind a reverse proxy that is
the proxy's, so limit there too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from cxray.exceptions import RateLimitedError

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """Counts failed logins per client over the last ``window`` seconds.

    After ``max_failures`` failures within the window, :meth:`check` raises
    :class:`RateLimitedError` (with ``retry_after``) until the oldest failure
    leaves the window. :meth:`success` clears a client's failures (``log_in``
    does not call it: a valid key must not reset the count for guessers at the
    same address). At most
    ``max_clients`` clients are tracked; the least recently seen is dropped
    first, so memory stays bounded under a flood of addresses.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 300.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be ≥ 1 and window > 0")
        self.max_failures = max_failures
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def check(self, client: str) -> None:
        """Raise RateLimitedError if ``client`` has used up its failures."""
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            if len(times) >= self.max_failures:
                wait = max(1, math.ceil(times[0] + self.window - now))
                raise RateLimitedError(
                    f"too many failed logins from {client}; try again in {wait} s",
                    retry_after=wait,
                )

    def failure(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            times = self._recent(client, now)
            times.append(now)
            self._failures[client] = times
            self._failures.move_to_end(client)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)

    def success(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def failures(self, client: str) -> int:
        with self._lock:
            return len(self._recent(client, self._clock()))
