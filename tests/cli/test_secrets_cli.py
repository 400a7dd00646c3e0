"""Secrets kept out of what lineal records and prints: command lines, output tails, params, configs.

Each case runs `lineal` as a user does, then looks for the secret in every byte under `.lineal/`
(ledger, projections, object cache, config), in `lineal log --json` and in what lineal printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lineal
from cli_checks import error_and_hint
from lineal import datasets
from lineal.model.entities import Run

Cli = Callable[..., "subprocess.CompletedProcess[str]"]
SECRET = "s3cr3t-Value-9f8e7d"
#: A run of `lineal run -- PYTHON ...` is named after the interpreter as it was invoked.
PYTHON = Path(sys.executable).name

SHOW = """\
import os, sys
import lineal
print(sys.argv)
print("token from the environment:", os.environ.get("MY_SERVICE_TOKEN"))
with lineal.start_run("inner", env_allow=["*"], params={"db_password": os.environ["MY_PW"]}):
    pass
"""


def _stored(ws: Path) -> bytes:
    """Every byte lineal keeps under `.lineal/`: the store, its WAL, objects and config."""
    return b"".join(
        path.read_bytes() for path in sorted((ws / ".lineal").rglob("*")) if path.is_file()
    )


def _spec(ws: Path, run_ref: str) -> dict[str, object]:
    with lineal.open(path=ws) as repo:
        shown = repo.show(run_ref)
        node = next(e["node"] for e in shown["upstream"] if e["role"] == "command")
        return dict(repo.resolve(node).meta)


def _last_run(ws: Path, lineal_cli: Cli, name: str) -> dict[str, object]:
    runs = json.loads(lineal_cli("runs", "--json", cwd=ws).stdout)
    return next(run for run in runs if run["name"] == name)


def test_lineal_run_records_no_secret_from_argv_output_params_or_environment(
    ws: Path, lineal_cli: Cli
) -> None:
    (ws / "show.py").write_text(SHOW)
    (ws / "pw.txt").write_text(f"{SECRET}-file\n")
    env = {
        "MY_SERVICE_TOKEN": f"{SECRET}-env",  # printed by the command: hidden in its tail
        "MY_PW": f"{SECRET}-param",
        "LIBPQ_DSN": f"host=db user=trainer password={SECRET}-dsn dbname=runs",
    }
    done = lineal_cli(
        "run", "-p", "lr=0.1", "-p", f"api_key={SECRET}-p", "--",
        sys.executable, "show.py", "-H", f"Authorization: Bearer {SECRET}-h",
        "--password-file", "pw.txt", "--password", f"{SECRET}-pw",
        "--db", f"postgresql://alice:{SECRET}-url@db/runs", cwd=ws, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The user's own terminal shows the command's output as it was.
    assert f"Authorization: Bearer {SECRET}-h" in done.stdout
    assert f"{SECRET}-env" in done.stdout

    assert SECRET.encode() not in _stored(ws)
    log = lineal_cli("log", "--json", cwd=ws)
    assert log.returncode == 0
    assert SECRET not in log.stdout

    run = _last_run(ws, lineal_cli, PYTHON)
    assert run["params"] == {"lr": 0.1, "api_key": "***"}
    spec = _spec(ws, str(run["ref"]))
    assert spec["argv"] == [
        sys.executable, "show.py", "-H", "Authorization: Bearer ***", "--password-file", "***",
        "--password", "***", "--db", "postgresql://alice:***@db/runs",
    ]  # fmt: skip
    assert spec["replayable"] is False
    assert [i["path"] for i in spec["inputs"]] == ["show.py"]  # pw.txt is no code of the run

    with lineal.open(path=ws) as repo:
        shown = repo.show(str(run["ref"]))
        stdout = next(e["node"] for e in shown["downstream"] if e["role"] == "stdout")
        tail = repo.resolve(stdout).meta["tail"]
        assert "'Authorization: Bearer ***', '--password-file', '***'" in tail
        assert "token from the environment: ***" in tail
        inner = repo.resolve(str(_last_run(ws, lineal_cli, "inner")["ref"]))
        assert isinstance(inner, Run)
        context = inner.meta["context"]
        assert "Authorization: Bearer ***" in context["argv"]
        assert context["env"]["LIBPQ_DSN"] == "host=db user=trainer password=*** dbname=runs"
        assert inner.params == {"db_password": "***"}

    replayed = lineal_cli("replay", str(run["ref"]), cwd=ws)
    error, _ = error_and_hint(replayed)
    assert "cannot be replayed: its command line held secrets, recorded masked" in error
    assert "'Authorization: Bearer ***'" in error
    assert SECRET not in replayed.stderr


def test_a_file_that_holds_secrets_is_never_cached_as_code(ws: Path, lineal_cli: Cli) -> None:
    (ws / "show.py").write_text("import sys; print(len(sys.argv))\n")
    (ws / ".env").write_text(f"API_TOKEN={SECRET}\n")
    (ws / "settings.yaml").write_text("lr: 0.1\n")
    done = lineal_cli("run", "--", sys.executable, "show.py", ".env", "settings.yaml", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert SECRET.encode() not in _stored(ws)
    spec = _spec(ws, str(_last_run(ws, lineal_cli, PYTHON)["ref"]))
    assert [i["path"] for i in spec["inputs"]] == ["show.py", "settings.yaml"]
    assert spec["withheld"] == [".env"]
    assert spec["replayable"] is False
    replayed = lineal_cli("replay", str(_last_run(ws, lineal_cli, PYTHON)["ref"]), cwd=ws)
    error, _ = error_and_hint(replayed)
    assert "it named files that hold secrets, never recorded (.env)" in error


def test_ordinary_arguments_are_recorded_as_given_and_replay(ws: Path, lineal_cli: Cli) -> None:
    (ws / "data").mkdir()
    (ws / "data" / "keys.txt").write_text("a\n")
    (ws / "fit.py").write_text("import sys; open('out.txt', 'w').write(' '.join(sys.argv[1:]))\n")
    argv = [
        sys.executable, "fit.py", "--num-keypoints", "17", "--max-new-tokens", "64",
        "--tokenizer", "bpe", "--lr", "0.1", "data/keys.txt", "trainer.epochs=3",
        "https://example.org/search?q=cars&keyword=night", "postgresql://alice@db/runs",
    ]  # fmt: skip
    done = lineal_cli("run", "--out", "out.txt", "--", *argv, cwd=ws)
    assert done.returncode == 0, done.stderr
    run = _last_run(ws, lineal_cli, PYTHON)
    spec = _spec(ws, str(run["ref"]))
    assert spec["argv"] == argv
    assert spec["replayable"] is True
    replayed = lineal_cli("replay", str(run["ref"]), cwd=ws)
    assert replayed.returncode == 0, replayed.stderr
    assert "reproducible" in replayed.stdout


def test_an_output_tail_is_masked_in_the_object_that_a_push_sends(
    ws: Path, lineal_cli: Cli
) -> None:
    script = (
        f"print('connecting to postgresql://bob:{SECRET}@db/x'); "
        f"print('curl -H \"Authorization: Basic {SECRET}\"'); print('x' * 70000); print('done')"
    )
    done = lineal_cli("run", "--", sys.executable, "-c", script, cwd=ws)
    assert done.returncode == 0, done.stderr
    assert SECRET.encode() not in _stored(ws)
    with lineal.open(path=ws) as repo:
        shown = repo.show(str(_last_run(ws, lineal_cli, PYTHON)["ref"]))
        report = repo.resolve(next(e["node"] for e in shown["downstream"] if e["role"] == "stdout"))
        kept = datasets.objects(repo).read_bytes(report.digest)
    # The tail keeps whole lines: the cut line at its start is dropped.
    assert kept == b"done\n"
    small = lineal_cli("run", "--", sys.executable, "-c", script.replace("70000", "10"), cwd=ws)
    assert small.returncode == 0
    with lineal.open(path=ws) as repo:
        shown = repo.show(str(_last_run(ws, lineal_cli, PYTHON)["ref"]))
        report = repo.resolve(next(e["node"] for e in shown["downstream"] if e["role"] == "stdout"))
        kept = datasets.objects(repo).read_bytes(report.digest)
    assert kept.splitlines()[:2] == [
        b"connecting to postgresql://bob:***@db/x",
        b'curl -H "Authorization: Basic ***"',
    ]
    assert report.size == len(kept)


# -- credentials in configs --------------------------------------------------------------------
@pytest.fixture
def pg_user_uri(pg_uri: str) -> Iterator[str]:
    """``postgresql://ROLE:SECRET@host:port/DB``: a role with a password that owns a fresh
    database (the test server trusts every login: the password is sent, not checked)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    base, name = pg_uri.rsplit("/", 1)
    with psycopg.connect(pg_uri, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{SECRET}'")
        admin.execute(f'ALTER DATABASE "{name}" OWNER TO {name}')
        admin.execute(f"GRANT ALL ON SCHEMA public TO {name}")
    info = conninfo_to_dict(pg_uri)
    try:
        yield f"postgresql://{name}:{SECRET}@{info['host']}:{info.get('port', 5432)}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {name}")


def test_init_keeps_a_store_password_out_of_the_workspace_and_finds_it_again(
    tmp_path: Path, pg_user_uri: str, lineal_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "home" / "lineal" / "credentials.toml"
    env = {"LINEAL_CREDENTIALS": str(credentials)}
    work = tmp_path / "work"
    work.mkdir()
    done = lineal_cli("init", "--uri", pg_user_uri, "--agent", "tester", cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    without = pg_user_uri.replace(f":{SECRET}@", "@")
    assert f"Initialised lineal store {without}" in done.stdout
    assert f"Its password is in {credentials} (mode 0600)" in done.stdout
    assert SECRET.encode() not in _stored(work)
    assert f'uri = "{without}"' in (work / ".lineal" / "config.toml").read_text()
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert SECRET in credentials.read_text()

    # Every later command finds the password again.
    assert lineal_cli("log", "--json", cwd=work, env=env).returncode == 0
    monkeypatch.setenv("LINEAL_CREDENTIALS", str(credentials))
    with lineal.open(path=work) as repo:
        assert SECRET not in repo.store.uri
        assert repo.store._conn.info.password == SECRET  # sent to the server
    monkeypatch.setenv("LINEAL_CREDENTIALS", str(tmp_path / "none.toml"))
    with lineal.open(path=work) as repo:
        assert not repo.store._conn.info.password  # libpq's own PGPASSWORD/.pgpass, if any

    # A credentials file other users may read is refused, as ssh and libpq do.
    credentials.chmod(0o644)
    error, hint = error_and_hint(lineal_cli("log", cwd=work, env=env))
    assert "other users may read it" in error
    assert hint == f"hint: chmod 600 {credentials}"


def test_a_uri_in_an_error_shows_no_password(ws: Path, lineal_cli: Cli) -> None:
    done = lineal_cli("log", cwd=ws, env={"LINEAL_URI": f"mysql://root:{SECRET}@db/x"})
    error, _ = error_and_hint(done)
    assert "unsupported store URI 'mysql://root:***@db/x'" in error
    assert SECRET not in done.stderr


@pytest.mark.parametrize(
    ("url", "options"),
    [
        (f"s3://AKIAEXAMPLE:{SECRET}@bucket/lineal", []),
        (f"s3://bucket/lineal?token={SECRET}", []),
        (f"az://container/lineal?sv=2022-11-02&sig={SECRET}", []),
        (f"gs://{SECRET}@bucket/lineal", []),
        ("s3://bucket/lineal", ["--endpoint-url", f"https://minio:{SECRET}@minio.local:9000"]),
    ],
)
def test_remote_add_refuses_credentials_in_a_url(
    ws: Path, lineal_cli: Cli, url: str, options: list[str]
) -> None:
    config = (ws / ".lineal" / "config.toml").read_text()
    done = lineal_cli("remote", "add", "origin", url, *options, cwd=ws)
    error, hint = error_and_hint(done)
    assert "holds credentials, and lineal never writes them to .lineal/config.toml" in error
    assert "AWS_ACCESS_KEY_ID" in hint
    assert SECRET not in done.stdout + done.stderr
    assert (ws / ".lineal" / "config.toml").read_text() == config


def test_remote_add_takes_an_ordinary_url(ws: Path, lineal_cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "remote-store"
    done = lineal_cli("remote", "add", "origin", target.as_uri(), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert f"remote origin -> {target.as_uri()} (default)" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("add", "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/raw", "--ref-only"),
        ("add", "https://data.example.org/raw?token=abc123secret", "--ref-only"),
        ("add", "data", "--source", "https://alice:hunter22@example.org/data"),
    ],
)
def test_add_refuses_credentials_it_would_sign_into_the_ledger(
    ws: Path, lineal_cli: Cli, args: tuple[str, ...]
) -> None:
    (ws / "data").mkdir()
    (ws / "data" / "x.txt").write_text("x")
    before = lineal_cli("log", "--json", cwd=ws).stdout
    done = lineal_cli(*args, cwd=ws)
    assert done.returncode == 1, done.stderr
    assert "holds credentials, and lineal never records them in the signed ledger" in done.stderr
    assert "wJalrXUtnFEMI" not in done.stderr
    assert "hunter22" not in done.stderr
    assert "abc123secret" not in done.stderr
    assert lineal_cli("log", "--json", cwd=ws).stdout == before
