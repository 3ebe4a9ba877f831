-- Who issues the documents (one row, kept by a manager) and the customer's own billing details
-- (kept by its payers): both printed on every invoice, statement and transfer instruction.

CREATE TABLE company_profile (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name       TEXT    NOT NULL,
    -- one line each, as printed
    address          TEXT    NOT NULL DEFAULT '',
    tax_numbers      TEXT    NOT NULL DEFAULT '',
    billing_contact  TEXT    NOT NULL DEFAULT '',
    updated_at       TEXT    NOT NULL,
    updated_by       BIGINT  REFERENCES users (id)
);

ALTER TABLE customers ADD COLUMN billing_address TEXT NOT NULL DEFAULT '';
-- ISO 3166 alpha-2, or empty
ALTER TABLE customers ADD COLUMN billing_country TEXT NOT NULL DEFAULT '';
-- as printed, checked against the country's format (customers::billing)
ALTER TABLE customers ADD COLUMN tax_id TEXT NOT NULL DEFAULT '';
