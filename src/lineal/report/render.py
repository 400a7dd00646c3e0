"""A report's facts as a self-contained HTML page (no script, no network: styles and the
provenance picture inline), and that page as PDF through headless Chromium.

The page is a Jinja2 template (``templates/report.html.j2``) with autoescaping on: every
recorded text (a run name, a reason, a tag) is escaped, and only the picture lineal drew itself
is inserted as markup.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput, LinealError
from lineal.interop.extras import require

if TYPE_CHECKING:
    from lineal.report.facts import Report

#: Where `lineal report` looks for Chromium (first found), after $LINEAL_CHROMIUM.
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How long a PDF may take to print.
PDF_SECONDS = 120


def html(report: Report) -> str:
    """The report as one HTML document."""
    from lineal.report.picture import MOST_NODES, svg

    jinja2 = require("jinja2", "report")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lineal.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    picture = svg(report.picture)
    body: dict[str, Any] = report.as_dict()
    page: str = env.get_template("report.html.j2").render(
        r=body,
        picture=None if picture is None else jinja2.utils.markupsafe.Markup(picture),
        most_nodes=MOST_NODES,
        passed=_passed(body),
    )
    return page


def _passed(body: dict[str, Any]) -> dict[str, Any]:
    """The headline: whether verify and every policy passed, and how much is missing."""
    registry = body.get("registry") or {}
    policies = registry.get("policies") or []
    verification = body["verification"]
    return {
        "verify": None if verification.get("skipped") else bool(verification.get("ok")),
        "policies": None if not policies else all(p["passed"] for p in policies),
        "missing": len(body["missing"]),
        "findings": sum(
            1
            for found in body["findings"].values()
            for row in found
            if row["verdict"] in ("fail", "drift")
        ),
    }


def chromium() -> str | None:
    """The Chromium to print with: $LINEAL_CHROMIUM, else the first of CHROMIUMS on PATH."""
    named = os.environ.get("LINEAL_CHROMIUM")
    if named:
        return named
    for name in CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    return None


def pdf(page: str) -> bytes:
    """The HTML ``page`` printed to PDF by headless Chromium (no network: the page needs
    none, and its profile is thrown away)."""
    browser = chromium()
    if browser is None:
        raise InvalidInput(
            "a PDF report needs headless Chromium, and none was found",
            hint="install it (Debian: apt install chromium; or set LINEAL_CHROMIUM=PATH), "
            "or write HTML: lineal report REF -o report.html",
        )
    with tempfile.TemporaryDirectory(prefix="lineal-report-") as scratch:
        source = Path(scratch) / "report.html"
        source.write_text(page, encoding="utf-8")
        target = Path(scratch) / "report.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--no-first-run", "--no-pdf-header-footer",
            f"--user-data-dir={Path(scratch) / 'profile'}",
            f"--print-to-pdf={target}", source.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(  # noqa: S603 - a fixed command line on our own file
                command, capture_output=True, text=True, timeout=PDF_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            raise LinealError(
                f"Chromium did not print the report within {PDF_SECONDS} s",
                hint="write HTML instead (-o report.html) and print it from a browser",
            ) from None
        except OSError as exc:
            raise InvalidInput(
                f"Chromium ({browser}) could not be started: {exc.strerror}",
                hint="set LINEAL_CHROMIUM to a working Chromium, or write HTML (-o report.html)",
            ) from None
        if not target.is_file() or target.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise LinealError(
                f"Chromium printed no PDF (exit {done.returncode}): {last}",
                hint="write HTML instead (-o report.html) and print it from a browser",
            )
        return target.read_bytes()


#: `lineal report -o FILE`: the format each file suffix asks for.
FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf", ".json": "json"}


def format_of(path: Path) -> str:
    """The format ``-o PATH`` asks for, by its suffix."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"{path.name}: a report is written as .html, .pdf or .json",
            hint="name the file report.html, report.pdf or report.json",
        )
    return found


def document(report: Report, fmt: str) -> bytes:
    """The report's bytes in ``fmt`` (html, pdf or json)."""
    if fmt == "json":
        import json

        return (json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n").encode()
    page = html(report)
    return pdf(page) if fmt == "pdf" else page.encode("utf-8")
