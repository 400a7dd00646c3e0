"""``@lineal.step``: recorded runs, cache hits that skip the call, restored outputs, lineage.

Real workspaces, real files hashed into the object cache, real SQLite; one real child process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import lineal
from lineal import datasets
from lineal.cas import prune
from lineal.client import Lineal
from lineal.errors import IntegrityError
from lineal.tracking.runs import start
from lineal.tracking.steps import HIT_TAG, RETURNS_TAG, STEP_TAG, step


def _runs(repo: Lineal, name: str) -> list[dict[str, Any]]:
    """Every run called ``name``, oldest first, as repo.show gives it."""
    rows = repo.store.sql().all("SELECT id FROM runs WHERE name = ? ORDER BY seq", (name,))
    return [repo.show(f"run/{row[0]}") for row in rows]


def _edges(shown: dict[str, Any], side: str, kind: str) -> dict[str | None, str]:
    return {e["role"]: e["node"] for e in shown[side] if e["kind"] == kind}


def _upper_step(repo: Lineal, calls: list[str]) -> Callable[..., Path]:
    @step(repo=repo, name="upper")
    def upper(src: Path, out: str, suffix: str = "") -> Path:
        calls.append(src.name)
        Path(out).write_text(src.read_text().upper() + suffix)
        return Path(out)

    return upper


def test_a_second_call_with_the_same_inputs_is_a_cache_hit(ws: Path, repo: Lineal) -> None:
    src, out = ws / "in.txt", ws / "out.txt"
    src.write_text("hello")
    calls: list[str] = []
    upper = _upper_step(repo, calls)

    first = upper(src, str(out))
    second = upper(src, str(out))
    assert calls == ["in.txt"]
    assert first == second == out
    assert type(second) is type(first)
    assert isinstance(second, Path)
    original, hit = _runs(repo, "upper")
    assert original["status"] == hit["status"] == "finished"
    assert hit["tags"][HIT_TAG] == original["ref"]
    assert hit["tags"][STEP_TAG] == original["tags"][STEP_TAG]
    assert HIT_TAG not in original["tags"]
    assert _edges(hit, "upstream", "informed_by") == {None: original["ref"]}
    assert hit["params"] == original["params"] == {"out": str(out), "suffix": ""}
    assert _edges(hit, "upstream", "used")["src"] == _edges(original, "upstream", "used")["src"]
    assert _edges(hit, "downstream", "generated") == _edges(original, "downstream", "generated")

    out.unlink()  # the hit puts the output back, byte for byte
    assert upper(src, str(out)) == out
    assert out.read_text() == "HELLO"
    out.write_text("scribbled on")
    upper(src, str(out))
    assert out.read_text() == "HELLO"
    assert calls == ["in.txt"]

    src.write_text("changed")
    upper(src, str(out))
    assert calls == ["in.txt"] * 2
    assert out.read_text() == "CHANGED"
    upper(src, str(out), suffix="!")
    assert calls == ["in.txt"] * 3
    assert out.read_text() == "CHANGED!"
    src.write_text("hello")  # back to the first content: the first run serves it again
    upper(src, str(out))
    assert calls == ["in.txt"] * 3
    assert out.read_text() == "HELLO"
    assert repo.verify().ok


def test_lineage_edges_and_outputs(ws: Path, repo: Lineal) -> None:
    src = ws / "in.txt"
    src.write_text("abc")
    upper = _upper_step(repo, [])
    upper(src, str(ws / "out.txt"))
    (shown,) = _runs(repo, "upper")
    used = _edges(shown, "upstream", "used")
    assert used["src"] == datasets.resolve_dataset(repo, "dataset/in.txt").node
    assert set(used) - {"env", "code"} == {"src"}  # `out` names where the output goes
    made = _edges(shown, "downstream", "generated")
    assert set(made) == {"return"}
    artifact = repo.resolve(made["return"])
    assert isinstance(artifact, lineal.Artifact)
    assert artifact.kind == "file"
    assert shown["tags"][RETURNS_TAG] == "path"


def test_a_folder_output_is_restored_file_by_file(ws: Path, repo: Lineal) -> None:
    calls: list[int] = []

    @step(repo=repo)
    def split(n: int, into: Path) -> Path:
        calls.append(n)
        into.mkdir(exist_ok=True)
        for i in range(n):
            (into / f"part-{i}.txt").write_text(str(i) * (i + 1))
        return into

    parts = ws / "parts"
    assert split(3, parts) == parts
    (parts / "part-1.txt").unlink()
    (parts / "part-2.txt").write_text("changed")
    assert split(3, parts) == parts
    assert calls == [3]
    assert sorted(p.name for p in parts.iterdir()) == ["part-0.txt", "part-1.txt", "part-2.txt"]
    assert (parts / "part-1.txt").read_text() == "11"
    assert (parts / "part-2.txt").read_text() == "222"
    original, hit = _runs(repo, "split")
    made = repo.resolve(_edges(original, "downstream", "generated")["return"])
    assert isinstance(made, lineal.Artifact)
    assert made.kind == "dataset"
    assert hit["tags"][HIT_TAG] == original["ref"]


def test_a_str_path_and_a_reference_are_inputs(ws: Path, repo: Lineal) -> None:
    data = ws / "data"
    data.mkdir()
    (data / "a.csv").write_text("1,2\n")
    ref = datasets.add(repo, [data], name="table").artifact.ref
    calls: list[str] = []

    @step(repo=repo)
    def count(table: str, folder: str) -> int:
        calls.append(table)
        return len(list(Path(folder).iterdir()))

    assert count(ref, str(data)) == 1
    assert count(ref, str(data)) == 1
    assert len(calls) == 1
    (shown, _) = _runs(repo, "count")
    used = _edges(shown, "upstream", "used")
    assert used["table"] == used["folder"] == repo.resolve(ref).node  # type: ignore[union-attr]
    assert shown["params"] == {}


def test_json_tuple_and_list_returns_come_back_equal_with_their_types(
    ws: Path, repo: Lineal
) -> None:
    src = ws / "in.txt"
    src.write_text("a b c")
    calls: list[str] = []

    @step(repo=repo)
    def stats(src: Path) -> dict[str, Any]:
        calls.append("stats")
        return {"words": len(src.read_text().split()), "ratio": 0.5, "tags": ["x", None]}

    @step(repo=repo)
    def both(src: Path) -> tuple[Path, dict[str, int], str, list[int]]:
        calls.append("both")
        out = ws / "both.txt"
        out.write_text(src.read_text())
        return out, {"n": 3}, str(out), [1, 2]

    @step(repo=repo)
    def many(src: Path) -> list[Any]:
        calls.append("many")
        return [str(src), 1.0, "plain text"]

    results = [(stats(src), both(src), many(src)) for _ in range(2)]
    assert calls == ["stats", "both", "many"]
    assert results[0] == results[1]
    assert results[1][0] == {"words": 3, "ratio": 0.5, "tags": ["x", None]}
    path, counts, text, pair = results[1][1]
    assert isinstance(path, Path)
    assert (type(counts), type(text), type(pair)) == (dict, str, list)
    assert path == ws / "both.txt"
    assert text == str(ws / "both.txt")
    assert results[1][2] == [str(src), 1.0, "plain text"]
    assert type(results[1][2]) is list
    shown = _runs(repo, "both")[0]
    assert shown["tags"][RETURNS_TAG] == "tuple:4"
    made = _edges(shown, "downstream", "generated")
    assert set(made) == {"return.0", "return.1", "return.2", "return.3"}
    assert made["return.0"] == made["return.2"]  # one file, returned as a Path and as a str
    report = repo.resolve(made["return.1"])
    assert isinstance(report, lineal.Artifact)
    assert (report.kind, dict(report.meta)) == ("report", {"type": "json"})


def test_a_failing_step_is_recorded_failed_and_runs_again(ws: Path, repo: Lineal) -> None:
    calls: list[int] = []

    @step(repo=repo)
    def flaky(n: int) -> int:
        calls.append(n)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        return n

    with pytest.raises(RuntimeError, match="disk on fire"):
        flaky(3)
    assert flaky(3) == 3
    assert flaky(3) == 3
    assert calls == [3, 3]
    failed, ok, hit = _runs(repo, "flaky")
    assert failed["status"] == "failed"
    assert failed["error"] == "RuntimeError: disk on fire"
    assert hit["tags"][HIT_TAG] == ok["ref"]


def test_cache_false_always_runs_and_odd_params_never_hit(repo: Lineal) -> None:
    calls: list[str] = []

    @step(repo=repo, cache=False)
    def always(n: int) -> int:
        calls.append("always")
        return n

    @step(repo=repo)
    def odd(thing: object, n: int) -> int:
        calls.append("odd")
        return n

    @step(repo=repo)
    def opaque(n: int) -> object:
        calls.append("opaque")
        return object()

    @step(repo=repo)
    def nested(n: int) -> tuple[int, tuple[int, int]]:
        calls.append("nested")
        return n, (n, n)  # the inner tuple would come back as a list: not cached

    marker = object()
    for _ in range(2):
        assert always(1) == 1
        assert odd(marker, 2) == 2
        assert isinstance(opaque(3), object)
        assert nested(4) == (4, (4, 4))
    assert calls == ["always", "odd", "opaque", "nested"] * 2
    first = _runs(repo, "odd")[0]
    assert first["params"]["thing"] == repr(marker)
    assert STEP_TAG not in first["tags"]
    assert STEP_TAG not in _runs(repo, "opaque")[0]["tags"]
    # A forced run is keyed: it serves a later call that allows the cache.
    assert STEP_TAG in _runs(repo, "always")[0]["tags"]


def test_a_missing_cached_object_is_a_miss(ws: Path, repo: Lineal) -> None:
    src, out = ws / "in.txt", ws / "out.txt"
    src.write_text("hello")
    calls: list[str] = []
    upper = _upper_step(repo, calls)
    upper(src, str(out))
    cache = datasets.objects(repo)
    content = next(e for e in datasets.manifest_of(repo, repo.resolve("file/out.txt")).entries)  # type: ignore[arg-type]
    prune.remove(cache, [content.digest])
    out.unlink()
    upper(src, str(out))
    assert calls == ["in.txt"] * 2
    assert out.read_text() == "HELLO"


def test_a_damaged_cached_object_is_never_served(ws: Path, repo: Lineal) -> None:
    @step(repo=repo)
    def answer() -> dict[str, int]:
        return {"answer": 42}

    answer()
    (shown,) = _runs(repo, "answer")
    digest = _edges(shown, "downstream", "generated")["return"]
    path = datasets.objects(repo).path(digest)
    path.chmod(0o644)
    path.write_bytes(b'{"answer":41}')
    with pytest.raises(IntegrityError, match="damaged"):
        answer()
    assert _runs(repo, "answer")[-1]["status"] == "failed"


def test_a_step_inside_a_run_is_informed_by_it(repo: Lineal) -> None:
    @step(repo=repo)
    def inner(n: int) -> int:
        return n + 1

    with start(repo, "pipeline", capture_env=False) as parent:
        assert inner(1) == 2
        assert inner(1) == 2
    for shown in _runs(repo, "inner"):
        assert parent.ref in _edges_all(shown, "informed_by")


def _edges_all(shown: dict[str, Any], kind: str) -> list[str]:
    return [e["node"] for e in shown["upstream"] if e["kind"] == kind]


def _load(path: Path, body: str) -> ModuleType:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    spec = importlib.util.spec_from_file_location("stepmod", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


V1 = """
def transform(n):
    return n * 2
"""
V2 = """
def transform(n):
    return n * 3
"""


def test_changed_source_runs_again(tmp_path: Path, repo: Lineal) -> None:
    a = step(repo=repo)(_load(tmp_path / "v1" / "stepmod.py", V1).transform)
    same = step(repo=repo)(_load(tmp_path / "v1b" / "stepmod.py", V1).transform)
    b = step(repo=repo)(_load(tmp_path / "v2" / "stepmod.py", V2).transform)
    assert (a(5), same(5), b(5)) == (10, 10, 15)
    runs = _runs(repo, "transform")
    assert len(runs) == 3
    assert runs[1]["tags"][HIT_TAG] == runs[0]["ref"]
    assert HIT_TAG not in runs[2]["tags"]


def test_changed_source_without_a_source_file_runs_again(repo: Lineal) -> None:
    def compile_step(body: str) -> Callable[..., Any]:
        namespace: dict[str, Any] = {"__name__": "generated"}
        exec(textwrap.dedent(body), namespace)  # noqa: S102 - a function with no source file
        return step(repo=repo)(namespace["transform"])

    nested = """
    def transform(n):
        return [x for x in range(n) if x in {"a", "b"} or x > 0]
    """
    assert compile_step(V1)(4) == 8
    assert compile_step(V2)(4) == 12
    assert compile_step(nested)(3) == [1, 2]
    assert compile_step(nested)(3) == [1, 2]
    runs = _runs(repo, "transform")
    assert [HIT_TAG in shown["tags"] for shown in runs] == [False, False, False, True]


def test_the_key_is_the_same_in_another_process(ws: Path, repo: Lineal) -> None:
    module = ws / "pipeline_mod.py"
    module.write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            import lineal
            from lineal.tracking.steps import step

            @step(name="shout")
            def shout(src: Path, level: int = 2) -> tuple[Path, dict[str, int]]:
                with open("calls.log", "a") as log:
                    log.write("call\\n")
                out = src.with_suffix(".out")
                out.write_text(src.read_text().upper() * level)
                return out, {"level": level, "words": {"a", "b"}.__len__()}
            """
        )
    )
    (ws / "in.txt").write_text("hey")
    script = (
        "import json, pathlib, pipeline_mod\n"
        "print(json.dumps(pipeline_mod.shout(pathlib.Path('in.txt'))[1]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ws), "PYTHONHASHSEED": "random"}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c", script],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"level": 2, "words": 2}
    assert (ws / "calls.log").read_text() == "call\n"
    assert (ws / "in.out").read_text() == "HEYHEY"
    first, second = _runs(repo, "shout")
    assert second["tags"][HIT_TAG] == first["ref"]
