"""Reading the projections: resolve a reference, list edges, describe a run or an artifact.

Read-only SQL over the projection tables; never writes and never reads the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, NotFound
from lineal.model import canonical
from lineal.model.digests import is_digest
from lineal.model.entities import Artifact, Edge, Run
from lineal.model.refs import Ref

if TYPE_CHECKING:
    from lineal.store.projections import Sql

_ARTIFACT = "SELECT a.digest, a.kind, a.size, a.uri, a.meta, a.seq FROM artifacts a"


def digest_match(ref: Ref, column: str = "digest") -> tuple[str, tuple[str, ...]]:
    """SQL matching ``ref``'s digest or digest prefix in ``column``, as a range an index serves
    (LIKE cannot in SQLite: it ignores case); and its arguments."""
    text = ref.digest or ""
    if is_digest(text):
        return f"{column} = ?", (text,)
    return f"{column} >= ? AND {column} < ?", (text, text + "g")  # hex digits end at 'f'


def _artifact(row: tuple[Any, ...], name: str | None, version: int | None) -> Artifact:
    digest, kind, size, uri, meta, seq = row
    return Artifact(
        kind=kind,
        digest=digest,
        name=name,
        version=version,
        size=size,
        uri=uri,
        meta=canonical.decode(meta.encode()),
        seq=seq,
    )


def _unique_digest(db: Sql, ref: Ref, rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    if not rows:
        raise NotFound(f"no artifact matches {ref}", hint="`lineal log` lists what is recorded")
    if len(rows) > 1:
        raise InvalidInput(
            f"{ref} is ambiguous: {len(rows)} artifacts match",
            hint="give more hex characters of the digest",
        )
    return rows[0]


def resolve(db: Sql, ref: Ref) -> Artifact | Run:
    """The artifact or run ``ref`` names, or NotFound with a hint."""
    if ref.kind == "run":
        assert ref.name is not None  # noqa: S101 - the grammar guarantees it
        return get_run(db, ref.name)
    if ref.kind is None:
        assert ref.digest is not None  # noqa: S101
        match, bounds = digest_match(ref, "a.digest")
        rows = db.all(f"{_ARTIFACT} WHERE {match} LIMIT 2", bounds)
        return _artifact(_unique_digest(db, ref, rows), None, None)
    base = "SELECT v.version, v.digest FROM versions v WHERE v.kind = ? AND v.name = ?"
    args: tuple[Any, ...] = (ref.kind, ref.name)
    if ref.version is not None:
        rows = db.all(base + " AND v.version = ?", (*args, ref.version))
    elif ref.digest is not None:
        match, bounds = digest_match(ref, "v.digest")
        rows = db.all(f"{base} AND {match} LIMIT 2", (*args, *bounds))
    elif ref.alias is not None:
        rows = db.all(
            "SELECT v.version, v.digest FROM aliases s JOIN versions v "
            "ON v.kind = s.kind AND v.name = s.name AND v.digest = s.digest "
            "WHERE s.kind = ? AND s.name = ? AND s.alias = ? AND s.until_seq IS NULL",
            (*args, ref.alias),
        )
    else:
        rows = db.all(base + " ORDER BY v.version DESC LIMIT 1", args)
    if not rows:
        known = db.one("SELECT MAX(version) FROM versions WHERE kind = ? AND name = ?", args)
        if known is None or known[0] is None:
            raise NotFound(
                f"no {ref.kind} named {ref.name!r}",
                hint="`lineal log --op artifact.record` lists recorded artifacts",
            )
        raise NotFound(f"{ref} does not exist (latest is v{known[0]})")
    if len(rows) > 1:
        raise InvalidInput(f"{ref} is ambiguous", hint="give more hex characters of the digest")
    version, digest = rows[0]
    row = db.one(f"{_ARTIFACT} WHERE a.digest = ?", (digest,))
    assert row is not None  # noqa: S101 - versions only name recorded artifacts
    return _artifact(row, ref.name, version)


def get_run(db: Sql, run_id: str) -> Run:
    row = db.one(
        "SELECT id, name, status, started, ended, author, meta, seq, duration, error "
        "FROM runs WHERE id = ?",
        (run_id,),
    )
    if row is None:
        raise NotFound(f"no run run/{run_id}", hint="`lineal runs` lists runs")
    rid, name, status, started, ended, author, meta, seq, duration, error = row
    params = {
        key: canonical.decode(value.encode())
        for key, value in db.all(
            "SELECT key, value FROM params WHERE run_id = ? ORDER BY key", (rid,)
        )
    }
    return Run(
        id=rid,
        name=name,
        status=status,
        params=params,
        meta=canonical.decode(meta.encode()),
        started=started,
        ended=ended,
        author=author,
        seq=seq,
        duration=duration,
        error=error,
        metrics=dict(db.all("SELECT key, value FROM run_metrics WHERE run_id = ?", (rid,))),
        tags=tags(db, f"run/{rid}"),
    )


def edges(db: Sql, node: str) -> list[Edge]:
    rows = db.all(
        "SELECT kind, parent, child, role, seq FROM edges WHERE parent = ? OR child = ? "
        "ORDER BY seq",
        (node, node),
    )
    return [Edge(kind=k, parent=p, child=c, role=r or None, seq=s) for k, p, c, r, s in rows]


def tags(db: Sql, node: str) -> dict[str, str]:
    rows = db.all(
        "SELECT key, value FROM tags WHERE target = ? AND until_seq IS NULL ORDER BY key", (node,)
    )
    return dict(rows)


def run_details(db: Sql, run_id: str) -> dict[str, Any]:
    summary = db.one("SELECT summary FROM runs WHERE id = ?", (run_id,))
    rows = db.all(
        "SELECT key, step, value, points FROM run_metrics WHERE run_id = ? ORDER BY key",
        (run_id,),
    )
    return {
        "metrics": {key: {"step": step, "value": value} for key, step, value, _ in rows},
        "metric_points": sum(points for *_, points in rows),
        "summary": canonical.decode(summary[0].encode()) if summary and summary[0] else {},
        "tags": tags(db, f"run/{run_id}"),
    }


def artifact_details(db: Sql, artifact: Artifact) -> dict[str, Any]:
    names = db.all(
        "SELECT kind, name, version, seq FROM versions WHERE digest = ? ORDER BY seq",
        (artifact.digest,),
    )
    aliases = db.all(
        "SELECT name, alias FROM aliases WHERE digest = ? AND until_seq IS NULL ORDER BY alias",
        (artifact.digest,),
    )
    return {
        "names": [f"{k}/{n}@v{v}" for k, n, v, _ in names],
        "aliases": [f"{artifact.kind}/{n}:{a}" for n, a in aliases],
        "tags": tags(db, artifact.digest),
    }


def names(db: Sql, kind: str) -> list[str]:
    rows = db.all("SELECT DISTINCT name FROM versions WHERE kind = ? ORDER BY name", (kind,))
    return [row[0] for row in rows]


def version_digests(db: Sql, kind: str, name: str) -> list[str]:
    rows = db.all(
        "SELECT digest FROM versions WHERE kind = ? AND name = ? ORDER BY version", (kind, name)
    )
    return [row[0] for row in rows]


def artifacts_of_kind(db: Sql, kind: str | None) -> list[Artifact]:
    if kind is None:
        rows = db.all(f"{_ARTIFACT} ORDER BY a.seq")
    else:
        rows = db.all(f"{_ARTIFACT} WHERE a.kind = ? ORDER BY a.seq", (kind,))
    return [_artifact(row, None, None) for row in rows]


# -- the model registry ----------------------------------------------------------------------
def _upto(as_of: int | None, column: str = "seq") -> tuple[str, tuple[int, ...]]:
    return ("", ()) if as_of is None else (f" AND {column} <= ?", (as_of,))


def alias_holders(
    db: Sql, kind: str, name: str | None, as_of: int | None = None
) -> list[tuple[str, str, str, int]]:
    """``(name, alias, digest, seq)`` of each alias held at ``as_of`` (None: now)."""
    where, args = ("", []) if name is None else (" AND name = ?", [name])
    held, moment = " AND until_seq IS NULL", []
    if as_of is not None:
        held, moment = " AND seq <= ? AND (until_seq IS NULL OR until_seq > ?)", [as_of, as_of]
    rows = db.all(
        f"SELECT name, alias, digest, seq FROM aliases WHERE kind = ?{where}{held} "
        "ORDER BY name, alias",
        (kind, *args, *moment),
    )
    return [tuple(row) for row in rows]


_PROMOTION = (
    "name", "alias", "digest", "previous", "author", "reason", "policy", "checks", "override",
    "seq",
)  # fmt: skip


def promotions(db: Sql, name: str, as_of: int | None = None) -> list[dict[str, Any]]:
    """Every promotion of ``model/NAME`` recorded by ``as_of``, oldest first."""
    where, args = _upto(as_of)
    rows = db.all(
        f"SELECT {', '.join(_PROMOTION)} FROM promotions WHERE name = ?{where} ORDER BY seq",
        (name, *args),
    )
    found = []
    for row in rows:
        body = dict(zip(_PROMOTION, row, strict=True))
        body["checks"] = canonical.decode(body["checks"].encode())
        body["override"] = bool(body["override"])
        found.append(body)
    return found


def approvals(db: Sql, name: str, digest: str, alias: str) -> list[tuple[str, str, int]]:
    """``(agent, reason, seq)`` of each approval of this version for ``alias``."""
    rows = db.all(
        "SELECT author, reason, seq FROM approvals "
        "WHERE name = ? AND digest = ? AND alias = ? ORDER BY seq",
        (name, digest, alias),
    )
    return [tuple(row) for row in rows]


def versions_with_seq(db: Sql, kind: str, name: str) -> list[tuple[int, str, int]]:
    """``(version, digest, seq)`` of ``kind/name``'s versions, oldest first."""
    rows = db.all(
        "SELECT version, digest, seq FROM versions WHERE kind = ? AND name = ? ORDER BY version",
        (kind, name),
    )
    return [tuple(row) for row in rows]
