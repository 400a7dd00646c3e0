"""The wire format of the Store protocol's reads over HTTP, shared by server and HttpStore.

One table (:data:`READS`) names every read, its HTTP verb and its arguments; the functions
here turn arguments and answers into JSON and back, so that what crosses the wire decodes to
exactly what the SQL store returned (entities, tuples, Series, VerifyReport). Errors travel as
``{"error", "hint", "code"}`` and come back as the same LinealError class. Pure: never opens a
connection nor imports a web framework.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lineal.errors import InvalidInput, LinealError
from lineal.ledger.chain import Commit, Record
from lineal.ledger.verify import Problem
from lineal.model import filters, refs
from lineal.model.audit import AuditHead, AuditReport, AuditRow
from lineal.model.entities import Agent, Artifact, Edge, Run
from lineal.model.series import Series, pack_column
from lineal.store.base import Store, VerifyReport
from lineal.store.wire_errors import error_body
from lineal.store.wire_lineage import answer as _answer
from lineal.store.wire_lineage import closure as _closure
from lineal.store.wire_lineage import columns as _columns
from lineal.store.wire_lineage import to_answer as _to_answer
from lineal.store.wire_lineage import to_closure as _to_closure
from lineal.store.wire_lineage import to_columns as _to_columns


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a read: its name, wire type and default (``REQUIRED``: none)."""

    name: str
    type: str  # str, int, step, limit, bool, strs, ref, filter, artifact
    default: Any = None
    required: bool = False


def _req(name: str, kind: str = "str") -> Param:
    return Param(name, kind, required=True)


def _opt(name: str, kind: str = "str", default: Any = None) -> Param:
    return Param(name, kind, default)


_PAGE = (_opt("after", "int", 0), _opt("limit", "limit"), _opt("newest_first", "bool", False))
_FILTER, _FILTER_PAGE = (
    _opt("filter", "filter"),
    (_opt("limit", "limit"), _opt("with_meta", "bool", True)),
)
_STEPS = (_opt("from_step", "step"), _opt("to_step", "step"))
#: Every read: name -> (verb, arguments). POST carries a JSON body (lists, an artifact).
READS: dict[str, tuple[str, tuple[Param, ...]]] = {
    "head": ("GET", ()),
    "records": (
        "GET",
        (
            _opt("after", "int", 0),
            _opt("limit", "limit"),
            _opt("op"),
            _opt("newest_first", "bool", False),
        ),
    ),
    "commits": ("GET", ()),
    "leaf_hashes": ("GET", (_opt("size", "int"),)),
    "agents": ("GET", ()),
    "resolve": ("GET", (_req("ref", "ref"),)),
    "edges": ("GET", (_req("node"),)),
    "run_details": ("GET", (_req("run_id"),)),
    "artifact_details": ("POST", (_req("artifact", "artifact"),)),
    "get_run": ("GET", (_req("run_id"),)),
    "unnamed": ("GET", (_req("digest"),)),
    "holders": ("GET", (_req("digest"),)),
    "version_of": ("GET", (_req("kind"), _req("name"), _req("digest"))),
    "tags": ("GET", (_req("node"),)),
    "labels": ("POST", (_req("nodes", "strs"),)),
    "presence": ("POST", (_req("nodes", "strs"), _opt("edges_of", "strs", ()))),
    "names": ("GET", (_req("kind"),)),
    "versions": ("GET", (_req("kind"), _req("name"))),
    "artifacts": ("GET", (_opt("kind"),)),
    "latest_versions": ("GET", (_opt("kind"),)),
    "held_aliases": ("GET", (_opt("kind"), _opt("name"))),
    "alias_holders": ("GET", (_req("kind"), _opt("name"), _opt("as_of", "int"))),
    "promotions": ("GET", (_req("name"), _opt("as_of", "int"))),
    "approvals": ("GET", (_req("name"), _req("digest"), _req("alias"))),
    "role_holders": ("GET", (_opt("as_of", "int"),)),
    "policy_record": ("GET", (_opt("as_of", "int"),)),
    "seq_at_time": ("GET", (_req("when"),)),
    "resolve_at": (
        "GET",
        (_req("ref", "ref"), _opt("as_of", "int"), _opt("every_version", "bool", False)),
    ),
    "agent_at": ("GET", (_req("name"), _opt("as_of", "int"))),
    "subgraph": (
        "POST",
        (
            _req("roots", "strs"),
            _req("upstream", "bool"),
            _opt("depth", "int"),
            _opt("as_of", "int"),
        ),
    ),
    "path_subgraph": ("POST", (_req("sources", "strs"), _req("target"), _opt("as_of", "int"))),
    "closure": (
        "GET",
        (_req("root"), _req("upstream", "bool"), _opt("depth", "int"), _opt("as_of", "int")),
    ),
    # a filter may hold thousands of conditions: more than a URL takes
    "search_runs": ("POST", (_FILTER, *_FILTER_PAGE)),
    "runs_page": ("POST", (_FILTER, _opt("sort"), _opt("offset", "int", 0), *_FILTER_PAGE)),
    "run_keys": ("GET", ()),
    "timeline_events": ("POST", (_req("events", "strs"), _req("limit", "limit"))),
    "metric_series": ("GET", (_req("run_id"), _opt("key"), _opt("max_points", "limit"), *_STEPS)),
    "crashed_runs": ("GET", ()),
    "finished_runs_tagged": ("GET", (_req("key"), _req("value"), _req("without"))),
    "tag_values_beside": ("GET", (_req("key"), _req("where_key"), _req("where_value"))),
    "tagged": ("GET", (_req("key"), _opt("as_of", "int"))),
    "redactions": ("GET", (_opt("subject"),)),
    "erasable": ("POST", (_req("subjects", "strs"),)),
    "verify": ("GET", ()),
    "schema_version": ("GET", ()),
    "audit_rows": ("GET", (*map(_opt, ("agent", "ref", "since", "until")), *_PAGE)),
    "audit_heads": ("GET", _PAGE[:2]),
    "verify_audit": ("GET", ()),
}
#: The Store method argument each wire argument feeds (where the names differ).
RENAMED = {("search_runs", "filter"): "expr", ("runs_page", "filter"): "expr"}


# -- arguments ----------------------------------------------------------------------------
def encode_args(method: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The wire arguments of a call (``values`` by the Store method's argument names)."""
    wire: dict[str, Any] = {}
    for param in READS[method][1]:
        value = values.get(RENAMED.get((method, param.name), param.name), param.default)
        if value is None:
            continue
        if param.type == "ref":
            value = str(value)
        elif param.type == "filter":
            value = filters.format(value)
        elif param.type == "artifact":
            value = entity(value)
        elif param.type == "strs":
            value = list(value)
        wire[param.name] = value
    return wire


def _no_nul(value: Any, what: str) -> None:
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise InvalidInput(f"bad {what}: a NUL character", hint="send printable text")


def decode_args(method: str, wire: Mapping[str, Any]) -> dict[str, Any]:
    """The Store method's keyword arguments from wire arguments (bad ones: InvalidInput)."""
    values: dict[str, Any] = {}
    for param in READS[method][1]:
        value = wire.get(param.name)
        _no_nul(value, param.name)
        if value is not None and param.type == "ref":
            value = refs.parse(value)
        elif value is not None and param.type == "filter":
            value = filters.parse(value)
        elif value is not None and param.type == "artifact":
            value = to_entity(value)
            if not isinstance(value, Artifact):
                raise InvalidInput(
                    "bad artifact: expected an artifact's fields",
                    hint='e.g. {"type": "artifact", "kind": "dataset", "digest": "sha256:…"}',
                )
        elif value is None and not param.required:
            value = param.default
        values[RENAMED.get((method, param.name), param.name)] = value
    return values


# -- values -------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """JSON-shaped ``value``: tuples become lists, NaN and infinities ``{"$float": text}``."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def unplain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$float"}:
            return float(value["$float"])
        return {key: unplain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unplain(item) for item in value]
    return value


_ENTITIES: dict[str, type[Any]] = {"artifact": Artifact, "run": Run, "agent": Agent, "edge": Edge}


_FIELDS = {kind: tuple(f.name for f in dataclasses.fields(kind)) for kind in _ENTITIES.values()}
_SCALARS = (str, int, bool, type(None))


def entity(value: Artifact | Run | Agent | Edge) -> dict[str, Any]:
    names = _FIELDS[type(value)]  # scalars as they are; plain() walks only the others
    body = {k: v if type(v := getattr(value, k)) in _SCALARS else plain(v) for k in names}
    return {"type": type(value).__name__.lower(), **body}


def to_entity(body: Any) -> Any:
    if not isinstance(body, dict) or body.get("type") not in _ENTITIES:
        raise InvalidInput(
            f"bad entity {str(body)[:80]!r}: expected a typed object",
            hint='e.g. {"type": "artifact", "kind": "dataset", "digest": "sha256:…"}',
        )
    fields = {key: unplain(item) for key, item in body.items() if key != "type"}
    try:
        return _ENTITIES[body["type"]](**fields)
    except TypeError as exc:
        raise InvalidInput(
            f"bad {body['type']}: {exc}", hint="send the fields the wire format gives it"
        ) from exc


def _series(value: Series) -> dict[str, Any]:
    columns = {
        name: pack_column(getattr(value, name)).decode("ascii")
        for name in ("steps", "values", "times")
    }
    return {"key": value.key, "ordered": value.ordered, **columns}


def _to_series(body: dict[str, Any]) -> Series:
    def column(name: str, typecode: str) -> array[Any]:
        out = array(typecode)
        out.frombytes(base64.b64decode(body[name]))
        if array("q", [1]).tobytes()[0] != 1:  # big-endian machine: the wire is little-endian
            out.byteswap()
        return out

    return Series(
        key=body["key"],
        steps=column("steps", "q"),
        values=column("values", "d"),
        times=column("times", "d"),
        ordered=body["ordered"],
    )


def _record(value: Record) -> dict[str, Any]:
    body = dataclasses.asdict(value)
    body["payload"] = None if value.payload is None else base64.b64encode(value.payload).decode()
    return body


def _to_record(body: dict[str, Any]) -> Record:
    payload = body.pop("payload")
    return Record(**body, payload=None if payload is None else base64.b64decode(payload))


def _matches(value: Any) -> Any:
    runs, at_step = value
    steps = [
        {"field": dataclasses.asdict(field), "values": plain(values)}
        for field, values in at_step.items()
    ]
    return {"runs": [entity(run) for run in runs], "at_step": steps}


def _to_matches(body: Any) -> Any:
    at_step = {filters.Field(**one["field"]): unplain(one["values"]) for one in body["at_step"]}
    return [to_entity(run) for run in body["runs"]], at_step


def _report(value: VerifyReport) -> Any:
    body = dataclasses.asdict(value)
    body["problem"] = None if value.problem is None else [value.problem.seq, value.problem.what]
    return body


def _to_report(body: Any) -> VerifyReport:
    problem = body.pop("problem")
    return VerifyReport(problem=None if problem is None else Problem(*problem), **body)


def _many(one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda values: [one(value) for value in values]


def _tuples(body: Any) -> Any:
    return [tuple(row) for row in body]


Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]
_PLAIN: Codec = (plain, unplain)
_ENTITY: Codec = (entity, to_entity)
_ENTITY_LIST: Codec = (_many(entity), _many(to_entity))
_OPTIONAL: Codec = (
    lambda v: None if v is None else entity(v),
    lambda b: None if b is None else to_entity(b),
)
_TUPLES: Codec = (plain, _tuples)
_ANSWER: Codec = (_answer, _to_answer)
#: How each read's answer is encoded and decoded (reads not named here: plain JSON).
CODECS: dict[str, Codec] = {
    "head": (list, tuple),
    "records": (_many(_record), _many(_to_record)),
    "commits": (_many(dataclasses.asdict), _many(lambda b: Commit(**b))),
    "leaf_hashes": (_many(bytes.hex), _many(bytes.fromhex)),
    "agents": _ENTITY_LIST,
    "resolve": _ENTITY,
    "get_run": _ENTITY,
    "unnamed": _OPTIONAL,
    "holders": _ENTITY_LIST,
    "artifacts": _ENTITY_LIST,
    "edges": _ENTITY_LIST,
    "labels": (plain, lambda b: {key: tuple(pair) for key, pair in b.items()}),
    "presence": (lambda v: [v[0], _many(entity)(v[1])], lambda b: (b[0], _many(to_entity)(b[1]))),
    "versions": _TUPLES,
    "latest_versions": _TUPLES,
    "held_aliases": _TUPLES,
    "alias_holders": _TUPLES,
    "approvals": _TUPLES,
    "erasable": _TUPLES,
    "role_holders": _TUPLES,
    "tagged": _TUPLES,
    "subgraph": _ANSWER,
    "path_subgraph": (_columns, _to_columns),
    "closure": (_closure, _to_closure),
    "search_runs": (_matches, _to_matches),
    "runs_page": (lambda v: [_many(entity)(v[0]), v[1]], lambda b: (_many(to_entity)(b[0]), b[1])),
    "metric_series": (
        lambda v: {key: _series(s) for key, s in v.items()},
        lambda b: {key: _to_series(s) for key, s in b.items()},
    ),
    "verify": (_report, _to_report),
    "audit_rows": (_many(AuditRow.as_dict), _many(AuditRow.from_dict)),
    "audit_heads": (_many(AuditHead.as_dict), _many(lambda b: AuditHead(**b))),
    "verify_audit": (AuditReport.as_dict, AuditReport.from_dict),
}


def encode_result(method: str, value: Any) -> Any:
    return CODECS.get(method, _PLAIN)[0](value)


def decode_result(method: str, body: Any) -> Any:
    return CODECS.get(method, _PLAIN)[1](body)


# -- writes: batches clients signed ------------------------------------------------------------
#: Error codes that will never change for a resend: the batch is answered, and dropped.
PERMANENT = frozenset({"invalid_input", "not_found", "conflict", "permission", "integrity"})


def batch_ops(line: bytes) -> tuple[str, list[tuple[str, Any]]] | None:
    """The agent of a batch and its ``(op, decoded payload)`` records, for the server to tell
    which role sending it needs; None for a batch that is not one (``submit`` refuses it)."""
    from lineal.store.batches import decode_batch

    try:
        batch = decode_batch(line)
    except LinealError:
        return None
    return batch.agent, list(batch.records)


def submit_all(store: Store, lines: list[bytes]) -> list[dict[str, Any]]:
    """Each batch submitted in its own transaction: a receipt (with each record's time and
    hash), or the error that refused it (a store that cannot be reached fails the whole
    request, to be sent again)."""
    answers: list[dict[str, Any]] = []
    for line in lines:
        digest = "sha256:" + hashlib.sha256(line).hexdigest()
        try:
            receipt = store.submit(line)
            written = store.records(
                after=receipt.first_seq - 1, limit=receipt.last_seq - receipt.first_seq + 1
            )  # the client's records as stored: its append returns them as a SQL store does
            stamps = [[record.time, record.hash] for record in written]
            answers.append({"digest": digest, "ok": True, **receipt.as_dict(), "records": stamps})
        except LinealError as exc:
            if exc.code not in PERMANENT:
                raise
            answers.append({"digest": digest, "ok": False, **error_body(exc)})
    return answers
