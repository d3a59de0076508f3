-- Foundation: tenants, users, sessions, login throttling and the hash-chained audit log.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$')
);

CREATE TABLE users (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    email              text NOT NULL,
    display_name       text NOT NULL DEFAULT '',
    password_hash      text NOT NULL,
    role               text NOT NULL,
    is_platform_owner  boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lower CHECK (email = lower(email)),
    CONSTRAINT users_role_check CHECK (role IN ('ADMIN', 'REVIEWER', 'LEARNER'))
);
CREATE INDEX users_tenant_idx ON users (tenant_id, created_at);

-- Only a SHA-256 of the cookie value is stored, so a copy of this table opens no session.
CREATE TABLE sessions (
    id_hash       bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Failed logins per key ('account:<email>' or 'ip:<address>'), for back-off.
CREATE TABLE login_throttle (
    key               text PRIMARY KEY,
    failures          integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until      timestamptz
);

-- The audit log. Writers only insert (no lock, so audited transactions never queue behind
-- each other); the sealer then appends each committed row to audit_chain in commit order,
-- hash-chained. `xid` is the writing transaction, so the sealer knows which rows can no
-- longer be joined by an earlier-numbered row still in flight.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid REFERENCES tenants (id),
    actor_id     uuid,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text,
    metadata     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT audit_log_action_format CHECK (action ~ '^[A-Z][A-Z0-9_]*$')
);
CREATE INDEX audit_log_xid_idx ON audit_log (xid);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (tenant_id, action, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (tenant_id, actor_id, id DESC);
CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity_type, entity_id, id DESC);

-- The hash chain: one row per sealed audit row, in sealing order. Each hash covers the
-- previous hash and a canonical encoding of the audit row, so an altered, removed or
-- reordered row breaks every hash after it.
CREATE TABLE audit_chain (
    seq        bigint PRIMARY KEY,
    audit_id   bigint NOT NULL REFERENCES audit_log (id),
    prev_hash  text NOT NULL,
    hash       text NOT NULL,
    sealed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT audit_chain_audit_key UNIQUE (audit_id),
    CONSTRAINT audit_chain_prev_hash_key UNIQUE (prev_hash),
    CONSTRAINT audit_chain_hash_key UNIQUE (hash)
);

-- Every transaction older than this had finished when the last seal ran, so all of its
-- audit rows are sealed.
CREATE TABLE audit_seal_state (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    sealed_below  xid8 NOT NULL
);
INSERT INTO audit_seal_state (sealed_below) VALUES ('0'::xid8);

-- Shared by every insert-only table: refuse the statement, naming the table.
CREATE FUNCTION reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is insert-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER audit_chain_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER audit_chain_no_truncate
    BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Appends one audit row for server-side hot paths (the job functions). A failure is caught
-- (the block is a savepoint), reported as a warning and as `false`, and never blocks the
-- caller's change.
CREATE FUNCTION cw_audit(p_tenant uuid, p_actor uuid, p_action text, p_entity_type text,
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
