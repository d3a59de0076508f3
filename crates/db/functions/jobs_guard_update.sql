-- The live definition of jobs_guard_update, last applied by migrations/0002_jobs.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Jobs are insert-only but for their lifecycle columns, and status only moves forward:
-- REQUESTED -> PENDING -> RUNNING -> COMPLETED | FAILED. A finished job never changes.
CREATE OR REPLACE FUNCTION jobs_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.target_type IS DISTINCT FROM OLD.target_type
       OR NEW.target_id IS DISTINCT FROM OLD.target_id
       OR NEW.instruction IS DISTINCT FROM OLD.instruction
       OR NEW.created_by IS DISTINCT FROM OLD.created_by
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.retry_of IS DISTINCT FROM OLD.retry_of THEN
        RAISE EXCEPTION 'jobs: only lifecycle columns may change (job %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status IN ('COMPLETED', 'FAILED') THEN
        RAISE EXCEPTION 'jobs: job % is % and can never change', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT (
        (OLD.status = 'REQUESTED' AND NEW.status = 'PENDING')
        OR (OLD.status = 'PENDING' AND NEW.status = 'RUNNING')
        OR (OLD.status = 'RUNNING' AND NEW.status IN ('RUNNING', 'COMPLETED', 'FAILED'))
    ) THEN
        RAISE EXCEPTION 'jobs: status may not move from % to % (job %)', OLD.status, NEW.status, OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.output_ref IS NOT NULL AND NEW.output_ref IS DISTINCT FROM OLD.output_ref THEN
        RAISE EXCEPTION 'jobs: the output of job % is set once', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
