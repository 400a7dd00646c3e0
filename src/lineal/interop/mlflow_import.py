"""`lineal import mlflow`: an MLflow tracking store's experiments, runs and models into lineal.

Follows the one mapping of MLflow onto lineal (lineal.interop.mlflow_mapping). Each run and
each model lands whole in its own transaction, and what is already there is skipped, so a
second import records nothing and an interrupted one, run again, finishes the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineal.interop import mlflow_models, mlflow_runs
from lineal.interop import mlflow_source as mlsource
from lineal.interop.mlflow_result import MlflowImport

if TYPE_CHECKING:
    from lineal.cas.objects import ObjectCache
    from lineal.cas.progress import Progress
    from lineal.client import Lineal

_AFTER = "what was imported is whole: import again to bring the rest"


def import_mlflow(
    repo: Lineal,
    target: str,
    *,
    experiments: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> MlflowImport:
    """Import the MLflow store at ``target`` (an ``mlruns/`` folder, a sqlite file, or a
    tracking URI), or only the ``experiments`` named (by name or id)."""
    from lineal.cas.progress import Tally

    root = mlsource.locate(target)[1]
    with mlsource.quiet(), mlsource.left_as_found(root):
        return _import(repo, target, experiments, progress or Tally())


def _import(
    repo: Lineal, target: str, experiments: tuple[str, ...], progress: Progress
) -> MlflowImport:
    from lineal.model.masking import mask_url

    opened = mlsource.open_source(target)
    # Its URI goes into each run's meta: never with a database password in it.
    source = mlsource.Source(client=opened.client, uri=mask_url(opened.uri), root=opened.root)
    result = MlflowImport(source=source.uri)
    job = mlflow_runs.Importing(repo=repo, source=source, result=result, cache=_cache(repo))
    found = mlsource.experiments(source, experiments)
    runs = {e.experiment_id: list(mlsource.runs(source, [e.experiment_id])) for e in found}
    every = {r.info.run_id: r for rs in runs.values() for r in rs}
    job.run_ids = {run_id: mlflow_runs.lineal_run_id(r) for run_id, r in every.items()}
    done = 0
    progress.stage("importing runs", "imported", unit="runs", total=len(every), after=_AFTER)
    for experiment in found:
        before = result.imported.total()
        for run in runs[experiment.experiment_id]:
            mlflow_runs.import_run(job, run, experiment.name)
            done += 1
            progress(done, len(every))
        if not runs[experiment.experiment_id]:
            continue  # an empty experiment (MLflow's Default, often) brings nothing
        if result.imported.total() > before:
            result.imported.experiments += 1
        else:
            result.already.experiments += 1
    if job.elsewhere:
        result.notes.append(
            f"the files of {len(job.elsewhere)} runs are not on this machine (such as "
            f"{job.elsewhere[0]}): their runs are in, their files are not"
        )
    models = mlsource.logged_models(source, [e.experiment_id for e in found])
    # A FileStore without a models/ folder has no registry (and asking would make one).
    no_registry = source.root is not None and not (source.root / "models").is_dir()
    registered = [] if no_registry else mlsource.registered_models(source)
    if experiments:  # only the versions that came from the runs imported
        registered = [
            (model, [v for v in versions if v.run_id in every]) for model, versions in registered
        ]
    registered = [(model, versions) for model, versions in registered if versions]
    total = len(models) + len(registered)
    progress.stage("importing models", "imported", unit="models", total=total, after=_AFTER)
    for done, model in enumerate(models, 1):
        mlflow_models.import_logged_model(job, model)
        progress(done, total)
    for done, (model, versions) in enumerate(registered, len(models) + 1):
        mlflow_models.import_registered(job, model, versions, every)
        progress(done, total)
    return result


def _cache(repo: Lineal) -> ObjectCache | None:
    """The workspace's object store, where the files MLflow logged are kept; None without one."""
    if repo.workspace is None or repo.workspace.root is None:
        return None
    from lineal.datasets import objects

    return objects(repo)
