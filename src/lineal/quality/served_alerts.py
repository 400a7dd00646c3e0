"""The alerts a lineal server sends (`lineal server --alerts FILE`): findings in the batches
its clients sign, whatever each client's own `lineal.toml` says.

A server has no workspace: the receivers are the ``[alerts]`` table of FILE, and their outboxes
(lineal.outbox: durable, retried with backoff, given up after ``tries``) live under the
server's folder. The request that wrote the batches has been answered before anything here runs
(a background task): a receiver never slows or fails a write. What alerts:

- ``drift``: a dataset version whose drift fact (lineal.quality.drift_record), recorded with
  it by the client that added it, names a measure that drifted;
- ``policy`` (``leakage`` when the failed check is ``no leakage``): a promotion recorded with
  failing checks under an admin's override, and a promotion the store refused (a client whose
  recorded checks disagree with the policy in force).

Validation rules live in the adding workspace's `lineal.toml`; that workspace alerts on them.
Never prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.client import Lineal
from lineal.quality.alerts import Alert, SinkStatus, note_error, notify_to, sender_at, sink_status
from lineal.quality.alerts_config import AlertsConfig
from lineal.quality.drift_record import TAG

#: A decoded batch: its agent and ``(op, payload)`` records (None: not a batch).
Batch = tuple[str, list[tuple[str, Any]]] | None
#: What a batch must name for anything here to look at it (a cheap test on its bytes).
MARKERS = (b'"tag.set"', b'"model.promote"')


@dataclass(frozen=True, slots=True)
class ServerAlerts:
    """Where a server's alerts go: ``config`` (FILE's ``[alerts]``), outboxes under ``root``."""

    config: AlertsConfig
    root: Path


def worth_a_look(line: bytes) -> bool:
    """Whether a batch's bytes could hold a finding (most batches, metrics and runs, do not)."""
    return any(marker in line for marker in MARKERS)


def _drift(repo: Lineal, agent: str, payload: Mapping[str, Any]) -> Alert | None:
    if payload.get("key") != TAG or not isinstance(payload.get("value"), str):
        return None
    try:
        body = json.loads(payload["value"])
    except ValueError:
        return None
    drifted = body.get("drifted") if isinstance(body, dict) else None
    if not drifted or not isinstance(drifted, list):
        return None
    target = str(payload.get("target"))
    ref = repo.store.labels([target]).get(target, (target, ""))[0]
    said = f"{ref}: drift from {body.get('from')}: {', '.join(map(str, drifted))}"
    return Alert("drift", ref, f"{said} (added by {agent})", ({"ref": ref, **body},))


def _promotion(
    repo: Lineal, agent: str, payload: Mapping[str, Any], refused: Mapping[str, Any] | None
) -> Alert | None:
    name, alias = payload.get("name"), payload.get("alias")
    subject = f"model/{name}:{alias}"
    failed = [c for c in payload.get("checks") or () if isinstance(c, dict) and not c["passed"]]
    leaked = any(c.get("check") == "no leakage" for c in failed)
    detail = "; ".join(f"{c.get('check')}: {c.get('detail')}" for c in failed)
    body = {"name": name, "alias": alias, "digest": payload.get("digest"), "agent": agent}
    if refused is not None:
        said = f"{subject}: a promotion by {agent} was refused: {refused.get('error')}"
        return Alert("policy", subject, said, ({**body, "error": refused.get("error")},))
    if not payload.get("override") or not failed:
        return None
    version = repo.store.version_of("model", str(name), str(payload.get("digest")))
    ref = f"model/{name}@v{version}" if version is not None else subject
    said = (
        f"{ref} promoted to {alias} by {agent} overriding {len(failed)} failed check(s): "
        f"{detail} (reason: {payload.get('reason')})"
    )
    found = {**body, "reason": payload.get("reason"), "failed": failed}
    return Alert("leakage" if leaked else "policy", subject, said, (found,))


def findings(
    repo: Lineal, batches: Sequence[Batch], receipts: Sequence[Mapping[str, Any]]
) -> list[Alert]:
    """What alerts in ``batches`` (decoded, each with its receipt: accepted or refused)."""
    found: list[Alert | None] = []
    for batch, receipt in zip(batches, receipts, strict=True):
        if batch is None:
            continue
        agent, records = batch
        refused = None if receipt.get("ok") else receipt
        for op, payload in records:
            if not isinstance(payload, Mapping):
                continue
            if op == "model.promote":
                found.append(_promotion(repo, agent, payload, refused))
            elif op == "tag.set" and refused is None:
                found.append(_drift(repo, agent, payload))
    return [one for one in found if one is not None]


def send(
    to: ServerAlerts,
    project: str,
    repo: Callable[[], Lineal],
    batches: Sequence[Batch],
    receipts: Sequence[Mapping[str, Any]],
) -> int:
    """Queue an alert for each finding (outboxes under ``to.root/alerts``; ``repo`` opens the
    project's store); how many were found. Never raises: a failure is kept as the outboxes'
    last error (`lineal server alerts`)."""
    try:
        made = findings(repo(), batches, receipts)
    except Exception as exc:  # a store read failing: the write stands, the error is kept
        note_error(to.root, exc)
        return 0
    for one in made:
        notify_to(to.config, to.root, one, store=project)
    return len(made)


def status(
    to: ServerAlerts, *, send: bool = False, timeout: float | None = None
) -> list[SinkStatus]:
    """What waits for the server's receivers, what was given up and why (`lineal server
    alerts`); with ``send``, one pass each first."""
    return sink_status(sender_at(to.config, to.root), send=send, timeout=timeout)
