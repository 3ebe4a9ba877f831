-- Each customer's open receivables: the sum of its invoices' open amounts, kept in the same
-- transaction as every change to them (`customers::store::add_to_open_balance`). Staff lists
-- rank the book's largest balances from this column instead of summing every open invoice; the
-- ledger health report proves it equal to the invoices.
ALTER TABLE customers ADD COLUMN open_minor BIGINT NOT NULL DEFAULT 0 CHECK (open_minor >= 0);
UPDATE customers SET open_minor = COALESCE(
    (SELECT sum(i.open_minor) FROM invoices i WHERE i.customer_id = customers.id), 0);
-- The staff list's order, read page by page (keyset: balance, then id).
CREATE INDEX customers_by_open_balance ON customers (open_minor DESC, id DESC);
