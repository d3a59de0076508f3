-- Money: a product sells access to a course, never its content; a PAID purchase grants that
-- access and a refund withdraws it. A purchase keeps the amount and currency it was paid
-- in, so a later price change alters no past purchase.
CREATE TABLE products (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    course_id    uuid NOT NULL,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- In the currency's minor units (cents; yen for JPY).
    price_cents  bigint NOT NULL CHECK (price_cents BETWEEN 1 AND 100000000),
    -- ISO 4217 (domain::store::Currency names the codes accepted).
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    active       boolean NOT NULL,
    created_by   uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by   uuid REFERENCES users (id),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT products_course_fkey FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id),
    CONSTRAINT products_tenant_id_key UNIQUE (tenant_id, id)
);
-- One active product per course.
CREATE UNIQUE INDEX products_one_active_idx ON products (course_id) WHERE active;
CREATE INDEX products_tenant_idx ON products (tenant_id, created_at DESC, id DESC);

CREATE TABLE purchases (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    user_id       uuid NOT NULL REFERENCES users (id),
    product_id    uuid NOT NULL,
    course_id     uuid NOT NULL,
    amount_cents  bigint NOT NULL CHECK (amount_cents >= 0),
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    provider      text NOT NULL CHECK (provider IN ('manual', 'stripe')),
    -- The provider's reference (a Stripe Checkout Session, a manual grant's own id).
    provider_ref  text NOT NULL CHECK (length(provider_ref) BETWEEN 1 AND 255),
    status        text NOT NULL CHECK (status IN ('PAID', 'REFUNDED')),
    -- Who recorded it: the buyer, or the admin who granted it.
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    refunded_at   timestamptz,
    CONSTRAINT purchases_product_fkey FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id),
    CONSTRAINT purchases_course_fkey FOREIGN KEY (tenant_id, course_id) REFERENCES courses (tenant_id, id),
    CONSTRAINT purchases_provider_ref_key UNIQUE (provider, provider_ref),
    CONSTRAINT purchases_refund_check CHECK ((status = 'REFUNDED') = (refunded_at IS NOT NULL))
);
-- A learner holds at most one PAID purchase of a product: a double purchase stores one.
CREATE UNIQUE INDEX purchases_one_paid_idx ON purchases (user_id, product_id) WHERE status = 'PAID';
CREATE INDEX purchases_tenant_idx ON purchases (tenant_id, created_at DESC, id DESC);
CREATE INDEX purchases_access_idx ON purchases (user_id, course_id) WHERE status = 'PAID';

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
CREATE TRIGGER purchases_guard_update BEFORE UPDATE ON purchases
    FOR EACH ROW EXECUTE FUNCTION purchases_guard_update();
CREATE TRIGGER purchases_no_delete BEFORE DELETE ON purchases
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER purchases_no_truncate BEFORE TRUNCATE ON purchases
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Each refund, with its reason and who made it (none for one the provider reported).
CREATE TABLE refunds (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    purchase_id  uuid NOT NULL REFERENCES purchases (id),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    actor_id     uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT refunds_purchase_key UNIQUE (purchase_id)
);
CREATE TRIGGER refunds_no_update_delete BEFORE UPDATE OR DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION reject_mutation();
CREATE TRIGGER refunds_no_truncate BEFORE TRUNCATE ON refunds
    FOR EACH STATEMENT EXECUTE FUNCTION reject_mutation();

-- Web processes keep each learner's access in memory: a product's change makes them
-- forget the course, a purchase or its refund the learner.
CREATE OR REPLACE FUNCTION cw_notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('cw_cache', 'session:' || encode(OLD.id_hash, 'hex'));
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('cw_cache', 'user:' || NEW.id);
    ELSIF TG_TABLE_NAME IN ('published_outputs', 'products') THEN
        PERFORM pg_notify('cw_cache', 'course:' || NEW.course_id);
    ELSE
        PERFORM pg_notify('cw_cache', 'learner:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER products_notify_cache AFTER INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
CREATE TRIGGER purchases_notify_cache AFTER INSERT OR UPDATE ON purchases
    FOR EACH ROW EXECUTE FUNCTION cw_notify_cache();
