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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError
from lineal.labels.runs import schema_changes, schema_digests, side_warnings
from lineal.lineage.graph import Graph, Node
from lineal.lineage.queries import upstream
from lineal.model.entities import Artifact, Run

CATEGORIES = (
    "schema", "dataset", "scene", "artifact", "code", "param", "seed", "split",
    "upstream-param", "python", "package", "container", "os",
)  # fmt: skip
#: Packages whose version plausibly moves a model's metrics (PEP 503 names).
ML_PACKAGES = frozenset((
    "torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-gpu", "tf-keras", "keras",
    "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "scikit-learn", "pandas", "numba", "cupy",
    "triton", "onnx", "onnxruntime", "onnxruntime-gpu", "opencv-python", "pillow", "pillow-simd",
    "opencv-python-headless", "opencv-contrib-python", "transformers", "tokenizers", "timm",
    "accelerate", "safetensors", "albumentations", "xgboost", "lightgbm", "catboost",
    "pytorch-lightning", "lightning", "mxnet", "paddlepaddle", "einops",
))  # fmt: skip
_CUDA = re.compile(r"(^nvidia-|^cuda-|cuda|cudnn|cublas|nccl|^cupy-)")
_HANDLED = ("env", "code")  # compared from the runs' own env and code inputs


def is_ml_package(name: str) -> bool:
    """Is ``name`` (PEP 503 spelling) a package whose version can move a model's metrics?"""
    return name in ML_PACKAGES or bool(_CUDA.search(name))


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference upstream of the two runs: ``before`` on a's side, ``after`` on b's
    (None: absent there), ``detail`` JSON-shaped facts, ``score`` its rank (module docs)."""

    category: str
    subject: str
    before: Any
    after: Any
    detail: Mapping[str, Any]
    score: float

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise InvalidInput(f"bad category {self.category!r}: expected {CATEGORIES}")

    def as_dict(self) -> dict[str, Any]:
        body = {field.name: getattr(self, field.name) for field in fields(self)}
        return {**body, "detail": dict(self.detail)}


def _change(category: str, subject: str, old: Any, new: Any, score: float, **detail: Any) -> Change:
    return Change(
        category=category, subject=subject, before=old, after=new, detail=detail, score=score
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricChange:
    """A metric's latest (or summary) value on each side (None: not logged; NaN kept) and
    ``after - before`` when both sides have it."""

    key: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def changed(self) -> bool:
        """Logged on one side only, NaN on one side only, or two different numbers."""
        a, b = self.before, self.after
        if a is None or b is None:
            return a is not b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) != math.isnan(b)
        return a != b

    def as_dict(self) -> dict[str, Any]:
        a, b, delta = (_json_number(x) for x in (self.before, self.after, self.delta))
        return {"key": self.key, "a": a, "b": b, "delta": delta, "changed": self.changed}


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageDiff:
    """``a`` and ``b`` as named, the runs compared, the ranked causes and the metrics."""

    a: str
    b: str
    run_a: str
    run_b: str
    changes: tuple[Change, ...]
    metrics: tuple[MetricChange, ...]
    warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "runs": {"a": self.run_a, "b": self.run_b},
            "warnings": {side: list(found) for side, found in self.warnings.items()},
            "metrics": [metric.as_dict() for metric in self.metrics],
            "changes": [change.as_dict() for change in self.changes],
        }


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
    made = [e for e in repo.edges(found) if e.kind == "generated" and e.child == found.digest]
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
        *_env_changes(env_a, env_b),
        *(_change("schema", *x[:3], 100.0, **x[3]) for x in by_role),
    ]
    changes.sort(key=lambda c: (-c.score, CATEGORIES.index(c.category), c.subject))
    keys = sorted(set(run_a.metrics) | set(run_b.metrics))
    metrics = tuple(
        MetricChange(key=key, before=_metric(run_a, key), after=_metric(run_b, key)) for key in keys
    )
    return LineageDiff(a=a, b=b, run_a=run_a.ref, run_b=run_b.ref, changes=tuple(changes),
                       metrics=metrics, warnings=side_warnings(run_a, run_b))  # fmt: skip


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
    groups: dict[str, dict[str, Node]] = {}
    for node in graph.nodes.values():
        if node.type == "artifact" and node.kind not in _HANDLED:
            groups.setdefault(_handle(node, graph), {})[node.id] = node
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
        return {"fraction": None, "files_unknown": exc.message if local else "no object cache"}
    changed = manifest_diff(before, after)
    counts = {part: len(getattr(changed, part)) for part in ("added", "removed", "modified")}
    total = max(len(before), len(after), 1)
    return {**counts, "files": total, "fraction": round(min(1.0, sum(counts.values()) / total), 6)}


def _artifact(repo: Lineal, digest: str) -> Artifact:
    found = repo.resolve(digest)
    assert isinstance(found, Artifact)  # noqa: S101 - a digest names an artifact
    return found


def _artifact_changes(repo: Lineal, left: Graph, right: Graph, said: set[str]) -> Iterable[Change]:
    before, after = _grouped(left), _grouped(right)
    for handle in sorted(set(before) | set(after)):
        old, new = before.get(handle, {}), after.get(handle, {})
        kind = next(iter({**old, **new}.values())).kind
        if old.keys() == new.keys() or (kind == "schema" and old.keys() ^ new.keys() <= said):
            continue
        gone, came = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
        change = "changed" if gone and came else "added" if came else "removed"
        detail: dict[str, Any] = {"change": change, "digests": {"before": gone, "after": came}}
        fraction = None
        if kind not in ("schema", "scene") and change == "changed" and len(gone) == len(came) == 1:
            detail.update(_file_counts(repo, gone[0], came[0]))
            fraction = detail["fraction"]
        if kind in ("schema", "scene"):
            category, score = kind, 100.0 if kind == "schema" else 75.0
        elif kind == "dataset" and change == "changed":
            category, score = kind, round(60 + 35 * (0.5 if fraction is None else fraction), 3)
        else:
            category, score = ("dataset", 95.0) if kind == "dataset" else ("artifact", 55.0)
        yield _change(category, handle, _labels(old), _labels(new), score, **detail)


# -- the runs themselves ---------------------------------------------------------------------
def _mapping_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], category: str, score: float, prefix: str
) -> Iterable[Change]:
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in before and key in after and _same(old, new):
            continue
        change = "added" if key not in before else "removed" if key not in after else "changed"
        yield _change(category, prefix + key, old, new, score, change=change)


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
        yield _change("seed", "seed", *seeds, 38.0)


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
        yield _change("code", "commit", a.get("commit"), b.get("commit"), 50.0)
    old, new = a.get("diff"), b.get("diff")
    if old != new:
        dirty = {"before": bool(old), "after": bool(new)}
        yield _change("code", "uncommitted changes", old, new, 45.0, dirty=dirty)


# -- the environment -------------------------------------------------------------------------
def _version_gap(old: str | None, new: str | None) -> int:
    """3 when a package came or went or its major version moved, 2 for minor, else 1."""
    if old is None or new is None:
        return 3
    parts = [re.findall(r"[0-9]+", v.split("+")[0])[:2] for v in (old, new)]
    for index, bump in ((0, 3), (1, 2)):
        mine = [p[index] if len(p) > index else "" for p in parts]
        if mine[0] != mine[1]:
            return bump
    return 1


def _python(env: Mapping[str, Any]) -> Any:
    python = env.get("python")
    return python.get("version") if isinstance(python, Mapping) else python


def _env_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterable[Change]:
    for subject, category, score, old, new in (
        ("python", "python", 24.0, _python(a), _python(b)),
        ("container", "container", 12.0, a.get("container"), b.get("container")),
        ("os", "os", 10.0, a.get("os"), b.get("os")),
    ):
        if old != new:
            yield _change(category, subject, old, new, score)
    packages = [p if isinstance(p, Mapping) else {} for p in (a.get("packages"), b.get("packages"))]
    for name in sorted(set(packages[0]) | set(packages[1])):
        old, new = packages[0].get(name), packages[1].get(name)
        if old == new:
            continue
        ml = is_ml_package(name)
        change = "added" if old is None else "removed" if new is None else "changed"
        score = (20.0 if ml else 5.0) + _version_gap(old, new)
        yield _change("package", name, old, new, score, change=change, ml=ml)
