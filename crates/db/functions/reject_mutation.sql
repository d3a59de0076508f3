-- The live definition of reject_mutation, last applied by migrations/0001_foundation.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- Shared by every insert-only table: refuse the statement, naming the table.
CREATE OR REPLACE FUNCTION reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is insert-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
