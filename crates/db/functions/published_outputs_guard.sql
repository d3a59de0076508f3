-- The live definition of published_outputs_guard, last applied by migrations/0006_courses.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- A pointer may only name a PUBLISHED package of its own course and tenant, may not be
-- deleted, and only the output it names may change (BEFORE INSERT, UPDATE or DELETE).
CREATE OR REPLACE FUNCTION published_outputs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p course_packages;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'published_outputs: a pointer is moved, never removed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.scope, NEW.scope_ref, NEW.tenant_id, NEW.course_id, NEW.id)
                            IS DISTINCT FROM (OLD.scope, OLD.scope_ref, OLD.tenant_id, OLD.course_id, OLD.id) THEN
        RAISE EXCEPTION 'published_outputs: only the output a pointer names may change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.scope = 'COURSE' THEN
        SELECT * INTO p FROM course_packages WHERE id = NEW.package_id;
        IF p.status IS DISTINCT FROM 'PUBLISHED' OR p.tenant_id <> NEW.tenant_id
           OR p.course_id <> NEW.course_id THEN
            RAISE EXCEPTION 'published_outputs: package % is not a PUBLISHED version of course %',
                NEW.package_id, NEW.course_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
