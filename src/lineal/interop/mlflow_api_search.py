"""MLflow's search over a ``Lineal``: its filter syntax, ``order_by`` and page tokens.

``metrics.acc > 0.9 AND params.lr = '0.01' AND tags.`mlflow.runName` LIKE 'x%' AND
attributes.status = 'FINISHED'``: clauses joined by AND, comparators ``= != < <= > >=`` for
numbers and ``= != LIKE ILIKE IN NOT IN`` for text, ``IS NULL``/``IS NOT NULL``. The runs come
from lineal's run search (lineal.store search_runs, one read with params, latest metrics and
tags; comparisons of metrics with numbers narrow that read); every clause is answered here,
as MLflow answers it.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.interop import mlflow_api as api
from lineal.interop.mlflow_api_runs import as_json
from lineal.interop.mlflow_errors import INVALID_PARAMETER, MlflowError

if TYPE_CHECKING:
    from lineal.model.filters import Expr

_TOKEN = re.compile(
    r"""\s*(?:(?P<ident>`[^`]*`|"[^"]*"|[A-Za-z_][A-Za-z0-9_.:/-]*)(?=[\s=!<>(`"]|$)"""
    r"""|(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"""
    r"""|(?P<op><=|>=|!=|<>|=|<|>)|(?P<paren>[(),]))"""
)
_SCOPES = {
    "metric": "metrics", "metrics": "metrics", "param": "params", "params": "params",
    "parameter": "params", "parameters": "params", "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes",
    "run": "attributes",
    "dataset": "datasets", "datasets": "datasets",
}  # fmt: skip
_ATTRIBUTES = {
    "run_id", "run_name", "status", "start_time", "end_time", "user_id", "artifact_uri",
    "lifecycle_stage", "created", "Created", "experiment_id", "name", "creation_time",
    "last_update_time",
}  # fmt: skip
_LINEAL_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a metric key lineal's filter reads bare
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True, slots=True)
class Clause:
    scope: str  # metrics, params, tags, attributes, datasets
    key: str
    op: str  # = != < <= > >= LIKE ILIKE IN NOT IN, IS NULL, IS NOT NULL
    value: Any


def _unquote(text: str) -> str:
    if text[:1] in "`\"'" and text[-1:] == text[:1]:
        return text[1:-1].replace("\\'", "'")
    return text


def _bad(text: str, why: str) -> MlflowError:
    return MlflowError(INVALID_PARAMETER, f"Invalid filter '{text}': {why}")


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise _bad(text, f"unexpected text at {text[at : at + 20]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


def _field(text: str, ident: str) -> tuple[str, str]:
    bare = _unquote(ident)
    if ident[:1] in '`"':
        return "attributes", bare
    scope, dot, key = ident.partition(".")
    if not dot:
        if ident in _ATTRIBUTES:
            return "attributes", ident
        raise _bad(text, f"expected metrics., params., tags. or attributes. before {ident!r}")
    if scope.lower() not in _SCOPES:
        raise _bad(text, f"unknown entity {scope!r}")
    return _SCOPES[scope.lower()], _unquote(key)


class _Reader:
    """The tokens of one filter, read left to right."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.at = text, _tokens(text), 0

    def more(self) -> bool:
        return self.at < len(self.tokens)

    def take(self) -> tuple[str, str]:
        if not self.more():
            raise _bad(self.text, "it ends too soon")
        self.at += 1
        return self.tokens[self.at - 1]

    def field(self) -> tuple[str, str]:
        kind, ident = self.take()
        if kind != "ident":
            raise _bad(self.text, f"expected a field, not {ident!r}")
        if self.more() and self.tokens[self.at][0] == "ident" and ident.endswith("."):
            ident += self.take()[1]  # tags.`key with spaces`
        return _field(self.text, ident)

    def values(self) -> tuple[str, ...]:
        if self.take()[1] != "(":
            raise _bad(self.text, "expected ( after IN")
        found = []
        while True:
            found.append(_unquote(self.take()[1]))
            separator = self.take()[1]
            if separator == ")":
                return tuple(found)
            if separator != ",":
                raise _bad(self.text, "expected , or ) in a list")

    def clause(self) -> Clause:
        scope, key = self.field()
        kind, op = self.take()
        word = op.upper()
        if kind == "op":
            kind, value = self.take()
            if kind == "number":
                return Clause(scope, key, "!=" if op == "<>" else op, float(value))
            if value[:1] in "'\"":
                return Clause(scope, key, "!=" if op == "<>" else op, _unquote(value))
            raise _bad(self.text, f"expected a value after {op}, not {value!r}")
        if kind != "ident" or word not in ("LIKE", "ILIKE", "IN", "IS", "NOT"):
            raise _bad(self.text, f"expected a comparison after {key!r}, not {op!r}")
        if word == "NOT":
            if self.take()[1].upper() != "IN":
                raise _bad(self.text, "expected IN after NOT")
            return Clause(scope, key, "NOT IN", self.values())
        if word == "IN":
            return Clause(scope, key, "IN", self.values())
        if word == "IS":
            negated = self.take()[1].upper() == "NOT"
            if negated and self.take()[1].upper() != "NULL":
                raise _bad(self.text, "expected IS NULL or IS NOT NULL")
            return Clause(scope, key, "IS NOT NULL" if negated else "IS NULL", None)
        return Clause(scope, key, word, _unquote(self.take()[1]))


def parse(text: str) -> list[Clause]:
    """The clauses of an MLflow filter (ANDed); INVALID_PARAMETER_VALUE naming the problem."""
    reader, clauses = _Reader(text), []
    while reader.more():
        clauses.append(reader.clause())
        if reader.more():
            if reader.take()[1].upper() != "AND":
                raise _bad(text, "clauses are joined by AND")
            if not reader.more():
                raise _bad(text, "it ends too soon")
    return clauses


def _like(pattern: str, value: str, *, fold: bool) -> bool:
    glob = "".join("*" if c == "%" else "?" if c == "_" else re.escape(c) for c in pattern)
    if fold:
        return re.fullmatch(glob.replace("*", ".*").replace("?", "."), value, re.I) is not None
    return fnmatch.fnmatchcase(value, pattern.replace("%", "*").replace("_", "?"))


def _lookup(run: Mapping[str, Any], scope: str, key: str) -> Any:
    if scope == "attributes":
        key = "start_time" if key.lower() == "created" else key
        return run["info"].get(key)
    if scope == "datasets":
        inputs = run.get("inputs", {}).get("dataset_inputs", [])
        return [one["dataset"].get(key) for one in inputs]
    found = {one["key"]: one["value"] for one in run["data"][scope]}
    return found.get(key)


def matches(run: Mapping[str, Any], clause: Clause) -> bool:
    """Whether an MLflow run (JSON) passes one clause."""
    value = _lookup(run, clause.scope, clause.key)
    if clause.op in ("IS NULL", "IS NOT NULL"):
        return (value is None) == (clause.op == "IS NULL")
    if clause.scope == "datasets":
        return any(matches_value(one, clause) for one in value)
    if value is None:
        return False
    return matches_value(value, clause)


def matches_value(value: Any, clause: Clause) -> bool:
    if clause.op in ("IN", "NOT IN"):
        return (str(value) in clause.value) == (clause.op == "IN")
    if clause.op in ("LIKE", "ILIKE"):
        return _like(str(clause.value), str(value), fold=clause.op == "ILIKE")
    numeric = isinstance(clause.value, float)
    if numeric:
        try:
            return _COMPARE[clause.op](float(value), clause.value)
        except (TypeError, ValueError):
            return False
    if clause.op not in ("=", "!="):
        raise MlflowError(INVALID_PARAMETER, f"Invalid comparator {clause.op!r} for text")
    return _COMPARE[clause.op](str(value), str(clause.value))


def _sort_key(order: str) -> tuple[str, str, bool]:
    words = order.strip().rsplit(None, 1)
    descending = len(words) == 2 and words[1].upper() == "DESC"
    ordered = len(words) == 2 and words[1].upper() in ("ASC", "DESC")
    ident = words[0] if ordered else order.strip()
    scope, key = _field(order, ident) if "." in ident or ident[:1] in "`\"" else (
        "attributes", ident
    )  # fmt: skip
    return scope, key, descending


def order_runs(runs: list[dict[str, Any]], order_by: list[str]) -> list[dict[str, Any]]:
    """Runs ordered as MLflow orders them: by ``order_by``, then newest first, then by id."""
    runs = sorted(runs, key=lambda one: one["info"]["run_id"])
    runs.sort(key=lambda one: one["info"]["start_time"], reverse=True)
    for order in reversed(order_by):
        scope, key, descending = _sort_key(str(order))
        present = [one for one in runs if _lookup(one, scope, key) is not None]
        absent = [one for one in runs if _lookup(one, scope, key) is None]
        present.sort(key=lambda one: _comparable(_lookup(one, scope, key)), reverse=descending)
        runs = present + absent  # a missing value sorts last, either way (as MLflow's SQL)
    return runs


def _comparable(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, value)
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value))


def page(items: list[Any], size: int, token: Any) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (MLflow's: base64 of ``{"offset"}``)."""
    start = 0
    if token:
        try:
            start = int(json.loads(base64.b64decode(str(token)))["offset"])
        except (ValueError, KeyError, TypeError):
            raise MlflowError(INVALID_PARAMETER, f"Invalid page token {token!r}") from None
    chosen = items[start : start + size]
    more = start + size < len(items)
    return chosen, base64.b64encode(json.dumps({"offset": start + size}).encode()).decode() if (
        more
    ) else None


def narrowing(clauses: list[Clause]) -> Expr | None:
    """The part of an MLflow filter lineal's run search answers the same way (comparisons of
    a metric's latest value with a number), for the store to narrow the runs read; the service
    still answers every clause."""
    from lineal.model.filters import parse as parse_filter

    parts = [
        f"metrics.{one.key} {one.op} {one.value!r}"
        for one in clauses
        if one.scope == "metrics"
        and one.op in ("=", "<", "<=", ">", ">=")
        and isinstance(one.value, float)
        and math.isfinite(one.value)
        and _LINEAL_KEY.fullmatch(one.key)
    ]
    if not parts:
        return None
    try:
        return parse_filter(" and ".join(parts))
    except InvalidInput:  # a key lineal's filter spells otherwise: read every run
        return None


def search_runs(repo: Lineal, body: Mapping[str, Any]) -> dict[str, Any]:
    """``runs/search``: runs of the experiments passing the filter, ordered, one page."""
    wanted = {str(one) for one in body.get("experiment_ids") or []}
    clauses = parse(str(body.get("filter") or ""))
    view = api.VIEWS.get(str(body.get("run_view_type") or "1"))
    size = api.integer(body, "max_results", 1000) or 1000
    if not 1 <= size <= api.MAX_RESULTS:
        raise MlflowError(INVALID_PARAMETER, f"max_results must be from 1 to {api.MAX_RESULTS}")
    order_by = body.get("order_by") or []
    found = []
    needs_inputs = any(one.scope == "datasets" for one in clauses)
    for run in repo.store.search_runs(narrowing(clauses))[0]:
        mlflow = run.meta.get("mlflow") or {}
        # Runs of this API's experiments; an imported run (meta mlflow.source) belongs to
        # an experiment of the store it came from, whose ids are not this API's.
        if str(mlflow.get("experiment_id")) not in wanted or "source" in mlflow:
            continue
        metrics = {key: {"value": value, "step": 0} for key, value in run.metrics.items()}
        inputs = None
        if needs_inputs:
            from lineal.interop.mlflow_api_runs import run_inputs

            inputs = run_inputs(repo, run.id)
        one = as_json(run, run.tags, metrics, inputs)
        if view is not None and one["info"]["lifecycle_stage"] != view:
            continue
        if all(matches(one, clause) for clause in clauses):
            found.append(one)
    chosen, token = page(order_runs(found, list(order_by)), size, body.get("page_token"))
    return {"runs": chosen, **({"next_page_token": token} if token else {})}


def experiment_matches(found: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Experiments passing an MLflow filter on ``name``, ``tags.KEY`` and times."""
    clauses = parse(text)

    def passes(one: dict[str, Any]) -> bool:
        view = {"info": one, "data": {"tags": one["tags"]}}
        return all(
            matches(view, Clause("attributes" if c.scope == "attributes" else c.scope, c.key,
                                 c.op, c.value))
            for c in clauses
        )  # fmt: skip

    return [one for one in found if passes(one)]


def order_experiments(found: list[dict[str, Any]], order_by: list[str]) -> list[dict[str, Any]]:
    """Experiments by ``order_by`` (default: newest first, then by id)."""
    found = sorted(found, key=lambda one: int(one["experiment_id"]), reverse=True)
    for order in reversed(order_by):
        _, key, descending = _sort_key(str(order))
        found.sort(key=lambda one: _comparable(one.get(key)), reverse=descending)
    return found
