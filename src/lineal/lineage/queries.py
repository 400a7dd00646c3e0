"""Lineage queries over one store: upstream, downstream and paths, now or at any past moment.

Resolves references as of the moment and builds Graphs from the store's lineage answers;
never prints, and never writes SQL itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time

from lineal.client import Lineal
from lineal.errors import IntegrityError, InvalidInput
from lineal.lineage.graph import Graph
from lineal.model import canonical
from lineal.model.entities import check_agent_name
from lineal.model.refs import ARTIFACT_KINDS, Ref, parse
from lineal.store.base import Columns, Store

#: What ``kinds`` may name: the artifact kinds, runs and agents.
NODE_KINDS = (*ARTIFACT_KINDS, "run", "agent")

#: A moment: a ledger seq, an aware datetime, an ISO-8601 time or date, or None for now.
AsOf = int | str | datetime | None

_SEQ = re.compile(r"-?[0-9]+")
_EXPECTED_MOMENT = (
    "expected a ledger seq (0 up to the latest), an ISO-8601 time such as "
    "2026-11-25T13:38:01Z (UTC unless an offset is given) or a date such as 2026-11-25 "
    "(the end of that day, UTC)"
)
_DATE = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}")


def _bad_moment(value: object, reason: str = "") -> InvalidInput:
    detail = f" ({reason})" if reason else ""
    return InvalidInput(
        f"bad as-of {value!r}{detail}: {_EXPECTED_MOMENT}",
        hint="`lineal log` lists each record's seq and time",
    )


def as_of_seq(repo: Lineal, value: AsOf) -> int | None:
    """The ledger seq a moment stands for: a seq as it is (0 to the head); a time, the last
    record written at or before it (0 before the first); a date (text such as 2026-11-25),
    the last record written on or before that day, UTC; None stays None (now)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | datetime):
        raise _bad_moment(value)
    if isinstance(value, str):
        text = value.strip()
        if _SEQ.fullmatch(text):
            return as_of_seq(repo, int(text))
        try:
            moment = _end_of_day(text) or datetime.fromisoformat(text)
        except ValueError:
            raise _bad_moment(value) from None
        return as_of_seq(repo, moment)
    if isinstance(value, int):
        head = repo.store.head()[0]
        if not 0 <= value <= head:
            raise _bad_moment(value, f"the ledger runs from seq 0 to {head}")
        return value
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        when = canonical.format_time(moment)
    except (ValueError, OverflowError) as exc:
        raise _bad_moment(value, str(exc)) from None
    return repo.store.seq_at_time(when)


def _end_of_day(text: str) -> datetime | None:
    """The last microsecond of a plain date's day in UTC (a day ``as of`` which a store written
    that day is not empty); None when ``text`` is not a date alone."""
    if not _DATE.fullmatch(text):
        return None
    return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)


def _check_depth(depth: int | None) -> int | None:
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise InvalidInput(
            f"bad depth {depth!r}: expected a number of steps, 0 or more",
            hint="leave the depth out to follow lineage all the way",
        )
    return depth


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    if kinds is None:
        return None
    chosen = tuple(kinds) if not isinstance(kinds, str) else (kinds,)
    wrong = [kind for kind in chosen if kind not in NODE_KINDS]
    if wrong:
        raise InvalidInput(
            f"bad kind {wrong[0]!r}: expected one of {', '.join(NODE_KINDS)}",
            hint="give one kind per --kind option (it may repeat)",
        )
    return chosen


def _resolve(store: Store, ref: str | Ref, seq: int | None, *, every_version: bool) -> list[str]:
    if isinstance(ref, str) and ref.startswith("agent/"):
        return [store.agent_at(check_agent_name(ref[len("agent/") :]), seq)]
    parsed = ref if isinstance(ref, Ref) else parse(ref)
    return store.resolve_at(parsed, seq, every_version=every_version)


def _graph(
    repo: Lineal,
    *,
    roots: Sequence[str],
    direction: str,
    answer: Columns,
    asked: int | None,
    kinds: tuple[str, ...] | None,
    crashed: Sequence[str] | None = None,
) -> Graph:
    """The graph of a lineage answer; ``crashed``: the crashed runs, when already read."""
    if answer.missing:
        raise IntegrityError(
            f"the edges name {sorted(answer.missing)[0]}, which the projections do not hold",
            hint="run `lineal verify` to find what was altered",
        )
    status = answer.status
    if asked is None and "running" in status:
        dead = {
            f"run/{run_id}"
            for run_id in (repo.store.crashed_runs() if crashed is None else crashed)
        }
        status = [
            "crashed" if value == "running" and node in dead else value
            for node, value in zip(answer.id, status, strict=True)
        ]
    labels = [
        f"{kind}/{name}@v{version}" if kind_of == "artifact" and name is not None else node
        for node, kind_of, kind, name, version in zip(
            answer.id, answer.type, answer.kind, answer.name, answer.version, strict=True
        )
    ]
    graph = Graph.from_columns(
        roots=roots,
        direction=direction,
        nodes=(
            answer.id, answer.type, answer.kind, labels, answer.name, answer.version, status,
            answer.depth, answer.aliases,
        ),
        edges=(answer.parent, answer.child, answer.edge_kind, answer.role, answer.seq),
        as_of=asked,
    )  # fmt: skip
    return graph if kinds is None else graph.only(kinds)


def _closure(
    repo: Lineal,
    ref: str | Ref,
    *,
    upstream: bool,
    depth: int | None,
    kinds: Iterable[str] | None,
    as_of: AsOf,
) -> Graph:
    depth, chosen = _check_depth(depth), _check_kinds(kinds)
    seq = as_of_seq(repo, as_of)
    # One read: the roots, their subgraph and the crashed runs (one request to a server).
    roots, answer, crashed = repo.store.closure(str(ref), upstream=upstream, depth=depth, as_of=seq)
    return _graph(
        repo,
        roots=roots,
        direction="upstream" if upstream else "downstream",
        answer=answer,
        asked=seq,
        kinds=chosen,
        crashed=crashed,
    )


def upstream(
    repo: Lineal,
    ref: str | Ref,
    *,
    depth: int | None = None,
    kinds: Iterable[str] | None = None,
    as_of: AsOf = None,
) -> Graph:
    """Where ``ref`` came from: it and everything upstream, ``depth`` steps at most.

    ``ref`` names one node as of ``as_of`` (a bare ``KIND/NAME``: its latest version then; an
    alias: the version it pointed at then); ``agent/NAME`` names an agent. ``kinds`` keeps
    only nodes of those kinds (and the root) while the walk still goes through every node.
    """
    return _closure(repo, ref, upstream=True, depth=depth, kinds=kinds, as_of=as_of)


def downstream(
    repo: Lineal,
    ref: str | Ref,
    *,
    depth: int | None = None,
    kinds: Iterable[str] | None = None,
    as_of: AsOf = None,
) -> Graph:
    """What ``ref`` fed into: it and everything downstream, ``depth`` steps at most.

    A bare ``KIND/NAME`` means every version recorded by ``as_of`` (the impact of any of
    them), and they are all roots. Model nodes carry the aliases they held then.
    """
    return _closure(repo, ref, upstream=False, depth=depth, kinds=kinds, as_of=as_of)


def path(repo: Lineal, a: str | Ref, b: str | Ref, *, as_of: AsOf = None) -> Graph:
    """Every node on some path from ``a`` down to ``b`` (both included), with the edges among
    them; no nodes at all when ``b`` does not descend from ``a``.

    A bare ``KIND/NAME`` for ``a`` means any of its versions; ``b`` names one node.
    """
    seq = as_of_seq(repo, as_of)
    sources = _resolve(repo.store, a, seq, every_version=True)
    (target,) = _resolve(repo.store, b, seq, every_version=False)
    answer = repo.store.path_subgraph(sources, target, seq)
    held = set(answer.id)
    roots = [source for source in dict.fromkeys(sources) if source in held]
    return _graph(repo, roots=roots, direction="path", answer=answer, asked=seq, kinds=None)
