-- The course as its own row. Until now a course was one approved syllabus artifact, so
-- approving an edited syllabus made a second, empty course. A course is created with its
-- brief; every syllabus version, every piece of content, every package, the published
-- pointer and everything learners write key on the course id.
--
-- Expand/contract: the columns that named the course by a syllabus id keep their values
-- where they still mean something (a package's `syllabus_id` is the syllabus it was built
-- from; content's `syllabus_id` the syllabus it was generated from) and gain `course_id`.
-- Existing data moves over here, once: a brief becomes a course whose id is its first
-- approved syllabus's id (so links that named that syllabus as the course keep working),
-- or the brief's own id when nothing was approved yet.

CREATE TABLE courses (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    brief_id    uuid NOT NULL REFERENCES briefs (id),
    title       text NOT NULL,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT courses_brief_key UNIQUE (brief_id),
    CONSTRAINT courses_tenant_id_key UNIQUE (tenant_id, id)
);
CREATE INDEX courses_tenant_idx ON courses (tenant_id, created_at DESC, id DESC);
CREATE TRIGGER courses_no_update_delete BEFORE UPDATE OR DELETE ON courses
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER courses_no_truncate BEFORE TRUNCATE ON courses
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

INSERT INTO courses (id, tenant_id, brief_id, title, created_by, created_at)
SELECT coalesce(
           (SELECT a.id FROM artifacts a
             WHERE a.brief_id = b.id AND a.kind = 'SYLLABUS' AND a.status = 'APPROVED'
             ORDER BY a.reviewed_at, a.version LIMIT 1),
           b.id),
       b.tenant_id, b.id, coalesce(nullif(b.body ->> 'title', ''), 'Untitled course'),
       b.created_by, b.created_at
FROM briefs b;

-- Artifacts: syllabi belong to their brief's course, content to its syllabus's.
ALTER TABLE artifacts ADD COLUMN course_id uuid REFERENCES courses (id);
ALTER TABLE artifacts DISABLE TRIGGER artifacts_guard_update;
UPDATE artifacts a SET course_id = c.id FROM courses c
WHERE a.kind = 'SYLLABUS' AND c.brief_id = a.brief_id;
UPDATE artifacts a SET course_id = s.course_id FROM artifacts s
WHERE a.kind <> 'SYLLABUS' AND s.id = a.syllabus_id;
ALTER TABLE artifacts ENABLE TRIGGER artifacts_guard_update;
ALTER TABLE artifacts ALTER COLUMN course_id SET NOT NULL;
CREATE INDEX artifacts_course_idx ON artifacts (course_id, kind, ref_id, version DESC);

-- A lineage is (course, kind, ref): the syllabus (ref = the brief id), a lesson or quiz
-- (ref = the lesson's stable id) or a project (ref = the module id). Versions are
-- allocated here, when the inserting transaction runs, under a lock per lineage: a job
-- that ran for minutes never collides with an edit stored meanwhile, and two edits never
-- race for one number. The course comes from the brief or the syllabus when not given.
CREATE FUNCTION artifacts_allocate_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest record;
BEGIN
    IF NEW.course_id IS NULL THEN
        IF NEW.kind = 'SYLLABUS' THEN
            SELECT id INTO NEW.course_id FROM courses WHERE brief_id = NEW.brief_id;
        ELSE
            SELECT course_id INTO NEW.course_id FROM artifacts WHERE id = NEW.syllabus_id;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(
        hashtextextended('artifact_lineage:' || NEW.course_id || ':' || NEW.kind || ':' || NEW.ref_id, 0));
    SELECT id, lineage_id, version INTO latest FROM artifacts
    WHERE course_id = NEW.course_id AND kind = NEW.kind AND ref_id = NEW.ref_id
    ORDER BY created_at DESC, version DESC LIMIT 1;
    IF FOUND THEN
        NEW.lineage_id := latest.lineage_id;
        SELECT max(version) + 1 INTO NEW.version FROM artifacts WHERE lineage_id = latest.lineage_id;
        NEW.parent_id := coalesce(NEW.parent_id, latest.id);
    ELSE
        NEW.lineage_id := NEW.id;
        NEW.version := 1;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER artifacts_allocate_version BEFORE INSERT ON artifacts
    FOR EACH ROW EXECUTE FUNCTION artifacts_allocate_version();

-- Packages: numbered per course. Versions of one course built from two syllabi before this
-- migration are renumbered in the order they were built.
ALTER TABLE course_packages ADD COLUMN course_id uuid REFERENCES courses (id);
ALTER TABLE course_packages DISABLE TRIGGER course_packages_guard_update;
UPDATE course_packages p SET course_id = s.course_id FROM artifacts s WHERE s.id = p.syllabus_id;
UPDATE course_packages p SET version = n.rn
FROM (SELECT p2.id, row_number() OVER (PARTITION BY p2.course_id ORDER BY s.version, p2.version) AS rn
      FROM course_packages p2 JOIN artifacts s ON s.id = p2.syllabus_id) n
WHERE n.id = p.id AND p.version <> n.rn;
ALTER TABLE course_packages ENABLE TRIGGER course_packages_guard_update;
ALTER TABLE course_packages ALTER COLUMN course_id SET NOT NULL;
ALTER TABLE course_packages DROP CONSTRAINT course_packages_syllabus_version_key;
ALTER TABLE course_packages ADD CONSTRAINT course_packages_course_version_key UNIQUE (course_id, version);
DROP INDEX course_packages_tenant_idx;
CREATE INDEX course_packages_tenant_idx ON course_packages (tenant_id, course_id, version DESC);

-- The pointer: one per (tenant, course, scope, scope_ref). For COURSE scope the ref is the
-- course id; MODULE and LESSON refs are ids within the course.
ALTER TABLE published_outputs ADD COLUMN course_id uuid REFERENCES courses (id);
ALTER TABLE published_outputs DISABLE TRIGGER USER;
UPDATE published_outputs o SET course_id = p.course_id FROM course_packages p WHERE p.id = o.package_id;
-- Two approved syllabi of one course could each have had a pointer: the newest move wins.
DELETE FROM published_outputs o USING published_outputs newer
WHERE o.course_id = newer.course_id AND o.scope = newer.scope AND o.id <> newer.id
  AND (newer.promoted_at, newer.id) > (o.promoted_at, o.id);
UPDATE published_outputs SET scope_ref = course_id::text WHERE scope = 'COURSE';
ALTER TABLE published_outputs ENABLE TRIGGER USER;
ALTER TABLE published_outputs ALTER COLUMN course_id SET NOT NULL;
ALTER TABLE published_outputs DROP CONSTRAINT published_outputs_scope_key;
ALTER TABLE published_outputs ADD CONSTRAINT published_outputs_course_scope_key
    UNIQUE (tenant_id, course_id, scope, scope_ref);
ALTER TABLE published_outputs ADD CONSTRAINT published_outputs_course_ref
    CHECK (scope <> 'COURSE' OR scope_ref = course_id::text);

ALTER TABLE publish_history ADD COLUMN course_id uuid REFERENCES courses (id);
ALTER TABLE publish_history DISABLE TRIGGER publish_history_no_update_delete;
UPDATE publish_history h SET course_id = p.course_id FROM course_packages p WHERE p.id = h.package_id;
UPDATE publish_history SET scope_ref = course_id::text WHERE scope = 'COURSE' AND course_id IS NOT NULL;
ALTER TABLE publish_history ENABLE TRIGGER publish_history_no_update_delete;
CREATE INDEX publish_history_course_idx ON publish_history (tenant_id, course_id, scope, id DESC);

CREATE OR REPLACE FUNCTION published_outputs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p course_packages;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'published_outputs: a pointer is moved, never removed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.scope, NEW.scope_ref, NEW.tenant_id, NEW.course_id, NEW.id)
                            IS DISTINCT FROM (OLD.scope, OLD.scope_ref, OLD.tenant_id, OLD.course_id, OLD.id) THEN
        RAISE EXCEPTION 'published_outputs: only the output a pointer names may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.scope = 'COURSE' THEN
        SELECT * INTO p FROM course_packages WHERE id = NEW.package_id;
        IF p.status IS DISTINCT FROM 'PUBLISHED' OR p.tenant_id <> NEW.tenant_id
           OR p.course_id <> NEW.course_id THEN
            RAISE EXCEPTION 'published_outputs: package % is not a PUBLISHED version of course %',
                NEW.package_id, NEW.course_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION published_outputs_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO publish_history (tenant_id, course_id, scope, scope_ref, output_ref, package_id,
                                 previous_output_ref, promoted_by, promoted_at)
    VALUES (NEW.tenant_id, NEW.course_id, NEW.scope, NEW.scope_ref, NEW.output_ref, NEW.package_id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.output_ref END, NEW.promoted_by, NEW.promoted_at);
    RETURN NULL;
END
$$;

-- Web processes forget a course's pointer by course id, whatever the scope that moved.
CREATE OR REPLACE FUNCTION cw_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('cw_cache', 'session:' || encode(OLD.id_hash, 'hex'));
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('cw_cache', 'user:' || NEW.id);
    ELSIF TG_TABLE_NAME = 'published_outputs' THEN
        PERFORM pg_notify('cw_cache', 'course:' || NEW.course_id);
    ELSE
        PERFORM pg_notify('cw_cache', 'learner:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;

-- What learners write: from a syllabus id to the course. Two enrollments of one learner
-- that now name one course become the earliest; progress keeps the newest state per lesson.
ALTER TABLE lesson_progress DROP CONSTRAINT lesson_progress_user_id_course_id_fkey;
ALTER TABLE quiz_attempts DROP CONSTRAINT quiz_attempts_user_id_course_id_fkey;
ALTER TABLE enrollments DROP CONSTRAINT enrollments_course_id_fkey;
ALTER TABLE lesson_progress DROP CONSTRAINT lesson_progress_course_id_fkey;
ALTER TABLE quiz_attempts DROP CONSTRAINT quiz_attempts_course_id_fkey;

CREATE TEMPORARY TABLE course_of AS
SELECT s.id AS old_id, s.course_id AS new_id FROM artifacts s WHERE s.kind = 'SYLLABUS';

DELETE FROM enrollments e USING enrollments keep, course_of m1, course_of m2
WHERE m1.old_id = e.course_id AND m2.old_id = keep.course_id AND m1.new_id = m2.new_id
  AND keep.user_id = e.user_id AND keep.id <> e.id AND (keep.created_at, keep.id) < (e.created_at, e.id);
UPDATE enrollments e SET course_id = m.new_id FROM course_of m WHERE m.old_id = e.course_id AND m.new_id <> e.course_id;

DELETE FROM lesson_progress lp USING lesson_progress keep, course_of m1, course_of m2
WHERE m1.old_id = lp.course_id AND m2.old_id = keep.course_id AND m1.new_id = m2.new_id
  AND keep.user_id = lp.user_id AND keep.lesson_id = lp.lesson_id AND keep.course_id <> lp.course_id
  AND keep.updated_at > lp.updated_at;
UPDATE lesson_progress lp SET course_id = m.new_id FROM course_of m
WHERE m.old_id = lp.course_id AND m.new_id <> lp.course_id;

ALTER TABLE quiz_attempts DISABLE TRIGGER quiz_attempts_no_update_delete;
UPDATE quiz_attempts q SET course_id = m.new_id FROM course_of m
WHERE m.old_id = q.course_id AND m.new_id <> q.course_id;
ALTER TABLE quiz_attempts ENABLE TRIGGER quiz_attempts_no_update_delete;

DROP TABLE course_of;

ALTER TABLE enrollments ADD CONSTRAINT enrollments_course_id_fkey
    FOREIGN KEY (course_id) REFERENCES courses (id);
ALTER TABLE lesson_progress ADD CONSTRAINT lesson_progress_course_id_fkey
    FOREIGN KEY (course_id) REFERENCES courses (id);
ALTER TABLE quiz_attempts ADD CONSTRAINT quiz_attempts_course_id_fkey
    FOREIGN KEY (course_id) REFERENCES courses (id);
ALTER TABLE lesson_progress ADD CONSTRAINT lesson_progress_user_id_course_id_fkey
    FOREIGN KEY (user_id, course_id) REFERENCES enrollments (user_id, course_id);
ALTER TABLE quiz_attempts ADD CONSTRAINT quiz_attempts_user_id_course_id_fkey
    FOREIGN KEY (user_id, course_id) REFERENCES enrollments (user_id, course_id);

-- Claims the oldest PENDING job, or with `p_only` the oldest of those jobs alone (a command
-- that waits for the jobs it created runs those and nobody else's). RUNNING, a fresh claim
-- token, a lease; the LOCKED and STARTED audit rows in one insert inside one savepoint.
CREATE FUNCTION cw_claim_job(p_worker text, p_lease_secs float8, p_only uuid[])
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
