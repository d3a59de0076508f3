-- Execution plane: durable jobs, their immutable outputs, scheduled-job runs and alerts.

CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    kind              text NOT NULL,
    status            text NOT NULL,
    target_type       text NOT NULL,
    target_id         text NOT NULL,
    instruction       jsonb NOT NULL,
    output_ref        text,
    error             jsonb,
    created_by        uuid REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    triggered_by      uuid REFERENCES users (id),
    triggered_at      timestamptz,
    claimed_by        text,
    claim_token       uuid,
    started_at        timestamptz,
    heartbeat_at      timestamptz,
    lease_expires_at  timestamptz,
    finished_at       timestamptz,
    retry_of          uuid REFERENCES jobs (id),
    CONSTRAINT jobs_kind_format CHECK (kind ~ '^[A-Z][A-Z0-9_]*$'),
    CONSTRAINT jobs_status_check
        CHECK (status IN ('REQUESTED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED')),
    CONSTRAINT jobs_running_has_claim
        CHECK (status <> 'RUNNING' OR (claim_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT jobs_completed_has_output CHECK (status <> 'COMPLETED' OR output_ref IS NOT NULL),
    CONSTRAINT jobs_failed_has_error CHECK (status <> 'FAILED' OR error IS NOT NULL)
);
-- A double click creates one job: one live job per kind and target.
CREATE UNIQUE INDEX jobs_one_live_per_target ON jobs (tenant_id, kind, target_type, target_id)
    WHERE status IN ('REQUESTED', 'PENDING', 'RUNNING');
CREATE INDEX jobs_pending_idx ON jobs (created_at, id) WHERE status = 'PENDING';
CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id, created_at DESC, id DESC);
CREATE INDEX jobs_retry_of_idx ON jobs (retry_of) WHERE retry_of IS NOT NULL;

-- Jobs are insert-only but for their lifecycle columns, and status only moves forward:
-- REQUESTED -> PENDING -> RUNNING -> COMPLETED | FAILED. A finished job never changes.
CREATE FUNCTION jobs_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER jobs_guard_update BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_guard_update();
CREATE TRIGGER jobs_no_delete BEFORE DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER jobs_no_truncate BEFORE TRUNCATE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- What a completed job produced: where in the object store, and its hash.
CREATE TABLE job_outputs (
    id            uuid PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES jobs (id),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    path          text NOT NULL,
    content_hash  text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_outputs_job_key UNIQUE (job_id),
    CONSTRAINT job_outputs_path_key UNIQUE (path)
);
CREATE TRIGGER job_outputs_no_update_delete BEFORE UPDATE OR DELETE ON job_outputs
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER job_outputs_no_truncate BEFORE TRUNCATE ON job_outputs
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- One row per scheduled-job period: the insert is the claim, so one replica runs each slot.
CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    job          text NOT NULL,
    slot         text NOT NULL,
    runner       text NOT NULL,
    status       text NOT NULL DEFAULT 'RUNNING',
    dry_run      boolean NOT NULL DEFAULT false,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    duration_ms  bigint,
    error        text,
    detail       jsonb,
    CONSTRAINT job_runs_job_slot_key UNIQUE (job, slot),
    CONSTRAINT job_runs_status_check
        CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'SKIPPED_OVERLAP'))
);
CREATE INDEX job_runs_job_idx ON job_runs (job, started_at DESC);
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

CREATE TABLE alerts (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL,
    job            text NOT NULL,
    summary        text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_to   text[] NOT NULL DEFAULT '{}',
    delivery_error text
);
CREATE INDEX alerts_job_idx ON alerts (job, created_at DESC);

-- The worker's hot paths, one round trip each. Audit rows are written through cw_audit, so
-- an audit failure is caught and reported (audit_ok = false) and never blocks the change.
CREATE FUNCTION cw_job_meta(j jobs, extra jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('kind', j.kind, 'targetType', j.target_type, 'targetId', j.target_id) || extra
$$;

-- Claims the oldest PENDING job: RUNNING, a fresh claim token, a lease.
CREATE FUNCTION cw_claim_job(p_worker text, p_lease_secs float8)
RETURNS TABLE (id uuid, tenant_id uuid, kind text, status text, target_type text, target_id text,
               instruction jsonb, output_ref text, error jsonb, created_by uuid, created_at timestamptz,
               triggered_by uuid, triggered_at timestamptz, claimed_by text, claim_token uuid,
               started_at timestamptz, heartbeat_at timestamptz, lease_expires_at timestamptz,
               finished_at timestamptz, retry_of uuid, audit_ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    meta jsonb;
    ok boolean;
BEGIN
    UPDATE jobs SET status = 'RUNNING', claimed_by = p_worker, claim_token = gen_random_uuid(),
           started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
           lease_expires_at = clock_timestamp() + make_interval(secs => p_lease_secs)
    WHERE jobs.id = (SELECT n.id FROM jobs n WHERE n.status = 'PENDING'
                     ORDER BY n.created_at, n.id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    meta := cw_job_meta(j, jsonb_build_object('worker', p_worker, 'leaseSeconds', p_lease_secs));
    ok := cw_audit(j.tenant_id, NULL, 'REGEN_JOB_LOCKED', 'job', j.id::text, meta);
    ok := cw_audit(j.tenant_id, NULL, 'REGEN_JOB_STARTED', 'job', j.id::text, meta) AND ok;
    RETURN QUERY SELECT j.id, j.tenant_id, j.kind, j.status, j.target_type, j.target_id, j.instruction,
        j.output_ref, j.error, j.created_by, j.created_at, j.triggered_by, j.triggered_at, j.claimed_by,
        j.claim_token, j.started_at, j.heartbeat_at, j.lease_expires_at, j.finished_at, j.retry_of, ok;
END
$$;

-- Completes a job with its output if the claim still holds. NULL: the claim is gone and
-- nothing changed; otherwise whether the audit row was written.
CREATE FUNCTION cw_complete_job(p_id uuid, p_token uuid, p_path text, p_hash text,
                                p_content_type text, p_size bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
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
    RETURN cw_audit(j.tenant_id, NULL, 'REGEN_JOB_COMPLETED', 'job', j.id::text,
        cw_job_meta(j, jsonb_build_object('outputRef', p_path, 'contentHash', p_hash, 'sizeBytes', p_size)));
END
$$;

-- Fails a job with a structured error if the claim still holds; NULL when it does not.
CREATE FUNCTION cw_fail_job(p_id uuid, p_token uuid, p_error jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
BEGIN
    UPDATE jobs SET status = 'FAILED', error = p_error, finished_at = clock_timestamp()
    WHERE jobs.id = p_id AND claim_token = p_token AND status = 'RUNNING'
      AND lease_expires_at > clock_timestamp()
    RETURNING * INTO j;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN cw_audit(j.tenant_id, NULL, 'REGEN_JOB_FAILED', 'job', j.id::text,
        cw_job_meta(j, jsonb_build_object('code', p_error -> 'code')));
END
$$;
