"""The Store contract stays a contract: its tests and helpers reach a store through the Store
protocol only, so that every backend (one that speaks no SQL too) can run them unchanged."""

from __future__ import annotations

import ast
from pathlib import Path

HERE = Path(__file__).parent
#: The contract's files: its tests and the helpers they share.
CONTRACT = sorted([*HERE.glob("test_contract*.py"), *HERE.glob("contract_*.py")])


def reaches_past_the_protocol(source: str, name: str = "m") -> list[str]:
    """Lines that call a ``.sql()`` handle or import SQL internals (``lineal.store.sql``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sql"
        ):
            found.append(f"{name}:{node.lineno} .sql()")
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for module in modules:
            if module == "lineal.store.sql" or module.startswith("lineal.store.sql."):
                found.append(f"{name}:{node.lineno} import {module}")
                break
    return found


def test_the_check_sees_sql_handles_and_imports() -> None:
    source = (
        "import lineal.store.sql.queries\n"
        "from lineal.store import sql\n"
        "from lineal.store.sql.base import SqlStore\n"
        "from lineal.store.base import Store\n"
        "from lineal.store import registry\n"
        "def f(store):\n"
        "    return store.sql().all('SELECT 1')\n"
    )
    assert reaches_past_the_protocol(source) == [
        "m:1 import lineal.store.sql.queries",
        "m:2 import lineal.store.sql",
        "m:3 import lineal.store.sql.base",
        "m:7 .sql()",
    ]


def test_the_contract_uses_the_protocol_only() -> None:
    names = {path.name for path in CONTRACT}
    assert {"contract_helpers.py", "test_contract_ledger.py", "test_contract_meta.py"} <= names
    wrong = [
        line for path in CONTRACT for line in reaches_past_the_protocol(path.read_text(), path.name)
    ]
    assert not wrong, (
        "the Store contract calls only Store methods (SQL checks go in test_sql_projections.py): "
        f"{wrong}"
    )
