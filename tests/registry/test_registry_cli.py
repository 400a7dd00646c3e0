"""The registry from the command line: refusals listing every failing check, policy check
alone and --all, model show's upstream summary, bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from registry_helpers import approve_as, dataset, train, write_policy

from lineal.client import Lineal

if TYPE_CHECKING:
    from conftest import Cli


def test_refusal_policy_check_and_show(repo: Lineal, ws: Path, lineal_cli: Cli) -> None:
    write_policy(ws)
    data = dataset(repo, ws, "train", license="CC-BY-NC-4.0", source=None)
    holdout = dataset(repo, ws, "holdout", alias="eval-approved")
    ref = train(repo, ws, data, holdout, score=0.5).ref
    refused = lineal_cli(
        "model", "promote", "det@v1", "--to", "production", "--reason", "x", cwd=ws
    )
    assert refused.returncode == 1
    for check in ("metric mAP", "licenses", "lineage complete", "approvers lead"):
        assert f"FAIL  {check}" in refused.stderr
    assert "pass  schema match" in refused.stderr
    assert "fix:" in refused.stderr
    assert "Traceback" not in refused.stderr
    checked = lineal_cli("policy", "check", "det@v1", "--alias", "production", "--json", cwd=ws)
    assert checked.returncode == 1
    (body,) = json.loads(checked.stdout)
    assert body["passed"] is False
    assert body["ref"] == ref
    # nothing aliased yet: --all finds nothing to violate
    assert lineal_cli("policy", "check", "--all", cwd=ws).returncode == 0
    approve_as(repo, ws, "bob", ref)
    forced = lineal_cli(
        "model", "promote", "det@v1", "--to", "production", "--reason", "incident 7",
        "--override", cwd=ws,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    every = lineal_cli("policy", "check", "--all", cwd=ws)
    assert every.returncode == 1
    assert f"{ref} VIOLATES policy 'production'" in every.stdout
    shown = json.loads(lineal_cli("model", "show", "det:production", "--json", cwd=ws).stdout)
    assert shown["aliases"] == {"production": ref}
    licences = {d["ref"]: d["license"] for d in shown["upstream"]["datasets"]}
    assert licences == {"dataset/train@v1": "CC-BY-NC-4.0", "dataset/holdout@v1": "MIT"}
    assert [s["ref"] for s in shown["upstream"]["schemas"]]
    assert shown["evaluations"][0]["metrics"] == {"mAP": 0.5}
    text = lineal_cli("model", "show", "det", cwd=ws).stdout
    assert "license CC-BY-NC-4.0" in text


def test_bad_input_is_one_line(ws: Path, lineal_cli: Cli) -> None:
    (ws / "lineal.toml").write_text("[policy.production]\nmetrics = { mAP = 3 }\n")
    (ws / "m.pt").write_text("m")
    done = lineal_cli("model", "register", "m.pt", "--name", "det", cwd=ws)
    assert done.returncode == 0, done.stderr
    bad = lineal_cli("policy", "apply", cwd=ws)  # a bad file is never recorded
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")
    assert "metrics.mAP: expected a table" in bad.stderr
    (ws / "lineal.toml").unlink()
    for args, words in (
        (("model", "register", "missing.pt", "--name", "det"), "no such file"),
        (("model", "show", "dataset/x"), "bad model reference"),
        (("model", "promote", "det@v9", "--to", "staging", "--reason", "r"), "latest is model/det"),
        (("model", "promote", "det@v1", "--to", "v2", "--reason", "r"), "reserved"),
    ):
        result = lineal_cli(*args, cwd=ws)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: ")
        assert words in result.stderr.splitlines()[0]
        assert "Traceback" not in result.stderr


def test_tag_sets_and_removes_tags_in_one_go(repo: Lineal, ws: Path, lineal_cli: Cli) -> None:
    data = dataset(repo, ws, "train", license=None, source=None)
    done = lineal_cli("tag", "dataset/train", "license=MIT", "source=https://x.org", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert f"{data.ref}: license = MIT" in done.stdout
    shown = json.loads(lineal_cli("show", "dataset/train", "--json", cwd=ws).stdout)
    assert shown["tags"] == {"license": "MIT", "source": "https://x.org"}
    assert lineal_cli("tag", "dataset/train", "--unset", "source", cwd=ws).returncode == 0
    shown = json.loads(lineal_cli("show", "dataset/train", "--json", cwd=ws).stdout)
    assert shown["tags"] == {"license": "MIT"}
    for bad in (["dataset/train", "license"], ["dataset/train"], ["dataset/nope", "a=b"]):
        wrong = lineal_cli("tag", *bad, cwd=ws)
        assert wrong.returncode != 0
        assert len(wrong.stderr.strip().splitlines()) <= 2  # the error and its hint
        assert "Traceback" not in wrong.stderr
