-- The live definition of cw_analytics_partitions, last applied by migrations/0011_analytics_events.sql.

-- Creates the monthly partitions of analytics_events for `p_months` months from the month
-- of `p_from` (those that are missing) and returns the names it created. Runs with its
-- owner's rights (the runtime role may not create tables), so the scheduled job can keep
-- partitions ahead of time; it creates nothing but analytics_events partitions. Months are
-- UTC months, whatever the session's time zone.
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
