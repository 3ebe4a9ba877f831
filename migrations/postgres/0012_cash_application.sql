-- Cash application: staff can split one bank line over several customers (one payment each), so
-- the link moves from the line to its payments (`bank_line_payments`); a short payment can open
-- a case on the invoice (`disputes.bank_line_id`) or be written off under a manager-set
-- tolerance per currency (`write_off_tolerances`).
CREATE TABLE bank_line_payments (
    payment_id      BIGINT  PRIMARY KEY REFERENCES payments (id),
    line_id         BIGINT  NOT NULL REFERENCES bank_lines (id)
);
INSERT INTO bank_line_payments (payment_id, line_id)
    SELECT payment_id, id FROM bank_lines WHERE payment_id IS NOT NULL;
CREATE INDEX bank_line_payments_line ON bank_line_payments (line_id);

ALTER TABLE bank_lines DROP COLUMN customer_id;
ALTER TABLE bank_lines DROP COLUMN payment_id;
-- who applied it ('' for the automatic rules) and when
ALTER TABLE bank_lines ADD COLUMN applied_by TEXT NOT NULL DEFAULT '';
ALTER TABLE bank_lines ADD COLUMN applied_at TEXT;
CREATE INDEX bank_lines_payer_account ON bank_lines (counterparty_account)
    WHERE counterparty_account <> '';
CREATE INDEX bank_lines_account_booked ON bank_lines (account, booked_on);

-- A short-pay case: a dispute staff opened for what a bank line left unpaid on an invoice.
ALTER TABLE disputes ADD COLUMN bank_line_id BIGINT REFERENCES bank_lines (id);

-- The largest short payment staff may write off, per currency; set by managers. No row: none.
CREATE TABLE write_off_tolerances (
    currency        TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    limit_minor     BIGINT  NOT NULL CHECK (limit_minor >= 0),
    set_by          TEXT    NOT NULL,
    set_at          TEXT    NOT NULL
);

-- Suggestions look for an invoice whose open amount equals a bank line's amount.
CREATE INDEX invoices_open_amount ON invoices (open_minor) WHERE open_minor > 0;
-- Matching looks customers up by the payer's name, letter case aside.
CREATE INDEX customers_lower_name ON customers (lower(name));
-- Bank reconciliation sums one account's lines up to a day.
CREATE INDEX journal_lines_account_date ON journal_lines (account_code, currency, effective_date);
