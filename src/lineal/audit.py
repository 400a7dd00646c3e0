"""`lineal audit`: who read or changed what, when, from a store's audit log; its export as
JSON lines, and the offline check of such an export.

A service over the Store protocol (works on an embedded store and through a server); never
prints, and never writes the log (the store and the server do).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineal.errors import InvalidInput
from lineal.model import canonical
from lineal.model.audit import AuditHead, AuditReport, AuditRow

if TYPE_CHECKING:
    from lineal.store.base import Store

_RELATIVE = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Rows an export reads at a time.
PAGE = 5000
EXPORT_FORMAT = "lineal-audit-export/1"


def moment(text: str, *, end: bool = False, now: datetime | None = None) -> str:
    """Canonical UTC time of ``text``: ``30d``, ``12h``, ``15m`` or ``2w`` ago, an ISO date (its
    start; with ``end``, its last microsecond), or an ISO date and time (UTC unless it says)."""
    text = text.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        ago = timedelta(**{_UNITS[relative[2]]: int(relative[1])})
        return canonical.format_time((now or datetime.now(UTC)) - ago)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return canonical.format_time(datetime.combine(day, time.max if end else time.min, UTC))
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"bad time {text!r}: expected an ISO date or time, or an age like 30d, 12h, 15m, 2w",
            hint="e.g. --since 2026-03-01, --since 2026-03-01T09:00, --since 30d",
        ) from None
    return canonical.format_time(when if when.tzinfo else when.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class AuditLog:
    """The audit rows a question found (oldest first) and the question."""

    rows: list[AuditRow]
    agent: str | None = None
    ref: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": {
                "agent": self.agent,
                "ref": self.ref,
                "since": self.since,
                "until": self.until,
                "limit": self.limit,
            },
            "rows": [row.as_dict() for row in self.rows],
        }


def read(
    store: Store,
    *,
    agent: str | None = None,
    ref: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = 100,
) -> AuditLog:
    """The latest ``limit`` rows (None: all) by ``agent`` naming ``ref`` (a reference, or
    KIND/NAME for any version or alias of it) from ``since`` to ``until`` (times as
    :func:`moment` reads them), oldest first."""
    start = None if since is None else moment(since)
    stop = None if until is None else moment(until, end=True)
    found = store.audit_rows(
        agent=agent, ref=ref, since=start, until=stop, limit=limit, newest_first=True
    )
    return AuditLog(list(reversed(found)), agent, ref, start, stop, limit)


def export_lines(store: Store) -> Iterator[str]:
    """The whole audit log as JSON lines: a header, the keys that signed its heads, every
    row up to the last signed head, every signed head (each line one object with ``type``)."""
    heads = store.audit_heads()
    signers = {head.key_id for head in heads}
    yield _line({"type": "header", "format": EXPORT_FORMAT, "store": store.uri})
    from lineal.ledger.keys import key_id

    for agent in store.agents():
        if key_id(agent.public_key) in signers:
            yield _line(
                {
                    "type": "key",
                    "agent": agent.name,
                    "public_key": agent.public_key,
                    "key_id": key_id(agent.public_key),
                }
            )
    # Up to the last head signed when the export began: a log that grows meanwhile (through
    # a server, each page read is a request, so a row) is exported as it stood then.
    end = heads[-1].seq if heads else 0
    after = 0
    while after < end and (page := store.audit_rows(after=after, limit=min(PAGE, end - after))):
        for row in page:
            if row.seq <= end:
                yield _line({"type": "row", **row.as_dict()})
        after = page[-1].seq
    for head in heads:
        yield _line({"type": "head", **head.as_dict()})


def _line(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def check_export(path: Path) -> AuditReport:
    """Check an export offline: its chain, and each head's signature with the keys it names
    (compare the key id the report names with the one you trust: the server's key)."""
    from lineal.ledger.audit_chain import check_audit

    rows: list[AuditRow] = []
    heads: list[AuditHead] = []
    keys: dict[str, tuple[str, str]] = {}
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                body = json.loads(line)
                kind = body.pop("type", None)
                if kind == "row":
                    rows.append(AuditRow.from_dict(body))
                elif kind == "head":
                    heads.append(AuditHead(**body))
                elif kind == "key":
                    keys[body["key_id"]] = (body["agent"], body["public_key"])
                elif kind != "header":
                    raise InvalidInput(f"{path}:{number}: unknown line type {kind!r}")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"{path} is not an audit export: {exc}",
            hint="make one with `lineal audit export -o FILE`",
        ) from None
    return check_audit(rows, heads, keys)
