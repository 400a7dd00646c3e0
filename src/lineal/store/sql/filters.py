"""Compiles a run filter tree to one SQL condition over ``runs r`` with ``?`` placeholders.

Never runs SQL and never writes a user's value into the SQL text: every value is a parameter,
and the text uses only what SQLite 3.40+ and PostgreSQL 15 both accept unchanged.

How values compare (the decisions a user can see):

- ``metrics.K``: numbers only, against ``run_metrics.value`` (the run's latest value). A stored
  NaN is NULL and follows IEEE: it is ``!=`` every number and matches no other operator.
  ``metrics.K != x`` (like every scoped comparison) needs the run to have K.
- ``params.K``: a number compares with ``num`` (so 10 matches a stored 10 and 10.0); a string
  compares with the canonical JSON ``value`` (``= adam`` matches ``"adam"``; ``<``/``>`` compare
  the JSON text of string params only); true/false/null compare with ``value`` as JSON text.
- ``tags.K``: current tags only, compared as text; a number or true/false compares with its
  canonical text. ``tags.K = null`` means the run has no tag K, ``!= null`` that it has one.
- ``started``/``ended`` compare as text: a date like 2026-11-01 is the start of that day, and
  a full time (``2026-11-01T10:00:00Z``, any offset; no offset means UTC) is rewritten to the
  stored spelling first. ``duration`` compares as a number. ``COLUMN = null`` is ``IS NULL``.
- ``~`` is a glob (``*`` any run, ``?`` one character; no escape) compiled to ``LIKE``. It is
  case-insensitive on both backends: ``lower(x) LIKE lower(?)``. ASCII letters fold the same
  everywhere; other letters fold as the backend's ``lower()`` does (SQLite: not at all).
- ``uses(REF[, ROLE])``/``generated(...)``: an edge to any digest ``resolve(REF)`` returns (an
  empty list is simply false; a NotFound from ``resolve`` is raised again naming the call);
  with a role, only edges in that role.
- ``metrics.K@N``: the last value of K logged at step N (NaN as for ``metrics.K``; a run with
  no point of K at step N matches nothing, and ``not`` of it matches). The points live in the
  ledger, not in a table, so SQL cannot test them: the condition compiled here is only
  *necessary* — the run has a ``metric_batches`` row of K spanning N (under ``not``: always
  true). lineal.tracking.query narrows with it, reads the points and applies the rest exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lineal.errors import InvalidInput, NotFound
from lineal.model.canonical import encode_checked, format_time
from lineal.model.filters import And, Compare, Expr, Generated, Not, Or, Uses, Value

#: At most this many conditions are joined by AND (or OR) in one pair of parentheses.
GROUP = 8
#: The deepest and/or/not nesting (see sql_depth) compiled: SQLite 3.40's parser overflows its
#: stack at about 25 levels of alternating and/or around this module's subqueries.
MAX_SQL_DEPTH = 20
_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LIKE = "lower({}) LIKE lower(?) ESCAPE '\\'"
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
# An equality test is `run id IN (subquery)`: the subquery runs once from its own index
# (params (key, value), run_metrics (key, value), tags) and drives the lookup of runs. Any
# other test is a correlated EXISTS, a primary-key probe per candidate run: SQLite then
# starts from the selective equalities instead of scanning a range of, say, metric values.
_IN = {
    "metrics": "r.id IN (SELECT m.run_id FROM run_metrics m WHERE m.key = ?{})",
    "params": "r.id IN (SELECT p.run_id FROM params p WHERE p.key = ?{})",
    "tags": (
        "('run/' || r.id) IN (SELECT t.target FROM tags t WHERE t.key = ?"
        " AND t.until_seq IS NULL{})"
    ),
}
_EXISTS = {
    "metrics": "EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND m.key = ?{})",
    "params": "EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = ?{})",
    "tags": (
        "EXISTS (SELECT 1 FROM tags t WHERE t.target = 'run/' || r.id AND t.key = ?"
        " AND t.until_seq IS NULL{})"
    ),
}
_COVERS = (
    "EXISTS (SELECT 1 FROM metric_batches b WHERE b.run_id = r.id AND b.key = ?"
    " AND b.first_step <= ? AND b.last_step >= ?)"
)
# In a chain of more than GROUP conditions every test is an uncorrelated IN, and each group
# of GROUP is wrapped in COALESCE(…, NULL) (the same value, NULL kept): PostgreSQL turns the
# IN subqueries of a top-level AND into joins, and the correlated EXISTS into subplans, and
# plans either in time that grows with the cube of their number (256 took 30 s); inside the
# COALESCE each IN is one hashed subplan, and 3,000 conditions plan in a tenth of a second.
_WIDE_COVERS = (
    "r.id IN (SELECT b.run_id FROM metric_batches b WHERE b.key = ?"
    " AND b.first_step <= ? AND b.last_step >= ?)"
)
#: The runs matching a compiled condition {where} that logged key ? in a batch spanning step ?.
COVERING = (
    "SELECT DISTINCT b.run_id FROM metric_batches b WHERE b.key = ? AND b.first_step <= ?"
    " AND b.last_step >= ? AND b.run_id IN (SELECT r.id FROM runs r WHERE {where})"
)
_EDGE = (
    "('run/' || r.id) IN (SELECT e.{run_end} FROM edges e WHERE e.kind = '{kind}'"
    " AND e.{artifact_end} IN ({marks}){role})"
)


def compile_where(
    expr: Expr, *, resolve: Callable[[str], list[str]], status_sql: str = "r.status"
) -> tuple[str, list[Any]]:
    """A SQL boolean expression for ``expr`` and its parameters, in placeholder order.

    ``resolve`` turns the text of a reference into the artifact digests it names; ``status_sql``
    is the caller's expression for a run's status (it may compute 'crashed'). Exact, except
    for ``metrics.K@N``: see the module's docstring.
    """
    depth = sql_depth(expr)
    if depth > MAX_SQL_DEPTH:
        raise InvalidInput(
            f"filter nests and/or/not {depth} levels deep; SQL takes at most {MAX_SQL_DEPTH}",
            hint="write it flatter: `not (a or b)` is `not a and not b`, `not not a` is `a`, "
            "and a long chain of `and`s (or of `or`s) of any length is fine",
        )
    compiler = _Compiler(resolve=resolve, status_sql=status_sql)
    return compiler.expr(expr), compiler.params


def _groups(count: int) -> int:
    """How many levels of parentheses :func:`_joined` puts around ``count`` items (the
    COALESCE around the first level of a long chain's groups counts as one more)."""
    levels = 1 if count <= GROUP else 2
    while count > GROUP:
        count = -(-count // GROUP)
        levels += 1
    return levels


def sql_depth(expr: Expr) -> int:
    """How deeply the SQL of ``expr`` nests parentheses, in levels of and/or/not (a flat
    chain counts as log8 of its length, as :func:`_joined` groups it). Walks with a list, not
    recursion: a tree built in Python may be deeper than the parser allows."""
    deepest = 0
    stack: list[tuple[Expr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, And | Or):
            stack.extend((item, depth + _groups(len(node.items))) for item in node.items)
        elif isinstance(node, Not):
            stack.append((node.item, depth + 1))
        else:
            deepest = max(deepest, depth)
    return deepest


def _joined(parts: list[str], word: str) -> str:
    """``parts`` joined by ``word`` in parenthesised groups of at most GROUP, then groups of
    groups: SQLite reads `a AND b AND …` as a tree as deep as the chain is long and refuses
    one deeper than 1000, so 3,000 conditions in a row would fail; grouped, they nest 4 deep.
    A long chain's first groups are wrapped in COALESCE (see _WIDE_COVERS)."""
    wrap = len(parts) > GROUP
    while True:
        parts = ["(" + word.join(parts[i : i + GROUP]) + ")" for i in range(0, len(parts), GROUP)]
        if wrap:
            parts = [f"COALESCE({part}, NULL)" for part in parts]
            wrap = False
        if len(parts) == 1:
            return parts[0]


def like_pattern(glob: str) -> str:
    """The LIKE pattern (escape character ``\\``) matching what ``glob`` matches."""
    out = []
    for char in glob:
        if char in "\\%_":
            out.append("\\" + char)
        else:
            out.append({"*": "%", "?": "_"}.get(char, char))
    return "".join(out)


def text_of(value: Value) -> str:
    """The text a literal compares as against a text column: strings as they are, the rest
    in canonical JSON (10, 0.01, true)."""
    return value if isinstance(value, str) else encode_checked(value)


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def stored_time(text: str) -> str:
    """A full date-time as the store spells it (UTC, microseconds); other text unchanged."""
    if not _TIME.fullmatch(text):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(
            f"bad time {text!r}: expected a date like 2026-11-01 or a time like "
            "2026-11-01T10:00:00Z"
        ) from exc
    return format_time(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


class _Compiler:
    def __init__(self, *, resolve: Callable[[str], list[str]], status_sql: str) -> None:
        self.resolve = resolve
        self.status_sql = status_sql
        self.params: list[Any] = []
        self.wide = 0  # how many long chains (more than GROUP items) enclose the current item

    def expr(self, expr: Expr, negated: bool = False) -> str:
        if isinstance(expr, And | Or):
            word = " AND " if isinstance(expr, And) else " OR "
            wide = len(expr.items) > GROUP
            self.wide += wide
            try:
                return _joined([self.expr(item, negated) for item in expr.items], word)
            finally:
                self.wide -= wide
        if isinstance(expr, Not):
            return f"NOT ({self.expr(expr.item, not negated)})"
        if isinstance(expr, Uses | Generated):
            return self.edge(expr)
        if expr.field.step is not None:
            return self.stepped(expr, negated)
        if expr.field.scope is None:
            return self.column(expr)
        return self.scoped(expr)

    def stepped(self, expr: Compare, negated: bool) -> str:
        """A condition every run matching ``expr`` meets (``negated``: one that only runs
        matching it meet), so that the whole filter compiles to a superset of its runs."""
        if negated:
            return "1 = 0"
        self.params.extend((expr.field.name, expr.field.step, expr.field.step))
        return _WIDE_COVERS if self.wide else _COVERS

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def edge(self, expr: Uses | Generated) -> str:
        call = "uses" if isinstance(expr, Uses) else "generated"
        try:
            digests = list(dict.fromkeys(self.resolve(expr.ref)))
        except NotFound as exc:
            raise NotFound(f"{call}({expr.ref}): {exc.message}", hint=exc.hint) from None
        if not digests:
            return "1 = 0"  # names nothing: no run used or generated it
        self.params.extend(digests)
        role = "" if expr.role is None else f" AND e.role = {self.bind(expr.role)}"
        ends = ("child", "parent") if isinstance(expr, Uses) else ("parent", "child")
        return _EDGE.format(
            kind="used" if call == "uses" else "generated",
            run_end=ends[0],
            artifact_end=ends[1],
            marks=", ".join("?" * len(digests)),
            role=role,
        )

    def condition(self, column: str, op: str, value: Any) -> str:
        if op == "~":
            assert isinstance(value, str)  # noqa: S101 - Compare allows '~' on strings only
            self.params.append(like_pattern(value))
            return _LIKE.format(column)
        return f"{column} {_SQL_OPS[op]} {self.bind(value)}"

    def column(self, expr: Compare) -> str:
        field, op, value = expr.field, expr.op, expr.value
        column = f"({self.status_sql})" if field.name == "status" else f"r.{field.name}"
        if value is None:
            return f"{column} IS {'NOT ' if op == '!=' else ''}NULL"
        if field.name == "duration":
            return self.condition(column, op, float(value))  # a number: Compare checks it
        text = text_of(value)
        if field.name in ("started", "ended") and op != "~":
            text = stored_time(text)
        return self.condition(column, op, text)

    def scoped(self, expr: Compare) -> str:
        field, op, value = expr.field, expr.op, expr.value
        assert field.scope is not None  # noqa: S101 - column() takes the rest
        equal = op == "=" and value is not None
        template = (_IN if equal or self.wide else _EXISTS)[field.scope]
        self.params.append(field.name)
        if field.scope == "metrics":
            test = self.number("m.value", op, value)
        elif field.scope == "params":
            test = self.param(op, value)
        elif value is None:  # tags.K = null: the run has no such tag
            found = template.format("")
            return found if op == "!=" else f"NOT {found}"
        else:
            test = self.condition("t.value", op, text_of(value))
        return template.format(f" AND {test}")

    def number(self, column: str, op: str, value: Value) -> str:
        assert _is_number(value)  # noqa: S101 - Compare checks it
        number = float(value)  # type: ignore[arg-type]
        if op == "!=":  # NULL (NaN here) differs from every number, as in IEEE 754
            return f"({column} IS NULL OR {column} <> {self.bind(number)})"
        return self.condition(column, op, number)

    def param(self, op: str, value: Value) -> str:
        if _is_number(value):
            return self.number("p.num", op, value)
        if not isinstance(value, str) or op in ("=", "!=", "~"):
            # Strings, true, false and null are compared as the JSON the store keeps.
            return self.condition("p.value", op, encode_checked(value))
        # Ordering: string params only, by the JSON text between the quotes.
        body = encode_checked(value)[1:-1]
        return "substr(p.value, 1, 1) = '\"' AND " + self.condition(
            "substr(p.value, 2, length(p.value) - 2)", op, body
        )
