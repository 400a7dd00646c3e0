"""The service endpoints of the registry and the catalog pages: a model's approvals, the policy
in force and every aliased version's checks; label schemas, scenes and the annotation
statistics of dataset versions. Each calls the service the CLI calls (see
lineal.server.services) and answers its ``as_dict()``.
"""

from collections.abc import Callable
from typing import Any

# No ``from __future__ import annotations``: FastAPI reads the parameter types below.
from lineal.client import Lineal
from lineal.server.services import Named, Obj, Objs, Ref, Text, _answer


def catalog_routes(get: Callable[..., Callable[[Any], Any]], repo: Callable[[str], Lineal]) -> None:
    """``models/{ref}/approvals``, ``policy``, ``policy/check``; ``schema``, ``schema/diff``,
    ``scene``, ``scene/diff``, ``dataset/stats``; ``classified``. References only: a server
    never reads a label file or a USD file a request names."""

    @get("schema", "A label schema version: classes, types, lineage (`lineal schema show`)", Obj)
    def schema(project: str, ref: Ref) -> Any:
        from lineal.labels.record import show

        return _answer(show(repo(project), ref))

    @get("schema/diff", "Classes added, removed, renamed (`lineal schema diff --json`)", Obj)
    def schema_diff(project: str, a: Ref, b: Ref) -> Any:
        from lineal.labels.record import compare, compared

        return _answer(compared(*compare(repo(project), a, b, paths=False)))

    @get("scene", "A scene version: layers, assets, summary (`lineal scene show --json`)", Obj)
    def scene(project: str, ref: Ref) -> Any:
        from lineal.scenes.record import show

        return _answer(show(repo(project), ref))

    @get("scene/diff", "Changed layers, assets, lights (`lineal scene diff --json`)", Obj)
    def scene_diff(project: str, a: Ref, b: Ref) -> Any:
        from lineal.scenes.record import compare

        return _answer(compare(repo(project), a, b, paths=False))

    @get(
        "dataset/stats",
        "A labelled dataset version's annotation statistics and class histogram",
        Obj,
    )
    def dataset_stats(project: str, ref: Ref) -> Any:
        from lineal.labels.record import annotation_stats

        return _answer(annotation_stats(repo(project), ref))

    @get("classified", "What carries a classification, and from where (`lineal classified`)", Objs)
    def classified(project: str, classification: Text = None) -> Any:
        from lineal.quality.classify import classified

        return _answer([one.as_dict() for one in classified(repo(project), classification)])

    @get("models/{ref}/approvals", "Who approved a model's versions, when, why", Objs)
    def approvals(project: str, ref: Named) -> Any:
        from lineal.registry.approvals import approvals

        return _answer(approvals(repo(project), ref))

    @get("policy", "Protected aliases, policies and roles in force in the ledger", Obj)
    def policy(project: str) -> Any:
        from lineal.registry.approvals import policy_in_force

        return _answer(policy_in_force(repo(project)).as_dict())

    @get(
        "policy/check",
        "Every aliased version's policy checks now (`lineal policy check --all`)",
        Objs,
    )
    def policy_check(project: str) -> Any:
        from lineal.registry.promote import check_all

        return _answer(check_all(repo(project)))
