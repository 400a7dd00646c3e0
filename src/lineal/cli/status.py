"""`lineal status`: what it prints, shared by the Typer command and the entry point's fast path.

Never imports typer or rich, so a plain `lineal status` starts without them (lineal.cli.main).
"""

from __future__ import annotations

from lineal import worktree
from lineal.cli.plain import change_lines, print_json, print_line
from lineal.cli.progress import progress
from lineal.client import Lineal


def show(ref: str | None, *, as_json: bool, quiet: bool = False) -> None:
    """Print the status of ``ref``'s working copy (default: every dataset's)."""
    # A bar (and rich) only once hashing has gone on for a while: see lineal.cli.progress.
    with Lineal.open(write=False) as client, progress(quiet=quiet) as shown:
        found = worktree.status(client, ref, progress=shown)
    if as_json:
        print_json([{"ref": s.artifact.ref, "path": s.path, **s.changes.as_dict()} for s in found])
        return
    if not found:
        print_line("no dataset working copies to compare")
    for item in found:
        if not item.changes:
            print_line(f"{item.artifact.ref} ({item.path}): up to date")
            continue
        counts = item.changes.as_dict()["summary"]
        print_line(
            f"{item.artifact.ref} ({item.path}): {counts['added']} added, "
            f"{counts['removed']} removed, {counts['modified']} modified"
        )
        for line in change_lines(item.changes):
            print_line(line)
