"""The credentials file on a real file system: where it is, what it keeps, who may read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineal.errors import InvalidInput, PermissionDenied
from lineal.store import credentials


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    found = tmp_path / "config" / "lineal" / "credentials.toml"
    monkeypatch.setenv(credentials.ENV, str(found))
    return found


def test_where_the_file_is(tmp_path: Path) -> None:
    assert credentials.location({credentials.ENV: str(tmp_path / "c.toml")}) == tmp_path / "c.toml"
    assert credentials.location({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "lineal" / "credentials.toml"
    )
    assert credentials.location({}) == Path.home() / ".config" / "lineal" / "credentials.toml"


def test_saved_passwords_are_found_by_uri_and_kept_private(path: Path) -> None:
    assert credentials.password("postgresql://a@h/db") is None  # no file yet
    assert credentials.save("postgresql://a@h/db", "pw-a") == path
    credentials.save("postgresql://b@h/db", 'pw "b" = \\x')
    credentials.save("postgresql://a@h/db", "pw-a2")  # a new password replaces the old
    assert credentials.password("postgresql://a@h/db") == "pw-a2"
    assert credentials.password("postgresql://b@h/db") == 'pw "b" = \\x'
    assert credentials.password("postgresql://c@h/db") is None
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == ["credentials.toml"]  # no temporary left


def test_a_file_others_may_read_or_a_broken_one_is_refused(path: Path) -> None:
    credentials.save("postgresql://a@h/db", "pw")
    path.chmod(0o640)
    with pytest.raises(PermissionDenied, match="other users may read it"):
        credentials.password("postgresql://a@h/db")
    assert credentials.password("postgresql://other@h/db") is None  # nothing of it is used
    path.write_text("[stores\n")
    with pytest.raises(InvalidInput, match="cannot read the credentials file"):
        credentials.password("postgresql://a@h/db")
