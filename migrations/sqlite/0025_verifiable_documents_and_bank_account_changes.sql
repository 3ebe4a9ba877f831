-- Verifiable documents, and changes to the company's receiving bank accounts that need two
-- managers and a wait.

-- The code printed on an invoice or statement PDF (with a QR code of the address that checks
-- it). The public page confirms only what the document printed: number, date, total.
CREATE TABLE document_codes (
    -- 12 symbols of Crockford's base32 (60 random bits), lower case, no separators
    code         TEXT    PRIMARY KEY,
    -- which document of which account ('invoice:7:INV-1001', 'statement:7:2026-11-01:2026-11-30')
    subject      TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('invoice', 'statement')),
    -- the invoice's number; '' for a statement
    number       TEXT    NOT NULL,
    -- a statement's first day
    period_from  TEXT,
    -- an invoice's issue date; a statement's last day
    issued_on    TEXT    NOT NULL,
    -- an invoice's total; a statement's closing balance
    total_minor  INTEGER  NOT NULL,
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    created_at   TEXT    NOT NULL,
    UNIQUE (subject, total_minor)
);

-- Every version of the receiving account per currency. A manager proposes one, a second manager
-- approves it, and customers see it from effective_at (the approval plus the configured wait),
-- after every payer contact billed in that currency was told. The account shown for a currency
-- is its newest row with effective_at passed and not withdrawn. An account set up by the
-- operator (command line, demo data) has no proposer and is effective at once; only a currency
-- without an account can be set up that way.
CREATE TABLE bank_account_changes (
    id              INTEGER PRIMARY KEY,
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    holder          TEXT    NOT NULL CHECK (holder <> ''),
    bank_name       TEXT    NOT NULL CHECK (bank_name <> ''),
    -- IBAN and BIC (SEPA), or a domestic account and routing number (US)
    iban            TEXT,
    bic             TEXT,
    account_number  TEXT,
    routing_number  TEXT,
    wait_days       INTEGER  NOT NULL DEFAULT 5 CHECK (wait_days BETWEEN 1 AND 60),
    proposed_by     INTEGER  REFERENCES users (id),
    proposed_at     TEXT    NOT NULL,
    approved_by     INTEGER  REFERENCES users (id),
    approved_at     TEXT,
    -- set with the approval
    effective_at    TEXT,
    withdrawn_by    INTEGER  REFERENCES users (id),
    withdrawn_at    TEXT,
    CHECK (iban IS NOT NULL OR (account_number IS NOT NULL AND routing_number IS NOT NULL)),
    -- the four-eyes rule, also here: no one approves their own proposal
    CHECK (approved_by IS NULL OR proposed_by IS NULL OR approved_by <> proposed_by),
    CHECK ((approved_at IS NULL) = (effective_at IS NULL))
);
CREATE INDEX bank_account_changes_current ON bank_account_changes (currency, effective_at);
-- At most one change per currency waits for its approval.
CREATE UNIQUE INDEX bank_account_changes_one_waiting ON bank_account_changes (currency)
    WHERE approved_at IS NULL AND withdrawn_at IS NULL;

INSERT INTO bank_account_changes (currency, holder, bank_name, iban, bic, account_number,
    routing_number, wait_days, proposed_at, approved_at, effective_at)
SELECT currency, holder, bank_name, iban, bic, account_number, routing_number, wait_days,
    '1970-01-01T00:00:00.000000Z', '1970-01-01T00:00:00.000000Z', '1970-01-01T00:00:00.000000Z'
FROM bank_accounts;
DROP TABLE bank_accounts;
