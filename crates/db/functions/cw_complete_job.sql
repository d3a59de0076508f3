-- The live definition of cw_complete_job, last applied by migrations/0005_queue_speed.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

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
