"""The durable spool: what put() returned survives a SIGKILL, damage is named, acks drop batches.

Real files, real processes (a writer killed with SIGKILL, a second process holding the lock)
and, for the drainer, a real HTTP server on 127.0.0.1 that deduplicates by batch digest.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from lineal.errors import Conflict, IntegrityError, InvalidInput
from lineal.model import canonical
from lineal.model.ops import TagSet
from lineal.store.batches import batch_digest, decode_batch, encode_batch
from lineal.store.segments import HEADER
from lineal.store.spool import Spool, SpoolWarning

AGENT = "alice"
SRC = Path(__file__).resolve().parents[2] / "src"
SEED = 20_261_207


def tag(i: int, value: str = "v") -> TagSet:
    return TagSet(target="sha256:" + "a" * 64, key=f"k{i}", value=f"{value}{i}")


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("seg-*.log"))


def test_round_trip_put_pending_acknowledge(tmp_path: Path) -> None:
    with Spool(tmp_path / "s") as spool:
        digests = [spool.put([tag(i), tag(i + 100)], agent=AGENT) for i in range(5)]
        pending = spool.pending()
        assert [p.digest for p in pending] == digests
        for p in pending:
            assert batch_digest(p.body) == p.digest
            batch = decode_batch(p.body)
            assert batch.agent == AGENT
            assert [op for op, _ in batch.records] == ["tag.set", "tag.set"]
        assert decode_batch(pending[2].body).records[0][1] == tag(2).payload()
        assert spool.status().as_dict()["batches"] == 5
        spool.acknowledge(digests[:2])
        assert [p.digest for p in spool.pending()] == digests[2:]
    with Spool(tmp_path / "s") as spool:  # acks are durable: the segment no longer holds them
        assert [p.digest for p in spool.pending()] == digests[2:]
        spool.acknowledge(digests[2:])
        assert spool.pending() == []
        assert spool.status().batches == 0
    assert segments(tmp_path / "s") == []


def test_the_same_ops_put_twice_are_two_batches(tmp_path: Path) -> None:
    # Setting a tag back to an earlier value is a new write, not a resend to deduplicate.
    with Spool(tmp_path) as spool:
        assert spool.put([tag(1)], agent=AGENT) != spool.put([tag(1)], agent=AGENT)


def test_body_is_the_canonical_encoding_of_the_batch() -> None:
    body = encode_batch(AGENT, [tag(1), ("tag.set", tag(2).encode())], "0" * 32)
    assert canonical.encode(canonical.decode(body)) == body


def test_a_batch_of_many_records_round_trips(tmp_path: Path) -> None:
    # more pieces than one writev takes: the body is joined first
    ops = [tag(i) for i in range(600)]
    with Spool(tmp_path) as spool:
        digest = spool.put(ops, agent=AGENT)
    with Spool(tmp_path) as spool:
        (found,) = spool.pending()
    assert found.digest == digest
    assert [payload for _, payload in decode_batch(found.body).records] == [
        op.payload() for op in ops
    ]


@pytest.mark.parametrize(
    "records",
    [[], [("no.such.op", b"{}")], [("tag.set", b"[1]")], [("tag.set", "{}")]],
)
def test_bad_batches_are_refused(tmp_path: Path, records: list[tuple[str, bytes]]) -> None:
    with Spool(tmp_path) as spool, pytest.raises(InvalidInput):
        spool.put(records, agent=AGENT)
    with Spool(tmp_path) as spool, pytest.raises(InvalidInput, match="agent"):
        spool.put([tag(1)], agent="no spaces allowed")


def test_partial_acks_compact_closed_segments(tmp_path: Path) -> None:
    with Spool(tmp_path, segment_bytes=1) as spool:  # one batch per segment
        digests = [spool.put([tag(i)], agent=AGENT) for i in range(4)]
        assert len(segments(tmp_path)) == 4
        spool.acknowledge([digests[1], digests[3]])
        assert len(segments(tmp_path)) == 2
    with Spool(tmp_path, segment_bytes=10_000) as spool:  # several batches in a segment
        more = [spool.put([tag(i)], agent=AGENT) for i in range(6)]
        spool.acknowledge(more[:4])  # the active segment is kept whole until it rolls
        assert [p.digest for p in spool.pending()] == [digests[0], digests[2], *more[4:]]
    with Spool(tmp_path, segment_bytes=1) as spool:
        last = spool.put([tag(9)], agent=AGENT)  # rolls: the shared segment is now closed
        spool.acknowledge([digests[0]])  # its half acked: rewritten without them
        assert [p.digest for p in spool.pending()] == [digests[2], *more[4:], last]
    with Spool(tmp_path) as spool:
        assert [p.digest for p in spool.pending()] == [digests[2], *more[4:], last]


# Run as `python writer.py DIR`: put batches forever, printing each digest once put() returned.
WRITER = """
import sys
import time
from lineal.model.ops import TagSet
from lineal.store.spool import Spool

spool = Spool(sys.argv[1])
for i in range(100_000):
    big = "x" * (i % 7 * 40_000)  # frames of 0..240 KB, so kills land inside writes
    op = TagSet(target="sha256:" + "a" * 64, key=f"k{i}", value=big + str(i))
    print(spool.put([op], agent="writer"), flush=True)
"""


def kill_after_lines(child: subprocess.Popen[bytes], after: int, delay: float) -> list[str]:
    """SIGKILL the child once it printed ``after`` lines and ``delay`` seconds more passed;
    return every whole line it printed before it died.

    All of it is read through ``child.stdout``'s own buffer. A readline takes everything
    waiting in the pipe, and on a loaded machine several lines wait there together; the
    ones after the line asked for stay in that buffer. ``communicate()`` would read the
    descriptor behind it and then close it, dropping them: batches that returned, missing
    from what the test compares. A line the kill cut short (no newline) counts as not
    printed; its put() returned, so the spool may hold one batch more than the lines."""
    assert child.stdout is not None
    lines: list[bytes] = []
    while len(lines) < after and (line := child.stdout.readline()):
        lines.append(line)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    lines += child.stdout.readlines()  # what is buffered, then the pipe up to its end
    child.stdout.close()
    return [line.decode().strip() for line in lines if line.endswith(b"\n")]


def test_kill_after_lines_keeps_the_lines_read_ahead_with_the_first() -> None:
    # One write puts the lines in the pipe together, so the first readline buffers them all
    # (as when the reader falls behind); the last line is cut short, as by a kill mid-print.
    script = (
        "import sys, time\nsys.stdout.write('0\\n1\\n2\\n3')\nsys.stdout.flush()\ntime.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert kill_after_lines(child, 1, 0) == ["0", "1", "2"]
    assert child.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.serial  # a kill timed to land inside a put: make test runs it alone
@pytest.mark.parametrize("trial", range(8))
def test_sigkill_loses_no_batch_whose_put_returned(tmp_path: Path, trial: int) -> None:
    # Killed after a seeded number of puts and a seeded delay (up to 30 ms, a few puts'
    # worth), so the kill lands at any point of a put: encoding, writing or in the fsync.
    rng = random.Random(SEED + trial)
    after, delay = rng.randint(1, 100), rng.uniform(0, 0.03)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    spool_dir = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(spool_dir)], stdout=subprocess.PIPE, env=env
    )
    returned = kill_after_lines(child, after, delay)
    assert child.returncode == -signal.SIGKILL
    assert len(returned) >= after
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spool = Spool(spool_dir)
    assert all(issubclass(w.category, SpoolWarning) for w in caught)
    assert len(caught) <= 1  # at most one torn frame, the one being written
    with spool:
        found = [p.digest for p in spool.pending()]
    assert len(found) == len(set(found))
    assert found[: len(returned)] == returned
    assert len(found) - len(returned) <= 1  # put() may have returned before the print


def test_a_torn_tail_is_cut_with_a_warning(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        kept = [spool.put([tag(i)], agent=AGENT) for i in range(3)]
    seg = segments(tmp_path)[-1]
    whole = seg.read_bytes()
    with Spool(tmp_path) as spool:
        spool.put([tag(99)], agent=AGENT)
    data = seg.read_bytes()
    frame = data[len(whole) :]
    for cut in (5, HEADER, HEADER + 10, len(frame) - 1):
        seg.write_bytes(whole + frame[:cut])
        with pytest.warns(SpoolWarning, match=f"torn record at byte {len(whole)}"):
            spool = Spool(tmp_path)
        with spool:
            assert [p.digest for p in spool.pending()] == kept
        assert seg.read_bytes() == whole
    # a whole frame whose body got garbage at the end of the file: torn as well
    seg.write_bytes(whole + frame[:-1] + b"?")
    with pytest.warns(SpoolWarning), Spool(tmp_path) as spool:
        assert [p.digest for p in spool.pending()] == kept


@pytest.mark.parametrize("where", ["body", "header"])
def test_damage_in_the_middle_names_file_and_offset(tmp_path: Path, where: str) -> None:
    with Spool(tmp_path) as spool:
        for i in range(3):
            spool.put([tag(i)], agent=AGENT)
        second = spool.pending()[1]
    seg = segments(tmp_path)[0]
    data = bytearray(seg.read_bytes())
    start = data.index(second.body) - HEADER
    data[start + (HEADER + 20 if where == "body" else 10)] ^= 0x01
    seg.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=f"{seg.name} is damaged at byte {start}"):
        Spool(tmp_path)
    # and a change after opening is caught when the batch is read
    seg.write_bytes(bytes(data[:start]))
    with Spool(tmp_path) as spool:
        raw = bytearray(seg.read_bytes())
        raw[HEADER + 3] ^= 0x01
        seg.write_bytes(bytes(raw))
        with pytest.raises(IntegrityError, match="changed under the spool at byte 0"):
            spool.pending()


def test_size_warning_past_warn_bytes(tmp_path: Path) -> None:
    with Spool(tmp_path, warn_bytes=2_000) as spool:
        first = spool.put([tag(1, "x" * 900)], agent=AGENT)
        with pytest.warns(SpoolWarning, match="more than 2000"):
            spool.put([tag(2, "x" * 900)], agent=AGENT)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spool.put([tag(3)], agent=AGENT)  # said once, not on every put
            spool.acknowledge([first, *[p.digest for p in spool.pending()]])
            spool.put([tag(4)], agent=AGENT)  # below again: quiet
        spool.put([tag(5, "x" * 900)], agent=AGENT)
        with pytest.warns(SpoolWarning):  # and said again when it grows past once more
            spool.put([tag(6, "x" * 900)], agent=AGENT)


def test_status_counts_bytes_and_oldest_age(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        assert spool.status().oldest_age is None
        spool.put([tag(1)], agent=AGENT)
        spool.put([tag(2)], agent=AGENT)
        first = spool.pending()[0]
        status = spool.status(now=1e12)
        assert status.batches == 2
        assert status.bytes == sum(HEADER + len(p.body) for p in spool.pending())
        assert status.segments == 1
        assert status.oldest_age is not None
        assert status.oldest_age > 1e12 - 1e10
        spool.acknowledge([first.digest])
        assert spool.status().batches == 1


HOLDER = """
import sys
import time
from lineal.store.spool import Spool

spool = Spool(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_a_spool_held_by_another_process_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    holder = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "s")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(Conflict, match=f"in use by process {holder.pid}") as caught:
            Spool(tmp_path / "s")
        assert caught.value.hint is not None
    finally:
        holder.communicate(b"", timeout=30)
    Spool(tmp_path / "s").close()  # free again once the holder is gone


def test_one_process_cannot_open_a_spool_twice(tmp_path: Path) -> None:
    with Spool(tmp_path), pytest.raises(Conflict):
        Spool(tmp_path)


def test_threads_put_at_once(tmp_path: Path) -> None:
    import threading

    with Spool(tmp_path, segment_bytes=4_000) as spool:
        got: list[str] = []

        def worker(n: int) -> None:
            for i in range(50):
                got.append(spool.put([tag(n * 1000 + i)], agent=AGENT))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == sorted(p.digest for p in spool.pending())
    with Spool(tmp_path) as spool:
        assert len({p.digest for p in spool.pending()}) == 200
        assert all(hashlib.sha256(p.body).hexdigest() == p.digest[7:] for p in spool.pending())


def test_drop_acknowledged_leaves_no_acked_bytes_behind(tmp_path: Path) -> None:
    # After a redaction: an acknowledged batch in the active segment, with a pending one
    # after it, would stay on disk until the segment empties; drop_acknowledged rewrites it.
    with Spool(tmp_path / "s") as spool:
        secret = "jane.doe@example.com"
        first = spool.put([tag(1, secret)], agent=AGENT)
        second = spool.put([tag(2)], agent=AGENT)
        spool.acknowledge([first])
        files = segments(tmp_path / "s")
        assert any(secret.encode() in path.read_bytes() for path in files)
        spool.drop_acknowledged()
        assert not any(secret.encode() in p.read_bytes() for p in segments(tmp_path / "s"))
        assert [p.digest for p in spool.pending()] == [second]
        third = spool.put([tag(3)], agent=AGENT)  # writing goes on, into a new segment
        assert [p.digest for p in spool.pending()] == [second, third]
    with Spool(tmp_path / "s") as spool:
        assert [p.digest for p in spool.pending()] == [second, third]


def test_adopting_skips_a_spool_its_process_removed_after_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client adopts the spools of processes that have gone; one that closes meanwhile
    removes its (empty) folder between the listing and the look inside: skipped, not a
    FileNotFoundError out of `lineal sync`."""
    import shutil
    from types import SimpleNamespace

    from lineal.store.http_writes import SpooledWrites

    root = tmp_path / "spools"
    doomed = root / "p1-gone"
    kept = Spool(root / "p2-left")
    kept.put([tag(1)], agent=AGENT)
    kept.close()  # its process ended with a batch still spooled: adopted
    doomed.mkdir()
    real_scandir = os.scandir

    def vanishing(path: Any) -> Any:
        if isinstance(path, (str, os.PathLike)) and Path(path) == doomed and doomed.exists():
            shutil.rmtree(doomed)  # its process closed it, empty, just now
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", vanishing)
    client = SimpleNamespace(_spool=None, _adopted=[], _send=lambda group: [])
    SpooledWrites._adopt(client, root)  # type: ignore[arg-type]
    assert [spool.path for spool, _ in client._adopted] == [root / "p2-left"]
    for spool, drainer in client._adopted:
        drainer.close(timeout=5)
        spool.close()
