"""Starting and stopping a real `lineal server` (or `lineal ui`) process on a free loopback
port (tests only).

Kills only the process it started; waits a bounded time for it to answer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

LINEAL_BIN = Path(sys.executable).parent / "lineal"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    base: str,
    cwd: Path,
    *,
    port: int | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start `lineal server --uri BASE` (plus ``args``; ``env`` added to the environment)."""
    return start_lineal(["server", "--uri", base, *args], cwd, port=port, env=env)


def start_lineal(
    args: Sequence[str],
    cwd: Path,
    *,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start `lineal ARGS --port PORT` (`server …`, `ui`) in ``cwd``, its output in ``log``
    (default ``cwd/server.log``), and wait until it answers; the process and its URL."""
    port = port or free_port()
    log = log or cwd / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")} | dict(env or {})
    with log.open("w") as out:  # the child keeps its own copy
        proc = subprocess.Popen(
            [str(LINEAL_BIN), *args, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lineal {args[0]} exited: {log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"lineal {args[0]} did not answer within 30 s")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def drop_server_databases(admin_uri: str, base: str) -> list[str]:
    """Drop every database of the PostgreSQL server base ``base`` (``postgresql://…/PREFIX``):
    its projects (``PREFIX_NAME``) and the server's own audit log (``PREFIX__server``), which
    a server makes on its first request. What it dropped, by name."""
    import psycopg

    prefix = base.rsplit("/", 1)[1]
    pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "\\_%"
    with psycopg.connect(admin_uri, autocommit=True) as admin:
        names = [
            str(row[0])
            for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
            ).fetchall()
        ]
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return names
