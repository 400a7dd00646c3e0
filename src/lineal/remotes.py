"""Named object-store remotes in `.lineal/config.toml`, and moving dataset objects to and fro.

A remote is a folder or bucket (lineal.cas.remote) or a lineal server's project
(lineal.cas.http_remote); a workspace whose store is a server uses that server when no remote
is configured. A service; never prints, never stores credentials in the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineal import checkpoint_files, collect, datasets
from lineal.cas.http_remote import HttpRemote, is_server_url
from lineal.cas.progress import Progress, stage
from lineal.cas.remote import Remote, TransferResult
from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.model.masking import refuse_credentials

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
#: Options a remote may carry in the config (never secrets: those come from the environment).
OPTIONS = ("endpoint_url", "region", "profile")
#: The name the workspace's own server goes by when it serves as the remote.
SERVER = "server"


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    name: str
    url: str
    options: Mapping[str, str]
    default: bool


def _table(config: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    remotes = config.get("remotes", {})
    return {k: dict(v) for k, v in remotes.items()} if isinstance(remotes, dict) else {}


def list_remotes(repo: Lineal) -> list[RemoteConfig]:
    config = repo.require_workspace().config()
    default = config.get("default_remote")
    return [
        RemoteConfig(
            name, body["url"], {k: v for k, v in body.items() if k != "url"}, name == default
        )
        for name, body in sorted(_table(config).items())
    ]


def add_remote(
    repo: Lineal, name: str, url: str, options: Mapping[str, str] | None = None
) -> RemoteConfig:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"bad remote name {name!r}: start with a letter; letters, digits, _ and -"
        )
    for key in options or {}:
        if key not in OPTIONS:
            raise InvalidInput(
                f"unknown remote option {key!r}: expected one of {', '.join(OPTIONS)}"
            )
    for text in (url, *(options or {}).values()):
        refuse_credentials(text, never="writes them to .lineal/config.toml")
    open_remote(url, options or {})  # refuses unknown protocols and bad server URLs now
    space = repo.require_workspace()
    config = space.config()
    table = _table(config)
    if name in table:
        raise Conflict(
            f"remote {name!r} already exists", hint=f"`lineal remote remove {name}` first"
        )
    table[name] = {"url": url, **(options or {})}
    config["remotes"] = table
    config.setdefault("default_remote", name)
    space.write_config(config)
    return RemoteConfig(name, url, dict(options or {}), config["default_remote"] == name)


def remove_remote(repo: Lineal, name: str) -> None:
    space = repo.require_workspace()
    config = space.config()
    table = _table(config)
    if name not in table:
        raise NotFound(f"no remote named {name!r}", hint="`lineal remote list` shows them")
    del table[name]
    config["remotes"] = table
    if config.get("default_remote") == name:
        config.pop("default_remote")
        if table:
            config["default_remote"] = sorted(table)[0]
    space.write_config(config)


def _storage_options(options: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "endpoint_url" in options:
        found["endpoint_url"] = options["endpoint_url"]
    if "region" in options:
        found["client_kwargs"] = {"region_name": options["region"]}
    if "profile" in options:
        found["profile"] = options["profile"]
    return found


def open_remote(url: str, options: Mapping[str, str]) -> Remote | HttpRemote:
    """The remote at ``url``: a lineal server's project, or a folder or bucket."""
    if is_server_url(url):
        if options:
            raise InvalidInput(
                f"a lineal server remote takes no {', '.join(sorted(options))} option",
                hint="the server keeps its objects where `lineal server --objects` says",
            )
        from lineal.store.credentials import token
        from lineal.store.registry import server_url

        remote = HttpRemote(url)  # refuses a malformed URL first, in its own words
        remote.use_token(token(server_url(url)))
        return remote
    return Remote(url, options=_storage_options(options))


def usable(repo: Lineal) -> list[RemoteConfig]:
    """The configured remotes; with none configured, the server the store is on (if it is)."""
    configured = list_remotes(repo)
    if configured or not is_server_url(repo.store.uri):
        return configured
    return [RemoteConfig(SERVER, repo.store.uri, {}, default=True)]  # a team needs only the URL


def remote(repo: Lineal, name: str | None = None) -> tuple[RemoteConfig, Remote | HttpRemote]:
    """The remote named ``name`` (default: the default remote; with none configured, the
    server the workspace's store is on, if it is on one)."""
    remotes = usable(repo)
    if not remotes and name is None:
        raise NotFound(
            "no remote configured",
            hint="`lineal remote add NAME URL` adds one (or use a lineal server as the store: "
            "lineal init --uri http://HOST:PORT/projects/NAME)",
        )
    chosen = next((r for r in remotes if r.name == name or (name is None and r.default)), None)
    if chosen is None:
        raise NotFound(f"no remote named {name!r}", hint="`lineal remote list` shows them")
    return chosen, open_remote(chosen.url, chosen.options)


def push(
    repo: Lineal,
    refs: Sequence[str] = (),
    *,
    name: str | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """Send the objects of the given versions (default: every artifact) the remote lacks.

    ``skipped`` counts the objects the remote already held.
    """
    chosen, target = remote(repo, name)
    cache = datasets.objects(repo)
    referenced = collect.referenced(repo, refs)
    have = cache.present(referenced)
    wanted = [d for d in referenced if d in have]
    stage(
        progress,
        "pushing",
        "sent",
        unit="objects",
        after=f"the remote {chosen.name} holds only whole objects: "
        "run lineal push again to send the rest",
    )
    result = target.push(cache, wanted, progress=progress)
    if isinstance(target, Remote):
        checkpoint_files.keep_on_remote(repo, target)  # the ledger as pushed, off this machine
    elif repo.store.signer is not None and checkpoint_files.folder(repo) is not None:
        # A server keeps content-addressed objects only; the checkpoint is kept here, where
        # whoever could rewrite the server's ledger cannot reach it (docs/architecture.md).
        checkpoint_files.make(repo)
    return result


def pull(
    repo: Lineal,
    refs: Sequence[str] = (),
    *,
    name: str | None = None,
    progress: Progress | None = None,
) -> TransferResult:
    """Fetch the objects of the given versions (default: every artifact) missing locally.

    ``skipped`` counts the objects the cache already held.
    """
    _, source = remote(repo, name)
    cache = datasets.objects(repo)
    after = (
        "the objects that arrived were verified and stay in the cache: "
        "run it again to fetch the rest"
    )
    artifacts = collect.stored(repo, refs)
    manifests = [a.digest for a in artifacts if "files" in a.meta and not cache.has(a.digest)]
    # Only snapshots certainly have bytes; other digests may name nothing stored anywhere.
    optional = {a.digest for a in artifacts if "files" not in a.meta}
    first = TransferResult(sent=0, skipped=0, bytes=0)
    if manifests:
        stage(progress, "pulling manifests", "fetched", unit="manifests", after=after)
        first = source.pull(cache, manifests, progress=progress)
    referenced = collect.referenced(repo, refs)
    wanted = cache.missing(referenced)
    stage(progress, "pulling", "fetched", unit="objects", after=after)
    second = source.pull(cache, wanted, progress=progress, optional=optional)
    return TransferResult(
        sent=first.sent + second.sent,
        # Manifests fetched above are in `referenced` and no longer missing: not skipped.
        skipped=len(referenced) - len(wanted) - first.sent,
        bytes=first.bytes + second.bytes,
        failed=first.failed + second.failed,
    )
