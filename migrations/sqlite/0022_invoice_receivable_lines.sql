-- An invoice's receivable lines by key: (invoice, account, date) answers an invoice's activity
-- and an invoice's balance as of a date from the index alone. Before, SQLite (no statistics)
-- chose the account's index for `invoice_id = ? AND account_code = ?` and read every
-- receivable line of the book (250 ms an invoice page at 110,000 invoices).
DROP INDEX journal_lines_invoice;
CREATE INDEX journal_lines_invoice ON journal_lines (invoice_id, account_code, effective_date);
