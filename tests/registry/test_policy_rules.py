"""The pure parts of the registry: licence matching, the lineal.toml format, op validation."""

from __future__ import annotations

import pytest

from lineal.errors import InvalidInput
from lineal.model.digests import digest_bytes
from lineal.model.ops import ModelPromote
from lineal.registry.checks import UNKNOWN, _licence_ok
from lineal.settings import Policy, parse

POLICY = Policy(alias="production", licenses=True, allow=("MIT", "CC-BY-*"), deny=("CC-BY-NC-*",))


@pytest.mark.parametrize(
    ("licence", "passed"),
    [
        ("MIT", True),
        ("mit", True),
        ("CC-BY-4.0", True),
        ("CC-BY-NC-4.0", False),  # deny wins over the allow glob
        ("GPL-3.0-only", False),  # not in the allow list
        (UNKNOWN, False),
        ("GPL-3.0-only OR MIT", True),
        ("MIT AND CC-BY-NC-4.0", False),
    ],
)
def test_licence_matching(licence: str, passed: bool) -> None:
    assert _licence_ok(licence, POLICY)[0] is passed


def test_unknown_passes_only_when_allowed() -> None:
    deny_only = Policy(alias="p", licenses=True, deny=("GPL-*",))
    assert _licence_ok("MIT", deny_only)[0] is True
    assert _licence_ok(UNKNOWN, deny_only)[0] is False
    assert _licence_ok(UNKNOWN, Policy(alias="p", licenses=True, allow=(UNKNOWN,)))[0] is True


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"policy": {"production": {"metric": {}}}}, "unknown keys ['metric']"),
        ({"policy": {"production": {"metrics": {"mAP": {"min": "high"}}}}}, "expected a number"),
        ({"policy": {"production": {"approvers": {"lead": 0}}}, "roles": {"lead": ["b"]}}, ">= 1"),
        ({"registry": {"protected": ["v1"]}}, "reserved"),
        ({"roles": {"admin": "alice"}}, "list of strings"),
    ],
)
def test_bad_config_names_the_key(document: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInput, match=r"lineal\.toml") as caught:
        parse(document)
    assert words in str(caught.value)


def test_promote_op_validates_checks_and_override() -> None:
    digest = digest_bytes(b"m")
    passed = {"check": "licenses", "passed": True, "detail": "ok", "fix": None}
    with pytest.raises(InvalidInput, match="needs a failing check"):
        ModelPromote(
            name="d", alias="p", digest=digest, reason="r", checks=(passed,), override=True
        )
    with pytest.raises(InvalidInput, match="bad check"):
        ModelPromote(name="d", alias="p", digest=digest, reason="r", checks=({"check": "x"},))
    with pytest.raises(InvalidInput, match="reason"):
        ModelPromote(name="d", alias="p", digest=digest, reason=" ")
