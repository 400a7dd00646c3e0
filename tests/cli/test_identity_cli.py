"""Byte-identical outputs keep their provenance, through the real CLI: a copy step, a model
registered from a file a run wrote, and references to bytes several versions hold."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def _ok(cli: Cli, *args: str, cwd: Path) -> str:
    done = cli(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_copy_step_keeps_its_output_and_its_maker(ws: Path, lineal_cli: Cli) -> None:
    (ws / "a").mkdir()
    (ws / "a" / "x.txt").write_text("hi\n")
    _ok(lineal_cli, "add", "a", "--name", "a", cwd=ws)
    made = lineal_cli("run", "--in", "a", "--out", "b", "--", "cp", "-r", "a", "b", cwd=ws)
    assert made.returncode == 0, made.stderr
    assert "generated dataset/b@v1" in made.stderr

    up = json.loads(_ok(lineal_cli, "upstream", "dataset/b", "--json", cwd=ws))
    labels = {node["label"] for node in up["nodes"]}
    assert {"dataset/b@v1", "dataset/a@v1"} <= labels
    assert any(node["type"] == "run" and node["name"] == "cp" for node in up["nodes"])
    assert any(e["kind"] == "generated" for e in up["edges"])

    shown = json.loads(_ok(lineal_cli, "show", "dataset/b", "--json", cwd=ws))
    assert shown["ref"] == "dataset/b@v1"
    assert shown["meta"]["root"] == "b"
    assert shown["same_content"] == ["dataset/a@v1"]
    (maker,) = shown["upstream"]
    assert maker["kind"] == "generated"

    # The bytes alone no longer say which version: refused, with the list.
    refused = lineal_cli("show", shown["digest"], cwd=ws)
    assert refused.returncode == 1
    assert "dataset/a@v1, dataset/b@v1" in refused.stderr

    # The run names its input and output by reference, not by digest.
    text = _ok(lineal_cli, "show", maker["ref"], cwd=ws)
    assert "used (input) dataset/a@v1" in text
    assert "generated (output) dataset/b@v1" in text


def test_register_a_file_a_run_wrote(ws: Path, lineal_cli: Cli) -> None:
    made = lineal_cli("run", "--out", "model.bin", "--", "sh", "-c", "echo w > model.bin", cwd=ws)
    assert made.returncode == 0, made.stderr
    run_ref = made.stderr.split()[0]
    done = _ok(lineal_cli, "model", "register", "model.bin", "--name", "det", "--json", cwd=ws)
    assert json.loads(done)["run"] == run_ref
    up = json.loads(_ok(lineal_cli, "upstream", "model/det", "--json", cwd=ws))
    assert run_ref in {node["id"] for node in up["nodes"]}
    assert "file/model.bin@v1" in {node["label"] for node in up["nodes"]}

    # By the run: its one output is what it made.
    again = _ok(lineal_cli, "model", "register", run_ref, "--name", "det2", "--json", cwd=ws)
    assert json.loads(again)["run"] == run_ref


def test_a_copy_step_replays_though_its_bytes_have_two_names(ws: Path, lineal_cli: Cli) -> None:
    (ws / "a").mkdir()
    (ws / "a" / "x.txt").write_text("hi\n")
    _ok(lineal_cli, "add", "a", "--name", "a", cwd=ws)
    made = lineal_cli("run", "--in", "a", "--out", "b", "--", "cp", "-r", "a", "b", cwd=ws)
    run_ref = made.stderr.split()[0]
    replayed = lineal_cli("replay", run_ref, cwd=ws)
    assert replayed.returncode == 0, replayed.stderr
    assert f"{run_ref} reproducible" in replayed.stdout
