"""`lineal verify` checks the bytes behind every version: an object removed from the cache or
damaged in it is named by the version that needs it; --objects and --sample re-hash them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cli_checks import error_and_hint
from lineal.cas import prune
from lineal.client import Lineal
from lineal.datasets import objects
from lineal.model.digests import digest_bytes

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def space(tmp_path: Path, lineal_cli: Cli) -> Path:
    """A workspace with dataset/x@v1 (files a, b, c) and dataset/y@v1 (file d), all packed."""
    assert lineal_cli("init", "--agent", "alice", cwd=tmp_path).returncode == 0
    for name, files in (("x", "abc"), ("y", "d")):
        folder = tmp_path / name
        folder.mkdir()
        for file in files:
            (folder / file).write_bytes(f"contents of {file}, for {name}\n".encode())
        done = lineal_cli("add", name, "--name", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return tmp_path


@pytest.fixture
def repo(space: Path) -> Iterator[Lineal]:
    with Lineal.open(path=space) as opened:
        yield opened


def digest_of(space: Path, name: str, file: str) -> str:
    return digest_bytes((space / name / file).read_bytes())


def corrupt(space: Path, name: str, file: str) -> None:
    """Flip one byte of a packed object where it sits in its pack (it keeps its name)."""
    data = (space / name / file).read_bytes()
    for pack in (space / ".lineal" / "objects" / "packs").glob("*.pack"):
        body = pack.read_bytes()
        at = body.find(data)
        if at >= 0:
            pack.chmod(0o644)
            pack.write_bytes(body[:at] + b"X" + body[at + 1 :])
            return
    raise AssertionError(f"{name}/{file} is in no pack")


def test_a_healthy_cache_verifies(space: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("verify", "--objects", cwd=space)
    assert done.returncode == 0, done.stderr
    assert "OK: 6 objects of 2 versions; all 6 objects re-hashed" in done.stdout


def test_a_removed_object_names_its_version(space: Path, repo: Lineal, lineal_cli: Cli) -> None:
    prune.remove(objects(repo), [digest_of(space, "x", "b")])
    done = lineal_cli("verify", cwd=space)
    lines = error_and_hint(done, "verify")
    assert "  dataset/x@v1: 1 of 3 files missing" in done.stdout.splitlines()
    assert "dataset/y" not in done.stdout
    assert lines[0] == "error: the data of 1 version is not all here (1 object missing)"
    assert "lineal add" in lines[1]
    report = json.loads(lineal_cli("verify", "--json", cwd=space).stdout)
    assert report["ok"] is False
    assert report["ledger_ok"] is True
    assert report["objects"]["missing"] == [digest_of(space, "x", "b")]
    assert report["objects"]["versions_with_problems"] == [
        {"ref": "dataset/x@v1", "own_object": None, "files": 3, "missing": 1, "damaged": 0,
         "not_pulled": 0}
    ]  # fmt: skip


def test_a_removed_manifest_names_its_version(space: Path, repo: Lineal, lineal_cli: Cli) -> None:
    version = repo.resolve("dataset/y")
    prune.remove(objects(repo), [version.digest])  # type: ignore[union-attr]
    done = lineal_cli("verify", cwd=space)
    error_and_hint(done, "verify")
    assert "  dataset/y@v1: manifest missing" in done.stdout.splitlines()


def test_a_damaged_object_is_found_by_rehashing(space: Path, lineal_cli: Cli) -> None:
    corrupt(space, "x", "c")
    # Presence alone is all the cheap check sees.
    assert lineal_cli("verify", cwd=space).returncode == 0
    done = lineal_cli("verify", "--objects", cwd=space)
    lines = error_and_hint(done, "verify --objects")
    assert "  dataset/x@v1: 1 of 3 files damaged" in done.stdout.splitlines()
    assert lines[0] == "error: the data of 1 version is not all here (1 object damaged)"
    assert "remove them from .lineal/objects" in lines[1]


def test_a_sample_is_chosen_by_a_seed_it_names(space: Path, lineal_cli: Cli) -> None:
    corrupt(space, "y", "d")
    done = lineal_cli("verify", "--sample", "10", cwd=space)  # more than there are: all
    error_and_hint(done, "verify --sample")
    assert "  dataset/y@v1: 1 of 1 file damaged" in done.stdout.splitlines()
    chosen = []
    for _ in range(2):
        report = json.loads(
            lineal_cli("verify", "--sample", "2", "--seed", "7", "--json", cwd=space).stdout
        )
        assert (report["objects"]["sample"], report["objects"]["seed"]) == (2, 7)
        assert report["objects"]["sampled"] == 2
        chosen.append(report["objects"]["damaged"])
    assert chosen[0] == chosen[1]  # the same seed checks the same objects
    said = lineal_cli("verify", "--sample", "1", cwd=space)
    seed = json.loads(
        lineal_cli("verify", "--sample", "1", "--seed", "1", "--json", cwd=space).stdout
    )["objects"]["seed"]
    assert seed == 1
    assert "--sample 1 --seed " in said.stdout + said.stderr


def test_bad_combinations_are_bad_usage(space: Path, lineal_cli: Cli) -> None:
    assert lineal_cli("verify", "--objects", "--sample", "2", cwd=space).returncode == 2
    assert lineal_cli("verify", "--seed", "2", cwd=space).returncode == 2


def test_ref_only_versions_are_said_to_be_skipped(tmp_path: Path, lineal_cli: Cli) -> None:
    assert lineal_cli("init", "--agent", "alice", cwd=tmp_path).returncode == 0
    (tmp_path / "far").mkdir()
    (tmp_path / "far" / "big.bin").write_bytes(b"left where it is\n")
    done = lineal_cli("add", "far", "--ref-only", "--name", "far", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = lineal_cli("verify", "--objects", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 ref-only version: files left where they are, not checked" in done.stdout


def test_objects_on_a_remote_are_not_pulled_not_lost(
    space: Path, repo: Lineal, lineal_cli: Cli, tmp_path_factory: pytest.TempPathFactory
) -> None:
    bucket = tmp_path_factory.mktemp("bucket")
    assert lineal_cli("remote", "add", "origin", str(bucket), cwd=space).returncode == 0
    done = lineal_cli("push", cwd=space)
    assert done.returncode == 0, done.stderr
    # The push kept a checkpoint here and beside the objects on the remote.
    (kept,) = (space / ".lineal" / "checkpoints").glob("*.json")
    assert (bucket / "checkpoints" / kept.name).read_bytes() == kept.read_bytes()
    prune.remove(objects(repo), [digest_of(space, "x", "a")])
    done = lineal_cli("verify", cwd=space)
    assert done.returncode == 0, done.stderr
    assert "1 object of 1 version not pulled (held by origin): `lineal pull` fetches them" in (
        done.stdout
    )
    (bucket / "sha256" / digest_of(space, "x", "a")[7:9] / digest_of(space, "x", "a")[9:]).unlink()
    done = lineal_cli("verify", cwd=space)
    lines = error_and_hint(done, "verify")
    assert "  dataset/x@v1: 1 of 3 files missing" in done.stdout.splitlines()
    assert "held by no remote" in lines[1]
