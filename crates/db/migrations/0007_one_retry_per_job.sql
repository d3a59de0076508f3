-- A FAILED job is retried at most once, ever: a burst of retry requests makes one new job.
-- A retry that fails too is retried in its turn (its own id is the next retry_of), so the
-- history of a target stays one chain. Only an index is added, so old and new replicas run
-- side by side; an old replica's second retry is refused by the index like a new one's.
CREATE UNIQUE INDEX jobs_one_retry_per_job ON jobs (retry_of) WHERE retry_of IS NOT NULL;
-- The unique index answers every lookup the plain one did.
DROP INDEX jobs_retry_of_idx;
