"""A DVC project read as data: its `.dvc` files and its `dvc.lock` stages (with `dvc.yaml`).

Pure reading with PyYAML (no ``dvc`` import, no record written): every path is made relative to
the DVC repository's root (POSIX), a stage's params are flattened to dotted keys, and a file
DVC did not write gets one clear error naming it and the fix.

What is read:

- ``*.dvc`` files anywhere below the root (not in hidden folders such as ``.dvc/`` and
  ``.git/``, nor in a folder a DVC out holds): their ``outs`` (``path`` relative to the
  file's folder and its ``wdir``), and the ``deps`` of a ``dvc import`` / ``import-url``
  (where the data came from).
- ``dvc.lock`` files (``schema: '2.0'`` as DVC 2 and 3 write it, and DVC 1's stage-per-key
  form): each stage's ``cmd``, ``deps``, ``outs`` and ``params`` (``{file: {key: value}}``).
  ``foreach``/``matrix`` stages appear there as ``NAME@KEY``; each is a stage of its own.
- ``dvc.yaml`` beside it: the stages' ``desc`` and ``wdir``, the stages declared but never run
  (no lock entry), and the ``artifacts`` section (``type: model`` makes a path a model).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lineal.errors import InvalidInput, NotFound
from lineal.model.masking import mask_url

#: The params file DVC reads when a stage names none: its keys are recorded bare.
DEFAULT_PARAMS = "params.yaml"
#: Folders never walked for DVC files (nor are hidden ones: .dvc, .git, .venv, …).
_SKIPPED = frozenset({"node_modules", "__pycache__"})
#: PyYAML's safe loader, in C when libyaml is there (a 300-stage dvc.lock: 1.4 s in Python).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: The hash fields an out or dep can carry, by preference (md5: DVC's own; etag, checksum:
#: external data DVC does not hash itself).
_HASH_FIELDS = ("md5", "etag", "checksum")


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """One out or dep: where it is and what DVC says it holds."""

    path: str  # relative to the DVC root (POSIX), or as written when outside it (a URL)
    md5: str | None = None  # DVC's md5 (``HEX.dir`` for a folder)
    size: int | None = None
    nfiles: int | None = None
    hash: str | None = None  # "md5": DVC 3 hashing (plain md5 of the bytes); None: DVC 2
    other: Mapping[str, Any] = field(default_factory=dict)  # etag, remote, desc, …
    inside: bool = True  # False: a URL or a path outside the repository (never read)

    @property
    def is_dir(self) -> bool:
        return self.md5 is not None and self.md5.endswith(".dir")

    @property
    def identity(self) -> tuple[str, str] | None:
        """(field, value) of what DVC knows of its content: md5, else an etag or checksum."""
        if self.md5 is not None:
            return "md5", self.md5
        for name in _HASH_FIELDS[1:]:
            value = self.other.get(name)
            if isinstance(value, str) and value:
                return name, value
        return None

    def dvc_meta(self) -> dict[str, Any]:
        """What lineal keeps of DVC's record: ``{md5, size, nfiles, path, hash}`` (set ones)."""
        found = {
            "md5": self.md5,
            "size": self.size,
            "nfiles": self.nfiles,
            "path": self.path,
            "hash": self.hash,
        }
        found.update({k: v for k, v in self.other.items() if k in ("etag", "checksum", "remote")})
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackedFile:
    """A ``.dvc`` file: the data it tracks, and where a ``dvc import`` took it from."""

    file: str  # relative to the DVC root
    outs: tuple[Output, ...]
    sources: tuple[Mapping[str, Any], ...] = ()  # its ``deps``: ``{path, repo: {url, …}}``


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    """One executed stage: a ``dvc.lock`` entry, with its ``dvc.yaml`` description."""

    name: str  # as DVC names it: ``train``, ``build@us``, ``sub/dvc.yaml:train``
    file: str  # the dvc.lock, relative to the DVC root
    cmd: str | list[str]
    deps: tuple[Output, ...]
    outs: tuple[Output, ...]
    params: Mapping[str, Any]
    entry_md5: str  # md5 of its lock entry: the same entry is the same execution
    desc: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    root: Path
    tracked: tuple[TrackedFile, ...]
    stages: tuple[Stage, ...]
    #: ``dvc.yaml`` ``artifacts`` by path: ``{"name", "type", "desc", "labels"}``
    declared: Mapping[str, Mapping[str, Any]]
    unrun: tuple[str, ...]  # stages of a dvc.yaml with no lock entry (never run)
    caches: tuple[Path, ...]  # where DVC keeps objects (the default, and any configured)


def read_project(path: Path) -> Project:
    """Read the DVC project rooted at ``path`` (where ``dvc init`` ran)."""
    root = path.expanduser().resolve()
    if not root.exists():
        raise NotFound(f"no such folder: {path}", hint="pass the root of a DVC repository")
    if not (root / ".dvc").is_dir():
        raise InvalidInput(
            f"{path} is not a DVC repository: it has no .dvc/ folder",
            hint="pass the folder where `dvc init` ran (the repository's root)",
        )
    tracked: list[TrackedFile] = []
    stages: list[Stage] = []
    declared: dict[str, Mapping[str, Any]] = {}
    unrun: list[str] = []
    held: set[str] = set()  # folders DVC outs hold: data, not more DVC files
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        rel = "" if rel == "." else rel
        if "dvc.yaml" in files or "dvc.lock" in files:
            found, waiting, artifacts = _read_pipeline(root, rel)
            stages += found
            unrun += waiting
            declared.update(artifacts)
            held.update(o.path for s in found for o in s.outs if o.inside)
        for name in sorted(files):
            if name.endswith(".dvc") and (Path(folder) / name).is_file():
                one = _read_tracked(root, _join(rel, name))
                tracked.append(one)
                held.update(o.path for o in one.outs if o.inside)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIPPED and not d.startswith(".") and _join(rel, d) not in held
        )
    return Project(
        root=root,
        tracked=tuple(tracked),
        stages=tuple(stages),
        declared=declared,
        unrun=tuple(unrun),
        caches=_caches(root),
    )


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _load(root: Path, rel: str) -> Any:
    try:
        text = (root / rel).read_text(encoding="utf-8")
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (libyaml's)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise _malformed(rel, f"{problem}{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {rel}: {exc}", hint="make it readable (a UTF-8 text file)"
        ) from None


def _malformed(rel: str, problem: str) -> InvalidInput:
    base = posixpath.basename(rel)
    fix = (
        f"restore it (`git checkout -- {rel}`) or let DVC write it again (`dvc repro`)"
        if base in ("dvc.lock", "dvc.yaml")
        else f"restore it (`git checkout -- {rel}`) or track the data again (`dvc add`)"
    )
    return InvalidInput(f"malformed {rel}: {problem}", hint=fix)


def _read_tracked(root: Path, rel: str) -> TrackedFile:
    body = _load(root, rel)
    if not isinstance(body, dict) or not isinstance(body.get("outs"), list):
        raise _malformed(rel, "expected a mapping with a list of outs")
    folder = posixpath.dirname(rel)
    wdir = body.get("wdir")
    base = _norm(folder, wdir) if isinstance(wdir, str) else folder
    outs = tuple(_output(rel, f"out #{i + 1}", one, base) for i, one in enumerate(body["outs"]))
    deps = body.get("deps")
    sources = (
        tuple(_masked(_clean(d)) for d in deps if isinstance(d, dict))
        if isinstance(deps, list)
        else ()
    )
    return TrackedFile(file=rel, outs=outs, sources=sources)


def _read_pipeline(
    root: Path, folder: str
) -> tuple[list[Stage], list[str], dict[str, Mapping[str, Any]]]:
    yaml_rel, lock_rel = _join(folder, "dvc.yaml"), _join(folder, "dvc.lock")
    declared = _load(root, yaml_rel) if (root / yaml_rel).is_file() else None
    if declared is not None and not isinstance(declared, dict):
        raise _malformed(yaml_rel, "expected a mapping (stages, params, metrics, artifacts…)")
    declared = declared or {}
    found_specs = declared.get("stages")
    specs: dict[str, Any] = found_specs if isinstance(found_specs, dict) else {}
    lock = _load(root, lock_rel) if (root / lock_rel).is_file() else None
    entries = _lock_entries(lock_rel, lock) if lock is not None else {}
    prefix = "" if not folder else f"{folder}/dvc.yaml:"
    stages = []
    for name, entry in entries.items():
        spec = _spec(specs, name)
        wdir = spec.get("wdir")
        base = _norm(folder, wdir) if isinstance(wdir, str) and "${" not in wdir else folder
        stages.append(_stage(lock_rel, prefix + name, name, entry, base, spec))
    waiting = [prefix + str(n) for n in specs if not any(_base(k) == n for k in entries)]
    artifacts: dict[str, Mapping[str, Any]] = {}
    found_artifacts = declared.get("artifacts")
    listed = found_artifacts if isinstance(found_artifacts, dict) else {}
    for name, item in listed.items():
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            artifacts[_norm(folder, item["path"])] = {"name": str(name), **_clean(item)}
    return stages, waiting, artifacts


def _lock_entries(rel: str, lock: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(lock, dict):
        raise _malformed(rel, "expected a mapping with `schema` and `stages`")
    if "stages" in lock or "schema" in lock:
        if str(lock.get("schema")) != "2.0":
            raise _malformed(rel, f"unknown schema {lock.get('schema')!r} (expected '2.0')")
        entries = lock.get("stages")
    else:
        entries = lock  # DVC 1: one key per stage
    if not isinstance(entries, dict):
        raise _malformed(rel, "`stages` must map each stage's name to its entry")
    for name, entry in entries.items():
        if not isinstance(name, str) or not isinstance(entry, dict) or "cmd" not in entry:
            raise _malformed(rel, f"stage {name!r} must be a mapping with a cmd")
    return entries


def _base(name: str) -> str:
    return name.partition("@")[0]


def _spec(specs: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = specs.get(name) or specs.get(_base(name)) or {}
    if not isinstance(spec, dict):
        return {}
    do = spec.get("do")  # foreach / matrix: the stage's template
    return do if isinstance(do, dict) else spec


def _stage(
    lock_rel: str, name: str, key: str, entry: dict[str, Any], base: str, spec: Mapping[str, Any]
) -> Stage:
    cmd = entry["cmd"]
    if not (
        isinstance(cmd, str) or (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd))
    ):
        raise _malformed(lock_rel, f"stage {key!r}: cmd must be a string or a list of strings")
    lists = {}
    for part in ("deps", "outs"):
        items = entry.get(part) or []
        if not isinstance(items, list):
            raise _malformed(lock_rel, f"stage {key!r}: {part} must be a list")
        lists[part] = tuple(
            _output(lock_rel, f"stage {key!r} {part[:-1]} #{i + 1}", one, base)
            for i, one in enumerate(items)
        )
    params = entry.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise _malformed(lock_rel, f"stage {key!r}: params must map each file to its values")
    flat: dict[str, Any] = {}
    for file, values in params.items():
        prefix = "" if file == DEFAULT_PARAMS else f"{file}:"
        _flatten(values, prefix, flat)
    encoded = json.dumps({key: entry}, sort_keys=True, default=str).encode()
    desc = spec.get("desc")
    return Stage(
        name=name,
        file=lock_rel,
        cmd=cmd,
        deps=lists["deps"],
        outs=lists["outs"],
        params=flat,
        entry_md5=hashlib.md5(encoded, usedforsecurity=False).hexdigest(),
        desc=desc if isinstance(desc, str) else None,
    )


def _output(rel: str, what: str, item: Any, base: str) -> Output:
    if not isinstance(item, dict) or not isinstance(item.get("path"), str) or not item["path"]:
        raise _malformed(rel, f"{what} must be a mapping with a path")
    md5, size, nfiles = item.get("md5"), item.get("size"), item.get("nfiles")
    if md5 is not None and not isinstance(md5, str):
        raise _malformed(rel, f"{what}: md5 must be a string")
    for label, number in (("size", size), ("nfiles", nfiles)):
        if number is not None and (not isinstance(number, int) or number < 0):
            raise _malformed(rel, f"{what}: {label} must be a non-negative integer")
    raw = item["path"]
    inside = "://" not in raw and not posixpath.isabs(raw)
    path = _norm(base, raw) if inside else mask_url(raw)  # a URL's credentials stay out
    inside = inside and not (path == ".." or path.startswith("../"))
    keep = ("path", "md5", "size", "nfiles", "hash")
    return Output(
        path=path,
        md5=md5,
        size=size,
        nfiles=nfiles,
        hash=item["hash"] if isinstance(item.get("hash"), str) else None,
        other={k: _clean(v) for k, v in item.items() if k not in keep},
        inside=inside,
    )


def _norm(folder: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(folder, path.replace("\\", "/")))


def _flatten(values: Mapping[Any, Any], prefix: str, into: dict[str, Any]) -> None:
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            _flatten(value, f"{name}.", into)
        else:
            into[name] = _clean(value)


def _clean(value: Any) -> Any:
    """YAML values as canonical JSON holds them: dates and non-finite floats become text."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _masked(value: Any) -> Any:
    """``value`` with credentials in its URLs hidden (where a `dvc import` took data from)."""
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return mask_url(value) if isinstance(value, str) else value


def _caches(root: Path) -> tuple[Path, ...]:
    """The default cache, and the one `.dvc/config` (or config.local) names, if any."""
    import configparser

    found = [root / ".dvc" / "cache"]
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read(root / ".dvc" / name, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        folder = parser.get("cache", "dir", fallback=None)
        if folder:
            place = (root / ".dvc" / folder).resolve()
            if place not in found:
                found.insert(0, place)
    return tuple(found)
