"""`lineal import dvc` on the real sample projects in ../shared/data/dvc: everything DVC wrote
is imported (counts checked against the YAML files), the pipeline joins up, a second import
adds nothing, on every store backend; bad input gets one clear line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from dvc_support import copy_sample, lock_stages, tracked_outs

from cli_checks import error_and_hint
from lineal.client import Lineal
from lineal.errors import InvalidInput, NotFound
from lineal.interop.dvc_import import import_dvc
from lineal.interop.dvc_naming import dep_kind, lineal_name, out_kind
from lineal.lineage.queries import upstream
from lineal.model import canonical
from lineal.model.digests import digest_bytes
from lineal.model.entities import Artifact, Run
from lineal.store.base import Store

if TYPE_CHECKING:
    from conftest import Cli

EXPERIMENTS = "iterative__example-get-started-experiments"
REGISTRY = "iterative__dataset-registry"


def _placeholder(path: str, md5: str) -> str:
    return digest_bytes(canonical.encode({"path": path, "md5": md5}))


def test_the_experiments_pipeline_imports_whole_and_reaches_its_raw_data(
    repo: Lineal, shared_data: Path, tmp_path: Path
) -> None:
    root = copy_sample(shared_data, EXPERIMENTS, tmp_path)
    stages = lock_stages(root)
    outs = {o["path"]: o for s in stages.values() for o in s["outs"]}
    deps = {d["path"]: d for s in stages.values() for d in s["deps"]}
    tracked = tracked_outs(root)
    result = import_dvc(repo, root)

    assert result.files == len(tracked) == 1
    assert result.stages == len(stages) == 4
    assert result.added_runs == len(stages)
    # Each stage: its deps used, its outs generated, and its command used.
    assert (
        result.edges
        == result.added_edges
        == sum(len(s["deps"]) + len(s["outs"]) + 1 for s in stages.values())
    )
    # Every distinct path is one version: outs, the .dvc file's data, deps no stage makes.
    paths = set(outs) | set(deps) | {"data/pool_data"}
    assert result.datasets + result.models + result.code + result.configs == len(paths)
    assert result.models == 2  # models/model.pkl and models/model.pth
    assert result.code == 3  # src/*.py
    assert result.absent == len(paths)
    assert result.hashed == 0
    assert result.unrun == ()

    # Each out is a version named after its path, DVC's record and a placeholder identity kept.
    for path, out in outs.items():
        kind = "model" if path.startswith("models/") else "dataset"
        found = repo.resolve(f"{kind}/{lineal_name(path)}")
        assert isinstance(found, Artifact)
        assert found.digest == _placeholder(path, out["md5"])
        assert found.meta["content"] == "absent"
        assert found.meta["dvc"]["md5"] == out["md5"]
        assert found.meta["dvc"]["path"] == path
        assert found.meta["dvc"]["size"] == out["size"]
        assert found.meta["dvc"].get("nfiles") == out.get("nfiles")
    declared = repo.resolve("model/models-model.pkl")
    assert isinstance(declared, Artifact)
    assert declared.meta["dvc"]["artifact"]["name"] == "pool-segmentation"

    # Runs: named after the stage, the lock's params flattened, cmd kept.
    for run_ref in result.runs:
        run = repo.resolve(run_ref)
        assert isinstance(run, Run)
        assert run.status == "finished"
        entry = stages[run.meta["dvc"]["stage"]]
        assert run.name == run.meta["dvc"]["stage"]
        assert run.meta["dvc"]["cmd"] == entry["cmd"]
    train = next(
        r for r in map(repo.resolve, result.runs) if isinstance(r, Run) and r.name == "train"
    )
    assert isinstance(train, Run)
    assert train.params["train.fine_tune_args.epochs"] == 8
    assert train.params["train.arch"] == "shufflenet_v2_x2_0"
    assert train.params["base.random_seed"] == 42

    # The lineage of the final evaluation reaches the raw data through every stage.
    graph = upstream(repo, "dataset/results-evaluate")
    names = {node.name for node in graph.nodes.values()}
    assert {"data-pool_data", "data-train_data", "data-test_data", "models-model.pkl"} <= names
    assert {"evaluate", "train", "data_split"} <= names
    raw = repo.resolve("dataset/data-pool_data")
    assert isinstance(raw, Artifact)
    assert raw.node in graph.nodes

    # A second import adds nothing.
    head = repo.store.head()
    again = import_dvc(repo, root)
    assert repo.store.head() == head
    assert (again.added_versions, again.added_runs, again.added_edges) == (0, 0, 0)
    assert again.runs == result.runs
    assert again.edges == result.edges


def test_the_dataset_registry_imports_every_dvc_file_on_every_store(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    root = copy_sample(shared_data, REGISTRY, tmp_path)
    repo = Lineal(store)
    tracked = tracked_outs(root)
    result = import_dvc(repo, root)
    assert result.files == len(tracked) == 8
    assert result.datasets == result.added_versions == result.absent == 8
    assert (result.stages, result.models, result.edges) == (0, 0, 0)
    for file, out in tracked:
        folder = file.parent.relative_to(root).as_posix()
        base = folder if "wdir" not in yaml.safe_load(file.read_text()) else ""
        path = f"{base}/{out['path']}".lstrip("/")
        found = repo.resolve(f"dataset/{lineal_name(path)}")
        assert isinstance(found, Artifact)
        assert found.digest == _placeholder(path, out["md5"])
        assert found.meta["dvc"]["md5"] == out["md5"]
        assert found.meta["dvc"]["file"] == file.relative_to(root).as_posix()
    described = repo.resolve("dataset/get-started-data.xml")
    assert isinstance(described, Artifact)
    assert described.meta["description"] == "10K StackOverflow posts (1/3 is R lang)"
    head = store.head()
    assert import_dvc(repo, root).added_versions == 0
    assert store.head() == head


def test_the_cli_imports_and_prints_json(
    ws: Path, shared_data: Path, tmp_path: Path, lineal_cli: Cli
) -> None:
    root = copy_sample(shared_data, EXPERIMENTS, tmp_path)
    done = lineal_cli("import", "dvc", str(root), "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["stages"] == 4
    assert body["files"] == 1
    assert body["added_runs"] == 4
    assert set(body) >= {"files", "datasets", "models", "stages", "edges", "hashed", "absent"}
    done = lineal_cli("import", "dvc", str(root), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "Added 0 versions, 0 runs and 0 edges" in done.stdout
    shown = lineal_cli("upstream", "dataset/model.tar.gz", cwd=ws)
    assert "sagemaker" in shown.stdout
    assert "model/models-model.pth" in shown.stdout
    assert "dataset/data-pool_data" in shown.stdout


def test_a_folder_that_is_not_a_dvc_repository_is_one_clear_line(
    ws: Path, tmp_path: Path, lineal_cli: Cli
) -> None:
    (tmp_path / "plain").mkdir()
    done = lineal_cli("import", "dvc", str(tmp_path / "plain"), cwd=ws)
    error, hint = error_and_hint(done)
    assert "is not a DVC repository" in error
    assert "no .dvc/ folder" in error
    assert "dvc init" in hint
    missing = lineal_cli("import", "dvc", str(tmp_path / "nowhere"), cwd=ws)
    assert "no such folder" in error_and_hint(missing)[0]


@pytest.mark.parametrize(
    ("lock", "problem"),
    [
        ("schema: '2.0'\nstages:\n  train:\n\tcmd: x\n", "cannot start any token at line 4"),
        ("schema: '2.0'\nstages:\n  train:\n    outs: []\n", "must be a mapping with a cmd"),
        ("schema: '2.0'\nstages:\n  t:\n    cmd: x\n    outs: [{md5: abc}]\n", "with a path"),
        ("schema: '9.9'\nstages: {}\n", "unknown schema"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_a_malformed_dvc_lock_is_one_clear_line_and_writes_nothing(
    repo: Lineal, shared_data: Path, tmp_path: Path, lock: str, problem: str
) -> None:
    root = copy_sample(shared_data, EXPERIMENTS, tmp_path)
    (root / "dvc.lock").write_text(lock)
    head = repo.store.head()
    with pytest.raises(InvalidInput) as caught:
        import_dvc(repo, root)
    assert str(caught.value).startswith("malformed dvc.lock: ")
    assert problem in str(caught.value)
    assert caught.value.hint is not None
    assert "dvc repro" in caught.value.hint
    assert repo.store.head() == head  # read before anything is written


def test_a_malformed_dvc_lock_through_the_cli(
    ws: Path, shared_data: Path, tmp_path: Path, lineal_cli: Cli
) -> None:
    root = copy_sample(shared_data, EXPERIMENTS, tmp_path)
    (root / "dvc.lock").write_text("schema: '2.0'\nstages:\n  train: {cmd: 'a', deps: [\n")
    error, hint = error_and_hint(lineal_cli("import", "dvc", str(root), cwd=ws))
    assert error.startswith("error: malformed dvc.lock: ")
    assert "git checkout -- dvc.lock" in hint


def test_the_service_refuses_a_missing_path(repo: Lineal, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        import_dvc(repo, tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("path", "name", "as_out", "as_dep"),
    [
        ("data/pool_data", "data-pool_data", "dataset", "dataset"),
        ("data/my file (1).csv", "data-my-file--1-.csv", "dataset", "dataset"),
        ("models/model.bin", "models-model.bin", "model", "model"),
        ("weights/net.onnx", "weights-net.onnx", "model", "model"),
        ("out/Model/final", "out-Model-final", "model", "model"),
        ("src/train.py", "src-train.py", "dataset", "code"),
        ("conf/train.yaml", "conf-train.yaml", "dataset", "config"),
        (".hidden/x", "hidden-x", "dataset", "dataset"),
        ("declared/thing", "declared-thing", "model", "model"),
    ],
)
def test_names_and_kinds_follow_the_documented_rule(
    path: str, name: str, as_out: str, as_dep: str
) -> None:
    declared = {"declared/thing": {"name": "thing", "type": "model"}}
    assert lineal_name(path) == name
    assert out_kind(path, declared) == as_out
    assert dep_kind(path, declared) == as_dep


def test_dvc_2_entries_match_text_files_by_the_md5_dvc_2_gave_them(
    repo: Lineal, tmp_path: Path
) -> None:
    # A DVC 2 `.dvc` file (no `hash: md5`): DVC 2 hashed text with CRLF made LF, binary as is.
    root = tmp_path / "old"
    (root / ".dvc").mkdir(parents=True)
    text, binary = b"id,label\r\n1,cat\r\n", b"\x00\x01\r\n\x02" * 100
    (root / "labels.csv").write_bytes(text)
    (root / "blob.bin").write_bytes(binary)

    def md5(data: bytes) -> str:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    for name, digest in (
        ("labels.csv", md5(text.replace(b"\r\n", b"\n"))),
        ("blob.bin", md5(binary)),
    ):
        (root / f"{name}.dvc").write_text(f"outs:\n- md5: {digest}\n  path: {name}\n")
    result = import_dvc(repo, root)
    assert (result.hashed, result.absent) == (2, 0)
    for name, data in (("labels.csv", text), ("blob.bin", binary)):
        found = repo.resolve(f"dataset/{name}")
        assert isinstance(found, Artifact)
        assert found.digest == "sha256:" + hashlib.sha256(data).hexdigest()
        assert "hash" not in found.meta["dvc"]


def test_an_out_a_stage_used_unchanged_is_used_not_generated(repo: Lineal, tmp_path: Path) -> None:
    root = tmp_path / "persist"
    (root / ".dvc").mkdir(parents=True)
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  grow:\n    cmd: append\n"
        "    deps:\n    - path: state.db\n      hash: md5\n      md5: 'aa'\n"
        "    outs:\n    - path: state.db\n      hash: md5\n      md5: 'aa'\n      persist: true\n"
    )
    result = import_dvc(repo, root)
    assert result.edges == 2  # the command and the dep
    kinds = sorted(e.kind for e in repo.edges(result.runs[0]))
    assert kinds == ["used", "used"]


def test_stages_are_recorded_in_pipeline_order_whatever_order_dvc_wrote(
    repo: Lineal, tmp_path: Path
) -> None:
    root = tmp_path / "reversed"
    (root / ".dvc").mkdir(parents=True)

    def entry(name: str, dep: str, dep_md5: str, out: str, out_md5: str) -> str:
        return (
            f"  {name}:\n    cmd: {name}\n"
            f"    deps:\n    - path: {dep}\n      hash: md5\n      md5: '{dep_md5}'\n"
            f"    outs:\n    - path: {out}\n      hash: md5\n      md5: '{out_md5}'\n"
        )

    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n"
        + entry("evaluate", "model.pt", "c2", "report.json", "d3")
        + entry("train", "clean.csv", "b1", "model.pt", "c2")
        + entry("clean", "raw.csv", "a0", "clean.csv", "b1")
    )
    result = import_dvc(repo, root)
    names = [run.name for run in map(repo.resolve, result.runs) if isinstance(run, Run)]
    assert names == ["clean", "train", "evaluate"]
    graph = upstream(repo, "dataset/report.json")
    assert repo.node("dataset/raw.csv") in graph.nodes


def test_where_dvc_import_took_data_from_is_kept_without_credentials(
    repo: Lineal, tmp_path: Path
) -> None:
    root = tmp_path / "imports"
    (root / "data").mkdir(parents=True)
    (root / ".dvc").mkdir()
    (root / "data" / "data.xml.dvc").write_text(  # as `dvc import` writes it
        "md5: 3bd4b4a4b4c5e0a5e3c3f6c3d1c1a1b1\nfrozen: true\ndeps:\n"
        "- path: get-started/data.xml\n  repo:\n"
        "    url: https://github.com/iterative/dataset-registry\n"
        "    rev_lock: f31f5c4cdae787b4bdeb97a717687d44667d9e62\n"
        "outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f\n  size: 14445097\n  hash: md5\n"
        "  path: data.xml\n"
    )
    (root / "data" / "web.csv.dvc").write_text(  # as `dvc import-url` writes it
        "deps:\n- path: https://reader:s3cr3t-token@example.com/web.csv\n  etag: '\"abc\"'\n"
        "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  hash: md5\n"
        "  path: web.csv\n"
    )
    import_dvc(repo, root)
    imported = repo.resolve("dataset/data-data.xml")
    assert isinstance(imported, Artifact)
    (source,) = imported.meta["dvc"]["import"]
    assert source["repo"]["url"] == "https://github.com/iterative/dataset-registry"
    assert source["path"] == "get-started/data.xml"
    web = repo.resolve("dataset/data-web.csv")
    assert isinstance(web, Artifact)
    assert "s3cr3t-token" not in json.dumps(web.meta)
    assert web.meta["dvc"]["import"][0]["path"].startswith("https://")
