"""A clone without ../shared/data: the tests that read it skip and name the folder, CI fails
them instead, and parametrizations over its files still collect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
READS_SAMPLES = TESTS / "labels" / "test_yolo_kitti_extras.py"  # two of its tests read them

PARAMETRIZED = """
import pytest
from shared_data import shared_data_files

@pytest.mark.parametrize("path", shared_data_files("coco/**/*.json"))
def test_each_file(path):
    assert path.is_file()
"""


def pytest_run(*args: str, data: Path, ci: bool, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["LINEAL_TEST_DATA"] = str(data)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    if ci:
        env["CI"] = "true"
    return subprocess.run(  # noqa: PLW1510 - callers check the exit code
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_absent_sample_data_skips_naming_the_folder(tmp_path: Path) -> None:
    absent = tmp_path / "shared" / "data"
    done = pytest_run(str(READS_SAMPLES), data=absent, ci=False, cwd=TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 skipped" in done.stdout
    assert f"needs {absent} (the project's shared sample data beside the repository)" in (
        done.stdout
    )


def test_absent_sample_data_fails_under_ci(tmp_path: Path) -> None:
    absent = tmp_path / "shared" / "data"
    done = pytest_run(str(READS_SAMPLES), data=absent, ci=True, cwd=TESTS.parent)
    assert done.returncode == 1
    assert "2 errors" in done.stdout  # in the fixture, before the test body runs
    assert "CI must run these tests, never skip them" in done.stdout


def test_parametrizing_over_sample_files(tmp_path: Path) -> None:
    (tmp_path / "test_files.py").write_text(PARAMETRIZED)
    data = tmp_path / "data"
    (data / "coco" / "a").mkdir(parents=True)
    (data / "coco" / "one.json").write_text("{}")
    (data / "coco" / "a" / "two.json").write_text("{}")
    present = pytest_run("test_files.py", data=data, ci=False, cwd=tmp_path)
    assert "2 passed" in present.stdout, present.stdout
    absent = tmp_path / "absent"
    skipped = pytest_run("test_files.py", data=absent, ci=False, cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout
    assert f"needs {absent}" in skipped.stdout
    refused = pytest_run("test_files.py", data=absent, ci=True, cwd=tmp_path)
    assert refused.returncode != 0
    assert "CI must run these tests" in refused.stdout + refused.stderr
