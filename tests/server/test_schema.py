"""A schemathesis run over /api/v1/openapi.json against the live server: no 500, every answer
as the schema documents it (status, content type, body), invalid requests refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from live_server import PROJECT, Served

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)


def test_the_api_keeps_its_schema(served: Served, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.project" = "{PROJECT}"\n')
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(config),
            "run",
            f"{served.url}/api/v1/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            "20",
            "--request-timeout",
            "10",
            "--phases",
            "coverage,fuzzing",
            "--seed",
            "1",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "43 passed" in done.stdout  # every operation was tested
    # the project parameter reached the project: only reads of unknown ids answer 404
    assert "store/head" not in done.stdout
    assert "store/records" not in done.stdout
