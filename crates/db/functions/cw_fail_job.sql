-- The live definition of cw_fail_job, last applied by migrations/0005_queue_speed.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Fails a job with a structured error if the claim still holds; NULL when it does not.
CREATE OR REPLACE FUNCTION cw_fail_job(p_id uuid, p_token uuid, p_error jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    ok boolean := true;
BEGIN
    UPDATE jobs SET status = 'FAILED', error = p_error, finished_at = clock_timestamp()
    WHERE jobs.id = p_id AND claim_token = p_token AND status = 'RUNNING'
      AND lease_expires_at > clock_timestamp()
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    BEGIN
        INSERT INTO audit_log (tenant_id, actor_id, action, entity_type, entity_id, metadata)
        VALUES (j.tenant_id, NULL, 'REGEN_JOB_FAILED', 'job', j.id::text,
                cw_job_meta(j, jsonb_build_object('code', p_error -> 'code')));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'audit write failed (REGEN_JOB_FAILED): %', SQLERRM;
        ok := false;
    END;
    RETURN ok;
END
$$;
