"""`lineal export intoto`: a model version's SLSA Provenance v1 as an in-toto Statement v1, in a
DSSE envelope signed with the workspace agent's ed25519 key.

The subject is the model (and its files); the predicate is the run that generated it. Reads
through the registry service; never writes, never prints, never signs with a key it was not given.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import lineal
from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.interop.extras import require
from lineal.ledger.keys import Signer
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.registry.provenance import Input, ModelProvenance, command_of, model_provenance

#: ``dsse``: the signed envelope (what verifiers take); ``statement``: the bare, unsigned JSON.
FLAVORS: tuple[str, ...] = ("dsse", "statement")

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: What a lineal run is as a build: its parameters, inputs and environment as recorded.
BUILD_TYPE = "https://lineal.dev/run/v1"
#: lineal references as URIs: ``lineal:dataset/x@v2``, ``lineal:run/ULID``, ``lineal:agent/N``.
URI_SCHEME = "lineal:"


def _digest(digest: str) -> dict[str, str]:
    algorithm, _, value = digest.partition(":")
    return {algorithm: value}


def _descriptor(item: Input) -> dict[str, Any]:
    artifact = item.artifact
    found: dict[str, Any] = {
        "name": item.ref,
        "uri": URI_SCHEME + item.ref,
        "digest": _digest(artifact.digest),
    }
    annotations: dict[str, Any] = {"lineal_kind": artifact.kind}
    if item.role is not None:
        annotations["lineal_role"] = item.role
    if artifact.kind == "code":
        if isinstance(commit := artifact.meta.get("commit"), str):
            found["digest"]["gitCommit"] = commit
        if artifact.meta.get("diff"):
            annotations["lineal_uncommitted_changes"] = artifact.meta["diff"]
    elif artifact.kind == "env":
        python = artifact.meta.get("python") or {}
        annotations["lineal_python"] = python.get("version")
        annotations["lineal_packages"] = len(artifact.meta.get("packages") or {})
    if artifact.uri:
        found["downloadLocation"] = artifact.uri
    found["annotations"] = annotations
    return found


def _subjects(provenance: ModelProvenance) -> list[dict[str, Any]]:
    subjects = [
        {
            "name": provenance.ref,
            "uri": URI_SCHEME + provenance.ref,
            "digest": _digest(provenance.model.digest),
        }
    ]
    subjects += [
        {"name": entry.path, "digest": _digest(entry.digest)} for entry in provenance.files
    ]
    return subjects


def _internal(run: Run, environments: tuple[Artifact, ...]) -> dict[str, Any]:
    """What the builder chose rather than the user: where and on what the run ran."""
    internal: dict[str, Any] = {}
    context = run.meta.get("context")
    if isinstance(context, Mapping):  # the pid is one process's, not a fact of the build
        internal["context"] = {k: v for k, v in context.items() if k not in ("pid", "argv")}
    if "hardware" in run.meta:
        internal["hardware"] = run.meta["hardware"]
    if "code" in run.meta:
        internal["code"] = run.meta["code"]
    if environments:
        internal["environment"] = dict(environments[0].meta)
    return internal


def _byproducts(run: Run) -> list[dict[str, Any]]:
    """The run's metrics summary (latest value of each), inline as JSON."""
    metrics = {key: run.metrics[key] for key in sorted(run.metrics)}
    if not metrics:
        return []
    content = canonical.encode(metrics)
    return [
        {
            "name": "metrics",
            "uri": f"{URI_SCHEME}{run.ref}#metrics",
            "digest": _digest(digest_bytes(content)),
            "mediaType": "application/json",
            "content": base64.b64encode(content).decode("ascii"),
            "annotations": metrics,
        }
    ]


def statement(repo: Lineal, ref: str) -> dict[str, Any]:
    """The in-toto Statement (SLSA Provenance v1) of the model version ``ref``."""
    provenance = model_provenance(repo, ref)
    run = provenance.require_run()
    external: dict[str, Any] = {"name": run.name, "params": dict(run.params)}
    if (command := command_of(provenance, run)) is not None:
        external["command"] = command
    if run.meta.get("seed") is not None:
        external["seed"] = run.meta["seed"]
    metadata: dict[str, Any] = {"invocationId": run.id}
    if run.started:
        metadata["startedOn"] = run.started
    if run.ended:
        metadata["finishedOn"] = run.ended
    metadata["lineal_status"] = run.status
    builder = f"{URI_SCHEME}agent/{run.author}" if run.author else f"{URI_SCHEME}{run.ref}"
    return {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(provenance),
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": _internal(run, provenance.environments),
                "resolvedDependencies": [_descriptor(item) for item in provenance.inputs],
            },
            "runDetails": {
                "builder": {"id": builder, "version": {"lineal": lineal.__version__}},
                "metadata": metadata,
                "byproducts": _byproducts(run),
            },
        },
    }


def envelope(payload: bytes, signer: Signer) -> dict[str, Any]:
    """``payload`` in a DSSE envelope signed by ``signer``; keyid = lineal's key id."""
    sslib = require("securesystemslib.signer", "interop")
    dsse = require("securesystemslib.dsse", "interop")
    key = sslib.SSlibKey(signer.key_id, "ed25519", "ed25519", {"public": signer.public_key})
    wrapped = dsse.Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    wrapped.sign(sslib.CryptoSigner(signer.private_key, key))
    document: dict[str, Any] = wrapped.to_dict()
    return document


def _json(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _compact(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def export(repo: Lineal, ref: str, *, flavor: str) -> bytes:
    """The Statement of ``ref`` signed in a DSSE envelope (``dsse``), or bare (``statement``)."""
    if flavor not in FLAVORS:
        raise InvalidInput(f"intoto has no variant {flavor!r}", hint=f"use one of {FLAVORS}")
    found = statement(repo, ref)
    if flavor == "statement":
        return _json(found)
    signer = repo.store.signer
    if signer is None:
        raise InvalidInput(
            "no signing key: a DSSE envelope must be signed by this workspace's agent",
            hint="run `lineal init` (or `lineal agent add NAME`), or use --as statement",
        )
    # One line: envelopes append to an `.intoto.jsonl` bundle as they are.
    signed = envelope(_compact(found), signer)
    return _compact(signed) + b"\n"
