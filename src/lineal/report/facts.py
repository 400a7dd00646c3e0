"""What an audit report says about a model version or a dataset version, gathered in one pass.

Every fact comes from the services `lineal show`, `lineal model show`, `lineal model history`,
`lineal policy check` and `lineal verify` answer with; nothing is computed twice differently.
What an auditor would expect and lineal does not hold is listed in ``missing`` rather than left
out. Reads only, through the services; never writes and never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import __version__
from lineal.errors import InvalidInput, LinealError
from lineal.model.entities import Artifact, Run

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.lineage.graph import Graph

#: The kinds of artifact a report can be about.
SUBJECTS = ("model", "dataset")
#: Run params and meta keys that hold a seed.
_SEED_KEYS = ("seed", "random_seed", "random_state")


@dataclass(slots=True)
class Report:
    """The facts of one report; ``as_dict`` is what `lineal report --json` prints."""

    subject: dict[str, Any]
    picture: dict[str, Any]  # the provenance graph: nodes and links (lineal.report.picture)
    datasets: list[dict[str, Any]]
    schemas: list[dict[str, Any]]
    scenes: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    registry: dict[str, Any] | None  # promotions, approvals and policy results (a model)
    verification: dict[str, Any]
    #: findings of the quality checks, by section title (lineal.report.sections)
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    generated: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "generated": self.generated,
            "lineal": __version__,
            "datasets": self.datasets,
            "schemas": self.schemas,
            "scenes": self.scenes,
            "runs": self.runs,
            "registry": self.registry,
            "findings": self.findings,
            "verification": self.verification,
            "missing": self.missing,
            "graph": self.picture,
        }


def _subject(repo: Lineal, ref: str) -> Artifact:
    found = repo.resolve(ref)
    if not isinstance(found, Artifact) or found.kind not in SUBJECTS:
        kind = "a run" if isinstance(found, Run) else f"a {getattr(found, 'kind', 'node')}"
        raise InvalidInput(
            f"{ref} is {kind}: a report is about a model or a dataset version",
            hint="name one, e.g. lineal report model/NAME:production or dataset/NAME@v2",
        )
    return found


def _label(repo: Lineal, node: str, graph: Graph | None = None) -> str:
    if graph is not None and node in graph.nodes:
        return graph.nodes[node].label
    return repo.store.labels([node]).get(node, (node, ""))[0]


def _seeds(run: Mapping[str, Any]) -> dict[str, Any]:
    found = {}
    for where in ("params", "meta"):
        for key, value in (run.get(where) or {}).items():
            if key.lower() in _SEED_KEYS or key.lower().endswith(".seed"):
                found[key] = value
    return found


def _code(run: Mapping[str, Any]) -> dict[str, Any] | None:
    code = (run.get("meta") or {}).get("code")
    if not isinstance(code, Mapping):
        return None
    return {key: code.get(key) for key in ("commit", "branch", "remote", "changed") if key in code}


def _environment(repo: Lineal, show: Mapping[str, Any]) -> list[str]:
    from lineal.registry.show import environment_summary

    found = []
    for edge in show.get("upstream", []):
        if edge["kind"] == "used" and edge.get("node_kind") == "env":
            artifact = repo.resolve(edge["node"])
            assert isinstance(artifact, Artifact)  # noqa: S101 - an env node is an artifact
            found.append(environment_summary(dict(artifact.meta)))
    return found


def _run(repo: Lineal, ref: str, role: str) -> dict[str, Any]:
    from lineal.labels.runs import show

    body = show(repo, ref)
    used = [e for e in body.get("upstream", []) if e["kind"] == "used"]
    return {
        "ref": body["ref"],
        "name": body["name"],
        "role": role,
        "status": body["status"],
        "author": body.get("author"),
        "started": body.get("started"),
        "ended": body.get("ended"),
        "error": body.get("error"),
        "code": _code(body),
        "environment": _environment(repo, body),
        "params": body.get("params") or {},
        "seeds": _seeds(body),
        "inputs": [
            {"ref": e["ref"], "kind": e.get("node_kind"), "role": e.get("role")}
            for e in used
            if e.get("node_kind") not in ("env", "code")
        ],
        "outputs": [
            {"ref": e["ref"], "kind": e.get("node_kind"), "role": e.get("role")}
            for e in body.get("downstream", [])
            if e["kind"] == "generated"
        ],
        "metrics": dict(sorted((body.get("summary") or {}).items())),
        "schemas": body.get("schemas", []),
        "schema_warnings": body.get("schema_warnings", []),
    }


def _stats(artifact: Artifact) -> dict[str, Any] | None:
    """The annotation statistics recorded with a dataset version (summed over its schemas)."""
    labels = artifact.meta.get("labels")
    if not isinstance(labels, Mapping):
        return None
    images = annotations = 0
    per_class: dict[str, int] = {}
    for one in labels.get("schemas") or []:
        stats = one.get("stats") or {}
        images += int(stats.get("images") or 0)
        annotations += int(stats.get("annotations") or 0)
        for name, count in (stats.get("per_class") or {}).items():
            per_class[name] = per_class.get(name, 0) + int(count)
    return {
        "images": images,
        "annotations": annotations,
        "per_class": dict(sorted(per_class.items(), key=lambda kv: (-kv[1], kv[0]))),
        "problems": int(labels.get("problems") or 0),
    }


def _dataset(repo: Lineal, node: str, label: str, roles: Iterable[str]) -> dict[str, Any]:
    from lineal.registry.stated import stated

    artifact = repo.resolve(node)
    assert isinstance(artifact, Artifact)  # noqa: S101 - a dataset node is an artifact
    return {
        "ref": label,
        "digest": artifact.digest,
        "license": stated(repo, artifact, "license"),
        "source": stated(repo, artifact, "source"),
        "files": artifact.meta.get("files"),
        "size": artifact.size,
        "owner": artifact.meta.get("owner"),
        "roles": sorted(set(roles)),
        "stats": _stats(artifact),
        "aliases": sorted(repo.store.artifact_details(artifact)["aliases"]),
        "tags": dict(repo.store.tags(node)),
    }


def _schemas(repo: Lineal, refs: Iterable[str]) -> list[dict[str, Any]]:
    from lineal.labels.record import show

    found = []
    for ref in dict.fromkeys(refs):
        body = show(repo, ref)
        classes = [c["name"] if isinstance(c, Mapping) else str(c) for c in body.get("classes", [])]
        found.append({"ref": body["ref"], "digest": body["digest"], "format": body.get("format"),
                      "classes": classes, "datasets": body.get("datasets", [])})  # fmt: skip
    return found


def _scenes(repo: Lineal, nodes: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    from lineal.registry.stated import stated
    from lineal.scenes.record import show

    found = []
    for node, ref in nodes:
        body = show(repo, ref)
        artifact = repo.resolve(node)
        assert isinstance(artifact, Artifact)  # noqa: S101
        found.append(
            {
                "ref": body["ref"],
                "digest": body["digest"],
                "license": stated(repo, artifact, "license"),
                "source": stated(repo, artifact, "source"),
                "summary": body.get("summary") or {},
                "missing": body.get("missing") or [],
                "derived_from": body.get("derived_from", []),
            }
        )
    return found


def _registry(repo: Lineal, model: Artifact, ref: str) -> dict[str, Any]:
    from lineal.registry.approvals import approvals
    from lineal.registry.promote import check_version, history

    name = f"model/{model.name}"
    story = history(repo, str(model.name))
    policies: list[dict[str, Any]] = []
    note = None
    try:
        policies = check_version(repo, ref)
    except InvalidInput as exc:  # no policy in force
        note = exc.message
    return {
        "model": name,
        "holders": [h for h in story["holders"] if h["ref"] == ref],
        "promotions": [p for p in story["promotions"] if p.get("ref") == ref],
        "approvals": approvals(repo, ref),
        "policies": policies,
        "policy_note": note,
    }


def _verification(repo: Lineal) -> dict[str, Any]:
    """`lineal verify`'s answer, with the newest signed checkpoint it checked (its tree
    head: size, root, head hash, signer, time and signature)."""
    from lineal import checkpoint_files
    from lineal.verification import verify

    found = verify(repo).as_dict()
    path = (found.get("checkpoint") or {}).get("path")
    if path:
        document = checkpoint_files.read(Path(path))
        found["checkpoint_head"] = {
            key: document.get(key)
            for key in ("size", "root", "head", "time", "agent", "public_key", "sig")
        }
    return found


def _beside(repo: Lineal, subject: Artifact) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The runs that used a model (its evaluations) and their inputs ``(parent, run, role)``:
    beside the model's upstream, not in it."""
    if subject.kind != "model":
        return [], []
    runs = [e.child for e in repo.edges(subject) if e.kind == "used"]
    inputs = [
        (edge.parent, run, edge.role or "")
        for run in runs
        for edge in repo.edges(run)
        if edge.kind == "used" and edge.child == run
    ]
    return runs, inputs


def _roles(graph: Graph, beside: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """How runs used each artifact (train, eval, …), by node."""
    roles: dict[str, list[str]] = {}
    for link in graph.links:
        role = getattr(link, "role", None)  # a Through link has none
        if link.kind == "used" and role:
            roles.setdefault(link.parent, []).append(role)
    for parent, _, role in beside:
        if role:
            roles.setdefault(parent, []).append(role)
    return roles


def gather(
    repo: Lineal,
    ref: str,
    *,
    sections: Iterable[Callable[[Lineal, Report], None]] | None = None,
    verify: bool = True,
) -> Report:
    """The facts of the report on ``ref`` (a model or dataset version). ``sections``: more
    findings to add (each fills ``report.findings``; default: lineal.report.sections.ALL);
    ``verify``: run `lineal verify`'s checks
    (the report then states the ledger's, audit log's and checkpoint's status)."""
    from lineal.lineage import queries
    from lineal.registry.models import generated_by
    from lineal.report import missing
    from lineal.report.picture import graph_picture

    subject = _subject(repo, ref)
    graph = queries.upstream(repo, subject.node)
    label = _label(repo, subject.node, graph)
    evaluators, beside = _beside(repo, subject)
    roles = _roles(graph, beside)
    upstream = [n for n in graph.nodes.values() if n.id != subject.node]
    artifacts = [n for n in upstream if n.type == "artifact"]
    dataset_nodes = [subject.node] if subject.kind == "dataset" else []
    dataset_nodes += [n.id for n in artifacts if n.kind == "dataset"]
    dataset_nodes += [p for p, _, _ in beside if p.startswith("dataset/")]
    datasets = [
        _dataset(repo, node, _label(repo, node, graph), roles.get(node, ()))
        for node in dict.fromkeys(dataset_nodes)
    ]
    schema_refs = [n.label for n in artifacts if n.kind == "schema"]
    for one in datasets:
        schema_refs += _labelled_with(repo, one)
    run_refs: dict[str, str] = {}
    trained_by = generated_by(repo, subject) if subject.kind == "model" else None
    if trained_by:
        run_refs[trained_by] = "trained"
    for run in evaluators:
        run_refs.setdefault(run, "evaluated")
    for node in upstream:
        if node.type == "run":
            run_refs.setdefault(node.id, "upstream")
    report = Report(
        subject={
            "ref": label,
            "kind": subject.kind,
            "name": subject.name,
            "digest": subject.digest,
            "size": subject.size,
            "aliases": sorted(repo.store.artifact_details(subject)["aliases"]),
            "tags": dict(repo.store.tags(subject.node)),
        },
        picture=graph_picture(graph, subject.node, beside),
        datasets=datasets,
        schemas=_schemas(repo, schema_refs),
        scenes=_scenes(repo, [(n.id, n.label) for n in artifacts if n.kind == "scene"]),
        runs=[_run(repo, run, role) for run, role in run_refs.items()],
        registry=_registry(repo, subject, label) if subject.kind == "model" else None,
        verification=_verification(repo) if verify else {"skipped": True},
        generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    if sections is None:
        from lineal.report import sections as quality

        sections = quality.ALL
    for section in sections:
        try:
            section(repo, report)
        except LinealError as exc:  # a section that cannot answer says so
            report.missing.append(f"{getattr(section, 'title', section.__name__)}: {exc.message}")
    report.missing[:0] = missing.stated(report)
    return report


def _labelled_with(repo: Lineal, dataset: Mapping[str, Any]) -> list[str]:
    from lineal.labels.record import labeled_with, named

    found = repo.resolve(dataset["ref"])
    assert isinstance(found, Artifact)  # noqa: S101
    return [named(repo, s).ref for s in labeled_with(repo, found)]
