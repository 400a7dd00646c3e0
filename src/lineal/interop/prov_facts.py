"""What the provenance exports say about each node of an upstream graph: the artifact or run
itself, who recorded it and when, and whether an agent is a person or a CI service.

Reads through the service API and the Store protocol only; never writes, never prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lineal.client import Lineal
from lineal.errors import NotFound
from lineal.lineage.graph import Graph
from lineal.model.entities import Artifact, Edge, Run, split_node

#: Variables a run's captured environment holds when a CI service ran it (see
#: lineal.tracking.capture): its author is then a software agent, not a person.
CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE_BUILD_ID", "BUILD_NUMBER")


@dataclass(frozen=True, slots=True)
class Recorded:
    """The ledger record that wrote a node: who signed it, and when."""

    author: str
    time: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """Every node of ``graph`` resolved: artifacts and runs as recorded, the record that wrote
    each artifact, and the agents met (named by an edge, a run's author or a recorder)."""

    graph: Graph
    artifacts: Mapping[str, Artifact] = field(default_factory=dict)
    runs: Mapping[str, Run] = field(default_factory=dict)
    recorded: Mapping[str, Recorded] = field(default_factory=dict)
    #: each artifact's tags now (a run's are on the Run)
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    agents: tuple[str, ...] = ()
    #: agents that ran a run under a CI service (software agents)
    services: frozenset[str] = frozenset()


def record_of(repo: Lineal, seq: int | None) -> Recorded | None:
    """Who wrote ledger record ``seq`` and when (None when unknown: spooled, not yet numbered)."""
    if not seq:
        return None
    for record in repo.store.records(after=seq - 1, limit=1):
        if record.seq == seq:
            return Recorded(record.author, record.time)
    return None


def artifact_of(repo: Lineal, node: str) -> Artifact:
    """The artifact a graph node id names: a named version or an unnamed artifact."""
    kind, name, digest = split_node(node)
    if name is None:
        found = repo.unnamed(digest)
        if found is None:
            raise NotFound(f"no artifact {digest}", hint="run `lineal verify` to check the store")
        return found
    resolved = repo.resolve(node)
    if not isinstance(resolved, Artifact):  # a version node always names an artifact
        raise NotFound(f"no artifact {kind}/{name}@{digest}")
    return resolved


def ran_in_ci(run: Run) -> bool:
    """Whether the run's captured environment says a CI service ran it."""
    context = run.meta.get("context")
    env = context.get("env") if isinstance(context, Mapping) else None
    return isinstance(env, Mapping) and any(env.get(name) for name in CI_VARIABLES)


def gather(repo: Lineal, graph: Graph) -> Facts:
    """Resolve every node of ``graph`` (one read per node) and find the agents behind them."""
    artifacts: dict[str, Artifact] = {}
    runs: dict[str, Run] = {}
    recorded: dict[str, Recorded] = {}
    tags: dict[str, dict[str, str]] = {}
    agents: list[str] = []
    for node_id, node in graph.nodes.items():
        if node.type == "artifact":
            artifact = artifacts[node_id] = artifact_of(repo, node_id)
            tags[node_id] = repo.store.tags(node_id)
            record = record_of(repo, artifact.seq)
            if record is not None:
                recorded[node_id] = record
                agents.append(record.author)
        elif node.type == "run":
            run = repo.store.get_run(node_id.removeprefix("run/"))
            runs[node_id] = run
            if run.author:
                agents.append(run.author)
        else:
            agents.append(node_id.removeprefix("agent/"))
    services = {agent for agent, run in _runners(graph, runs) if ran_in_ci(run)}
    return Facts(
        graph=graph,
        artifacts=artifacts,
        runs=runs,
        recorded=recorded,
        tags=tags,
        agents=tuple(dict.fromkeys(agents)),
        services=frozenset(services),
    )


def _runners(graph: Graph, runs: Mapping[str, Run]) -> Iterable[tuple[str, Run]]:
    """(agent name, run) for each run's author and each agent associated with a run."""
    for run in runs.values():
        if run.author:
            yield run.author, run
    for edge in graph.edges:
        if edge.kind == "associated_with" and edge.child in runs:
            yield edge.parent.removeprefix("agent/"), runs[edge.child]


def edges_into(repo: Lineal, artifact: Artifact, kinds: Iterable[str]) -> list[Edge]:
    """The edges of ``kinds`` that end at ``artifact`` (its direct upstream), in order."""
    wanted = set(kinds)
    return [e for e in repo.edges(artifact) if e.kind in wanted and e.child == artifact.node]
