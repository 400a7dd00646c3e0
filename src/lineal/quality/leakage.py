"""Train/eval leakage: the files a run's training and evaluation inputs share, by content.

A digest join over the inputs' manifests (a set intersection; no file is read), so a copy of
an eval image under another name or folder is found. Reads only; never writes, never prints.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import LinealError
from lineal.labels.runs import EVAL_ROLES, TRAIN_ROLES
from lineal.labels.yolo import NAME_FILES, YAML_FILES
from lineal.model.entities import Artifact, Run, node_type

#: Files that describe a label set rather than hold a sample: two splits of one dataset
#: carry the same class-names file, and that is no leak.
NOT_SAMPLES = frozenset((*NAME_FILES, *YAML_FILES, "obj.data"))
#: How many shared files a finding names (all are counted).
EXAMPLES = 5
#: How far up a chain of model-making runs the training run of a model is looked for.
MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class Shared:
    """One file held by both sides: its digest and where each side has it."""

    digest: str
    train: str  # dataset/x@v1:path/in/it
    eval: str

    def as_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "train": self.train, "eval": self.eval}


@dataclass(frozen=True, slots=True)
class Leakage:
    """What a run's (or a training run's and an evaluation run's) inputs share.

    ``shared`` counts distinct contents held by both sides; ``unknown`` names the inputs
    whose file list is not at hand (recorded by digest alone, or not pulled), which the count
    could not include.
    """

    run: str
    train: tuple[str, ...]
    eval: tuple[str, ...]
    shared: int
    examples: tuple[Shared, ...] = ()
    unknown: tuple[str, ...] = ()
    trained_by: str | None = None  # set when ``run`` evaluated a model another run trained

    @property
    def leaked(self) -> bool:
        return self.shared > 0

    def detail(self) -> str:
        """What is shared, without saying which run."""
        if not self.leaked:
            return "the eval data shares no file with the training data"
        where = f" (trained by {self.trained_by})" if self.trained_by else ""
        first = self.examples[0]
        return (
            f"{self.shared:,} file(s) of the eval data ({', '.join(self.eval)}) are also in "
            f"the training data ({', '.join(self.train)}){where}, e.g. "
            f"{first.eval} = {first.train}"
        )

    def message(self) -> str:
        return f"{self.run}: {self.detail()}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "trained_by": self.trained_by,
            "leaked": self.leaked,
            "train": list(self.train),
            "eval": list(self.eval),
            "shared": self.shared,
            "examples": [one.as_dict() for one in self.examples],
            "unknown": list(self.unknown),
        }


@dataclass(slots=True)
class Manifests:
    """Each input's sample files as ``{digest: path}``, read once per call (a listing of
    runs meets the same datasets again and again)."""

    repo: Lineal
    _files: dict[str, dict[str, str] | None] = field(default_factory=dict)

    def files(self, artifact: Artifact) -> dict[str, str] | None:
        """``{digest: first path}`` of ``artifact``'s samples (None: its list is not here)."""
        if artifact.digest not in self._files:
            try:
                manifest = datasets.manifest_of(self.repo, artifact)
            except LinealError:
                self._files[artifact.digest] = None
            else:
                found: dict[str, str] = {}
                for entry in manifest.entries:
                    # the last path segment, without a PurePosixPath per file (100k: ~0.3 s)
                    if entry.size and entry.path.rpartition("/")[2] not in NOT_SAMPLES:
                        found.setdefault(entry.digest, entry.path)
                self._files[artifact.digest] = found
        return self._files[artifact.digest]


def inputs(repo: Lineal, run: Run) -> tuple[list[Artifact], list[Artifact]]:
    """The run's training and evaluation inputs (by the role each was used in)."""
    train: dict[str, Artifact] = {}
    evaluation: dict[str, Artifact] = {}
    for edge in repo.edges(run.ref):
        if edge.kind != "used" or edge.child != run.ref or node_type(edge.parent) != "artifact":
            continue
        role = edge.role or ""
        side = train if role in TRAIN_ROLES else evaluation if role in EVAL_ROLES else None
        if side is not None and edge.parent not in side:
            found = repo.resolve(edge.parent)
            if isinstance(found, Artifact) and found.kind not in ("model", "schema"):
                side[edge.parent] = found
    return list(train.values()), list(evaluation.values())


def join(train: Collection[str], evaluation: Collection[str]) -> set[str]:
    """The digests both sides hold: the leak, as a set intersection."""
    small, large = (train, evaluation) if len(train) < len(evaluation) else (evaluation, train)
    return {digest for digest in small if digest in large}  # hashed lookups into the larger


def compare(
    run: str,
    train: Iterable[Artifact],
    evaluation: Iterable[Artifact],
    manifests: Manifests,
    *,
    trained_by: str | None = None,
) -> Leakage:
    """What ``train`` and ``evaluation`` share, said of ``run``."""
    sides: list[list[tuple[str, dict[str, str]]]] = [[], []]  # (ref, {digest: path})
    unknown: list[str] = []
    refs: list[list[str]] = [[], []]
    for index, artifacts in enumerate((train, evaluation)):
        for artifact in artifacts:
            refs[index].append(artifact.ref)
            files = manifests.files(artifact)
            if files is None:
                unknown.append(artifact.ref)
            else:
                sides[index].append((artifact.ref, files))
    keys = [
        side[0][1] if len(side) == 1 else set().union(*(files for _, files in side))
        for side in sides
    ]
    common = sorted(join(*keys))

    def where(side: int, digest: str) -> str:
        ref, files = next((ref, files) for ref, files in sides[side] if digest in files)
        return f"{ref}:{files[digest]}"

    examples = tuple(Shared(d, where(0, d), where(1, d)) for d in common[:EXAMPLES])
    return Leakage(
        run=run,
        train=tuple(refs[0]),
        eval=tuple(refs[1]),
        shared=len(common),
        examples=examples,
        unknown=tuple(unknown),
        trained_by=trained_by,
    )


def run_leakage(repo: Lineal, run: Run, manifests: Manifests | None = None) -> Leakage | None:
    """What the run's train and eval inputs share (None: it has not both kinds)."""
    train, evaluation = inputs(repo, run)
    if not train or not evaluation:
        return None
    return compare(run.ref, train, evaluation, manifests or Manifests(repo))


def _run(repo: Lineal, ref: str) -> Run | None:
    found = repo.resolve(ref)
    return found if isinstance(found, Run) else None


#: The role of the ``derived_from`` edge from a logged model to its registered version (as
#: lineal.registry.models records it; the registry builds on this package, not the reverse).
REGISTERED = "registered"


def _sources(repo: Lineal, artifact: Artifact) -> list[str]:
    """``artifact``'s node, then the nodes it was registered from, nearest first."""
    chain = [artifact.node]
    while len(chain) <= MAX_DEPTH:
        before = [
            e.parent
            for e in repo.edges(chain[-1])
            if e.child == chain[-1] and e.kind == "derived_from" and e.role == REGISTERED
        ]
        if not before or before[0] in chain:
            break
        chain.append(before[0])
    return chain


def _maker(repo: Lineal, artifact: Artifact) -> Run | None:
    """The run that generated ``artifact`` (or the bytes it was registered from)."""
    for node in _sources(repo, artifact):
        for edge in repo.edges(node):
            if edge.kind == "generated" and edge.child == node:
                return _run(repo, edge.parent)
    return None


def training_runs(repo: Lineal, model: Artifact) -> list[Run]:
    """The runs that trained ``model``: the run that made it when it used training data,
    else (an export, a conversion) the training runs of the models that run used."""
    found: list[Run] = []
    todo, seen = [model], set()
    for _ in range(MAX_DEPTH):
        after: list[Artifact] = []
        for one in todo:
            run = _maker(repo, one)
            if run is None or run.ref in seen:
                continue
            seen.add(run.ref)
            if inputs(repo, run)[0]:
                found.append(run)
                continue
            for edge in repo.edges(run.ref):
                if edge.kind == "used" and edge.child == run.ref:
                    parent = repo.resolve(edge.parent)
                    if isinstance(parent, Artifact) and parent.kind == "model":
                        after.append(parent)
        if not after:
            break
        todo = after
    return found


def model_leakage(repo: Lineal, model: Artifact) -> list[Leakage]:
    """Every leak behind ``model``: its training runs' own train and eval inputs, and each
    evaluation of the model (a run that used it with eval data) against the data it was
    trained on."""
    manifests = Manifests(repo)
    trainers = training_runs(repo, model)
    found = [one for run in trainers if (one := run_leakage(repo, run, manifests)) is not None]
    trained_on = [artifact for run in trainers for artifact in inputs(repo, run)[0]]
    if not trained_on:
        return found
    done = {run.ref for run in trainers}
    for node in _sources(repo, model):
        for edge in repo.edges(node):
            if edge.kind != "used" or edge.parent != node or edge.child in done:
                continue
            done.add(edge.child)
            evaluation = _run(repo, edge.child)
            if evaluation is None:
                continue
            data = inputs(repo, evaluation)[1]
            if data:
                by = ", ".join(run.ref for run in trainers)
                found.append(compare(evaluation.ref, trained_on, data, manifests, trained_by=by))
    return found


def _models_used(repo: Lineal, run: Run) -> list[Artifact]:
    found = []
    for edge in repo.edges(run.ref):
        if edge.kind == "used" and edge.child == run.ref and node_type(edge.parent) == "artifact":
            artifact = repo.resolve(edge.parent)
            if isinstance(artifact, Artifact) and artifact.kind == "model":
                found.append(artifact)
    return found


def run_leaks(repo: Lineal, run: Run, manifests: Manifests | None = None) -> list[Leakage]:
    """Every leak a run shows: its own train and eval inputs, and, when it evaluates a model
    it used, its eval data against the data that model was trained on."""
    manifests = manifests or Manifests(repo)
    own = run_leakage(repo, run, manifests)
    found = [own] if own is not None else []
    evaluation = inputs(repo, run)[1]
    if not evaluation:
        return found
    for model in _models_used(repo, run):
        trainers = [t for t in training_runs(repo, model) if t.ref != run.ref]
        trained_on = [artifact for t in trainers for artifact in inputs(repo, t)[0]]
        if trained_on:
            by = ", ".join(t.ref for t in trainers)
            found.append(compare(run.ref, trained_on, evaluation, manifests, trained_by=by))
    return found
