"""Reading the projections: resolve a reference, list edges, describe a run or an artifact.

Read-only SQL over the projection tables; never writes and never reads the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, NotFound
from lineal.model import canonical
from lineal.model.digests import is_digest
from lineal.model.entities import Artifact, Edge, Run, artifact_node
from lineal.model.refs import Ref

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql

_ARTIFACT = "SELECT a.digest, a.kind, a.size, a.uri, a.meta, a.seq, a.name FROM artifacts a"
_WITH_VERSION = (
    "SELECT a.digest, a.kind, a.size, a.uri, a.meta, a.seq, a.name, v.version FROM artifacts a "
    "LEFT JOIN versions v ON v.kind = a.kind AND v.name = a.name AND v.digest = a.digest"
)
#: How many holders of one digest an ambiguity error lists.
_LISTED = 20


def digest_match(ref: Ref, column: str = "digest") -> tuple[str, tuple[str, ...]]:
    """SQL matching ``ref``'s digest or digest prefix in ``column``, as a range an index serves
    (LIKE cannot in SQLite: it ignores case); and its arguments."""
    text = ref.digest or ""
    if is_digest(text):
        return f"{column} = ?", (text,)
    return f"{column} >= ? AND {column} < ?", (text, text + "g")  # hex digits end at 'f'


def _artifact(row: tuple[Any, ...], version: int | None) -> Artifact:
    digest, kind, size, uri, meta, seq, name = row
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


def version_of(db: Sql, kind: str, name: str, digest: str) -> int | None:
    row = db.one(
        "SELECT version FROM versions WHERE kind = ? AND name = ? AND digest = ?",
        (kind, name, digest),
    )
    return None if row is None else int(row[0])


def by_digest(db: Sql, ref: Ref) -> Artifact:
    """What a bare ``sha256:…`` names: the unnamed artifact with those bytes, else the one
    named version holding them; several named versions are refused with their list."""
    match, bounds = digest_match(ref, "a.digest")
    rows = db.all(f"{_ARTIFACT} WHERE {match} ORDER BY a.seq LIMIT {_LISTED + 1}", bounds)
    if not rows:
        raise NotFound(f"no artifact matches {ref}", hint="`lineal log` lists what is recorded")
    if len({row[0] for row in rows}) > 1:
        raise InvalidInput(
            f"{ref} is ambiguous: several digests start with it",
            hint="give more hex characters of the digest",
        )
    unnamed = [row for row in rows if row[6] is None]
    if unnamed:
        return _artifact(unnamed[0], None)
    found = [_artifact(row, version_of(db, row[1], row[6], row[0])) for row in rows]
    if len(found) == 1:
        return found[0]
    listed = ", ".join(a.ref for a in found[:_LISTED]) + (", …" if len(rows) > _LISTED else "")
    raise InvalidInput(
        f"{ref} is held by {len(found)}{'+' if len(rows) > _LISTED else ''} named versions: "
        f"{listed}",
        hint="name the one you mean, e.g. " + found[0].ref,
    )


def _no_alias(db: Sql, ref: Ref) -> NotFound:
    held = db.all(
        "SELECT alias FROM aliases WHERE kind = ? AND name = ? AND until_seq IS NULL "
        "ORDER BY alias",
        (ref.kind, ref.name),
    )
    hint = f"set it with `lineal alias set {ref.kind}/{ref.name}@vN {ref.alias}`"
    if held:
        names = ", ".join(f"{ref.kind}/{ref.name}:{row[0]}" for row in held)
        return NotFound(
            f"{ref.kind}/{ref.name} has no alias {ref.alias!r}; it has {names}", hint=hint
        )
    return NotFound(f"{ref.kind}/{ref.name} has no alias {ref.alias!r} (it has none)", hint=hint)


def resolve(db: Sql, ref: Ref) -> Artifact | Run:
    """The artifact or run ``ref`` names, or NotFound with a hint."""
    if ref.kind == "run":
        assert ref.name is not None  # noqa: S101 - the grammar guarantees it
        return get_run(db, ref.name)
    if ref.kind is None:
        return by_digest(db, ref)
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
                hint="`lineal ls` lists named artifacts",
            )
        if ref.alias is not None:
            raise _no_alias(db, ref)
        raise NotFound(
            f"{ref} does not exist (the latest is {ref.kind}/{ref.name}@v{known[0]})",
            hint=f"`lineal show {ref.kind}/{ref.name}` lists its versions",
        )
    if len(rows) > 1:
        raise InvalidInput(f"{ref} is ambiguous", hint="give more hex characters of the digest")
    version, digest = rows[0]
    row = db.one(f"{_ARTIFACT} WHERE a.node = ?", (artifact_node(ref.kind, ref.name, digest),))
    assert row is not None  # noqa: S101 - versions only name recorded artifacts
    return _artifact(row, version)


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
    """The aliases and tags of this node, its name's versions, and every other node holding
    the same bytes (a copy, a re-registration: each keeps its own lineage)."""
    aliases: list[tuple[Any, ...]] = []
    versions: list[str] = []
    if artifact.name is not None:
        aliases = db.all(
            "SELECT alias FROM aliases WHERE kind = ? AND name = ? AND digest = ? "
            "AND until_seq IS NULL ORDER BY alias",
            (artifact.kind, artifact.name, artifact.digest),
        )
        versions = [
            f"{artifact.kind}/{artifact.name}@v{v}"
            for v, *_ in versions_with_seq(db, artifact.kind, artifact.name)
        ]
    same = db.all(
        "SELECT a.kind, a.name, v.version FROM artifacts a LEFT JOIN versions v "
        "ON v.kind = a.kind AND v.name = a.name AND v.digest = a.digest "
        "WHERE a.digest = ? AND a.node != ? ORDER BY a.seq",
        (artifact.digest, artifact.node),
    )
    return {
        "versions": versions,
        "aliases": [f"{artifact.kind}/{artifact.name}:{row[0]}" for row in aliases],
        "same_content": [
            f"{k}/{n}@v{v}" if n is not None else f"{k} {artifact.digest}" for k, n, v in same
        ],
        "tags": tags(db, artifact.node),
    }


def names(db: Sql, kind: str) -> list[str]:
    rows = db.all("SELECT DISTINCT name FROM versions WHERE kind = ? ORDER BY name", (kind,))
    return [row[0] for row in rows]


def artifacts_of_kind(db: Sql, kind: str | None) -> list[Artifact]:
    """Every artifact node (of ``kind``) in recording order, named ones with their version."""
    if kind is None:
        rows = db.all(f"{_WITH_VERSION} ORDER BY a.seq")
    else:
        rows = db.all(f"{_WITH_VERSION} WHERE a.kind = ? ORDER BY a.seq", (kind,))
    return [_artifact(row[:7], row[7]) for row in rows]


def unnamed(db: Sql, digest: str) -> Artifact | None:
    """The unnamed artifact with the bytes ``digest``, if one was recorded."""
    row = db.one(f"{_ARTIFACT} WHERE a.node = ?", (digest,))
    return None if row is None else _artifact(row, None)


def labels(db: Sql, nodes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``node -> (reference, kind)``: ``KIND/NAME@vN`` for a named version, the digest for an
    unnamed artifact, ``run/ID`` and ``agent/NAME`` as they are (kinds 'run', 'agent')."""
    wanted = list(dict.fromkeys(nodes))
    found = {n: (n, n.split("/", 1)[0]) for n in wanted if n.startswith(("run/", "agent/"))}
    artifacts = [n for n in wanted if n not in found]
    for start in range(0, len(artifacts), 500):
        chunk = artifacts[start : start + 500]
        rows = db.all(
            "SELECT a.node, a.kind, a.name, v.version FROM artifacts a LEFT JOIN versions v "
            "ON v.kind = a.kind AND v.name = a.name AND v.digest = a.digest "
            f"WHERE a.node IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for node, kind, name, version in rows:
            found[node] = (node if name is None else f"{kind}/{name}@v{version}", kind)
    return found


#: What one statement of ``presence`` binds at most (SQLite's old limit is 999 variables).
_PRESENCE_CHUNK = 500
#: ``presence``'s pieces: the rows of the nodes of one kind (tag 0) and of edges (tag 1).
_PRESENT = {
    "artifact": "SELECT 0, node, kind, {none} FROM artifacts WHERE node IN ({})",
    "run": "SELECT 0, 'run/' || id, status, {none} FROM runs WHERE id IN ({})",
    "agent": "SELECT DISTINCT 0, 'agent/' || name, 'agent', {none} FROM agents WHERE name IN ({})",
    "parent": "SELECT 1, kind, parent, child, role, seq FROM edges WHERE parent IN ({})",
    "child": "SELECT 1, kind, parent, child, role, seq FROM edges WHERE child IN ({})",
}
#: A node row's empty columns: typed, so PostgreSQL unites them with the edge rows'.
_NONE = "NULL, NULL, CAST(NULL AS INTEGER)"


def presence(
    db: Sql, nodes: Iterable[str], edges_of: Iterable[str] = ()
) -> tuple[dict[str, str], list[Edge]]:
    """Which of ``nodes`` exist (``node -> state``: an artifact's kind, a run's status,
    'agent') and the edges with an end among ``edges_of`` (recording order): one statement
    for up to 500 values of each kind."""
    wanted = list(dict.fromkeys(nodes))
    ends = list(dict.fromkeys(edges_of))
    values: dict[str, list[str]] = {
        "artifact": [n for n in wanted if not n.startswith(("run/", "agent/"))],
        "run": [n[4:] for n in wanted if n.startswith("run/")],
        "agent": [n[6:] for n in wanted if n.startswith("agent/")],
        "parent": ends,
        "child": ends,
    }
    states: dict[str, str] = {}
    edges: dict[tuple[Any, ...], None] = {}  # an edge with both ends asked: once
    longest = max(len(one) for one in values.values())
    for start in range(0, longest, _PRESENCE_CHUNK):
        pieces = [
            (_PRESENT[kind], chunk)
            for kind, all_of in values.items()
            if (chunk := all_of[start : start + _PRESENCE_CHUNK])
        ]
        sql = " UNION ALL ".join(
            text.replace("{none}", _NONE).format(", ".join("?" * len(v))) for text, v in pieces
        )
        for tag, a, b, c, d, e in db.all(sql, [value for _, chunk in pieces for value in chunk]):
            if tag == 0:
                states[a] = b
            else:
                edges[(a, b, c, d, e)] = None
    found = sorted(edges, key=itemgetter(4))
    return states, [
        Edge(kind=k, parent=p, child=c, role=r or None, seq=s) for k, p, c, r, s in found
    ]


def holders(db: Sql, digest: str) -> list[Artifact]:
    """Every node holding the bytes ``digest``, in recording order."""
    rows = db.all(f"{_WITH_VERSION} WHERE a.digest = ? ORDER BY a.seq", (digest,))
    return [_artifact(row[:7], row[7]) for row in rows]


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
