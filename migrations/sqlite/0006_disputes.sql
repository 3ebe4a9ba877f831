-- Line-item disputes: the customer's claim on invoice lines, the conversation, the evidence and
-- every transition. While a dispute is active its amount is held out of what is due now.

-- Cached: the amount under active disputes on this invoice, written with every transition.
ALTER TABLE invoices ADD COLUMN held_minor INTEGER NOT NULL DEFAULT 0 CHECK (held_minor >= 0);

-- Card disputes the bank decides against us.
INSERT INTO accounts (code, name, kind) VALUES ('6200', 'Chargeback losses', 'expense');

CREATE TABLE disputes (
    id                       INTEGER PRIMARY KEY,
    customer_id              INTEGER NOT NULL REFERENCES customers (id),
    invoice_id               INTEGER NOT NULL REFERENCES invoices (id),
    status                   TEXT    NOT NULL CHECK (status IN
                             ('open', 'in_review', 'proposed', 'credited', 'rejected', 'withdrawn')),
    currency                 TEXT    NOT NULL,
    disputed_minor           INTEGER NOT NULL CHECK (disputed_minor > 0),
    credited_minor           INTEGER NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
    opened_by                INTEGER NOT NULL REFERENCES users (id),
    assignee_id              INTEGER REFERENCES users (id),
    opened_at                TEXT    NOT NULL,
    last_customer_message_at TEXT    NOT NULL,
    status_changed_at        TEXT    NOT NULL,
    closed_at                TEXT,
    adjustment_id            INTEGER REFERENCES adjustments (id)
);
CREATE INDEX disputes_customer ON disputes (customer_id, opened_at);
CREATE INDEX disputes_invoice ON disputes (invoice_id);
CREATE INDEX disputes_status ON disputes (status, opened_at);

CREATE TABLE dispute_lines (
    id              INTEGER PRIMARY KEY,
    dispute_id      INTEGER NOT NULL REFERENCES disputes (id),
    invoice_line_id INTEGER NOT NULL REFERENCES invoice_lines (id),
    reason          TEXT    NOT NULL CHECK (reason IN
                    ('price', 'quantity', 'damaged', 'not_received', 'duplicate', 'tax', 'other')),
    amount_minor    INTEGER NOT NULL CHECK (amount_minor > 0),
    -- what AR proposes to credit on this line (0 until a proposal)
    proposed_minor  INTEGER NOT NULL DEFAULT 0 CHECK (proposed_minor >= 0 AND proposed_minor <= amount_minor),
    UNIQUE (dispute_id, invoice_line_id)
);
CREATE INDEX dispute_lines_line ON dispute_lines (invoice_line_id);

CREATE TABLE dispute_messages (
    id          INTEGER PRIMARY KEY,
    dispute_id  INTEGER NOT NULL REFERENCES disputes (id),
    author_id   INTEGER NOT NULL REFERENCES users (id),
    -- 'customer' and 'staff' messages are read by both sides; 'internal' notes by staff only
    visibility  TEXT    NOT NULL CHECK (visibility IN ('customer', 'staff', 'internal')),
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE INDEX dispute_messages_dispute ON dispute_messages (dispute_id, id);

CREATE TABLE dispute_attachments (
    id           INTEGER PRIMARY KEY,
    dispute_id   INTEGER NOT NULL REFERENCES disputes (id),
    message_id   INTEGER NOT NULL REFERENCES dispute_messages (id),
    file_name    TEXT    NOT NULL,
    -- sniffed from the content, never taken from the upload's name or header
    content_type TEXT    NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes   INTEGER NOT NULL CHECK (size_bytes > 0),
    content      BLOB    NOT NULL,
    created_at   TEXT    NOT NULL
);
CREATE INDEX dispute_attachments_dispute ON dispute_attachments (dispute_id);

CREATE TABLE dispute_transitions (
    id          INTEGER PRIMARY KEY,
    dispute_id  INTEGER NOT NULL REFERENCES disputes (id),
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    actor_id    INTEGER NOT NULL REFERENCES users (id),
    note        TEXT    NOT NULL DEFAULT '',
    at          TEXT    NOT NULL
);
CREATE INDEX dispute_transitions_dispute ON dispute_transitions (dispute_id, id);
