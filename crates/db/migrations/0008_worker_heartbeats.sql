-- Each running worker process says it is alive every few seconds, so that the pages can
-- say when no worker is running instead of leaving briefs queued in silence. A row is
-- removed when its worker stops, and rows not renewed for a day are pruned by the workers.
CREATE TABLE worker_heartbeats (
    worker      text PRIMARY KEY CHECK (length(worker) BETWEEN 1 AND 200),
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    seen_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    concurrency integer NOT NULL CHECK (concurrency > 0)
);

CREATE INDEX worker_heartbeats_seen_idx ON worker_heartbeats (seen_at);
