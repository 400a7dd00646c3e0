"""The OpenLineage emitter: runs tracked by the SDK reach a live receiver (a `lineal server`,
whose endpoint is Marquez's) as they happen, through the workspace's durable outbox; a
receiver that hangs never holds a run up, and `lineal sync` delivers what waited."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openlineage_support import spec_dir
from ulid import ULID

import lineal
from lineal.client import Lineal
from lineal.datasets import add
from lineal.errors import InvalidInput
from lineal.interop.openlineage_emit_outbox import Outbox
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.settings import openlineage
from lineal.store.registry import create_project, open_project, open_store
from server_process import LINEAL_BIN, free_port, start_server, stop

PROJECT = "b"
LOCKED = "locked"
ENDPOINT = f"api/v1/projects/{PROJECT}/lineage"


@dataclass(frozen=True)
class Receiver:
    url: str
    token: str  # a contributor's token of LOCKED


def _serve(folder: Path, port: int | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """A `lineal server` validating OpenLineage against the spec, with projects B (open) and
    LOCKED (tokens only); the process, its URL and a contributor token of LOCKED."""
    base = f"sqlite:///{folder / 'projects'}"
    create_project(base, PROJECT)
    alice = Signer.generate("alice")
    store = open_store(create_project(base, LOCKED), alice)
    store.append(AgentRegister(name="alice", public_key=alice.public_key))
    store.close()
    store = open_project(base, LOCKED)
    token = store.issue_token("bob", "contributor").token
    store.close()
    proc, url = start_server(base, folder, port=port, args=["--openlineage-spec", str(spec_dir())])
    return proc, url, token


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    proc, url, token = _serve(tmp_path_factory.mktemp("openlineage-receiver"))
    try:
        yield Receiver(url, token)
    finally:
        stop(proc)


def _workspace(folder: Path, table: str) -> Path:
    lineal.init(folder, agent="tester")
    (folder / "lineal.toml").write_text(f"[openlineage]\n{textwrap.dedent(table)}")
    (folder / "images").mkdir()
    (folder / "images" / "a.txt").write_text("pixels")
    (folder / "net.bin").write_bytes(b"weights")
    return folder


def _train(ws: Path, *, fail: bool = False, during: Callable[[str], object] | None = None) -> str:
    """Record a run that uses dataset/images and writes model/net (or fails); its id.
    ``during`` is called with the run's id while it runs."""
    with Lineal.open(path=ws) as repo:
        add(repo, [ws / "images"], name="images")
        with lineal.start_run("train", repo=repo, capture=False) as run:
            run.use("dataset/images", role="train")
            if during is not None:
                during(run.id)
            if fail:
                raise RuntimeError("out of memory")
            run.log_model(ws / "net.bin", name="net")
        return run.id


def _drained(ws: Path, timeout: float = 30) -> Outbox:
    """The workspace's outbox once its sending thread emptied it (or the time is up)."""
    outbox = Outbox(ws / ".lineal")
    deadline = time.monotonic() + timeout
    while outbox.waiting() and time.monotonic() < deadline:
        time.sleep(0.05)
    return outbox


def _lineal(*args: str, cwd: Path, uri: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env |= {"COLUMNS": "200"} | ({"LINEAL_URI": uri} if uri else {})
    return subprocess.run(  # noqa: PLW1510 - callers check the exit code
        [str(LINEAL_BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _received(url: str, run_id: str) -> tuple[str, list[dict[str, object]]]:
    """The run's status in project B of the receiver, and the events it kept, in order."""
    with Lineal(open_store(f"{url}/projects/{PROJECT}", Signer.generate("reader"))) as repo:
        run = repo.store.get_run(run_id)
        reports = [edge.child for edge in repo.edges(f"run/{run_id}") if edge.role == "openlineage"]
        events = []
        for node in reports:
            found = repo.unnamed(node.rsplit("@", 1)[-1].removeprefix("report/"))
            assert found is not None
            events.append(found.meta["openlineage"]["event"])
    return run.status, sorted(events, key=lambda event: str(event["eventTime"]))


def test_a_run_reaches_the_receiver_as_it_happens(receiver: Receiver, tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path,
        f"""
        url = "{receiver.url}"
        endpoint = "api/v1/projects/{PROJECT}/lineage"
        namespace = "training"
        """,
    )
    seen: list[str] = []

    def live(run_id: str) -> None:  # the START reaches the receiver while the run goes on
        _drained(ws)
        seen.append(_received(receiver.url, run_id)[0])

    run_id = _train(ws, during=live)
    assert seen == ["running"]
    outbox = _drained(ws)
    assert outbox.waiting() == []
    assert outbox.refused_count() == 0, list(outbox.refused.iterdir())
    status, events = _received(receiver.url, run_id)
    assert status == "finished"
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    assert {event["job"]["namespace"] for event in events} == {"training"}  # type: ignore[index]
    shown = _lineal("upstream", "model/net", cwd=tmp_path, uri=f"{receiver.url}/projects/{PROJECT}")
    assert shown.returncode == 0, shown.stderr
    assert "train (finished)" in shown.stdout
    assert "used (train): dataset/images@v1" in shown.stdout
    # Nothing waits, and the sync says so.
    state = _lineal("sync", "--status", "--json", cwd=ws)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["openlineage"]["pending"] == 0


def test_a_failing_run_sends_fail(receiver: Receiver, tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path, f'url = "{receiver.url}"\nendpoint = "api/v1/projects/{PROJECT}/lineage"\n'
    )
    with pytest.raises(RuntimeError, match="out of memory"):
        _train(ws, fail=True)
    assert _drained(ws).waiting() == []
    run_id = _only_run(ws)
    status, events = _received(receiver.url, run_id)
    assert status == "failed"
    assert [event["eventType"] for event in events] == ["START", "FAIL"]
    facets = events[1]["run"]["facets"]  # type: ignore[index]
    assert "RuntimeError: out of memory" in facets["errorMessage"]["message"]


def _only_run(ws: Path) -> str:
    shown = _lineal("runs", "--json", cwd=ws)
    assert shown.returncode == 0, shown.stderr
    (run,) = json.loads(shown.stdout)
    return str(run["ref"]).removeprefix("run/")


def test_the_api_key_goes_as_a_bearer_token_and_a_4xx_is_set_aside(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"api/v1/projects/{LOCKED}/lineage"
    monkeypatch.setenv("OL_KEY", receiver.token)
    ws = _workspace(
        tmp_path / "keyed",
        f'url = "{receiver.url}"\nendpoint = "{endpoint}"\napi_key_env = "OL_KEY"\n',
    )
    _train(ws)
    outbox = _drained(ws)
    assert (outbox.waiting(), outbox.refused_count()) == ([], 0)
    assert receiver.token not in "".join(
        path.read_text()
        for path in (ws / ".lineal").rglob("*")
        if path.is_file() and path.suffix in (".json", ".toml")
    )
    # Without the key the receiver answers 401: the events are set aside, not retried.
    ws = _workspace(tmp_path / "bare", f'url = "{receiver.url}"\nendpoint = "{endpoint}"\n')
    _train(ws)
    outbox = _drained(ws)
    assert outbox.waiting() == []
    assert outbox.refused_count() == 2
    answers = [json.loads(p.read_text()) for p in sorted(outbox.refused.glob("*.answer.txt"))]
    assert {answer["status"] for answer in answers} == {401}


_SCRIPT = """
import sys, time
import lineal
from lineal.client import Lineal
from lineal.datasets import add
began = time.monotonic()
with Lineal.open(path=sys.argv[1]) as repo:
    add(repo, [sys.argv[1] + "/images"], name="images")
    with lineal.start_run("train", repo=repo, capture=False) as run:
        run.use("dataset/images", role="train")
        run.log_model(sys.argv[1] + "/net.bin", name="net")
    print(run.id, time.monotonic() - began)
"""


def test_a_hanging_receiver_never_holds_a_run_up(tmp_path: Path) -> None:
    port = free_port()
    hanging = socket.socket()  # accepts connections (the kernel's backlog), never answers
    hanging.bind(("127.0.0.1", port))
    hanging.listen(16)
    table = f'url = "http://127.0.0.1:{port}"\nendpoint = "{ENDPOINT}"\ntimeout = 30\n'
    ws = _workspace(tmp_path / "ws", table)
    try:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(ws)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        took = time.monotonic() - began
        assert done.returncode == 0, done.stderr
        run_id, inside = done.stdout.split()
        assert float(inside) < 10  # the run's own time: no wait on the receiver's 30 s
        assert took < 20  # and the exit waits for the sender a bounded time, not 30 s
        state = _lineal("sync", "--status", "--json", cwd=ws)
        assert state.returncode == 0, state.stderr
        assert json.loads(state.stdout)["openlineage"]["pending"] == 2
        shown = _lineal("sync", "--status", cwd=ws)
        assert f"2 OpenLineage events pending for http://127.0.0.1:{port}/" in shown.stdout
    finally:
        hanging.close()
    # Still down (a closed port): the sync keeps them and says why.
    down = _lineal("sync", "--timeout", "5", "--json", cwd=ws)
    assert down.returncode == 1
    found = json.loads(down.stdout)["openlineage"]
    assert found["pending"] == 2
    assert "ConnectError" in found["error"]
    # Once a receiver listens there, `lineal sync` delivers them in order.
    proc, url, _ = _serve(tmp_path, port=port)
    try:
        sent = _lineal("sync", "--json", cwd=ws)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert json.loads(sent.stdout)["openlineage"] | {"target": None} == {
            "target": None, "pending": 0, "refused": 0, "error": None, "sent": 2,
        }  # fmt: skip
        status, events = _received(url, run_id)
    finally:
        stop(proc)
    assert status == "finished"
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    assert Outbox(ws / ".lineal").waiting() == []


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('endpoint = "x"', "bad [openlineage] url: missing"),
        ("url = 5", "bad [openlineage] url: expected a non-empty string, not 5"),
        ('url = "marquez:5000"', "is not an http:// or https:// URL"),
        ('url = "http://m"\ntimeout = "fast"', "bad [openlineage] timeout"),
        ('url = "http://m"\nkey = "k"', "unknown keys ['key']"),
        ('url = "http://m"\napi_key = "a"\napi_key_env = "B"', "not both"),
    ],
)
def test_a_bad_table_is_refused_with_the_key_named(table: str, problem: str) -> None:
    import tomllib

    with pytest.raises(InvalidInput, match="bad \\[openlineage\\]") as caught:
        openlineage(tomllib.loads(f"[openlineage]\n{table}\n"))
    assert problem in str(caught.value)


def test_a_bad_table_is_one_line_and_records_no_run(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "url = 5\n")
    shown = _lineal("sync", "--status", cwd=ws)
    assert shown.returncode == 1
    assert (
        shown.stderr.strip()
        .splitlines()[0]
        .endswith("lineal.toml: bad [openlineage] url: expected a non-empty string, not 5")
    )
    assert "Traceback" not in shown.stderr
    with Lineal.open(path=ws) as repo, pytest.raises(InvalidInput, match="openlineage"):
        lineal.start_run("train", repo=repo, capture=False)
    assert json.loads(_lineal("runs", "--json", cwd=ws).stdout) == []


def test_lineal_run_sends_the_command_and_the_runs_inside(
    receiver: Receiver, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path, f'url = "{receiver.url}"\nendpoint = "{ENDPOINT}"\n')
    inner = "import lineal\nwith lineal.start_run('inner', capture=False):\n    pass\n"
    done = _lineal("run", "--name", "outer", "--", sys.executable, "-c", inner, cwd=ws)
    assert done.returncode == 0, done.stderr
    assert _lineal("sync", cwd=ws).returncode == 0  # whatever the exits left, if anything
    shown = _lineal("runs", "--json", cwd=ws)
    runs = {run["name"]: run["ref"].removeprefix("run/") for run in json.loads(shown.stdout)}
    assert set(runs) == {"outer", "inner"}
    for run_id in runs.values():
        status, events = _received(receiver.url, run_id)
        assert status == "finished"
        assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    _, events = _received(receiver.url, runs["inner"])
    parent = events[0]["run"]["facets"]["parent"]  # type: ignore[index]
    assert parent["run"]["runId"] == str(uuid.UUID(bytes=ULID.from_str(runs["outer"]).bytes))


_KILLED = """
import sys, time
import lineal
from lineal.client import Lineal
with Lineal.open(path=sys.argv[1]) as repo:
    with lineal.start_run("train", repo=repo, capture=False) as run:
        print(run.id, flush=True)
        time.sleep(60)
"""


@pytest.mark.serial
def test_a_run_killed_by_sigterm_sends_abort(receiver: Receiver, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, f'url = "{receiver.url}"\nendpoint = "{ENDPOINT}"\n')
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED, str(ws)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            run_id = proc.stdout.readline().strip()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == -signal.SIGTERM
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sent = _lineal("sync", "--json", cwd=ws)  # the ABORT the killed process left, if it did
    assert sent.returncode == 0, sent.stdout + sent.stderr
    status, events = _received(receiver.url, run_id)
    assert status == "killed"
    assert [event["eventType"] for event in events] == ["START", "ABORT"]
