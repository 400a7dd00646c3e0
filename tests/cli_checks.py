"""Checks the CLI tests share: how a command that must fail cleanly looks."""

from __future__ import annotations

import subprocess


def error_and_hint(done: subprocess.CompletedProcess[str], *args: str) -> list[str]:
    """Exit 1, no traceback, exactly an ``error:`` line then a ``hint:`` line; those lines."""
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: "), lines
    assert lines[1].startswith("hint: "), lines
    return lines
