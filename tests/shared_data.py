"""Where the tests find the project's shared sample data (real COCO, KITTI, VOC, YOLO and USD
files in ../shared/data beside the repository); its files are never copied into the repository.

A clone without that folder skips the tests that read it, naming the folder; CI (the ``CI``
variable set) fails them instead, as it must never silently run fewer tests. Tests ask for it
with the ``shared_data`` fixture (tests/conftest.py), helpers with ``require_shared_data()``,
and parametrizations over its files with ``shared_data_files()``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

#: ../shared/data beside the repository; LINEAL_TEST_DATA points elsewhere (the tests of this
#: module point it at a folder that does not exist).
SHARED_DATA = Path(
    os.environ.get("LINEAL_TEST_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


def _absent() -> str:
    return f"needs {SHARED_DATA} (the project's shared sample data beside the repository)"


def require_shared_data() -> Path:
    """SHARED_DATA, or skip the calling test when it is absent (fail it under CI)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{_absent()}: CI must run these tests, never skip them", pytrace=False)
        pytest.skip(_absent())
    return SHARED_DATA


def shared_data_files(pattern: str) -> list[Any]:
    """Parameters for ``@pytest.mark.parametrize``: the files under SHARED_DATA matching
    ``pattern`` (a recursive glob), or, when the folder is absent, one parameter that skips
    with the folder's name; under CI the absence is a collection error."""
    if SHARED_DATA.is_dir():
        return sorted(SHARED_DATA.glob(pattern))
    if os.environ.get("CI"):
        raise pytest.UsageError(f"{_absent()}: CI must run these tests, never skip them")
    return [pytest.param(SHARED_DATA / pattern, marks=pytest.mark.skip(reason=_absent()))]
