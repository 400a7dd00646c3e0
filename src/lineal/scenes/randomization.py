"""Randomization configs (ranges and a seed, in YAML or JSON) as versioned ``config`` artifacts.

The identity is the canonical form's digest (key order and formatting do not count); the
canonical bytes are cached, so a replay can write the config back. Never prints.

    seed: 7
    ranges:
      light.intensity: [500, 2000]        # a number drawn from [MIN, MAX]
      pose.yaw: {min: -180, max: 180}
      object.color: {choices: [red, green, blue]}
    images: 300                           # anything else is kept as written
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, check_name, kind_name
from lineal.model.refs import Ref

KIND = "config"
TYPE = "randomization"
_HINT = "a randomization config is a mapping with `seed: INT` and `ranges:` (see the README)"


@dataclass(frozen=True, slots=True)
class Added:
    artifact: Artifact
    created: bool
    config: dict[str, Any]


def _bad(path: Path, what: str) -> InvalidInput:
    return InvalidInput(f"bad randomization config {path}: {what}", hint=_HINT)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(path: Path, key: str, spec: Any) -> None:
    where = f"ranges.{key}"
    if isinstance(spec, list):
        if len(spec) != 2 or not all(_number(v) for v in spec):
            raise _bad(path, f"{where} must be [MIN, MAX] (two numbers), not {spec!r}")
        low, high = spec
    elif isinstance(spec, dict) and "choices" in spec:
        if not isinstance(spec["choices"], list) or not spec["choices"]:
            raise _bad(path, f"{where}.choices must be a non-empty list")
        return
    elif isinstance(spec, dict) and {"min", "max"} <= set(spec):
        low, high = spec["min"], spec["max"]
        if not (_number(low) and _number(high)):
            raise _bad(path, f"{where}: min and max must be numbers")
    else:
        raise _bad(path, f"{where} must be [MIN, MAX], {{min:, max:}} or {{choices: [...]}}")
    if low > high:
        raise _bad(path, f"{where}: min {low} is greater than max {high}")


def parse(path: Path) -> dict[str, Any]:
    """Read and check a config file; one InvalidInput naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no such config file: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"cannot read it ({exc})") from exc
    if path.suffix.lower() == ".json":
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise _bad(path, f"not valid JSON ({exc})") from exc
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            raise _bad(path, f"not valid YAML{line}") from exc
    else:
        raise _bad(path, "expected a .yaml, .yml or .json file")
    if not isinstance(body, dict):
        raise _bad(path, "the top level must be a mapping")
    seed = body.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise _bad(path, f"`seed` must be an integer, not {seed!r}")
    ranges = body.get("ranges")
    if not isinstance(ranges, dict) or not ranges:
        raise _bad(path, "`ranges` must be a non-empty mapping of names to ranges")
    for key, spec in ranges.items():
        _check_range(path, str(key), spec)
    try:
        canonical.encode(body)
    except InvalidInput as exc:
        raise _bad(path, str(exc)) from exc
    return body


def config_name(text: str) -> str:
    """``config/NAME`` or ``NAME`` → NAME (validated)."""
    return kind_name(text, KIND)


def add(repo: Lineal, path: Path, *, name: str | None = None) -> Added:
    """Record ``path`` as a version of ``config/NAME`` (default: the file's stem)."""
    body = parse(path)
    label = config_name(name) if name else re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem)[:128]
    data = canonical.encode(body)
    digest = digest_bytes(data)
    cache = datasets.objects(repo)
    with cache.writing():  # a gc waits: until the record lands, nothing references the bytes
        cache.add_bytes(data)
        cache.sync()
        with repo.atomic():
            versions = repo.versions(KIND, label)
            if digest in versions:
                same = repo.resolve(Ref(kind=KIND, name=label, digest=digest))
                assert isinstance(same, Artifact)  # noqa: S101 - a version is an artifact
                return Added(same, False, body)
            previous = repo.resolve(f"{KIND}/{label}") if versions else None
            artifact = repo.record_artifact(
                KIND,
                digest=digest,
                name=check_name(label or "config", "config name"),
                size=len(data),
                meta={
                    "type": TYPE,
                    "seed": body["seed"],
                    "ranges": body["ranges"],
                    "config": body,
                    "format": "json" if path.suffix.lower() == ".json" else "yaml",
                },
            )
            if isinstance(previous, Artifact):
                repo.link("derived_from", previous, artifact, role="previous")
        return Added(artifact, True, body)


def resolve(repo: Lineal, text: str) -> Artifact:
    ref = text if "/" in text or text.startswith("sha256:") else f"{KIND}/{text}"
    found = repo.resolve(ref)
    if not isinstance(found, Artifact) or found.meta.get("type") != TYPE:
        raise InvalidInput(f"{text} is not a randomization config", hint="use config/NAME[@vN]")
    return found
