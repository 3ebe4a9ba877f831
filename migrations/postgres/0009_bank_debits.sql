-- Bank debits (ACH, SEPA) through the provider, money in flight, and bank returns.

ALTER TABLE payments DROP CONSTRAINT payments_method_check;
ALTER TABLE payments ADD CONSTRAINT payments_method_check
    CHECK (method IN ('card', 'ach', 'sepa_debit', 'cheque', 'wire', 'cash'));

-- Checkouts opened before this migration reserved nothing; an open one is closed (its provider
-- session may still settle: money is never dropped, the event posts it as before).
UPDATE checkouts SET status = 'expired', failure_message = 'The payment page expired.'
    WHERE status = 'open';
-- open: on the provider's page; processing: a bank debit submitted, not settled yet;
-- returned: a debit that succeeded and came back
ALTER TABLE checkouts DROP CONSTRAINT checkouts_status_check;
ALTER TABLE checkouts ADD CONSTRAINT checkouts_status_check
    CHECK (status IN ('open', 'processing', 'succeeded', 'failed', 'expired', 'returned'));
-- what this checkout adds to invoices.pending_minor while open or processing
-- ('invoice_id:amount_minor' joined by ';'); released once when it leaves those states
ALTER TABLE checkouts ADD COLUMN in_flight TEXT NOT NULL DEFAULT '';
-- an open checkout stops counting as in flight at this time (the provider's session expiry)
ALTER TABLE checkouts ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
-- what the hosted page offers: 'card', 'ach', 'sepa_debit' joined by ','
ALTER TABLE checkouts ADD COLUMN methods TEXT NOT NULL DEFAULT 'card';
-- card, ach or sepa_debit once the provider says how the customer paid
ALTER TABLE checkouts ADD COLUMN method TEXT;
ALTER TABLE checkouts ADD COLUMN payment_intent TEXT;
-- a processing debit's expected settlement date
ALTER TABLE checkouts ADD COLUMN expected_on TEXT;
-- when (the provider's event time, Unix seconds) the latest failure happened: an older
-- "processing" event delivered late does not revive the checkout
ALTER TABLE checkouts ADD COLUMN failed_event_at BIGINT;
-- when the debit was submitted (the provider's event time): an older failure delivered late
-- (a card declined before it) does not end it
ALTER TABLE checkouts ADD COLUMN submitted_event_at BIGINT;
CREATE INDEX checkouts_in_flight ON checkouts (status, expires_at) WHERE status IN ('open', 'processing');
CREATE INDEX checkouts_payment_intent ON checkouts (payment_intent);

-- Money in open checkouts and processing debits: not due (not asked for twice), not cash yet.
ALTER TABLE invoices ADD COLUMN pending_minor BIGINT NOT NULL DEFAULT 0 CHECK (pending_minor >= 0);

-- Every provider dispute as the provider reported it, whether or not its payment is known yet:
-- on a bank debit it is the bank's return, on a card a chargeback. Posting reads it from here,
-- so the payment and its dispute may arrive in either order.
CREATE TABLE provider_disputes (
    dispute_id      TEXT    PRIMARY KEY,
    payment_intent  TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount_minor    BIGINT  NOT NULL CHECK (amount_minor > 0),
    reason          TEXT    NOT NULL,
    opened_on       TEXT    NOT NULL,
    -- 'won' or 'lost' once decided
    outcome         TEXT    CHECK (outcome IN ('won', 'lost')),
    decided_on      TEXT
);
CREATE INDEX provider_disputes_payment_intent ON provider_disputes (payment_intent);

-- A bank debit that came back after it settled: its receipt reversed once.
CREATE TABLE payment_returns (
    payment_id      BIGINT  PRIMARY KEY REFERENCES payments (id),
    dispute_id      TEXT    NOT NULL UNIQUE,
    reason          TEXT    NOT NULL,
    returned_on     TEXT    NOT NULL,
    entry_id        BIGINT  NOT NULL REFERENCES journal_entries (id)
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
    limit_minor     BIGINT  NOT NULL CHECK (limit_minor > 0)
);
ALTER TABLE customers ADD COLUMN card_limit_minor BIGINT CHECK (card_limit_minor > 0);
