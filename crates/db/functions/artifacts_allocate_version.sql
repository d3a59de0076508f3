-- The live definition of artifacts_allocate_version, last applied by migrations/0006_courses.sql.
-- To change it: edit this file and add a migration with the same CREATE OR REPLACE
-- (CONTRIBUTING.md, "SQL functions"); crates/db/tests/it/functions.rs compares the two.

-- A lineage is (course, kind, ref): the syllabus (ref = the brief id), a lesson or quiz
-- (ref = the lesson's stable id) or a project (ref = the module id). Versions are
-- allocated here, when the inserting transaction runs, under a lock per lineage: a job
-- that ran for minutes never collides with an edit stored meanwhile, and two edits never
-- race for one number. The course comes from the brief or the syllabus when not given.
CREATE OR REPLACE FUNCTION artifacts_allocate_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest record;
BEGIN
    IF NEW.course_id IS NULL THEN
        IF NEW.kind = 'SYLLABUS' THEN
            SELECT id INTO NEW.course_id FROM courses WHERE brief_id = NEW.brief_id;
        ELSE
            SELECT course_id INTO NEW.course_id FROM artifacts WHERE id = NEW.syllabus_id;
        END IF;
    END IF;
    PERFORM pg_advisory_xact_lock(
        hashtextextended('artifact_lineage:' || NEW.course_id || ':' || NEW.kind || ':' || NEW.ref_id, 0));
    SELECT id, lineage_id, version INTO latest FROM artifacts
    WHERE course_id = NEW.course_id AND kind = NEW.kind AND ref_id = NEW.ref_id
    ORDER BY created_at DESC, version DESC LIMIT 1;
    IF FOUND THEN
        NEW.lineage_id := latest.lineage_id;
        SELECT max(version) + 1 INTO NEW.version FROM artifacts WHERE lineage_id = latest.lineage_id;
        NEW.parent_id := coalesce(NEW.parent_id, latest.id);
    ELSE
        NEW.lineage_id := NEW.id;
        NEW.version := 1;
    END IF;
    RETURN NEW;
END
$$;
