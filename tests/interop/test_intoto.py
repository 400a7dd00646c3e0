"""`lineal export intoto`: SLSA Provenance v1 in an in-toto Statement v1, in a DSSE envelope that
securesystemslib verifies with the agent's ed25519 key (and refuses once tampered with)."""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from intoto_cyclonedx_support import Made, lineal_cli, made_once, show
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.interop import intoto


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return made_once(tmp_path_factory)


@pytest.fixture(scope="module")
def signed(made: Made) -> dict[str, Any]:
    out = made.root / "clf.intoto.json"
    lineal_cli(made.root, "export", "intoto", "model/clf@v1", "-o", str(out))
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def envelope(document: dict[str, Any]) -> Envelope:
    return Envelope.from_dict(copy.deepcopy(document))  # from_dict changes what it is given


def agent_key(made: Made) -> SSlibKey:
    """The agent's public key as `lineal agent key` prints it, as securesystemslib takes it."""
    public = lineal_cli(made.root, "agent", "key", "tester").stdout.split()[0]
    keyid = next(
        key["key_id"]
        for agent in json.loads(lineal_cli(made.root, "agent", "list", "--json").stdout)
        if agent["name"] == "tester"
        for key in agent["keys"]
    )
    return SSlibKey(keyid, "ed25519", "ed25519", {"public": public})


def payload(envelope: dict[str, Any]) -> dict[str, Any]:
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    found: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return found


def test_the_envelope_verifies_with_the_agents_key(made: Made, signed: dict[str, Any]) -> None:
    key = agent_key(made)
    accepted = envelope(signed).verify([key], 1)
    assert list(accepted) == [key.keyid]
    assert [s["keyid"] for s in signed["signatures"]] == [key.keyid]


def test_a_tampered_payload_or_another_key_fails(made: Made, signed: dict[str, Any]) -> None:
    key = agent_key(made)
    statement = payload(signed)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    forged = {**signed, "payload": base64.b64encode(json.dumps(statement).encode()).decode()}
    with pytest.raises(VerificationError):
        envelope(forged).verify([key], 1)
    other = SSlibKey(key.keyid, "ed25519", "ed25519", {"public": "ab" * 32})
    with pytest.raises(VerificationError):
        envelope(signed).verify([other], 1)


def _descriptor_ok(descriptor: dict[str, Any]) -> None:
    """A ResourceDescriptor as in-toto v1 has it: uri, digest or content; lowercase hex."""
    assert set(descriptor) <= {
        "name", "uri", "digest", "content", "downloadLocation", "mediaType", "annotations"
    }  # fmt: skip
    assert {"uri", "digest", "content"} & set(descriptor)
    for algorithm, value in descriptor.get("digest", {}).items():
        assert re.fullmatch(r"[0-9a-f]+", value), (algorithm, value)


def _time(text: str) -> datetime:
    assert text.endswith("Z")  # RFC 3339 in UTC, as SLSA asks
    return datetime.fromisoformat(text)


def test_the_statement_holds_what_slsa_provenance_asks(made: Made, signed: dict[str, Any]) -> None:
    statement = payload(signed)
    assert set(statement) == {"_type", "subject", "predicateType", "predicate"}
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    for subject in statement["subject"]:
        _descriptor_ok(subject)
        assert subject["digest"]  # v1: every subject has a digest
    predicate = statement["predicate"]
    assert set(predicate) == {"buildDefinition", "runDetails"}
    build, details = predicate["buildDefinition"], predicate["runDetails"]
    assert build["buildType"] == "https://lineal.dev/run/v1"
    run = made.train
    assert build["externalParameters"]["params"] == run["params"]
    assert build["externalParameters"]["seed"] == 7
    assert build["externalParameters"]["command"] == ["-c"]  # the argv the SDK captured
    assert build["internalParameters"]["environment"]["packages"]["securesystemslib"]
    assert "pid" not in build["internalParameters"]["context"]
    for descriptor in [*build["resolvedDependencies"], *details["byproducts"]]:
        _descriptor_ok(descriptor)
    assert details["builder"]["id"] == "lineal:agent/tester"
    metadata = details["metadata"]
    assert metadata["invocationId"] == run["id"]
    assert _time(metadata["startedOn"]) <= _time(metadata["finishedOn"])
    assert (metadata["startedOn"], metadata["finishedOn"]) == (run["started"], run["ended"])
    assert metadata["lineal_status"] == "finished"
    (metrics,) = details["byproducts"]
    assert json.loads(base64.b64decode(metrics["content"])) == {"accuracy": 0.875, "loss": 0.5}


def test_the_subject_is_the_model_and_its_files(made: Made, signed: dict[str, Any]) -> None:
    first, *files = payload(signed)["subject"]
    assert first["name"] == "model/clf@v1"
    assert "sha256:" + first["digest"]["sha256"] == made.model["digest"]
    assert {f["name"]: f["digest"]["sha256"] for f in files} == made.files


def test_every_input_of_the_run_is_a_resolved_dependency(
    made: Made, signed: dict[str, Any]
) -> None:
    resolved = payload(signed)["predicate"]["buildDefinition"]["resolvedDependencies"]
    by_name = {d["name"]: d for d in resolved}
    used = [one for one in made.train["upstream"] if one["kind"] == "used"]
    assert {one["ref"] for one in used} == set(by_name)
    assert {one["node_kind"] for one in used} == {"dataset", "model", "code", "env"}
    for one in used:
        descriptor = by_name[one["ref"]]
        assert descriptor["uri"] == "lineal:" + one["ref"]
        assert descriptor["annotations"]["lineal_role"] == one["role"]
        shown = show(made, one["ref"])
        assert "sha256:" + descriptor["digest"]["sha256"] == shown["digest"]
    (code,) = [d for d in resolved if d["annotations"]["lineal_kind"] == "code"]
    assert code["digest"]["gitCommit"] == made.commit
    # The raw data upstream of the clean data is not an input of this run.
    assert "dataset/raw@v1" not in by_name


def test_the_bare_statement_is_the_signed_payload(made: Made, signed: dict[str, Any]) -> None:
    done = lineal_cli(made.root, "export", "intoto", "model/clf", "--as", "statement")
    assert json.loads(done.stdout) == payload(signed)


def test_a_version_registered_from_a_runs_model_has_that_runs_provenance(made: Made) -> None:
    with Lineal.open(path=made.root, write=False) as repo:
        prod = json.loads(intoto.export(repo, "model/prod@v1", flavor="statement"))
    assert prod["subject"][0]["name"] == "model/prod@v1"
    metadata = prod["predicate"]["runDetails"]["metadata"]
    assert metadata["invocationId"] == made.train["id"]


def test_a_model_no_run_made_gets_one_clear_error(made: Made) -> None:
    done = lineal_cli(made.root, "export", "intoto", "model/base", check=False)
    assert done.returncode != 0
    assert "model/base@v1 has no generating run" in done.stderr
    assert "Traceback" not in done.stderr
    assert not done.stdout


def test_signing_needs_a_key_and_a_known_variant(made: Made) -> None:
    with Lineal.open(path=made.root, write=False) as repo:
        with pytest.raises(InvalidInput, match="no signing key"):
            intoto.export(repo, "model/clf", flavor="dsse")
        assert json.loads(intoto.export(repo, "model/clf", flavor="statement"))["subject"]
        with pytest.raises(InvalidInput, match="no variant"):
            intoto.export(repo, "model/clf", flavor="xml")


def test_the_cli_refuses_an_unknown_variant(made: Made, tmp_path: Path) -> None:
    done = lineal_cli(made.root, "export", "intoto", "model/clf", "--as", "xml", check=False)
    assert done.returncode != 0
    assert "use --as one of: dsse, statement" in done.stderr
