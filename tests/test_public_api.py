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

import pytest

import lineal

INIT = Path(lineal.__file__)
PACKAGE = INIT.parent


def _submodule_names() -> set[str]:
    return {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
    }


def _bound_public_names() -> set[str]:
    """Names lineal/__init__.py binds at top level (imports, assignments, defs), sans ``_x``.

    Imports under ``if TYPE_CHECKING:`` count: they spell the names ``__getattr__`` loads.
    """
    names: set[str] = set()
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If):
            names.update(
                alias.asname or alias.name
                for child in node.body
                if isinstance(child, ast.Import | ast.ImportFrom)
                for alias in child.names
            )
        elif isinstance(node, ast.Import | ast.ImportFrom):
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


def test_lazy_names_load_what_type_checkers_see() -> None:
    typed: dict[str, str] = {}
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If):
            for child in node.body:
                if isinstance(child, ast.ImportFrom) and child.module:
                    typed.update((alias.name, child.module) for alias in child.names)
    assert typed == lineal._SOURCES
    assert set(typed) == set(lineal.__all__) - {"__version__"}


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        _ = lineal.nonexistent  # type: ignore[attr-defined]
    assert "Lineal" in dir(lineal)


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
            roots = ("typer", "click", "rich", "psycopg", "psycopg_binary", "cryptography",
                     "pathspec", "fsspec")
            inner = ("lineal.cli", "lineal.client", "lineal.store", "lineal.tracking",
                     "lineal.lineage", "lineal.ledger")
            return sorted(m for m in sys.modules if m.split(".")[0] in roots
                          or m in inner or m.startswith(tuple(p + "." for p in inner)))

        import lineal
        before = heavy()
        import lineal.cli.app  # the check must be able to see what it looks for
        lineal.cli.app.build()
        print(json.dumps({"before": before, "after": heavy()}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    assert found["before"] == []
    # (rich is not among them: the CLI makes its console on first use, lineal.cli.common)
    assert {"typer", "cryptography", "lineal.cli.app", "lineal.client"} <= set(found["after"])
