"""Ctrl-C during a long command: exit status 130 and one line saying what was done and left.

Real `lineal` processes on a pseudo-terminal, sent a real SIGINT once their progress bar shows
they are under way (the bar is read from the terminal: no sleeps); then the store, the cache,
the remote and the folder are checked to be as the message says.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_terminal import Terminal, lineal, make_files, ok

from lineal.cas.objects import ObjectCache

# real data, real processes: ~30 s in all; Ctrl-C timed to land mid-command: make test runs it alone
pytestmark = [pytest.mark.slow, pytest.mark.serial]
FILES = 4000  # enough that each command is still at work when it is interrupted
NUMBER = r"(\d[\d,]*)"


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding dataset/big (FILES small files) in its cache."""
    root = tmp_path_factory.mktemp("interrupt")
    ok("init", "--agent", "alice", cwd=root)
    make_files(root / "data", FILES)
    ok("add", "data", "--name", "big", "--quiet", cwd=root)
    return root


def interrupted(shown: Terminal, under_way: str) -> str:
    """Ctrl-C once ``under_way`` shows; the message the command ended with (exit 130)."""
    shown.wait_for(under_way)
    shown.interrupt()
    assert shown.finish() == 130, shown.text
    messages = [line for line in shown.text.splitlines() if line.startswith("interrupted")]
    assert len(messages) == 1, shown.text
    assert "Traceback" not in shown.text
    return messages[0]


def test_ctrl_c_during_add_records_nothing(
    big: Path, tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "bob", cwd=tmp_path)
    before = ok("log", cwd=tmp_path)
    shown = terminal("add", str(big / "data"), "--name", "d", cwd=tmp_path)
    said = interrupted(shown, rf"hashing.*{NUMBER}/4,000 files")
    found = re.fullmatch(
        rf"interrupted: {NUMBER} of 4,000 files hashed, {NUMBER} left; nothing was recorded\. "
        r"Objects already copied into the cache stay there: lineal gc reclaims them\.",
        said,
    )
    assert found, said
    done, left = number(found[1]), number(found[2])
    assert done + left == FILES
    assert left > 0
    assert ok("log", cwd=tmp_path) == before  # no new record
    assert "OK" in ok("verify", cwd=tmp_path)
    assert lineal("show", "dataset/d", cwd=tmp_path).returncode == 1
    ok("gc", "--grace", "0", cwd=tmp_path)  # as the message says (at once: nothing else writes)
    assert ok("gc", "--dry-run", "--grace", "0", cwd=tmp_path).startswith("would remove 0 objects")
    # Nothing is left half-done: the same add, run again, records the version.
    assert "dataset/d@v1" in ok("add", str(big / "data"), "--name", "d", cwd=tmp_path)


def test_ctrl_c_during_checkout_says_the_folder_is_partial(
    big: Path, terminal: Callable[..., Terminal]
) -> None:
    target = big / "copy"
    shown = terminal("checkout", "dataset/big", str(target), cwd=big)
    said = interrupted(shown, rf"checking out.*{NUMBER}/4,000 files")
    found = re.fullmatch(
        rf"interrupted: {NUMBER} of 4,000 files checked out, {NUMBER} left; "
        rf"{re.escape(str(target))} is partial, a mix of versions: run lineal checkout "
        rf"dataset/big@v1 {re.escape(str(target))} again to finish",
        said,
    )
    assert found, said
    done, left = number(found[1]), number(found[2])
    assert done + left == FILES
    assert left > 0
    written = sorted(p for p in target.rglob("*") if p.is_file())
    assert done <= len(written) <= done + 1  # Ctrl-C may land after a file, before its count
    assert not [p for p in written if p.name.endswith(".lineal-tmp")]
    for path in written:  # every file written is whole
        assert path.read_bytes() == (big / "data" / path.name).read_bytes()
    ok("checkout", "dataset/big", str(target), "--quiet", cwd=big)  # as the message says
    assert len(list(target.iterdir())) == FILES


def test_ctrl_c_during_push_leaves_the_remote_whole(
    big: Path, tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    ok("remote", "add", "spare", remote.as_uri(), cwd=big)
    try:
        shown = terminal("push", "--remote", "spare", cwd=big)
        said = interrupted(shown, rf"pushing.*{NUMBER}/4,001 objects")
        found = re.fullmatch(
            rf"interrupted: {NUMBER} of 4,001 objects sent, {NUMBER} left; the remote spare "
            r"holds only whole objects: run lineal push again to send the rest",
            said,
        )
        assert found, said
        sent, left = number(found[1]), number(found[2])
        assert sent + left == FILES + 1  # and the manifest
        assert left > 0
        objects = [p for p in (remote / "sha256").rglob("*") if p.is_file()]
        assert len(objects) == sent
        for path in objects:
            assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == (
                f"sha256:{path.parent.name}{path.name}"
            )
        assert not [p for p in (remote / "incoming").rglob("*") if p.is_file()]
        rest = ok("push", "--remote", "spare", cwd=big)
        assert rest.startswith(f"pushed {left:,} objects")
        assert rest.rstrip().endswith(f"{sent:,} already there")
    finally:
        ok("remote", "remove", "spare", cwd=big)


def test_ctrl_c_stops_hashing_a_big_file_midway(
    tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "bob", cwd=tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    with (data / "video.bin").open("wb") as sparse:  # reads as zeros; takes no disk space
        sparse.truncate(2 << 30)
    shown = terminal("add", "data", cwd=tmp_path)
    said = interrupted(shown, r"hashing.*0/1 files")
    assert said.startswith("interrupted: 0 of 1 files hashed, 1 left; nothing was recorded.")
    # The thread copying it into the cache stopped there: no object, no partial copy left.
    objects = tmp_path / ".lineal" / "objects"
    left = [p for p in objects.rglob("*") if p.is_file() and "packs" not in p.parts]
    assert left == [objects / "lock"]  # the cache's lock file, which stays


def test_ctrl_c_during_gc_says_exactly_what_it_removed(
    tmp_path: Path, terminal: Callable[..., Terminal]
) -> None:
    ok("init", "--agent", "bob", cwd=tmp_path)
    cache = ObjectCache(tmp_path / ".lineal" / "objects")
    for n in range(FILES):  # loose objects no version references
        cache.add_bytes(b"unreferenced %d" % n)
    shown = terminal("gc", "--grace", "0", cwd=tmp_path)
    said = interrupted(shown, r"removing")  # drawn as the removal starts
    found = re.fullmatch(
        rf"interrupted: {NUMBER} of 4,000 objects removed, {NUMBER} left; the objects removed "
        r"are gone, the others still cached: run lineal gc again",
        said,
    )
    assert found, said
    left = number(found[2])
    assert left > 0
    dry = ok("gc", "--dry-run", "--grace", "0", cwd=tmp_path)
    assert dry.startswith(f"would remove {left:,} objects")
