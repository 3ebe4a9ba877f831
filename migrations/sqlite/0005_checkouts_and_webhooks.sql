-- Online payments: one row per hand-off to the payment provider, and every provider event seen.

CREATE TABLE checkouts (
    -- our payment id ('lp_' + 24 hex), carried in the provider's metadata
    id                  TEXT    PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    user_id             INTEGER NOT NULL REFERENCES users (id),
    provider            TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    -- the reviewed allocation, canonical: 'invoice_id:amount_minor' joined by ';'
    allocations         TEXT    NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'succeeded', 'failed', 'expired')),
    provider_session_id TEXT,
    failure_message     TEXT    NOT NULL DEFAULT '',
    payment_id          INTEGER REFERENCES payments (id),
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX checkouts_customer ON checkouts (customer_id, created_at);

CREATE TABLE webhook_events (
    -- the provider's event id: each event is acted on once, in the transaction that posts it
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    outcome      TEXT NOT NULL
);
