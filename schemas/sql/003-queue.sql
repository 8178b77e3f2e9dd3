-- 003-queue.sql — the queue of matrices waiting for their start time, the
-- batch each entry started, and every failed or interrupted attempt of a run.
--
-- Applied by store_open() inside one transaction, after which PRAGMA
-- user_version = 3.  Described in docs/schema.md and docs/queue.md.
-- Timestamps are UTC ISO 8601 text as in 001.

-- A matrix queued by `cntb queue add` (or `cntb run`, which queues it for now).
CREATE TABLE queue (
    id          INTEGER PRIMARY KEY,              -- queue entry id (> 0), `cntb queue cancel ID`
    name        TEXT    NOT NULL,                 -- the matrix's name
    file        TEXT    NOT NULL,                 -- the matrix file as named on the command line
    matrix      TEXT    NOT NULL,                 -- the matrix text as read (errors keep line:col)
    testbed     TEXT,                             -- the testbed it runs on
    at          TEXT    NOT NULL,                 -- UTC ISO 8601: the first start (the series' anchor)
    every_s     INTEGER CHECK (every_s IS NULL OR every_s > 0), -- seconds between starts, NULL = once
    every_text  TEXT,                             -- the period as given ("1d", "12h")
    calendar    INTEGER NOT NULL DEFAULT 0 CHECK (calendar IN (0, 1)), -- 1: every_s is whole local days
    next_start  TEXT,                             -- UTC ISO 8601 of the next start; NULL when none is left
    state       TEXT    NOT NULL DEFAULT 'waiting'
                CHECK (state IN ('waiting', 'started', 'cancelled', 'failed')), -- started: a one-off that made its batch
    error       TEXT,                             -- why the entry failed to start a batch, else NULL
    batch_id    INTEGER REFERENCES batch(id) ON DELETE SET NULL, -- the last batch it started
    batches     INTEGER NOT NULL DEFAULT 0 CHECK (batches >= 0), -- how many batches it started
    created_at  TEXT    NOT NULL,                 -- UTC ISO 8601
    cancelled_at TEXT                             -- UTC ISO 8601, set by cancel
);
CREATE INDEX queue_next_start ON queue(state, next_start);

-- The queue entry that started a batch (NULL for batches from before 003).
ALTER TABLE batch ADD COLUMN queue_id INTEGER REFERENCES queue(id) ON DELETE SET NULL;

-- An attempt of a run that did not end it: failed and retried, or cut short
-- by a controller that stopped.  The final attempt is the run row itself.
CREATE TABLE run_attempt (
    run_id      INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL CHECK (attempt >= 1), -- 1 = the first attempt
    state       TEXT    NOT NULL CHECK (state IN ('failed', 'interrupted')),
    reason      TEXT    NOT NULL,                 -- why it failed, or the stage it was cut short in
    client_host TEXT,
    server_host TEXT,
    started_at  TEXT,                             -- UTC ISO 8601, when it entered setup
    finished_at TEXT    NOT NULL,                 -- UTC ISO 8601
    PRIMARY KEY (run_id, attempt)
);
