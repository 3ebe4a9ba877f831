-- Bank statements imported by staff or the ERP API (camt.053/054, BAI2, CSV through a saved
-- mapping), their lines keyed by the bank's own reference, and how each credit was matched.
CREATE TABLE bank_statements (
    id              INTEGER PRIMARY KEY,
    format          TEXT    NOT NULL CHECK (format IN ('camt.053', 'camt.054', 'bai2', 'csv')),
    -- the bank's id of the statement; the same statement again is not a second row
    statement_ref   TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    opening_minor   INTEGER,
    opening_on      TEXT,
    closing_minor   INTEGER,
    closing_on      TEXT,
    file_name       TEXT    NOT NULL,
    imported_by     TEXT    NOT NULL,
    imported_at     TEXT    NOT NULL,
    -- lines in the file, and how many of them were new (the rest came in an earlier file)
    lines_in_file   INTEGER NOT NULL,
    lines_new       INTEGER NOT NULL,
    UNIQUE (account, format, statement_ref)
);

CREATE TABLE bank_lines (
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
    -- unmatched: waits for staff; matched: posted as a payment (payment_id); debit lines are
    -- 'outgoing' (not customer money)
    status              TEXT    NOT NULL DEFAULT 'unmatched'
                        CHECK (status IN ('unmatched', 'matched', 'outgoing')),
    -- why it was matched: 'reference', 'invoice_numbers', 'payer_amount', 'staff'
    match_reason        TEXT    NOT NULL DEFAULT '',
    customer_id         INTEGER REFERENCES customers (id),
    payment_id          INTEGER REFERENCES payments (id),
    UNIQUE (account, bank_reference)
);
CREATE INDEX bank_lines_statement ON bank_lines (statement_id);
CREATE INDEX bank_lines_unmatched ON bank_lines (status) WHERE status = 'unmatched';

-- Each bank's CSV layout, saved once (see statements::csv_mapping).
CREATE TABLE csv_mappings (
    name                        TEXT    PRIMARY KEY,
    account                     TEXT    NOT NULL,
    currency                    TEXT    NOT NULL CHECK (length(currency) = 3),
    delimiter                   TEXT    NOT NULL,
    date_column                 TEXT    NOT NULL,
    date_format                 TEXT    NOT NULL,
    amount_column               TEXT    NOT NULL,
    decimal_separator           TEXT    NOT NULL CHECK (decimal_separator IN ('.', ',')),
    reference_column            TEXT    NOT NULL,
    counterparty_column         TEXT    NOT NULL DEFAULT '',
    counterparty_account_column TEXT    NOT NULL DEFAULT '',
    remittance_column           TEXT    NOT NULL DEFAULT ''
);
