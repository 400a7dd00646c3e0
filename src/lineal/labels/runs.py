"""Label schemas seen from a run: train/eval schema mismatches recorded as a warning tag, and
per-class metrics (``AP/car``) tied to the schema version of the run's eval data.

A service over lineal.client; never prints. What it finds is recorded as tags on the run
(``schema.warning``, ``schema.eval``), so it is signed, in the ledger, and filterable with
``lineal runs --where 'tags.schema.warning != ""'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError
from lineal.labels.diff import diff
from lineal.labels.record import KIND, labeled_with, named, stored_schema
from lineal.model.digests import is_digest
from lineal.model.entities import Artifact, Run

TRAIN_ROLES = frozenset(("train", "training"))
EVAL_ROLES = frozenset(("eval", "evaluation", "val", "valid", "validation", "test"))
WARNING_TAG = "schema.warning"
EVAL_TAG = "schema.eval"
#: Tag values are one line; a run with many warnings keeps the first this many characters.
MAX_TAG = 2000


@dataclass(frozen=True, slots=True)
class Used:
    """A schema a run's input carries, and the input and role it came through."""

    role: str
    input: Artifact
    schema: Artifact


def used_schemas(repo: Lineal, run: Run, *, every_role: bool = False) -> list[Used]:
    """The schemas of the run's train and eval inputs (``every_role``: of all its inputs);
    a used schema counts as itself."""
    found: list[Used] = []
    node = run.ref
    for edge in repo.edges(node):
        role = edge.role or ""
        if edge.kind != "used" or edge.child != node:
            continue
        if not every_role and role not in TRAIN_ROLES | EVAL_ROLES:
            continue
        artifact = repo.resolve(edge.parent)
        if not isinstance(artifact, Artifact):
            continue
        schemas = [artifact] if artifact.kind == KIND else labeled_with(repo, artifact)
        found.extend(Used(role, artifact, named(repo, schema)) for schema in schemas)
    return found


def _side(found: Iterable[Used], roles: frozenset[str]) -> dict[str, Artifact]:
    return {one.schema.digest: one.schema for one in found if one.role in roles}


def warnings(repo: Lineal, run: Run) -> list[str]:
    """Why the run's train and eval labels may not be comparable (empty: no reason)."""
    found = used_schemas(repo, run)
    train, evaluation = _side(found, TRAIN_ROLES), _side(found, EVAL_ROLES)
    if not train or not evaluation:
        return []
    messages: list[str] = []
    if train.keys() != evaluation.keys():
        for t in train.values():
            for e in evaluation.values():
                if t.digest != e.digest:
                    changes = diff(stored_schema(t), stored_schema(e)).summary()
                    listed = ", ".join(f"{n} {k}" for k, n in changes.items()) or "id rule"
                    messages.append(
                        f"train and eval data use different label schemas: {t.ref} (train) "
                        f"vs {e.ref} (eval): {listed}"
                    )
    trained = {n for t in train.values() for n in stored_schema(t).names}
    evaluated = {n for e in evaluation.values() for n in stored_schema(e).names}
    if missing := sorted(trained - evaluated):
        messages.append(f"eval schema lacks classes the run trained on: {', '.join(missing)}")
    unknown = sorted(
        key for key in run.metrics if "/" in key and key.rsplit("/", 1)[1] in trained - evaluated
    )
    if unknown:
        messages.append(
            f"per-class metrics name classes the eval schema lacks: {', '.join(unknown)}"
        )
    return messages


def check(repo: Lineal, run: Run) -> list[str]:
    """Record the run's schema warnings and eval schema as tags (only when they changed)."""
    messages, changed = schema_tags(repo, run)
    if changed:  # else no transaction at all: an empty one still waits for the chain head
        with repo.atomic():
            for key, value in changed.items():
                repo.set_tag(run, key, value)
    return messages


def schema_tags(repo: Lineal, run: Run) -> tuple[list[str], dict[str, str | None]]:
    """The run's schema warnings, and the tags that record them and its eval schema where
    they differ from the run's (None: remove it); reads only (``check`` writes them)."""
    try:
        messages = warnings(repo, run)
        evaluation = _side(used_schemas(repo, run), EVAL_ROLES)
    except LinealError as exc:  # a schema that cannot be read: say so, never stop the run
        messages, evaluation = [f"label schemas could not be compared: {exc}"], {}
    wanted = {
        WARNING_TAG: "; ".join(messages)[:MAX_TAG] or None,
        EVAL_TAG: next(iter(evaluation.values())).node if len(evaluation) == 1 else None,
    }
    return messages, {key: value for key, value in wanted.items() if run.tags.get(key) != value}


def class_metrics(repo: Lineal, run: Run) -> dict[str, dict[str, Any]]:
    """Each per-class metric (``KEY/CLASS``) of the run, with the class it measures in the
    schema version of the run's eval data (``schema.eval``)."""
    tagged = run.tags.get(EVAL_TAG)
    if tagged is None:
        return {}
    schema_artifact = _eval_schema(repo, tagged)
    if schema_artifact is None:
        return {}
    schema = stored_schema(schema_artifact)
    ref = named(repo, schema_artifact).ref
    classes = schema.by_name()
    return {
        key: {"class": name, "id": classes[name].id, "schema": ref}
        for key in sorted(run.metrics)
        if "/" in key and (name := key.rsplit("/", 1)[1]) in classes
    }


def _eval_schema(repo: Lineal, node: str) -> Artifact | None:
    """The schema the ``schema.eval`` tag names: its node (a bare digest in runs recorded
    before named versions were nodes of their own: the first schema holding those bytes)."""
    if not is_digest(node):
        found = repo.resolve(node)
        return found if isinstance(found, Artifact) else None
    return next((a for a in repo.holders(node) if a.kind == KIND), None)


def run_labels(repo: Lineal, run: Run) -> dict[str, Any]:
    """What `lineal show RUN` adds: its schemas by role, warnings and per-class metrics
    (empty when the run used no labelled train or eval data)."""
    found = used_schemas(repo, run)
    if not found and WARNING_TAG not in run.tags:
        return {}
    return {
        "schemas": [
            {"role": one.role, "input": named(repo, one.input).ref, "schema": one.schema.ref}
            for one in found
        ],
        "schema_warnings": _split(run.tags),
        "class_metrics": class_metrics(repo, run),
    }


def show(repo: Lineal, ref: str) -> dict[str, Any]:
    """Everything known about one artifact or run (Lineal.show), a run with its label
    schemas, warnings and per-class metrics (lineal.quality.show adds what quality knows)."""
    body = repo.show(ref)
    if body["type"] == "run":
        run = repo.resolve(ref)
        if isinstance(run, Run):
            body.update(run_labels(repo, run))
    return body


def _split(tags: Mapping[str, str]) -> list[str]:
    value = tags.get(WARNING_TAG)
    return value.split("; ") if value else []


def recorded_warnings(run: Run) -> list[str]:
    """The warnings the run's ``schema.warning`` tag holds."""
    return _split(run.tags)


def schema_changes(
    repo: Lineal, a: Run, b: Run
) -> list[tuple[str, str | None, str | None, dict[str, Any]]]:
    """The label schemas of two runs' inputs, paired by role, where they differ: for
    ``lineal diff``, (subject, before, after, detail with what changed between the classes)."""
    sides = [used_schemas(repo, run, every_role=True) for run in (a, b)]
    roles = sorted({one.role for side in sides for one in side})
    found = []
    for role in roles:
        old, new = ({u.schema.digest: u.schema for u in side if u.role == role} for side in sides)
        if old.keys() == new.keys():
            continue
        gone, came = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
        detail: dict[str, Any] = {
            "change": "changed" if gone and came else "added" if came else "removed",
            "digests": {"before": gone, "after": came},
        }
        if len(gone) == len(came) == 1:
            try:
                changes = diff(stored_schema(old[gone[0]]), stored_schema(new[came[0]]))
            except InvalidInput:  # a schema artifact recorded without a label-schema body
                pass
            else:
                detail["classes"] = changes.summary()
        found.append(
            (
                f"schema of {role or 'unnamed-role'} data",
                ", ".join(old[d].ref for d in sorted(old)) or None,
                ", ".join(new[d].ref for d in sorted(new)) or None,
                detail,
            )
        )
    return found


def schema_digests(found: list[tuple[str, str | None, str | None, dict[str, Any]]]) -> set[str]:
    """Every schema digest ``schema_changes`` names, before or after."""
    return {d for *_, detail in found for side in detail["digests"].values() for d in side}


def side_warnings(a: Run, b: Run) -> dict[str, tuple[str, ...]]:
    """Both runs' recorded warnings, as ``lineal diff`` shows them."""
    return {"a": tuple(recorded_warnings(a)), "b": tuple(recorded_warnings(b))}
