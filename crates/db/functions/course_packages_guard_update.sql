-- The live definition of course_packages_guard_update, last applied by migrations/0004_publishing.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- BEFORE UPDATE on course_packages: a package is immutable but for its status, which moves
-- once from PUBLISHED to ARCHIVED, and never while it is the active version.
CREATE OR REPLACE FUNCTION course_packages_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
