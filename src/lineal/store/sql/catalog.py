"""Reading the catalogue of names: every named artifact's latest version, and the aliases held.

Read-only SQL over the ``versions`` and ``aliases`` projections; never writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql


def latest_versions(db: Sql, kind: str | None = None) -> list[tuple[str, str, int, str, int]]:
    """``(kind, name, latest version, its digest, number of versions)`` of every name (of
    ``kind``), by kind and name."""
    where, args = ("", ()) if kind is None else (" WHERE kind = ?", (kind,))
    rows = db.all(
        "SELECT v.kind, v.name, v.version, v.digest, c.n FROM versions v JOIN "
        f"(SELECT kind, name, MAX(version) AS latest, COUNT(*) AS n FROM versions{where} "
        "GROUP BY kind, name) c "
        "ON v.kind = c.kind AND v.name = c.name AND v.version = c.latest "
        "ORDER BY v.kind, v.name",
        args,
    )
    return [(k, n, int(v), d, int(c)) for k, n, v, d, c in rows]


def held_aliases(
    db: Sql, kind: str | None = None, name: str | None = None
) -> list[tuple[str, str, str, int, int]]:
    """``(kind, name, alias, version, seq)`` of every alias held now (of ``kind``, of
    ``kind/name``), by kind, name and alias; ``seq`` is the record that set it."""
    where, args = "", []
    if kind is not None:
        where, args = " AND s.kind = ?", [kind]
    if name is not None:
        where, args = f"{where} AND s.name = ?", [*args, name]
    rows = db.all(
        "SELECT s.kind, s.name, s.alias, v.version, s.seq FROM aliases s JOIN versions v "
        "ON v.kind = s.kind AND v.name = s.name AND v.digest = s.digest "
        f"WHERE s.until_seq IS NULL{where} ORDER BY s.kind, s.name, s.alias",
        args,
    )
    return [(k, n, a, int(v), int(q)) for k, n, a, v, q in rows]
