-- The live definition of cw_claim_job, last applied by migrations/0006_courses.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Claims the oldest PENDING job, or with `p_only` the oldest of those jobs alone (a command
-- that waits for the jobs it created runs those and nobody else's). RUNNING, a fresh claim
-- token, a lease; the LOCKED and STARTED audit rows in one insert inside one savepoint.
CREATE OR REPLACE FUNCTION cw_claim_job(p_worker text, p_lease_secs float8, p_only uuid[])
RETURNS TABLE (id uuid, tenant_id uuid, kind text, status text, target_type text, target_id text,
               instruction jsonb, output_ref text, error jsonb, created_by uuid, created_at timestamptz,
               triggered_by uuid, triggered_at timestamptz, claimed_by text, claim_token uuid,
               started_at timestamptz, heartbeat_at timestamptz, lease_expires_at timestamptz,
               finished_at timestamptz, retry_of uuid, audit_ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    ok boolean := true;
BEGIN
    WITH next AS (
        SELECT n.id FROM jobs n WHERE n.status = 'PENDING' AND (p_only IS NULL OR n.id = ANY (p_only))
        ORDER BY n.created_at, n.id FOR UPDATE SKIP LOCKED LIMIT 1
    )
    UPDATE jobs SET status = 'RUNNING', claimed_by = p_worker, claim_token = gen_random_uuid(),
           started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
           lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_secs)
    FROM next WHERE jobs.id = next.id
    RETURNING jobs.* INTO j;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    BEGIN
        INSERT INTO audit_log (tenant_id, actor_id, action, entity_type, entity_id, metadata)
        SELECT j.tenant_id, NULL, a.action, 'job', j.id::text,
               cw_job_meta(j, jsonb_build_object('worker', p_worker, 'leaseSeconds', p_lease_secs))
        FROM (VALUES (1, 'REGEN_JOB_LOCKED'), (2, 'REGEN_JOB_STARTED')) AS a (n, action)
        ORDER BY a.n;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'audit write failed (REGEN_JOB_LOCKED, REGEN_JOB_STARTED): %', SQLERRM;
        ok := false;
    END;
    RETURN QUERY SELECT j.id, j.tenant_id, j.kind, j.status, j.target_type, j.target_id, j.instruction,
        j.output_ref, j.error, j.created_by, j.created_at, j.triggered_by, j.triggered_at, j.claimed_by,
        j.claim_token, j.started_at, j.heartbeat_at, j.lease_expires_at, j.finished_at, j.retry_of, ok;
END
$$;

-- The two-argument form stays for processes of the previous release; its body is the one above.
CREATE OR REPLACE FUNCTION cw_claim_job(p_worker text, p_lease_secs float8)
RETURNS TABLE (id uuid, tenant_id uuid, kind text, status text, target_type text, target_id text,
               instruction jsonb, output_ref text, error jsonb, created_by uuid, created_at timestamptz,
               triggered_by uuid, triggered_at timestamptz, claimed_by text, claim_token uuid,
               started_at timestamptz, heartbeat_at timestamptz, lease_expires_at timestamptz,
               finished_at timestamptz, retry_of uuid, audit_ok boolean)
LANGUAGE sql AS $$
    SELECT * FROM cw_claim_job(p_worker, p_lease_secs, NULL::uuid[])
$$;
