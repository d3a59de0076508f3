-- The live definition of cw_notify_cache, last applied by migrations/0014_store.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Web processes forget a course's pointer by course id, whatever the scope that moved, and
-- a course's product the same way; a purchase or its refund makes them forget the learner.
CREATE OR REPLACE FUNCTION cw_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('cw_cache', 'session:' || encode(OLD.id_hash, 'hex'));
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('cw_cache', 'user:' || NEW.id);
    ELSIF TG_TABLE_NAME IN ('published_outputs', 'products') THEN
        PERFORM pg_notify('cw_cache', 'course:' || NEW.course_id);
    ELSE
        PERFORM pg_notify('cw_cache', 'learner:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
