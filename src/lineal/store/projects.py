"""Where a lineal server keeps its projects: one ledger (one store) per project.

``sqlite:///DIR``         -> ``sqlite:///DIR/NAME.db`` (a file per project)
``postgresql://HOST/DB``  -> ``postgresql://HOST/DB_NAME`` (a database per project)

Separate files or databases keep each project's hash chain, projections, backups and
permissions apart (docs/architecture.md says why). Never runs SQL itself: creating a
PostgreSQL database is lineal.store.sql.databases's.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.model import grants

if TYPE_CHECKING:
    from lineal.ledger.keys import Signer
    from lineal.store.base import Store

#: A project name: what fits in a file name and (after ``DB_``) a PostgreSQL database name.
PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")


def check_project(name: object) -> str:
    if not isinstance(name, str) or not PROJECT.fullmatch(name):
        shown = repr(name)[:60]
        raise InvalidInput(
            f"bad project name {shown}: use lower-case letters, digits, '_' and '-' (max 48), "
            "starting with a letter or digit",
            hint="e.g. `lineal server project create vision`",
        )
    return name


def is_postgres(base: str) -> bool:
    return base.startswith(("postgresql://", "postgres://"))


def project_uri(base: str, name: str) -> str:
    """The store URI of project ``name`` under the server's ``base`` URI."""
    check_project(name)
    if base.startswith("sqlite:///"):
        folder = base.removeprefix("sqlite:///").split("?", 1)[0]
        if not folder:
            raise InvalidInput(f"bad server URI {base!r}: expected sqlite:///FOLDER")
        return f"sqlite:///{Path(folder) / (name + '.db')}"
    if is_postgres(base):
        parts = urlsplit(base)
        database = parts.path.strip("/") or "lineal"
        return urlunsplit(parts._replace(path=f"/{database}_{name}"))
    raise InvalidInput(
        f"unsupported server URI {base.split('://', maxsplit=1)[0]!r}://…: "
        "expected sqlite:///FOLDER or postgresql://HOST/DB",
        hint="pass --uri to `lineal server`",
    )


def create_project(base: str, name: str) -> str:
    """Create project ``name`` (an empty, migrated store) and return its store URI."""
    from lineal.store.registry import open_store

    uri = project_uri(base, name)
    if is_postgres(base):
        from lineal.store.sql.databases import create_database

        create_database(uri)
    else:
        path = Path(uri.removeprefix("sqlite:///"))
        if path.exists():
            raise Conflict(f"project {name!r} already exists ({path})")
        path.parent.mkdir(parents=True, exist_ok=True)
    open_store(uri, create=True).close()
    return uri


#: The agent a server chains and commits client batches as (see lineal.ledger.chain.Commit).
SERVER_AGENT = grants.SERVER_AGENT


def keys_folder(base: str) -> Path:
    """Where the server keeps its signing key: $LINEAL_SERVER_KEYS, else beside a SQLite
    server's projects (FOLDER/.keys), else ~/.lineal-server/keys."""
    chosen = os.environ.get("LINEAL_SERVER_KEYS")
    if chosen:
        return Path(chosen)
    if base.startswith("sqlite:///"):
        return Path(project_uri(base, "x").removeprefix("sqlite:///")).parent / ".keys"
    return Path.home() / ".lineal-server" / "keys"


def objects_url(base: str) -> str:
    """Where the server keeps its projects' objects (``<url>/<project>/sha256/…``):
    $LINEAL_SERVER_OBJECTS, else beside a SQLite server's projects (FOLDER/objects), else
    ~/.lineal-server/objects (beside the keys)."""
    chosen = os.environ.get("LINEAL_SERVER_OBJECTS")
    if chosen:
        return chosen
    if base.startswith("sqlite:///"):
        return str(Path(project_uri(base, "x").removeprefix("sqlite:///")).parent / "objects")
    return str(Path.home() / ".lineal-server" / "objects")


def server_folder(base: str) -> Path:
    """The folder a server over ``base`` keeps its own files in (its alert outboxes): a SQLite
    server's projects folder, else ~/.lineal-server (beside the keys)."""
    if base.startswith("sqlite:///"):
        return Path(project_uri(base, "x").removeprefix("sqlite:///")).parent
    return Path.home() / ".lineal-server"


def server_signer(base: str) -> Signer:
    """The server's key (made on first use, mode 0600): every server process over the same
    projects shares it."""
    from lineal.ledger.keys import Signer, load_signer, save_signer

    folder = keys_folder(base)
    try:
        return load_signer(folder, SERVER_AGENT)
    except NotFound:
        with contextlib.suppress(InvalidInput):  # another server process made it just now
            save_signer(folder, Signer.generate(SERVER_AGENT))
        return load_signer(folder, SERVER_AGENT)


def _register(store: Store, signer: Signer) -> None:
    """Register the server's agent in a project's ledger, once."""
    from lineal.model.ops import AgentRegister

    if any(a.name == signer.name and a.public_key == signer.public_key for a in store.agents()):
        return
    with contextlib.suppress(Conflict):  # another server process registered it first
        store.append(AgentRegister(name=signer.name, public_key=signer.public_key))


def open_project(base: str, name: str, signer: Signer | None = None) -> Store:
    """The store of project ``name`` (writing as the server with ``signer``, its agent
    registered there); NotFound when there is no such project."""
    from lineal.store.registry import open_store

    missing = NotFound(
        f"no project {name!r} on this server",
        hint=f"create it on the server: `lineal server project create {name}`",
    )
    try:
        uri = project_uri(base, name)
    except InvalidInput:
        raise missing from None
    if not is_postgres(base) and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise missing
    try:
        # Without the store's own audit rows: the server records each request, writes too.
        store = open_store(uri, signer, audited=False)
    except NotFound:
        raise missing from None
    if signer is not None:
        _register(store, signer)
    return store


#: The server-level audit log's name beside the projects: no project can be named so.
SERVER_LOG = "_server"


def server_log_uri(base: str) -> str:
    """Where a server keeps the audit of requests under no project (health, the project
    list, the API schema, an unknown project): ``FOLDER/_server.db`` beside SQLite projects,
    database ``DB__server`` beside PostgreSQL ones."""
    project_uri(base, "x")  # refuse an unsupported base as project_uri does
    if is_postgres(base):
        parts = urlsplit(base)
        database = parts.path.strip("/") or "lineal"
        return urlunsplit(parts._replace(path=f"/{database}_{SERVER_LOG}"))
    folder = Path(project_uri(base, "x").removeprefix("sqlite:///")).parent
    return f"sqlite:///{folder / (SERVER_LOG + '.db')}"


def open_server_log(base: str, signer: Signer) -> Store:
    """The store holding the server-level audit log (a lineal store of its own, made on
    first use, with the server's agent registered so its signed heads verify)."""
    from lineal.store.registry import open_store

    uri = server_log_uri(base)
    if is_postgres(base):
        from lineal.store.sql.databases import create_database

        with contextlib.suppress(Conflict):  # made before, or by another worker just now
            create_database(uri)
    else:
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = open_store(uri, signer, create=True, audited=False)
    _register(store, signer)
    return store


def list_projects(base: str) -> list[str]:
    """Project names under ``base`` (for SQLite: the NAME.db files of its folder)."""
    if is_postgres(base):
        from lineal.store.sql.databases import list_databases

        prefix = urlsplit(project_uri(base, "x")).path.strip("/")[:-1]
        names = (db[len(prefix) :] for db in list_databases(base) if db.startswith(prefix))
        return sorted(name for name in names if PROJECT.fullmatch(name))
    folder = Path(project_uri(base, "x").removeprefix("sqlite:///")).parent
    found = folder.glob("*.db") if folder.is_dir() else []
    return sorted(p.stem for p in found if PROJECT.fullmatch(p.stem))
