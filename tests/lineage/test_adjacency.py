"""The lineage index (lineal.store.sql.adjacency) on the SQL stores: every walk it answers
equals the recursive SQL's (lineage_queries.subgraph / path_subgraph, the reference) at every
seq; it catches up with new edges, is built again when its file is missing, damaged or from
another history, or when a transaction it read rolled back; verify recomputes it.
Runs on SQLite and PostgreSQL (``sql_store``); the HTTP side is in the Store contract.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store
from lineal.store.sql import lineage_queries as sql
from lineal.store.sql.adjacency import SUFFIX, Adjacency
from lineal.store.sql.base import SqlStore


def _chain(store: SqlStore, names: list[str]) -> dict[str, Any]:
    """name[0] -used-> run -generated-> name[1] ... -> name[-1]; an alias on the first."""
    lin = Lineal(store)
    made = [lin.record_artifact("dataset", data=n.encode(), name=n) for n in names]
    runs = []
    for a, b in itertools.pairwise(made):
        run = lin.start_run(f"make-{b.name}")
        lin.link("used", a, run, role="input")
        lin.link("generated", run, b)
        lin.finish_run(run)
        runs.append(run.ref)
    lin.set_alias(f"dataset/{names[0]}@v1", "prod")
    return {"nodes": [m.node for m in made], "runs": runs}


def _same(store: SqlStore, roots: list[str], *, as_of: int | None = None) -> None:
    """The index's answers equal the recursive SQL's, both ways, at several depths."""
    db = store.sql()
    for upstream in (True, False):
        for depth in (None, 0, 1, 2, 5):
            mine = store.subgraph_columns(roots, upstream=upstream, depth=depth, as_of=as_of)
            want = sql.subgraph(db, roots, upstream=upstream, depth=depth, as_of=as_of)
            assert mine.answer() == want, (upstream, depth, as_of)


def test_every_walk_equals_the_recursive_sql_at_every_seq(sql_store: SqlStore) -> None:
    made = _chain(sql_store, ["a", "b", "c", "d"])
    head = sql_store.head()[0]
    nodes = made["nodes"]
    for seq in range(head + 1):
        _same(sql_store, [nodes[1], nodes[2]], as_of=seq)
        for source in nodes[:2]:
            mine = sql_store.path_subgraph([source], nodes[-1], seq).answer()
            assert mine == sql.path_subgraph(sql_store.sql(), [source], nodes[-1], seq)


def test_the_index_catches_up_with_new_edges(sql_store: SqlStore) -> None:
    made = _chain(sql_store, [f"n{i}" for i in range(10)])  # 18 edges
    index = sql_store.lineage_index()
    _same(sql_store, made["nodes"][:1])
    before, ordered = index.edges, index.base
    assert ordered == before == 18
    lin = Lineal(sql_store)
    c = lin.record_artifact("dataset", data=b"c", name="c")
    run = lin.start_run("more")
    lin.link("used", made["nodes"][1], run)
    lin.link("generated", run, c)
    assert sql_store.closure("dataset/c", upstream=True)[1].id[-1] == made["nodes"][0]
    assert index.last == "caught-up"
    assert (index.edges, index.base) == (before + 2, ordered)  # the new edges in the tail
    _same(sql_store, [c.node, made["nodes"][1]])
    assert index.last == "current"
    for i in range(3):  # past an eighth of the whole: the orders are built again
        lin.link("derived_from", made["nodes"][i], c)
    _same(sql_store, [c.node, made["nodes"][0]])
    assert (index.edges, index.base) == (before + 5, before + 5)
    assert sql_store.verify().ok


def test_a_rolled_back_transaction_leaves_no_edge_behind(sql_store: SqlStore) -> None:
    made = _chain(sql_store, ["a", "b"])
    lin = Lineal(sql_store)
    extra = lin.record_artifact("dataset", data=b"x", name="x")

    def abandoned() -> None:
        with sql_store.atomic():
            lin.link("derived_from", made["nodes"][1], extra)
            # read inside the transaction: the index follows it there
            below = sql_store.subgraph_columns([made["nodes"][1]], upstream=False)
            assert extra.node in below.id
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError):
        abandoned()
    assert extra.node not in sql_store.subgraph_columns([made["nodes"][1]], upstream=False).id
    _same(sql_store, [made["nodes"][0]])
    lin.link("derived_from", made["nodes"][0], extra)  # the same seq again, another record
    _same(sql_store, [made["nodes"][0], extra.node])
    assert sql_store.verify().ok


def test_verify_detects_an_index_in_memory_that_disagrees(sql_store: SqlStore) -> None:
    made = _chain(sql_store, ["a", "b", "c"])
    sql_store.closure("dataset/c", upstream=True)
    assert sql_store.verify().ok
    index = sql_store.lineage_index()
    index.parent = index.parent.copy()
    index.parent[0] = index.child[0]  # an edge that is not in the table
    report = sql_store.verify()
    assert not report.ok
    assert report.problem is not None
    assert "lineage index" in report.problem.what
    assert "parent" in report.problem.what
    assert made


# -- the file beside a SQLite store ----------------------------------------------------------
def _sqlite(tmp_path: Path, name: str = "l.db") -> SqlStore:
    signer = Signer.generate("alice")
    store = open_store(f"sqlite:///{tmp_path / name}", signer, create=True)
    store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    assert isinstance(store, SqlStore)
    return store


def _reopened(tmp_path: Path, name: str = "l.db") -> SqlStore:
    store = open_store(f"sqlite:///{tmp_path / name}")
    assert isinstance(store, SqlStore)
    return store


def test_the_file_is_loaded_by_the_next_process_and_caught_up(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    made = _chain(store, ["a", "b", "c"])
    store.closure("dataset/c", upstream=True)
    file = tmp_path / f"l.db{SUFFIX}"
    assert file.exists()
    store.close()
    again = _reopened(tmp_path)
    _same(again, [made["nodes"][-1]])
    assert again.lineage_index().last in ("loaded", "current")
    again.close()


@pytest.mark.parametrize(
    "damage",
    ["missing", "garbage", "truncated", "other-history", "shuffled"],
)
def test_a_missing_or_bad_file_is_built_again(tmp_path: Path, damage: str) -> None:
    store = _sqlite(tmp_path)
    made = _chain(store, ["a", "b", "c"])
    store.closure("dataset/c", upstream=True)
    store.close()
    file = tmp_path / f"l.db{SUFFIX}"
    if damage == "missing":
        file.unlink()
    elif damage == "garbage":
        file.write_bytes(b"not an index")
    elif damage == "truncated":
        file.write_bytes(file.read_bytes()[:200])
    elif damage == "other-history":  # the file of another store with as many records
        other = _sqlite(tmp_path, "o.db")
        _chain(other, ["p", "q", "r"])
        other.closure("dataset/r", upstream=True)
        other.close()
        file.write_bytes((tmp_path / f"o.db{SUFFIX}").read_bytes())
    else:  # arrays out of shape: an order that is not a permutation
        with np.load(file) as data:
            arrays = {name: data[name] for name in data.files}
        arrays["up_order"] = np.zeros_like(arrays["up_order"])
        with file.open("wb") as out:
            np.savez(out, **arrays)
    again = _reopened(tmp_path)
    _same(again, [made["nodes"][-1], made["nodes"][0]])
    index = again.lineage_index()
    assert again.verify().ok
    again.close()
    fresh = Adjacency(file)
    check = _reopened(tmp_path)
    fresh._load(check.sql())
    assert fresh.last == "loaded"  # the bad file was replaced by a good one
    assert fresh.disagreement(check.sql()) is None
    assert index.edges == fresh.edges
    check.close()


def test_verify_detects_a_file_that_disagrees_with_the_edges(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    _chain(store, ["a", "b", "c"])
    store.closure("dataset/c", upstream=True)
    store.close()
    file = tmp_path / f"l.db{SUFFIX}"
    with np.load(file) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["kinds"] = list(reversed(meta["kinds"]))  # every edge keeps its code, not its kind
    arrays["meta"] = np.array(json.dumps(meta))
    with file.open("wb") as out:
        np.savez(out, **arrays)
    again = _reopened(tmp_path)
    report = again.verify()
    assert not report.ok
    assert report.problem is not None
    assert "kinds differ" in report.problem.what
    again.close()


def test_a_store_in_memory_keeps_no_file(tmp_path: Path) -> None:
    signer = Signer.generate("alice")
    store = open_store("sqlite:///:memory:", signer, create=True)
    store.append(AgentRegister(name=signer.name, public_key=signer.public_key))
    assert isinstance(store, SqlStore)
    made = _chain(store, ["a", "b"])
    _same(store, made["nodes"])
    assert store.lineage_index().file is None
    store.close()


# -- random graphs ----------------------------------------------------------------------------
@st.composite
def _dags(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, str | None]]]:
    """A number of artifacts and edges i -> j (i < j: a DAG) with roles, in recording order."""
    count = draw(st.integers(2, 9))
    pairs = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)).filter(
        lambda p: p[0] < p[1]
    )
    edges = draw(
        st.lists(
            st.tuples(pairs, st.sampled_from([None, "crop"])),
            max_size=18,
        )
    )
    return count, [(a, b, role) for (a, b), role in edges]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(dag=_dags(), data=st.data())
def test_index_walks_equal_the_recursive_sql_on_random_dags(
    tmp_path_factory: pytest.TempPathFactory,
    dag: tuple[int, list[tuple[int, int, str | None]]],
    data: st.DataObject,
) -> None:
    store = _sqlite(tmp_path_factory.mktemp("dag"))
    lin = Lineal(store)
    count, edges = dag
    made = [lin.record_artifact("file", data=f"n{i}".encode(), name=f"n{i}") for i in range(count)]
    for a, b, role in edges:
        lin.link("derived_from", made[a], made[b], role=role)
    head = store.head()[0]
    as_of = data.draw(st.one_of(st.none(), st.integers(0, head)))
    roots = data.draw(st.lists(st.sampled_from([m.node for m in made]), min_size=1, max_size=3))
    _same(store, roots, as_of=as_of)
    target = data.draw(st.sampled_from([m.node for m in made]))
    db = store.sql()
    assert store.path_subgraph(roots, target, as_of).answer() == sql.path_subgraph(
        db, roots, target, as_of
    )
    assert store.verify().ok
    store.close()


def test_lineal_status_loads_no_numpy(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.argv = ['lineal', 'status']\n"
        "from lineal.cli.main import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('numpy' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    init = code.replace("'status'", "'init', '--agent', 'alice'")
    for step in (init, code):
        done = subprocess.run(
            [sys.executable, "-c", step],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
