-- Payments with their allocations, credit memos against invoice lines, write-offs and refunds.
-- Every money movement here also has a journal entry with the same business key.

CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    business_key    TEXT    NOT NULL UNIQUE,
    method          TEXT    NOT NULL CHECK (method IN ('card', 'ach', 'cheque', 'wire', 'cash')),
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    -- the request in canonical text, so a replay with other content is recognised
    request         TEXT    NOT NULL,
    received_date   TEXT    NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES journal_entries (id),
    created_at      TEXT    NOT NULL
);
CREATE INDEX payments_customer_date ON payments (customer_id, received_date);

-- Where cash (or unapplied credit) went: one row per invoice it settled.
CREATE TABLE allocations (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    invoice_id      INTEGER NOT NULL REFERENCES invoices (id),
    payment_id      INTEGER REFERENCES payments (id),
    entry_id        INTEGER NOT NULL REFERENCES journal_entries (id),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    discount_minor  INTEGER NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
    applied_date    TEXT    NOT NULL,
    CHECK (amount_minor + discount_minor > 0)
);
CREATE INDEX allocations_invoice ON allocations (invoice_id);
CREATE INDEX allocations_payment ON allocations (payment_id);

-- Credit memos, write-offs and refunds: adjustments that are not cash receipts.
CREATE TABLE adjustments (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    invoice_id      INTEGER REFERENCES invoices (id),
    business_key    TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL CHECK (kind IN ('credit_memo', 'write_off', 'refund', 'void')),
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    reason          TEXT    NOT NULL DEFAULT '',
    request         TEXT    NOT NULL,
    effective_date  TEXT    NOT NULL,
    entry_id        INTEGER NOT NULL REFERENCES journal_entries (id),
    created_at      TEXT    NOT NULL
);
CREATE INDEX adjustments_customer ON adjustments (customer_id, effective_date);
CREATE INDEX adjustments_invoice ON adjustments (invoice_id);

-- The part of a credit memo that credits each invoice line.
CREATE TABLE adjustment_lines (
    id               INTEGER PRIMARY KEY,
    adjustment_id    INTEGER NOT NULL REFERENCES adjustments (id),
    invoice_line_id  INTEGER NOT NULL REFERENCES invoice_lines (id),
    amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0)
);
CREATE INDEX adjustment_lines_line ON adjustment_lines (invoice_line_id);

CREATE INDEX journal_lines_account ON journal_lines (account_code, effective_date);
CREATE INDEX journal_entries_effective ON journal_entries (effective_date);
CREATE INDEX invoices_open_due ON invoices (due_date) WHERE open_minor > 0;
CREATE INDEX invoices_customer_open ON invoices (customer_id, due_date) WHERE open_minor > 0;
