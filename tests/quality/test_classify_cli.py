"""`lineal tag … classification=…`, `lineal show` and `lineal classified`, run as a user runs
them; `lineal alerts` beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from lineal.client import Lineal
from lineal.quality import alerts

if TYPE_CHECKING:
    from conftest import Cli


def test_show_and_classified_say_what_is_inherited_and_from_where(
    ws: Path, lineal_cli: Cli
) -> None:
    with Lineal.open(path=ws) as repo:
        raw = repo.record_artifact("dataset", data=b"faces", name="raw")
        train = repo.start_run("train")
        repo.link("used", raw, train, role="train")
        repo.link("generated", train, repo.record_artifact("model", data=b"w", name="det"))
    assert lineal_cli("classified", cwd=ws).stdout == "Nothing is classified.\n"
    tagged = lineal_cli("tag", "dataset/raw", "classification=pii", cwd=ws)
    assert tagged.returncode == 0, tagged.stderr

    shown = lineal_cli("show", "model/det", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    assert "classified  pii from dataset/raw@v1 (2 edges up)\n" in shown.stdout
    as_json = json.loads(lineal_cli("show", "model/det", "--json", cwd=ws).stdout)
    assert [(c["from"], c["distance"]) for c in as_json["classified"]] == [("dataset/raw@v1", 2)]

    listed = lineal_cli("classified", "pii", cwd=ws)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["dataset/raw@v1", "pii", "(own", "tag)"]
    assert lines[-1].split()[0] == "run/" + train.id
    assert any(line.startswith("model/det@v1 ") and "2 edges up" in line for line in lines)
    found = json.loads(lineal_cli("classified", "--json", cwd=ws).stdout)
    assert {one["ref"] for one in found} == {"dataset/raw@v1", "model/det@v1", train.ref}
    assert lineal_cli("classified", "restricted", cwd=ws).stdout == (
        "Nothing is classified restricted.\n"
    )
    bad = lineal_cli("classified", "a,b", cwd=ws)
    assert bad.returncode == 1
    assert "bad classification" in bad.stderr
    assert "Traceback" not in bad.stderr


class Drift:
    kind = "drift"

    def as_dict(self) -> dict[str, str]:
        return {"dataset": "dataset/x@v2"}


def test_alerts_command(ws: Path, lineal_cli: Cli) -> None:
    said = lineal_cli("alerts", cwd=ws)
    assert said.returncode == 0, said.stderr
    assert "No [alerts] table" in said.stdout
    (ws / "lineal.toml").write_text('[alerts]\nwebhook = "http://127.0.0.1:9/down"\ntries = 1\n')
    with Lineal.open(path=ws) as repo:  # queued without waking a sender: the command sends
        made = alerts.sender(repo)
        assert made is not None
        made.put(alerts.message(Drift(), repo.store.uri))
    waiting = lineal_cli("alerts", cwd=ws)
    assert waiting.stdout.startswith("webhook http://127.0.0.1:9/down: 1 waiting, 0 given up")
    sent = lineal_cli("alerts", "--send", "--json", cwd=ws)
    assert sent.returncode == 0, sent.stderr
    (one,) = json.loads(sent.stdout)
    assert (one["sink"], one["pending"], one["given_up"]) == ("webhook", 0, 1)
    assert one["error"].startswith("given up after 1 tries: http://127.0.0.1:9/down: ConnectError")
    assert one["given_up_reasons"] == [one["error"].removeprefix("given up after 1 tries: ")]
