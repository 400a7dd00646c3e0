"""The timeline of a store: the span of its ledger and the moments that named something — a
new version of a named artifact, an alias set or cleared, a model promoted or approved, a run
started — each with its seq and time, so that a time slider can place marks and ask
``as_of=SEQ`` of the lineage queries.

A service over ``Store.records`` (filtered by op, newest first) and ``Store.versions`` (the
version number each ``artifact.record`` gave); never writes and never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.ledger.chain import Record
from lineal.model import canonical
from lineal.model.entities import check_limit

#: What a timeline can mark, and the ledger op each comes from.
EVENTS = {
    "versions": "artifact.record",
    "aliases": "alias.set",
    "promotions": "model.promote",
    "approvals": "model.approve",
    "runs": "run.start",
}
DEFAULT_EVENTS = ("versions", "aliases", "promotions", "approvals")


@dataclass(frozen=True, slots=True)
class Timeline:
    """The first and last record (``{"seq", "time"}``, None in an empty store) and the
    events, newest first."""

    first: dict[str, Any] | None
    last: dict[str, Any] | None
    events: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "events": self.events}


def _moment(records: list[Record]) -> dict[str, Any] | None:
    return {"seq": records[0].seq, "time": records[0].time} if records else None


class _Versions:
    """Version numbers by (kind, name) and digest, read once per name."""

    def __init__(self, repo: Lineal) -> None:
        self.repo = repo
        self.found: dict[tuple[str, str], dict[str, int]] = {}

    def of(self, kind: str, name: str, digest: str | None) -> str | None:
        if digest is None:
            return None
        if (kind, name) not in self.found:
            held = self.repo.store.versions(kind, name)
            self.found[kind, name] = {one_digest: number for number, one_digest, _ in held}
        number = self.found[kind, name].get(digest)
        return f"{kind}/{name}@v{number}" if number is not None else f"{kind}/{name}@{digest}"


def _event(kind: str, record: Record, body: dict[str, Any], versions: _Versions) -> Any:
    base = {"seq": record.seq, "time": record.time, "author": record.author, "event": kind}
    if kind == "versions":
        if body.get("name") is None:
            return None  # an unnamed artifact has no version to mark
        ref = versions.of(body["kind"], body["name"], body["digest"])
        return {**base, "ref": ref, "kind": body["kind"]}
    if kind == "aliases":
        held = versions.of(body["kind"], body["name"], body.get("digest"))
        return {**base, "ref": f"{body['kind']}/{body['name']}:{body['alias']}", "target": held}
    if kind in ("promotions", "approvals"):
        return {
            **base,
            "ref": f"model/{body['name']}:{body['alias']}",
            "target": versions.of("model", body["name"], body["digest"]),
            "reason": body.get("reason"),
            **({"override": bool(body.get("override"))} if kind == "promotions" else {}),
        }
    return {**base, "ref": f"run/{body['id']}", "name": body.get("name")}


def timeline(
    repo: Lineal, events: Sequence[str] | None = None, *, limit: int | None = 1000
) -> Timeline:
    """The ledger's span and its ``events`` (of :data:`EVENTS`; default: versions, aliases,
    promotions and approvals), at most ``limit`` of them, newest first."""
    limit = check_limit(limit)
    chosen = list(dict.fromkeys(events or DEFAULT_EVENTS))
    unknown = [one for one in chosen if one not in EVENTS]
    if unknown:
        raise InvalidInput(
            f"unknown timeline event {unknown[0]!r}: expected {', '.join(EVENTS)}",
            hint="e.g. events=versions&events=promotions",
        )
    store = repo.store
    first = _moment(list(store.records(limit=1)))
    last = _moment(list(store.records(limit=1, newest_first=True)))
    versions = _Versions(repo)
    found: list[dict[str, Any]] = []
    for kind in chosen:
        for record in store.records(op=EVENTS[kind], limit=limit, newest_first=True):
            if record.payload is None:  # erased: nothing left to name
                continue
            event = _event(kind, record, canonical.decode(record.payload), versions)
            if event is not None:
                found.append(event)
    found.sort(key=lambda one: one["seq"], reverse=True)
    return Timeline(first, last, found[:limit])
