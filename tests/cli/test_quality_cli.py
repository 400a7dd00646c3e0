"""`lineal drift`, `lineal health`, `lineal stale` and `lineal show`'s drift line, run as a user
runs them: text, --json, exit codes, and one clear line for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from cli_checks import error_and_hint
from lineal.client import Lineal
from lineal.datasets import add
from lineal.model.digests import digest_bytes

if TYPE_CHECKING:
    from conftest import Cli


def _coco(names: list[str], counts: list[int]) -> str:
    images = [{"id": i, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in range(20)]
    annotations = []
    for cid, count in enumerate(counts, start=1):
        for n in range(count):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": n % 20,
                    "category_id": cid,
                    "bbox": [10, 10, 40 + n % 7, 30],
                    "area": 1200,
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i, "name": name} for i, name in enumerate(names, start=1)]
    return json.dumps({"images": images, "annotations": annotations, "categories": categories})


def _versions(ws: Path) -> None:
    """dataset/x: v1 car/person 50/50; v2 person renamed pedestrian; v3 car/person 90/10;
    a model trained on v1."""
    folder = ws / "labels"
    folder.mkdir()
    target = folder / "instances.json"
    with Lineal.open(path=ws) as repo:
        for names, counts in (
            (["car", "person"], [50, 50]),
            (["car", "pedestrian"], [50, 50]),
            (["car", "person"], [90, 10]),
        ):
            target.write_text(_coco(names, counts))
            data = add(repo, [folder], name="x").artifact
            if names == ["car", "pedestrian"]:
                continue
            if counts == [50, 50]:
                run = repo.start_run("train")
                repo.link("used", data, run, role="train")
                model = repo.record_artifact("model", digest=digest_bytes(b"m"), name="detector")
                repo.link("generated", run, model)
                repo.finish_run(run)


def test_drift_text_json_and_exit_codes(ws: Path, lineal_cli: Cli) -> None:
    _versions(ws)
    done = lineal_cli("drift", "dataset/x@v1", "dataset/x@v2", cwd=ws)
    assert done.returncode == 1, done.stderr  # drift found: CI can gate on it
    assert "DRIFT   schema" in done.stdout
    assert "renamed     2: person -> pedestrian" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("drift from dataset/x@v1: ")
    body = json.loads(lineal_cli("drift", "x@v3", "--json", cwd=ws).stdout)
    assert (body["a"], body["b"]) == ("dataset/x@v2", "dataset/x@v3")
    same = lineal_cli("drift", "x@v1", "x@v1", cwd=ws)
    assert same.returncode == 0, same.stderr
    assert same.stdout.splitlines()[-1] == "no drift from dataset/x@v1"
    rebalanced = json.loads(lineal_cli("drift", "x@v1", "x@v3", "--json", cwd=ws).stdout)
    verdicts = {m["measure"]: m["verdict"] for m in rebalanced["measures"]}
    assert verdicts["class_js"] == verdicts["class_chi2"] == "drift"
    assert verdicts["schema"] == verdicts["image_size"] == verdicts["file_count"] == "ok"


def test_show_gives_each_version_its_drift(ws: Path, lineal_cli: Cli) -> None:
    _versions(ws)
    shown = lineal_cli("show", "dataset/x@v2", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    (line,) = [one for one in shown.stdout.splitlines() if one.startswith("drift ")]
    assert line.startswith("drift       from dataset/x@v1: class_chi2, class_js, schema")
    body = json.loads(lineal_cli("show", "dataset/x@v2", "--json", cwd=ws).stdout)
    assert body["drift"]["drifted"] == ["class_chi2", "class_js", "schema"]
    first = json.loads(lineal_cli("show", "dataset/x@v1", "--json", cwd=ws).stdout)
    assert "drift" not in first


def test_health_and_stale(ws: Path, lineal_cli: Cli) -> None:
    _versions(ws)
    done = lineal_cli("health", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("coverage")
    assert "model/detector@v1: dataset/x@v1 -> dataset/x@v3" in done.stdout
    body = json.loads(lineal_cli("health", "--json", cwd=ws).stdout)
    assert set(body) == {"now", "coverage", "staleness", "freshness", "orphans", "crashed"}
    assert body["staleness"]["number"] == 1
    stale = lineal_cli("stale", "--all", cwd=ws)
    assert stale.returncode == 1
    assert stale.stdout.splitlines() == [
        "model/detector@v1 is stale:",
        "  dataset/x@v1 -> dataset/x@v3: dataset/x has 2 newer versions",
        # v3 went back to schema v1's classes, but the schema's newest version is v2
        "  schema/x@v1 -> schema/x@v2: schema/x has 1 newer version",
    ]
    one = json.loads(lineal_cli("stale", "model/detector", "--json", cwd=ws).stdout)
    assert one["count"] == 1
    assert one["stale"][0]["reasons"][0]["newer"] == "dataset/x@v3"


def test_bad_input_is_one_line_and_a_hint(ws: Path, lineal_cli: Cli) -> None:
    _versions(ws)
    for args in (
        ("drift", "dataset/x@v1"),  # the first version: nothing before it
        ("drift", "schema/x", "dataset/x@v2"),
        ("stale",),
        ("stale", "dataset/x"),
    ):
        error_and_hint(lineal_cli(*args, cwd=ws), *args)
    (ws / "lineal.toml").write_text("[drift]\nclass_jss = 0.2\n")
    lines = error_and_hint(lineal_cli("drift", "x@v1", "x@v2", cwd=ws), "drift")
    assert "unknown keys ['class_jss']" in lines[0]
