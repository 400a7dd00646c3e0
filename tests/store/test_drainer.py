"""The drainer against a real HTTP server on 127.0.0.1 that can be stopped, started, and made to
drop its answer after applying a batch: nothing is lost and nothing is applied twice.

The server deduplicates by the sha256 of each body, as the team server does; the send function
is what the HTTP store does in miniature (one POST per group, length-prefixed bodies).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lineal.errors import StoreUnavailable
from lineal.model.ops import TagSet
from lineal.store.batches import decode_batch
from lineal.store.drainer import Drainer
from lineal.store.spool import Pending, Spool

_LEN = struct.Struct("<Q")


class Ledger:
    """What the server keeps: batches applied (once each), every digest received."""

    def __init__(self) -> None:
        self.applied: dict[str, bytes] = {}
        self.received: list[str] = []
        self.duplicates = 0
        self.drop_answers = 0  # apply the next N requests, then hang up without answering
        self.lock = threading.Lock()


class Server:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.port = 0
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ledger = self.ledger

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers["Content-Length"]))
                acked = []
                with ledger.lock:
                    at = 0
                    while at < len(data):
                        (n,) = _LEN.unpack_from(data, at)
                        body = data[at + 8 : at + 8 + n]
                        at += 8 + n
                        digest = "sha256:" + hashlib.sha256(body).hexdigest()
                        ledger.received.append(digest)
                        if digest in ledger.applied:
                            ledger.duplicates += 1
                        else:
                            ledger.applied[digest] = body
                        acked.append(digest)
                    drop = ledger.drop_answers > 0
                    ledger.drop_answers -= drop
                if drop:  # applied, but the acknowledgement never reaches the client
                    self.close_connection = True
                    self.connection.close()
                    return
                answer = json.dumps({"acked": acked}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def sender(server: Server) -> Callable[[Sequence[Pending]], list[str]]:
    def send(group: Sequence[Pending]) -> list[str]:
        data = b"".join(_LEN.pack(len(p.body)) + p.body for p in group)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("POST", "/batches", body=data)
            reply = conn.getresponse()
            return list(json.loads(reply.read())["acked"])
        except (OSError, http.client.HTTPException) as exc:
            raise StoreUnavailable(f"server at port {server.port}: {exc}") from exc
        finally:
            conn.close()

    return send


@pytest.fixture
def server() -> Iterator[Server]:
    one = Server(Ledger())
    one.start()
    yield one
    one.stop()


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for a condition the drainer thread brings about (generous bound, not a timing
    assertion: it only keeps a broken drainer from hanging the suite)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


def tag(i: int) -> TagSet:
    return TagSet(target="sha256:" + "b" * 64, key=f"k{i}", value=str(i))


def test_down_server_then_lost_ack_loses_nothing_and_applies_once(
    tmp_path: Path, server: Server
) -> None:
    server.stop()  # down from the start
    with Spool(tmp_path) as spool:
        drainer = Drainer(
            spool, sender(server), interval=0.01, max_batch_bytes=600, max_backoff=0.05
        ).start()
        try:
            put = [spool.put([tag(i)], agent="alice") for i in range(20)]
            until(lambda: drainer.failures >= 3, "three failed sends")
            assert isinstance(drainer.error, StoreUnavailable)
            assert [p.digest for p in spool.pending()] == put  # nothing lost while down
            server.ledger.drop_answers = 2  # the first two groups are applied, answers lost
            server.start()
            put += [spool.put([tag(i)], agent="alice") for i in range(20, 30)]
            until(lambda: not spool.pending(), "the spool drained")
        finally:
            drainer.close()
        ledger = server.ledger
        assert sorted(ledger.applied) == sorted(put)  # every batch, each applied once
        assert ledger.duplicates >= 1  # the unacknowledged groups were sent again
        assert len(ledger.received) == len(put) + ledger.duplicates
        for digest in put:
            assert decode_batch(ledger.applied[digest]).agent == "alice"
        assert drainer.failures == 0
        assert drainer.error is None


def test_after_a_restart_unacknowledged_batches_are_sent_again(
    tmp_path: Path, server: Server
) -> None:
    # No "sent" mark on disk: a batch the server applied but never acknowledged is still in
    # the spool after a restart, goes again, and the server says it had it.
    with Spool(tmp_path) as spool:
        digests = [spool.put([tag(i)], agent="alice") for i in range(3)]
        server.ledger.drop_answers = 1
        assert Drainer(spool, sender(server), interval=0.01).flush(timeout=0) == digests
    assert sorted(server.ledger.applied) == sorted(digests)
    with Spool(tmp_path) as spool:
        assert Drainer(spool, sender(server), interval=0.01).flush(timeout=30) == []
    assert server.ledger.duplicates == 3
    assert sorted(server.ledger.applied) == sorted(digests)
    with Spool(tmp_path) as spool:
        assert spool.pending() == []


def test_flush_reports_what_is_still_pending_while_down(tmp_path: Path, server: Server) -> None:
    server.stop()
    with Spool(tmp_path) as spool:
        digests = [spool.put([tag(i)], agent="alice") for i in range(2)]
        drainer = Drainer(spool, sender(server), interval=0.01, max_backoff=0.02)
        assert drainer.flush(timeout=0.1) == digests
        assert drainer.failures >= 1
        server.start()
        assert drainer.flush(timeout=30) == []
    assert sorted(server.ledger.applied) == sorted(digests)


def test_only_digests_that_were_sent_are_acknowledged(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        digests = [spool.put([tag(i)], agent="alice") for i in range(3)]
        # a confused server acks more than it was sent: the rest stay spooled
        drainer = Drainer(spool, lambda group: [*digests], max_batch_bytes=1)
        assert drainer.flush(timeout=0) == []
        calls: list[int] = []

        def partial(group: Sequence[Pending]) -> list[str]:
            calls.append(len(group))
            return []  # the server took none: the drainer stops rather than spin

        more = spool.put([tag(9)], agent="alice")
        assert Drainer(spool, partial).flush(timeout=0) == [more]
        assert calls == [1]


def test_a_failing_send_does_not_kill_the_thread(tmp_path: Path) -> None:
    failures = iter([RuntimeError("bug"), None])
    seen = threading.Event()

    def send(group: Sequence[Pending]) -> list[str]:
        exc = next(failures)
        if exc is not None:
            raise exc
        seen.set()
        return [p.digest for p in group]

    with Spool(tmp_path) as spool:
        spool.put([tag(1)], agent="alice")
        drainer = Drainer(spool, send, interval=0.01, max_backoff=0.02).start()
        try:
            assert seen.wait(60)
            until(lambda: not spool.pending(), "the spool drained")
        finally:
            drainer.close()


def test_puts_while_the_server_is_away_do_not_run_up_the_backoff(tmp_path: Path) -> None:
    """Each put wakes the drainer; while it backs off that is no reason to try again (a
    hundred puts during a short outage had pushed the next try to max_backoff, so a sync
    after the server came back waited a minute)."""
    tries: list[int] = []

    def down(group: Sequence[Pending]) -> list[str]:
        tries.append(len(group))
        raise StoreUnavailable("the server is away")

    with Spool(tmp_path) as spool:
        drainer = Drainer(spool, down, interval=0.1, max_backoff=600).start()
        try:
            for i in range(100):
                spool.put([tag(i)], agent="alice")
                drainer.wake()
                time.sleep(0.002)
        finally:
            drainer.close()
    assert 1 <= len(tries) <= 6  # about log2(elapsed / interval) tries, not one per put
    assert drainer.failures == len(tries)
