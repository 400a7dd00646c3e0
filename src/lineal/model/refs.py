"""References: the one spelling of "which artifact or run" used by the SDK, CLI, API and UI.

Pure parsing and formatting; never looks anything up (resolving a ref is the store's job).

    dataset/coco-synth                  latest version of a named artifact
    dataset/coco-synth@v3               version 3
    dataset/coco-synth@sha256:9f2c1a0b  by digest (any unique prefix of >= 8 hex chars)
    model/detector:production           by alias
    run/01JD3XQ4M5N6P7Q8R9S0T1V2W3      a run (its ULID)
    sha256:9f2c1a0b                     any artifact, by digest prefix
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineal.errors import InvalidInput

#: Artifact kinds (ARCHITECTURE.md §1). ``run`` is the one non-artifact kind.
ARTIFACT_KINDS = (
    "code",
    "config",
    "dataset",
    "env",
    "file",
    "model",
    "report",
    "scene",
    "schema",
)
KINDS = (*ARTIFACT_KINDS, "run")

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
ULID_PATTERN = r"[0-9A-HJKMNP-TV-Z]{26}"
_NAME = re.compile(NAME_PATTERN)
_ULID = re.compile(ULID_PATTERN)
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_VERSION = re.compile(r"v([1-9][0-9]{0,17})")
_DIGEST_PREFIX = re.compile(r"sha256:([0-9a-f]{8,64})")
_EXPECTED = (
    "expected KIND/NAME, KIND/NAME@vN, KIND/NAME@sha256:HEX, KIND/NAME:ALIAS, run/ULID "
    "or sha256:HEX"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ref:
    """A parsed reference; ``str(ref)`` gives back exactly the text it was parsed from."""

    kind: str | None
    name: str | None = None
    version: int | None = None
    digest: str | None = None  # "sha256:" + a prefix of >= 8 hex characters
    alias: str | None = None

    def __post_init__(self) -> None:
        # Re-parse our own spelling: one place holds the grammar, and a Ref built by hand
        # can never be one that parse() would refuse.
        if parse(str(self)) != self:
            raise InvalidInput(f"inconsistent reference fields: {self!r}")

    @property
    def is_run(self) -> bool:
        return self.kind == "run"

    def __str__(self) -> str:
        if self.kind is None:
            return self.digest or ""
        text = f"{self.kind}/{self.name}"
        if self.version is not None:
            return f"{text}@v{self.version}"
        if self.digest is not None:
            return f"{text}@{self.digest}"
        if self.alias is not None:
            return f"{text}:{self.alias}"
        return text


def _fail(text: str, reason: str | None = None) -> InvalidInput:
    detail = f" ({reason})" if reason else ""
    return InvalidInput(
        f"bad reference {text!r}{detail}: {_EXPECTED}",
        hint=f"kinds: {', '.join(KINDS)}",
    )


def _build(**fields: object) -> Ref:
    ref = object.__new__(Ref)  # skip __post_init__: parse() is the validator
    for key in ("kind", "name", "version", "digest", "alias"):
        object.__setattr__(ref, key, fields.get(key))
    return ref


def parse(text: str) -> Ref:
    """Parse a reference, or raise one InvalidInput saying what was expected."""
    if not isinstance(text, str):
        raise _fail(repr(text), "not a string")
    if text.startswith("sha256:"):
        if not _DIGEST_PREFIX.fullmatch(text):
            raise _fail(text, "a digest needs 8 to 64 lowercase hex characters")
        return _build(kind=None, digest=text)
    kind, slash, rest = text.partition("/")
    if not slash:
        raise _fail(text, "no KIND/ prefix")
    if kind not in KINDS:
        import difflib  # only to suggest a fix for a typo

        close = difflib.get_close_matches(kind, KINDS, n=1)
        reason = f"unknown kind {kind!r}" + (f", did you mean {close[0]!r}?" if close else "")
        raise _fail(text, reason)
    if kind == "run":
        if not _ULID.fullmatch(rest):
            raise _fail(text, "a run id is a 26-character upper-case ULID")
        return _build(kind=kind, name=rest)
    return _parse_named(text, kind, rest)


def _parse_named(text: str, kind: str, rest: str) -> Ref:
    name, at, selector = rest.partition("@")
    if not at:
        name, colon, alias = rest.partition(":")
        if colon and not _ALIAS.fullmatch(alias):
            raise _fail(text, f"bad alias {alias!r}")
    if not _NAME.fullmatch(name):
        raise _fail(text, f"bad name {name!r}")
    if not at:
        return _build(kind=kind, name=name, alias=alias if colon else None)
    if match := _VERSION.fullmatch(selector):
        return _build(kind=kind, name=name, version=int(match.group(1)))
    if _DIGEST_PREFIX.fullmatch(selector):
        return _build(kind=kind, name=name, digest=selector)
    raise _fail(text, f"bad selector @{selector}: use @vN or @sha256:HEX")
