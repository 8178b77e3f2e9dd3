-- 001-initial.sql — the first schema of the cntb results database.
--
-- Applied by store_open() inside one transaction, after which PRAGMA
-- user_version = 1.  Never edit a migration that has shipped: add
-- 002-<what>.sql instead.  Every table and column is described in
-- docs/schema.md.  Timestamps are UTC ISO 8601 text with milliseconds
-- ("2026-11-29T23:59:01.123Z"), as written by
-- strftime('%Y-%m-%dT%H:%M:%fZ', 'now').

-- One execution of a matrix.
CREATE TABLE batch (
    id          INTEGER PRIMARY KEY,              -- batch id (> 0)
    matrix_name TEXT    NOT NULL,                 -- the matrix's name
    matrix_json TEXT    NOT NULL CHECK (json_valid(matrix_json)), -- the matrix as queued
    testbed     TEXT,                             -- testbed name, NULL when none was given
    state       TEXT    NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    created_at  TEXT    NOT NULL,                 -- UTC ISO 8601
    finished_at TEXT                              -- UTC ISO 8601, set on done/failed/cancelled
);

-- One point of a batch: one assignment of every parameter, one repetition.
CREATE TABLE run (
    id          INTEGER PRIMARY KEY,              -- run id (> 0), unique over all batches
    batch_id    INTEGER NOT NULL REFERENCES batch(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL CHECK (idx >= 0),        -- position in the batch's run order
    point       INTEGER NOT NULL CHECK (point >= 0),      -- matrix point (same for all repetitions)
    repetition  INTEGER NOT NULL CHECK (repetition >= 0), -- 0-based repetition of the point
    params_json TEXT    NOT NULL
                CHECK (json_valid(params_json) AND json_type(params_json) = 'object'),
    state       TEXT    NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'leasing', 'setup', 'running', 'collect',
                                 'teardown', 'done', 'failed', 'skipped', 'interrupted')),
    reason      TEXT,                             -- why failed/skipped/interrupted, else NULL
    client_host TEXT,                             -- host name of the client container
    server_host TEXT,                             -- host name of the server container
    created_at  TEXT    NOT NULL,                 -- UTC ISO 8601
    started_at  TEXT,                             -- UTC ISO 8601, on entering setup
    finished_at TEXT,                             -- UTC ISO 8601, on done/failed/skipped
    UNIQUE (batch_id, idx)
);
CREATE INDEX run_batch_id ON run(batch_id);
CREATE INDEX run_state ON run(state);

-- Each result an agent delivered, stored exactly once per (run_id, seq).
CREATE TABLE result (
    run_id      INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq >= 0), -- the agent's sequence number
    host        TEXT,                              -- the host that sent it
    received_at TEXT    NOT NULL,                  -- UTC ISO 8601
    raw_json    TEXT    NOT NULL CHECK (json_valid(raw_json)),
    PRIMARY KEY (run_id, seq)
);

-- One value per metric and run (the latest result to carry a name wins).
CREATE TABLE metric (
    run_id      INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,                  -- e.g. throughput_bps
    value       REAL    NOT NULL,                  -- in `unit`
    unit        TEXT,                              -- metric_unit(name); NULL if not standard
    PRIMARY KEY (run_id, name)
);

-- Per-second samples of a result.
CREATE TABLE sample (
    run_id      INTEGER NOT NULL,
    seq         INTEGER NOT NULL,                  -- the result this sample came with
    t_s         REAL    NOT NULL,                  -- seconds since the traffic started
    name        TEXT    NOT NULL,                  -- metric name, unit as in metric_unit()
    value       REAL    NOT NULL,
    FOREIGN KEY (run_id, seq) REFERENCES result(run_id, seq) ON DELETE CASCADE
);
CREATE INDEX sample_run_id ON sample(run_id);
