"""lineal.tracking.query and `lineal query`: cross-run questions, metric values at a step.

Real workspaces and stores; the step filter is checked against what was logged, including the
runs SQL cannot rule out (a batch spans the step but holds no point at it).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import lineal
from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.model.series import value_at
from lineal.store.base import Store
from lineal.tracking.query import QueryResult, query
from lineal.tracking.search import search_runs

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def _run(
    repo: Lineal,
    name: str,
    points: Sequence[tuple[int, float]],
    *,
    lr: float,
    data: str | None = None,
) -> str:
    with lineal.start_run(name, params={"lr": lr}, repo=repo, capture=False) as run:
        if data is not None:
            run.use(data, role="train")
        for step, value in points:
            run.log({"loss": value}, step=step)
    return run.ref


@pytest.fixture
def runs(ws: Path, repo: Lineal) -> dict[str, str]:
    """Five runs: two data versions, losses at various steps (one skips step 3)."""
    data = ws / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    datasets.add(repo, [data], name="street")
    (data / "a.txt").write_text("b")
    datasets.add(repo, [data], name="street")
    return {
        "fast": _run(repo, "fast", [(s, 1 / (s + 1)) for s in range(6)], lr=0.1,
                     data="dataset/street@v2"),  # loss@3 = 0.25
        "slow": _run(repo, "slow", [(s, 1 - s / 10) for s in range(6)], lr=0.01,
                     data="dataset/street@v1"),  # loss@3 = 0.7
        "gappy": _run(repo, "gappy", [(0, 0.1), (2, 0.1), (4, 0.1)], lr=0.1,
                      data="dataset/street@v2"),  # spans step 3, has no point there
        "twice": _run(repo, "twice", [(3, 0.9), (3, 0.4)], lr=0.1),  # the last one counts
        "nan": _run(repo, "nan", [(3, math.nan)], lr=0.01),
    }  # fmt: skip


def _names(result: QueryResult) -> list[str]:
    return sorted(match.run.name for match in result.matches)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("metrics.loss@3 < 0.5", ["fast", "twice"]),
        ("metrics.loss@3 >= 0.5", ["slow"]),
        ("metrics.loss@3 != 0.25", ["nan", "slow", "twice"]),  # a NaN differs from every number
        ("metrics.loss@3 = 0.4", ["twice"]),
        ("metrics.loss@2 = 0.1", ["gappy"]),
        ("not metrics.loss@3 < 0.5", ["gappy", "nan", "slow"]),
        ("metrics.loss@3 < 0.5 and params.lr = 0.1", ["fast", "twice"]),
        ("metrics.loss@3 < 0.5 and uses(dataset/street@v2)", ["fast"]),
        ("uses(dataset/street, train) and not metrics.loss@3 < 0.5", ["gappy", "slow"]),
        ("metrics.loss@3 < 0.5 or name = gappy", ["fast", "gappy", "twice"]),
        ("metrics.loss@0 = 1 and metrics.loss@5 < 0.2", ["fast"]),
        ("metrics.loss@3 < 0.5 and metrics.loss <= 0.4", ["fast", "twice"]),
        ("metrics.loss@3 < 0.5 and metrics.loss < 0.4", ["fast"]),
        ("metrics.loss@99 < 1", []),
        ("metrics.other@3 < 1", []),
    ],
)
def test_step_filters_match_what_was_logged(
    repo: Lineal, runs: dict[str, str], where: str, expected: list[str]
) -> None:
    assert _names(query(repo, where)) == expected
    assert sorted(r.name for r in search_runs(repo, where)) == expected
    assert sorted(r.name for r in lineal.search_runs(where, repo=repo)) == expected


def test_results_are_newest_first_with_the_values_named(repo: Lineal, runs: dict[str, str]) -> None:
    result = query(repo, "metrics.loss@3<0.5 and params.lr=0.1")
    assert result.where == "metrics.loss@3 < 0.5 and params.lr = 0.1"
    assert [m.run.ref for m in result.matches] == [runs["twice"], runs["fast"]]
    assert dict(result.matches[1].values) == {"metrics.loss@3": 0.25, "params.lr": 0.1}
    assert dict(result.matches[0].values)["metrics.loss@3"] == 0.4
    limited = query(repo, "metrics.loss@3 < 0.5", limit=1)
    assert [m.run.name for m in limited.matches] == ["twice"]
    assert limited.more
    assert not query(repo, "metrics.loss@3 < 0.5", limit=2).more
    assert [r.name for r in search_runs(repo, "metrics.loss@3 < 0.5", limit=1)] == ["twice"]


def test_show_inputs_answers_which_data_gave_the_result(repo: Lineal, runs: dict[str, str]) -> None:
    result = query(repo, "metrics.loss@3 < 0.5", show=["inputs", "params", "inputs"])
    assert result.show == ("inputs", "params")
    by_name = {m.run.name: m for m in result.matches}
    (used,) = by_name["fast"].inputs
    assert (used.ref, used.kind, used.role) == ("dataset/street@v2", "dataset", "train")
    assert by_name["twice"].inputs == ()
    (tally,) = result.tally("inputs")
    assert (tally[0].ref, tally[1]) == ("dataset/street@v2", 1)
    body = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    assert body["count"] == 2
    assert body["runs"][1]["inputs"][0]["ref"] == "dataset/street@v2"
    assert body["runs"][1]["params"] == {"lr": 0.1}
    assert "outputs" not in body["runs"][0]
    nan = query(repo, "metrics.loss@3 != 0", show=["metrics"]).as_dict()
    assert {r["name"]: r["values"]["metrics.loss@3"] for r in nan["runs"]}["nan"] == "NaN"


def test_bad_questions_say_what_is_expected(repo: Lineal) -> None:
    with pytest.raises(InvalidInput, match="column 14") as caught:
        query(repo, "metrics.loss@x < 0.5")
    assert "expected an integer step after '@'" in caught.value.message
    with pytest.raises(InvalidInput, match="bad show 'input'"):
        query(repo, "metrics.loss@3 < 1", show=["input"])
    with pytest.raises(InvalidInput, match="bad limit"):
        query(repo, "metrics.loss@3 < 1", limit=0)


def test_value_at_takes_the_last_point_of_the_step(repo: Lineal, runs: dict[str, str]) -> None:
    from lineal.tracking.search import metric_points

    series = metric_points(repo, runs["twice"], "loss")["loss"]
    assert value_at(series, 3) == 0.4
    assert value_at(series, 2) is None
    assert value_at(None, 3) is None


# -- both backends -------------------------------------------------------------------------------
def test_step_filters_on_every_backend(store: Store) -> None:
    lin = Lineal(store)
    data = lin.record_artifact("dataset", data=b"d", name="street")
    made = {}
    for name, points in (("a", [0.9, 0.5, 0.2]), ("b", [0.9, 0.8, 0.7]), ("c", [0.1])):
        run = lin.start_run(name, params={"lr": 0.1})
        lin.link("used", data, run, role="train")
        for step, value in enumerate(points):
            lin.log_metrics(run, {"loss": value}, step=step)
        made[name] = lin.finish_run(run).ref
    result = query(lin, "metrics.loss@2 < 0.5 or not metrics.loss@1 >= 0", show=["inputs"])
    assert _names(result) == ["a", "c"]
    assert result.tally()[0][0].ref == "dataset/street@v1"
    assert [r.name for r in search_runs(lin, "metrics.loss@1 = 0.8")] == ["b"]


# -- the command line ----------------------------------------------------------------------------


def test_cli_query_shows_inputs_and_json(ws: Path, runs: dict[str, str], lineal_cli: Cli) -> None:
    done = lineal_cli("query", "metrics.loss@3 < 0.5", "--show", "inputs", cwd=ws)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{runs['twice']}  twice  finished  metrics.loss@3=0.4")
    assert f"{runs['fast']}  fast  finished  metrics.loss@3=0.25" in lines
    assert "  input   dataset/street@v2 (train)" in lines
    assert "2 runs match" in lines
    assert "  dataset/street@v2 (train)  1 of 2 runs" in lines
    body = json.loads(lineal_cli("query", "metrics.loss@3 < 0.5", "--json", cwd=ws).stdout)
    assert [r["name"] for r in body["runs"]] == ["twice", "fast"]
    listed = json.loads(
        lineal_cli("runs", "--where", "metrics.loss@3 >= 0.5", "--json", cwd=ws).stdout
    )
    assert [r["name"] for r in listed] == ["slow"]
    none = lineal_cli("query", "metrics.loss@3 > 5", cwd=ws)
    assert none.stdout.strip() == "no runs match metrics.loss@3 > 5"


def test_cli_query_errors_name_the_column(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("query", "metrics.loss@x < 0.5", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: syntax error at column 14 in 'metrics.loss@x < 0.5': expected an integer step"
    )
    assert "\nhint: " in done.stderr
    shown = lineal_cli("query", "metrics.loss@3 < 0.5", "--show", "everything", cwd=ws)
    assert shown.returncode == 1
    assert "bad show 'everything'" in shown.stderr


# -- references a filter names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("uses(dataset/nonexistent)", "uses(dataset/nonexistent): no dataset named 'nonexistent'"),
        ("generated(model/nope, best)", "generated(model/nope): no model named 'nope'"),
        ("uses(dataset/street@v9)", "uses(dataset/street@v9): dataset/street@v9 does not exist"),
        ("metrics.loss@3 < 0.5 and uses(dataset/street@v9)", "dataset/street@v9 does not exist"),
        ("not uses(dataset/nonexistent)", "no dataset named 'nonexistent'"),
    ],
)
def test_an_unknown_reference_in_a_filter_is_an_error_naming_it(
    repo: Lineal, runs: dict[str, str], where: str, says: str
) -> None:
    # It used to match nothing (or, under `not`, everything): a typo gave a wrong answer.
    for search in (
        lambda: search_runs(repo, where),
        lambda: lineal.search_runs(where, repo=repo),
        lambda: query(repo, where),
    ):
        with pytest.raises(NotFound) as caught:
            search()
        assert says in caught.value.message
        assert caught.value.hint


def test_search_runs_without_a_filter_lists_every_run(repo: Lineal, runs: dict[str, str]) -> None:
    every = [r.ref for r in lineal.search_runs(repo=repo)]
    assert sorted(every) == sorted(runs.values())
    assert [r.ref for r in lineal.search_runs(None, repo=repo)] == every
    assert [r.ref for r in lineal.search_runs(where=None, repo=repo, limit=2)] == every[:2]
    assert [r.ref for r in search_runs(repo, None)] == every


def test_cli_runs_and_query_refuse_an_unknown_reference(
    ws: Path, runs: dict[str, str], lineal_cli: Cli
) -> None:
    for args in (
        ("runs", "--where", "uses(dataset/nonexistent)"),
        ("query", "uses(dataset/street@v7)"),
    ):
        done = lineal_cli(*args, cwd=ws)
        assert done.returncode == 1, (args, done.stdout)
        lines = done.stderr.splitlines()
        assert lines[0].startswith("error: "), lines
        assert ("nonexistent" if args[0] == "runs" else "dataset/street@v7") in lines[0]
        assert lines[1].startswith("hint: ")
        assert done.stdout == ""
