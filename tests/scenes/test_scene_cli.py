"""`lineal scene add|show|diff|config` as a user runs them, on the real sample scenes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("pxr")

from lineal.client import Lineal
from shared_data import SHARED_DATA

if TYPE_CHECKING:
    from conftest import Cli

USD = SHARED_DATA / "usd"
TESTS = USD / "usd-wg__assets/test_assets/RelationshipEncapsulationTests"
PYRAMID = USD / "usd-wg__assets/full_assets/SubdivisionSurfaces/Pyramid/Pyramid.usd"


def ok(lineal_cli: Cli, *args: str, cwd: Path) -> str:
    done = lineal_cli(*args, cwd=cwd)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return str(done.stdout)


@pytest.mark.usefixtures("shared_data")
def test_add_show_and_diff_name_the_changed_layer(ws: Path, lineal_cli: Cli) -> None:
    shutil.copytree(TESTS, ws / "scene")
    root = "scene/SublayeredInternalReferenceTest.usda"
    first = json.loads(ok(lineal_cli, "scene", "add", root, "-n", "env", "--json", cwd=ws))
    assert first["ref"] == "scene/env@v1"
    assert first["missing"] == []
    assert first["summary"]["counts"]["lights"] == 3
    again = ok(lineal_cli, "scene", "add", root, "--name", "scene/env", cwd=ws)
    assert again.startswith("scene/env@v1 unchanged")
    environment = ws / "scene/utils/Environment.usda"
    environment.write_text(environment.read_text().replace("intensity = 30", "intensity = 45"))
    second = ok(lineal_cli, "scene", "add", root, "-n", "env", cwd=ws)
    assert second.startswith("scene/env@v2 ")
    assert "derived from scene/env@v1" in second
    changes = json.loads(ok(lineal_cli, "scene", "diff", "env@v1", "env", "--json", cwd=ws))
    assert [c["path"] for c in changes["layers"]["changed"]] == ["utils/Environment.usda"]
    assert changes["lights"]["changed"] == [
        {
            "path": "/Environment/Lights/SphereLight",
            "changes": {"intensity": {"before": 30.0, "after": 45.0}},
        }
    ]
    text = ok(lineal_cli, "scene", "diff", "env@v1", "env@v2", cwd=ws)
    assert "changed layer  utils/Environment.usda" in text
    assert "light /Environment/Lights/SphereLight: intensity 30.0 -> 45.0" in text
    shown = json.loads(ok(lineal_cli, "scene", "show", "env", "--json", cwd=ws))
    assert shown["derived_from"] == ["scene/env@v1"]
    assert shown["source"] == root
    assert len(shown["layers"]) == 4
    assert "sublayer" in ok(lineal_cli, "scene", "show", "env@v1", cwd=ws)
    with Lineal.open(path=ws) as repo:
        scene = repo.resolve("scene/env@v2")
        roles = {
            e.role for e in repo.edges(scene) if e.kind == "derived_from" and e.child == scene.node
        }
        assert roles == {"root", "sublayer", "previous"}
        layer = repo.resolve(shown["layers"][0]["digest"])
        assert layer.kind == "file"
        assert layer.meta["usd"] == "layer"


@pytest.mark.usefixtures("shared_data")
def test_missing_dependencies_warn_and_are_recorded(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("scene", "add", str(PYRAMID), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("scene/Pyramid@v1 ")
    assert "1 missing" in done.stdout
    assert "warning: missing dependency thumbnail.png" in done.stderr
    shown = json.loads(ok(lineal_cli, "scene", "show", "scene/Pyramid", "--json", cwd=ws))
    assert shown["missing"] == ["thumbnail.png"]


def test_bad_scenes_and_configs_get_one_line(ws: Path, lineal_cli: Cli) -> None:
    (ws / "bad.usda").write_text("not usd at all\n")
    done = lineal_cli("scene", "add", "bad.usda", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot read ")
    assert "Traceback" not in done.stderr
    (ws / "r.yaml").write_text("seed: 1\nranges:\n  light: [9, 2]\n")
    done = lineal_cli("scene", "config", "r.yaml", cwd=ws)
    assert done.returncode == 1
    assert "ranges.light: min 9 is greater than max 2" in done.stderr
    (ws / "r.yaml").write_text("seed: 1\nranges: [\n")
    done = lineal_cli("scene", "config", "r.yaml", cwd=ws)
    assert "not valid YAML at line" in done.stderr
    with Lineal.open(path=ws) as repo:
        assert repo.artifacts("scene") == []
        assert repo.artifacts("config") == []


def test_configs_are_versioned_by_canonical_content(ws: Path, lineal_cli: Cli) -> None:
    (ws / "r.yaml").write_text("seed: 7\nranges:\n  light.intensity: [500, 2000]\n")
    first = json.loads(ok(lineal_cli, "scene", "config", "r.yaml", "--json", cwd=ws))
    assert first["ref"] == "config/r@v1"
    (ws / "r.yaml").write_text("ranges: {light.intensity: [500, 2000]}\nseed: 7\n")
    assert "unchanged" in ok(lineal_cli, "scene", "config", "r.yaml", cwd=ws)
    (ws / "r.yaml").write_text("seed: 8\nranges:\n  light.intensity: [500, 2000]\n")
    assert ok(lineal_cli, "scene", "config", "r.yaml", cwd=ws).startswith("config/r@v2 ")
