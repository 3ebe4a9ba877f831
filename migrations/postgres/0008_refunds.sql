-- Card refunds started by staff in the portal. The row is written (reserving the amount) before
-- the provider is asked; the ledger moves only when the provider's signed charge.refunded event
-- arrives. A failed request no longer reserves anything.
CREATE TABLE refund_requests (
    -- 'rf_' + 24 hex; also the provider idempotency key's suffix
    id                  TEXT    PRIMARY KEY,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    currency            TEXT    NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    reason              TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    status              TEXT    NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'sent', 'failed')),
    provider_refund_id  TEXT,
    failure_message     TEXT    NOT NULL DEFAULT '',
    requested_by BIGINT NOT NULL REFERENCES users (id),
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX refund_requests_payment ON refund_requests (payment_id);
