-- The live definition of cw_job_meta, last applied by migrations/0005_queue_speed.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- The metadata of a job's audit rows: its kind and target, with `extra`. STABLE, as
-- jsonb_build_object is: an IMMUTABLE wrapper around it could never be inlined, so every
-- call would run the SQL-function executor, planning the body again in each transaction.
CREATE OR REPLACE FUNCTION cw_job_meta(j jobs, extra jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('kind', j.kind, 'targetType', j.target_type, 'targetId', j.target_id) || extra
$$;
