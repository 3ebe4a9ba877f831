-- The staff workspace: billing contacts, payment reminders, outbox delivery, ERP API keys and
-- CSV imports of invoices.

-- Addresses that receive an account's receipts and reminders besides its signed-in contacts.
CREATE TABLE billing_contacts (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    email       TEXT    NOT NULL CHECK (email = lower(email)),
    created_at  TEXT    NOT NULL,
    UNIQUE (customer_id, email)
);

-- One row per reminder step per invoice: the unique key is what makes two server instances
-- running the reminder job send each reminder once.
CREATE TABLE reminders (
    id          INTEGER PRIMARY KEY,
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id),
    -- days relative to the due date: -3 is three days before, 7 is a week overdue
    step_days   INTEGER NOT NULL,
    sent_on     TEXT    NOT NULL,
    due_minor   INTEGER NOT NULL CHECK (due_minor > 0),
    recipients  INTEGER NOT NULL,
    UNIQUE (invoice_id, step_days)
);

-- Delivery: a sender claims a queued message until this time (a lease), so two instances never
-- send one message at once; a failed attempt sets the time of the next one.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    label        TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    -- SHA-256 of the secret (hex); the key itself is shown once and never stored
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE invoice_imports (
    id           INTEGER PRIMARY KEY,
    file_name    TEXT    NOT NULL,
    content      TEXT    NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES users (id),
    created_at   TEXT    NOT NULL,
    committed_at TEXT,
    issued       INTEGER NOT NULL DEFAULT 0
);
