"""The timeline of a store: the span of its ledger and the moments that named something — a
new version of a named artifact, an alias set or cleared, a model promoted or approved, a run
started — each with its seq and time, so that a time slider can place marks and ask
``as_of=SEQ`` of the lineage queries.

A service over ``Store.timeline_events`` (read from the projections, newest first: its cost
follows the answer, not the ledger), ``Store.records`` (the first and last) and
``Store.versions`` (the version an alias, promotion or approval names); never writes and never
prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.ledger.chain import Record
from lineal.model.entities import check_limit

#: What a timeline can mark (lineal.store.sql.timeline reads each).
EVENTS = ("versions", "aliases", "promotions", "approvals", "runs")
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


def _ref(kind: str, name: str, version: int | None, digest: str | None) -> str | None:
    if digest is None:
        return None
    return f"{kind}/{name}@v{version}" if version is not None else f"{kind}/{name}@{digest}"


def _event(row: dict[str, Any], versions: dict[tuple[str, str, str], int]) -> dict[str, Any]:
    """A store row as a timeline event: references spelled as the CLI spells them."""
    kind = row["event"]
    base = {k: row[k] for k in ("seq", "time", "author", "event")}

    def version(of: str, name: str, digest: str | None) -> str | None:
        return _ref(of, name, versions.get((of, name, digest or "")), digest)

    if kind == "versions":
        ref = _ref(row["kind"], row["name"], row["version"], row["digest"])
        return {**base, "ref": ref, "kind": row["kind"]}
    if kind == "aliases":
        target = version(row["kind"], row["name"], row["digest"])
        return {**base, "ref": f"{row['kind']}/{row['name']}:{row['alias']}", "target": target}
    if kind in ("promotions", "approvals"):
        return {
            **base,
            "ref": f"model/{row['name']}:{row['alias']}",
            "target": version("model", row["name"], row["digest"]),
            "reason": row["reason"],
            **({"override": row["override"]} if kind == "promotions" else {}),
        }
    return {**base, "ref": f"run/{row['id']}", "name": row["name"]}


def timeline(repo: Lineal, events: Sequence[str] | None = None, *, limit: int = 1000) -> Timeline:
    """The ledger's span and its ``events`` (of :data:`EVENTS`; default: versions, aliases,
    promotions and approvals), at most ``limit`` of them, newest first."""
    if check_limit(limit) is None:
        raise InvalidInput("a timeline needs a limit", hint="e.g. limit=1000")
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
    rows = store.timeline_events(chosen, limit)
    named = ("aliases", "promotions", "approvals")  # a digest, to spell as its version
    names = {(row.get("kind", "model"), row["name"]) for row in rows if row["event"] in named}
    versions = {
        (kind, name, digest): number
        for kind, name in names
        for number, digest, _ in store.versions(kind, name)
    }
    return Timeline(first, last, [_event(row, versions) for row in rows])
