-- The live definition of purchases_guard_update, last applied by migrations/0014_store.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Purchases are insert-only but for one move: PAID → REFUNDED, once, with its time.
CREATE OR REPLACE FUNCTION purchases_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'PAID' OR NEW.status <> 'REFUNDED' OR NEW.refunded_at IS NULL
       OR (to_jsonb(NEW) - ARRAY['status', 'refunded_at'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'refunded_at']) THEN
        RAISE EXCEPTION 'purchases: only PAID → REFUNDED, once (purchase %)', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
