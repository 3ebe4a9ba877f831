-- Payment plans: the invoices of an account paid in instalments (amounts and dates) instead of
-- by their due dates. Staff offer a plan and a payer accepts it, or a payer asks for one and
-- staff approve it. While a plan is active its instalments are what is due on its invoices.

-- The limits a manager sets for every plan (one row).
CREATE TABLE plan_limits (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    max_instalments INTEGER NOT NULL CHECK (max_instalments BETWEEN 2 AND 60),
    -- the last instalment falls at most this many days after the plan is proposed
    max_days        INTEGER NOT NULL CHECK (max_days BETWEEN 14 AND 1100),
    -- an instalment this many days late breaks the plan
    grace_days      INTEGER NOT NULL CHECK (grace_days BETWEEN 0 AND 30),
    updated_by      INTEGER REFERENCES users (id),
    updated_at      TEXT
);
INSERT INTO plan_limits (id, max_instalments, max_days, grace_days) VALUES (1, 12, 365, 5);

CREATE TABLE payment_plans (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    -- what was due on its invoices when it was proposed: the instalments add up to it
    total_minor   INTEGER NOT NULL CHECK (total_minor > 0),
    status        TEXT    NOT NULL CHECK (status IN
                  ('offered', 'requested', 'active', 'completed', 'broken', 'declined', 'withdrawn')),
    note          TEXT    NOT NULL DEFAULT '',
    -- staff who offered it, or the payer who asked for it
    proposed_by   INTEGER NOT NULL REFERENCES users (id),
    proposed_at   TEXT    NOT NULL,
    -- the payer who agreed to the instalments, when and from which address
    accepted_by   INTEGER REFERENCES users (id),
    accepted_at   TEXT,
    accepted_from TEXT,
    -- staff who approved a payer's request
    approved_by   INTEGER REFERENCES users (id),
    grace_days    INTEGER NOT NULL CHECK (grace_days >= 0),
    closed_on     TEXT,
    -- how much of it had come in when it closed
    paid_minor    INTEGER,
    CHECK ((status IN ('offered', 'requested', 'active')) = (closed_on IS NULL)),
    CHECK (status <> 'active' OR accepted_at IS NOT NULL)
);
-- One plan at a time per account: a new schedule replaces the old one through staff.
CREATE UNIQUE INDEX payment_plans_one_open ON payment_plans (customer_id)
    WHERE status IN ('offered', 'requested', 'active');

-- The invoices a plan covers, with what was due on each when it was proposed.
CREATE TABLE payment_plan_invoices (
    plan_id     INTEGER NOT NULL REFERENCES payment_plans (id),
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id),
    due_minor   INTEGER NOT NULL CHECK (due_minor > 0),
    PRIMARY KEY (plan_id, invoice_id)
);
CREATE INDEX payment_plan_invoices_invoice ON payment_plan_invoices (invoice_id);

CREATE TABLE payment_plan_instalments (
    plan_id      INTEGER NOT NULL REFERENCES payment_plans (id),
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    due_date     TEXT    NOT NULL CHECK (length(due_date) = 10),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    -- the day its reminder went out: the claim, so one reminder per instalment
    reminded_on  TEXT,
    PRIMARY KEY (plan_id, seq)
);
