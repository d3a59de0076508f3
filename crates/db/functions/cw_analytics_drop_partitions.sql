-- The live definition of cw_analytics_drop_partitions, last applied by migrations/0011_analytics_events.sql.

-- Retention for raw events: drops every monthly partition of analytics_events that ends on
-- or before `p_before` (whole months only, so no event younger than that goes) and returns
-- the names dropped; with `p_dry_run` it only names them. Runs with its owner's rights and
-- touches nothing but analytics_events partitions.
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
