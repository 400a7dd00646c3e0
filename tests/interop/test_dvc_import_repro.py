"""`lineal import dvc` on a DVC repository the real `dvc` builds here (git, `dvc add`, `dvc
stage add`, `dvc repro`, offline): sha256 from the workspace and the DVC cache, git times and
authors, nothing added twice, new versions and runs only after new data; absent bytes found
later; and an import killed half-way finishes when run again."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from dvc_support import dvc, git, lock_stages, tracked_outs

from lineal import datasets
from lineal.client import Lineal
from lineal.interop.dvc_import import import_dvc
from lineal.interop.dvc_naming import lineal_name, out_kind
from lineal.lineage.queries import upstream
from lineal.model import canonical
from lineal.model.entities import Artifact, Run

STAGES = {
    "vocab": (
        ["src/vocab.txt"],
        [],
        ["data/vocab.txt"],
        "tr a-z A-Z < src/vocab.txt > data/vocab.txt",
    ),
    "prep": (
        ["data/raw", "src/prep.sh"],
        ["prep.scale"],
        ["data/prepared"],
        "sh src/prep.sh",
    ),
    "train": (
        ["data/prepared", "data/vocab.txt", "data/labels.csv"],
        ["train"],
        ["models/model.pkl", "metrics.json"],
        "mkdir -p models && cat data/prepared/a.txt data/vocab.txt > models/model.pkl"
        " && echo '{\"acc\": 0.5}' > metrics.json",
    ),
}


def _build(root: Path) -> None:
    root.mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    (root / "data" / "raw" / "sub").mkdir(parents=True)
    (root / "data" / "raw" / "a.txt").write_text("alpha\n")
    (root / "data" / "raw" / "b.csv").write_bytes(b"x,y\r\n1,2\n")
    (root / "data" / "raw" / "sub" / "c.bin").write_bytes(bytes(range(256)) * 40)
    (root / "data" / "labels.csv").write_text("id,label\n1,cat\n")
    (root / "src").mkdir()
    (root / "src" / "vocab.txt").write_text("cat\ndog\n")
    (root / "src" / "prep.sh").write_text(
        "mkdir -p data/prepared && cp -r data/raw/. data/prepared/\n"
    )
    (root / "params.yaml").write_text("prep:\n  scale: 2\ntrain:\n  lr: 0.1\n  layers: [8, 4]\n")
    dvc(root, "add", "-q", "data/raw", "data/labels.csv")
    for name, (deps, params, outs, cmd) in STAGES.items():
        args = [a for d in deps for a in ("-d", d)] + [a for p in params for a in ("-p", p)]
        args += [a for o in outs for a in ("-o", o)]
        dvc(root, "stage", "add", "-q", "-n", name, *args, cmd)
    # foreach and matrix stages (written by hand: `dvc stage add` makes neither), one of them
    # with params from two files.
    (root / "extra.yaml").write_text("extra:\n  depth: 3\n")
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    pipeline["stages"]["shard"] = {
        "foreach": ["us", "eu"],
        "do": {"cmd": "mkdir -p shards && echo ${item} > shards/${item}.txt",
               "outs": ["shards/${item}.txt"]},
    }  # fmt: skip
    pipeline["stages"]["grid"] = {
        "matrix": {"size": [1, 2]},
        "cmd": "mkdir -p grid && echo ${item.size} > grid/${item.size}.txt",
        "params": ["prep.scale", {"extra.yaml": ["extra.depth"]}],
        "outs": ["grid/${item.size}.txt"],
    }
    (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    dvc(root, "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pipeline")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DVC repository, built once (dvc takes seconds a command); tests take copies."""
    root = tmp_path_factory.mktemp("dvc") / "project"
    _build(root)
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "project", symlinks=True))


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _outs(root: Path) -> dict[str, str]:
    """Every out DVC wrote (stages and .dvc files): path -> md5."""
    found = {o["path"]: o["md5"] for s in lock_stages(root).values() for o in s["outs"]}
    for file, out in tracked_outs(root):
        found[(file.parent / out["path"]).relative_to(root).as_posix()] = out["md5"]
    return found


def _check_digests(repo: Lineal, root: Path, outs: dict[str, str]) -> None:
    """Each out's version holds the sha256 of its bytes (a folder: of each of its files)."""
    for path, md5 in outs.items():
        kind = out_kind(path, {})
        found = repo.resolve(f"{kind}/{lineal_name(path)}")
        assert isinstance(found, Artifact), path
        assert found.meta["dvc"]["md5"] == md5
        assert found.meta["content"] == "present"
        target = root / path
        if target.is_file():
            assert found.digest == _sha(target.read_bytes()), path
            assert found.size == target.stat().st_size
            continue
        manifest = datasets.manifest_of(repo, found)
        files = {p.relative_to(target).as_posix(): p for p in target.rglob("*") if p.is_file()}
        assert set(manifest.by_path()) == set(files), path
        for rel, entry in manifest.by_path().items():
            assert entry.digest == _sha(files[rel].read_bytes()), (path, rel)
            assert entry.size == files[rel].stat().st_size


def test_a_repository_built_by_dvc_imports_with_the_sha256_of_every_out(
    repo: Lineal, project: Path
) -> None:
    outs = _outs(project)
    (project / "dvc.yaml").write_text(
        (project / "dvc.yaml").read_text() + "  later:\n    cmd: echo not yet\n"
    )  # declared, never run: no lock entry
    result = import_dvc(repo, project)
    assert result.stages == 7
    assert result.files == 2
    assert result.unrun == ("later",)
    assert result.absent == 0
    assert result.hashed == result.datasets + result.models + result.code + result.configs
    assert (result.models, result.code) == (1, 1)  # models/model.pkl; src/prep.sh
    _check_digests(repo, project, outs)

    # Times and authors come from git: the commit of dvc.lock.
    commit = git(project, "log", "-1", "--format=%H%x00%aI").strip().split("\x00")
    when = canonical.format_time(datetime.fromisoformat(commit[1]))
    for ref in result.runs:
        run = repo.resolve(ref)
        assert isinstance(run, Run)
        assert run.meta["author"] == "dana@example.org"
        assert run.meta["dvc"]["commit"] == commit[0]
        assert run.started == when
    runs = {r.name: r for r in map(repo.resolve, result.runs) if isinstance(r, Run)}
    assert set(runs) == {"vocab", "prep", "train", "shard-us", "shard-eu", "grid-1", "grid-2"}
    assert runs["train"].params == {"train.lr": 0.1, "train.layers": [8, 4]}
    assert runs["prep"].params == {"prep.scale": 2}
    assert runs["grid-2"].params == {"prep.scale": 2, "extra.yaml:extra.depth": 3}
    assert runs["shard-eu"].meta["dvc"]["stage"] == "shard@eu"
    assert [e.child for e in repo.edges(runs["shard-eu"]) if e.kind == "generated"] == [
        repo.node("dataset/shards-eu.txt")
    ]
    graph = upstream(repo, "model/models-model.pkl")
    names = {node.name for node in graph.nodes.values()}
    assert {"data-raw", "data-prepared", "data-labels.csv", "src-vocab.txt", "prep"} <= names

    head = repo.store.head()
    assert import_dvc(repo, project).added_versions == 0
    assert repo.store.head() == head
    # What was hashed once is known by its md5: gone from the disk, it is not "absent" now.
    shutil.rmtree(project / ".dvc" / "cache")
    shutil.rmtree(project / "data" / "prepared")
    again = import_dvc(repo, project)
    assert again.absent == 0
    assert repo.store.head() == head


def test_new_raw_data_and_a_repro_add_new_versions_and_new_runs_only(
    repo: Lineal, project: Path
) -> None:
    first = import_dvc(repo, project)
    (project / "data" / "raw" / "a.txt").write_text("alpha, revised\n")
    dvc(project, "add", "-q", "data/raw")
    dvc(project, "repro", "-q")
    outs = _outs(project)
    second = import_dvc(repo, project)
    # prep and train ran again; vocab did not (its lock entry is unchanged).
    assert second.added_runs == 2
    assert first.runs[0] in second.runs
    assert repo.versions("dataset", "data-vocab.txt") == [
        repo.versions("dataset", "data-vocab.txt")[0]
    ]
    for kind, name in (
        ("dataset", "data-raw"),
        ("dataset", "data-prepared"),
        ("model", "models-model.pkl"),
    ):
        assert len(repo.versions(kind, name)) == 2, name
    assert len(repo.versions("dataset", "data-labels.csv")) == 1
    _check_digests(repo, project, outs)  # the latest versions are the new bytes
    # The folder versions' manifests are in lineal's cache: they diff file by file.
    changed = datasets.diff_versions(repo, "dataset/data-raw@v1", "dataset/data-raw@v2")[2]
    assert [new.path for _, new in changed.modified] == ["a.txt"]
    assert not changed.added
    assert not changed.removed
    # The new model's lineage reaches the new raw data; the old one's still the old.
    new = upstream(repo, "model/models-model.pkl@v2")
    old = upstream(repo, "model/models-model.pkl@v1")
    raw = [repo.resolve(f"dataset/data-raw@v{n}") for n in (1, 2)]
    assert raw[1].node in new.nodes
    assert raw[0].node not in new.nodes
    assert raw[0].node in old.nodes
    assert raw[1].node not in old.nodes
    head = repo.store.head()
    third = import_dvc(repo, project)
    assert repo.store.head() == head
    assert third.added_versions == 0


def test_bytes_only_in_the_cache_are_hashed_and_absent_ones_added_when_found(
    repo: Lineal, project: Path, tmp_path: Path
) -> None:
    outs = _outs(project)
    expected = {p: (project / p) for p in outs}
    kept = {p: _sha(t.read_bytes()) for p, t in expected.items() if t.is_file()}
    shutil.rmtree(project / "data" / "prepared")
    (project / "models" / "model.pkl").unlink()
    shutil.move(project / ".dvc" / "cache", tmp_path / "away")
    early = import_dvc(repo, project)
    assert early.absent == 2  # the prepared folder and the model: in neither place
    model = repo.resolve("model/models-model.pkl")
    assert isinstance(model, Artifact)
    assert model.meta["content"] == "absent"

    shutil.move(tmp_path / "away", project / ".dvc" / "cache")  # e.g. after `dvc pull`
    later = import_dvc(repo, project)
    assert later.absent == 0
    assert later.added_runs == 0
    assert later.added_versions == early.absent
    model = repo.resolve("model/models-model.pkl")
    assert isinstance(model, Artifact)
    assert model.meta["content"] == "present"
    assert model.digest == kept["models/model.pkl"]  # hashed from the DVC cache
    assert model.version == 2
    # The run that made the placeholder made the real bytes too.
    makers = [e.parent for e in repo.edges(model) if e.kind == "generated"]
    train = [r for r in later.runs if repo.resolve(r).name == "train"]  # type: ignore[union-attr]
    assert makers == train
    prepared = repo.resolve("dataset/data-prepared")
    assert isinstance(prepared, Artifact)
    assert prepared.meta["files"] == 3


def _chain(root: Path, stages: int) -> None:
    """A DVC project written as DVC writes it: ``stages`` stages, each using the one before."""
    (root / ".dvc").mkdir(parents=True)
    lines = ["schema: '2.0'", "stages:"]
    for i in range(stages):
        lines += [f"  s{i}:", f"    cmd: step {i}", "    deps:"]
        used, md5 = (f"data/{i - 1}.bin", f"{i - 1:032x}") if i else ("raw.bin", "f" * 32)
        lines += [f"    - path: {used}", "      hash: md5", f"      md5: '{md5}'"]
        lines += [
            "    outs:",
            f"    - path: data/{i}.bin",
            "      hash: md5",
            f"      md5: '{i:032x}'",
        ]
    (root / "dvc.lock").write_text("\n".join(lines) + "\n")


@pytest.mark.serial
def test_an_import_killed_half_way_finishes_when_run_again(ws: Path, tmp_path: Path) -> None:
    root = tmp_path / "chain"
    _chain(root, 300)
    code = (
        "import sys; from lineal.client import Lineal; "
        "from lineal.interop.dvc_import import import_dvc; "
        "import_dvc(Lineal.open(path=sys.argv[1]), sys.argv[2])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(ws), str(root)])
    try:
        with Lineal.open(path=ws, write=False) as reader:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if len(reader.store.search_runs(None, limit=10)[0]) >= 3:
                    break
                time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    with Lineal.open(path=ws) as repo:
        landed = len(repo.store.search_runs(None)[0])
        assert 0 < landed < 300, "the import was not interrupted half-way: make it longer"
        result = import_dvc(repo, root)
        assert result.added_runs == 300 - landed
        runs = repo.store.search_runs(None)[0]
        assert sorted(r.name for r in runs) == sorted(f"s{i}" for i in range(300))
        assert all(len(repo.versions("dataset", f"data-{i}.bin")) == 1 for i in range(300))
        assert repo.verify().ok
        last = upstream(repo, "dataset/data-299.bin")
        assert repo.resolve("dataset/data-0.bin").node in last.nodes  # type: ignore[union-attr]
