-- The live definition of cw_analytics_expire_signals, last applied by migrations/0013_analytics_signals.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

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
