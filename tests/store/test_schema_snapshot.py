"""The SQLite schema after all migrations matches the committed snapshot."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from lineal.store.registry import open_store
from lineal.store.sql.migrations import MIGRATIONS, SCHEMA_VERSION

SNAPSHOT = Path(__file__).with_name("schema_snapshot.sql")


def _dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type DESC, name"
    ).fetchall()
    conn.close()
    return "".join(f"{sql};\n" for (sql,) in rows)


def test_schema_matches_snapshot(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'l.db'}", create=True)
    assert store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1][0]
    store.close()
    schema = _dump(tmp_path / "l.db")
    if os.environ.get("LINEAL_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(schema)
    assert schema == SNAPSHOT.read_text(), (
        "the store schema changed: add a numbered migration to lineal/store/sql/migrations.py "
        "(never edit a released one), then regenerate the snapshot with "
        "LINEAL_UPDATE_SNAPSHOT=1 pytest tests/store/test_schema_snapshot.py"
    )


def test_migrations_are_numbered_in_order() -> None:
    assert [m[0] for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
