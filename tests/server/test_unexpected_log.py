"""An unexpected failure of an endpoint: a 500 with the JSON body for the client, and the
traceback in the server's log for whoever runs it (not "NoneType: None": the handler is not
inside an except block, so it must hand the exception to the log itself)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineal.server.app import create_app


def test_an_unexpected_error_is_a_500_and_its_traceback_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(f"sqlite:///{tmp_path / 'projects'}", str(tmp_path / "objects"))

    def broken() -> None:
        raise RuntimeError("a defect deep in some service")

    app.add_api_route("/broken", broken)
    with (
        caplog.at_level(logging.ERROR, logger="lineal.server"),
        TestClient(app, raise_server_exceptions=False) as client,
    ):
        answer = client.get("/broken")
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal server error (RuntimeError)"
    assert "a defect deep in some service" not in answer.text  # details stay in the log
    failed = [r for r in caplog.records if "GET /broken failed" in r.getMessage()]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    assert "a defect deep in some service" in caplog.text
    assert "RuntimeError" in caplog.text
