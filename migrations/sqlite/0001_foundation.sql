-- Ledgerport foundation schema (SQLite). Mirrors migrations/postgres/0001_foundation.sql.
-- Money is integer minor units (*_minor); dates are ISO 'YYYY-MM-DD' text; timestamps are
-- RFC 3339 UTC text with a fixed width, so text order is time order.

CREATE TABLE customers (
    id                INTEGER PRIMARY KEY,
    number            TEXT    NOT NULL UNIQUE,
    name              TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency          TEXT    NOT NULL CHECK (length(currency) = 3),
    net_days          INTEGER NOT NULL CHECK (net_days BETWEEN 0 AND 365),
    discount_bp       INTEGER NOT NULL DEFAULT 0 CHECK (discount_bp BETWEEN 0 AND 10000),
    discount_days     INTEGER NOT NULL DEFAULT 0 CHECK (discount_days >= 0),
    credit_limit_minor INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit_minor >= 0),
    created_at        TEXT    NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name  TEXT    NOT NULL,
    password_hash TEXT,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'payer', 'clerk', 'manager')),
    customer_id   INTEGER REFERENCES customers (id),
    created_at    TEXT    NOT NULL,
    disabled_at   TEXT,
    -- customer contacts belong to exactly one customer; staff to none
    CHECK ((role IN ('viewer', 'payer')) = (customer_id IS NOT NULL))
);
CREATE INDEX users_customer ON users (customer_id);

CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers (id),
    number         TEXT    NOT NULL UNIQUE,
    po_number      TEXT,
    currency       TEXT    NOT NULL,
    issue_date     TEXT    NOT NULL,
    due_date       TEXT    NOT NULL CHECK (due_date >= issue_date),
    discount_bp    INTEGER NOT NULL DEFAULT 0,
    discount_until TEXT,
    subtotal_minor INTEGER NOT NULL,
    tax_minor      INTEGER NOT NULL,
    total_minor    INTEGER NOT NULL CHECK (total_minor = subtotal_minor + tax_minor AND total_minor >= 0),
    -- cached from the ledger in the same transaction as every posting; re-verified by ledger health
    open_minor     INTEGER NOT NULL CHECK (open_minor >= 0 AND open_minor <= total_minor),
    voided_at      TEXT,
    created_at     TEXT    NOT NULL
);
CREATE INDEX invoices_customer_due ON invoices (customer_id, due_date);
CREATE INDEX invoices_customer_issue ON invoices (customer_id, issue_date);

CREATE TABLE invoice_lines (
    id               INTEGER PRIMARY KEY,
    invoice_id       INTEGER NOT NULL REFERENCES invoices (id),
    customer_id      INTEGER NOT NULL REFERENCES customers (id),
    line_no          INTEGER NOT NULL CHECK (line_no >= 1),
    description      TEXT    NOT NULL,
    quantity_milli   INTEGER NOT NULL CHECK (quantity_milli > 0),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    discount_bp      INTEGER NOT NULL DEFAULT 0 CHECK (discount_bp BETWEEN 0 AND 10000),
    tax_rate_bp      INTEGER NOT NULL DEFAULT 0 CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    net_minor        INTEGER NOT NULL CHECK (net_minor >= 0),
    tax_minor        INTEGER NOT NULL CHECK (tax_minor >= 0),
    UNIQUE (invoice_id, line_no)
);

-- The chart of accounts (ledger.md). Customer sub-ledgers are journal lines tagged with customer_id.
CREATE TABLE accounts (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('asset', 'liability', 'revenue', 'contra_revenue', 'expense'))
);

CREATE TABLE journal_entries (
    id                 INTEGER PRIMARY KEY,
    business_key       TEXT    NOT NULL UNIQUE,
    kind               TEXT    NOT NULL,
    effective_date     TEXT    NOT NULL,
    posted_at          TEXT    NOT NULL,
    customer_id        INTEGER REFERENCES customers (id),
    reverses_entry_id  INTEGER UNIQUE REFERENCES journal_entries (id),
    memo               TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX journal_entries_customer_date ON journal_entries (customer_id, effective_date);

CREATE TABLE journal_lines (
    id            INTEGER PRIMARY KEY,
    entry_id      INTEGER NOT NULL REFERENCES journal_entries (id),
    account_code  TEXT    NOT NULL REFERENCES accounts (code),
    currency      TEXT    NOT NULL,
    -- signed: debit > 0, credit < 0
    amount_minor  INTEGER NOT NULL CHECK (amount_minor <> 0),
    customer_id   INTEGER REFERENCES customers (id),
    invoice_id    INTEGER REFERENCES invoices (id),
    -- the entry's effective date, repeated so "as of" reports read one table
    effective_date TEXT   NOT NULL
);
CREATE INDEX journal_lines_entry ON journal_lines (entry_id);
CREATE INDEX journal_lines_invoice ON journal_lines (invoice_id, effective_date);
CREATE INDEX journal_lines_customer_account ON journal_lines (customer_id, account_code, effective_date);

-- Posted rows are immutable (ledger invariant 2).
CREATE TRIGGER journal_entries_immutable_update BEFORE UPDATE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
CREATE TRIGGER journal_entries_immutable_delete BEFORE DELETE ON journal_entries
BEGIN SELECT RAISE(ABORT, 'journal entries are append-only'); END;
CREATE TRIGGER journal_lines_immutable_update BEFORE UPDATE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal lines are append-only'); END;
CREATE TRIGGER journal_lines_immutable_delete BEFORE DELETE ON journal_lines
BEGIN SELECT RAISE(ABORT, 'journal lines are append-only'); END;

INSERT INTO accounts (code, name, kind) VALUES
    ('1100', 'Accounts receivable', 'asset'),
    ('1150', 'Stripe clearing', 'asset'),
    ('1000', 'Bank', 'asset'),
    ('1190', 'Allowance for doubtful accounts', 'asset'),
    ('1160', 'Chargebacks receivable', 'asset'),
    ('2100', 'Sales tax payable', 'liability'),
    ('2200', 'Unapplied customer credit', 'liability'),
    ('4000', 'Revenue', 'revenue'),
    ('4900', 'Sales discounts', 'contra_revenue'),
    ('4910', 'Sales returns and allowances', 'contra_revenue'),
    ('6100', 'Payment processing fees', 'expense');
