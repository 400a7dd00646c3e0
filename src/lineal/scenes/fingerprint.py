"""An OpenUSD scene's identity: every layer and asset it composes, hashed, under one Merkle root.

Finds dependencies through pxr's own resolver (imported lazily); never writes to the store.

Location independence: each file is hashed as its bytes, and named by its path relative to the
scene's *base* (the deepest folder holding the root layer and every file it depends on). Asset
paths inside layers are relative in any scene that can be moved, so a copied folder hashes the
same; an absolute asset path inside a layer is reported (``absolute``) because it pins the
scene to one machine. A ``.usdz`` package is hashed as one file: its bytes hold every packaged
layer and texture.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput, MissingExtra
from lineal.model import canonical
from lineal.model.digests import digest_bytes

FORMAT = "lineal.scene/1"
SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")
#: How each file is hashed (and perhaps cached): path → (digest, size).
Hasher = Callable[[Path], tuple[str, int]]


def pxr() -> Any:
    """The pxr package, or MissingExtra naming the extra to install."""
    try:
        import pxr as found
        from pxr import Sdf, Usd, UsdUtils  # noqa: F401 - the submodules this package uses
    except ImportError as exc:
        raise MissingExtra("usd-core (OpenUSD)", "usd") from exc
    return found


@contextmanager
def quiet() -> Iterator[Any]:
    """Collect USD's warnings instead of letting them reach the terminal."""
    from pxr import UsdUtils

    delegate = UsdUtils.CoalescingDiagnosticDelegate()
    try:
        yield delegate
    finally:
        delegate.TakeUncoalescedDiagnostics()


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One file the scene depends on: a ``layer`` or an ``asset`` (texture, other file)."""

    path: str  # relative to the scene's base, POSIX separators
    role: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Arc:
    """A composition arc or asset path a layer authors: ``source`` names ``target``."""

    kind: str  # sublayer, reference, payload, clip, asset; "variant reference", …
    source: str
    target: str  # relative path, or the asset path as written when it could not be resolved
    missing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    root: str  # the root layer, relative to base
    base: Path  # where the files are now: never part of the identity
    entries: tuple[Entry, ...]
    missing: tuple[str, ...]
    arcs: tuple[Arc, ...]
    absolute: tuple[str, ...]  # asset paths written as absolute paths

    def identity(self) -> dict[str, Any]:
        """What the digest covers: the root, every file's path, role and digest, the missing."""
        return {
            "format": FORMAT,
            "root": self.root,
            "files": [[e.path, e.role, e.digest] for e in self.entries],
            "missing": list(self.missing),
        }

    @property
    def digest(self) -> str:
        return digest_bytes(canonical.encode(self.identity()))

    def layers(self) -> list[Entry]:
        return [e for e in self.entries if e.role == "layer"]

    def assets(self) -> list[Entry]:
        return [e for e in self.entries if e.role == "asset"]


def check_path(path: Path) -> Path:
    try:
        found = path.exists()
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(f"bad scene path {path}: {reason}", hint="check the path") from exc
    if not found:
        raise InvalidInput(f"no such scene file: {path}", hint="check the path")
    if not path.is_file():
        raise InvalidInput(
            f"{path} is a folder, not a USD file", hint="pass the scene's root layer (.usd…)"
        )
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidInput(
            f"{path} is not a USD file (expected {', '.join(SUFFIXES)})",
            hint="pass the scene's root layer",
        )
    return path.resolve()


def _file_of(real: str) -> str:
    """The file on disk holding a layer or asset (a package member lives in its package)."""
    return real.split("[", 1)[0] if real.endswith("]") else real


def _problem(delegate: Any, fallback: str) -> str:
    for one in delegate.TakeUncoalescedDiagnostics():
        text = str(one.commentary).strip()
        if text:
            return text.splitlines()[0]
    return fallback


def tf_reason(exc: Exception) -> str:
    """What a USD error says, without the C++ function and line in front of it."""
    text = str(exc)
    said = re.search(r" : '(.+?)'\s*(?:\n|$)", text, re.DOTALL)
    if said is not None:
        return said.group(1).strip().splitlines()[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def open_layer(path: Path, delegate: Any) -> Any:
    from pxr import Sdf, Tf

    try:
        layer = Sdf.Layer.FindOrOpen(str(path))
    except Tf.ErrorException as exc:
        layer, reason = None, tf_reason(exc)
    else:
        reason = _problem(delegate, "not a layer USD can read")
    if layer is None:
        raise InvalidInput(
            f"cannot read {path} as a USD layer: {reason}",
            hint="check that the file is a valid .usda/.usdc/.usdz and not truncated",
        )
    return layer


def _authored(layer: Any) -> Iterator[tuple[str, str]]:
    """(arc kind, asset path) for every arc and asset path ``layer`` authors, in file order."""
    from pxr import Sdf, UsdUtils

    for sub in layer.subLayerPaths:
        yield "sublayer", sub
    typed: set[str] = set()
    found: list[tuple[str, str]] = []

    def visit(path: Any) -> None:
        if not (path.IsPrimPath() or path.IsPrimVariantSelectionPath()):
            return
        spec = layer.GetPrimAtPath(path)
        if spec is None:
            return
        prefix = "variant " if path.ContainsPrimVariantSelection() else ""
        for ref in spec.referenceList.GetAddedOrExplicitItems():
            if ref.assetPath:
                found.append((prefix + "reference", ref.assetPath))
        for load in spec.payloadList.GetAddedOrExplicitItems():
            if load.assetPath:
                found.append((prefix + "payload", load.assetPath))
        if spec.HasInfo("clips"):
            for clip_set in dict(spec.GetInfo("clips")).values():
                for asset in clip_set.get("assetPaths", []):
                    found.append(("clip", asset.path))
                manifest = clip_set.get("manifestAssetPath")
                if manifest is not None and manifest.path:
                    found.append(("clip manifest", manifest.path))

    layer.Traverse(Sdf.Path.absoluteRootPath, visit)
    typed.update(asset for _, asset in found)
    yield from found
    if not layer.anonymous and not layer.realPath.endswith("]"):
        _, references, _ = UsdUtils.ExtractExternalReferences(layer.realPath)
        for asset in references:  # asset-valued attributes: textures and other files
            if asset not in typed:
                yield "asset", asset


def _base(paths: list[str]) -> Path:
    return Path(os.path.commonpath([str(Path(p).parent) for p in paths]))


def fingerprint(path: Path, hasher: Hasher) -> Fingerprint:
    """Discover, hash and name everything ``path``'s scene composes.

    Missing dependencies are listed, not fatal; a dependency that exists but USD cannot read
    is bad input.
    """
    pxr()
    from pxr import Sdf, Tf, UsdUtils

    root = check_path(path)
    with quiet() as delegate:
        root_layer = open_layer(root, delegate)
        try:
            layers, assets, unresolved = UsdUtils.ComputeAllDependencies(Sdf.AssetPath(str(root)))
        except Tf.ErrorException as exc:
            raise InvalidInput(
                f"cannot read the scene {root}: {tf_reason(exc)}",
                hint="fix or replace that layer (a valid .usda/.usdc), then add again",
            ) from exc
        delegate.TakeUncoalescedDiagnostics()
        layer_files = {_file_of(layer.realPath): layer for layer in layers if layer.realPath}
        layer_files.setdefault(str(root), root_layer)
        asset_files = {_file_of(str(a)) for a in assets} - set(layer_files)
        authored = [
            (file, kind, asset, layer.ComputeAbsolutePath(asset))
            for file, layer in layer_files.items()
            for kind, asset in _authored(layer)
        ]
    missing = sorted({str(u) for u in unresolved})
    absolute_missing = [m for m in missing if Path(m).is_absolute()]
    base = _base([*layer_files, *asset_files, *absolute_missing])

    def rel(real: str) -> str:
        return Path(os.path.relpath(real, base)).as_posix()

    for _file, _kind, _asset, target in authored:
        target_file = _file_of(target)
        if (
            Path(target_file).suffix.lower() in SUFFIXES
            and Path(target_file).is_file()
            and target_file not in layer_files
            and target_file not in asset_files
        ):
            with quiet() as delegate:
                open_layer(Path(target_file), delegate)  # raises: it exists, USD cannot read it
    entries = []
    for role, files in (("layer", layer_files), ("asset", asset_files)):
        for file in files:
            try:
                digest, size = hasher(Path(file))
            except OSError as exc:
                raise InvalidInput(
                    f"cannot read {file}: {exc.strerror or exc}",
                    hint="check the file's permissions",
                ) from exc
            entries.append(Entry(path=rel(file), role=role, digest=digest, size=size))
    entries.sort(key=lambda e: (e.path, e.role))
    known = set(layer_files) | asset_files
    arcs = []
    for file, kind, asset, target in authored:
        target_file = _file_of(target)
        resolved = target_file in known
        arcs.append(
            Arc(
                kind=kind,
                source=rel(file),
                target=rel(target_file) if resolved or Path(target_file).is_absolute() else asset,
                missing=not resolved,
            )
        )
    return Fingerprint(
        root=rel(str(root)),
        base=base,
        entries=tuple(entries),
        missing=tuple(rel(m) if Path(m).is_absolute() else m for m in missing),
        arcs=tuple(arcs),
        absolute=tuple(sorted({a for _, _, a, _ in authored if Path(a).is_absolute()})),
    )
