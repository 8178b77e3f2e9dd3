-- 002-analysis.sql — analysis views, host metadata per batch, query indexes.
--
-- Applied by store_open() in one transaction, after which PRAGMA
-- user_version = 2.  docs/schema.md describes every object.  Views read the
-- tables of 001 only; a parameter added to the matrix format later appears
-- in run_params.params_json at once and gets a column here by a new
-- migration (DROP VIEW + CREATE VIEW).

-- The metadata snapshot of each host a batch used: the latest HELLO "meta"
-- object of the host's agent when a run of the batch leased the host.
-- One row per (batch, host); a later snapshot of the same batch replaces it.
CREATE TABLE host_meta (
    batch_id    INTEGER NOT NULL REFERENCES batch(id) ON DELETE CASCADE,
    host        TEXT    NOT NULL,                  -- host name as in the testbed
    taken_at    TEXT    NOT NULL,                  -- UTC ISO 8601, when stored
    meta_json   TEXT    NOT NULL
                CHECK (json_valid(meta_json) AND json_type(meta_json) = 'object'),
    PRIMARY KEY (batch_id, host)
);

-- One row per run with every parameter of the matrix format as a column.
CREATE VIEW run_params AS
SELECT r.id          AS run_id,
       r.batch_id    AS batch_id,
       b.matrix_name AS matrix_name,
       r.point       AS point,
       r.repetition  AS repetition,
       r.state       AS state,
       r.reason      AS reason,
       json_extract(r.params_json, '$.network')    AS network,
       json_extract(r.params_json, '$.placement')  AS placement,
       json_extract(r.params_json, '$.nesting')    AS nesting,
       json_extract(r.params_json, '$.traffic')    AS traffic,
       json_extract(r.params_json, '$.size')       AS size,        -- bytes
       json_extract(r.params_json, '$.streams')    AS streams,     -- count
       json_extract(r.params_json, '$.duration_s') AS duration_s,  -- s
       r.params_json AS params_json,
       r.client_host AS client_host,
       r.server_host AS server_host
FROM run r JOIN batch b ON b.id = r.batch_id;

-- The flags a run's results carry (result.raw_json "flags": ["tool_bound", ...]),
-- one row per (run, flag).
CREATE VIEW run_flag AS
SELECT DISTINCT res.run_id AS run_id, f.value AS flag
FROM result res, json_each(res.raw_json, '$.flags') f
WHERE json_type(res.raw_json, '$.flags') = 'array' AND f.type = 'text';

-- One row per (run, metric, value, unit), with the run's batch, state and parameters.
CREATE VIEW run_metric AS
SELECT p.run_id, p.batch_id, p.matrix_name, p.state, p.network, p.placement, p.nesting,
       p.traffic, p.size, p.streams, p.duration_s,
       m.name AS metric, m.value AS value, m.unit AS unit
FROM run_params p JOIN metric m ON m.run_id = p.run_id;

-- compare: the done runs of one batch; every metric of one name (--batch all, --matrix).
CREATE INDEX run_batch_state ON run(batch_id, state);
CREATE INDEX metric_name ON metric(name, run_id);
CREATE INDEX batch_matrix_name ON batch(matrix_name);
CREATE INDEX host_meta_host ON host_meta(host);
