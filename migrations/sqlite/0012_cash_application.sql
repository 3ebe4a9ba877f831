-- Cash application: staff can split one bank line over several customers (one payment each), so
-- the link moves from the line to its payments (`bank_line_payments`); a short payment can open
-- a case on the invoice (`disputes.bank_line_id`) or be written off under a manager-set
-- tolerance per currency (`write_off_tolerances`).
-- SQLite cannot drop a column that is a foreign key: `bank_lines` is rebuilt (new table, copy,
-- drop, rename); foreign keys are checked at the commit (the pragma ends with the transaction).
PRAGMA defer_foreign_keys = ON;

CREATE TABLE bank_line_payments (
    payment_id      INTEGER PRIMARY KEY REFERENCES payments (id),
    line_id         INTEGER NOT NULL REFERENCES bank_lines (id)
);
INSERT INTO bank_line_payments (payment_id, line_id)
    SELECT payment_id, id FROM bank_lines WHERE payment_id IS NOT NULL;
CREATE INDEX bank_line_payments_line ON bank_line_payments (line_id);

CREATE TABLE bank_lines_rebuilt (
    id                  INTEGER PRIMARY KEY,
    statement_id        INTEGER NOT NULL REFERENCES bank_statements (id),
    account             TEXT    NOT NULL,
    bank_reference      TEXT    NOT NULL,
    booked_on           TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    -- positive: money in; negative: money out
    amount_minor        INTEGER NOT NULL CHECK (amount_minor <> 0),
    counterparty        TEXT    NOT NULL DEFAULT '',
    counterparty_account TEXT   NOT NULL DEFAULT '',
    structured_reference TEXT   NOT NULL DEFAULT '',
    remittance          TEXT    NOT NULL DEFAULT '',
    end_to_end_id       TEXT    NOT NULL DEFAULT '',
    bank_code           TEXT    NOT NULL DEFAULT '',
    -- unmatched: waits for staff; matched: posted as payments (bank_line_payments); debit lines
    -- are 'outgoing' (not customer money)
    status              TEXT    NOT NULL DEFAULT 'unmatched'
                        CHECK (status IN ('unmatched', 'matched', 'outgoing')),
    -- why it was matched: 'reference', 'invoice_numbers', 'payer_amount', 'staff'
    match_reason        TEXT    NOT NULL DEFAULT '',
    -- who applied it ('' for the automatic rules) and when
    applied_by          TEXT    NOT NULL DEFAULT '',
    applied_at          TEXT,
    UNIQUE (account, bank_reference)
);
INSERT INTO bank_lines_rebuilt (id, statement_id, account, bank_reference, booked_on, currency,
    amount_minor, counterparty, counterparty_account, structured_reference, remittance,
    end_to_end_id, bank_code, status, match_reason)
    SELECT id, statement_id, account, bank_reference, booked_on, currency, amount_minor,
    counterparty, counterparty_account, structured_reference, remittance, end_to_end_id,
    bank_code, status, match_reason FROM bank_lines;
DROP TABLE bank_lines;
ALTER TABLE bank_lines_rebuilt RENAME TO bank_lines;
CREATE INDEX bank_lines_statement ON bank_lines (statement_id);
CREATE INDEX bank_lines_unmatched ON bank_lines (status) WHERE status = 'unmatched';
CREATE INDEX bank_lines_payer_account ON bank_lines (counterparty_account)
    WHERE counterparty_account <> '';
CREATE INDEX bank_lines_account_booked ON bank_lines (account, booked_on);

-- A short-pay case: a dispute staff opened for what a bank line left unpaid on an invoice.
ALTER TABLE disputes ADD COLUMN bank_line_id INTEGER REFERENCES bank_lines (id);

-- The largest short payment staff may write off, per currency; set by managers. No row: none.
CREATE TABLE write_off_tolerances (
    currency        TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    limit_minor     INTEGER NOT NULL CHECK (limit_minor >= 0),
    set_by          TEXT    NOT NULL,
    set_at          TEXT    NOT NULL
);

-- Suggestions look for an invoice whose open amount equals a bank line's amount.
CREATE INDEX invoices_open_amount ON invoices (open_minor) WHERE open_minor > 0;
-- Matching looks customers up by the payer's name, letter case aside.
CREATE INDEX customers_lower_name ON customers (lower(name));
-- Bank reconciliation sums one account's lines up to a day.
CREATE INDEX journal_lines_account_date ON journal_lines (account_code, currency, effective_date);
