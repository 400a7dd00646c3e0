"""Finding and creating a lineal workspace: the `.lineal/` folder, its config and keys.

The only code that decides which store and which signing key a command uses; never writes
outside the `.lineal/` folder it creates, but for a store password, which goes to the user's
credentials file (lineal.store.credentials), never to config.toml.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.store.registry import open_store

# What only init and signing need (keys and the cryptography library, tomli_w, subprocess
# for git) is imported where it is used: finding and reading the store, which every command
# does first, needs none of it.
if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.store.base import Store

DIRNAME = ".lineal"
CONFIG = "config.toml"
#: The project's shared settings (roles, registry policies), beside `.lineal/`, under review.
PROJECT_CONFIG = "lineal.toml"


@dataclass(frozen=True, slots=True)
class Workspace:
    """Where the store is and who writes to it."""

    uri: str
    agent: str | None
    keys: Path | None  # the key directory, when there is a workspace folder
    root: Path | None  # the `.lineal/` folder, if any

    def signer(self) -> Signer | None:
        if self.agent is None or self.keys is None:
            return None
        if not (self.keys / f"{self.agent}.ed25519").exists():
            return None
        from lineal.ledger.keys import load_signer

        return load_signer(self.keys, self.agent)

    def open(self, *, write: bool = True) -> Store:
        signer = self.signer() if write else None
        store = open_store(self.uri, signer)
        if write and signer is None and self.agent is not None and self.keys is not None:
            # Reads work as before; the first write says whose key is missing, and the fix.
            store.unsigned = (
                f"no signing key for agent {self.agent!r} in {self.keys}",
                f"`lineal agent add {self.agent}` makes one (run it as an agent that has a "
                f"key, without LINEAL_AGENT={self.agent}); `lineal agent list` shows who has one",
            )
        return store

    def require_root(self) -> Path:
        if self.root is None:
            raise NotFound("no .lineal/ folder here", hint="run `lineal init` here")
        return self.root

    def config(self) -> dict[str, object]:
        return dict(_read_config(self.require_root()))

    def project_config(self) -> tuple[Path | None, dict[str, object]]:
        """`lineal.toml` beside `.lineal/` and its contents ({} when there is none)."""
        if self.root is None:
            return None, {}
        path = self.root.parent / PROJECT_CONFIG
        if not path.is_file():
            return path, {}
        return path, read_toml(path, hint="fix it: it must be UTF-8 TOML")

    def write_config(self, config: Mapping[str, object]) -> None:
        """Rewrite `.lineal/config.toml` atomically."""
        import tomli_w

        root = self.require_root()
        tmp = root / (CONFIG + ".tmp")
        tmp.write_text(tomli_w.dumps(dict(config)), encoding="utf-8")
        tmp.replace(root / CONFIG)


def find_root(start: Path) -> Path | None:
    """The nearest `.lineal/` folder at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / DIRNAME
        if (candidate / CONFIG).is_file():
            return candidate
    return None


def read_toml(path: Path, *, hint: str) -> dict[str, object]:
    """The settings in the TOML file ``path``, or one InvalidInput naming it and what is wrong
    (unreadable, not UTF-8, not TOML), with ``hint``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}", hint=hint) from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        message = f"cannot read {path}: not UTF-8 text (byte {exc.start}: {exc.reason})"
        raise InvalidInput(message, hint=hint) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"cannot read {path}: not valid TOML: {exc}", hint=hint) from exc


def _read_config(root: Path) -> Mapping[str, object]:
    return read_toml(
        root / CONFIG,
        hint='fix it: it must be UTF-8 TOML, e.g. agent = "NAME" (and uri = "…" for a '
        "shared store)",
    )


def _sqlite_uri(root: Path) -> str:
    return f"sqlite:///{root / 'lineal.db'}"


def _named_root(named: str) -> Path:
    root = Path(named).expanduser().resolve()
    if not (root / CONFIG).is_file():
        raise NotFound(
            f"LINEAL_DIR={named} is not a lineal workspace folder (no {CONFIG} in it)",
            hint="point LINEAL_DIR at a .lineal/ folder, or unset it",
        )
    return root


def locate(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Workspace:
    """Which store: ``LINEAL_URI``, else the workspace ``LINEAL_DIR`` names (a `.lineal/`
    folder, as `lineal run` exports it), else the nearest `.lineal/` upward, else NotFound.
    The keys and object cache are those of ``LINEAL_DIR`` or the nearest `.lineal/`."""
    env = os.environ if env is None else env
    start = (cwd or Path.cwd()).resolve()
    named = env.get("LINEAL_DIR")
    root = _named_root(named) if named else find_root(start)
    config = _read_config(root) if root else {}
    uri = env.get("LINEAL_URI") or config.get("uri") or (_sqlite_uri(root) if root else None)
    if not uri:
        raise NotFound(
            f"no lineal store in {start} or any folder above it",
            hint="run `lineal init` to create one here, or set LINEAL_URI",
        )
    agent = env.get("LINEAL_AGENT") or config.get("agent")
    return Workspace(
        uri=str(uri),
        agent=str(agent) if agent else None,
        keys=root / "keys" if root else None,
        root=root,
    )


def default_agent() -> str:
    """The writer's name: git's user.email, else user.name, else the login name."""
    import getpass
    import subprocess

    for key in ("user.email", "user.name"):
        try:
            found = subprocess.run(  # noqa: S603 - fixed argv, no shell
                ["git", "config", "--get", key],  # noqa: S607 - git from PATH, as a user runs it
                capture_output=True,
                text=True,
                check=False,
                timeout=5,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        name = re.sub(r"[^A-Za-z0-9._@+-]+", "-", found).strip("-.")
        if name:
            return name[:128]
    return re.sub(r"[^A-Za-z0-9._@+-]+", "-", getpass.getuser()).strip("-.") or "lineal"


def credentials_file() -> Path:
    """Where `init` keeps a store URI's password (see lineal.store.credentials)."""
    from lineal.store import credentials

    return credentials.location()


def init(path: str | Path, *, uri: str | None = None, agent: str | None = None) -> Workspace:
    """Create `.lineal/` in ``path`` with a store, a signing key and the agent registered.

    A password in ``uri`` is saved in the user's credentials file (mode 0600, outside the
    workspace), never in `.lineal/config.toml`; the store finds it there when opened.
    """
    import shutil

    import tomli_w

    from lineal.ledger.keys import Signer, save_signer
    from lineal.lookalikes import refuse_confusable_agent
    from lineal.model.entities import check_agent_name
    from lineal.model.masking import split_password
    from lineal.model.ops import AgentRegister
    from lineal.store import credentials

    root = Path(path).resolve() / DIRNAME
    if (root / CONFIG).exists():
        raise Conflict(
            f"{root} already exists: this folder is already a lineal workspace",
            hint=f"to let another agent write here, run `lineal agent add {agent or 'NAME'}`",
        )
    name = check_agent_name(agent or default_agent())
    store_uri = uri or _sqlite_uri(root)
    shown, password = split_password(uri) if uri else (None, None)
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate(name)
    try:
        server = store_uri.startswith(("http://", "https://"))
        # A lineal server's project exists already: the agent registers itself there in a
        # batch it signs, sent now (and kept in the spool should the server be away).
        store = open_store(store_uri, signer, create=not server)
        try:  # a store shared with others (--uri) may have look-alike names already
            refuse_confusable_agent(name, {agent.name for agent in store.agents()})
            store.append(AgentRegister(name=name, public_key=signer.public_key))
            if server:
                refused = store.sync()["rejected"]
                if refused:
                    raise Conflict(refused[0]["error"], hint=refused[0].get("hint"))
        finally:
            store.close()
        save_signer(root / "keys", signer)
        if password is not None:
            credentials.save(str(shown), password)
        config = {"agent": name, **({"uri": shown} if shown else {})}
        ignored = "keys/\nlineal.db*\nobjects/\nstat.db*\n"
        (root / ".gitignore").write_text(ignored, encoding="utf-8")
        # last: marks the workspace whole
        (root / CONFIG).write_text(tomli_w.dumps(config), encoding="utf-8")
    except BaseException:
        if created:  # leave no half-made workspace behind
            shutil.rmtree(root, ignore_errors=True)
        raise
    return Workspace(uri=shown or store_uri, agent=name, keys=root / "keys", root=root)
