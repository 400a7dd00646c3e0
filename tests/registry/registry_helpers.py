"""Building registry scenarios: a policy, licensed and labelled datasets, training runs,
evaluation runs and a second agent who approves."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from lineal.client import Lineal
from lineal.datasets import add
from lineal.ledger.keys import Signer, save_signer
from lineal.model.entities import Artifact
from lineal.model.ops import AgentRegister
from lineal.registry.grants import apply, grant
from lineal.registry.promote import approve
from lineal.tracking.runs import start
from lineal.workspace import Workspace
from shared_data import SHARED_DATA, require_shared_data

KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"

POLICY = """
[roles]
admin = ["tester"]
lead = ["bob"]

[registry]
protected = ["production", "staging"]

[policy.production]
eval_alias = "eval-approved"
metrics = { mAP = { min = 0.8 } }
licenses = { allow = ["MIT", "CC-BY-*", "Apache-2.0"], deny = ["CC-BY-NC-*"] }
schema_match = true
lineage_complete = true
approvers = { lead = 1 }
"""


def write_policy(ws: Path, text: str = POLICY) -> None:
    """Write ``text`` as `lineal.toml` and apply its policies to the ledger as ``tester`` (the
    store's first agent, so its admin). Its ``[roles]`` count once granted (see as_agent)."""
    (ws / "lineal.toml").write_text(text)
    with Lineal.open(path=ws) as repo:
        apply(repo)


def _file_roles(ws: Path, name: str) -> list[str]:
    path = ws / "lineal.toml"
    roles = tomllib.loads(path.read_text()).get("roles", {}) if path.is_file() else {}
    return sorted(role for role, members in roles.items() if name in members)


def dataset(
    repo: Lineal,
    ws: Path,
    name: str,
    *,
    license: str | None = "MIT",
    source: str | None = "https://example.org/data",
    rename: tuple[str, str] | None = None,
    alias: str | None = None,
) -> Artifact:
    """A KITTI-labelled dataset (``rename``: one class renamed, so another schema)."""
    require_shared_data()
    target = ws / name
    shutil.copytree(KITTI, target)
    (target / "README").write_text(name)  # every dataset its own content
    if rename is not None:
        for label in (target / "training/label_2").glob("*.txt"):
            label.write_text(label.read_text().replace(*rename))
    found = add(repo, [target], name=name, license=license, source=source).artifact
    if alias is not None:
        repo.set_alias(found.ref, alias)
    return found


def code_artifact(repo: Lineal) -> Artifact:
    return repo.record_artifact("code", data=b'{"commit":"0123abc"}', meta={"commit": "0123abc"})


def train(
    repo: Lineal,
    ws: Path,
    data: Artifact,
    holdout: Artifact,
    *,
    score: float = 0.9,
    code: bool = True,
    content: str = "weights",
) -> Artifact:
    """A training run on ``data`` that evaluates on ``holdout``; its model becomes the next
    version of model/det."""
    run = start(repo, "train", capture_env=True)
    if code:
        repo.link("used", code_artifact(repo), run.ref, role="code")
    run.use(data, role="train")
    run.use(holdout, role="eval")
    run.log({"mAP": score}, step=0)
    path = ws / f"{content}.pt"
    path.write_text(content)
    model = run.log_model(path, name=f"det-{content}", register="det")
    run.finish()
    return model


def evaluate(repo: Lineal, model: Artifact, holdout: Artifact, score: float) -> None:
    run = start(repo, "eval", capture_env=True)
    run.use(model, role="model")
    run.use(holdout, role="eval")
    run.log({"mAP": score}, step=0)
    run.finish()


def as_agent(repo: Lineal, ws: Path, name: str) -> Lineal:
    """The workspace's store opened as agent ``name`` (registered on first use, and granted
    the roles `lineal.toml`'s [roles] give it)."""
    keys = ws / ".lineal" / "keys"
    if not (keys / f"{name}.ed25519").exists():
        signer = Signer.generate(name)
        save_signer(keys, signer)
        repo.store.append(AgentRegister(name=name, public_key=signer.public_key))
        for role in _file_roles(ws, name):
            grant(repo, name, role)
    found = Workspace(uri=repo.store.uri, agent=name, keys=keys, root=ws / ".lineal")
    return Lineal(found.open(), found)


def approve_as(repo: Lineal, ws: Path, name: str, ref: str, alias: str = "production") -> None:
    other = as_agent(repo, ws, name)
    try:
        approve(other, ref, alias, f"{name} reviewed the evaluation")
    finally:
        other.close()
