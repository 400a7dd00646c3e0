"""The curated public API: ``lineal.__all__`` is exactly what lineal/__init__.py makes public.

Also keeps ``import lineal`` light: the CLI and database libraries load only when used.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import lineal

INIT = Path(lineal.__file__)
PACKAGE = INIT.parent


def _submodule_names() -> set[str]:
    return {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
    }


def _bound_public_names() -> set[str]:
    """Names lineal/__init__.py binds at top level (imports, assignments, defs), sans ``_x``."""
    names: set[str] = set()
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    names.discard("__all__")
    names.discard("annotations")  # from __future__ import annotations
    return {n for n in names if not n.startswith("_") or (n.startswith("__") and n.endswith("__"))}


def test_all_is_sorted_without_duplicates() -> None:
    assert list(lineal.__all__) == sorted(lineal.__all__)
    assert len(set(lineal.__all__)) == len(lineal.__all__)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in lineal.__all__ if not hasattr(lineal, name)]
    assert not missing


def test_all_is_exactly_the_public_surface() -> None:
    bound = _bound_public_names() - _submodule_names()
    assert set(lineal.__all__) == bound, (
        f"public but not in __all__: {sorted(bound - set(lineal.__all__))}; "
        f"in __all__ but not bound: {sorted(set(lineal.__all__) - bound)}"
    )


def test_no_public_attribute_is_left_out() -> None:
    # What a user sees with dir(lineal) at run time, not only what __init__.py spells out.
    public = {
        name
        for name in vars(lineal)
        if not name.startswith("_")
        and name not in _submodule_names()
        and name != "annotations"  # from __future__ import annotations binds it
    }
    assert public <= set(lineal.__all__), sorted(public - set(lineal.__all__))


def test_public_classes_come_from_lineal() -> None:
    for name in lineal.__all__:
        value = getattr(lineal, name)
        if isinstance(value, type):
            assert value.__module__.startswith("lineal."), (name, value.__module__)


def test_import_lineal_stays_light() -> None:
    code = textwrap.dedent(
        """
        import json, sys

        def heavy():
            roots = ("typer", "click", "rich", "psycopg", "psycopg_binary")
            return sorted(m for m in sys.modules if m.split(".")[0] in roots
                          or m == "lineal.cli" or m.startswith("lineal.cli."))

        import lineal
        before = heavy()
        import lineal.cli.main  # the check must be able to see what it looks for
        print(json.dumps({"before": before, "after": heavy()}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    assert found["before"] == []
    assert {"typer", "rich", "lineal.cli.main"} <= set(found["after"])
