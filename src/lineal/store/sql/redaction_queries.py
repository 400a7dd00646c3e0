"""Reading what was redacted and what may still be: the ``redactions`` projection with the
ledger rows it names (the erased record's op, the redact record's time and author).

Read-only SQL; never writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineal.store.sql.projections import Sql

_REDACTIONS = (
    "SELECT r.seq, t.op, r.subject, r.by_seq, b.time, b.author, r.reason FROM redactions r "
    "JOIN ledger t ON t.seq = r.seq JOIN ledger b ON b.seq = r.by_seq"
)
#: Ids are looked up this many at a time (well under any backend's parameter limit).
_CHUNK = 500


def redactions(db: Sql, subject: str | None = None) -> list[dict[str, Any]]:
    """Every redaction (or those about ``subject``), oldest first: the erased record's seq and
    op, what it was about, and the redact record's seq, time, author and reason."""
    if subject is None:
        rows = db.all(f"{_REDACTIONS} ORDER BY r.seq")
    else:
        rows = db.all(f"{_REDACTIONS} WHERE r.subject = ? ORDER BY r.seq", (subject,))
    names = ("seq", "op", "subject", "by_seq", "time", "author", "reason")
    return [dict(zip(names, row, strict=True)) for row in rows]


def erasable(db: Sql, subjects: Iterable[str]) -> list[tuple[int, str, str]]:
    """``(seq, op, subject)`` of each record about ``subjects`` whose payload may still be
    erased: the metrics batches of a ``run/ID`` and the tag values set on a node, seq order."""
    wanted = list(dict.fromkeys(subjects))
    found: set[tuple[int, str, str]] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        runs = [node.removeprefix("run/") for node in chunk if node.startswith("run/")]
        if runs:
            run_marks = ", ".join("?" * len(runs))
            found.update(
                (seq, "metrics.batch", f"run/{run}")
                for seq, run in db.all(
                    "SELECT DISTINCT seq, run_id FROM metric_batches "
                    f"WHERE run_id IN ({run_marks})",
                    runs,
                )
            )
        found.update(
            (seq, "tag.set", target)
            for seq, target in db.all(
                f"SELECT seq, target FROM tags WHERE target IN ({marks})", chunk
            )
        )
    return sorted(found)
