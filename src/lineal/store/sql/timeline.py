"""The moments a timeline marks, newest first, from the projections: the SQL half of
``Store.timeline_events``.

Each kind is one indexed walk down ``seq`` (``LIMIT``), joined to its ledger record for the
time and author, so its cost follows the answer, not the ledger: ``versions`` (each new version
of a named artifact), ``aliases`` (an ``alias.set`` pointing an alias at a version, or clearing
it), ``promotions``, ``approvals`` and ``runs`` (each run's start).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lineal.store.sql.projections import Sql

#: Per kind: the query (``?``: the limit) and the names of the columns after seq, time, author.
_QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "versions": (
        "SELECT v.seq, l.time, l.author, v.kind, v.name, v.version, v.digest FROM versions v "
        "JOIN ledger l ON l.seq = v.seq ORDER BY v.seq DESC LIMIT ?",
        ("kind", "name", "version", "digest"),
    ),
    "aliases": (
        "SELECT a.seq, l.time, l.author, a.kind, a.name, a.alias, a.digest FROM aliases a "
        "JOIN ledger l ON l.seq = a.seq WHERE l.op = 'alias.set' ORDER BY a.seq DESC LIMIT ?",
        ("kind", "name", "alias", "digest"),
    ),
    "cleared": (  # an alias.set that cleared an alias: it ended a holding and began none
        "SELECT a.until_seq, l.time, l.author, a.kind, a.name, a.alias, NULL FROM aliases a "
        "JOIN ledger l ON l.seq = a.until_seq WHERE l.op = 'alias.set' AND NOT EXISTS "
        "(SELECT 1 FROM aliases b WHERE b.seq = a.until_seq AND b.kind = a.kind "
        "AND b.name = a.name AND b.alias = a.alias) ORDER BY a.until_seq DESC LIMIT ?",
        ("kind", "name", "alias", "digest"),
    ),
    "promotions": (
        "SELECT p.seq, l.time, l.author, p.name, p.alias, p.digest, p.reason, p.override "
        "FROM promotions p JOIN ledger l ON l.seq = p.seq ORDER BY p.seq DESC LIMIT ?",
        ("name", "alias", "digest", "reason", "override"),
    ),
    "approvals": (
        "SELECT p.seq, l.time, l.author, p.name, p.alias, p.digest, p.reason "
        "FROM approvals p JOIN ledger l ON l.seq = p.seq ORDER BY p.seq DESC LIMIT ?",
        ("name", "alias", "digest", "reason"),
    ),
    "runs": (
        "SELECT r.seq, l.time, l.author, r.id, r.name FROM runs r "
        "JOIN ledger l ON l.seq = r.seq ORDER BY r.seq DESC LIMIT ?",
        ("id", "name"),
    ),
}
#: The kinds a timeline has, in the order they are read.
EVENTS = ("versions", "aliases", "promotions", "approvals", "runs")


def timeline_events(db: Sql, events: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """At most ``limit`` events of the kinds ``events`` names, newest first: ``event``,
    ``seq``, ``time``, ``author`` and the kind's own fields."""
    found: list[dict[str, Any]] = []
    for event in events:
        for kind in ("aliases", "cleared") if event == "aliases" else (event,):
            sql, names = _QUERIES[kind]
            for seq, time, author, *rest in db.all(sql, [limit]):
                row = {"event": event, "seq": int(seq), "time": time, "author": author}
                row.update(zip(names, rest, strict=True))
                if "override" in row:
                    row["override"] = bool(row["override"])
                if "version" in row:
                    row["version"] = int(row["version"])
                found.append(row)
    found.sort(key=lambda row: row["seq"], reverse=True)
    return found[:limit]
