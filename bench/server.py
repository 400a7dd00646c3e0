"""The team server: writes through HttpStore until durable in PostgreSQL, and reads over HTTP.

One `lineal server` process over a PostgreSQL base (a database per project) and, for the
references, an `mlflow server` process (SQLite backend) and the embedded SQLite store, all
started here on loopback ports and stopped (only they) at the end. Figures:
  1. run.log end-to-end: POINTS points (10 metrics x POINTS/10 steps, one run.log call per
     step) from a client process through the HTTP store: timed from the first call until
     run.finish() and store.sync() return with nothing pending (the server answered every
     batch: committed in its PostgreSQL); the points are then counted through the server.
     Reference: MlflowClient().log_batch through the `mlflow server`, 1,000 metrics per call
     (MLflow's documented maximum), on MLFLOW_POINTS points (throughput is the figure);
     ours runs before the mlflow server starts (its ~10 processes' start-up would share the
     machine with ours), MLflow's with it up.
     Goal: at least 50x MLflow's points/s.
  2. append latency, CLIENTS concurrent client processes, each one run of 10,000 run.log
     points and 50 record_artifact calls, every call timed; p99 over all calls of all
     clients (run.log's and record_artifact's also apart: p99 of all calls is run.log's),
     then every point and artifact counted in the server (0 lost). Reference: the
     same clients on one shared embedded SQLite store (a team sharing one file, every
     record_artifact committed before it returns).
  3. upstream of a model over HTTP: ``GET /api/v1/projects/graph/upstream?ref=MODEL`` (the
     server runs lineal.lineage.queries.upstream and answers its as_dict(); the client parses
     the JSON) vs the same call in-process on the same PostgreSQL project store
     (upstream(...).as_dict(): both sides end with the same JSON-shaped answer); p50 of
     QUERIES calls over a graph of a few thousand nodes (the peers' generator,
     ../shared/bench/peers, shrunk), the calls of all pairs taking turns; measured REPEAT
     times, the figure is the run with the median ratio. Goal: within 1.5x. Beside it, the
     same with ``?columns=true`` vs as_columns() in-process, and the query run client-side on
     Lineal(HttpStore) (the requests it makes are listed) vs upstream() in-process. Each also
     as CPU ms a call (this process and the server's, which other work on a shared machine
     moves less than wall time), the median over the REPEAT runs.

     With --token, the graph project has a token (admin) that both the endpoint's client and
     the HttpStore send: every request then looks the token up (once) in the project's
     database; without it the project is open (no token anywhere).

  4. what a token costs: ``GET …/store/head`` on a project with a token (sent) vs an open
     project, in alternating blocks of 100 on the same server, QUERIES x 20 calls each; also
     the server process's CPU a call (steadier than wall time on a shared machine).

    python bench/server.py [--only log|clients|upstream|auth] [--points 1000000] [--clients 32]
        [--mlflow-points 100000] [--queries 100] [--repeat 3] [--token]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("PEERS_DIR", str(REPO.parent / "shared" / "bench" / "peers")))
BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

OURS_LOG = """
import json, sys, time
import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store
uri, steps, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
signer = Signer.generate("logger")
store = open_store(uri, signer)
store.append(AgentRegister(name="logger", public_key=signer.public_key))
assert store.sync(60)["pending_batches"] == 0
lin = Lineal(store)
run = lineal.start_run("bench", repo=lin, capture=False)
log, names = run.log, [f"m{k}" for k in range(keys)]
start = time.perf_counter()
for i in range(steps):
    log(dict.fromkeys(names, i * 0.001), step=i)
looped = time.perf_counter() - start
run.finish()
state = store.sync(600)
durable = time.perf_counter() - start
assert state["pending_batches"] == 0 and not state["rejected"], state
points = sum(len(s.steps) for s in store.metric_series(run.id).values())
print(json.dumps({"loop": looped, "durable": durable, "points": points}))
"""

MLFLOW_LOG = """
import json, os, sys, time
os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
url, steps, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = MlflowClient(tracking_uri=url)
run = client.create_run(client.create_experiment("bench"))
rid, names, batch = run.info.run_id, [f"m{k}" for k in range(keys)], []
start = time.perf_counter()
for i in range(steps):
    now = int(time.time() * 1000)
    batch.extend(Metric(k, i * 0.001, now, i) for k in names)
    if len(batch) >= 1000:
        client.log_batch(rid, metrics=batch)
        batch = []
if batch:
    client.log_batch(rid, metrics=batch)
took = time.perf_counter() - start
points = sum(len(client.get_metric_history(rid, k)) for k in names)
print(json.dumps({"seconds": took, "points": points}))
"""

CLIENT = """
import json, os, sys, time
from array import array
import lineal
from lineal.client import Lineal
from lineal.ledger.keys import Signer
from lineal.model.ops import AgentRegister
from lineal.store.registry import open_store
uri, agent, steps, artifacts, go, out = sys.argv[1:7]
steps, artifacts = int(steps), int(artifacts)
signer = Signer.generate(agent)
store = open_store(uri, signer)
store.append(AgentRegister(name=agent, public_key=signer.public_key))
store.sync(60)
lin = Lineal(store)
run = lineal.start_run(agent, repo=lin, capture=False)
log, clock, ms, art = run.log, time.perf_counter, array("d"), array("d")
every = max(1, steps // artifacts)
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
made = 0
for i in range(steps):
    t = clock()
    log({"loss": i * 0.001}, step=i)
    ms.append((clock() - t) * 1000)
    if i % every == 0 and made < artifacts:
        t = clock()
        lin.record_artifact("file", data=f"{agent} {made}".encode(), name=f"{agent}-a{made}")
        art.append((clock() - t) * 1000)
        made += 1
run.finish()
state = store.sync(600)
store.close()
with open(out, "wb") as f:
    ms.tofile(f)
with open(out + ".art", "wb") as f:
    art.tofile(f)
print(json.dumps({"run": run.id, "pending": state["pending_batches"]}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAL_")}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env | more


@contextmanager
def _process(cmd: list[str], health: str, log: Path) -> Iterator[int]:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{cmd[0]} did not answer {health} within 120 s")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _child(script: str, *args: str, **env: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=False,
        env=_env(**env),
    )
    if done.returncode:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def line(name: str, ours: float, ref: float, unit: str, goal: str = "") -> None:
    print(
        f"{name:<44} ours {ours:>12,.2f} {unit:<5} ref {ref:>12,.2f} {unit:<5} "
        f"ratio {ours / ref:8.2f}   {goal}",
        flush=True,
    )


def pct(values: array[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- 1. run.log end-to-end -------------------------------------------------------------------
def log_figure(
    http_uri: str, mlflow_cmd: list[str], mport: int, points: int, mlflow_points: int,
    folder: Path,
) -> None:  # fmt: skip
    """Ours with the mlflow server not yet started, then MLflow's: each has the machine."""
    ours = _child(OURS_LOG, http_uri, str(points // 10), "10", LINEAL_SPOOL=str(folder / "spool"))
    assert ours["points"] == points // 10 * 10, ours
    url = f"http://127.0.0.1:{mport}"
    with _process(mlflow_cmd, f"{url}/health", folder / "mlflow.log"):
        theirs = _child(MLFLOW_LOG, url, str(mlflow_points // 10), "10")
    assert theirs["points"] == mlflow_points // 10 * 10, theirs
    rate, ref = ours["points"] / ours["durable"], theirs["points"] / theirs["seconds"]
    goal = f"goal >= 50x {'met' if rate / ref >= 50 else 'MISSED'}"
    print(f"# ours {ours['points']:,.0f} points (loop alone {ours['loop']:.2f} s, until durable "
          f"{ours['durable']:.2f} s); MLflow {theirs['points']:,.0f} points in "
          f"{theirs['seconds']:.2f} s", flush=True)  # fmt: skip
    line("run.log points/s end-to-end vs MLflow", rate, ref, "pt/s", goal)


# -- 2. 32 concurrent clients ----------------------------------------------------------------
Latencies = "array[float]"


def clients(
    uri: str, n: int, steps: int, artifacts: int, folder: Path
) -> tuple[Latencies, Latencies, list[str]]:
    folder.mkdir()
    go = folder / "go"
    procs = []
    for i in range(n):
        cmd = [sys.executable, "-c", textwrap.dedent(CLIENT), uri, f"c{i}", str(steps),
               str(artifacts), str(go), str(folder / f"c{i}.ms")]  # fmt: skip
        env = _env(LINEAL_SPOOL=str(folder / "spool"))
        pipe = subprocess.PIPE
        procs.append(subprocess.Popen(cmd, env=env, stdout=pipe, stderr=pipe, text=True))
    deadline = time.monotonic() + 300  # every client is set up (imports, agent) before go
    while len(list(folder.glob("*.ready"))) < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("a client did not get ready")
        time.sleep(0.05)
    go.touch()
    runs, latencies, recorded = [], array("d"), array("d")
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=1800)
        if proc.returncode:
            raise SystemExit(f"client {i} failed:\n{err[-3000:]}")
        result = json.loads(out.strip().splitlines()[-1])
        assert result["pending"] == 0, result
        runs.append(result["run"])
        with (folder / f"c{i}.ms").open("rb") as f:
            latencies.frombytes(f.read())
        with (folder / f"c{i}.ms.art").open("rb") as f:
            recorded.frombytes(f.read())
    return latencies, recorded, runs


def lost(store_uri: str, runs: list[str], steps: int, artifacts: int) -> int:
    from lineal.store.registry import open_store

    store = open_store(store_uri)
    try:
        missing = 0
        for run in runs:
            got = sum(len(s.steps) for s in store.metric_series(run).values())
            missing += steps - got
        named = [a for a in store.artifacts("file") if a.name and a.name.startswith("c")]
        return missing + len(runs) * artifacts - len(named)
    finally:
        store.close()


def clients_figure(http_uri: str, store_uri: str, n: int, steps: int, folder: Path) -> None:
    from lineal.store.registry import open_store

    artifacts = 50
    ms, art, runs = clients(http_uri, n, steps, artifacts, folder / "http")
    gone = lost(store_uri, runs, steps, artifacts)
    sqlite_uri = f"sqlite:///{folder / 'shared.db'}"
    open_store(sqlite_uri, create=True).close()
    ref, ref_art, ref_runs = clients(sqlite_uri, n, steps, artifacts, folder / "sqlite")
    ref_gone = lost(sqlite_uri, ref_runs, steps, artifacts)
    print(f"# {n} clients x ({steps:,} run.log + {artifacts} record_artifact); lost: "
          f"server {gone}, sqlite {ref_gone}", flush=True)  # fmt: skip
    both, ref_both = ms + art, ref + ref_art
    line(f"append p99 ms, {n} clients vs shared SQLite", pct(both, 0.99), pct(ref_both, 0.99),
         "ms", f"lost {gone} (sqlite {ref_gone})")  # fmt: skip
    line("  run.log alone, p99 ms", pct(ms, 0.99), pct(ref, 0.99), "ms")
    line("  record_artifact alone, p50 ms", pct(art, 0.5), pct(ref_art, 0.5), "ms")
    line("  record_artifact alone, p99 ms", pct(art, 0.99), pct(ref_art, 0.99), "ms")
    line("  any call, max ms", max(both), max(ref_both), "ms")


# -- 3. upstream over HTTP vs in-process ------------------------------------------------------
def _pids(pid: int) -> list[int]:
    """Process ``pid`` and its children (uvicorn's workers, if any)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [pid, *map(int, found.stdout.split())]


def _cpu_ms(pids: list[int]) -> float:
    """CPU time (user + system) of processes ``pids`` so far, in ms."""
    ticks = 0
    for one in pids:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK") * 1000


def _rounds(
    calls: dict[str, Callable[[], object]], rounds: int, server: list[int]
) -> tuple[dict[str, float], dict[str, float], dict[str, object]]:
    """Each call once a round, in an order that rotates (a noisy moment of a shared machine
    hits every call alike), after one round to warm: p50 ms of each call, the CPU ms a call
    took (this process and the server's, which other work moves less than wall time; the
    server's clock ticks are coarse, their sum over the rounds is not), and each answer."""
    names = list(calls)
    answers = {name: call() for name, call in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu = dict.fromkeys(names, 0.0)
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            served, mine = _cpu_ms(server), time.process_time()
            start = time.perf_counter()
            answers[name] = calls[name]()
            times[name].append((time.perf_counter() - start) * 1000)
            cpu[name] += (time.process_time() - mine) * 1000 + _cpu_ms(server) - served
    p50 = {name: statistics.median(values) for name, values in times.items()}
    return p50, {name: total / rounds for name, total in cpu.items()}, answers


def upstream_figure(
    http_uri: str, store_uri: str, depth: int, width: int, queries: int, repeat: int,
    server: int, token: str | None = None,
) -> None:  # fmt: skip
    sys.path.insert(0, str(PEERS))
    from lineage_graph import Graph

    from lineage import ops  # bench/lineage.py: the peers' graph as lineal ops
    from lineal.client import Lineal
    from lineal.ledger.keys import Signer
    from lineal.lineage.queries import upstream
    from lineal.model.ops import AgentRegister
    from lineal.store.registry import open_store

    g = Graph(depth=depth, a=width)
    history, nodes = ops(g)
    signer = Signer.generate("builder")
    local = open_store(store_uri, signer)
    local.append(AgentRegister(name="builder", public_key=signer.public_key))
    for i in range(0, len(history), 1000):
        local.append(history[i : i + 1000])
    if token:
        os.environ["LINEAL_TOKEN"] = token  # the HttpStore sends it
    remote = open_store(http_uri)
    sent: list[str] = []
    remote._client.event_hooks["request"].append(lambda r: sent.append(r.url.path))  # type: ignore[attr-defined]
    model = nodes[g.queries[0]]
    here, there = Lineal(local), Lineal(remote)
    endpoint = http_uri.replace("/projects/", "/api/v1/projects/") + "/upstream"
    pids = _pids(server)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=60, headers=headers) as web:
        # Both sides of the first pair end with the answer a user reads: the JSON-shaped
        # as_dict(), which the endpoint's client gets by parsing the body.
        columns = {"ref": model, "columns": "true"}
        calls = {
            "endpoint": lambda: web.get(endpoint, params={"ref": model}).json(),
            "service": lambda: upstream(here, model).as_dict(),
            "endpoint columns": lambda: web.get(endpoint, params=columns).json(),
            "service columns": lambda: upstream(here, model).as_columns(),
            "http": lambda: upstream(there, model),
            "local": lambda: upstream(here, model),
        }
        runs = [_rounds(calls, queries, pids) for _ in range(repeat)]
    answers = runs[-1][2]
    sent.clear()
    upstream(there, model)
    per_call = sorted({path.rsplit("/", 1)[1] for path in sent})
    assert answers["endpoint"] == json.loads(json.dumps(answers["service"]))
    assert answers["endpoint columns"] == json.loads(json.dumps(answers["service columns"]))
    assert len(answers["http"].nodes) == len(answers["local"].nodes)  # type: ignore[attr-defined]
    remote.close()
    local.close()
    print(f"# project {'with a token, sent on each request' if token else 'open (no token)'}")
    found = len(answers["local"].nodes)  # type: ignore[attr-defined]
    print(f"# graph {g.n_artifacts + g.n_executions:,} nodes, upstream {found} nodes, "
          f"{queries} calls each, {repeat} times; HttpStore: {len(sent)} requests a call "
          f"({', '.join(per_call)})", flush=True)  # fmt: skip
    _upstream_lines(runs, repeat)


def _upstream_lines(
    runs: list[tuple[dict[str, float], dict[str, float], dict[str, object]]], repeat: int
) -> None:
    """The upstream figures' lines: each pair's p50 from the run with its median ratio, and
    the median CPU a call."""
    pairs = {
        "endpoint": ("service", "upstream p50 ms GET endpoint vs in-process"),
        "endpoint columns": ("service columns", "  ?columns=true vs as_columns() in-process"),
        "http": ("local", "  HttpStore client-side vs in-process"),
    }
    ratios = {
        ours: [p50[ours] / p50[ref] for p50, _, _ in runs] for ours, (ref, _) in pairs.items()
    }
    for ours, (ref, _) in pairs.items():
        print(f"#   {ours} / {ref} p50 ratio each time: "
              f"{', '.join(f'{r:.2f}' for r in ratios[ours])}", flush=True)  # fmt: skip
    for ours, (ref, name) in pairs.items():
        # The run whose ratio is the median: its p50s (medians taken apart would mix runs).
        middle = sorted(range(repeat), key=lambda i: ratios[ours][i])[(repeat - 1) // 2]
        p50 = runs[middle][0]
        goal = ""
        if ours == "endpoint":
            goal = f"goal <= 1.5x {'met' if p50[ours] / p50[ref] <= 1.5 else 'MISSED'}"
        line(name, p50[ours], p50[ref], "ms", goal)
    names = ("upstream CPU ms a call, GET vs in-process", "  ?columns=true vs as_columns()",
             "  HttpStore client-side vs in-process")  # fmt: skip
    for (ours, (ref, _)), name in zip(pairs.items(), names, strict=True):
        cpu = [run[1] for run in runs]
        line(name, statistics.median(c[ours] for c in cpu), statistics.median(c[ref] for c in cpu),
             "ms", "client + server processes" if ours == "endpoint" else "")  # fmt: skip


# -- 4. what a token costs a request ---------------------------------------------------------
def auth_figure(
    url: str, project_open: str, project_closed: str, token: str, calls: int, server: int
) -> None:
    """p50, p99 and the server's CPU a call of ``GET …/store/head`` (the smallest read) on a
    project with a token, sending it (one indexed lookup of the token), vs the same on an open
    project (one query: has it any token?), in alternating blocks on one server process."""
    mine = {"authorization": f"Bearer {token}"}
    closed = f"{url}/api/v1/projects/{project_closed}/store/head"
    opened = f"{url}/api/v1/projects/{project_open}/store/head"
    times: dict[str, list[float]] = {"token": [], "open": []}
    cpu = {"token": 0.0, "open": 0.0}
    block = 100
    pids = _pids(server)
    with httpx.Client(timeout=60) as web:
        for _ in range(20):  # warm both
            web.get(closed, headers=mine).raise_for_status()
            web.get(opened).raise_for_status()
        for _ in range(max(1, calls // block)):
            for name, target, headers in (("token", closed, mine), ("open", opened, {})):
                used = _cpu_ms(pids)
                for _ in range(block):
                    start = time.perf_counter()
                    web.get(target, headers=headers).raise_for_status()
                    times[name].append((time.perf_counter() - start) * 1000)
                cpu[name] += _cpu_ms(pids) - used
    print(f"# GET store/head, {calls} calls each, interleaved", flush=True)
    line("store/head p50 ms, with token vs open", statistics.median(times["token"]),
         statistics.median(times["open"]), "ms")  # fmt: skip
    line("store/head p99 ms, with token vs open", pct(array("d", times["token"]), 0.99),
         pct(array("d", times["open"]), 0.99), "ms")  # fmt: skip
    n = len(times["open"])
    line("store/head server CPU ms, token vs open", cpu["token"] / n, cpu["open"] / n,
         "ms")  # fmt: skip


def _token(base: str, project: str, agent: str) -> str:
    """A new token of ``project`` (made straight in its database, as on the server machine)."""
    from lineal.store.registry import open_project

    store = open_project(base, project)
    try:
        return store.issue_token(agent, "admin").token
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--mlflow-points", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-points", type=int, default=10_000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--width", type=int, default=200, help="artifacts per graph layer")
    parser.add_argument("--queries", type=int, default=100, help="upstream calls of each kind")
    parser.add_argument("--repeat", type=int, default=3, help="upstream figure: times measured")
    parser.add_argument("--only", choices=["log", "clients", "upstream", "auth"], action="append")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--token", action="store_true", help="the graph project has a token; send it"
    )
    args = parser.parse_args()
    only = set(args.only or ["log", "clients", "upstream"])
    import psycopg

    from lineal.store.registry import create_project

    folder = Path(tempfile.mkdtemp(prefix="bench-server-"))
    base = f"{args.pg.rsplit('/', 1)[0]}/lb{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    try:
        uris = {}
        for name in ("log", "clients", "graph"):
            uris[name] = create_project(base, name)
            made.append(f"{base.rsplit('/', 1)[1]}_{name}")
        token = _token(base, "graph", "builder") if args.token else None
        if "auth" in only:
            uris["closed"] = create_project(base, "closed")
            made.append(f"{base.rsplit('/', 1)[1]}_closed")
            closed_token = _token(base, "closed", "bench")
        port, mport = _free_port(), _free_port()
        url = f"http://127.0.0.1:{port}"
        lineal_cmd = [str(BIN / "lineal"), "server", "--uri", base, "--port", str(port)]
        mlflow_cmd = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mport),
                      "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
                      "--default-artifact-root", f"file://{folder / 'mlruns'}",
                      "--workers", "1"]  # fmt: skip
        with _process(lineal_cmd, f"{url}/api/v1/health", folder / "lineal.log") as server:
            if "upstream" in only:
                upstream_figure(f"{url}/projects/graph", uris["graph"], args.depth, args.width,
                                args.queries, args.repeat, server, token)  # fmt: skip
            if "auth" in only:
                auth_figure(url, "clients", "closed", closed_token, args.queries * 20, server)
            if "log" in only:
                log_figure(f"{url}/projects/log", mlflow_cmd, mport, args.points,
                           args.mlflow_points, folder)  # fmt: skip
            if "clients" in only:
                clients_figure(f"{url}/projects/clients", uris["clients"], args.clients,
                               args.client_points, folder)  # fmt: skip
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            # The projects, and the server's own audit log it made beside them (PREFIX__server).
            for db in [*made, f"{base.rsplit('/', 1)[1]}__server"]:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
