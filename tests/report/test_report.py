"""`lineal report`: the audit report of the demo's production model, parsed back from its HTML
(every upstream dataset, licence, run and approval named), its PDF rendered by pdftoppm, and
what it says about what is missing; bad input refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.registry.approvals import approvals as registry_approvals
from server_process import LINEAL_BIN

PRODUCTION = "model/street-classifier:production"
Cli = Callable[..., "subprocess.CompletedProcess[str]"]


class _Collect(HTMLParser):
    """The text of every element by class, and the data-ref of each run section."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, list[str]] = {}
        self.run_refs: list[str] = []
        self.scripts = 0
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.scripts += tag == "script"
        if tag == "section" and found.get("class") == "run":
            self.run_refs.append(str(found["data-ref"]))
        if tag in ("br", "meta", "img", "path", "rect"):
            return
        self._open.append(found.get("class"))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "meta", "img", "path", "rect") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for name in filter(None, self._open):
            for one in name.split():
                self.by_class.setdefault(one, []).append(data)


def _parse(page: str) -> _Collect:
    parsed = _Collect()
    parsed.feed(page)
    return parsed


def _needs(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is missing: .ci/run installs it")
        pytest.skip(f"{program} is not installed")
    return found


@pytest.fixture(scope="module")
def demo(demo_copy: Path) -> Path:
    """The demo's store, with an approval of the production model added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    reason = "reviewed <b>ok</b>"
    approve = ["model", "approve", PRODUCTION, "--for", "production", "--reason", reason]
    done = subprocess.run(
        [str(LINEAL_BIN), *approve],
        cwd=demo_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return demo_copy


def _json(lineal_cli: Cli, cwd: Path, *args: str) -> dict:
    done = lineal_cli(*args, "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_report_names_every_dataset_licence_run_and_approval(
    demo: Path, lineal_cli: Cli
) -> None:
    done = lineal_cli("report", PRODUCTION, "-o", "report.html", cwd=demo)
    assert done.returncode == 0, done.stderr
    assert "Wrote the HTML report of model/street-classifier@v2" in done.stdout
    page = (demo / "report.html").read_text(encoding="utf-8")
    parsed = _parse(page)
    assert parsed.scripts == 0  # self-contained and inert
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    shown = _json(lineal_cli, demo, "model", "show", PRODUCTION)
    evaluated = [e for e in shown["evaluations"] if e["role"] == "evaluated"]
    datasets = {d["ref"]: d["license"] for d in shown["upstream"]["datasets"]}
    datasets.update(
        (ref, _json(lineal_cli, demo, "show", ref)["tags"].get("license"))
        for e in evaluated
        for ref in e["datasets"]
    )
    refs = [text.strip() for text in parsed.by_class["dataset-ref"]]
    licences = [text.strip() for text in parsed.by_class["license"]]
    assert len(datasets) >= 2
    for ref, licence in datasets.items():
        assert ref in refs, ref
        assert licence
        assert licences[refs.index(ref)] == licence
    runs = {r["ref"] for r in shown["upstream"]["runs"]} | {e["ref"] for e in shown["evaluations"]}
    assert runs <= set(parsed.run_refs)
    with Lineal.open(path=demo) as repo:
        approvals = registry_approvals(repo, PRODUCTION)
    assert approvals, "the fixture approved the model"
    whos = [text.strip() for text in parsed.by_class["who"]]
    for one in approvals:
        assert one["by"] in whos
    assert "reviewed &lt;b&gt;ok&lt;/b&gt;" in page  # recorded text is escaped, never markup
    history = _json(lineal_cli, demo, "model", "history", "street-classifier")
    promoted = [p for p in history["promotions"] if p["ref"] == "model/street-classifier@v2"]
    assert promoted
    assert promoted[0]["reason"] in page
    # The schemas and scenes upstream, the verification and the picture.
    for schema in shown["upstream"]["schemas"]:
        assert schema["ref"] in page
    for scene in shown["upstream"]["scenes"]:
        assert scene["ref"] in page
    assert "chain, signatures and projections hold" in page
    assert page.count('<g class="node"') >= len(runs) + len(datasets)


def test_the_report_states_what_is_missing(demo: Path, lineal_cli: Cli) -> None:
    facts = _json(lineal_cli, demo, "report", PRODUCTION)
    missing = facts["missing"]
    # The demo records no sources and runs outside git, and keeps no checkpoint yet.
    assert "dataset/render-train@v2 has no source recorded" in missing
    assert any("has no code commit recorded" in item for item in missing)
    assert any(item.startswith("no signed checkpoint was checked") for item in missing)
    assert not any("has no approval recorded" in item for item in missing)
    # A checkpoint kept: the report shows its signed tree head instead.
    done = lineal_cli("checkpoint", cwd=demo)
    assert done.returncode == 0, done.stderr
    facts = _json(lineal_cli, demo, "report", PRODUCTION)
    assert not any(item.startswith("no signed checkpoint") for item in facts["missing"])
    head = facts["verification"]["checkpoint_head"]
    assert head["size"] == facts["verification"]["records"]
    assert head["sig"]


def test_a_dataset_report(demo: Path, lineal_cli: Cli) -> None:
    facts = _json(lineal_cli, demo, "report", "dataset/render-train", "--no-verify")
    assert facts["subject"]["ref"] == "dataset/render-train@v2"
    assert facts["registry"] is None
    assert facts["verification"] == {"skipped": True}
    first = facts["datasets"][0]
    assert first["ref"] == "dataset/render-train@v2"
    assert first["stats"]["per_class"] == {"car": 210, "cone": 200, "person": 188}
    assert any(s["ref"] == "schema/render-train@v2" for s in facts["schemas"])
    assert any(s["ref"].startswith("scene/street@") for s in facts["scenes"])


def test_the_pdf_renders(demo: Path, lineal_cli: Cli, tmp_path: Path) -> None:
    _needs("chromium")
    pdftoppm = _needs("pdftoppm")
    out = tmp_path / "report.pdf"
    done = lineal_cli("report", PRODUCTION, "-o", str(out), "--no-verify", cwd=demo)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        [pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "1", str(out), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    assert pages[0].stat().st_size > 2000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run/01M995YYGZXRBB10MRNC035C1D"], "no run"),
        (["model/street-classifier", "-o", "r.docx"], "a report is written as .html, .pdf"),
        (["model/nope"], "no model named 'nope'"),
    ],
)
def test_bad_input_is_one_line(demo: Path, lineal_cli: Cli, args: list[str], message: str) -> None:
    done = lineal_cli("report", *args, cwd=demo)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (demo / "r.docx").exists()


def test_no_chromium_is_a_clear_error(demo: Path, lineal_cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    done = lineal_cli(
        "report", PRODUCTION, "-o", str(out), "--no-verify", cwd=demo,
        env={"LINEAL_CHROMIUM": str(tmp_path / "no-such-chromium")},
    )  # fmt: skip
    assert done.returncode != 0
    assert "could not be started" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_run_is_not_a_subject(demo: Path, lineal_cli: Cli) -> None:
    run = _json(lineal_cli, demo, "model", "show", PRODUCTION)["run"]
    done = lineal_cli("report", run, cwd=demo)
    assert done.returncode != 0
    assert f"{run} is a run: a report is about a model or a dataset version" in done.stderr
