-- Syllabus and content engine: briefs, and every generated artifact with its review.

CREATE TABLE briefs (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    body        jsonb NOT NULL,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX briefs_tenant_idx ON briefs (tenant_id, created_at DESC);
CREATE TRIGGER briefs_no_update_delete BEFORE UPDATE OR DELETE ON briefs
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();

-- Syllabi, lessons, quizzes and projects. A row's content never changes: an edit or a
-- regeneration is a new DRAFT version in the same lineage, pointing at its parent. Review
-- moves a DRAFT to APPROVED or REJECTED once; after that the row is frozen.
CREATE TABLE artifacts (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    kind          text NOT NULL,
    -- For content: the approved syllabus it was made from. NULL for syllabi.
    syllabus_id   uuid REFERENCES artifacts (id),
    -- For syllabi: the brief. NULL for content.
    brief_id      uuid REFERENCES briefs (id),
    -- What the artifact is for: the lesson id (lessons, quizzes) or module id (projects).
    ref_id        text NOT NULL,
    module_id     text,
    lineage_id    uuid NOT NULL,
    version       integer NOT NULL,
    parent_id     uuid REFERENCES artifacts (id),
    status        text NOT NULL DEFAULT 'DRAFT',
    title         text NOT NULL,
    body          jsonb NOT NULL,
    provenance    jsonb NOT NULL,
    content_hash  text NOT NULL,
    job_id        uuid REFERENCES jobs (id),
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    reviewed_by   uuid REFERENCES users (id),
    reviewed_at   timestamptz,
    review_note   text,
    CONSTRAINT artifacts_kind_check CHECK (kind IN ('SYLLABUS', 'LESSON', 'QUIZ', 'PROJECT')),
    CONSTRAINT artifacts_status_check CHECK (status IN ('DRAFT', 'APPROVED', 'REJECTED')),
    CONSTRAINT artifacts_lineage_version_key UNIQUE (lineage_id, version),
    CONSTRAINT artifacts_shape CHECK (
        (kind = 'SYLLABUS' AND syllabus_id IS NULL AND brief_id IS NOT NULL)
        OR (kind <> 'SYLLABUS' AND syllabus_id IS NOT NULL AND module_id IS NOT NULL)),
    CONSTRAINT artifacts_reviewed CHECK ((status = 'DRAFT') = (reviewed_at IS NULL))
);
CREATE INDEX artifacts_tenant_idx ON artifacts (tenant_id, kind, created_at DESC);
CREATE INDEX artifacts_syllabus_idx ON artifacts (syllabus_id, module_id, ref_id);
CREATE INDEX artifacts_lineage_idx ON artifacts (lineage_id, version DESC);

CREATE FUNCTION artifacts_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'DRAFT' THEN
        RAISE EXCEPTION 'artifacts: % % is % and immutable', OLD.kind, OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status NOT IN ('APPROVED', 'REJECTED')
       OR (to_jsonb(NEW) - ARRAY['status', 'reviewed_by', 'reviewed_at', 'review_note'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'reviewed_by', 'reviewed_at', 'review_note']) THEN
        RAISE EXCEPTION 'artifacts: a draft may only be approved or rejected (artifact %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER artifacts_guard_update BEFORE UPDATE ON artifacts
    FOR EACH ROW EXECUTE FUNCTION artifacts_guard_update();
CREATE TRIGGER artifacts_no_delete BEFORE DELETE ON artifacts
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER artifacts_no_truncate BEFORE TRUNCATE ON artifacts
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Completion now also inserts the drafts a job produced, in the same transaction as the
-- guarded status change: an abandoned job's drafts never become visible.
DROP FUNCTION cw_complete_job(uuid, uuid, text, text, text, bigint);
CREATE FUNCTION cw_complete_job(p_id uuid, p_token uuid, p_path text, p_hash text,
                                p_content_type text, p_size bigint, p_drafts jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    a record;
    ok boolean;
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
    ok := cw_audit(j.tenant_id, NULL, 'REGEN_JOB_COMPLETED', 'job', j.id::text,
        cw_job_meta(j, jsonb_build_object('outputRef', p_path, 'contentHash', p_hash, 'sizeBytes', p_size)));
    FOR a IN
        INSERT INTO artifacts (id, tenant_id, kind, syllabus_id, brief_id, ref_id, module_id, lineage_id,
                               version, parent_id, title, body, provenance, content_hash, job_id, created_by)
        SELECT d.id, j.tenant_id, d.kind, d.syllabus_id, d.brief_id, d.ref_id, d.module_id, d.lineage_id,
               d.version, d.parent_id, d.title, d.body, d.provenance, d.content_hash, j.id, j.created_by
        FROM jsonb_to_recordset(coalesce(p_drafts, '[]')) AS d(
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

-- LLM responses by cache key (provider, model, parameters, prompt): a repeated request
-- replays from here and costs no tokens.
CREATE TABLE llm_cache (
    key         text PRIMARY KEY,
    response    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
