"""The HTTP store's writes: signed batches into a durable local spool, sent in the background.

``atomic()`` gathers ops per thread (nested blocks roll back alone, like savepoints); at the
outermost exit, or at a bare ``append``, the ops become one batch the agent signs
(lineal.store.batches) and the spool holds on disk (fsynced) before the call returns. A
drainer thread sends spooled batches to ``POST .../batches``; only the server's answer takes
a batch out of the spool, and the server never appends a batch twice, so a resend after a
lost answer is harmless. Nothing a write returns waits for the network: records come back
numbered, timed and hashed as stored when the server answered within LINEAL_WRITE_WAIT
seconds (a refusal is raised then, as a SQL store raises it), else with ``seq`` 0: spooled,
numbered when the server appends them. Metrics never wait: `run.log` buffers and a flusher
thread appends.

Each process spools into a folder of its own under ``LINEAL_SPOOL`` (default
``$XDG_STATE_HOME/lineal/spool``), one per server project; a folder whose process has gone
is adopted and drained by the next writer or by `lineal sync`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lineal.errors import Conflict, InvalidInput, PermissionDenied, StoreUnavailable
from lineal.ledger.chain import Record
from lineal.model import canonical
from lineal.model.digests import digest_bytes

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.model.ops import Op
    from lineal.store.drainer import Drainer
    from lineal.store.spool import Pending, Spool

log = logging.getLogger("lineal.store.http")


def close_wait() -> float:
    """How long closing a store (or a read after writes) waits for the spool to drain before
    leaving the rest spooled: LINEAL_SYNC_TIMEOUT seconds, default 10."""
    return float(os.environ.get("LINEAL_SYNC_TIMEOUT", "10"))


def write_wait() -> float:
    """How long a write waits for the server's answer before it counts as spooled:
    LINEAL_WRITE_WAIT seconds, default 5."""
    return float(os.environ.get("LINEAL_WRITE_WAIT", "5"))


_RECEIPTS = 4096  # answers kept for writes that wait for theirs


def spool_root(base: str) -> Path:
    """The folder holding every process's spool for the server project at ``base``."""
    chosen = os.environ.get("LINEAL_SPOOL")
    if chosen:
        root = Path(chosen)
    else:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        root = Path(state) / "lineal" / "spool"
    return root / hashlib.sha256(base.encode()).hexdigest()[:16]


class SpooledWrites:
    """Mixed into HttpStore: ``post(path, content)`` and ``signer`` come from it."""

    signer: Signer | None
    unsigned: tuple[str, str] | None
    uri: str
    _base: str

    if TYPE_CHECKING:  # the store this is mixed into provides them

        def _post(self, path: str, **kwargs: Any) -> Any: ...
        def trial(
            self, body: bytes, read: tuple[str, dict[str, Any]] | None = None
        ) -> dict[str, Any]: ...

    def _init_writes(self) -> None:
        self._local = threading.local()
        self._spool: Spool | None = None
        self._drainer: Drainer | None = None
        self._adopted: list[tuple[Spool, Drainer]] = []
        self._spool_lock = threading.Lock()
        self.rejected: list[dict[str, Any]] = []  # batches the server refused, with why
        self._receipts: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # -- the spool ------------------------------------------------------------------------
    def _ensure_spool(self) -> Spool:
        from lineal.store.drainer import Drainer
        from lineal.store.spool import Spool

        with self._spool_lock:
            if self._spool is None:
                root = spool_root(self._base)
                root.mkdir(parents=True, exist_ok=True)
                spool = Spool(root / f"p{os.getpid()}-{secrets.token_hex(4)}")
                self._drainer = Drainer(spool, self._send).start()
                self._spool = spool
                self._adopt(root)
            return self._spool

    def _adopt(self, root: Path) -> None:
        """Drain the spools of processes that have gone (their lock is free). A folder with
        no segment is skipped: it may be a starting process's, made but not locked yet, and
        a spool writes its first segment only once it holds its lock."""
        from lineal.store.drainer import Drainer
        from lineal.store.spool import Spool

        mine = self._spool.path if self._spool is not None else None
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p != mine):
            if any(s.path == folder for s, _ in self._adopted):
                continue
            try:
                if not any(folder.glob("seg-*.log")):
                    continue
                spool = Spool(folder)
            except Conflict:
                continue  # a live process's own
            except FileNotFoundError:
                continue  # its process emptied and removed it since the listing
            self._adopted.append((spool, Drainer(spool, self._send).start()))
            self._adopted[-1][1].wake()

    def _send(self, group: Iterable[Pending]) -> list[str]:
        """POST spooled batches; the digests the server answered (appended, appended before,
        or refused for good: a refusal is kept in ``rejected`` and logged)."""
        chosen = list(group)
        answer = self._post("/batches", content=b"\n".join(one.body for one in chosen))
        acked = []
        for receipt in answer["receipts"]:
            acked.append(receipt["digest"])
            self._receipts[receipt["digest"]] = receipt
            while len(self._receipts) > _RECEIPTS:
                self._receipts.popitem(last=False)
            if not receipt["ok"]:
                self.rejected.append(receipt)
                log.error("the server refused batch %s: %s", receipt["digest"], receipt["error"])
        return acked

    # -- writing --------------------------------------------------------------------------
    def _signer(self) -> Signer:
        if self.signer is None:
            message, hint = self.unsigned or (
                f"no signing key to write to {self.uri}",
                "run `lineal init --uri URI` to make one",
            )
            raise PermissionDenied(message, hint=hint)
        return self.signer

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        signer = self._signer()
        stack: list[list[tuple[Op, Record]]] = getattr(self._local, "stack", None) or []
        if not stack:
            self._local.untried = False  # a new outermost block asks the server again
        self._local.stack = stack
        stack.append([])
        try:
            yield
        except BaseException:
            stack.pop()  # this level's ops go, the outer levels' stay
            raise
        done = stack.pop()
        if stack:
            stack[-1].extend(done)
        elif done:
            # Each payload was encoded once, when its op was appended: sent as it is.
            records = [(op.OP, cast(bytes, record.payload)) for op, record in done]
            receipt = self._put(records, signer)
            for n, (_, record) in enumerate(done):  # the block's records, as stored
                seq, (time, hash_) = 0, (record.time, "")  # spooled: numbered later
                if receipt is not None:
                    seq, (time, hash_) = receipt["first_seq"] + n, receipt["records"][n]
                for field, value in (("seq", seq), ("time", time), ("hash", hash_)):
                    object.__setattr__(record, field, value)  # frozen for everyone else
            if receipt is not None and any(op.OP == "redact" for op, _ in done):
                self._drop_acknowledged()

    def append(self, ops: Op | Iterable[Op]) -> list[Record]:
        from lineal.model.ops import Op

        batch = [ops] if isinstance(ops, Op) else list(ops)
        for op in batch:
            if not isinstance(op, Op):
                raise InvalidInput(f"not an op: {op!r}", hint="build ops from lineal.model.ops")
        signer = self._signer()
        stack: list[list[tuple[Op, Record]]] | None = getattr(self._local, "stack", None)
        now = canonical.format_time(datetime.now(UTC))
        payloads = [op.encode() for op in batch]  # once: a metrics batch may be megabytes
        stamps: list[Any] = [(0, now, "")] * len(batch)
        if stack and batch:  # refused here, or numbered as the block's batch will be
            tried = self._trial([op for level in stack for op, _ in level] + batch, signer)
            if tried is not None:
                stamps = tried["records"][-len(batch) :]
        pairs = [(op.OP, payload) for op, payload in zip(batch, payloads, strict=True)]
        receipt = self._put(pairs, signer) if batch and not stack else None
        if receipt is not None:
            first = receipt["first_seq"]
            stamps = [(first + n, *one) for n, one in enumerate(receipt["records"])]
            if any(op.OP == "redact" for op in batch):
                self._drop_acknowledged()
        written = [
            Record(seq=seq, time=time, author=signer.name, op=op.OP,
                   payload_digest=digest_bytes(payload), hash=hash_, payload=payload)
            for op, payload, (seq, time, hash_) in zip(batch, payloads, stamps, strict=True)
        ]  # fmt: skip
        if stack:
            stack[-1].extend(zip(batch, written, strict=True))
        return written

    def _drop_acknowledged(self) -> None:
        """After a redaction the server took: the batches it acknowledged leave this
        process's spools (an erased payload may sit in one until its segment empties)."""
        spools = ([self._spool] if self._spool else []) + [s for s, _ in self._adopted]
        for spool in spools:
            spool.drop_acknowledged()

    def _block_ops(self) -> list[Op]:
        """The ops of this thread's open block, outer levels first (none: no block)."""
        stack: list[list[tuple[Op, Record]]] = getattr(self._local, "stack", None) or []
        return [op for level in stack for op, _ in level]

    def _trial(
        self, ops: list[Op], signer: Signer, read: tuple[str, dict[str, Any]] | None = None
    ) -> dict[str, Any] | None:
        """The server's trial of ``ops`` (and of ``read`` after them), rolled back there: what
        their records would be if the block ended now, the read's wire answer, or the refusal
        raised. None when it cannot be asked: the server is away (the block is gathered
        unchecked, as before, until it ends), or this process's earlier batches are still
        spooled (the trial would not follow them)."""
        from lineal.store.batches import encode_batch

        if getattr(self._local, "untried", False):
            return None
        self._read_your_writes()
        drainer = self._drainer
        if drainer is not None and (drainer.failures or self.spooled()[0]):
            return None
        body = encode_batch(signer.name, ops, f"trial-{secrets.token_hex(8)}", signer=signer)
        try:
            return self.trial(body, read)
        except StoreUnavailable:
            self._local.untried = True  # not again until this block ends
            return None

    def _put(self, records: list[tuple[str, bytes]], signer: Signer) -> dict[str, Any] | None:
        """Spool one batch of ``(op, canonical payload)`` records; wait for the server's answer
        unless it is away: the receipt, the refusal raised, or None (spooled, sent later)."""
        from lineal.store import wire_errors

        spool = self._ensure_spool()
        digest = spool.put(records, agent=signer.name, signer=signer)
        drainer = self._drainer
        assert drainer is not None  # noqa: S101 - made with the spool
        wait = write_wait()
        if drainer.failures or wait <= 0:  # away, or asked never to wait: spooled
            drainer.wake()
            return None
        drainer.flush(wait)
        receipt = self._receipts.pop(digest, None)
        if receipt is None and isinstance(drainer.error, PermissionDenied):
            # The server refused the request (no valid token, too weak a role, another
            # agent's token): said here, once; the batch stays spooled for `lineal sync`.
            raise type(drainer.error)(
                f"{drainer.error.message} (the batch stays spooled: `lineal sync` sends it "
                "once the token is fixed)",
                hint=drainer.error.hint,
            )
        if receipt is not None and not receipt["ok"]:
            with contextlib.suppress(ValueError):
                self.rejected.remove(receipt)  # the caller is told here, not by sync
            raise wire_errors.to_error(receipt)
        return receipt

    def _read_your_writes(self) -> None:
        """Before a read: what this process has spooled is sent first (for up to
        LINEAL_SYNC_TIMEOUT seconds), so a read sees this process's own writes, as it would
        on a SQL store. Offline, the read that follows says what is spooled."""
        spool, drainer = self._spool, self._drainer
        if spool is not None and drainer is not None and spool.status().batches:
            drainer.flush(0 if drainer.failures else close_wait())  # away: one try, no wait

    # -- liveness: straight to the server, and only advice ---------------------------------
    def beat(self, run_id: str, host: str, pid: int, process_start: str | None) -> None:
        body = {"run_id": run_id, "host": host, "pid": pid, "process_start": process_start}
        with contextlib.suppress(StoreUnavailable):  # offline: the beat is missed, no more
            self._post("/beats", json=body)

    def forget_beat(self, run_id: str) -> None:
        with contextlib.suppress(StoreUnavailable):
            self._post(f"/beats/{run_id}", method="DELETE")

    # -- sync -----------------------------------------------------------------------------
    def spooled(self) -> tuple[int, int]:
        """(batches, bytes) waiting in this process's spool and the ones it adopted."""
        spools = ([self._spool] if self._spool else []) + [s for s, _ in self._adopted]
        found = [spool.status() for spool in spools]
        return sum(s.batches for s in found), sum(s.bytes for s in found)

    def sync(self, timeout: float | None = None) -> dict[str, Any]:
        """Send what is spooled now (this process's, and that of processes that have gone)
        for up to ``timeout`` seconds; what is still pending and what the server refused."""
        wait = close_wait() if timeout is None else timeout
        root = spool_root(self._base)
        if root.is_dir():
            with self._spool_lock:
                self._adopt(root)
        drainers = ([self._drainer] if self._drainer else []) + [d for _, d in self._adopted]
        for drainer in drainers if wait > 0 else ():  # 0: only say what is pending
            drainer.flush(wait)
        batches, size = self.spooled()
        errors = [str(d.error) for d in drainers if d.error is not None]
        self._forget_drained()
        return {
            "uri": self.uri,
            "pending_batches": batches,
            "pending_bytes": size,
            "rejected": list(self.rejected),
            "error": errors[0] if batches and errors else None,
        }

    def _forget_drained(self) -> None:
        """Close adopted spools that are empty now, and remove their folders."""
        kept = []
        for spool, drainer in self._adopted:
            if spool.status().batches:
                kept.append((spool, drainer))
                continue
            drainer.close()
            spool.close()
            shutil.rmtree(spool.path, ignore_errors=True)
        self._adopted = kept

    def _close_writes(self) -> None:
        if self._spool is None and not self._adopted:
            return
        with contextlib.suppress(Exception):  # what is not sent stays spooled
            self.sync(close_wait())
        for spool, drainer in [
            *self._adopted,
            *([(self._spool, self._drainer)] if self._spool else []),
        ]:
            if drainer is not None:
                drainer.close()
            empty = not spool.status().batches
            spool.close()
            if empty:
                shutil.rmtree(spool.path, ignore_errors=True)
        self._spool, self._drainer, self._adopted = None, None, []
