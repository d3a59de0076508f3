-- The worker's hot paths, cheaper. Same signatures, same rules: the claim is one statement
-- (SKIP LOCKED, a fresh claim token, a lease); every later write is guarded by id, claim
-- token, RUNNING and an unexpired lease; every transition writes its audit rows in its own
-- transaction inside a savepoint (an exception block) that a failure rolls back to, reported
-- as audit_ok = false, never blocking the change. Only functions change here, so old and new
-- workers run side by side.

-- jsonb_build_object is STABLE, so an IMMUTABLE wrapper around it could never be inlined:
-- every call ran the SQL-function executor, parsing and planning the body again in each
-- transaction. STABLE is what it is; now the planner inlines it.
CREATE OR REPLACE FUNCTION cw_job_meta(j jobs, extra jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('kind', j.kind, 'targetType', j.target_type, 'targetId', j.target_id) || extra
$$;

-- Claims the oldest PENDING job: RUNNING, a fresh claim token, a lease. Its two audit rows
-- (LOCKED, STARTED) go in with one insert inside one savepoint instead of two nested
-- function calls with a savepoint each.
CREATE OR REPLACE FUNCTION cw_claim_job(p_worker text, p_lease_secs float8)
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
        SELECT n.id FROM jobs n WHERE n.status = 'PENDING'
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

-- Completes a job with its output and drafts if the claim still holds. NULL: the claim is gone
-- and nothing changed; otherwise whether every audit row was written. A job without drafts
-- (most of them) skips the drafts insert altogether.
CREATE OR REPLACE FUNCTION cw_complete_job(p_id uuid, p_token uuid, p_path text, p_hash text,
                                           p_content_type text, p_size bigint, p_drafts jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    a record;
    ok boolean := true;
BEGIN
    UPDATE jobs SET status = 'COMPLETED', output_ref = p_path, finished_at = clock_timestamp()
    WHERE jobs.id = p_id AND claim_token = p_token AND status = 'RUNNING'
      AND lease_expires_at > clock_timestamp()
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO job_outputs (id, job_id, tenant_id, path, content_hash, content_type, size_bytes)
    VALUES (gen_random_uuid(), j.id, j.tenant_id, p_path, p_hash, p_content_type, p_size);
    BEGIN
        INSERT INTO audit_log (tenant_id, actor_id, action, entity_type, entity_id, metadata)
        VALUES (j.tenant_id, NULL, 'REGEN_JOB_COMPLETED', 'job', j.id::text,
                cw_job_meta(j, jsonb_build_object('outputRef', p_path, 'contentHash', p_hash, 'sizeBytes', p_size)));
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'audit write failed (REGEN_JOB_COMPLETED): %', SQLERRM;
        ok := false;
    END;
    IF p_drafts IS NULL OR p_drafts = '[]'::jsonb THEN
        RETURN ok;
    END IF;
    FOR a IN
        INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id,
                               version, parent_id, title, body, provenance, content_hash, job_id, created_by)
        SELECT d.id, j.tenant_id, d.kind, d.syllabus_id, d.brief_id, d.ref_id, d.module_id, d.lineage_id,
               d.version, d.parent_id, d.title, d.body, d.provenance, d.content_hash, j.id, j.created_by
        FROM jsonb_to_recordset(p_drafts) AS d(
            id uuid, kind text, syllabus_id uuid, brief_id uuid, ref_id text, module_id text,
            lineage_id uuid, version integer, parent_id uuid, title text, body jsonb, provenance jsonb,
            content_hash text)
        RETURNING artifacts.id, artifacts.kind, artifacts.version, artifacts.ref_id
    LOOP
        ok := cw_audit(j.tenant_id, NULL,
                       CASE WHEN a.kind = 'SYLLABUS' THEN 'SYLLABUS_CREATED' ELSE 'CONTENT_CREATED' END,
                       lower(a.kind), a.id::text,
                       jsonb_build_object('version', a.version, 'refId', a.ref_id, 'jobId', j.id)) AND ok;
    END LOOP;
    RETURN ok;
END
$$;

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
