-- Stripe's payouts to the company's bank account. `payout.paid` posts Dr Bank (what arrives),
-- Dr Processing fees (the fees of the balance transactions it carries), Cr Stripe clearing; a
-- payout that fails after it was paid is reversed for its amount (the fees stay incurred). The
-- bank statement line that brought it is linked here (its status 'matched', reason 'payout').
CREATE TABLE payouts (
    id              TEXT    PRIMARY KEY,
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    -- what the bank receives (negative: Stripe debits the account)
    amount_minor    INTEGER NOT NULL CHECK (amount_minor <> 0),
    -- net of fees refunded (a won dispute's fee comes back): may be below zero
    fees_minor      INTEGER NOT NULL DEFAULT 0,
    -- the balance transactions it carries (charges, refunds, disputes)
    transactions    INTEGER NOT NULL DEFAULT 0,
    arrival_on      TEXT    NOT NULL,
    -- 'paid', or 'failed' (before or after it was paid); failure is the provider's code
    status          TEXT    NOT NULL CHECK (status IN ('paid', 'failed')),
    failure         TEXT    NOT NULL DEFAULT '',
    failed_on       TEXT,
    paid_entry_id   INTEGER REFERENCES journal_entries (id),
    failed_entry_id INTEGER REFERENCES journal_entries (id),
    bank_line_id    INTEGER UNIQUE REFERENCES bank_lines (id),
    recorded_at     TEXT    NOT NULL
);
CREATE INDEX payouts_waiting_for_line ON payouts (currency, amount_minor) WHERE bank_line_id IS NULL;
CREATE INDEX payouts_arrival ON payouts (arrival_on);

-- The offline sandbox's balance (it plays Stripe): one row per balance transaction, paid out
-- together by its payout run, as Stripe's automatic payouts do.
CREATE TABLE sandbox_balance_transactions (
    id              TEXT    PRIMARY KEY,
    -- the charge, refund or dispute it comes from: each is on the balance once
    source          TEXT    NOT NULL UNIQUE,
    -- Stripe's types: 'charge', 'payment' (a bank debit), 'refund', 'adjustment' (a dispute)
    type            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL,
    fee_minor       INTEGER NOT NULL,
    available_at    TEXT    NOT NULL,
    payout_id       TEXT
);
CREATE INDEX sandbox_balance_unpaid ON sandbox_balance_transactions (currency) WHERE payout_id IS NULL;
CREATE INDEX sandbox_balance_payout ON sandbox_balance_transactions (payout_id);
-- Bank lines a payout may still claim: by currency and exact amount.
CREATE INDEX bank_lines_unposted_amount ON bank_lines (currency, amount_minor) WHERE status <> 'matched';
