-- The live definition of artifacts_guard_update, last applied by migrations/0003_content.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- BEFORE UPDATE on artifacts: a DRAFT is approved or rejected once, changing only its review
-- columns; an approved or rejected artifact never changes.
CREATE OR REPLACE FUNCTION artifacts_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'DRAFT' THEN
        RAISE EXCEPTION 'artifacts: % % is % and immutable', OLD.kind, OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status NOT IN ('APPROVED', 'REJECTED')
       OR (to_jsonb(NEW) - ARRAY['status', 'reviewed_by', 'reviewed_at', 'review_note'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'reviewed_by', 'reviewed_at', 'review_note']) THEN
        RAISE EXCEPTION 'artifacts: a draft may only be approved or rejected (artifact %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
