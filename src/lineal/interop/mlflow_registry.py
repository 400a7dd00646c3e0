"""MLflow's model registry on lineal: registered models (create, get, update, rename, delete,
search, tags) over ``model/NAME`` versions, with MLflow's aliases as lineal's aliases.

The server's MLflow REST routes (lineal.server.mlflow_registry_routes) call these functions on
the project's ``Lineal``; model versions live in mlflow_registry_versions, logged models in
mlflow_registry_logged. Each request lands whole in one transaction. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineal.client import Lineal
from lineal.errors import Conflict, InvalidInput, NotFound
from lineal.interop import mlflow_registry_aliases as aliases
from lineal.interop import mlflow_registry_nodes as nodes
from lineal.interop import mlflow_registry_search as search
from lineal.interop import mlflow_registry_versions as versions
from lineal.model.ops import AliasSet, ArtifactRecord, EdgeRecord, Op, TagSet

__all__ = [
    "RegisteredModel", "create", "delete", "delete_tag", "get", "rename", "search_models",
    "set_tag", "update",
]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredModel:
    """A registered model as MLflow's REST API answers it."""

    name: str
    created: int
    updated: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> MLflow version
    latest: tuple[versions.ModelVersion, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        body = {
            "name": self.name,
            "creation_timestamp": self.created,
            "last_updated_timestamp": self.updated,
            "latest_versions": [one.as_dict() for one in self.latest],
            "tags": nodes.tag_list(self.tags),
            "aliases": [{"alias": a, "version": v} for a, v in sorted(self.aliases.items())],
        }
        return body if self.description is None else body | {"description": self.description}

    def row(self) -> dict[str, Any]:
        columns = {
            "name": self.name,
            "creation_timestamp": self.created,
            "last_updated_timestamp": self.updated,
            "description": self.description,
        }
        return {"columns": columns, "tags": nodes.user_tags(self.tags), "view": self}


def get(repo: Lineal, name: object) -> RegisteredModel:
    lname, _, tags = nodes.registration(repo, name)
    by_lineal = {one.lineal_version: one.version for one in versions.versions(repo, str(name))}
    held = versions.aliases_of(repo, lname)
    created = nodes.as_int(tags.get(nodes.CREATED))
    return RegisteredModel(
        name=str(name),
        created=created,
        updated=nodes.as_int(tags.get(nodes.UPDATED), created),
        description=tags.get(nodes.DESCRIPTION),
        tags=tags,
        aliases={a: by_lineal[v] for a, v in held.items() if v in by_lineal},
        latest=tuple(aliases.latest(repo, str(name))),
    )


def _fresh_ops(node: str, name: str, request: dict[str, Any], now: int) -> list[Op]:
    ops: list[Op] = [
        TagSet(target=node, key=nodes.KIND, value=nodes.REGISTERED_MODEL),
        TagSet(target=node, key=nodes.NAME, value=name),
        TagSet(target=node, key=nodes.CREATED, value=str(now)),
        TagSet(target=node, key=nodes.UPDATED, value=str(now)),
    ]
    description = nodes.text(request.get("description"), "description")
    if description is not None:
        ops.append(TagSet(target=node, key=nodes.DESCRIPTION, value=description))
    return ops + nodes.tag_ops(node, request.get("tags"))


def create(repo: Lineal, request: dict[str, Any]) -> RegisteredModel:
    """MLflow's CreateRegisteredModel: ``name``, optional ``tags`` and ``description``."""
    name = request.get("name")
    nodes.lineal_name(name)
    assert isinstance(name, str)  # noqa: S101 - lineal_name refuses anything else
    with repo.atomic():
        lname, node, ops = nodes.registration_ops(repo, name)
        old = repo.store.tags(node) if not ops else {}
        if old.get(nodes.KIND) == nodes.REGISTERED_MODEL:
            same = old.get(nodes.NAME) == name
            raise Conflict(
                f"Registered Model (name={name}) already exists."
                if same
                else f"Registered Model (name={name}) would be model/{lname}, which "
                f"registered model {old.get(nodes.NAME)!r} already is",
                hint="pick another name" if not same else "create a new version of it instead",
            )
        # A name deleted before starts afresh: its old tags go, its versions stay deleted.
        ops += [TagSet(target=node, key=k, value=None) for k in nodes.user_tags(old)]
        ops += [
            TagSet(target=node, key=k, value=None)
            for k in (nodes.DESCRIPTION, nodes.LAST_VERSION)
            if k in old
        ]
        repo.store.append([*ops, *_fresh_ops(node, name, request, nodes.now_ms())])
        return get(repo, name)


def update(repo: Lineal, name: object, description: object) -> RegisteredModel:
    with repo.atomic():
        _, node, _ = nodes.registration(repo, name)
        text = "" if description is None else nodes.text(description, "description") or ""
        repo.store.append(
            [
                TagSet(target=node, key=nodes.DESCRIPTION, value=text),
                TagSet(target=node, key=nodes.UPDATED, value=str(nodes.now_ms())),
            ]
        )
        return get(repo, name)


def set_tag(repo: Lineal, name: object, key: object, value: object) -> None:
    with repo.atomic():
        _, node, _ = nodes.registration(repo, name)
        repo.store.append(nodes.tag_ops(node, [{"key": key, "value": value}]))


def delete_tag(repo: Lineal, name: object, key: object) -> None:
    with repo.atomic():
        _, node, tags = nodes.registration(repo, name)
        if not isinstance(key, str) or key not in nodes.user_tags(tags):
            raise NotFound(f"No tag with name: {key} in registered model {name}")
        repo.store.append(TagSet(target=node, key=key, value=None))


def delete(repo: Lineal, name: object) -> None:
    """Delete a registered model: each version marked deleted, its aliases dropped (refused
    whole if lineal's policy protects one of them). The ledger keeps every record."""
    with repo.atomic():
        lname, node, tags = nodes.registration(repo, name)
        held = versions.aliases_of(repo, lname)
        ops: list[Op] = []
        for artifact, _ in versions.live(repo, lname):
            ops += versions.drop_ops(repo, lname, artifact, held)
        ops += [
            TagSet(target=node, key=k, value=None)
            for k in (nodes.KIND, nodes.LAST_VERSION)
            if k in tags
        ]
        repo.store.append(ops)


def rename(repo: Lineal, name: object, new_name: object) -> RegisteredModel:
    """Rename a registered model. lineal's names are permanent, so each live version is
    recorded again under the new name, ``derived_from`` the old one (role ``renamed``) and
    generated by the same run; tags and aliases move along; the old name is deleted."""
    with repo.atomic():
        lname, old_node, old_tags = nodes.registration(repo, name)
        new_lname = nodes.lineal_name(new_name, "new_name")
        assert isinstance(new_name, str)  # noqa: S101 - lineal_name refuses anything else
        try:
            nodes.registration(repo, new_name)
        except NotFound:
            pass
        else:
            raise Conflict(f"Registered Model (name={new_name}) already exists.")
        if new_lname == lname:
            raise InvalidInput(
                f"{name!r} and {new_name!r} are both model/{lname} in lineal",
                hint="rename to a name that differs in letters, digits, '.', '_' or '-'",
            )
        held = versions.aliases_of(repo, lname)
        for alias, number in held.items():
            nodes.guard(repo, lname, alias, number)
        _, new_node, ops = nodes.registration_ops(repo, new_name)
        if not ops:  # a name used and deleted before: what it held goes
            ops += [TagSet(target=new_node, key=k, value=None) for k in repo.store.tags(new_node)]
        ops += [
            TagSet(target=new_node, key=k, value=v) for k, v in old_tags.items() if k != nodes.NAME
        ]
        ops += [
            TagSet(target=new_node, key=nodes.NAME, value=new_name),
            TagSet(target=new_node, key=nodes.UPDATED, value=str(nodes.now_ms())),
        ]
        moved = set(repo.versions("model", new_lname))
        for artifact, tags in versions.live(repo, lname):
            meta = nodes.mlflow_meta(artifact) | {"registered_model": new_name}
            node = f"model/{new_lname}@{artifact.digest}"
            known = artifact.digest in moved
            if known:  # a version the new name had and deleted: its old tags go
                ops += [TagSet(target=node, key=k, value=None) for k in repo.store.tags(node)]
            else:
                ops.append(
                    ArtifactRecord(
                        kind="model",
                        digest=artifact.digest,
                        name=new_lname,
                        uri=artifact.uri,
                        meta={"mlflow": meta},
                    )
                )
            edges = []
            # Back to a name it had: that version is upstream already, no edge loops back.
            if not known or node not in repo.store.subgraph([artifact.node], upstream=True)[0]:
                edges.append(
                    EdgeRecord(
                        kind="derived_from", parent=artifact.node, child=node, role="renamed"
                    )
                )
            if (run := nodes.run_of(repo, meta.get("run_id"))) is not None:
                edges.append(EdgeRecord(kind="generated", parent=f"run/{run.id}", child=node))
            ops += nodes.new_edges(repo, node, edges, known=known)
            ops += [TagSet(target=node, key=k, value=v) for k, v in tags.items()]
            ops += [
                AliasSet(kind="model", name=new_lname, alias=alias, digest=artifact.digest)
                for alias, number in held.items()
                if number == artifact.version
            ]
            ops += versions.drop_ops(repo, lname, artifact, held)
        ops += [
            TagSet(target=old_node, key=k, value=None)
            for k in (nodes.KIND, nodes.LAST_VERSION)
            if k in old_tags
        ]
        repo.store.append(ops)
        return get(repo, new_name)


def search_models(repo: Lineal, request: dict[str, Any]) -> dict[str, Any]:
    """MLflow's SearchRegisteredModels: ``filter``, ``order_by``, ``max_results`` and
    ``page_token``."""
    clauses = search.parse_filter(request.get("filter"))
    rows = [
        row for name in nodes.names(repo) if search.matches(row := get(repo, name).row(), clauses)
    ]
    keys = search.order_keys(request.get("order_by"), ["name ASC"])
    chosen, token = search.page(
        search.ordered(rows, keys), request.get("max_results"), request.get("page_token"), 1000
    )
    body: dict[str, Any] = {"registered_models": [row["view"].as_dict() for row in chosen]}
    if token:
        body["next_page_token"] = token
    return body
