-- The live definition of cw_audit, last applied by migrations/0001_foundation.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Appends one audit row for server-side hot paths (the job functions). A failure is caught
-- (the block is a savepoint), reported as a warning and as `false`, and never blocks the
-- caller's change.
CREATE OR REPLACE FUNCTION cw_audit(p_tenant uuid, p_actor uuid, p_action text, p_entity_type text,
                         p_entity_id text, p_metadata jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (tenant_id, actor_id, action, entity_type, entity_id, metadata)
    VALUES (p_tenant, p_actor, p_action, p_entity_type, p_entity_id, p_metadata);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'audit write failed (%): %', p_action, SQLERRM;
    RETURN false;
END
$$;
