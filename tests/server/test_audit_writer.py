"""The server's audit writer in-process, over real SQLite projects: every queued event is
appended once, in order, to its project's log or the server's own, while threads add and the
writer's thread flushes at once, and what is left is written at close."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lineal.model.audit import AuditEvent
from lineal.server.app import Projects
from lineal.server.audit_trail import AuditWriter
from lineal.store.registry import create_project


def _event(thread: int, n: int, path: str = "/api/v1/projects/p/show") -> AuditEvent:
    return AuditEvent(
        time="2026-03-01T00:00:00.000000Z",
        agent=None,
        token_id=None,
        method="GET",
        endpoint="/api/v1/projects/{project}/show",
        path=path,
        refs=(f"dataset/t{thread}@v{n}",),
        status=200,
    )


def test_every_event_lands_once_in_order(tmp_path: Path) -> None:
    base = f"sqlite:///{tmp_path / 'projects'}"
    create_project(base, "p")
    projects = Projects(base)
    writer = AuditWriter(projects, interval=0.005)  # its thread flushes while threads add
    projects.audit = writer
    threads = [
        threading.Thread(target=lambda k=k: [writer.add("p", _event(k, i)) for i in range(200)])
        for k in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.add("nope", _event(9, 9, "/api/v1/projects/nope/show"))
    writer.add(None, _event(8, 8, "/api/v1/health"))
    projects.close()  # flushes what is left

    reopened = Projects(base)
    try:
        rows = reopened.store("p").audit_rows()
        refs = [row.event.refs[0] for row in rows]
        assert sorted(refs) == sorted(f"dataset/t{k}@v{i}" for k in range(4) for i in range(200))
        for k in range(4):  # each thread's events in the order it added them
            mine = [int(r.rsplit("v", 1)[1]) for r in refs if r.startswith(f"dataset/t{k}@")]
            assert mine == list(range(200))
        assert reopened.store("p").verify_audit().ok
        server = reopened.server_log().audit_rows()
        assert [row.event.path for row in server] == [
            "/api/v1/projects/nope/show",
            "/api/v1/health",
        ]
        assert server[0].event.refs[0] == "project/nope"
        report = reopened.server_log().verify_audit()
        assert report.ok
        assert report.signer == "lineal-server"
        assert "_server" not in reopened.names()
    finally:
        reopened.close()


def test_a_failed_answer_is_recorded_as_it_ended(tmp_path: Path) -> None:
    """An app that fails before answering (the outer middleware answers 500), and one that
    fails half way through its answer (aborted), each leave their row."""
    import asyncio

    import pytest

    from lineal.server.audit_trail import AuditTrail

    async def before(scope: object, receive: object, send: Any) -> None:
        raise RuntimeError("before")

    async def midway(scope: object, receive: object, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        raise RuntimeError("midway")

    async def sink(message: Any) -> None:
        return None

    async def nothing() -> Any:
        return {"type": "http.request", "body": b""}

    base = f"sqlite:///{tmp_path / 'projects'}"
    projects = Projects(base)
    writer = projects.audit = AuditWriter(projects)
    for app, path in ((before, "/api/v1/health"), (midway, "/api/v1/projects")):
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b""}
        with pytest.raises(RuntimeError):
            asyncio.run(AuditTrail(app, writer)(scope, nothing, sink))
    projects.close()
    reopened = Projects(base)
    try:
        rows = reopened.server_log().audit_rows()
        assert [(r.event.path, r.event.status, r.event.outcome) for r in rows] == [
            ("/api/v1/health", 500, "error"),
            ("/api/v1/projects", 200, "aborted"),
        ]
        assert rows[0].event.endpoint == "(no route)"
    finally:
        reopened.close()
