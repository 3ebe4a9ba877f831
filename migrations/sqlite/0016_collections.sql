-- Collections: promises to pay, the notes staff keep while chasing an account, and who chases it.

-- A payer's promise to pay some of the account's invoices by a day. While it is open and its
-- day has not passed, those invoices get no reminders. The review job closes it: kept once what
-- was due on its invoices has come down by the promised amount (money settled, not on its way),
-- broken when the day passes first.
CREATE TABLE payment_promises (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    pay_by       TEXT    NOT NULL CHECK (length(pay_by) = 10),
    note         TEXT    NOT NULL DEFAULT '',
    -- 'open', 'kept', 'broken' or 'withdrawn'
    status       TEXT    NOT NULL DEFAULT 'open'
                         CHECK (status IN ('open', 'kept', 'broken', 'withdrawn')),
    made_by      INTEGER NOT NULL REFERENCES users (id),
    made_at      TEXT    NOT NULL,
    -- the address the promise was made from, as the audit log records it
    made_from    TEXT    NOT NULL DEFAULT '',
    closed_on    TEXT,
    -- how much of it had come in when it was closed (settled money only)
    met_minor    INTEGER,
    CHECK ((status = 'open') = (closed_on IS NULL)),
    CHECK ((status = 'open') = (met_minor IS NULL))
);
CREATE INDEX payment_promises_customer ON payment_promises (customer_id, id);
CREATE INDEX payment_promises_open ON payment_promises (pay_by) WHERE status = 'open';

-- The invoices a promise covers, with what was due on each when it was made: the review job
-- measures progress against it.
CREATE TABLE payment_promise_invoices (
    promise_id   INTEGER NOT NULL REFERENCES payment_promises (id),
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    due_minor    INTEGER NOT NULL CHECK (due_minor > 0),
    PRIMARY KEY (promise_id, invoice_id)
);
CREATE INDEX payment_promise_invoices_invoice ON payment_promise_invoices (invoice_id);

-- What staff noted while chasing an account (a call, a letter, what was agreed).
CREATE TABLE collection_notes (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    author_id   INTEGER NOT NULL REFERENCES users (id),
    body        TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at  TEXT    NOT NULL
);
CREATE INDEX collection_notes_customer ON collection_notes (customer_id, id);

-- The clerk who chases the account (NULL: nobody yet).
ALTER TABLE customers ADD COLUMN collector_id INTEGER REFERENCES users (id);
