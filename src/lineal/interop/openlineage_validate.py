"""Checking OpenLineage events: the core spec and each facet's own schema, or the spec's basic
rules when no spec folder is given.

The spec files (``OpenLineage.json`` and ``facets/*.json``, Apache-2.0) do not ship with lineal:
``LINEAL_OPENLINEAGE_SPEC`` (or ``lineal server --openlineage-spec DIR``, ``lineal import
openlineage --spec DIR``) names the folder of a checkout's ``spec/``. With it, every event is
checked against the core schema (Draft 2020-12, every file registered under its ``$id``) and
every facet against the file its ``_schemaURL`` names (the core schema checks facets only
against BaseFacet). Without it, the rules that need no file still hold: the required keys,
``runId`` a UUID, ``eventTime`` an ISO-8601 time, ``eventType`` in the enum, facets objects with
``_producer`` and ``_schemaURL``. Validators are compiled once per folder (the ingest hot path).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput
from lineal.interop.extras import require

#: Where the spec folder (holding OpenLineage.json and facets/) is looked for.
SPEC_VARIABLE = "LINEAL_OPENLINEAGE_SPEC"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
_HINT = "see https://openlineage.io/spec/2-0-2/OpenLineage.json for the event's shape"
_FACET_GROUPS = ("facets", "inputFacets", "outputFacets")
_EVENT_DEFS = {"run": "RunEvent", "dataset": "DatasetEvent", "job": "JobEvent"}


def event_kind(event: Mapping[str, Any]) -> str:
    """'run', 'dataset' or 'job': which of the spec's three events ``event`` is."""
    if "run" in event:
        return "run"
    if "dataset" in event and "job" not in event:
        return "dataset"
    return "job"


def parse_event_time(text: object, where: str = "$.eventTime") -> datetime:
    """An event's time in UTC: an RFC 3339 date and time with its offset, as the spec's
    ``date-time`` format asks (``2026-12-07T15:00:00.123Z``)."""
    what = f"{text!r} is not a 'date-time' with an offset (such as 2026-12-07T15:00:00Z)"
    if not isinstance(text, str) or "T" not in text.upper():
        raise _bad(where, what, "format")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(where, what, "format") from None
    if moment.tzinfo is None:
        raise _bad(where, what, "format")
    return moment.astimezone(UTC)


def _bad(where: str, what: str, rule: str) -> InvalidInput:
    return InvalidInput(f"bad OpenLineage event at {where}: {what} (rule: {rule})", hint=_HINT)


class Validator:
    """Checks events; ``full``: against the spec files (else the basic rules only)."""

    def __init__(self, spec: Path | None = None) -> None:
        self.spec = spec
        self.full = spec is not None
        self._core: dict[str, Any] = {}
        self._fast_core: dict[str, Any] = {}
        self._registry: Any = None
        self._fast: Any = None
        self._known: set[str] = set()
        #: a facet's _schemaURL -> its compiled validators (jsonschema's, jsonschema_rs's)
        self._facets: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        if spec is not None:
            self._load(spec)

    def _load(self, spec: Path) -> None:
        jsonschema = require("jsonschema", "interop")
        referencing = require("referencing", "interop")
        core_file = spec / "OpenLineage.json"
        if not core_file.is_file():
            raise InvalidInput(
                f"no OpenLineage.json in {spec}",
                hint="point at the spec/ folder of an OpenLineage checkout "
                "(it holds OpenLineage.json and facets/)",
            )
        schemas: list[tuple[str, Any]] = []
        for path in [core_file, *sorted((spec / "facets").glob("*.json"))]:
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InvalidInput(f"cannot read the schema {path}: {exc}") from exc
            schemas.append((schema["$id"], schema))
        draft = referencing.jsonschema.DRAFT202012
        self._registry = referencing.Registry().with_resources(
            (uri, referencing.Resource.from_contents(one, default_specification=draft))
            for uri, one in schemas
        )
        self._checker = jsonschema.FormatChecker()
        self._known = {uri for uri, _ in schemas}
        core_id = schemas[0][0]
        #: one validator per kind of event (the core's oneOf would try all three, and its
        #: error would name the whole event, not the path that failed)
        self._core = {
            kind: jsonschema.Draft202012Validator(
                {"$ref": f"{core_id}#/$defs/{name}"},
                registry=self._registry,
                format_checker=self._checker,
            )
            for kind, name in _EVENT_DEFS.items()
        }
        self._fast = _fast_registry(schemas)
        self._fast_core = {
            kind: self._fast_validator(f"{core_id}#/$defs/{name}")
            for kind, name in _EVENT_DEFS.items()
        }

    def _fast_validator(self, target: str) -> Any:
        """jsonschema_rs's validator of ``target`` when that package is installed (~100x
        faster): valid events pass it alone; an invalid one is checked again by jsonschema,
        whose error names the path and rule."""
        if self._fast is None:
            return None
        import jsonschema_rs

        return jsonschema_rs.validator_for(
            {"$ref": target}, registry=self._fast, validate_formats=True
        )

    def check(self, event: object) -> str:
        """Raise InvalidInput naming the JSON path and the rule that failed; the event's kind."""
        if not isinstance(event, Mapping):
            raise _bad("$", f"expected a JSON object, not {type(event).__name__}", "type")
        kind = self._basic(event)
        if self.full:
            self._schema(kind, event)
        return kind

    def kind_of(self, event: Mapping[str, Any]) -> str:
        """The kind of an event this validator has passed."""
        return event_kind(event)

    def facet_checked(self, facet: Mapping[str, Any]) -> bool:
        """Whether a facet's ``_schemaURL`` names a schema this validator holds."""
        url = facet.get("_schemaURL")
        return self.full and isinstance(url, str) and url.partition("#")[0] in self._known

    # -- the spec's own files ------------------------------------------------------------
    def _schema(self, kind: str, event: Mapping[str, Any]) -> None:
        jsonschema = require("jsonschema", "interop")
        fast = self._fast_core[kind]
        if fast is None or not fast.is_valid(event):
            error = jsonschema.exceptions.best_match(self._core[kind].iter_errors(event))
            if error is not None:
                raise _bad(error.json_path, error.message, str(error.validator))
        for where, facet in _facets(event):
            url = facet.get("_schemaURL")
            found = self._facet_validators(url)
            if found is None:
                continue
            slow, quick = found
            if quick is not None and quick.is_valid(facet):
                continue
            error = jsonschema.exceptions.best_match(slow.iter_errors(facet))
            if error is not None:
                path = where + error.json_path.removeprefix("$")
                raise _bad(path, error.message, f"{error.validator} of {url}")

    def _facet_validators(self, url: object) -> tuple[Any, Any] | None:
        if not isinstance(url, str) or url.partition("#")[0] not in self._known:
            return None  # a custom facet, or another version's: BaseFacet was checked
        found = self._facets.get(url)
        if found is None:
            with self._lock:
                jsonschema = require("jsonschema", "interop")
                base, _, pointer = url.partition("#")
                target = f"{base}#{pointer}" if pointer else base
                slow = jsonschema.Draft202012Validator(
                    {"$ref": target}, registry=self._registry, format_checker=self._checker
                )
                found = self._facets[url] = (slow, self._fast_validator(target))
        return found

    # -- what holds without the files ----------------------------------------------------
    def _basic(self, event: Mapping[str, Any]) -> str:
        for key in ("eventTime", "producer", "schemaURL"):
            if not isinstance(event.get(key), str):
                what = "is required" if key not in event else "must be a string"
                raise _bad(
                    f"$.{key}", f"{key!r} {what}", "required" if key not in event else "type"
                )
        parse_event_time(event["eventTime"])
        kind = event_kind(event)
        if kind == "run":
            _run_rules(event)
        if kind in ("run", "job"):
            _named(_object(event, "job", "$"), "$.job")
            for side in ("inputs", "outputs"):
                found = event.get(side, [])
                if not isinstance(found, list):
                    raise _bad(f"$.{side}", f"{side!r} must be an array", "type")
                for i, dataset in enumerate(found):
                    if not isinstance(dataset, Mapping):
                        raise _bad(f"$.{side}[{i}]", "expected an object", "type")
                    _named(dataset, f"$.{side}[{i}]")
        else:
            _named(_object(event, "dataset", "$"), "$.dataset")
        for where, facet in _facets(event):
            for key in ("_producer", "_schemaURL"):
                if not isinstance(facet.get(key), str):
                    raise _bad(where, f"{key!r} is a required property", "required of BaseFacet")
        return kind


def _run_rules(event: Mapping[str, Any]) -> None:
    """A RunEvent's own rules: ``run.runId`` a UUID, ``eventType`` one of the enum."""
    run = _object(event, "run", "$")
    run_id = run.get("runId")
    if not isinstance(run_id, str):
        raise _bad("$.run.runId", "'runId' is required", "required")
    try:
        uuid.UUID(run_id)
    except ValueError:
        raise _bad("$.run.runId", f"{run_id!r} is not a 'uuid'", "format") from None
    kind_type = event.get("eventType")
    if kind_type is not None and kind_type not in EVENT_TYPES:
        raise _bad("$.eventType", f"{kind_type!r} is not one of {list(EVENT_TYPES)}", "enum")


def _object(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    found = parent.get(key)
    if not isinstance(found, Mapping):
        what = f"{key!r} is a required property" if found is None else f"{key!r} must be an object"
        raise _bad(where if found is None else f"{where}.{key}", what, "required")
    return found


def _named(node: Mapping[str, Any], where: str) -> None:
    for key in ("namespace", "name"):
        if not isinstance(node.get(key), str):
            raise _bad(where, f"{key!r} is a required property (a string)", "required")
    for group in _FACET_GROUPS:
        if group in node and not isinstance(node[group], Mapping):
            raise _bad(f"{where}.{group}", f"{group!r} must be an object", "type")


def _facets(event: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Every facet of an event with its JSON path; a facet that is not an object is refused."""
    holders: list[tuple[str, Any]] = []
    for key in ("run", "job", "dataset"):
        if isinstance(event.get(key), Mapping):
            holders.append((f"$.{key}", event[key]))
    for side in ("inputs", "outputs"):
        found = event.get(side)
        if isinstance(found, list):
            holders += [(f"$.{side}[{i}]", one) for i, one in enumerate(found)]
    facets = []
    for where, holder in holders:
        if not isinstance(holder, Mapping):
            continue
        for group in _FACET_GROUPS:
            found = holder.get(group)
            if not isinstance(found, Mapping):
                continue
            for name, facet in found.items():
                path = f"{where}.{group}.{name}"
                if not isinstance(facet, Mapping):
                    raise _bad(path, "a facet must be an object", "type of BaseFacet")
                facets.append((path, facet))
    return facets


def validator(spec: str | os.PathLike[str] | None = None) -> Validator:
    """The validator of the spec folder ``spec``, else ``LINEAL_OPENLINEAGE_SPEC``'s, else one
    of the basic rules; compiled once per folder."""
    chosen = spec if spec is not None else os.environ.get(SPEC_VARIABLE) or None
    if chosen is None:
        return _compiled(None)
    return _of_folder(os.fspath(chosen))


@functools.lru_cache(maxsize=64)
def _of_folder(chosen: str) -> Validator:
    """The validator of the folder named ``chosen``: resolved once, not on each event (the
    ingest endpoint asks for it on every request)."""
    path = Path(chosen).expanduser().resolve()
    if not path.is_dir():
        raise InvalidInput(
            f"the OpenLineage spec folder {path} does not exist",
            hint="point at the spec/ folder of an OpenLineage checkout (OpenLineage.json, facets/)",
        )
    return _compiled(path)


def _fast_registry(schemas: list[tuple[str, Any]]) -> Any:
    """jsonschema_rs's registry of the same schemas, or None without that package."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.Registry(schemas)


@functools.cache
def _compiled(spec: Path | None) -> Validator:
    return Validator(spec)
