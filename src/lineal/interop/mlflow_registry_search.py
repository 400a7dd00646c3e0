"""MLflow's search grammar for registered models, model versions and logged models: a filter
(``name LIKE 'fraud%' AND tags.team = 'risk'``), ``order_by`` and page tokens, applied to rows.

The rows are what the registry services read (a few hundred at most per name): filtering here
keeps the store's protocol free of MLflow's grammar. Never prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lineal.errors import InvalidInput

Row = dict[str, Any]
_KEY = r"(?:[A-Za-z_][A-Za-z0-9_]*\.)?(?:`[^`]+`|\"[^\"]+\"|[A-Za-z_][A-Za-z0-9_.:/-]*)"
_VALUE = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\([^)]*\)|-?[0-9]+(?:\.[0-9]+)?"
_CLAUSE = re.compile(
    rf"\s*(?P<key>{_KEY})\s*(?P<op>!=|<=|>=|=|<|>|(?:NOT\s+)?I?LIKE\b|(?:NOT\s+)?IN\b)"
    rf"\s*(?P<value>{_VALUE})\s*",
    re.IGNORECASE,
)
_AND = re.compile(r"AND\b", re.IGNORECASE)
_HINT = "e.g. name LIKE 'fraud%' AND tags.team = 'risk' (clauses joined by AND)"


def _literal(text: str) -> Any:
    if text[0] in "'\"":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if text.startswith("("):
        return [_literal(part.strip()) for part in text[1:-1].split(",") if part.strip()]
    return float(text) if "." in text else int(text)


def _unquote(key: str) -> str:
    prefix, dot, rest = key.partition(".")
    if dot and rest[:1] in '`"' and prefix.lower() in ("tags", "tag", "params", "param"):
        return f"{prefix.lower()}.{rest[1:-1]}"
    return key[1:-1] if key[:1] in '`"' else key


Clause = tuple[str, str, Any]


def parse_filter(text: object) -> list[Clause]:
    """``[(key, OP, value)]`` of a filter; every clause must hold."""
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise InvalidInput(f"bad filter {text!r}: expected text", hint=_HINT)
    clauses, pos = [], 0
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise InvalidInput(f"bad filter {text!r} at {text[pos:]!r}", hint=_HINT)
        op = " ".join(match["op"].upper().split())
        clauses.append((_unquote(match["key"]), op, _literal(match["value"])))
        pos = match.end()
        if pos == len(text):
            return clauses
        joined = _AND.match(text, pos)
        if joined is None:
            raise InvalidInput(f"bad filter {text!r} at {text[pos:]!r}", hint=_HINT)
        pos = joined.end()


def _like(pattern: str, value: str, *, fold: bool) -> bool:
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(pattern)
    )
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


def _compare(found: Any, op: str, wanted: Any) -> bool:
    if found is None:
        return op in ("!=", "NOT LIKE", "NOT ILIKE", "NOT IN")
    if op in ("IN", "NOT IN"):
        inside = str(found) in [str(item) for item in (wanted if isinstance(wanted, list) else [])]
        return inside == (op == "IN")
    if op.endswith("LIKE"):
        hit = _like(str(wanted), str(found), fold="ILIKE" in op)
        return hit != op.startswith("NOT")
    left, right = found, wanted
    if isinstance(wanted, int | float):
        try:
            left = float(found)
        except (TypeError, ValueError):
            return False
    else:
        left, right = str(found), str(wanted)
    answers: dict[str, bool] = {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }
    return answers[op]


def value_of(row: Row, key: str) -> Any:
    """A row's field: ``tags.K`` and ``params.K`` from its tag and param maps, else a column
    (MLflow's aliases for a few: ``version_number``, ``source_path``, ``run_id``…)."""
    prefix, dot, rest = key.partition(".")
    if dot and prefix.lower() in ("tags", "tag"):
        return row.get("tags", {}).get(rest)
    if dot and prefix.lower() in ("params", "param"):
        return row.get("params", {}).get(rest)
    if dot and prefix.lower() in ("attributes", "attribute", "attr"):
        key = rest
    key = key.lower()
    if key not in row.get("columns", {}):
        raise InvalidInput(
            f"cannot search by {key!r}",
            hint=f"search by one of: {', '.join(sorted(row.get('columns', {})))}, tags.KEY",
        )
    return row["columns"][key]


def matches(row: Row, clauses: Sequence[Clause]) -> bool:
    return all(_compare(value_of(row, key), op, wanted) for key, op, wanted in clauses)


def order_keys(order_by: object, default: Sequence[str]) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` from MLflow's ``["name ASC", "version_number DESC"]``."""
    items = order_by if isinstance(order_by, list) and order_by else list(default)
    keys = []
    for item in items:
        if isinstance(item, Mapping):  # logged models: {field_name, ascending}
            keys.append((str(item.get("field_name", "")), not item.get("ascending", True)))
            continue
        parts = str(item).split()
        if (
            not parts
            or len(parts) > 2
            or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC"))
        ):
            raise InvalidInput(
                f"bad order_by {item!r}", hint="e.g. 'name ASC' or 'version_number DESC'"
            )
        keys.append((parts[0], len(parts) == 2 and parts[1].upper() == "DESC"))
    return keys


def ordered(rows: list[Row], keys: Sequence[tuple[str, bool]]) -> list[Row]:
    """Rows sorted by each key in turn (numbers as numbers; missing values last)."""

    def sort_key(field: str) -> Callable[[Row], tuple[int, Any]]:
        def key(row: Row) -> tuple[int, Any]:
            found = value_of(row, field)
            if found is None:
                return (2, "")
            return (0, float(found)) if isinstance(found, int | float) else (1, str(found))

        return key

    for field, descending in reversed(keys):
        rows = sorted(rows, key=sort_key(field), reverse=descending)
    return rows


def page(
    rows: list[Row], max_results: object, page_token: object, limit: int
) -> tuple[list[Row], str | None]:
    """One page of ``rows`` and the token of the next (None: no more)."""
    try:
        size = int(str(max_results)) if max_results not in (None, "") else limit
        start = int(str(page_token)) if page_token not in (None, "") else 0
    except ValueError:
        raise InvalidInput(
            f"bad max_results {max_results!r} or page_token {page_token!r}",
            hint="pass the next_page_token of the previous page, unchanged",
        ) from None
    if size < 1 or size > limit or start < 0:
        raise InvalidInput(f"max_results must be between 1 and {limit}, not {size}")
    end = start + size
    return rows[start:end], (str(end) if end < len(rows) else None)
