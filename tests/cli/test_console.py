"""The command line's lazy consoles print exactly what rich's Console would."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rich.console import Console

from lineal.cli.common import _LazyConsole

LINES = [
    "",
    "dataset/small@v1  sha256:cb6bf6b44586  20,000 files, 81.9 MB, 0 new objects",
    "skipped: link -> /somewhere (symlink to a folder)",
    "a :smile: here",  # an emoji code: rich replaces it
    "a:b:c",
    "tab\there",
    "bell\x07 and carriage\rreturn",
    "two\nlines",
    "[bold]not markup[/bold]",
    "wide 漢字 and é " + "x" * 300,
]


@pytest.mark.parametrize("text", LINES)
@pytest.mark.parametrize("stderr", [False, True])
def test_a_line_prints_as_rich_prints_it(
    capsys: pytest.CaptureFixture[str], text: str, stderr: bool
) -> None:
    Console(stderr=stderr, highlight=False, soft_wrap=True).print(text, markup=False)
    expected = capsys.readouterr()
    _LazyConsole(stderr=stderr).print(text, markup=False)
    assert capsys.readouterr() == expected


def test_other_prints_go_to_rich(capsys: pytest.CaptureFixture[str]) -> None:
    Console(highlight=False, soft_wrap=True).print("[bold]x[/bold] 1", style="red")
    expected = capsys.readouterr()
    _LazyConsole(stderr=False).print("[bold]x[/bold] 1", style="red")
    assert capsys.readouterr() == expected


def test_a_plain_add_does_not_import_rich(tmp_path: object) -> None:
    code = (
        "import sys\n"
        "from lineal.cli import app\n"
        "app.for_argv(['add'])\n"
        "from lineal.cli.common import out\n"
        "out.print('dataset/x@v1  sha256:ab  1 files', markup=False)\n"
        "assert not [m for m in sys.modules if m.startswith('rich')], 'rich was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
