-- Analytics, part three: rule-based signals (domain::analytics::signals), found per course
-- and settled ISO week by a scheduled job. Insert-only: one row per (course, type, target,
-- window), so a re-run adds nothing; a row is never changed, and deleted only by retention
-- once its window ended over a year ago.
CREATE TABLE analytics_signals (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    course_id     uuid NOT NULL REFERENCES courses (id),
    type          text NOT NULL CHECK (type IN (
                      'HIGH_DROP_OFF', 'LOW_QUIZ_PASS_RATE', 'LOW_COMPLETION', 'HIGH_REFUND_RATE')),
    target_kind   text NOT NULL CHECK (target_kind IN ('COURSE', 'MODULE', 'LESSON', 'QUIZ')),
    -- A lesson's stable id (a quiz's lesson for a quiz), or 'course'.
    target_ref    text NOT NULL CHECK (length(target_ref) BETWEEN 1 AND 200),
    -- The window's days: [window_start, window_end).
    window_start  date NOT NULL,
    window_end    date NOT NULL,
    severity      text NOT NULL CHECK (severity IN ('MEDIUM', 'HIGH')),
    -- The numbers that triggered it and the thresholds they crossed.
    evidence      jsonb NOT NULL CHECK (jsonb_typeof(evidence) = 'object'),
    -- The active version the numbers were read against.
    version       integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (window_end > window_start),
    UNIQUE (course_id, type, target_kind, target_ref, window_start, window_end)
);
CREATE INDEX analytics_signals_tenant_course_idx ON analytics_signals (tenant_id, course_id, window_end DESC);

-- Signals are never changed; retention deletes a signal only once its window ended over a
-- year ago.
CREATE OR REPLACE FUNCTION analytics_signals_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.window_end < (now() AT TIME ZONE 'UTC')::date - 365 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'analytics_signals is insert-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER analytics_signals_guard BEFORE UPDATE OR DELETE ON analytics_signals
    FOR EACH ROW EXECUTE FUNCTION analytics_signals_guard();
CREATE TRIGGER analytics_signals_no_truncate BEFORE TRUNCATE ON analytics_signals
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Retention for signals, with its owner's rights (the runtime role may not delete them):
-- deletes the signals whose window ended over a year ago and answers how many; with
-- `p_dry_run` it only counts them.
CREATE OR REPLACE FUNCTION cw_analytics_expire_signals(p_dry_run boolean) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
BEGIN
    IF p_dry_run THEN
        SELECT count(*) INTO n FROM analytics_signals WHERE window_end < (now() AT TIME ZONE 'UTC')::date - 365;
    ELSE
        DELETE FROM analytics_signals WHERE window_end < (now() AT TIME ZONE 'UTC')::date - 365;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    RETURN n;
END
$$;
