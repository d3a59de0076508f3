-- Packaging, publishing and delivery: frozen course packages, the one active version per
-- course, its history, and what learners write (enrollments, progress, quiz attempts).

-- A course package: approved content assembled into one frozen JSON document. Insert-only;
-- `status` (PUBLISHED: may be made active; ARCHIVED: withdrawn) is the only column that
-- ever changes, and only from PUBLISHED to ARCHIVED.
CREATE TABLE course_packages (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    -- The course is its approved syllabus.
    syllabus_id   uuid NOT NULL REFERENCES artifacts (id),
    version       integer NOT NULL,
    status        text NOT NULL DEFAULT 'PUBLISHED',
    title         text NOT NULL,
    body          jsonb NOT NULL,
    -- SHA-256 (hex) of the body's canonical JSON, and that JSON's length in bytes.
    content_hash  text NOT NULL,
    size_bytes    integer NOT NULL,
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT course_packages_syllabus_version_key UNIQUE (syllabus_id, version),
    CONSTRAINT course_packages_version_check CHECK (version >= 1),
    CONSTRAINT course_packages_status_check CHECK (status IN ('PUBLISHED', 'ARCHIVED')),
    CONSTRAINT course_packages_size_check CHECK (size_bytes BETWEEN 1 AND 5242880),
    CONSTRAINT course_packages_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX course_packages_tenant_idx ON course_packages (tenant_id, syllabus_id, version DESC);

CREATE FUNCTION course_packages_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'status') THEN
        RAISE EXCEPTION 'course_packages: package % is immutable; only its status may change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT (OLD.status = 'PUBLISHED' AND NEW.status = 'ARCHIVED') THEN
        RAISE EXCEPTION 'course_packages: status may only move from PUBLISHED to ARCHIVED (package %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM published_outputs WHERE package_id = OLD.id) THEN
        RAISE EXCEPTION 'course_packages: package % is the active version and cannot be archived', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

-- The active version of each published scope: exactly one per (scope, scope_ref). Moving
-- it is an UPDATE of this row; a trigger appends every move to publish_history.
CREATE TABLE published_outputs (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    scope        text NOT NULL,
    -- COURSE: the syllabus id; MODULE and LESSON: their stable ids within the course.
    scope_ref    text NOT NULL,
    -- What is active: for COURSE the package id.
    output_ref   text NOT NULL,
    package_id   uuid REFERENCES course_packages (id),
    promoted_by  uuid REFERENCES users (id),
    promoted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT published_outputs_scope_key UNIQUE (scope, scope_ref),
    CONSTRAINT published_outputs_scope_check CHECK (scope IN ('COURSE', 'MODULE', 'LESSON')),
    CONSTRAINT published_outputs_course_package CHECK (
        scope <> 'COURSE' OR (package_id IS NOT NULL AND output_ref = package_id::text))
);
CREATE INDEX published_outputs_tenant_idx ON published_outputs (tenant_id, scope);
CREATE INDEX published_outputs_package_idx ON published_outputs (package_id);

CREATE TRIGGER course_packages_guard_update BEFORE UPDATE ON course_packages
    FOR EACH ROW EXECUTE FUNCTION course_packages_guard_update();
CREATE TRIGGER course_packages_no_delete BEFORE DELETE ON course_packages
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER course_packages_no_truncate BEFORE TRUNCATE ON course_packages
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Every move of a pointer, insert-only.
CREATE TABLE publish_history (
    id                 bigserial PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    scope              text NOT NULL,
    scope_ref          text NOT NULL,
    output_ref         text NOT NULL,
    package_id         uuid REFERENCES course_packages (id),
    previous_output_ref text,
    promoted_by        uuid REFERENCES users (id),
    promoted_at        timestamptz NOT NULL
);
CREATE INDEX publish_history_scope_idx ON publish_history (scope, scope_ref, id DESC);
CREATE TRIGGER publish_history_no_update_delete BEFORE UPDATE OR DELETE ON publish_history
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER publish_history_no_truncate BEFORE TRUNCATE ON publish_history
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- A pointer may only name a PUBLISHED package of its own course and tenant, may not be
-- deleted, and every move is written to publish_history in the same transaction.
CREATE FUNCTION published_outputs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p course_packages;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'published_outputs: a pointer is moved, never removed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.scope, NEW.scope_ref, NEW.tenant_id, NEW.id)
                            IS DISTINCT FROM (OLD.scope, OLD.scope_ref, OLD.tenant_id, OLD.id) THEN
        RAISE EXCEPTION 'published_outputs: only the output a pointer names may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.scope = 'COURSE' THEN
        SELECT * INTO p FROM course_packages WHERE id = NEW.package_id;
        IF p.status IS DISTINCT FROM 'PUBLISHED' OR p.tenant_id <> NEW.tenant_id
           OR p.syllabus_id::text <> NEW.scope_ref THEN
            RAISE EXCEPTION 'published_outputs: package % is not a PUBLISHED version of course %',
                NEW.package_id, NEW.scope_ref
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER published_outputs_guard BEFORE INSERT OR UPDATE OR DELETE ON published_outputs
    FOR EACH ROW EXECUTE FUNCTION published_outputs_guard();

CREATE FUNCTION published_outputs_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO publish_history (tenant_id, scope, scope_ref, output_ref, package_id,
                                 previous_output_ref, promoted_by, promoted_at)
    VALUES (NEW.tenant_id, NEW.scope, NEW.scope_ref, NEW.output_ref, NEW.package_id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.output_ref END, NEW.promoted_by, NEW.promoted_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER published_outputs_history AFTER INSERT OR UPDATE ON published_outputs
    FOR EACH ROW EXECUTE FUNCTION published_outputs_history();

-- A learner's enrollment in a course (its syllabus id), once per learner and course.
CREATE TABLE enrollments (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL REFERENCES users (id),
    course_id   uuid NOT NULL REFERENCES artifacts (id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT enrollments_user_course_key UNIQUE (user_id, course_id)
);
CREATE INDEX enrollments_course_idx ON enrollments (tenant_id, course_id);

-- Progress is keyed to the lesson's stable id, not its position, so it survives new
-- versions of the course wherever the lesson persists.
CREATE TABLE lesson_progress (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    course_id     uuid NOT NULL REFERENCES artifacts (id),
    lesson_id     text NOT NULL,
    completed     boolean NOT NULL,
    -- The package version the learner was reading when they last changed it.
    version       integer NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, course_id, lesson_id),
    FOREIGN KEY (user_id, course_id) REFERENCES enrollments (user_id, course_id)
);

-- Every quiz submission, graded on the server. Insert-only.
CREATE TABLE quiz_attempts (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    user_id      uuid NOT NULL REFERENCES users (id),
    course_id    uuid NOT NULL REFERENCES artifacts (id),
    package_id   uuid NOT NULL REFERENCES course_packages (id),
    lesson_id    text NOT NULL,
    answers      jsonb NOT NULL,
    score        integer NOT NULL,
    total        integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (user_id, course_id) REFERENCES enrollments (user_id, course_id)
);
CREATE INDEX quiz_attempts_user_idx ON quiz_attempts (user_id, course_id, lesson_id, created_at DESC);
CREATE TRIGGER quiz_attempts_no_update_delete BEFORE UPDATE OR DELETE ON quiz_attempts
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();

-- Web processes keep sessions, course pointers and learners' progress in memory; these
-- notifications tell every process what to forget when the rows behind them change.
CREATE FUNCTION cw_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('cw_cache', 'session:' || encode(OLD.id_hash, 'hex'));
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('cw_cache', 'user:' || NEW.id);
    ELSIF TG_TABLE_NAME = 'published_outputs' THEN
        PERFORM pg_notify('cw_cache', 'course:' || NEW.scope_ref);
    ELSE
        PERFORM pg_notify('cw_cache', 'learner:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_notify_cache AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
CREATE TRIGGER users_notify_cache AFTER UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
CREATE TRIGGER published_outputs_notify_cache AFTER INSERT OR UPDATE ON published_outputs
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
CREATE TRIGGER enrollments_notify_cache AFTER INSERT ON enrollments
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
CREATE TRIGGER lesson_progress_notify_cache AFTER INSERT OR UPDATE ON lesson_progress
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
