-- Bank debits (ACH, SEPA) through the provider, money in flight, and bank returns.
-- SQLite cannot change a CHECK constraint in place: `payments` (new method 'sepa_debit') and
-- `checkouts` (new statuses) are rebuilt (new table, copy, drop, rename). Foreign keys that
-- point at `payments` are checked at the commit instead of at the drop, when the rebuilt table
-- already answers them under the old name (the pragma ends with the migration's transaction).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE payments_rebuilt (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    business_key    TEXT    NOT NULL UNIQUE,
    method          TEXT    NOT NULL
                    CHECK (method IN ('card', 'ach', 'sepa_debit', 'cheque', 'wire', 'cash')),
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    request         TEXT    NOT NULL,
    received_date   TEXT    NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES journal_entries (id),
    created_at      TEXT    NOT NULL
);
INSERT INTO payments_rebuilt SELECT id, customer_id, business_key, method, currency, amount_minor,
    request, received_date, entry_id, created_at FROM payments;
DROP TABLE payments;
ALTER TABLE payments_rebuilt RENAME TO payments;
CREATE INDEX payments_customer_date ON payments (customer_id, received_date);

CREATE TABLE checkouts_rebuilt (
    id                  TEXT    PRIMARY KEY,
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    user_id             INTEGER NOT NULL REFERENCES users (id),
    provider            TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor > 0),
    allocations         TEXT    NOT NULL,
    -- open: on the provider's page; processing: a bank debit submitted, not settled yet;
    -- returned: a debit that succeeded and came back
    status              TEXT    NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'processing', 'succeeded', 'failed', 'expired', 'returned')),
    provider_session_id TEXT,
    failure_message     TEXT    NOT NULL DEFAULT '',
    payment_id          INTEGER REFERENCES payments (id),
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    -- what this checkout adds to invoices.pending_minor while open or processing
    -- ('invoice_id:amount_minor' joined by ';'); released once when it leaves those states
    in_flight           TEXT    NOT NULL DEFAULT '',
    -- an open checkout stops counting as in flight at this time (the provider's session expiry)
    expires_at          TEXT    NOT NULL DEFAULT '',
    -- what the hosted page offers: 'card', 'ach', 'sepa_debit' joined by ','
    methods             TEXT    NOT NULL DEFAULT 'card',
    -- card, ach or sepa_debit once the provider says how the customer paid
    method              TEXT,
    payment_intent      TEXT,
    -- a processing debit's expected settlement date
    expected_on         TEXT,
    -- when (the provider's event time, Unix seconds) the latest failure happened: an older
    -- "processing" event delivered late does not revive the checkout
    failed_event_at     INTEGER,
    -- when the debit was submitted (the provider's event time): an older failure delivered late
    -- (a card declined before it) does not end it
    submitted_event_at  INTEGER
);
-- Checkouts opened before this migration reserved nothing; an open one is closed (its provider
-- session may still settle: money is never dropped, the event posts it as before).
INSERT INTO checkouts_rebuilt (id, customer_id, user_id, provider, currency, amount_minor,
    allocations, status, provider_session_id, failure_message, payment_id, created_at, updated_at)
SELECT id, customer_id, user_id, provider, currency, amount_minor, allocations,
    CASE status WHEN 'open' THEN 'expired' ELSE status END, provider_session_id,
    CASE status WHEN 'open' THEN 'The payment page expired.' ELSE failure_message END,
    payment_id, created_at, updated_at FROM checkouts;
DROP TABLE checkouts;
ALTER TABLE checkouts_rebuilt RENAME TO checkouts;
CREATE INDEX checkouts_customer ON checkouts (customer_id, created_at);
CREATE INDEX checkouts_in_flight ON checkouts (status, expires_at) WHERE status IN ('open', 'processing');
CREATE INDEX checkouts_payment_intent ON checkouts (payment_intent);

-- Money in open checkouts and processing debits: not due (not asked for twice), not cash yet.
ALTER TABLE invoices ADD COLUMN pending_minor INTEGER NOT NULL DEFAULT 0 CHECK (pending_minor >= 0);

-- Every provider dispute as the provider reported it, whether or not its payment is known yet:
-- on a bank debit it is the bank's return, on a card a chargeback. Posting reads it from here,
-- so the payment and its dispute may arrive in either order.
CREATE TABLE provider_disputes (
    dispute_id      TEXT    PRIMARY KEY,
    payment_intent  TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    reason          TEXT    NOT NULL,
    opened_on       TEXT    NOT NULL,
    -- 'won' or 'lost' once decided
    outcome         TEXT    CHECK (outcome IN ('won', 'lost')),
    decided_on      TEXT
);
CREATE INDEX provider_disputes_payment_intent ON provider_disputes (payment_intent);

-- A bank debit that came back after it settled: its receipt reversed once.
CREATE TABLE payment_returns (
    payment_id      INTEGER PRIMARY KEY REFERENCES payments (id),
    dispute_id      TEXT    NOT NULL UNIQUE,
    reason          TEXT    NOT NULL,
    returned_on     TEXT    NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES journal_entries (id)
);

-- The offline sandbox's bank debits (it plays the provider): each settles, fails or is returned
-- when its time comes, or when a test settles it now.
CREATE TABLE sandbox_debits (
    payment_intent  TEXT    PRIMARY KEY,
    checkout_id     TEXT    NOT NULL REFERENCES checkouts (id),
    -- what the test account number decides: 'succeeds', 'fails', 'returned', 'stays'
    outcome         TEXT    NOT NULL CHECK (outcome IN ('succeeds', 'fails', 'returned', 'stays')),
    -- the provider's failure or return code for 'fails' and 'returned'
    code            TEXT    NOT NULL DEFAULT '',
    settles_at      TEXT    NOT NULL,
    settled_at      TEXT
);

-- The largest payment accepted by card, per currency (a global default) and per customer;
-- above it only bank methods are offered. No row / NULL: no limit.
CREATE TABLE card_limits (
    currency        TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    limit_minor     INTEGER NOT NULL CHECK (limit_minor > 0)
);
ALTER TABLE customers ADD COLUMN card_limit_minor INTEGER CHECK (card_limit_minor > 0);

