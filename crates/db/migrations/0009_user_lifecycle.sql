-- People management: deactivation, invitations with one-time set-password links, and the
-- moment of each person's last sign-in. Expand only: a previous release reads none of the
-- new columns, and an invited person's password hash is the hash of a secret no one holds.
ALTER TABLE users
    ADD COLUMN deactivated_at    timestamptz,
    ADD COLUMN awaiting_password boolean NOT NULL DEFAULT false,
    ADD COLUMN last_sign_in_at   timestamptz;

-- A tenant's active admins, which the last-admin guard locks before a demotion.
CREATE INDEX users_active_role_idx ON users (tenant_id, role) WHERE deactivated_at IS NULL;

-- One-time links to set a password. Only a SHA-256 of the token is stored, so a copy of
-- this table sets no one's password. A link is used once (used_at), and issuing another
-- for the same person deletes the unused ones.
CREATE TABLE password_links (
    id_hash     bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    CONSTRAINT password_links_expiry CHECK (expires_at > created_at)
);
CREATE INDEX password_links_user_idx ON password_links (user_id);
