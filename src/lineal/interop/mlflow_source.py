"""Reading an MLflow tracking store through ``mlflow.tracking.MlflowClient``.

Opens a ``mlruns/`` FileStore, a ``sqlite:///`` or ``postgresql://`` store (or a tracking
server's ``http(s)://`` URI), and reads what the importer maps: experiments, runs page by page,
every metric point, the files a run logged (where they can be read from this machine), logged
models and the registry. Never writes to lineal.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lineal.errors import InvalidInput, NotFound, StoreUnavailable
from lineal.interop.extras import require

_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "file")
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Source:
    """An open MLflow store: its client, the URI it was opened with, and, for a FileStore,
    its folder (a run's files are found there even when the store was moved)."""

    client: Any
    uri: str
    root: Path | None


def _file_store(path: Path) -> bool:
    """Does ``path`` hold an MLflow FileStore (experiment folders with a meta.yaml)?"""
    if not path.is_dir():
        return False
    return any(
        (child / "meta.yaml").is_file()
        for child in path.iterdir()
        if child.is_dir() and not child.name.startswith(".")
    )


def _sqlite_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def locate(target: str) -> tuple[str, Path | None]:
    """The tracking URI for a path or URI, and the FileStore folder if it is one; or say
    clearly why ``target`` is not an MLflow store."""
    hint = "pass an mlruns/ folder, an MLflow sqlite file, or a URI such as sqlite:///mlflow.db"
    scheme = urlparse(target).scheme.lower().split("+")[0]
    if scheme == "file":
        target = unquote(urlparse(target).path)
    elif scheme in _SCHEMES:
        if scheme == "sqlite":
            path = Path(unquote(target.split(":///", 1)[-1]))
            if not path.is_file():
                raise NotFound(f"no MLflow sqlite store at {path}", hint=hint)
            if not _sqlite_file(path):
                raise InvalidInput(f"{path} is not an MLflow store (not a sqlite file)", hint=hint)
        return target, None
    elif scheme and len(scheme) > 1:
        raise InvalidInput(f"cannot read MLflow stores at {scheme}: URIs", hint=hint)
    path = Path(target).expanduser()
    if not path.exists():
        raise NotFound(f"no MLflow store at {path}: nothing is there", hint=hint)
    if path.is_file():
        if not _sqlite_file(path):
            raise InvalidInput(f"{path} is not an MLflow store (not a sqlite file)", hint=hint)
        return f"sqlite:///{path.resolve()}", None
    if not _file_store(path) and _file_store(path / "mlruns"):
        path = path / "mlruns"
    if not _file_store(path):
        raise InvalidInput(
            f"{path} is not an MLflow store: no experiment folder with a meta.yaml", hint=hint
        )
    return path.resolve().as_uri(), path.resolve()


@contextmanager
def quiet() -> Iterator[None]:
    """MLflow's log lines and warnings (deprecated stages, schema upgrades) kept off the
    screen while the import reads: the CLI says what happened."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [one.level for one in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for one in loggers:
            one.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for one, level in zip(loggers, levels, strict=True):
                one.setLevel(level)


@contextmanager
def left_as_found(root: Path | None) -> Iterator[None]:
    """A FileStore as it was found: MLflow makes its ``.trash`` and ``models`` folders in any
    FileStore it opens; those it made (still empty) are taken away again when the import ends."""
    made = (
        [] if root is None else [root / n for n in (".trash", "models") if not (root / n).exists()]
    )
    try:
        yield
    finally:
        for folder in made:
            with suppress(OSError):  # not empty, or not ours to remove: leave it
                folder.rmdir()


def open_source(target: str) -> Source:
    """Open the MLflow store ``target`` names, and check it answers."""
    from lineal.model.masking import mask_url

    uri, root = locate(target)
    reach = _database(uri)
    # mlflow 3 refuses a FileStore unless told it may; a server that does not answer should
    # say so at once, not after minutes of retries.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    tracking = require("mlflow.tracking", "mlflow")
    entities = require("mlflow.entities", "mlflow")
    try:
        client = tracking.MlflowClient(tracking_uri=reach, registry_uri=reach)
        client.search_experiments(view_type=entities.ViewType.ACTIVE_ONLY, max_results=1)
    except Exception as exc:  # mlflow, sqlalchemy, requests: all mean "cannot read"
        raise StoreUnavailable(
            f"cannot read the MLflow store at {mask_url(uri)}: {_first_line(exc)}",
            hint="check the URI, that its server or database is up, and your access to it",
        ) from None
    return Source(client=client, uri=uri, root=root)


def _database(uri: str) -> str:
    """Check that a database URI answers and holds MLflow's tables (MLflow itself would retry
    for minutes, or create its tables in whatever database it is given); the URI to use."""
    from lineal.model.masking import mask_url

    scheme = urlparse(uri).scheme.lower()
    if scheme.split("+")[0] not in ("sqlite", "postgresql", "mysql", "mssql"):
        return uri
    if (
        scheme == "postgresql"
        and importlib.util.find_spec("psycopg2") is None
        and importlib.util.find_spec("psycopg") is not None
    ):  # SQLAlchemy's default driver is missing; psycopg 3 is what is installed
        uri = "postgresql+psycopg" + uri[len("postgresql") :]
    sqlalchemy = require("sqlalchemy", "mlflow")
    timeout = {"connect_timeout": 10} if scheme.startswith(("postgresql", "mysql")) else {}
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=timeout)
        try:
            with engine.connect() as connection:
                tables = set(sqlalchemy.inspect(connection).get_table_names())
        finally:
            engine.dispose()
    except Exception as exc:  # a driver, a refused connection, a bad password: cannot read
        raise StoreUnavailable(
            f"cannot read the MLflow store at {mask_url(uri)}: {_first_line(exc)}",
            hint="check the URI, that its database is up, and your access to it",
        ) from None
    if not {"experiments", "runs"} <= tables:
        raise InvalidInput(
            f"{mask_url(uri)} is not an MLflow store: it has no experiments and runs tables",
            hint="pass the database an MLflow tracking server writes to",
        )
    return uri


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def experiments(source: Source, wanted: tuple[str, ...] = ()) -> list[Any]:
    """The active experiments (those named or numbered in ``wanted``, if any), by id."""
    entities = require("mlflow.entities", "mlflow")
    found: list[Any] = []
    token = None
    while True:
        page = source.client.search_experiments(
            view_type=entities.ViewType.ACTIVE_ONLY, max_results=_PAGE, page_token=token
        )
        found += list(page)
        token = page.token
        if not token:
            break
    if wanted:
        missing = [w for w in wanted if not any(w in (e.name, e.experiment_id) for e in found)]
        if missing:
            raise NotFound(
                f"no MLflow experiment {', '.join(map(repr, missing))} in {source.uri}",
                hint=f"experiments there: {', '.join(sorted(e.name for e in found)) or 'none'}",
            )
        found = [e for e in found if e.name in wanted or e.experiment_id in wanted]
    return sorted(found, key=lambda e: (len(e.experiment_id), e.experiment_id))


def runs(source: Source, experiment_ids: list[str]) -> Iterator[Any]:
    """The active runs of these experiments, oldest first, page by page."""
    if not experiment_ids:
        return
    entities = require("mlflow.entities", "mlflow")
    token = None
    while True:
        page = source.client.search_runs(
            experiment_ids,
            run_view_type=entities.ViewType.ACTIVE_ONLY,
            max_results=_PAGE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        yield from page
        token = page.token
        if not token:
            return


@dataclass(frozen=True, slots=True)
class Point:
    """One metric point as MLflow keeps it (time in ms)."""

    step: int
    value: float
    timestamp: int


def metric_history(source: Source, experiment_id: str, run_id: str, key: str) -> list[Any]:
    """Every point of one metric, by step then time (lineal's series never step back).

    A FileStore kept in git lacks the empty ``artifacts/`` folders mlflow wants to see before
    it reads a run's history: the metric's own file (``timestamp value step`` lines) is read.
    """
    try:
        points = source.client.get_metric_history(run_id, key)
    except Exception:
        path = None if source.root is None else source.root / experiment_id / run_id / "metrics"
        if path is None or not (path / key).is_file():
            raise
        points = _metric_file(path / key)
    return sorted(points, key=lambda m: (m.step, m.timestamp))


def _metric_file(path: Path) -> list[Point]:
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:  # MLflow 1 wrote no step
            step = int(parts[2]) if len(parts) > 2 else 0
            points.append(Point(step=step, value=float(parts[1]), timestamp=int(parts[0])))
    return points


def local_dir(source: Source, uri: str | None, experiment_id: str, run_id: str) -> Path | None:
    """The folder on this machine holding a run's files (its ``artifact_uri``), if any.

    A FileStore that was moved keeps its old absolute URIs: the run's own folder is used then.
    """
    if source.root is not None:
        moved = source.root / experiment_id / run_id / "artifacts"
        if moved.is_dir():
            return moved
    path = local_path(uri)
    return path if path is not None and path.is_dir() else None


def local_path(uri: str | None) -> Path | None:
    """The existing file or folder a plain path or ``file:`` URI names on this machine."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    path = Path(unquote(parsed.path))
    return path if path.exists() else None


def files_under(folder: Path) -> list[tuple[str, Path]]:
    """``(relative path, path)`` of every file under ``folder``, sorted."""
    return sorted(
        (path.relative_to(folder).as_posix(), path) for path in folder.rglob("*") if path.is_file()
    )


def logged_models(source: Source, experiment_ids: list[str]) -> list[Any]:
    """MLflow 3's logged models of these experiments (none in older stores), oldest first."""
    if not experiment_ids:
        return []
    found: list[Any] = []
    token = None
    while True:
        try:
            page = source.client.search_logged_models(
                experiment_ids=experiment_ids, max_results=_PAGE, page_token=token
            )
        except Exception as exc:  # a store or server older than MLflow 3
            if "not" in str(exc).lower() and "support" in str(exc).lower():
                return found
            raise
        found += list(page)
        token = page.token
        if not token:
            break
    return sorted(found, key=lambda m: (m.creation_timestamp or 0, m.model_id))


def registered_models(source: Source) -> list[tuple[Any, list[Any]]]:
    """Each registered model with its versions (oldest first)."""
    found: list[tuple[Any, list[Any]]] = []
    token = None
    while True:
        page = source.client.search_registered_models(max_results=_PAGE, page_token=token)
        for model in page:
            versions = source.client.search_model_versions(f"name='{_quoted(model.name)}'")
            found.append((model, sorted(versions, key=lambda v: int(v.version))))
        token = page.token
        if not token:
            return sorted(found, key=lambda pair: pair[0].name)


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")
