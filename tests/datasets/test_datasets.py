"""Dataset versions end to end: add, status, diff, checkout, gc, push/pull, through the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lineal.cas import prune
from lineal.cas.objects import ObjectCache

LINEAL = str(Path(sys.executable).parent / "lineal")


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    done = subprocess.run(
        [LINEAL, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def failure(*args: str, cwd: Path) -> str:
    done = run(*args, cwd=cwd, check=False)
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: "), lines
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), lines
    return done.stderr


def sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def cache_of(work: Path) -> ObjectCache:
    return ObjectCache(work / ".lineal" / "objects")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    run("init", "--agent", "alice", cwd=tmp_path)
    data = tmp_path / "data" / "images"
    (data / "sub").mkdir(parents=True)
    for n in range(20):
        (data / f"img{n:02d}.png").write_bytes(os.urandom(100 + n))
    (data / "sub" / "labels.json").write_text('{"a": 1}')
    (data / ".hidden").write_text("kept")
    age(data)
    return tmp_path


def age(folder: Path) -> None:
    """Date files a minute back: the stat cache distrusts files changed within its clock tick."""
    past = time.time() - 60
    for path in folder.rglob("*"):
        os.utime(path, (past, past))


def add_json(work: Path, *args: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(run("add", *args, "--json", cwd=work).stdout)
    return result


def test_add_records_a_version_with_metadata(work: Path) -> None:
    first = add_json(
        work, "data/images", "--name", "dataset/scenes", "--license", "CC-BY-4.0",
        "--source", "https://example.org/s", "--description", "night", "--meta", "split=train",
    )  # fmt: skip
    assert first["ref"] == "dataset/scenes@v1"
    assert first["created"] is True
    assert first["files"] == 22
    shown = json.loads(run("show", "dataset/scenes", "--json", cwd=work).stdout)
    assert shown["digest"] == first["digest"]
    assert shown["meta"]["license"] == "CC-BY-4.0"
    assert shown["meta"]["source"] == "https://example.org/s"
    assert shown["meta"]["description"] == "night"
    assert shown["meta"]["extra"] == {"split": "train"}
    assert shown["meta"]["owner"] == "alice"
    cache = cache_of(work)
    for path in (work / "data" / "images").rglob("*"):
        if path.is_file():
            assert cache.read_bytes(sha(path)) == path.read_bytes()
    # Small files went into one pack, not a file each; the manifest is a loose object.
    assert len(list((work / ".lineal" / "objects" / "packs").iterdir())) == 1
    assert cache.loose(str(first["digest"])) is not None
    assert "OK" in run("verify", cwd=work).stdout


def test_unchanged_data_makes_no_new_version(work: Path) -> None:
    add_json(work, "data/images", "--name", "scenes")
    again = add_json(work, "data/images", "--name", "scenes")
    assert again["created"] is False
    assert again["ref"] == "dataset/scenes@v1"
    assert "unchanged" in run("add", "data/images", "--name", "scenes", cwd=work).stdout
    assert again["hashed"] == 0  # the stat cache answered for every file


def test_status_diff_and_checkout(work: Path) -> None:
    images = work / "data" / "images"
    add_json(work, "data/images", "--name", "scenes")
    assert "up to date" in run("status", cwd=work).stdout
    (images / "img00.png").write_bytes(b"changed")
    (images / "new.png").write_bytes(b"new")
    (images / "img01.png").unlink()
    status = json.loads(run("status", "--json", cwd=work).stdout)[0]
    assert [e["path"] for e in status["added"]] == ["new.png"]
    assert [e["path"] for e in status["removed"]] == ["img01.png"]
    assert [e["path"] for e in status["modified"]] == ["img00.png"]
    assert add_json(work, "data/images", "--name", "scenes")["ref"] == "dataset/scenes@v2"
    changes = json.loads(
        run("diff", "dataset/scenes@v1", "dataset/scenes@v2", "--json", cwd=work).stdout
    )
    assert changes["summary"]["added"] == 1
    assert changes["summary"]["removed"] == 1
    assert changes["summary"]["modified"] == 1
    # v1 into a fresh folder: every file as it was.
    out = work / "restored"
    run("checkout", "dataset/scenes@v1", str(out), cwd=work)
    assert not (out / "new.png").exists()
    assert (out / "img01.png").exists()
    assert (out / "sub" / "labels.json").read_text() == '{"a": 1}'
    # Back to v1 in place: tracked files are replaced, nothing is lost.
    run("checkout", "dataset/scenes@v1", cwd=work)
    assert (images / "img01.png").exists()
    assert not (images / "new.png").exists()  # it belonged to v2 and is safe in the cache
    assert "up to date" in run("status", cwd=work).stdout


def test_checkout_refuses_to_overwrite_local_changes(work: Path) -> None:
    images = work / "data" / "images"
    add_json(work, "data/images", "--name", "scenes")
    (images / "img00.png").write_bytes(b"v2 content")
    add_json(work, "data/images", "--name", "scenes")
    (images / "img00.png").write_bytes(b"unsaved work")
    error = failure("checkout", "dataset/scenes@v1", cwd=work)
    assert "img00.png" in error
    assert (images / "img00.png").read_bytes() == b"unsaved work"
    run("checkout", "dataset/scenes@v1", "--force", cwd=work)
    assert (images / "img00.png").read_bytes() != b"unsaved work"


def test_ref_only_copies_no_bytes(work: Path) -> None:
    result = add_json(work, "data/images", "--ref-only", "--name", "raw")
    assert result["new_objects"] == 0
    assert list(cache_of(work).digests()) == [result["digest"]]  # the manifest only
    shown = json.loads(run("show", "dataset/raw", "--json", cwd=work).stdout)
    assert shown["meta"]["ref_only"] is True
    assert shown["uri"].startswith("file://")


def test_gc_removes_only_unreferenced_objects(work: Path) -> None:
    add_json(work, "data/images", "--name", "scenes")
    stray = work / "stray.bin"
    stray.write_bytes(b"never recorded")
    add_json(work, "stray.bin", "--ref-only", "--name", "stray")  # its bytes are not cached
    objects = work / ".lineal" / "objects" / "sha256"
    digest = hashlib.sha256(b"orphan").hexdigest()
    (objects / digest[:2]).mkdir(exist_ok=True)
    (objects / digest[:2] / digest[2:]).write_bytes(b"orphan")
    cache = cache_of(work)
    with cache.packing():  # as a snapshot killed before it recorded would leave it
        packed = cache.ingest(str(stray))[0]
    assert cache.has(packed)
    # Just written: a writer may be about to record them, so they stay the grace period.
    young = run("gc", cwd=work).stdout
    assert "removed 0 objects" in young
    assert "kept 2 unreferenced objects" in young
    assert "grace period (1d)" in young
    day_ago = time.time() - 86400
    pack = cache.packs.holder(bytes.fromhex(packed[7:]))
    assert pack is not None
    for old in (objects / digest[:2] / digest[2:], Path(pack)):
        os.utime(old, (day_ago, day_ago))
    assert "would remove 2 objects" in run("gc", "--dry-run", cwd=work).stdout
    assert (objects / digest[:2] / digest[2:]).exists()
    assert "removed 2 objects" in run("gc", cwd=work).stdout
    assert not (objects / digest[:2] / digest[2:]).exists()
    assert not cache_of(work).has(packed)
    assert "removed 0 objects" in run("gc", cwd=work).stdout
    out = work / "again"
    run("checkout", "dataset/scenes", str(out), cwd=work)  # everything it needs survived
    for path in (work / "data" / "images").rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(work / "data" / "images")).read_bytes() == (
                path.read_bytes()
            )


def test_push_pull_through_a_file_remote(
    work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    remote = tmp_path_factory.mktemp("remote")
    add_json(work, "data/images", "--name", "scenes")
    run("remote", "add", "origin", remote.as_uri(), cwd=work)
    assert "origin" in run("remote", "list", cwd=work).stdout
    pushed = json.loads(run("push", "--json", cwd=work).stdout)
    assert pushed["transferred"] == 23  # 22 files + the manifest
    assert json.loads(run("push", "--json", cwd=work).stdout)["transferred"] == 0
    # A second clone of the workspace with an empty cache pulls what it needs.
    objects = work / ".lineal" / "objects"
    for path in sorted(objects.rglob("*"), reverse=True):
        if path.is_file():
            path.chmod(0o644)
            path.unlink()
    pulled = json.loads(run("pull", "--json", cwd=work).stdout)
    assert pulled["transferred"] == 23
    out = work / "pulled"
    run("checkout", "dataset/scenes", str(out), cwd=work)
    assert (out / "img05.png").read_bytes() == (work / "data" / "images" / "img05.png").read_bytes()
    # A corrupted object on the remote is caught on arrival, never installed.
    victim = sha(work / "data" / "images" / "img03.png")[7:]
    target = remote / "sha256" / victim[:2] / victim[2:]
    target.chmod(0o644)
    target.write_bytes(b"bit rot")
    prune.remove(cache_of(work), ["sha256:" + victim])
    error = failure("pull", cwd=work)
    assert victim[:8] in error or "1 objects failed" in error
    assert not cache_of(work).has("sha256:" + victim)
    run("remote", "remove", "origin", cwd=work)
    assert "origin" not in run("remote", "list", cwd=work).stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("add", "no/such/folder"), "no/such/folder"),
        (("add", "data/images", "--license", "not a licence!"), "licence"),
        (("add", "data/images", "--meta", "novalue"), "--meta"),
        (("add", "s3://bucket/data"), "--ref-only"),
        (("push", "-r", "nowhere"), "nowhere"),
        (("checkout", "dataset/none"), "none"),
        (("diff", "dataset/none@v1", "dataset/none@v2"), "none"),
        (("remote", "add", "x", "nosuchproto://a/b"), "nosuchproto"),
    ],
)
def test_bad_input_gets_one_clear_error(work: Path, args: tuple[str, ...], needle: str) -> None:
    before = run("log", "--json", cwd=work).stdout
    assert needle in failure(*args, cwd=work)
    assert run("log", "--json", cwd=work).stdout == before  # nothing half-recorded


@pytest.mark.slow
def test_add_killed_midway_leaves_no_partial_record_or_object(work: Path) -> None:
    big = work / "big"
    big.mkdir()
    for n in range(400):
        (big / f"f{n:04d}.bin").write_bytes(os.urandom(64 * 1024))
    for delay in (0.05, 0.15, 0.3):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
        proc = subprocess.Popen([LINEAL, "add", "big", "--name", "big"], cwd=work, env=env)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert "OK" in run("verify", cwd=work).stdout
        cache = cache_of(work)
        assert all(cache.verify(digest) for digest in cache.digests())  # loose and packed
        log = json.loads(run("log", "--json", "--op", "artifact.record", cwd=work).stdout)
        for record in log:
            assert cache.has(record["payload"]["digest"])


def test_checkout_pulls_missing_objects_and_refuses_damaged_ones(
    work: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    remote = tmp_path_factory.mktemp("remote")
    add_json(work, "data/images", "--name", "scenes")
    run("remote", "add", "origin", remote.as_uri(), cwd=work)
    run("push", cwd=work)
    victim = sha(work / "data" / "images" / "img04.png")
    prune.remove(cache_of(work), [victim])
    out = work / "fresh"
    run("checkout", "dataset/scenes", str(out), cwd=work)  # fetched from origin on the way
    cached = cache_of(work).loose(victim)  # pulled objects arrive as loose files
    assert cached is not None
    assert (out / "img04.png").read_bytes() == (work / "data" / "images" / "img04.png").read_bytes()
    cached.chmod(0o644)
    cached.write_bytes(b"flipped bits")
    error = failure("checkout", "dataset/scenes", str(work / "other"), cwd=work)
    assert "damaged" in error
    assert not (work / "other" / "img04.png").exists()


@pytest.mark.parametrize("when", ["rename", "damaged"])
def test_a_checkout_stopped_after_a_copy_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Ctrl-C landing after a file's bytes are copied but before its rename (or a damaged
    object found then) leaves neither the file nor its temp beside it."""
    from lineal.cas.manifest import Entry
    from lineal.worktree import materialise

    cache = ObjectCache(tmp_path / "objects")
    digest = cache.add_bytes(b"checked out")
    dest = tmp_path / "copy" / "a.txt"
    if when == "rename":

        def interrupted(self: Path, target: Path) -> Path:
            raise KeyboardInterrupt

        monkeypatch.setattr(Path, "replace", interrupted)
        entry, raised = Entry(path="a.txt", digest=digest, size=11), KeyboardInterrupt
    else:
        entry, raised = Entry(path="a.txt", digest="sha256:" + "0" * 64, size=11), Exception
        cache.add_bytes(b"x")  # any object; the entry names one whose bytes differ
        monkeypatch.setattr(cache, "open", lambda _: ObjectCache.open(cache, digest))
    with pytest.raises(raised):
        materialise(cache, entry, dest)
    assert list(dest.parent.iterdir()) == []
