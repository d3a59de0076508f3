-- The live definition of analytics_signals_guard, last applied by migrations/0013_analytics_signals.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

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
