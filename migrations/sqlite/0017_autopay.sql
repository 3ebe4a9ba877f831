-- Saved payment methods and autopay: a payer saves a card or bank account on the provider's
-- hosted page (its number never reaches us) and lets the portal charge due invoices with it.

-- The customer as the payment provider knows it (Stripe's Customer), made on first need:
-- off-session charges go to a saved method of that customer.
ALTER TABLE customers ADD COLUMN provider_customer TEXT;

-- One visit to the provider's setup page. What the payer agreed to, who, when and from which
-- address is kept here from the start, and copied onto the method the provider reports.
CREATE TABLE payment_method_setups (
    -- our setup id ('ps_' + 24 hex), carried in the provider's metadata
    id            TEXT    PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    provider      TEXT    NOT NULL,
    -- the consent text shown on the portal before the payer left for the provider's page
    consent_text  TEXT    NOT NULL,
    consented_ip  TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
    created_at    TEXT    NOT NULL
);
CREATE INDEX payment_method_setups_customer ON payment_method_setups (customer_id, created_at);

CREATE TABLE payment_methods (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    setup_id        TEXT    NOT NULL UNIQUE REFERENCES payment_method_setups (id),
    -- the provider's id for it (Stripe's PaymentMethod)
    provider_method TEXT    NOT NULL UNIQUE,
    -- 'card', 'ach' or 'sepa_debit'
    kind            TEXT    NOT NULL CHECK (kind IN ('card', 'ach', 'sepa_debit')),
    -- the card's brand or the bank's name
    label           TEXT    NOT NULL,
    last4           TEXT    NOT NULL CHECK (length(last4) = 4),
    exp_month       INTEGER CHECK (exp_month BETWEEN 1 AND 12),
    exp_year        INTEGER,
    -- the provider's mandate for a bank debit
    mandate         TEXT,
    consent_text    TEXT    NOT NULL,
    consented_by    INTEGER NOT NULL REFERENCES users (id),
    consented_at    TEXT    NOT NULL,
    consented_ip    TEXT    NOT NULL,
    removed_at      TEXT,
    removed_by      INTEGER REFERENCES users (id)
);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, id);

-- A payer's standing instruction: charge what falls due with this method.
CREATE TABLE autopay (
    customer_id       INTEGER PRIMARY KEY REFERENCES customers (id),
    payment_method_id INTEGER NOT NULL REFERENCES payment_methods (id),
    -- 'due_date', or 'discount_day': the last day of an early-payment discount, so it is taken
    charge_on         TEXT    NOT NULL CHECK (charge_on IN ('due_date', 'discount_day')),
    -- the most one charge may take (NULL: no cap)
    cap_minor         INTEGER CHECK (cap_minor > 0),
    -- 'on'; 'waiting' after its retries failed or the customer must act; 'off'
    status            TEXT    NOT NULL CHECK (status IN ('on', 'waiting', 'off')),
    waiting_reason    TEXT    NOT NULL DEFAULT '',
    -- the payer who set it (receipts go to them); the series of attempts counts from since
    set_by            INTEGER NOT NULL REFERENCES users (id),
    since             TEXT    NOT NULL,
    -- the last day the job ran for this account: the claim, one run per account per day
    last_run_on       TEXT
);

-- Each charge autopay made: its checkout carries the money through the same settlement as any
-- payment; attempt numbers a series of retries.
CREATE TABLE autopay_charges (
    checkout_id   TEXT    PRIMARY KEY REFERENCES checkouts (id),
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    -- the saved method charged (a charge sent again uses the same)
    payment_method_id INTEGER NOT NULL REFERENCES payment_methods (id),
    attempt       INTEGER NOT NULL CHECK (attempt >= 1),
    charged_on    TEXT    NOT NULL,
    -- the provider's first answer: 'sent' (none yet), 'succeeded', 'processing', 'declined',
    -- 'needs_customer' or 'unknown' (no answer: sent again under the same key)
    outcome       TEXT    NOT NULL,
    decline_code  TEXT    NOT NULL DEFAULT '',
    message       TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL
);
CREATE INDEX autopay_charges_customer ON autopay_charges (customer_id, created_at);

-- The sandbox's saved methods, as Stripe's test mode keeps them: which test card or account each
-- is (its brand or bank and last four digits, never the number) and what charging it does.
CREATE TABLE sandbox_saved_methods (
    id            TEXT    PRIMARY KEY,
    -- the setup that saved it (Stripe's SetupIntent)
    setup_intent  TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    label         TEXT    NOT NULL,
    last4         TEXT    NOT NULL,
    exp_month     INTEGER,
    exp_year      INTEGER,
    -- 'succeeds', 'declines' or 'authenticates' (a card), or a debit outcome as in sandbox_debits
    behaviour     TEXT    NOT NULL,
    code          TEXT    NOT NULL DEFAULT ''
);
