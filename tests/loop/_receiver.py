"""A webhook receiver on loopback that does what a careful receiver does.

Every request is recorded with its headers and body. A request whose signature does not
verify (``cxray.loop.verify_signature`` with the shared secret) is refused with 401 and
not acted on; otherwise the receiver *acts* on each ``Idempotency-Key`` the first time it
sees it and counts every later request with that key as a repeat (answered 200 without
acting), as the documentation asks of receivers. Tests may make it answer errors
(``respond``) or hold requests open (``hold``), to see retries and deliveries killed in
flight.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cxray.loop import verify_signature


@dataclass(frozen=True)
class Delivery:
    path: str
    key: str | None
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``start()`` gives its URL; ``deliveries``, ``acted`` and ``repeats`` tell what came."""

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        respond: Callable[[str | None, int], int] | None = None,
    ):
        self.secret = secret
        #: ``respond(key, nth)`` -> the status to answer the nth request (1, 2, ...) of a key
        self.respond = respond
        self.deliveries: list[Delivery] = []
        self.acted: dict[str, Any] = {}
        self.repeats: Counter[str] = Counter()
        self.refused = 0
        self.lock = threading.RLock()
        #: while set, each request is recorded, acted on, then held open until released
        self.hold = threading.Event()
        self.holding = threading.Event()  # set while a request is held
        self.release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ running
    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------ one request
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in h.headers.items()}
        key = headers.get("idempotency-key")
        verified = self.secret is None or verify_signature(
            self.secret,
            headers.get("x-cxray-timestamp", ""),
            body,
            headers.get("x-cxray-signature", ""),
        )
        with self.lock:
            self.deliveries.append(Delivery(h.path, key, headers, body, verified, time.time()))
            nth = sum(1 for d in self.deliveries if d.key == key)
            status = self.respond(key, nth) if self.respond else 200
            if not verified or key is None:
                status = 401
                self.refused += 1
            elif 200 <= status < 300:
                if key in self.acted:
                    self.repeats[key] += 1
                else:
                    self.acted[key] = json.loads(body)
        if self.hold.is_set() and 200 <= status < 300:
            self.holding.set()
            self.release.wait(30)
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.end_headers()
            h.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "no"}')
        except OSError:  # the sender is gone (killed while we held the request)
            pass

    # ------------------------------------------------------------ reading
    def keys(self) -> list[str | None]:
        with self.lock:
            return [d.key for d in self.deliveries]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.05)
        return False
