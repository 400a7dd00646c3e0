"""A real `lineal server` for the MLflow registry tests: a project ``default`` (the server's
default project) whose promotion policy protects ``production`` and ``champion``, and a
workspace recording into it through the HTTP store, for runs made with lineal's own SDK.

Kills only the server process it started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.grants import PolicyApply
from lineal.model.ops import AgentRegister
from lineal.store.registry import create_project, open_store, project_uri
from server_process import start_server, stop

PROJECT = "default"
OTHER = "second"
#: A project with tokens: every request needs one.
CLOSED = "closed"
PROTECTED = ("production", "champion")


@dataclass(frozen=True)
class Registry:
    url: str  # http://127.0.0.1:PORT: MLflow's tracking URI for the default project
    base: str  # the server's store URI
    workspace: Path  # a lineal workspace recording into the default project
    tokens: dict[str, str]  # role -> a token of project CLOSED with that role

    def mlflow_uri(self, project: str) -> str:
        """MLflow's tracking URI of a project a path names."""
        return f"{self.url}/api/v1/projects/{project}/mlflow"

    def open(self) -> Lineal:
        return Lineal.open(path=self.workspace)


def _protect(base: str, name: str, roles: tuple[str, ...] = ()) -> dict[str, str]:
    """Make project ``name`` with ``alice`` as its first agent (admin) and the policy; a
    token of each of ``roles`` (which closes the project)."""
    create_project(base, name)
    signer = Signer.generate("alice")
    store = open_store(project_uri(base, name), signer)
    try:
        store.append(AgentRegister(name="alice", public_key=signer.public_key))
        store.append(PolicyApply(protected=PROTECTED))
        return {role: store.issue_token(role, role, "1d").token for role in roles}
    finally:
        store.close()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("mlflow-registry")
    base = f"sqlite:///{folder / 'projects'}"
    _protect(base, PROJECT)
    _protect(base, OTHER)
    tokens = _protect(base, CLOSED, ("viewer", "contributor"))
    proc, url = start_server(base, folder, args=("--project", PROJECT))
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("LINEAL_SPOOL", str(folder / "spool"))
            env.setenv("LINEAL_WRITE_WAIT", "300")
            ws = folder / "ws"
            ws.mkdir()
            lineal.init(ws, agent="tester", uri=f"{url}/projects/{PROJECT}")
            yield Registry(url=url, base=base, workspace=ws, tokens=tokens)
    finally:
        stop(proc)
