"""The policy checks a model version must pass to hold an alias, each with how to fix it.

Reads the lineage (lineal.lineage.queries) and run records; never writes and never prints.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

from lineal.client import Lineal
from lineal.labels import runs as labelled
from lineal.lineage import queries as lineage
from lineal.lineage.graph import Graph
from lineal.model.entities import Artifact, Run, node_type
from lineal.quality.classify import TAG, denied
from lineal.registry.models import generated_by
from lineal.registry.stated import stated
from lineal.settings import MetricRule, Policy, RegistryConfig

#: The licence id of data that states none (SPDX's own word for it).
UNKNOWN = "NOASSERTION"
#: Upstream kinds that must state a licence (a model only when no run in lineal made it).
_LICENSED = ("dataset", "scene")


@dataclass(frozen=True, slots=True)
class Outcome:
    check: str
    passed: bool
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "passed": self.passed,
            "detail": self.detail,
            "fix": None if self.passed else self.fix,
        }


class Context:
    """What the checks of one version share: its upstream graph and evaluation runs, once."""

    def __init__(self, repo: Lineal, model: Artifact) -> None:
        self.repo = repo
        self.model = model
        self.graph: Graph = lineage.upstream(repo, model.node)
        self._artifacts: dict[str, Artifact] = {}
        self.trained_by = generated_by(repo, model)
        runs = [self.trained_by] if self.trained_by else []
        runs += [e.child for e in repo.edges(model) if e.kind == "used"]
        self.runs = [self.run(ref) for ref in dict.fromkeys(runs)]

    def artifact(self, node: str) -> Artifact:
        if node not in self._artifacts:
            found = self.repo.resolve(node)
            assert isinstance(found, Artifact)  # noqa: S101 - an artifact node names one
            self._artifacts[node] = found
        return self._artifacts[node]

    def stated(self, artifact: Artifact, key: str) -> str | None:
        """``key`` (license, source, …) as the artifact's tag now says it, else as recorded."""
        return stated(self.repo, artifact, key)

    def run(self, ref: str) -> Run:
        found = self.repo.resolve(ref)
        assert isinstance(found, Run)  # noqa: S101
        return found

    def label(self, node_id: str) -> str:
        """The node's reference (``dataset/x@v2``), in the model's upstream or not (an
        evaluation run's data is beside it, not upstream)."""
        node = self.graph.nodes.get(node_id)
        if node is not None:
            return node.label
        return self.repo.store.labels([node_id]).get(node_id, (node_id, ""))[0]

    def upstream(self, *kinds: str) -> list[str]:
        return [
            node.id
            for node in self.graph.nodes.values()
            if node.type == "artifact" and node.kind in kinds and node.id != self.model.node
        ]

    def made_by_run(self, node: str) -> bool:
        return any(p.type == "run" for p in self.graph.parents(node))

    def eval_datasets(self, run: Run, alias: str | None) -> list[str]:
        """The datasets ``run`` used that carry ``alias`` now (any dataset when None)."""
        found = []
        for edge in self.repo.edges(run.ref):
            if edge.kind != "used" or edge.child != run.ref or node_type(edge.parent) != "artifact":
                continue
            artifact = self.artifact(edge.parent)
            if artifact.kind != "dataset":
                continue
            held = self.repo.store.artifact_details(artifact)["aliases"]
            if alias is None or any(a.endswith(f":{alias}") for a in held):
                found.append(artifact.node)
        return found


def _metric(ctx: Context, policy: Policy, rule: MetricRule, ref: str) -> Outcome:
    name = f"metric {rule.key}"
    where = f"a dataset carrying alias {policy.eval_alias!r}" if policy.eval_alias else "any data"
    measured = [
        (run, data)
        for run in ctx.runs
        if run.status == "finished" and run.metrics.get(rule.key) is not None
        for data in [ctx.eval_datasets(run, policy.eval_alias)]
        if data
    ]
    if not measured:
        return Outcome(
            name,
            False,
            f"no finished evaluation run of {ref} logged {rule.key} on {where}",
            f"evaluate {ref} in a run that uses it and {where} and logs {rule.key}"
            + (
                f"; mark approved data: lineal alias set dataset/NAME@vN {policy.eval_alias}"
                if policy.eval_alias
                else ""
            ),
        )
    run, data = max(measured, key=lambda pair: pair[0].seq or 0)  # the latest, not the best
    value = float(run.metrics[rule.key] or "nan")
    shown = f"{rule.key} = {value:g} in {run.ref} on {ctx.label(data[0])}"
    if rule.holds(value):
        return Outcome(name, True, f"{shown} (needs {rule.text()})")
    return Outcome(
        name, False, f"{shown}; needs {rule.text()}", "improve the model and evaluate again"
    )


def _licence_ok(expression: str, policy: Policy) -> tuple[bool, str]:
    """An SPDX expression against allow/deny globs: ``A OR B`` needs one side, ``A AND B``
    both; a deny match always fails; with an allow list, only what it matches passes."""
    text = expression.strip().strip("()")
    for joiner, need_all in ((" OR ", False), (" AND ", True)):
        parts = re.split(joiner, text, flags=re.IGNORECASE)
        if len(parts) > 1:
            results = [_licence_ok(part, policy) for part in parts]
            passed = all(r[0] for r in results) if need_all else any(r[0] for r in results)
            return passed, "; ".join(r[1] for r in results if not r[0])
    ident = text.split(" WITH ")[0].strip().lower()
    if denied := [p for p in policy.deny if fnmatch.fnmatchcase(ident, p.lower())]:
        return False, f"{text} is denied by {denied[0]!r}"
    if any(fnmatch.fnmatchcase(ident, p.lower()) for p in policy.allow):
        return True, ""
    if policy.allow or text == UNKNOWN:
        return False, f"{text} is not in the allowed list"
    return True, ""


def _licences(ctx: Context, policy: Policy) -> Outcome:
    bad = []
    for digest in ctx.upstream(*_LICENSED, "model"):
        artifact = ctx.artifact(digest)
        licence = ctx.stated(artifact, "license")
        if licence is None and artifact.kind not in _LICENSED and ctx.made_by_run(digest):
            continue  # a model trained here carries the licences of its own upstream
        passed, why = _licence_ok(licence or UNKNOWN, policy)
        if not passed:
            bad.append(f"{ctx.label(digest)}: {why if licence else 'no licence recorded'}")
    if not bad:
        return Outcome("licenses", True, "every upstream licence is allowed")
    return Outcome(
        "licenses",
        False,
        "; ".join(bad),
        "train on data whose licence the policy allows, or record the right licence "
        "(lineal tag REF license=SPDX)",
    )


def _schemas(ctx: Context) -> Outcome:
    problems: list[str] = []
    trained = ctx.run(ctx.trained_by) if ctx.trained_by else None
    train = {}
    if trained is not None:
        problems += labelled.warnings(ctx.repo, trained)
        used = labelled.used_schemas(ctx.repo, trained)
        train = {u.schema.digest: u.schema.ref for u in used if u.role in labelled.TRAIN_ROLES}
    for run in ctx.runs:
        if run is trained or not train:
            continue
        used = labelled.used_schemas(ctx.repo, run)
        seen = {u.schema.digest: u.schema.ref for u in used if u.role in labelled.EVAL_ROLES}
        if seen and seen.keys() != train.keys():
            problems.append(
                f"{run.ref} evaluated on {', '.join(sorted(seen.values()))} but the model "
                f"trained on {', '.join(sorted(train.values()))}"
            )
    if not problems:
        return Outcome("schema match", True, "train and eval label schemas match")
    return Outcome(
        "schema match",
        False,
        "; ".join(problems),
        "evaluate on data labelled with the training schema (lineal schema diff A B shows how)",
    )


def _completeness(ctx: Context) -> Outcome:
    gaps = []
    for digest in ctx.upstream("dataset"):
        artifact = ctx.artifact(digest)
        missing = [key for key in ("license", "source") if ctx.stated(artifact, key) is None]
        if "source" in missing and ctx.made_by_run(digest):
            missing.remove("source")  # the run that made it is its source
        if missing:
            gaps.append(f"{ctx.label(digest)} has no {' or '.join(missing)}")
    for node in ctx.graph.nodes.values():
        if node.type != "run":
            continue
        inputs = {parent.kind for parent in ctx.graph.parents(node.id)}
        if missing := [kind for kind in ("code", "env") if kind not in inputs]:
            gaps.append(f"{node.id} has no recorded {' or '.join(missing)}")
    if not gaps:
        return Outcome("lineage complete", True, "every dataset and run upstream is complete")
    return Outcome(
        "lineage complete",
        False,
        "; ".join(gaps),
        "record datasets with --license and --source (or lineal tag REF license=… source=…); "
        "run training in a git repository with "
        "environment capture on (lineal.start_run)",
    )


def _leakage(ctx: Context) -> Outcome:
    from lineal.quality.leakage import model_leakage

    found = model_leakage(ctx.repo, ctx.model)
    leaked = [one.message() for one in found if one.leaked]
    if leaked:
        return Outcome(
            "no leakage",
            False,
            "; ".join(leaked),
            "evaluate on data that shares no file with the training data "
            "(lineal check RUN lists the shared files)",
        )
    if not found:
        return Outcome("no leakage", True, "no run behind it compares training and eval data")
    unknown = sorted({ref for one in found for ref in one.unknown})
    detail = "training and eval data share no file"
    if unknown:
        detail += f" (not compared, file lists not here: {', '.join(unknown)})"
    return Outcome("no leakage", True, detail)


def _classifications(ctx: Context, policy: Policy) -> Outcome:
    found = denied(ctx.repo, ctx.model.node, policy.deny_classifications)
    if not found:
        shown = " or ".join(policy.deny_classifications)
        return Outcome("classifications", True, f"nothing upstream is classified {shown}")
    ref = f"model/{ctx.model.name}@v{ctx.model.version}"
    return Outcome(
        "classifications",
        False,
        "; ".join(f"{ref} carries {one.text()}" for one in found),
        "train without the classified data, or, if the tag is wrong, remove it: "
        f"lineal tag {found[0].label} --unset {TAG}",
    )


def _approvers(ctx: Context, policy: Policy, config: RegistryConfig) -> list[Outcome]:
    model = ctx.model
    assert model.name is not None  # noqa: S101 - registered models are named
    rows = ctx.repo.store.approvals(model.name, model.digest, policy.alias)
    agents = {agent for agent, _, _ in rows}
    found = []
    for role, count in sorted(policy.approvers.items()):
        members = config.members(role)  # as the ledger holds them: an admin holds every role
        have = sorted(agents & members)
        detail = f"{len(have)} of {count} approvals from role {role}" + (
            f" ({', '.join(have)})" if have else ""
        )
        fix = (
            f"a member of {role} ({', '.join(sorted(members))}) runs: lineal model approve "
            f"{model.name}@v{model.version} --for {policy.alias} --reason TEXT"
        )
        found.append(Outcome(f"approvers {role}", len(have) >= count, detail, fix))
    return found


def run_checks(
    repo: Lineal, model: Artifact, policy: Policy, config: RegistryConfig
) -> list[Outcome]:
    """Every check ``policy`` asks for, in a stable order, passed or not."""
    ctx = Context(repo, model)
    ref = f"model/{model.name}@v{model.version}"
    found = [_metric(ctx, policy, rule, ref) for rule in policy.metrics]
    if policy.licenses:
        found.append(_licences(ctx, policy))
    if policy.schema_match:
        found.append(_schemas(ctx))
    if policy.lineage_complete:
        found.append(_completeness(ctx))
    if policy.no_leakage:
        found.append(_leakage(ctx))
    if policy.deny_classifications:
        found.append(_classifications(ctx, policy))
    found += _approvers(ctx, policy, config)
    return found
