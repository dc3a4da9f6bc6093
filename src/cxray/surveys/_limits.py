"""Abuse limits on anonymous survey submissions: rate limits and duplicate detection.

Each server process keeps, in memory, one token bucket per client address and
one per survey (``[surveys.limits]`` in ``cxray.toml``). A request costs a dict
lookup and a few arithmetic operations; at most ``max_addresses`` addresses are
remembered, the least recently seen dropped first. Only anonymous submissions
are limited: an invitation admits one response anyway, a request with an API
key is trusted, and ``exempt`` addresses (by default loopback) are not limited.
The address is whatever the server reports (behind a reverse proxy: the
forwarded one, if the proxy is trusted).

Duplicates: the same answers from the same address to the same survey within
``duplicate_window_s`` are acknowledged with the first one's receipt and not
stored again (a repeat with the same ``submission_id`` is already idempotent).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cxray.config._surveys import SubmissionLimits, parse_rate
from cxray.exceptions import RateLimitedError

__all__ = ["SubmissionGuard", "guard_for"]


class _Buckets:
    """Token buckets by key: ``rate`` tokens per ``period`` seconds, at most ``rate`` saved."""

    def __init__(self, rate: int, period: float, max_keys: int):
        self.capacity = float(rate)
        self.per_s = rate / period
        self.max_keys = max_keys
        self._state: OrderedDict[str, list[float]] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """Take a token; 0.0 if granted, else the seconds until one is there."""
        st = self._state.get(key)
        if st is None:
            self._state[key] = [self.capacity - 1.0, now]
            if len(self._state) > self.max_keys:
                self._state.popitem(last=False)
            return 0.0
        tokens = min(self.capacity, st[0] + (now - st[1]) * self.per_s)
        st[1] = now
        self._state.move_to_end(key)
        if tokens >= 1.0:
            st[0] = tokens - 1.0
            return 0.0
        st[0] = tokens
        return (1.0 - tokens) / self.per_s

    def give_back(self, key: str) -> None:
        st = self._state.get(key)
        if st is not None:
            st[0] = min(self.capacity, st[0] + 1.0)


class SubmissionGuard:
    """The limits of one server process: :meth:`admit` before a submission, then
    :meth:`duplicate_of` / :meth:`remember` around storing it."""

    def __init__(self, limits: SubmissionLimits, *, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        a, s = parse_rate(limits.per_address), parse_rate(limits.per_survey)
        self._by_address = _Buckets(*a, limits.max_addresses) if a else None
        self._by_survey = _Buckets(*s, 100_000) if s else None
        self._exempt = frozenset(limits.exempt)
        self._seen: OrderedDict[tuple[str, str, str], tuple[float, Any]] = OrderedDict()
        self.refused = 0
        self.duplicates = 0

    def admit(self, survey: str, address: str) -> None:
        """Count one anonymous submission; RateLimitedError (with retry_after) over a limit."""
        if address in self._exempt:
            return
        with self._lock:
            now = self.clock()
            wait, what = 0.0, ""
            if self._by_address is not None:
                wait = self._by_address.take(address, now)
                what = f"from {address} (limit {self.limits.per_address})"
            if not wait and self._by_survey is not None:
                wait = self._by_survey.take(survey, now)
                what = f"to survey {survey!r} (limit {self.limits.per_survey})"
                if wait and self._by_address is not None:
                    self._by_address.give_back(address)  # refused: not counted against it
            if wait:
                self.refused += 1
                secs = max(1, math.ceil(wait))
                raise RateLimitedError(
                    f"too many survey submissions {what}; try again in {secs} s",
                    retry_after=secs,
                )

    @staticmethod
    def fingerprint(answers: Any) -> str:
        text = json.dumps(answers, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    def duplicate_of(self, survey: str, address: str, answers: Any) -> Any | None:
        """The receipt of the same answers from this address within the window, if any."""
        window = self.limits.duplicate_window_s
        if not window:
            return None
        key = (survey, address, self.fingerprint(answers))
        with self._lock:
            hit = self._seen.get(key)
            if hit is None:
                return None
            if hit[0] <= self.clock() - window:
                del self._seen[key]
                return None
            self.duplicates += 1
            return hit[1]

    def remember(self, survey: str, address: str, answers: Any, receipt: Any) -> None:
        """Note stored answers so that a repeat within the window is recognised."""
        window = self.limits.duplicate_window_s
        if not window:
            return
        key = (survey, address, self.fingerprint(answers))
        with self._lock:
            now = self.clock()
            self._seen[key] = (now, receipt)
            self._seen.move_to_end(key)
            while self._seen:  # drop what has left the window, and the oldest beyond the cap
                oldest_key, (t, _) = next(iter(self._seen.items()))
                if t > now - window and len(self._seen) <= self.limits.max_addresses:
                    break
                del self._seen[oldest_key]


_GUARDS: weakref.WeakKeyDictionary[Any, SubmissionGuard] = weakref.WeakKeyDictionary()
_GUARDS_LOCK = threading.Lock()


def guard_for(ws: Any) -> SubmissionGuard:
    """The guard of workspace ``ws`` in this process (one per workspace, shared by the
    dashboard's survey pages and the API); rebuilt if ``[surveys.limits]`` changed."""
    limits = ws.config.surveys.limits
    guard = _GUARDS.get(ws)
    if guard is None or guard.limits is not limits:
        with _GUARDS_LOCK:
            guard = _GUARDS.get(ws)
            if guard is None or guard.limits is not limits:
                guard = SubmissionGuard(limits)
                _GUARDS[ws] = guard
    return guard
