-- A document the sender makes and attaches as it delivers the message, by reference
-- ('receipt:<customer id>:<payment id>'): made from the books when it is sent, not stored twice.
ALTER TABLE outbox ADD COLUMN attachment TEXT;

-- The purchase order the customer's accounts payable needs on every invoice (its payer keeps it
-- with the billing details); an invoice issued without a PO of its own carries it. Empty: none.
ALTER TABLE customers ADD COLUMN standing_po TEXT NOT NULL DEFAULT '';

-- The messages a person chose not to receive, by outbox kind ('reminder', 'receipt',
-- 'dispute'); everything else (sign-in, security, failed payments, bank account changes) always
-- arrives. The outbox skips a message to such a person's address as it is queued.
CREATE TABLE email_opt_outs (
    user_id  BIGINT  NOT NULL REFERENCES users (id),
    kind     TEXT    NOT NULL CHECK (kind IN ('reminder', 'receipt', 'dispute')),
    PRIMARY KEY (user_id, kind)
);
