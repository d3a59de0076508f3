-- Analytics, part two: daily aggregates per course and per lesson, recomputed by a
-- scheduled job for the days that received events since its watermark. Rows of a day are
-- replaced whole in one transaction, so they always equal a fresh computation from the raw
-- events of that day. Only these aggregates (never raw events, never a learner) leave the
-- database through the admin APIs.
CREATE TABLE analytics_course_daily (
    tenant_id        uuid NOT NULL,
    course_id        uuid NOT NULL,
    day              date NOT NULL,
    -- course_viewed and lesson_viewed events.
    views            integer NOT NULL,
    -- Distinct learners with any event that day.
    learners         integer NOT NULL,
    completions      integer NOT NULL,
    active_seconds   bigint NOT NULL,
    -- Distinct learners with reading time that day (the average's denominator).
    active_learners  integer NOT NULL,
    quiz_attempts    integer NOT NULL,
    quiz_passes      integer NOT NULL,
    enrollments      integer NOT NULL,
    purchases        integer NOT NULL,
    refunds          integer NOT NULL,
    exports          integer NOT NULL,
    PRIMARY KEY (course_id, day)
);
CREATE INDEX analytics_course_daily_tenant_idx ON analytics_course_daily (tenant_id, day);

CREATE TABLE analytics_lesson_daily (
    tenant_id        uuid NOT NULL,
    course_id        uuid NOT NULL,
    lesson_id        text NOT NULL,
    -- The lesson's position in the newest version seen that day.
    lesson_index     integer NOT NULL,
    day              date NOT NULL,
    views            integer NOT NULL,
    learners         integer NOT NULL,
    completions      integer NOT NULL,
    active_seconds   bigint NOT NULL,
    active_learners  integer NOT NULL,
    quiz_attempts    integer NOT NULL,
    quiz_passes      integer NOT NULL,
    PRIMARY KEY (course_id, lesson_id, day)
);

-- How far each aggregation has read, by the events' arrival time.
CREATE TABLE analytics_watermarks (
    job            text PRIMARY KEY,
    received_upto  timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Per learner and course, what the funnels and the lesson reach need: merged from each
-- run's new events (OR, union, max), so a re-run changes nothing and the rows outlive the
-- raw events' retention. Never leaves the database: the APIs answer counts.
CREATE TABLE analytics_learner_courses (
    tenant_id        uuid NOT NULL,
    course_id        uuid NOT NULL,
    user_id          uuid NOT NULL,
    viewed           boolean NOT NULL,
    enrolled         boolean NOT NULL,
    purchased        boolean NOT NULL,
    refunded         boolean NOT NULL,
    -- The stable ids of the lessons completed, sorted.
    completed        text[] NOT NULL,
    -- The furthest lesson (1-based) the learner reached: viewed, completed or quizzed.
    furthest_lesson  integer NOT NULL,
    PRIMARY KEY (course_id, user_id)
);
