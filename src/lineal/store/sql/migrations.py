"""Numbered schema migrations shared by the SQL stores, each applied in one transaction.

Never edit a released migration: add the next number instead.

SQL is written once for both backends; ``{int}``, ``{real}`` and ``{blob}`` become the
backend's spelling (SQLite: INTEGER, REAL, BLOB; PostgreSQL: BIGINT, DOUBLE PRECISION, BYTEA).
"""

from __future__ import annotations

from lineal.store.sql.audit_rows import AUDIT

# The ledger itself: the only tables that are the source of truth.
_LEDGER = """
CREATE TABLE ledger (
    seq {int} PRIMARY KEY,
    time TEXT NOT NULL,
    author TEXT NOT NULL,
    op TEXT NOT NULL,
    payload_digest TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload {blob}
);
CREATE TABLE commits (
    last_seq {int} PRIMARY KEY,
    last_hash TEXT NOT NULL,
    author TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sig TEXT NOT NULL
);
"""

# Projections: derived from the ledger, rebuilt and compared by `lineal verify`. Every row
# carries the seq that made it; facts that can change also carry until_seq.
_BEFORE_ARTIFACTS = """
CREATE TABLE agents (
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    seq {int} NOT NULL,
    PRIMARY KEY (name, public_key)
);
"""
_ARTIFACTS_BY_DIGEST = """
CREATE TABLE artifacts (
    digest TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    size {int},
    uri TEXT,
    meta TEXT NOT NULL,
    seq {int} NOT NULL
);
"""
_AFTER_ARTIFACTS = """
CREATE TABLE versions (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version {int} NOT NULL,
    digest TEXT NOT NULL,
    seq {int} NOT NULL,
    PRIMARY KEY (kind, name, version),
    UNIQUE (digest, kind, name)
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    duration {real},
    author TEXT NOT NULL,
    meta TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    seq {int} NOT NULL,
    finish_seq {int}
);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_started ON runs (started);
CREATE TABLE params (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    num {real},
    seq {int} NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX params_key_num ON params (key, num);
CREATE INDEX params_key_value ON params (key, value);
CREATE TABLE metric_batches (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    seq {int} NOT NULL,
    points {int} NOT NULL,
    first_step {int} NOT NULL,
    last_step {int} NOT NULL,
    PRIMARY KEY (run_id, key, seq)
);
CREATE TABLE run_metrics (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value {real},
    step {int},
    points {int} NOT NULL,
    seq {int} NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_metrics_key_value ON run_metrics (key, value);
CREATE TABLE edges (
    parent TEXT NOT NULL,
    child TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    seq {int} NOT NULL,
    PRIMARY KEY (parent, child, kind, role)
);
CREATE INDEX edges_child ON edges (child);
CREATE TABLE aliases (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    seq {int} NOT NULL,
    until_seq {int}
);
CREATE INDEX aliases_name ON aliases (kind, name, alias);
CREATE TABLE tags (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq {int} NOT NULL,
    until_seq {int}
);
CREATE INDEX tags_target ON tags (target, key);
CREATE TABLE redactions (
    seq {int} PRIMARY KEY,
    by_seq {int} NOT NULL,
    reason TEXT NOT NULL
);
"""
PROJECTIONS = _BEFORE_ARTIFACTS + _ARTIFACTS_BY_DIGEST + _AFTER_ARTIFACTS

#: Every projection table with the columns `verify` compares, in a stable order.
PROJECTION_TABLES: dict[str, tuple[str, ...]] = {
    "agents": ("name", "public_key", "key_id", "seq", "until_seq", "ended", "reason"),
    "artifacts": ("node", "digest", "kind", "name", "size", "uri", "meta", "seq"),
    "versions": ("kind", "name", "version", "digest", "seq"),
    "runs": (
        "id", "name", "status", "started", "ended", "duration", "author", "meta", "summary",
        "error", "seq", "finish_seq",
    ),
    "params": ("run_id", "key", "value", "num", "seq"),
    "metric_batches": ("run_id", "key", "seq", "points", "first_step", "last_step"),
    "run_metrics": ("run_id", "key", "value", "step", "points", "seq"),
    "edges": ("parent", "child", "kind", "role", "seq", "parent_id", "child_id"),
    "node_ids": ("id", "node", "seq"),
    "aliases": ("kind", "name", "alias", "digest", "seq", "until_seq"),
    "tags": ("target", "key", "value", "seq", "until_seq"),
    "redactions": ("seq", "by_seq", "reason", "subject"),
    "promotions": (
        "name", "alias", "digest", "previous", "author", "reason", "policy", "checks",
        "override", "seq",
    ),
    "approvals": ("name", "alias", "digest", "author", "reason", "seq"),
    "roles": ("agent", "role", "author", "seq", "until_seq"),
    "policies": ("seq", "author", "protected", "policies", "until_seq"),
}  # fmt: skip

# Not a projection: liveness of running runs, written outside the ledger by each run's
# flusher and read to tell a crashed run from a running one. `verify` ignores it.
_HEARTBEATS = """
CREATE TABLE heartbeats (
    run_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid {int} NOT NULL,
    process_start TEXT,
    beat {real} NOT NULL
);
"""

# The model registry (migration 2): promotions with who, why, the previous holder and every
# policy check; approvals of a version for an alias.
REGISTRY_PROJECTIONS = """
CREATE TABLE promotions (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    previous TEXT,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy TEXT,
    checks TEXT NOT NULL,
    override {int} NOT NULL,
    seq {int} PRIMARY KEY
);
CREATE INDEX promotions_name ON promotions (name, alias);
CREATE TABLE approvals (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    seq {int} PRIMARY KEY
);
CREATE INDEX approvals_digest ON approvals (digest, alias);
"""
# Lineage queries join aliases by digest.
_ALIASES_DIGEST = "CREATE INDEX aliases_digest ON aliases (digest);"

# Lineage walks on integers (migration 3): every node an edge names gets a number, in the order
# edges first name them (parent before child), so a replay numbers them alike; the walks
# follow edges by those numbers instead of comparing 71-character digests at every step.
LINEAGE_IDS = """
CREATE TABLE node_ids (
    id {int} PRIMARY KEY,
    node TEXT NOT NULL UNIQUE,
    seq {int} NOT NULL
);
ALTER TABLE edges ADD COLUMN parent_id {int};
ALTER TABLE edges ADD COLUMN child_id {int};
CREATE INDEX edges_up ON edges (child_id, parent_id, seq);
CREATE INDEX edges_down ON edges (parent_id, child_id, seq);
"""
# Numbers for the edges a store already holds, as the projections would have given them.
_NUMBER_EXISTING = """
INSERT INTO node_ids (id, node, seq)
SELECT ROW_NUMBER() OVER (ORDER BY earliest), node, earliest / 2 FROM (
    SELECT node, MIN(side) AS earliest FROM (
        SELECT parent AS node, seq * 2 AS side FROM edges
        UNION ALL SELECT child, seq * 2 + 1 FROM edges
    ) AS ends GROUP BY node
) AS firsts;
UPDATE edges SET
    parent_id = (SELECT n.id FROM node_ids n WHERE n.node = edges.parent),
    child_id = (SELECT n.id FROM node_ids n WHERE n.node = edges.child);
"""

# Named versions are lineage nodes of their own (migration 4): an artifact row per node
# (``KIND/NAME@DIGEST`` for a named version, the digest for an unnamed artifact), so a copy step
# or a re-registered model keeps its own name, maker and edges while sharing its object. Edges
# and tags name these nodes. The projections are rebuilt by replaying the ledger, the way
# `verify` rebuilds them, so a migrated store and a replay agree row for row.
_NODE_ARTIFACTS = """CREATE TABLE artifacts (
    node TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    size {int},
    uri TEXT,
    meta TEXT NOT NULL,
    seq {int} NOT NULL
);
CREATE INDEX artifacts_digest ON artifacts (digest);
"""

# Who may do what (migration 8): roles granted and revoked, and the policies in force, each
# row from the record that made it until the one that ended it. A store's first agent (not a
# server's own) is admin from its registration; a store from before gets that row here.
GRANT_PROJECTIONS = """
CREATE TABLE roles (
    agent TEXT NOT NULL,
    role TEXT NOT NULL,
    author TEXT,
    seq {int} NOT NULL,
    until_seq {int},
    PRIMARY KEY (agent, role, seq)
);
CREATE TABLE policies (
    seq {int} PRIMARY KEY,
    author TEXT NOT NULL,
    protected TEXT NOT NULL,
    policies TEXT NOT NULL,
    until_seq {int}
);
"""
_FIRST_ADMIN = """
INSERT INTO roles (agent, role, author, seq)
SELECT name, 'admin', NULL, seq FROM agents
WHERE name <> 'lineal-server' AND NOT EXISTS (SELECT 1 FROM roles)
ORDER BY seq LIMIT 1;
"""

#: The projection tables as migration 4 rebuilt them (later migrations add their own).
_PROJECTIONS_AT_4 = (
    _BEFORE_ARTIFACTS
    + _NODE_ARTIFACTS
    + _AFTER_ARTIFACTS
    + REGISTRY_PROJECTIONS
    + _ALIASES_DIGEST
    + LINEAGE_IDS
)

# Keys rotate and are revoked (migration 6): each agents row is one key an agent held, from
# the record that gave it (seq) to the one that ended it (until_seq, the last record it may
# sign), with how it ended ('rotated', 'revoked') and why. Stores from before hold no rotation
# or revocation, so the new columns start empty and nothing is replayed.
KEY_SPANS = """
ALTER TABLE agents ADD COLUMN until_seq {int};
ALTER TABLE agents ADD COLUMN ended TEXT;
ALTER TABLE agents ADD COLUMN reason TEXT;
"""


# What a redaction erased was about (migration 7): the run of a metrics batch, the node of a
# tag, as the redact record names it (checked against the payload before it was erased), so
# answers about that node say what was erased once the bytes are gone. Redactions written
# before hold no subject: they keep NULL, as a replay gives them.
REDACTION_SUBJECTS = """
CREATE TABLE redactions_new (
    seq {int} PRIMARY KEY,
    by_seq {int} NOT NULL,
    reason TEXT NOT NULL,
    subject TEXT
);
INSERT INTO redactions_new (seq, by_seq, reason) SELECT seq, by_seq, reason FROM redactions;
DROP TABLE redactions;
ALTER TABLE redactions_new RENAME TO redactions;
CREATE INDEX redactions_subject ON redactions (subject);
"""

#: Every projection table's schema as it stands now (verify's replay).
ALL_PROJECTIONS = _PROJECTIONS_AT_4 + KEY_SPANS + REDACTION_SUBJECTS + GRANT_PROJECTIONS

_PROJECTION_NAMES = (
    "agents", "artifacts", "versions", "runs", "params", "metric_batches", "run_metrics",
    "edges", "aliases", "tags", "redactions", "promotions", "approvals", "node_ids",
)  # fmt: skip
_REBUILT = "".join(f"DROP TABLE {name};\n" for name in _PROJECTION_NAMES) + _PROJECTIONS_AT_4

# A batch a client signed and a server appended: its id and the server's own signature on the
# commit (the client's is ``sig``; see lineal.ledger.chain.Commit). Part of the ledger's
# evidence, like the commits themselves; not a projection.
_BATCHES = """
ALTER TABLE commits ADD COLUMN batch TEXT;
ALTER TABLE commits ADD COLUMN server TEXT;
ALTER TABLE commits ADD COLUMN server_key_id TEXT;
ALTER TABLE commits ADD COLUMN server_sig TEXT;
CREATE UNIQUE INDEX commits_batch ON commits (batch);
"""

# API tokens of a server's project (migration 9): outside the ledger, as heartbeats are (a
# token is a credential, not a fact of the lineage). Only a salted hash of each secret is kept;
# `id` is the public part of the token and the one indexed lookup each request makes. Times
# are ISO-8601 UTC text; `revoked` set ends the token at once.
TOKENS = """
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    role TEXT NOT NULL,
    salt TEXT NOT NULL,
    hash TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT,
    created_by TEXT
);
"""

# The lineage index catches up by seq (migration 11): the edges recorded after the seq it was
# built at, found by an index range instead of a scan of every edge.
EDGES_BY_SEQ = """
CREATE INDEX edges_seq ON edges (seq);
"""

#: (version, description, SQL). The store records each applied version in schema_version.
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "ledger, commits and the first projections", _LEDGER + PROJECTIONS + _HEARTBEATS),
    (
        2,
        "model registry: promotions, approvals; aliases by digest",
        REGISTRY_PROJECTIONS + _ALIASES_DIGEST,
    ),
    (3, "lineage walks on integer node ids", LINEAGE_IDS + _NUMBER_EXISTING),
    (4, "named versions are lineage nodes of their own", _REBUILT),
    (5, "batches clients sign and a server appends", _BATCHES),
    (6, "agent keys held over seq ranges: rotation and revocation", KEY_SPANS),
    (7, "redactions name what they erased", REDACTION_SUBJECTS),
    (8, "roles and policies as ledger facts", GRANT_PROJECTIONS + _FIRST_ADMIN),
    (9, "API tokens of a server's project, hashed", TOKENS),
    (10, "an audit log of reads and writes, hash-chained apart from the ledger", AUDIT),
    (11, "edges by seq, for the lineage index to catch up", EDGES_BY_SEQ),
)

#: Migrations that empty the projections: once every pending migration's SQL has run (the
#: tables then have today's shape, which today's projection code writes), the store replays
#: its ledger into them.
REPLAYED = frozenset({4})

SCHEMA_VERSION = MIGRATIONS[-1][0]

SQLITE_TYPES = {"int": "INTEGER", "real": "REAL", "blob": "BLOB"}
POSTGRES_TYPES = {"int": "BIGINT", "real": "DOUBLE PRECISION", "blob": "BYTEA"}


def statements(sql: str, types: dict[str, str]) -> list[str]:
    """Split a migration into single statements in the backend's spelling."""
    return [s.strip() for s in sql.format(**types).split(";") if s.strip()]
