-- Exports of published packages (a PDF book, a SCORM 1.2 package). Packages never change
-- and rendering is deterministic, so each (package hash, format, renderer) is rendered once
-- and its bytes kept in the object store; this table says where. `renderer` names the
-- export code's revision, so a changed template renders afresh instead of serving old bytes.
CREATE TABLE package_exports (
    package_hash  text NOT NULL,
    format        text NOT NULL,
    renderer      text NOT NULL,
    object_path   text NOT NULL,
    -- SHA-256 (hex) of the exported bytes: the strong ETag of every answer that serves them.
    content_hash  text NOT NULL,
    size_bytes    bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (package_hash, format, renderer),
    CONSTRAINT package_exports_format_check CHECK (format IN ('pdf', 'scorm12')),
    CONSTRAINT package_exports_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    CONSTRAINT package_exports_size_check CHECK (size_bytes > 0)
);

-- One row per export served to a person, for the rate limit (3 per user per course per
-- 10 minutes, both formats together). Kept in PostgreSQL so every web replica counts the
-- same; rows older than a day are pruned.
CREATE TABLE export_requests (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id   uuid NOT NULL REFERENCES courses (id),
    format      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT export_requests_format_check CHECK (format IN ('pdf', 'scorm12'))
);
CREATE INDEX export_requests_window_idx ON export_requests (user_id, course_id, at);
