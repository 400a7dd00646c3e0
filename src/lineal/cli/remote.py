"""`lineal remote add|list|remove`, `lineal push` and `lineal pull`: objects to and from remotes.

Thin: formats what lineal.remotes returns; never talks to a remote itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lineal.cli.common import Quiet, fail, handle_errors, open_client, out
from lineal.cli.plain import print_json
from lineal.cli.progress import progress
from lineal.model.masking import mask_url

if TYPE_CHECKING:
    from lineal.cas.remote import TransferResult

remote_app = typer.Typer(
    help="Manage remotes: folders and buckets (file://, s3://, gs://, az://, memory://) or a "
    "lineal server's project (http(s)://HOST:PORT/projects/NAME).",
    no_args_is_help=True,
)


@remote_app.command("add")
@handle_errors
def remote_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. origin.")],
    url: Annotated[
        str,
        typer.Argument(
            help="fsspec URL, e.g. s3://bucket/prefix or /mnt/nas/lineal; or a lineal "
            "server's project, http://HOST:PORT/projects/NAME."
        ),
    ],
    endpoint_url: Annotated[
        str | None, typer.Option(help="S3-compatible endpoint (MinIO, Ceph, a local server).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Cloud region.")] = None,
    profile: Annotated[str | None, typer.Option(help="Credentials profile name.")] = None,
) -> None:
    """Add a remote; the first one added is the default."""
    from lineal import remotes  # lazy: fsspec is costly to import

    options = {
        k: v
        for k, v in (("endpoint_url", endpoint_url), ("region", region), ("profile", profile))
        if v is not None
    }
    with open_client() as client:
        added = remotes.add_remote(client, name, url, options)
    default = " (default)" if added.default else ""
    out.print(f"remote {added.name} -> {mask_url(added.url)}{default}", markup=False)


@remote_app.command("list")
@handle_errors
def remote_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the configured remotes."""
    from lineal import remotes  # lazy: fsspec is costly to import

    with open_client() as client:
        found = remotes.list_remotes(client)
    if as_json:
        # mask_url: a config written by hand (or by an older lineal) may hold credentials.
        print_json(
            [
                {"name": r.name, "url": mask_url(r.url), "default": r.default, **r.options}
                for r in found
            ]
        )
        return
    for item in found:
        mark = "*" if item.default else " "
        out.print(f"{mark} {item.name}  {mask_url(item.url)}", markup=False)


@remote_app.command("remove")
@handle_errors
def remote_remove(name: Annotated[str, typer.Argument(help="The remote to forget.")]) -> None:
    """Forget a remote (its objects stay where they are)."""
    from lineal import remotes  # lazy: fsspec is costly to import

    with open_client() as client:
        remotes.remove_remote(client, name)
    out.print(f"removed remote {name}", markup=False)


def _report(verb: str, result: TransferResult, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "transferred": result.sent,
                "skipped": result.skipped,
                "bytes": result.bytes,
                "failed": list(result.failed),
                "cleaned": result.cleaned,
            }
        )
    elif result.sent or result.failed:
        out.print(
            f"{verb} {result.sent:,} objects ({result.bytes:,} bytes); "
            f"{result.skipped:,} already there",
            markup=False,
        )
    elif verb == "pulled":
        out.print(f"nothing to pull: all {result.skipped:,} objects are already local")
    else:
        out.print(f"nothing to push: the remote already has all {result.skipped:,} objects")
    if result.cleaned and not as_json:
        out.print(
            f"removed {result.cleaned:,} partial uploads that interrupted pushes had left",
            markup=False,
        )
    if result.failed:
        raise fail(
            f"{len(result.failed)} objects failed, e.g. {result.failed[0]}",
            "run the command again; objects that arrived are not sent twice",
        )


@handle_errors
def push(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Dataset versions (default: all recorded).")
    ] = None,
    remote: Annotated[str | None, typer.Option("--remote", "-r", help="Remote name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Send the objects of dataset versions that the remote does not have (with no remote
    configured: the lineal server the workspace's store is on)."""
    from lineal import remotes  # lazy: fsspec is costly to import

    with open_client() as client, progress(quiet=quiet) as shown:
        result = remotes.push(client, refs or [], name=remote, progress=shown)
    _report("pushed", result, as_json)


@handle_errors
def pull(
    refs: Annotated[
        list[str] | None, typer.Argument(help="Dataset versions (default: all recorded).")
    ] = None,
    remote: Annotated[str | None, typer.Option("--remote", "-r", help="Remote name.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Fetch missing objects of dataset versions, verifying each digest on arrival (with no
    remote configured: from the lineal server the workspace's store is on)."""
    from lineal import remotes  # lazy: fsspec is costly to import

    with open_client() as client, progress(quiet=quiet) as shown:
        result = remotes.pull(client, refs or [], name=remote, progress=shown)
    _report("pulled", result, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(remote_app, name="remote")
    app.command()(push)
    app.command()(pull)
