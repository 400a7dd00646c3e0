"""How big a run filter may be: a flat chain of `and`s (or `or`s) of any length works; nesting
is bounded, and past the bound the error says so (never a RecursionError or a database's
"parser stack overflow").

Checked on real stores of both backends, through the services `lineal runs --where` and
`lineal query` call, with the leaves whose SQL nests deepest.
"""

from __future__ import annotations

import pytest

from lineal.client import Lineal
from lineal.errors import InvalidInput
from lineal.model.filters import MAX_STEP_FIELDS, parse
from lineal.model.filters_parse import MAX_NESTING
from lineal.store.sql.base import SqlStore
from lineal.store.sql.filters import MAX_SQL_DEPTH, sql_depth
from lineal.tracking.query import query
from lineal.tracking.search import search_runs

LEAVES = ["params.lr = 0.1", "metrics.loss@1 < 1", "uses(dataset/street, train)", "tags.x = null"]


@pytest.fixture
def lin(store: SqlStore) -> Lineal:
    """Two runs: ``fast`` (lr 0.1, used dataset/street in role train, loss 0.5 at step 1) and
    ``slow`` (lr 0.01)."""
    found = Lineal(store)
    data = found.record_artifact("dataset", data=b"d", name="street")
    for name, lr in (("fast", 0.1), ("slow", 0.01)):
        run = found.start_run(name, params={"lr": lr})
        if name == "fast":
            found.link("used", data, run, role="train")
        for step in range(3):
            found.log_metrics(run, {"loss": 0.5 if name == "fast" else 2.0}, step=step)
        found.finish_run(run)
    return found


def _names(lin: Lineal, text: str) -> list[str]:
    """The names of the runs ``text`` matches, newest first (both services agree)."""
    found = [run.name for run in search_runs(lin, text)]
    assert [m.run.name for m in query(lin, text).matches] == found
    return found


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5_000 + "name = a" + ")" * 5_000,
        "not " * 5_000 + "name = a",
        "not (" * 5_000 + "name = a" + ")" * 5_000,
        "(name = a or " * 5_000 + "name = b" + ")" * 5_000,
    ],
    ids=["parentheses", "nots", "not-parentheses", "or-parentheses"],
)
def test_deep_nesting_is_refused_by_the_parser(text: str) -> None:
    with pytest.raises(InvalidInput, match=f"nests deeper than {MAX_NESTING} parentheses") as e:
        parse(text)
    assert e.value.hint is not None
    assert "flatter" in e.value.hint


def test_nesting_up_to_the_bound_parses() -> None:
    assert parse("(" * MAX_NESTING + "name = a" + ")" * MAX_NESTING) == parse("name = a")
    assert parse("not " * MAX_NESTING + "name = a") is not None


@pytest.mark.slow
@pytest.mark.parametrize("word", ["and", "or"])
def test_three_thousand_conditions_in_a_row_work(lin: Lineal, word: str) -> None:
    for leaf in LEAVES:
        chain = f" {word} ".join([leaf] * 3_000)
        assert _names(lin, chain) == (["slow", "fast"] if leaf == "tags.x = null" else ["fast"])
    mixed = " and ".join(["params.lr < 1", "not name = other"] * 1_500 + ["params.lr = 0.01"])
    assert _names(lin, mixed) == ["slow"]


def _alternating(leaf: str, levels: int) -> str:
    """``levels`` and/or inside one another, each under a `not`: the SQL nesting deepest."""
    text = leaf
    for level in range(levels // 2):
        word = "and" if level % 2 else "or"
        text = f"not ({leaf} {word} {text})"
    return text


@pytest.mark.parametrize("leaf", LEAVES)
def test_nesting_up_to_what_sql_takes_runs_and_beyond_is_refused(lin: Lineal, leaf: str) -> None:
    deepest = _alternating(leaf, MAX_SQL_DEPTH)
    _names(lin, deepest)  # runs on the backend: no parser stack overflow
    wide = " or ".join([_alternating(leaf, MAX_SQL_DEPTH - 4)] * 100)
    assert sql_depth(parse(wide)) == MAX_SQL_DEPTH  # 100 in a row: 4 levels of groups
    _names(lin, wide)
    for text in (_alternating(leaf, MAX_SQL_DEPTH + 2), "not " * (MAX_SQL_DEPTH + 1) + leaf):
        with pytest.raises(InvalidInput, match=f"SQL takes at most {MAX_SQL_DEPTH}"):
            search_runs(lin, text)
        with pytest.raises(InvalidInput, match=f"SQL takes at most {MAX_SQL_DEPTH}"):
            query(lin, text)


def test_steps_named_are_bounded(lin: Lineal) -> None:
    # Each metrics.KEY@STEP is one query over the filter's runs: the work is bounded.
    most = " or ".join(f"metrics.loss@{step} < 1" for step in range(MAX_STEP_FIELDS))
    assert _names(lin, most) == ["fast"]  # only fast logged a loss below 1
    more = f"{most} or metrics.loss@{MAX_STEP_FIELDS} < 1"
    with pytest.raises(InvalidInput, match=f"names {MAX_STEP_FIELDS + 1} metrics at a step"):
        query(lin, more)
