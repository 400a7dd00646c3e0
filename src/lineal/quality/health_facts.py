"""Everything lineage health and staleness look at, read in a fixed handful of set-based
Store calls (never one call per model or run), and indexed for the measures.

A service over lineal.client; never prints and never writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lineal.client import Lineal
from lineal.model.entities import Artifact, Edge, Run
from lineal.store.base import NodeRow, Store

#: Upstream kinds whose newer version makes a model stale (code: see ``Facts.code_of``).
VERSIONED = ("dataset", "schema", "scene")
#: Input roles under which a run measures a model rather than learns.
EVAL_ROLES = frozenset({"eval", "evaluation", "test", "val", "valid", "validation"})


@dataclass(slots=True)
class Facts:
    """The models, their upstream graph, the runs, and what the measures need about them."""

    models: list[Artifact]
    artifacts: dict[str, Artifact]  # node -> artifact
    nodes: dict[str, NodeRow]  # every node upstream of a model, and the models
    parents: dict[str, list[Edge]]  # child -> edges into it (upstream of the models)
    latest: dict[tuple[str, str], int]  # (kind, name) -> newest version
    runs: list[Run]  # every run, newest first (crashed ones say so)
    approved: set[str]  # dataset nodes holding an approved evaluation alias
    evaluated_on: dict[str, set[str]]  # model node -> dataset nodes runs measured it on
    stated: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> node -> tag

    def _earlier_version(self, edge: Edge) -> bool:
        """Whether ``edge`` only links a version to the one it followed (``schema/x@v1 ->
        schema/x@v2``): the older one is history, not an input."""
        parent, child = self.nodes.get(edge.parent), self.nodes.get(edge.child)
        return (
            edge.kind == "derived_from"
            and parent is not None
            and child is not None
            and parent.name is not None
            and (parent.kind, parent.name) == (child.kind, child.name)
        )

    def upstream(self, node: str) -> list[str]:
        """Every node upstream of ``node`` (itself excluded), nearest first, without the
        earlier versions of a named input (see :meth:`_earlier_version`)."""
        seen, order, frontier = {node}, [], [node]
        while frontier:
            onward = []
            for current in frontier:
                for edge in self.parents.get(current, ()):
                    if edge.parent not in seen and not self._earlier_version(edge):
                        seen.add(edge.parent)
                        order.append(edge.parent)
                        onward.append(edge.parent)
            frontier = onward
        return order

    def code_of(self, run_node: str) -> str | None:
        """The code node a run used (None: it recorded none)."""
        for edge in self.parents.get(run_node, ()):
            if edge.role == "code" or self.kind(edge.parent) == "code":
                return edge.parent
        return None

    def kind(self, node: str) -> str | None:
        row = self.nodes.get(node)
        if row is not None:
            return row.kind
        artifact = self.artifacts.get(node)
        return artifact.kind if artifact is not None else None

    def label(self, node: str) -> str:
        row = self.nodes.get(node)
        if row is not None and row.name is not None and row.version is not None:
            return f"{row.kind}/{row.name}@v{row.version}"
        if node.startswith("run/") and row is not None and row.name:
            return f"{node} ({row.name})"
        artifact = self.artifacts.get(node)
        return artifact.ref if artifact is not None else node

    def stated_value(self, node: str, key: str) -> str | None:
        """``key`` (license, source) as the node's tag says it now, else as recorded."""
        tagged = self.stated.get(key, {}).get(node)
        if tagged:
            return tagged
        artifact = self.artifacts.get(node)
        if artifact is None:
            return None
        value = artifact.meta.get(key)
        extra = artifact.meta.get("extra")
        if value in (None, "") and isinstance(extra, dict):
            value = extra.get(key)
        return None if value in (None, "") else str(value)


def approved_aliases(repo: Lineal) -> set[str]:
    """The dataset aliases the registry's policies evaluate on (the ledger's policy, and the
    workspace's `lineal.toml`); empty when no policy names one."""
    from lineal import settings

    found: set[str] = set()
    record = repo.store.policy_record()
    for body in (record or {}).get("policies", {}).values():
        if isinstance(body, dict) and isinstance(body.get("eval_alias"), str):
            found.add(body["eval_alias"])
    found.update(
        p.eval_alias for p in settings.load(repo.workspace).policies.values() if p.eval_alias
    )
    return found


def _approved(repo: Lineal, artifacts: Iterable[Artifact]) -> set[str]:
    """Dataset nodes holding an approved alias now (any alias when no policy names one)."""
    wanted = approved_aliases(repo)
    held = {
        (name, version)
        for _, name, alias, version, _ in repo.store.held_aliases("dataset")
        if not wanted or alias in wanted
    }
    return {a.node for a in artifacts if a.kind == "dataset" and (a.name, a.version) in held}


def _tagged(store: Store, key: str) -> dict[str, str]:
    """``node -> value`` of every node whose tag ``key`` is set now (one read for all)."""
    return {node: value for node, value, _ in store.tagged(key)}


def _index(edges: Iterable[Edge]) -> dict[str, list[Edge]]:
    parents: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        if edge not in parents[edge.child]:
            parents[edge.child].append(edge)
    return parents


def gather(repo: Lineal, models: Sequence[Artifact] | None = None) -> Facts:
    """The facts about ``models`` (None: every model version), in ten Store reads."""
    store = repo.store
    every = store.artifacts()
    artifacts = {a.node: a for a in every}
    chosen = list(models) if models is not None else [a for a in every if a.kind == "model"]
    roots = [m.node for m in chosen]
    _, edges, nodes = store.subgraph(roots, upstream=True) if roots else ({}, [], {})
    parents = _index(edges)
    # The runs that measured each model: those that used it, and its own training runs' eval
    # inputs; what data they measured it on.
    _, below, _ = store.subgraph(roots, upstream=False, depth=1) if roots else ({}, [], {})
    users = sorted({e.child for e in below if e.kind == "used" and e.child.startswith("run/")})
    _, inputs, _ = store.subgraph(users, upstream=True, depth=1) if users else ({}, [], {})
    used = _index(inputs)
    evaluated_on: dict[str, set[str]] = {}
    for edge in below:
        if edge.kind == "used" and edge.child in used:
            data = {
                e.parent for e in used[edge.child] if e.kind == "used" and e.parent != edge.parent
            }
            evaluated_on.setdefault(edge.parent, set()).update(data)
    runs = store.search_runs(None, with_meta=False)[0]
    # The newest run of each pipeline, and its inputs: the code a pipeline runs now.
    newest = list({run.name: run.ref for run in reversed(runs)}.values())
    _, latest_inputs, _ = store.subgraph(newest, upstream=True, depth=1) if newest else ({}, [], {})
    for edge in latest_inputs:
        if edge.child in newest and edge not in parents[edge.child]:
            parents[edge.child].append(edge)
    facts = Facts(
        models=chosen,
        artifacts=artifacts,
        nodes=nodes,
        parents=parents,
        latest={(k, n): v for k, n, v, _, _ in store.latest_versions()},
        runs=runs,
        approved=_approved(repo, every),
        evaluated_on=evaluated_on,
        stated={key: _tagged(store, key) for key in ("license", "source")},
    )
    for model in chosen:
        trained = [
            e.parent
            for node in facts.upstream(model.node)
            if node.startswith("run/")
            for e in parents.get(node, ())
            if e.role in EVAL_ROLES
        ]
        evaluated_on.setdefault(model.node, set()).update(trained)
    return facts
