"""Checkpoint files: read one (bounded), decide whose key signed it, keep one in the workspace
and on a remote, and check the ledger against the newest one kept.

A service over the store, `.lineal/checkpoints/` and remotes; never prints, never changes a
kept checkpoint (a new one is a new file, written whole or not at all).

Checkpoints are kept outside the database on purpose: whoever deletes the ledger's tail from
the database cannot delete them with the same statement, and the copies a push leaves on the
remote (``checkpoints/`` beside ``sha256/``) are out of reach of the local machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import workspace
from lineal.client import Lineal
from lineal.errors import (
    InvalidInput,
    LinealError,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
)
from lineal.ledger.checkpoint import CheckpointResult
from lineal.ledger.keys import key_id
from lineal.model import canonical
from lineal.model.entities import check_agent_name

if TYPE_CHECKING:
    from lineal.cas.remote import Remote

#: A checkpoint is a few kilobytes (at most 1,024 block roots): anything bigger is not one.
MAX_BYTES = 1 << 20
FOLDER = "checkpoints"
_NOT_ONE = "pass a file written by `lineal checkpoint --out FILE`"
_HEX = frozenset("0123456789abcdef")


def parse(data: bytes, source: str) -> dict[str, Any]:
    """A checkpoint document from at most MAX_BYTES of ``data`` read from ``source``."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"{source} is not a lineal checkpoint: it is bigger than 1 MiB "
            "(a checkpoint is a few kilobytes)",
            hint=_NOT_ONE,
        )
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput(
            f"{source} is not a lineal checkpoint: it is not JSON text", hint=_NOT_ONE
        ) from None
    if not isinstance(document, dict) or "format" not in document:
        raise InvalidInput(
            f"{source} is not a lineal checkpoint: it has no checkpoint format", hint=_NOT_ONE
        )
    return document


def read(path: Path) -> dict[str, Any]:
    """The checkpoint document in ``path``, reading at most MAX_BYTES + 1 bytes of it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read checkpoint {path}: {exc.strerror or exc}", hint=_NOT_ONE
        ) from None
    return parse(data, str(path))


def _ledger_keys(repo: Lineal, agent: str) -> list[str]:
    """Every public key the ledger's ``agent.register`` and ``agent.rotate`` records give
    ``agent``, oldest first."""
    records = [
        record for op in ("agent.register", "agent.rotate") for record in repo.store.records(op=op)
    ]
    found: list[str] = []
    for record in sorted(records, key=lambda r: r.seq):
        if record.payload is None:
            continue
        with contextlib.suppress(LinealError, TypeError, KeyError, AttributeError):
            body = canonical.decode(record.payload)
            if body["name"] == agent and body["public_key"] not in found:
                found.append(str(body["public_key"]))
    return found


def _is_key(text: str) -> bool:
    return len(text) in (16, 64) and _HEX.issuperset(text)


def check(repo: Lineal, document: dict[str, Any], key: str | None = None) -> CheckpointResult:
    """Check ``document`` against the ledger (records and signed commits), and that its key is
    one the ledger records for the agent it names; or, with ``key``, that key (a public key or
    key id, in hex) or one of that agent's keys. PermissionDenied for any other key."""
    result = repo.check_checkpoint(document)  # the document is whole, or InvalidInput
    agent, signed = result.agent, result.key_id
    if key is not None and _is_key(key):
        pinned = key if len(key) == 16 else key_id(key)
        if signed != pinned:
            raise PermissionDenied(
                f"the checkpoint is signed by key {signed}, not by the pinned key {pinned}",
                hint="it was not made with the key you expect: do not trust it",
            )
        return replace(result, trusted="pinned")
    if key is not None and check_agent_name(key) != agent:
        raise PermissionDenied(
            f"the checkpoint names agent {agent!r} as its signer, not {key!r}",
            hint=f"pass --key {agent} (or that agent's key) to check it as {agent}'s",
        )
    known = _ledger_keys(repo, agent)
    if not known:
        raise PermissionDenied(
            f"the checkpoint names agent {agent!r}, whom this ledger does not know "
            f"(signed by key {signed})",
            hint="check it with the signer's key: --key HEX",
        )
    if signed not in {key_id(public) for public in known}:
        ids = ", ".join(key_id(public) for public in known)
        raise PermissionDenied(
            f"the checkpoint is signed by key {signed}, which the ledger does not record for "
            f"agent {agent!r} (its keys: {ids})",
            hint=f"it was not made with {agent}'s key: do not trust it; "
            "to check it against a key you know, pass --key",
        )
    return replace(result, trusted="ledger")


# -- checkpoints kept in the workspace -----------------------------------------------------
def folder(repo: Lineal) -> Path | None:
    """`.lineal/checkpoints/` when the store is the workspace's own; else None (a store
    opened by LINEAL_URI alone, or another store than the workspace's, keeps none here)."""
    space = repo.workspace
    if space is None or space.root is None:
        return None
    try:
        own = workspace.locate(space.root.parent, env={"LINEAL_DIR": str(space.root)}).uri
    except LinealError:
        return None
    return space.root / FOLDER if own == space.uri else None


def file_name(document: dict[str, Any]) -> str:
    """Sorts by size: the newest checkpoint of a ledger that only grows is the last."""
    return f"{int(document['size']):012d}-{str(document['root'])[:16]}.json"


def encode(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode()


def keep(repo: Lineal, document: dict[str, Any]) -> Path | None:
    """Keep ``document`` in `.lineal/checkpoints/` (None: this store keeps none here). One of
    the same size and root already kept is left as it is."""
    where = folder(repo)
    if where is None:
        return None
    path = where / file_name(document)
    if path.exists():
        return path
    where.mkdir(parents=True, exist_ok=True)
    temp = where / f".{path.name}.{os.getpid()}.tmp"
    temp.unlink(missing_ok=True)  # a leftover of a killed process that had this pid
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        try:
            os.write(fd, encode(document))
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(path)
        fd = os.open(where, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself is durable
        finally:
            os.close(fd)
    finally:
        temp.unlink(missing_ok=True)
    return path


def make(repo: Lineal) -> tuple[dict[str, Any], Path | None]:
    """A signed checkpoint of the whole ledger, kept in the workspace: (document, where)."""
    document = repo.checkpoint()
    return document, keep(repo, document)


def keep_on_remote(repo: Lineal, remote: Remote) -> str | None:
    """After a push: a checkpoint kept here and on ``remote`` (``checkpoints/NAME``); where it
    went there, or None when there is no signing key to make one with."""
    if repo.store.signer is None:
        return None
    document, _ = make(repo)
    name = f"{FOLDER}/{file_name(document)}"
    fs, final = remote.fs, f"{remote.root}/{name}"
    # Written under a temporary name, then renamed: a reader never sees half a checkpoint.
    temp = f"{remote.root}/{FOLDER}/.{file_name(document)}.{uuid.uuid4().hex}.tmp"
    try:
        if not fs.exists(final):
            fs.makedirs(f"{remote.root}/{FOLDER}", exist_ok=True)
            fs.pipe_file(temp, encode(document))
            fs.mv(temp, final)
    except Exception as exc:
        with contextlib.suppress(Exception):
            fs.rm_file(temp)
        raise StoreUnavailable(
            f"the objects were pushed, but no checkpoint could be written to {remote.url}: "
            f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}",
            hint="run lineal push again once the remote can be written to",
        ) from exc
    return f"{remote.url}/{name}"


@dataclass(frozen=True, slots=True)
class KnownCheck:
    """The ledger against the newest checkpoint kept in the workspace."""

    kept: int  # how many checkpoints are kept here
    path: Path | None = None  # the newest one
    result: CheckpointResult | None = None
    unreadable: str | None = None  # why the newest one could not be used
    reason: str = ""  # why none is known: "none kept", "no workspace", "another store"

    @property
    def ok(self) -> bool:
        return self.unreadable is None and (self.result is None or self.result.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "known": self.result is not None,
            "kept": self.kept,
            "path": None if self.path is None else str(self.path),
            "unreadable": self.unreadable,
            "reason": self.reason or None,
            "result": None if self.result is None else self.result.as_dict(),
        }


def check_known(repo: Lineal) -> KnownCheck:
    """Is today's ledger an extension of the newest checkpoint kept here (records and signed
    commits)? A deleted tail, or a deleted commit before it, is found this way."""
    where = folder(repo)
    if where is None:
        space = repo.workspace
        reason = "no workspace" if space is None or space.root is None else "another store"
        return KnownCheck(0, reason=reason)
    kept = sorted(where.glob("*.json")) if where.is_dir() else []
    if not kept:
        return KnownCheck(0, reason="none kept")
    newest = kept[-1]
    try:
        result = repo.check_checkpoint(read(newest))
    except (InvalidInput, NotFound) as exc:
        return KnownCheck(len(kept), newest, unreadable=exc.message)
    return KnownCheck(len(kept), newest, result)
