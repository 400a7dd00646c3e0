"""The drainer: a background thread that sends spooled batches and drops what the server acks.

Sends in spool order, backs off (capped) while the server is away, and never loses a batch:
only a digest the server answered with leaves the spool. Never blocks a ``put``, never prints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from lineal.errors import PermissionDenied, StoreUnavailable
from lineal.store.spool import Pending, Spool

log = logging.getLogger(__name__)

#: send(batches) -> the digests the server confirmed (accepted, or already had).
Send = Callable[[Sequence[Pending]], Sequence[str]]


#: How often an explicit flush (`lineal sync`) tries again while the server is away (seconds).
FLUSH_RETRY = 1.0


class Drainer:
    """Send what the spool holds every ``interval`` seconds, in groups of ``max_batch_bytes``.

    ``send`` raises :class:`StoreUnavailable` when the server cannot be reached; the drainer
    then waits ``interval * 2**failures`` (at most ``max_backoff``) before the next try. Any
    other error is kept in ``error`` and treated the same way: the batches stay spooled.
    """

    def __init__(
        self,
        spool: Spool,
        send: Send,
        *,
        interval: float = 1.0,
        max_batch_bytes: int = 8 << 20,
        max_backoff: float = 60.0,
    ) -> None:
        self.spool = spool
        self._send = send
        self.interval = interval
        self.max_batch_bytes = max_batch_bytes
        self.max_backoff = max_backoff
        self.failures = 0  # consecutive failed sends
        self.error: BaseException | None = None  # the last one, until a send succeeds
        self._retry_at = 0.0  # monotonic time of the next try while failing
        self._send_lock = threading.Lock()  # the thread and flush() never send at once
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lineal-drainer", daemon=True)

    def start(self) -> Drainer:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Try now instead of at the end of the current wait (after a put, say)."""
        self._wake.set()

    def delay(self) -> float:
        """How long the thread waits before its next try."""
        if not self.failures:
            return self.interval
        return min(self.max_backoff, self.interval * 2.0**self.failures)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.delay())
            self._wake.clear()
            # While backing off, a put's wake does not bring the next try forward: else each
            # put is a failed try and the wait reaches max_backoff within seconds of an outage.
            while self.failures and not self._stop.is_set():
                left = self._retry_at - time.monotonic()
                if left <= 0:
                    break
                self._stop.wait(left)
            if self._stop.is_set():
                return
            with self._send_lock:
                self._drain()

    def _drain(self) -> bool:
        """Send until nothing is pending (True) or a send fails (False). Holds _send_lock."""
        while not self._stop.is_set() or threading.current_thread() is not self._thread:
            group = self.spool.pending(self.max_batch_bytes)
            if not group:
                return True
            try:
                acked = self._send(group)
            except StoreUnavailable as exc:
                self._failed(exc)
                return False
            except Exception as exc:  # a bug in send must not kill the thread or lose data
                log.exception("sending spooled batches failed")
                self._failed(exc)
                return False
            self.failures, self.error = 0, None
            sent = {one.digest for one in group}
            self.spool.acknowledge(d for d in acked if d in sent)
            if not sent & set(acked):
                return False  # the server took none of them: do not spin on the same group
        return False

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.error = exc
        self._retry_at = time.monotonic() + self.delay()
        log.warning("server unavailable, batches stay spooled: %s", exc)

    def flush(self, timeout: float) -> list[str]:
        """Send everything now, retrying with backoff for up to ``timeout`` seconds; return
        the digests still pending (empty when the server has acknowledged every batch).

        A send in progress is not interrupted: the HTTP store's own timeout bounds it."""
        deadline = time.monotonic() + timeout
        with self._send_lock:
            while not self._drain():
                left = deadline - time.monotonic()
                if left <= 0 or isinstance(self.error, PermissionDenied):
                    break  # a refused token or role: trying again at once changes nothing
                self._stop.wait(min(left, self.delay(), FLUSH_RETRY))  # asked for now: try often
        return [one.digest for one in self.spool.pending()]

    def close(self, timeout: float | None = None) -> None:
        """Stop the thread (after the send in progress, if any); the spool keeps the rest."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
