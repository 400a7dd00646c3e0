"""A live `lineal server` for the MLflow API tests: its default project, a named one and one
with tokens.

Imported by tests/interop/test_mlflow_api*.py, whose ``site`` fixtures yield from ``serve``
(no conftest: several suites share tests/interop/).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.store.registry import create_project, open_project, open_store
from server_process import start_server, stop

#: The server's default project (`--project`) and one reached by name.
DEFAULT, NAMED, LOCKED = "tracked", "named", "locked"
#: The mlflow client reports to its makers unless told not to; tests send nothing away.
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


@dataclass(frozen=True)
class Site:
    base: str  # the server's store URI
    url: str  # http://127.0.0.1:PORT
    viewer: str  # a viewer token of project LOCKED
    contributor: str  # a contributor token of project LOCKED

    def tracking(self, project: str | None = None) -> str:
        """The MLFLOW_TRACKING_URI of ``project`` (None: the server's default one)."""
        return self.url if project is None else f"{self.url}/api/v1/projects/{project}/mlflow"

    def repo(self, project: str = DEFAULT) -> Lineal:
        """The project read through the server, as `lineal show` reads it."""
        return Lineal(open_store(f"{self.url}/projects/{project}", None))


def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server over three fresh projects (each test module's ``site`` fixture yields from it)."""
    os.environ.update(QUIET)
    folder: Path = tmp_path_factory.mktemp("mlflow-api")
    base = f"sqlite:///{folder / 'projects'}"
    for name in (DEFAULT, NAMED, LOCKED):
        create_project(base, name)
    locked = open_project(base, LOCKED)
    viewer = locked.issue_token("viewer-bot", "viewer", "30d").token
    contributor = locked.issue_token("trainer", "contributor", "30d").token
    locked.close()
    proc, url = start_server(base, folder, args=["--project", DEFAULT], env=QUIET)
    try:
        yield Site(base, url, viewer, contributor)
    finally:
        stop(proc)
