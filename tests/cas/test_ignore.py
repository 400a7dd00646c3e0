"""Ignore rules: .linealignore in gitignore syntax, plus the folders lineal never records.

Real files in tmp_path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lineal.cas.ignore import IgnoreRules
from lineal.errors import InvalidInput


def test_without_a_file_only_the_builtin_rules_apply(tmp_path: Path) -> None:
    rules = IgnoreRules.load(tmp_path)
    assert rules.builtin_only
    for folder in (".lineal", ".git", ".dvc", "deep/down/.git"):
        assert rules.ignored(folder, is_dir=True)
    assert rules.ignored(".linealignore", is_dir=False)
    assert not rules.ignored("sub/.linealignore", is_dir=False)  # only the top one is rules
    assert not rules.ignored(".git", is_dir=False)  # a file named .git (a worktree link)
    assert not rules.ignored(".hidden", is_dir=False)
    assert not rules.ignored("images/.keep", is_dir=False)


def test_gitignore_patterns(tmp_path: Path) -> None:
    (tmp_path / ".linealignore").write_text(
        "# scratch files\n*.tmp\n!keep.tmp\nbuild/\n/top-only.txt\nlogs/**/*.log\n"
    )
    rules = IgnoreRules.load(tmp_path)
    assert not rules.builtin_only
    assert rules.ignored("a.tmp", is_dir=False)
    assert rules.ignored("deep/b.tmp", is_dir=False)
    assert not rules.ignored("keep.tmp", is_dir=False)
    assert rules.ignored("build", is_dir=True)
    assert rules.ignored("src/build", is_dir=True)
    assert not rules.ignored("build", is_dir=False)  # "build/" matches folders only
    assert rules.ignored("top-only.txt", is_dir=False)
    assert not rules.ignored("sub/top-only.txt", is_dir=False)
    assert rules.ignored("logs/a/b/c.log", is_dir=False)
    assert not rules.ignored("c.log", is_dir=False)
    assert rules.ignored(".git", is_dir=True)
    assert rules.ignored(".linealignore", is_dir=False)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".linealignore").write_bytes(b"\xff\xfe*.tmp\n")
    with pytest.raises(InvalidInput, match="not UTF-8") as caught:
        IgnoreRules.load(tmp_path)
    assert caught.value.hint
