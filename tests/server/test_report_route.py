"""The audit report through a real `lineal server` (SQLite and PostgreSQL): ``report?ref=R``
answers the HTML `lineal report R` writes, with and without `lineal verify`'s checks, and a
bad or unknown reference the one-line JSON error every service answers."""

from __future__ import annotations

import httpx
from live_server import PROJECT, Served

from lineal.client import Lineal
from lineal.report import facts
from lineal.store.registry import open_store


def test_the_report_route_answers_the_reports_html(served: Served) -> None:
    model = served.facts["model"]
    with httpx.Client(base_url=f"{served.url}/api/v1/projects/{PROJECT}/", timeout=120) as client:
        answer = client.get("report", params={"ref": model})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        page = answer.text
        assert page.startswith("<!doctype html>")
        assert f"<title>Audit report: {model}</title>" in page
        # The same facts the CLI gathers over the project's store, verification included.
        store = open_store(served.store_uri)
        try:
            gathered = facts.gather(Lineal(store), model, verify=False)
        finally:
            store.close()
        assert gathered.subject["ref"] == model
        assert gathered.subject["digest"] in page
        assert "verif" in page.lower()

        fast = client.get("report", params={"ref": served.facts["raw2"], "verify": "false"})
        assert fast.status_code == 200, fast.text
        assert f"<title>Audit report: {served.facts['raw2']}</title>" in fast.text

        for ref, status in (("model/nothing@v1", 404), ("run/x", 400)):
            refused = client.get("report", params={"ref": ref})
            assert refused.status_code == status, refused.text
            assert refused.headers["content-type"].startswith("application/json")
            body = refused.json()
            assert body["error"]
            assert body["hint"]
        assert client.get("report").status_code == 422
