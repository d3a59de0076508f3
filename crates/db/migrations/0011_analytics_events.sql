-- Analytics, part one: learner events. Insert-only and partitioned by month on when the
-- event happened, so retention drops whole partitions instead of deleting rows, and a
-- per-course, per-day scan reads one or two partitions. Events name learners (unique
-- learners need it), but only aggregates ever leave the database through the admin APIs.
CREATE TABLE analytics_events (
    id           uuid NOT NULL,
    tenant_id    uuid NOT NULL,
    user_id      uuid NOT NULL,
    course_id    uuid NOT NULL,
    -- The package version the learner was reading, and the lesson's stable id and position
    -- in it (lesson events only).
    version      integer NOT NULL,
    lesson_id    text,
    lesson_index integer,
    type         text NOT NULL,
    -- lesson_time: seconds active on the lesson since the previous heartbeat; quiz events:
    -- the score in percent.
    value        integer,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_events_type_check CHECK (type IN (
        'course_viewed', 'lesson_viewed', 'lesson_completed', 'quiz_attempted', 'quiz_passed',
        'enrolled', 'purchased', 'refunded', 'export_downloaded', 'lesson_time')),
    CONSTRAINT analytics_events_lesson_check CHECK ((lesson_id IS NULL) = (lesson_index IS NULL)),
    CONSTRAINT analytics_events_value_check CHECK (value IS NULL OR value BETWEEN 0 AND 3600)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX analytics_events_course_day_idx ON analytics_events (course_id, occurred_at);
CREATE INDEX analytics_events_received_idx ON analytics_events (received_at);
CREATE TRIGGER analytics_events_no_update_delete BEFORE UPDATE OR DELETE ON analytics_events
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER analytics_events_no_truncate BEFORE TRUNCATE ON analytics_events
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Event ids already stored, so a retried batch stores nothing twice whatever partition its
-- events fall in (a unique key on a partitioned table must include the partition key).
-- Retries come within minutes; ids older than a week are pruned.
CREATE TABLE analytics_event_ids (
    id           uuid PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analytics_event_ids_received_idx ON analytics_event_ids (received_at);

-- The ingest rate limit: batches per person per minute, in PostgreSQL so every replica
-- counts the same. Rows older than an hour are pruned.
CREATE TABLE analytics_ingest_windows (
    user_id       uuid NOT NULL,
    window_start  timestamptz NOT NULL,
    batches       integer NOT NULL,
    PRIMARY KEY (user_id, window_start)
);

CREATE OR REPLACE FUNCTION cw_analytics_partitions(p_from date, p_months integer) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date;
    part text;
BEGIN
    IF p_months < 1 OR p_months > 24 THEN
        RAISE EXCEPTION 'cw_analytics_partitions: between 1 and 24 months at a time, not %', p_months;
    END IF;
    FOR i IN 0 .. p_months - 1 LOOP
        m := (date_trunc('month', p_from) + make_interval(months => i))::date;
        part := format('analytics_events_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF analytics_events FOR VALUES FROM (%L) TO (%L)',
                part, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
            RETURN NEXT part;
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION cw_analytics_drop_partitions(p_before timestamptz, p_dry_run boolean) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.relname AS name,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'analytics_events'::regclass
        ORDER BY c.relname
    LOOP
        IF r.upper <= p_before THEN
            IF NOT p_dry_run THEN
                EXECUTE format('DROP TABLE %I', r.name);
            END IF;
            RETURN NEXT r.name;
        END IF;
    END LOOP;
END
$$;

-- The month before this one (for events that happened just before midnight on its last
-- day), this one and the next two; the scheduled job keeps them ahead from here on.
SELECT cw_analytics_partitions((date_trunc('month', now()) - interval '1 month')::date, 4);
