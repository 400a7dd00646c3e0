"""Retention: rules in `lineal.toml` that erase old payloads, `lineal retention apply`.

    [[retention]]
    name = "old-metrics"     # optional: names the rule in each redaction's reason
    kind = "metrics"         # what to erase: "metrics" (logged points) or "tags" (tag values)
    older_than = "90d"       # of runs started longer ago than N days (d), weeks (w), hours (h)
    unless = "registered"    # optional: keep runs upstream of any model version ("registered")
                             # or of a model version holding an alias ("aliased")
    where = "tags.project = 'demo'"   # optional: only runs this filter matches

A service over the Store protocol: rules are parsed (one clear error per bad key, naming the
rule and the fix), the runs each rule reaches are found with the run filter and the lineage
(upstream of the model versions ``unless`` keeps), and what they still hold is erased through
lineal.redaction, with reasons naming the rule. What was erased is not erasable again, so a
second apply erases nothing. Never prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal import redaction
from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.filters import parse as parse_filter

if TYPE_CHECKING:
    from lineal.client import Lineal
    from lineal.workspace import Workspace

_KEYS = ("name", "kind", "older_than", "unless", "where")
_UNLESS = ("registered", "aliased")
_AGE = re.compile(r"([1-9][0-9]{0,5})([hdw])")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Runs asked about at a time (Store.erasable)
_ASKED = 10_000


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[retention]]`` rule, checked."""

    name: str
    kind: str
    older_than: str
    unless: str | None = None
    where: str | None = None

    @property
    def age(self) -> timedelta:
        match = _AGE.fullmatch(self.older_than)
        assert match is not None  # noqa: S101 - checked when parsed
        return int(match.group(1)) * _UNIT[match.group(2)]

    def reason(self) -> str:
        text = f"retention rule {self.name}: {self.kind} of runs older than {self.older_than}"
        if self.where:
            text += f" matching {self.where}"
        return text + (f", unless {self.unless}" if self.unless else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "older_than": self.older_than,
            "unless": self.unless,
            "where": self.where,
        }


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule erases (or would: a dry run), and the runs ``unless`` kept."""

    rule: Rule
    runs: tuple[str, ...]
    kept: tuple[str, ...]
    erase: tuple[redaction.Erasure, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.as_dict(),
            "reason": self.rule.reason(),
            "runs": list(self.runs),
            "kept": list(self.kept),
            "erase": [one.as_dict() for one in self.erase],
        }


@dataclass(frozen=True, slots=True)
class RetentionResult:
    dry_run: bool
    rules: tuple[RuleOutcome, ...]

    @property
    def erased(self) -> int:
        return sum(len(one.erase) for one in self.rules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "erased": 0 if self.dry_run else self.erased,
            "would_erase": self.erased if self.dry_run else 0,
            "rules": [one.as_dict() for one in self.rules],
        }


def _bad(path: Path | None, where: str, message: str, fix: str) -> InvalidInput:
    shown = str(path) if path else "lineal.toml"
    return InvalidInput(f"{shown}: bad {where}: {message}", hint=fix)


def _rule(number: int, body: object, path: Path | None) -> Rule:
    where = f"[[retention]] #{number}"
    if not isinstance(body, Mapping):
        raise _bad(path, where, f"expected a table, not {body!r}", 'e.g. kind = "metrics"')
    name = body.get("name", f"retention-{number}")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise _bad(path, f"{where} name", f"{name!r}", "use letters, digits and . _ - (max 64)")
    where = f"[[retention]] {name}"
    if extra := sorted(set(body) - set(_KEYS)):
        raise _bad(path, where, f"unknown keys {extra}", f"use {', '.join(_KEYS)}")
    kind = body.get("kind")
    if kind not in redaction.KINDS:
        raise _bad(path, f"{where} kind", f"{kind!r}", f"use one of {', '.join(redaction.KINDS)}")
    age = body.get("older_than")
    if not isinstance(age, str) or not _AGE.fullmatch(age):
        raise _bad(path, f"{where} older_than", f"{age!r}", 'give N and d, w or h, e.g. "90d"')
    unless = body.get("unless")
    if unless is not None and unless not in _UNLESS:
        raise _bad(path, f"{where} unless", f"{unless!r}", f"use one of {', '.join(_UNLESS)}")
    filter_text = body.get("where")
    if filter_text is not None:
        if not isinstance(filter_text, str) or not filter_text.strip():
            raise _bad(path, f"{where} where", f"{filter_text!r}", "give a run filter")
        try:
            parse_filter(filter_text)
        except InvalidInput as exc:
            fix = exc.hint or "see `lineal runs --help`"
            raise _bad(path, f"{where} where", str(exc), fix) from None
    return Rule(name=name, kind=kind, older_than=age, unless=unless, where=filter_text)


def parse(document: Mapping[str, Any], path: Path | None = None) -> tuple[Rule, ...]:
    """The retention rules of a decoded `lineal.toml` (none when it has no [[retention]])."""
    rules = document.get("retention", [])
    if not isinstance(rules, list):
        raise _bad(path, "retention", "expected [[retention]] tables", "e.g. [[retention]]")
    found = tuple(_rule(number, body, path) for number, body in enumerate(rules, 1))
    names = [rule.name for rule in found]
    if dupe := next((name for name in names if names.count(name) > 1), None):
        raise _bad(path, f"[[retention]] {dupe}", "two rules share the name", "rename one")
    return found


def load(found: Workspace | None) -> tuple[Rule, ...]:
    if found is None:
        return ()
    path, document = found.project_config()
    return parse(document, path)


def _kept_runs(repo: Lineal, unless: str) -> set[str]:
    """The runs upstream of the model versions ``unless`` keeps (their lineage)."""
    store = repo.store
    if unless == "registered":
        roots = [a.node for a in store.artifacts("model") if a.name is not None]
    else:
        roots = [
            repo.resolve(f"model/{name}@v{version}").node  # type: ignore[union-attr]
            for _, name, _, version, _ in store.held_aliases("model")
        ]
    if not roots:
        return set()
    depths = store.subgraph(sorted(set(roots)), upstream=True)[0]
    return {node for node in depths if node.startswith("run/")}


def plan(repo: Lineal, rules: Sequence[Rule], *, now: datetime | None = None) -> list[RuleOutcome]:
    """What each rule erases now: the payloads of its kind that runs it reaches still hold."""
    from lineal.tracking.search import search_runs

    now = now or datetime.now(UTC)
    kept_by: dict[str, set[str]] = {}
    outcomes = []
    taken: set[int] = set()  # a record two rules reach is erased once, by the first
    for rule in rules:
        cutoff = now - rule.age
        old = [
            f"run/{run.id}"
            for run in search_runs(repo, rule.where, with_meta=False)
            if run.started is not None and canonical.parse_time(run.started) < cutoff
        ]
        kept: set[str] = set()
        if rule.unless is not None:
            if rule.unless not in kept_by:
                kept_by[rule.unless] = _kept_runs(repo, rule.unless)
            kept = kept_by[rule.unless] & set(old)
        runs = sorted(set(old) - kept)
        wanted = redaction.KINDS[rule.kind]
        erase = []
        for start in range(0, len(runs), _ASKED):  # a server takes lists of bounded length
            for seq, op, subject in repo.store.erasable(runs[start : start + _ASKED]):
                if op == wanted and seq not in taken:
                    taken.add(seq)
                    erase.append(redaction.Erasure(seq=seq, op=op, subject=subject))
        outcomes.append(RuleOutcome(rule, tuple(runs), tuple(sorted(kept)), tuple(erase)))
    return outcomes


def apply(
    repo: Lineal,
    rules: Sequence[Rule] | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionResult:
    """Erase what the workspace's rules (or ``rules``) reach, in one transaction (admin
    only); ``dry_run``: only say what that would be."""
    rules = load(repo.workspace) if rules is None else rules
    if not rules:
        raise InvalidInput(
            "no retention rules", hint="add [[retention]] rules to lineal.toml (see README)"
        )
    if dry_run:
        return RetentionResult(dry_run=True, rules=tuple(plan(repo, rules, now=now)))
    redaction.require_admin(repo)
    with repo.atomic():  # what the plan saw is what is erased
        outcomes = plan(repo, rules, now=now)
        done = redaction.apply(
            repo,
            [
                redaction.RedactionPlan(one.rule.name, one.rule.reason(), one.erase)
                for one in outcomes
            ],
        )
    return RetentionResult(
        dry_run=False,
        rules=tuple(
            RuleOutcome(one.rule, one.runs, one.kept, applied.erase)
            for one, applied in zip(outcomes, done, strict=True)
        ),
    )
