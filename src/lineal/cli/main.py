"""The `lineal` entry point: a plain `lineal status` goes straight to its code, the rest to Typer.

Never imports typer or rich before it knows it needs them: building the Typer app costs more
than a whole `lineal status` on an unchanged working copy.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def status_args(argv: Sequence[str]) -> tuple[str | None, bool, bool] | None:
    """``(ref, as_json, quiet)`` if ``argv`` is a plain `status [REF] [--json] [--quiet|-q]`,
    else None.

    Anything else (--help, another option, ``--``, a second argument) is left to Typer, which
    parses and reports it exactly as before.
    """
    if not argv or argv[0] != "status":
        return None
    ref: str | None = None
    as_json = quiet = False
    for arg in argv[1:]:
        if arg == "--json" and not as_json:
            as_json = True
        elif arg in ("--quiet", "-q") and not quiet:
            quiet = True
        elif arg.startswith("-") or ref is not None:
            return None
        else:
            ref = arg
    return ref, as_json, quiet


def main() -> None:
    fast = status_args(sys.argv[1:])
    if fast is not None:
        from lineal.cli import plain, status

        ref, as_json, quiet = fast
        sys.exit(plain.run(lambda: status.show(ref, as_json=as_json, quiet=quiet)))
    from lineal.cli.app import for_argv

    for_argv(sys.argv[1:])(prog_name="lineal")
