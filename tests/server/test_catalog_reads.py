"""The catalog pages' reads through a real `lineal server`, on what a team recorded there with
the CLI: the file-level diff of two dataset versions (their manifests pushed to the server),
a labelled version's annotation statistics and class histogram, a label schema and a schema
diff, a scene and a scene diff; each answer is what the CLI prints with --json.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from lineal.client import Lineal
from lineal.datasets import diff_versions
from lineal.labels.record import annotation_stats
from lineal.served_objects import cached_manifests
from lineal.store.registry import create_project
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

COCO = SHARED_DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"
USD_TESTS = SHARED_DATA / "usd/usd-wg__assets/test_assets/RelationshipEncapsulationTests"


def _ok(lineal_cli: Cli, *args: str, cwd: Path) -> str:
    done = lineal_cli(*args, cwd=cwd, env={"LINEAL_SPOOL": str(cwd.parent / "spool")})
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return str(done.stdout)


@pytest.mark.usefixtures("shared_data")
def test_the_catalog_pages_read_what_the_cli_recorded(
    lineal_server: tuple[str, str], lineal_cli: Cli, tmp_path: Path
) -> None:
    pytest.importorskip("pxr")
    base, url = lineal_server
    name = f"c{uuid.uuid4().hex[:10]}"
    create_project(base, name)
    ws = tmp_path / "ws"
    ws.mkdir()
    _ok(lineal_cli, "init", "--agent", "alice", "--uri", f"{url}/projects/{name}", cwd=ws)

    def cli_json(*args: str) -> Any:
        return json.loads(_ok(lineal_cli, *args, "--json", cwd=ws))

    # Two versions of a labelled dataset: v2 renames a class and adds a file.
    data = ws / "data"
    shutil.copytree(COCO, data)
    (data / "notes.txt").write_text("first")
    _ok(lineal_cli, "add", "data", "--name", "coco", cwd=ws)
    train = data / "annotations/instances_train.json"
    body = json.loads(train.read_text())
    body["categories"][1]["name"] = "bee"
    train.write_text(json.dumps(body))
    (data / "notes.txt").write_text("second")
    (data / "more.txt").write_text("new")
    _ok(lineal_cli, "add", "data", "--name", "coco", cwd=ws)
    # Two versions of a scene: a light's intensity changes.
    shutil.copytree(USD_TESTS, ws / "scene")
    root = "scene/SublayeredInternalReferenceTest.usda"
    _ok(lineal_cli, "scene", "add", root, "-n", "env", cwd=ws)
    environment = ws / "scene/utils/Environment.usda"
    environment.write_text(environment.read_text().replace("intensity = 30", "intensity = 45"))
    _ok(lineal_cli, "scene", "add", root, "-n", "env", cwd=ws)

    with httpx.Client(base_url=f"{url}/api/v1/projects/{name}/", timeout=60) as client:

        def get(path: str, **params: Any) -> Any:
            answer = client.get(path, params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()

        def refused(path: str, status: int, **params: Any) -> dict[str, Any]:
            answer = client.get(path, params=params)
            assert answer.status_code == status, answer.text
            found: dict[str, Any] = answer.json()
            assert found["error"]
            assert found["hint"]
            return found

        v1, v2 = "dataset/coco@v1", "dataset/coco@v2"
        # Before a push the server has no manifest: a clear 404 naming the fix.
        missing = refused("diff", 404, a=v1, b=v2)
        assert "lineal push" in missing["hint"]
        _ok(lineal_cli, "push", cwd=ws)
        files = get("diff", a=v1, b=v2)
        assert files == cli_json("diff", v1, v2)
        # The same diff from the workspace's own object cache, read without the workspace
        # (what `lineal ui` serves): lineal.served_objects.cached_manifests.
        with Lineal.open(path=ws) as opened:
            bare = Lineal(opened.store)  # its store alone
            old_v, new_v, changes = diff_versions(bare, v1, v2, cached_manifests(ws / ".lineal"))
            assert {"a": old_v.ref, "b": new_v.ref, **changes.as_dict()} == files
        summary = files["summary"]
        assert (summary["added"], summary["removed"], summary["modified"]) == (1, 0, 2)

        stats = get("dataset/stats", ref=v2)
        with Lineal.open(path=ws) as repo:
            assert stats == json.loads(json.dumps(annotation_stats(repo, v2)))
        assert stats["schemas"]
        for labelled in stats["schemas"]:
            assert labelled["format"] == "coco"
            assert labelled["schema"].startswith("schema/")
            counts = labelled["stats"]["per_class"]
            assert [c["name"] for c in labelled["classes"]] == sorted(
                counts, key=lambda k: (-counts[k], k)
            )
            assert sum(c["count"] for c in labelled["classes"]) == sum(counts.values())
        assert refused("dataset/stats", 400, ref="scene/env")["error"].endswith(
            "is not a dataset version"
        )

        (old,) = (one["schema"] for one in get("dataset/stats", ref=v1)["schemas"])
        assert old == "schema/coco@v1"
        (new,) = (one["schema"] for one in stats["schemas"] if "bee" in one["stats"]["per_class"])
        assert get("schema", ref=new) == cli_json("schema", "show", new)
        changed = get("schema/diff", a=old, b=new)
        assert changed == cli_json("schema", "diff", old, new)
        assert changed["renamed"] == [
            {"id": body["categories"][1]["id"], "before": "b", "after": "bee"}
        ]

        assert get("scene", ref="scene/env") == cli_json("scene", "show", "scene/env")
        lights = get("scene/diff", a="scene/env@v1", b="scene/env@v2")
        assert lights == cli_json("scene", "diff", "scene/env@v1", "scene/env@v2")
        assert [c["path"] for c in lights["layers"]["changed"]] == ["utils/Environment.usda"]
        # A path on the server's disk is never read: it is a reference, and names nothing.
        refused("scene/diff", 400, a=str(environment), b="scene/env@v2")
        refused("schema/diff", 400, a=str(train), b=new)


def test_catalog_reads_refuse_what_is_not_there(
    lineal_server: tuple[str, str],
) -> None:
    base, url = lineal_server
    name = f"c{uuid.uuid4().hex[:10]}"
    create_project(base, name)
    get: Callable[..., httpx.Response] = lambda path, **params: httpx.get(  # noqa: E731
        f"{url}/api/v1/projects/{name}/{path}", params=params, timeout=60
    )
    for path, params, status in (
        ("schema", {"ref": "nope"}, 404),
        ("scene", {"ref": "scene/nope"}, 404),
        ("dataset/stats", {"ref": "dataset/nope"}, 404),
        ("schema/diff", {"a": "x"}, 422),
        ("scene/diff", {}, 422),
    ):
        answer = get(path, **params)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["hint"], path
