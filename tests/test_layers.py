"""The layer picture of ARCHITECTURE.md §10, checked on the source: imports flow one way.

Reads every module under src/lineal with ``ast`` (imports inside functions count too); imports
nothing from lineal itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "lineal"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom, *, package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def lineal_imports(module: str, tree: ast.AST | None = None) -> set[str]:
    """Every lineal module ``module`` imports (``from lineal import x`` counts as lineal.x)."""
    found: set[str] = set()
    package = module in MODULES and _is_package(module)
    for node in ast.walk(TREES[module] if tree is None else tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, package=package)
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return {name for name in found if name == "lineal" or name.startswith("lineal.")}


def _within(name: str, *layers: str) -> bool:
    return any(name == layer or name.startswith(layer + ".") for layer in layers)


def _modules_in(layer: str) -> list[str]:
    return [name for name in MODULES if _within(name, layer)]


def test_the_walk_sees_the_package() -> None:
    # Guards the checks below against passing because they looked at nothing.
    assert {
        "lineal.model.refs",
        "lineal.ledger.chain",
        "lineal.store.sql.base",
        "lineal.cli.main",
    } <= (set(MODULES))


def test_the_import_walk_sees_every_spelling() -> None:
    source = """
import json
import lineal.store.sql.base
from lineal import workspace, __version__
from lineal.model import canonical
from . import chain
from ..errors import InvalidInput
from .merkle import root

def later():
    from lineal.cli.common import out
    import lineal.store.sql.postgres as pg

class Lazy:
    def method(self):
        if True:
            from lineal.store.sql.sqlite import SqliteStore
"""
    assert lineal_imports("lineal.ledger.verify", ast.parse(source)) == {
        "lineal",
        "lineal.cli.common",
        "lineal.errors",
        "lineal.ledger.chain",
        "lineal.ledger.merkle",
        "lineal.model.canonical",
        "lineal.store.sql.postgres",
        "lineal.store.sql.base",
        "lineal.store.sql.sqlite",
        "lineal.workspace",
    }


ALLOWED = {
    "lineal.model": ("lineal.model", "lineal.errors"),
    "lineal.ledger": ("lineal.model", "lineal.errors", "lineal.ledger"),
    "lineal.store": ("lineal.model", "lineal.ledger", "lineal.errors", "lineal.store"),
    "lineal.cas": ("lineal.model", "lineal.errors", "lineal.cas"),
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_inward(layer: str) -> None:
    assert _modules_in(layer)
    wrong = {
        module: sorted(
            name for name in lineal_imports(module) if not _within(name, *ALLOWED[layer])
        )
        for module in _modules_in(layer)
    }
    wrong = {module: names for module, names in wrong.items() if names}
    assert not wrong, f"{layer} may import only {', '.join(ALLOWED[layer])}; found {wrong}"


def test_errors_import_nothing_of_lineal() -> None:
    assert lineal_imports("lineal.errors") == set()


def test_only_the_cli_imports_the_cli() -> None:
    wrong = {
        module: sorted(name for name in lineal_imports(module) if _within(name, "lineal.cli"))
        for module in MODULES
        if not _within(module, "lineal.cli")
    }
    wrong = {module: names for module, names in wrong.items() if names}
    assert not wrong, f"only lineal.cli may import lineal.cli; found {wrong}"


SHELLS = ("lineal.cli", "lineal.server")


def _prints(module: str, tree: ast.AST | None = None) -> list[str]:
    """Lines where ``module`` calls print() or reaches for sys.stdout / sys.stderr."""
    found = []
    for node in ast.walk(TREES[module] if tree is None else tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            found.append(f"{module}:{node.lineno} print(")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(f"{module}:{node.lineno} sys.{node.attr}")
    return found


def test_nothing_below_the_cli_prints() -> None:
    below = [name for name in MODULES if not _within(name, *SHELLS)]
    assert {
        "lineal.model",
        "lineal.ledger",
        "lineal.store",
        "lineal.client",
        "lineal.workspace",
    } <= (set(below))
    found = [line for module in below for line in _prints(module)]
    assert not found, f"only {' and '.join(SHELLS)} may print: {found}"


def test_the_print_check_can_see_a_print() -> None:
    source = """
import sys
def f():
    print("x")
    sys.stderr.write("y")
    out.print("rich console output is a method call, and allowed")
"""
    assert _prints("m", ast.parse(source)) == ["m:4 print(", "m:5 sys.stderr"]


def test_modules_are_short() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


# -- the Store protocol is the only door to the database (ARCHITECTURE.md §3) ---------------
#: What code outside lineal.store may import of it: the protocol, opening a store by URI,
#: saved passwords, and the process facts a run's heartbeat carries. Never SQL.
STORE_PUBLIC = ("lineal.store.base", "lineal.store.registry", "lineal.store.credentials")
STORE_PUBLIC_FOR_RUNS = ("lineal.store.liveness",)
#: The wire format of the protocol's reads, which the server speaks and HttpStore decodes.
STORE_PUBLIC_FOR_SERVER = (
    "lineal.store.wire",
    "lineal.store.wire_errors",
    "lineal.store.wire_json",
)


def _sql_calls(module: str, tree: ast.AST | None = None) -> list[str]:
    """Lines where ``module`` calls a ``.sql()`` method (a raw SQL handle)."""
    return [
        f"{module}:{node.lineno}"
        for node in ast.walk(TREES[module] if tree is None else tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "sql"
    ]


def test_the_sql_call_check_can_see_one() -> None:
    source = "def f(repo):\n    return repo.store.sql().all('SELECT 1')\n"
    assert _sql_calls("m", ast.parse(source)) == ["m:2"]


def test_nothing_outside_the_store_calls_sql() -> None:
    found = [line for m in MODULES if not _within(m, "lineal.store") for line in _sql_calls(m)]
    assert not found, f"only lineal.store may hold a SQL handle; use a Store method: {found}"


def test_nothing_outside_the_store_imports_its_internals() -> None:
    wrong = {}
    for module in MODULES:
        if _within(module, "lineal.store"):
            continue
        allowed = (
            STORE_PUBLIC
            + (STORE_PUBLIC_FOR_RUNS if _within(module, "lineal.tracking") else ())
            + (STORE_PUBLIC_FOR_SERVER if _within(module, "lineal.server") else ())
        )
        names = sorted(
            name
            for name in lineal_imports(module)
            if _within(name, "lineal.store")
            and name != "lineal.store"
            and not _within(name, *allowed)
        )
        if names:
            wrong[module] = names
    assert not wrong, f"services reach the store through lineal.store.base only: {wrong}"


def test_sql_lives_under_store_sql() -> None:
    # The store's own modules outside store/sql/ hold no SQL text either.
    outside = [
        m
        for m in _modules_in("lineal.store")
        if not _within(m, "lineal.store.sql")
        and any(
            word in MODULES[m].read_text() for word in ("SELECT ", "INSERT INTO", "CREATE TABLE")
        )
    ]
    assert not outside, f"SQL text outside lineal.store.sql: {outside}"


# -- services import each other one way -----------------------------------------------------
def _unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: lineal.tracking, lineal.client."""
    return ".".join(module.split(".")[:2])


def _unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        for name in lineal_imports(module):
            if name != "lineal" and _unit(name) != _unit(module):
                graph.setdefault(_unit(module), set()).add(_unit(name))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (as a path that returns to its start), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_the_cycle_check_can_see_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) == []


def test_packages_import_each_other_one_way() -> None:
    graph = _unit_graph()
    assert "lineal.tracking" in graph  # the graph holds the services
    cycle = _cycle(graph)
    assert not cycle, f"packages import each other in a cycle: {' -> '.join(cycle)}"


#: The core the services build on: it imports no service.
CORE = {
    "lineal.client": ("lineal.workspace", "lineal.settings", "lineal.spares"),
    "lineal.spares": ("lineal.workspace",),
    "lineal.workspace": ("lineal.lookalikes",),
    "lineal.settings": ("lineal.workspace",),
}
BELOW = ("lineal.errors", "lineal.model", "lineal.ledger", "lineal.store", "lineal.cas")


@pytest.mark.parametrize("core", sorted(CORE))
def test_the_core_imports_no_service(core: str) -> None:
    wrong = sorted(
        name
        for module in MODULES
        if _unit(module) == core
        for name in lineal_imports(module)
        if name != "lineal" and not _within(name, core, *BELOW, *CORE[core])
    )
    assert not wrong, f"{core} may import only {BELOW + CORE[core]}; found {wrong}"


# -- the server calls services (ARCHITECTURE.md §8): never the ledger, the object store or SQL --
#: What lineal.server may import besides services: the errors, the model's values, the store's
#: public door and its wire format, itself.
SERVER_BELOW = (
    "lineal.errors",
    "lineal.model",
    "lineal.server",
    *STORE_PUBLIC,
    *STORE_PUBLIC_FOR_SERVER,
)
NOT_FOR_THE_SERVER = ("lineal.ledger", "lineal.cas", "lineal.cli", "lineal.store")


def _server_reaches_past_services(module: str, tree: ast.AST | None = None) -> list[str]:
    return sorted(
        name
        for name in lineal_imports(module, tree)
        if _within(name, *NOT_FOR_THE_SERVER)
        and name != "lineal.store"
        and not _within(name, *SERVER_BELOW)
    )


def test_the_server_check_can_see_a_reach_past_the_services() -> None:
    source = (
        "from lineal.ledger.checkpoint import make_checkpoint\n"
        "from lineal.store.sql.postgres import PostgresStore\n"
        "from lineal.lineage.queries import upstream\n"
        "from lineal.store import wire\n"
    )
    assert _server_reaches_past_services("lineal.server.x", ast.parse(source)) == [
        "lineal.ledger.checkpoint",
        "lineal.store.sql.postgres",
    ]


def test_the_server_only_calls_services() -> None:
    assert _modules_in("lineal.server")
    wrong = {
        module: found
        for module in _modules_in("lineal.server")
        if (found := _server_reaches_past_services(module))
    }
    assert not wrong, f"lineal.server calls services, not {NOT_FOR_THE_SERVER}: {wrong}"
