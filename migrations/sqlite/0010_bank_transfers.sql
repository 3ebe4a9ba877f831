-- Bank transfers announced by customers with an ISO 11649 creditor reference ("RF…").
-- The company's receiving bank account per currency: shown to signed-in customers (never on a
-- public page) with the reference to quote; `wait_days` is how long an announced transfer holds
-- its invoices back (not due, no reminders) before they are due again.
CREATE TABLE bank_accounts (
    currency        TEXT    PRIMARY KEY CHECK (length(currency) = 3),
    holder          TEXT    NOT NULL CHECK (holder <> ''),
    bank_name       TEXT    NOT NULL CHECK (bank_name <> ''),
    -- IBAN and BIC (SEPA), or a domestic account and routing number (US)
    iban            TEXT,
    bic             TEXT,
    account_number  TEXT,
    routing_number  TEXT,
    wait_days       INTEGER NOT NULL DEFAULT 5 CHECK (wait_days BETWEEN 1 AND 60),
    CHECK (iban IS NOT NULL OR (account_number IS NOT NULL AND routing_number IS NOT NULL))
);

-- An announced transfer is a checkout with provider 'transfer' and method 'wire', processing
-- (its amounts pending on its invoices) until the money arrives, the customer withdraws it, or
-- `expires_at` passes. `reference` is its creditor reference, unique across all checkouts.
ALTER TABLE checkouts ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX checkouts_reference ON checkouts (reference) WHERE reference IS NOT NULL;
