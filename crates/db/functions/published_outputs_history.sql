-- The live definition of published_outputs_history, last applied by migrations/0006_courses.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- AFTER INSERT or UPDATE on published_outputs: every move of a pointer is written to
-- publish_history in the same transaction.
CREATE OR REPLACE FUNCTION published_outputs_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO publish_history (tenant_id, course_id, scope, scope_ref, output_ref, package_id,
                                 previous_output_ref, promoted_by, promoted_at)
    VALUES (NEW.tenant_id, NEW.course_id, NEW.scope, NEW.scope_ref, NEW.output_ref, NEW.package_id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.output_ref END, NEW.promoted_by, NEW.promoted_at);
    RETURN NULL;
END
$$;
