"""What `lineal run` tells the command it runs, and what the SDK in that command checks.

`lineal run` exports the run (``LINEAL_RUN``), the store, workspace and agent it used, and a
summary channel: a file it created for this one command, which the command's SDK appends
summary values to and which `lineal run` reads back when it finishes the run. A variable is
never trusted unchecked: the run must be in the store the command opened, and still running.
Never writes to the store.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.model import canonical
from lineal.model.entities import Run
from lineal.model.masking import mask_url
from lineal.model.refs import parse

if TYPE_CHECKING:
    from lineal.client import Lineal

#: The run `lineal run` started for the command (``run/ULID``).
RUN = "LINEAL_RUN"
#: The summary channel of that run (a file path; see module docstring).
SUMMARY = "LINEAL_RUN_SUMMARY"

_UNSET = "unset LINEAL_RUN to record a run of its own"


def child_env(repo: Lineal, ref: str, channel: Path) -> dict[str, str]:
    """The variables `lineal run` sets for its command: the run, the summary channel, and the
    store, workspace folder and agent it used, so a script that changes folder (or a tool that
    runs elsewhere) reaches the same store and signs with the same key."""
    env = {RUN: ref, SUMMARY: str(channel)}
    found = repo.workspace
    if found is not None:
        env["LINEAL_URI"] = found.uri
        if found.root is not None:
            env["LINEAL_DIR"] = str(found.root)
        if found.agent is not None:
            env["LINEAL_AGENT"] = found.agent
    return env


def wrapped_ref() -> str | None:
    """``LINEAL_RUN`` as set (None when not), unchecked."""
    return os.environ.get(RUN) or None


def wrapped_run(repo: Lineal) -> Run | None:
    """The run ``LINEAL_RUN`` names, checked against ``repo``: None when unset; an error when
    it is not a run reference, not in this store, or no longer running."""
    text = wrapped_ref()
    if text is None:
        return None
    try:
        ref = parse(text)
    except InvalidInput:
        ref = None
    if ref is None or ref.kind != "run":
        raise InvalidInput(f"LINEAL_RUN={text!r} is not a run reference (run/ULID): {_UNSET}")
    store = mask_url(repo.store.uri)  # never a password in a message
    try:
        found = repo.resolve(ref)
    except NotFound:
        raise NotFound(
            f"LINEAL_RUN names {text}, which is not a run in the store {store}: {_UNSET}",
            hint="or open the store `lineal run` used (LINEAL_URI, LINEAL_DIR)",
        ) from None
    assert isinstance(found, Run)  # noqa: S101 - a run reference resolves to a run
    if found.status != "running":
        raise Conflict(
            f"LINEAL_RUN names {text}, which is {found.status} in {store}: it takes no more "
            f"records; {_UNSET}",
            hint="LINEAL_RUN is set by `lineal run` for the command it runs, not for later ones",
        )
    return found


# -- the summary channel ----------------------------------------------------------------------
def open_channel(ref: str) -> Path:
    """Create the summary channel for ``ref`` (readable by this user only)."""
    fd, name = tempfile.mkstemp(prefix="lineal-summary-", suffix=".jsonl")
    with os.fdopen(fd, "wb") as out:
        out.write(canonical.encode({"run": ref}) + b"\n")
    return Path(name)


def channel_for(ref: str) -> Path | None:
    """This process's summary channel for ``ref``: the file ``LINEAL_RUN_SUMMARY`` names when
    `lineal run` opened it for that run, else None (summary values cannot reach the run)."""
    text = os.environ.get(SUMMARY)
    if not text:
        return None
    try:
        with Path(text).open("rb") as channel:
            head = json.loads(channel.readline())
    except (OSError, ValueError):
        return None
    return Path(text) if isinstance(head, dict) and head.get("run") == ref else None


def send(channel: Path, values: Mapping[str, Any]) -> None:
    """Append summary values (already checked) as one line, in one write: processes that share
    the channel never interleave, and a line written is kept even if the process dies next."""
    line = canonical.encode(dict(values)) + b"\n"
    fd = os.open(channel, os.O_WRONLY | os.O_APPEND)  # never creates: a stale path fails
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def receive(channel: Path) -> dict[str, Any]:
    """Every summary value sent on ``channel``, later lines winning; a line that is not a
    whole JSON object (a writer killed mid-line) is skipped."""
    merged: dict[str, Any] = {}
    try:
        lines = channel.read_bytes().splitlines()[1:]
    except OSError:
        return merged
    for line in lines:
        try:
            values = json.loads(line)
            canonical.encode(values)
        except (ValueError, InvalidInput):
            continue
        if isinstance(values, dict):
            merged.update(values)
    return merged
