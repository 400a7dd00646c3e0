"""Store passwords and server tokens kept outside every workspace, in one mode-0600 TOML file
per user.

As git's credential store and the cloud SDKs' credentials files do: `lineal init --uri` moves a
URI's password here, and `lineal login URL` a server project's token, so `.lineal/config.toml`
stays a file one can share. Never writes a secret anywhere else, and never reads one from a
file that other users may read.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lineal.errors import InvalidInput, PermissionDenied

#: Names the credentials file instead of the default (as PGPASSFILE does for libpq).
ENV = "LINEAL_CREDENTIALS"
#: A token that overrides the saved one for every server (CI, containers).
TOKEN_ENV = "LINEAL_TOKEN"  # noqa: S105 - the variable's name, not a token
_HEADER = (
    "# Passwords of lineal stores, by store URI (written by `lineal init --uri`), and\n"
    "# tokens of lineal server projects, by URL (written by `lineal login`).\n"
    "# Private: keep this file mode 0600 and out of every repository.\n"
)


def location(env: Mapping[str, str] | None = None) -> Path:
    """``$LINEAL_CREDENTIALS``, else ``$XDG_CONFIG_HOME/lineal/credentials.toml``, else
    ``~/.config/lineal/credentials.toml``."""
    env = os.environ if env is None else env
    if env.get(ENV):
        return Path(env[ENV]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "lineal" / "credentials.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise PermissionDenied(
            f"cannot read the credentials file {path}: {exc}",
            hint=f"make it readable by you alone (chmod 600 {path}), or set {ENV}",
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(
            f"cannot read the credentials file {path}: {exc}",
            hint="fix the TOML in it, or delete it and run `lineal init --uri` again",
        ) from exc


def _private(path: Path, what: str) -> None:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        # As ssh with a private key and libpq with .pgpass: a secret others can read is
        # not one to use.
        raise PermissionDenied(
            f"the credentials file {path} holds {what} but other users may read it",
            hint=f"chmod 600 {path}",
        )


def _entry(table: str, key: str, field: str) -> str | None:
    path = location()
    entries = _read(path).get(table)
    entry = entries.get(key) if isinstance(entries, dict) else None
    found = entry.get(field) if isinstance(entry, dict) else None
    if not isinstance(found, str):
        return None
    _private(path, "passwords" if table == "stores" else "tokens")
    return found


def password(uri: str) -> str | None:
    """The password saved for the store at ``uri`` (written without one), or None."""
    return _entry("stores", uri, "password")


def token(url: str) -> str | None:
    """The token for the server project at ``url`` (``http(s)://HOST:PORT/projects/NAME``):
    ``$LINEAL_TOKEN`` if set, else the one `lineal login` saved, else None."""
    return os.environ.get(TOKEN_ENV) or _entry("tokens", url.rstrip("/"), "token")


def save_token(url: str, secret: str) -> Path:
    """Keep ``secret`` as the token of the server project at ``url``; the file it went to."""
    return _update("tokens", url.rstrip("/"), {"token": secret})


def forget_token(url: str) -> bool:
    """Remove the token saved for ``url``; whether there was one."""
    entries = _read(location()).get("tokens")
    if not isinstance(entries, dict) or url.rstrip("/") not in entries:
        return False
    _update("tokens", url.rstrip("/"), None)
    return True


def save(uri: str, secret: str) -> Path:
    """Keep ``secret`` as the password of the store at ``uri``; the file it went to."""
    return _update("stores", uri, {"password": secret})


def _update(table: str, key: str, entry: dict[str, str] | None) -> Path:
    """Set (None: remove) ``[table."key"]`` and rewrite the file privately."""
    import tomli_w

    path = location()
    data = _read(path)
    entries = data.get(table)
    entries = dict(entries) if isinstance(entries, dict) else {}
    if entry is None:
        entries.pop(key, None)
    else:
        entries[key] = entry
    data[table] = entries
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created private, so no other user can read it even for a moment; then renamed over.
    tmp.unlink(missing_ok=True)  # a stale one from a crash would keep its old mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_HEADER + tomli_w.dumps(data))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
