"""Fixtures for the CLI tests: commands on a pseudo-terminal (see cli_terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_terminal import LINEAL, Terminal, cli_env


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    """Start `lineal ARGS` on a pseudo-terminal: ``terminal(*args, cwd=..., env=...)``
    (``program=`` runs another program with those arguments)."""
    started: list[Terminal] = []

    def start(
        *args: str, cwd: Path, env: dict[str, str] | None = None, program: str = LINEAL
    ) -> Terminal:
        one = Terminal([program, *args], cwd, env or cli_env())
        started.append(one)
        return one

    yield start
    for one in started:
        one.close()
