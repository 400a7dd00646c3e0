"""Both exports of a model recorded through a team server (the HTTP store): the same reads, the
same signed envelope and valid BOM, nothing of them needing SQL."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from intoto_cyclonedx_support import lineal_cli, make_model
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from lineal.store.registry import create_project


def test_exports_of_a_model_recorded_through_a_server(
    lineal_server: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, url = lineal_server
    project = f"x{uuid.uuid4().hex[:12]}"
    create_project(base, project)
    env = {"LINEAL_SPOOL": str(tmp_path / "spool"), "LINEAL_WRITE_WAIT": "300"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "ws"
    root.mkdir()
    made = make_model(root, uri=f"{url}/projects/{project}", env=env)

    signed = json.loads(lineal_cli(root, "export", "intoto", "model/clf", env=env).stdout)
    public = lineal_cli(root, "agent", "key", "tester", env=env).stdout.split()[-1]
    keyid = hashlib.sha256(bytes.fromhex(public)).hexdigest()[:16]
    key = SSlibKey(keyid, "ed25519", "ed25519", {"public": public})
    assert list(Envelope.from_dict(signed).verify([key], 1)) == [keyid]
    statement = json.loads(base64.b64decode(signed["payload"]))
    assert "sha256:" + statement["subject"][0]["digest"]["sha256"] == made.model["digest"]
    resolved = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"dataset/clean@v1", "dataset/holdout@v1"} <= {d["name"] for d in resolved}

    out = root / "clf.cdx.json"
    lineal_cli(root, "export", "cyclonedx", "model/clf", "-o", str(out), env=env)
    bom = json.loads(out.read_text())
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    data = {c["bom-ref"] for c in bom["components"] if c["type"] == "data"}
    assert data == {"dataset/raw@v1", "dataset/clean@v1", "dataset/holdout@v1"}
