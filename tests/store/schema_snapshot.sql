CREATE TABLE agents (
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    seq INTEGER NOT NULL, until_seq INTEGER, ended TEXT, reason TEXT,
    PRIMARY KEY (name, public_key)
);
CREATE TABLE aliases (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    seq INTEGER NOT NULL,
    until_seq INTEGER
);
CREATE TABLE approvals (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    seq INTEGER PRIMARY KEY
);
CREATE TABLE artifacts (
    node TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    size INTEGER,
    uri TEXT,
    meta TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    agent TEXT,
    token_id TEXT,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    path TEXT NOT NULL,
    refs TEXT NOT NULL,
    ops TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE audit_heads (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    signer TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sig TEXT NOT NULL
);
CREATE TABLE audit_refs (
    seq INTEGER NOT NULL,
    ref TEXT NOT NULL,
    base TEXT NOT NULL,
    PRIMARY KEY (seq, ref)
);
CREATE TABLE commits (
    last_seq INTEGER PRIMARY KEY,
    last_hash TEXT NOT NULL,
    author TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sig TEXT NOT NULL
, batch TEXT, server TEXT, server_key_id TEXT, server_sig TEXT);
CREATE TABLE edges (
    parent TEXT NOT NULL,
    child TEXT NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    seq INTEGER NOT NULL, parent_id INTEGER, child_id INTEGER,
    PRIMARY KEY (parent, child, kind, role)
);
CREATE TABLE heartbeats (
    run_id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    process_start TEXT,
    beat REAL NOT NULL
);
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    author TEXT NOT NULL,
    op TEXT NOT NULL,
    payload_digest TEXT NOT NULL,
    hash TEXT NOT NULL,
    payload BLOB
);
CREATE TABLE metric_batches (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    points INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    PRIMARY KEY (run_id, key, seq)
);
CREATE TABLE node_ids (
    id INTEGER PRIMARY KEY,
    node TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL
);
CREATE TABLE params (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    num REAL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE policies (
    seq INTEGER PRIMARY KEY,
    author TEXT NOT NULL,
    protected TEXT NOT NULL,
    policies TEXT NOT NULL,
    until_seq INTEGER
);
CREATE TABLE promotions (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    digest TEXT NOT NULL,
    previous TEXT,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy TEXT,
    checks TEXT NOT NULL,
    override INTEGER NOT NULL,
    seq INTEGER PRIMARY KEY
);
CREATE TABLE "redactions" (
    seq INTEGER PRIMARY KEY,
    by_seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    subject TEXT
);
CREATE TABLE roles (
    agent TEXT NOT NULL,
    role TEXT NOT NULL,
    author TEXT,
    seq INTEGER NOT NULL,
    until_seq INTEGER,
    PRIMARY KEY (agent, role, seq)
);
CREATE TABLE run_metrics (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value REAL,
    step INTEGER,
    points INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    duration REAL,
    author TEXT NOT NULL,
    meta TEXT NOT NULL,
    summary TEXT,
    error TEXT,
    seq INTEGER NOT NULL,
    finish_seq INTEGER
);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL);
CREATE TABLE tags (
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    until_seq INTEGER
);
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
CREATE TABLE versions (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, name, version),
    UNIQUE (digest, kind, name)
);
CREATE INDEX aliases_digest ON aliases (digest);
CREATE INDEX aliases_name ON aliases (kind, name, alias);
CREATE INDEX approvals_digest ON approvals (digest, alias);
CREATE INDEX artifacts_digest ON artifacts (digest);
CREATE INDEX audit_agent ON audit (agent, seq);
CREATE INDEX audit_refs_base ON audit_refs (base, seq);
CREATE INDEX audit_refs_ref ON audit_refs (ref, seq);
CREATE INDEX audit_time ON audit (time);
CREATE UNIQUE INDEX commits_batch ON commits (batch);
CREATE INDEX edges_child ON edges (child);
CREATE INDEX edges_down ON edges (parent_id, child_id, seq);
CREATE INDEX edges_seq ON edges (seq);
CREATE INDEX edges_up ON edges (child_id, parent_id, seq);
CREATE INDEX params_key_num ON params (key, num);
CREATE INDEX params_key_value ON params (key, value);
CREATE INDEX promotions_name ON promotions (name, alias);
CREATE INDEX redactions_subject ON redactions (subject);
CREATE INDEX run_metrics_key_value ON run_metrics (key, value);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_started ON runs (started);
CREATE INDEX tags_target ON tags (target, key);
