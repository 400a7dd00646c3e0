"""What differs between two runs or models across their whole upstream, likeliest cause first.

A service over lineage queries, runs and manifests; never prints and never writes.
``diff(repo, a, b)`` takes two runs, or two artifacts with a generating run (a model: the run
that trained it), and compares: dataset versions (with files added, removed and modified when
both manifests are in the local cache), label schemas (used, or labelling inputs, by role),
scenes (by name and digest), other upstream artifacts by name, the runs' params, seeds, splits
(params ``split.*``), code (commit, uncommitted changes), environment (Python, packages, OS,
container), params of upstream runs paired by name, and — separately, as the effect to
explain — every metric on both sides and each side's recorded label-schema warnings.

How changes are ranked (``score``, 0-100: how likely this change alone moves a metric; ties
in the order of CATEGORIES, then by subject)::

    100        label schema changed, added or removed (what every label means)
    60 + 35·f  dataset version changed; f = files added + removed + modified over the larger
               version's file count (0.5 when a manifest is not cached)
    95         dataset added or removed as an input
    75         scene changed, added or removed
    55         another upstream artifact (model, config, file, report) changed, added, removed
    50 / 45    code commit changed / uncommitted changes changed
    40 / 38 / 36   a param / the seed / a split of the run changed
    30         a param of an upstream run (paired by run name) changed
    24         Python version changed
    20 + b     an ML package (torch, tensorflow, jax, numpy, CUDA libraries, …); b = 3 when added,
               removed or a major version apart, 2 a minor version apart, else 1
    12 / 10    container image / operating system changed
    5 + b      any other package
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError
from lineal.labels.runs import schema_changes, schema_digests, side_warnings
from lineal.lineage.changes import CATEGORIES, Change, LineageDiff, MetricChange
from lineal.lineage.environment import ML_PACKAGES, env_changes, is_ml_package
from lineal.lineage.graph import Graph, Node
from lineal.lineage.queries import upstream
from lineal.model.entities import Artifact, Run, split_node

#: Kinds recorded as snapshots of files (a manifest): their versions differ file by file.
_SNAPSHOTS = ("dataset", "model", "file")
_HANDLED = ("env", "code")  # compared from the runs' own env and code inputs


# -- resolving the two sides -----------------------------------------------------------------
def _found(repo: Lineal, text: str) -> Artifact | Run:
    """A run or artifact; a bare NAME means dataset/NAME, as for dataset commands."""
    return repo.resolve(text if "/" in text or text.startswith("sha256:") else f"dataset/{text}")


def _what(found: Artifact | Run) -> str:
    return "a run" if isinstance(found, Run) else f"a {found.kind}"


_HINT = (
    "`lineal diff` compares two dataset versions file by file, or two runs or models "
    "(through the runs that made them) by everything upstream"
)


def is_file_diff(repo: Lineal, a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are both dataset versions (a file diff); False when neither
    is (a lineage diff); InvalidInput when one is and the other is not."""
    first, second = _found(repo, a), _found(repo, b)
    datasets = [isinstance(x, Artifact) and x.kind == "dataset" for x in (first, second)]
    if datasets[0] != datasets[1]:
        raise InvalidInput(
            f"cannot diff {a} ({_what(first)}) with {b} ({_what(second)})", hint=_HINT
        )
    return datasets[0]


def run_of(repo: Lineal, ref: str) -> Run:
    """The run ``ref`` names, or the run that generated the artifact it names (the first
    recorded, should the same bytes have been generated twice)."""
    found = _found(repo, ref)
    if isinstance(found, Run):
        return found
    made = [e for e in repo.edges(found) if e.kind == "generated" and e.child == found.node]
    if not made:
        raise InvalidInput(f"{ref} is {_what(found)} that no recorded run generated", hint=_HINT)
    run = repo.resolve(min(made, key=lambda e: e.seq or 0).parent)
    assert isinstance(run, Run)  # noqa: S101 - a generated edge starts at a run
    return run


Meta = Mapping[str, Any]


def _side(repo: Lineal, run: Run) -> tuple[Graph, Meta, Meta]:
    """The run's whole upstream, and the meta of its environment and code (empty: none)."""
    graph = upstream(repo, run.ref)
    found: dict[str, Mapping[str, Any]] = {}
    for edge in graph.edges:
        kind = graph.nodes[edge.parent].kind
        if edge.child == run.ref and edge.kind == "used" and kind in _HANDLED and kind not in found:
            found[kind] = _artifact(repo, edge.parent).meta
    code = found.get("code") or {}
    if not code and isinstance(run.meta.get("code"), Mapping):
        recorded = run.meta["code"]
        code = {"commit": recorded.get("commit"), "diff": recorded.get("diff_digest")}
    return graph, found.get("env") or {}, code


def diff(repo: Lineal, a: str, b: str) -> LineageDiff:
    """Compare two runs or models (see the module docstring for what and in which order)."""
    run_a, run_b = run_of(repo, a), run_of(repo, b)
    (graph_a, env_a, code_a), (graph_b, env_b, code_b) = _side(repo, run_a), _side(repo, run_b)
    by_role = schema_changes(repo, run_a, run_b)  # its data's schemas, said once, by class
    changes = [
        *_artifact_changes(repo, graph_a, graph_b, said=schema_digests(by_role)),
        *_code_changes(code_a, code_b),
        *_run_changes(run_a, run_b),
        *_upstream_run_changes(repo, graph_a, graph_b),
        *env_changes(env_a, env_b),
        *(Change.of("schema", *x[:3], 100.0, **x[3]) for x in by_role),
    ]
    changes.sort(key=lambda c: (-c.score, CATEGORIES.index(c.category), c.subject))
    keys = sorted(set(run_a.metrics) | set(run_b.metrics))
    metrics = tuple(
        MetricChange(key=key, before=_metric(run_a, key), after=_metric(run_b, key)) for key in keys
    )
    return LineageDiff(a=a, b=b, run_a=run_a.ref, run_b=run_b.ref, changes=tuple(changes),
                       metrics=metrics, warnings=_warnings(repo, run_a, run_b))  # fmt: skip


def _warnings(repo: Lineal, a: Run, b: Run) -> dict[str, tuple[str, ...]]:
    """Each side's recorded schema warnings, and any train/eval leakage it shows."""
    from lineal.quality.leakage import Manifests, run_leaks

    found = side_warnings(a, b)
    manifests = Manifests(repo)
    for side, run in (("a", a), ("b", b)):
        found_here = run_leaks(repo, run, manifests)
        leaked = [f"leakage: {one.message()}" for one in found_here if one.leaked]
        found[side] = (*found.get(side, ()), *leaked)
    return found


def _metric(run: Run, key: str) -> float | None:
    if key not in run.metrics:
        return None
    return math.nan if (value := run.metrics[key]) is None else float(value)  # NaN is NULL


# -- upstream artifacts ----------------------------------------------------------------------
def _handle(node: Node, graph: Graph) -> str:
    """What pairs an artifact with its counterpart: KIND/NAME, or for an unnamed one the
    roles it was used in (else its digest)."""
    if node.name is not None:
        return f"{node.kind}/{node.name}"
    roles = sorted({e.role for e in graph.edges if e.parent == node.id and e.role})
    return f"{node.kind} used as {', '.join(roles)}" if roles else node.id


def _grouped(graph: Graph) -> dict[str, dict[str, Node]]:
    """Upstream artifacts by handle (KIND/NAME), without earlier versions that are upstream
    only as what a later version of the same name was derived from (scene v1 behind v2):
    those are history, not something the run used."""
    groups: dict[str, dict[str, Node]] = {}
    for node in graph.nodes.values():
        if node.type == "artifact" and node.kind not in _HANDLED:
            groups.setdefault(_handle(node, graph), {})[node.id] = node
    for members in groups.values():
        if len(members) < 2:
            continue
        history = {
            e.parent for e in graph.edges if e.kind == "derived_from" and e.child in members
        } - {e.parent for e in graph.edges if e.kind != "derived_from"}
        for node_id in history & members.keys():
            del members[node_id]
    return groups


def _labels(nodes: Mapping[str, Node]) -> str | None:
    ordered = sorted(nodes.values(), key=lambda n: (n.version or 0, n.label))
    return ", ".join(n.label for n in ordered) or None


def _file_counts(repo: Lineal, old: str, new: str) -> dict[str, Any]:
    """Files added, removed, modified between two snapshots, or why they are unknown."""
    from lineal import datasets
    from lineal.cas.manifest import diff as manifest_diff

    try:
        before, after = (datasets.manifest_of(repo, _artifact(repo, d)) for d in (old, new))
    except LinealError as exc:  # no workspace, or a manifest not pulled: counts unknown
        local = repo.workspace is not None and repo.workspace.root is not None
        if not local:
            return {"fraction": None, "files_unknown": "no object cache"}
        refs = " ".join(_artifact(repo, node).ref for node in (old, new))
        return {"fraction": None, "files_unknown": f"{exc.message}; `lineal pull {refs}` "
                "fetches the manifests"}  # fmt: skip
    changed = manifest_diff(before, after)
    counts = {part: len(getattr(changed, part)) for part in ("added", "removed", "modified")}
    total = max(len(before), len(after), 1)
    return {**counts, "files": total, "fraction": round(min(1.0, sum(counts.values()) / total), 6)}


def _artifact(repo: Lineal, node: str) -> Artifact:
    found = repo.resolve(node)
    assert isinstance(found, Artifact)  # noqa: S101 - an artifact node names one
    return found


def _artifact_changes(repo: Lineal, left: Graph, right: Graph, said: set[str]) -> Iterable[Change]:
    before, after = _grouped(left), _grouped(right)
    for handle in sorted(set(before) | set(after)):
        old, new = before.get(handle, {}), after.get(handle, {})
        kind = next(iter({**old, **new}.values())).kind
        moved = {split_node(n)[2] for n in old.keys() ^ new.keys()}  # by bytes, as said
        if old.keys() == new.keys() or (kind == "schema" and moved <= said):
            continue
        gone, came = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
        change = "changed" if gone and came else "added" if came else "removed"
        digests = {
            "before": [split_node(n)[2] for n in gone],
            "after": [split_node(n)[2] for n in came],
        }
        detail: dict[str, Any] = {"change": change, "digests": digests}
        fraction = None
        if kind in _SNAPSHOTS and change == "changed" and len(gone) == len(came) == 1:
            detail.update(_file_counts(repo, gone[0], came[0]))
            fraction = detail["fraction"]
        if kind in ("schema", "scene"):
            category, score = kind, 100.0 if kind == "schema" else 75.0
        elif kind == "dataset" and change == "changed":
            category, score = kind, round(60 + 35 * (0.5 if fraction is None else fraction), 3)
        else:
            category, score = ("dataset", 95.0) if kind == "dataset" else ("artifact", 55.0)
        yield Change.of(category, handle, _labels(old), _labels(new), score, **detail)


# -- the runs themselves ---------------------------------------------------------------------
def _mapping_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], category: str, score: float, prefix: str
) -> Iterable[Change]:
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and _same(old, new):
            continue
        change = "added" if key not in before else "removed" if key not in after else "changed"
        yield Change.of(category, prefix + key, old, new, score, change=change)


def _same(a: Any, b: Any) -> bool:
    # 10 and 10.0 are the same param; True and 1 are not.
    return bool(a == b) and (type(a) is type(b) or {type(a), type(b)} <= {int, float})


def _run_changes(a: Run, b: Run) -> Iterable[Change]:
    plain = [{k: v for k, v in r.params.items() if not k.startswith("split.")} for r in (a, b)]
    yield from _mapping_changes(plain[0], plain[1], "param", 40.0, "")
    splits = [{k: v for k, v in r.params.items() if k.startswith("split.")} for r in (a, b)]
    yield from _mapping_changes(splits[0], splits[1], "split", 36.0, "")
    seeds = a.meta.get("seed"), b.meta.get("seed")
    if not _same(*seeds):
        yield Change.of("seed", "seed", *seeds, 38.0)


def _runs_by_name(graph: Graph) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in graph.nodes.values():
        if node.type == "run" and node.id not in graph.roots:
            found.setdefault(node.name or "", []).append(node.id)
    return found


def _upstream_run_changes(repo: Lineal, left: Graph, right: Graph) -> Iterable[Change]:
    """Params of upstream runs that share a name, one run of that name on each side."""
    before, after = _runs_by_name(left), _runs_by_name(right)
    for name in sorted(set(before) & set(after)):
        if len(before[name]) != 1 or len(after[name]) != 1 or before[name] == after[name]:
            continue  # the same run, or no one way to pair them
        (old,), (new,) = before[name], after[name]
        runs = [repo.resolve(x) for x in (old, new)]
        params = [dict(r.params) if isinstance(r, Run) else {} for r in runs]
        yield from _mapping_changes(params[0], params[1], "upstream-param", 30.0, f"{name}: ")


def _code_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterable[Change]:
    if a.get("commit") != b.get("commit"):
        yield Change.of("code", "commit", a.get("commit"), b.get("commit"), 50.0)
    old, new = a.get("diff"), b.get("diff")
    if old != new:
        dirty = {"before": bool(old), "after": bool(new)}
        yield Change.of("code", "uncommitted changes", old, new, 45.0, dirty=dirty)


__all__ = [
    "CATEGORIES",
    "ML_PACKAGES",
    "Change",
    "LineageDiff",
    "MetricChange",
    "diff",
    "is_file_diff",
    "is_ml_package",
    "run_of",
]
